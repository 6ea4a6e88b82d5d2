#!/bin/sh
# Pull every model (POST /models/create) and apply context sizes and runtime flags
# (POST /engines/_configure), once the runner answers; fail on any HTTP error or error line in the
# pull stream. Pulling a model the runner has is a no-op, so the Job can run again safely.
# Env: RUNNER (base URL); REQUESTS: the folder of pull-N.json / configure-N.json bodies; TMPDIR;
# STAY=true (a container beside each runner replica): once done, mark it ($TMPDIR/pulled, the
# container's readiness) and stay.
set -eu
requests=${REQUESTS:-/requests}
response="${TMPDIR:-/tmp}/response"
until curl -fsS -o /dev/null "$RUNNER/engines/status"; do
  echo "waiting for the model runner at $RUNNER"; sleep 5
done
post() {
  code=$(curl -sS -o "$response" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary "@$2" "$RUNNER$1") || { echo "request to $1 failed"; return 1; }
  cat "$response"; echo
  if [ "$code" -ge 400 ]; then echo "$1 answered HTTP $code"; return 1; fi
  if grep -Eq '"type" *: *"error"' "$response"; then echo "$1 reported an error"; return 1; fi
}
for body in "$requests"/pull-*.json; do
  [ -e "$body" ] || continue
  echo "pulling $(cat "$body")"
  post /models/create "$body"
done
for body in "$requests"/configure-*.json; do
  [ -e "$body" ] || continue
  echo "configuring $(cat "$body")"
  post /engines/_configure "$body"
done
if [ "${STAY:-}" = true ]; then
  touch "${TMPDIR:-/tmp}/pulled"
  echo "every model is pulled and configured"
  exec sleep 2147483647
fi
