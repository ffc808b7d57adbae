#!/bin/sh
# The namespace PingBack runs in, created once the server answers (admin-tools image's temporal CLI).
set -eu
ns=${TEMPORAL_NAMESPACE:-default}
# At most ~2 minutes, then exit 1: compose restarts it (on-failure) and says so, rather than waiting forever.
tries=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -ge 60 ] && { echo "Temporal at $TEMPORAL_ADDRESS did not answer"; exit 1; }
  sleep 2
done
if temporal operator namespace describe -n "$ns" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
  echo "namespace $ns exists"
else
  temporal operator namespace create -n "$ns" --retention "${TEMPORAL_RETENTION:-7d}" --address "$TEMPORAL_ADDRESS"
fi
