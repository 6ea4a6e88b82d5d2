#!/bin/sh
# depends_on (service_completed_successfully): wait until the one-shot's Job reports Complete, reading
# it through the API with the token mounted into this init container alone (a Role that may only get
# Jobs). Env: JOB, WHAT, TIMEOUT (seconds); SA: the service account folder (token, ca.crt, namespace);
# API: the API server (default https://kubernetes.default.svc); GONE_AFTER (seconds, see below);
# OPTIONAL=true (`required: false`): when the wait fails, go on anyway.
# One-shots are named by a hash of what they run, so a Job of this name that is gone (404 for a whole
# minute: Helm creates it with this pod, within seconds) ran this very version and was deleted since,
# by hand or by a cleanup: that counts as completed, with a log line.
sa=${SA:-/var/run/secrets/kubernetes.io/serviceaccount}
url="${API:-https://kubernetes.default.svc}/apis/batch/v1/namespaces/$(cat "$sa/namespace")/jobs/$JOB"
start=$(date +%s)
end=$(( start + TIMEOUT ))
echo "waiting for one-shot $WHAT (Job $JOB) to complete"
give_up() {
  echo "$1"
  if [ "${OPTIONAL:-}" = true ]; then echo "$WHAT is not required (required: false): starting anyway"; exit 0; fi
  exit 1
}
while :; do
  # The answer's body, then its HTTP status on a line of its own (the root filesystem is read-only).
  answer=$(curl -sS -w '\n%{http_code}' --cacert "$sa/ca.crt" -H "Authorization: Bearer $(cat "$sa/token")" "$url")
  code=$(printf '%s\n' "$answer" | tail -n 1)
  status=$(printf '%s\n' "$answer" | sed '$d' | tr -d ' \n')
  case "$status" in
    *'"type":"Complete","status":"True"'*) echo "$WHAT completed"; exit 0 ;;
    *'"type":"Failed","status":"True"'*) give_up "one-shot $WHAT failed (Job $JOB)" ;;
  esac
  if [ "$code" = 404 ] && [ "$(date +%s)" -ge $(( start + ${GONE_AFTER:-60} )) ]; then
    echo "Job $JOB is gone: it ran this version of $WHAT and was deleted since; going on"; exit 0
  fi
  if [ "$(date +%s)" -ge "$end" ]; then give_up "gave up waiting for $WHAT after ${TIMEOUT}s"; fi
  sleep 3
done
