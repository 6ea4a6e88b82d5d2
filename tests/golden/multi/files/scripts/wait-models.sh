#!/bin/sh
# A service that uses models starts once the runner lists every one of them (GET /models/NAME).
# Env: RUNNER (base URL), TIMEOUT (seconds); MODEL_LIST: a file with one model per line.
end=$(( $(date +%s) + TIMEOUT ))
while IFS= read -r m; do
  [ -n "$m" ] || continue
  until curl -fsS -o /dev/null "$RUNNER/models/$m"; do
    if [ "$(date +%s)" -ge "$end" ]; then echo "gave up waiting for model $m after ${TIMEOUT}s"; exit 1; fi
    echo "waiting for model $m on $RUNNER"; sleep 5
  done
done < "${MODEL_LIST:-/models/list}"
