#!/bin/sh
# depends_on (service_started, service_healthy): wait until the dependency's headless Service resolves.
# It lists only ready pods (readiness is the compose healthcheck), so a name that resolves means a ready
# pod is behind it; the port need not be open. curl resolves through libc, which applies the pod's DNS
# search path. Env: HOST, WHAT, CONDITION, TIMEOUT (seconds); OPTIONAL=true (depends_on with
# `required: false`): when the wait fails, go on anyway, as `docker compose up` does.
end=$(( $(date +%s) + TIMEOUT ))
echo "waiting for $WHAT to be $CONDITION ($HOST)"
while :; do
  # curl's exit code 6 is "could not resolve host"; any other answer means the name resolved.
  curl -s -o /dev/null --max-time 2 "http://$HOST:55555/"
  [ $? -ne 6 ] && break
  if [ "$(date +%s)" -ge "$end" ]; then
    echo "gave up waiting for $WHAT after ${TIMEOUT}s"
    if [ "${OPTIONAL:-}" = true ]; then echo "$WHAT is not required (required: false): starting anyway"; exit 0; fi
    exit 1
  fi
  sleep 2
done
echo "$WHAT is $CONDITION"
