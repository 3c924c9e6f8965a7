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
bin=target/release/evgate
[ -x "$bin" ] || { echo "build first: cargo build --release --bin evgate" >&2; exit 2; }
[ -d tests/peers/node_modules ] || { echo "first: (cd tests/peers && npm ci)" >&2; exit 2; }
work=$(mktemp -d)
http=$((20000 + RANDOM % 10000)); ocpp=$((http + 1))
export HTTP_ADDR=127.0.0.1:$http OCPP_ADDR=127.0.0.1:$ocpp RUST_LOG=warn
export JWT_SECRET=bench-secret-bench-secret-bench-secret DATABASE_URL="sqlite://$work/evgate.db"
"$bin" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://$HTTP_ADDR/health" >/dev/null && break; sleep 0.1; done
admin=$("$bin" token --user 1 --role admin --ttl 2h)
user=$("$bin" token --user 2 --role user --ttl 2h)
api() { curl -sf -X "$1" "http://$HTTP_ADDR$2" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' ${3:+-d "$3"}; }
station=$(api POST /v1/admin/stations '{"name":"Push","latitude":17.4,"longitude":78.4}' | python3 -c "import json,sys; print(json.load(sys.stdin)['data']['id'])")
api POST "/v1/admin/stations/$station/chargers" '{"chargePointId":"PUSH-1","securityProfile":0}' >/dev/null
api POST "/v1/admin/stations/$station/connectors" '{"chargePointId":"PUSH-1","connectorId":1,"connectorType":"CCS","powerKw":150}' >/dev/null
echo "rate=$rate/s notifications=$count $(date -u +%FT%TZ) $(nproc) cores"
for n in 1 "$clients"; do
  node bench/sio-push.js "http://$HTTP_ADDR" "ws://$OCPP_ADDR/ocpp/PUSH-1" "$user" "$station" "$n" "$rate" "$count"
done
echo "server RSS after run: $(ps -o rss= -p $server) KiB"
