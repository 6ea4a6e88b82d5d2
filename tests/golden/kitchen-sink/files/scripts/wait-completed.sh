#!/bin/sh
# depends_on (service_completed_successfully): wait until the one-shot's Job reports Complete, reading
# it through the API with the token mounted into this init container alone (a Role that may only get
# Jobs). Env: JOB, WHAT, TIMEOUT (seconds); SA: the service account folder (token, ca.crt, namespace).
sa=${SA:-/var/run/secrets/kubernetes.io/serviceaccount}
url="https://kubernetes.default.svc/apis/batch/v1/namespaces/$(cat "$sa/namespace")/jobs/$JOB"
end=$(( $(date +%s) + TIMEOUT ))
echo "waiting for one-shot $WHAT (Job $JOB) to complete"
while :; do
  status=$(curl -sS --cacert "$sa/ca.crt" -H "Authorization: Bearer $(cat "$sa/token")" "$url" | tr -d ' \n')
  case "$status" in
    *'"type":"Complete","status":"True"'*) echo "$WHAT completed"; exit 0 ;;
    *'"type":"Failed","status":"True"'*) echo "one-shot $WHAT failed (Job $JOB)"; exit 1 ;;
  esac
  if [ "$(date +%s)" -ge "$end" ]; then echo "gave up waiting for $WHAT after ${TIMEOUT}s"; exit 1; fi
  sleep 3
done
