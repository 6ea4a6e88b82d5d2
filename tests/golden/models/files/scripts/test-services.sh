#!/bin/sh
# `helm test`: every Service of the chart with a known TCP port accepts a connection on it.
# Env: TARGETS: "service=host:port ..."; TIMEOUT (seconds per attempt).
failed=0
for target in $TARGETS; do
  name=${target%%=*}
  address=${target#*=}
  # Any answer means the port accepted the connection (most are not HTTP); curl's exit codes 6
  # (no such host), 7 (refused) and 28 (time-out) mean nothing answered.
  curl -s -o /dev/null --max-time "${TIMEOUT:-5}" "http://$address/"
  code=$?
  case $code in
    6|7|28) echo "FAIL $name: nothing answers on $address (curl exit $code)"; failed=1 ;;
    *) echo "ok   $name: $address answers" ;;
  esac
done
exit $failed
