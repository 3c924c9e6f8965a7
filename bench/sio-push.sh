#!/usr/bin/env bash
# Socket.IO push latency (OCPP StatusNotification sent → station_update
# received) with 1 subscribed client (the baseline) and with many.
#   bench/sio-push.sh [clients] [notifications] [rate/s]
# Needs: cargo build --release --bin evgate; (cd tests/peers && npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-1000}
count=${2:-200}
rate=${3:-10}
[ -d tests/peers/node_modules ] || { echo "first: (cd tests/peers && npm ci)" >&2; exit 2; }
. bench/lib.sh
start_evgate embedded
user=$("$bin" token --user 2 --role user --ttl 2h)
station=$(api POST /v1/admin/stations '{"name":"Push","latitude":17.4,"longitude":78.4}' | json "['data']['id']")
api POST "/v1/admin/stations/$station/chargers" '{"chargePointId":"PUSH-1","securityProfile":0}' >/dev/null
api POST "/v1/admin/stations/$station/connectors" '{"chargePointId":"PUSH-1","connectorId":1,"connectorType":"CCS","powerKw":150}' >/dev/null
echo "rate=$rate/s notifications=$count $(date -u +%FT%TZ) $(nproc) cores"
for n in 1 "$clients"; do
  node bench/sio-push.js "http://$HTTP_ADDR" "ws://$OCPP_ADDR/ocpp/PUSH-1" "$user" "$station" "$n" "$rate" "$count"
done
echo "server RSS after run: $(ps -o rss= -p $server) KiB"
