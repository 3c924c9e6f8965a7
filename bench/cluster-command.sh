#!/usr/bin/env bash
# Operator command round trip on the instance holding the charger versus
# relayed from another instance, two release evgates on PostgreSQL + Redis.
#   bench/cluster-command.sh [count]
# Needs: cargo build --release --bin evgate; (cd tests/peers && npm ci);
# PostgreSQL and Redis on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-2000}
[ -d tests/peers/node_modules ] || { echo "first: (cd tests/peers && npm ci)" >&2; exit 2; }
. bench/lib.sh
export INSTANCE_ID=bench-a
start_evgate cluster
a_http=$HTTP_ADDR a_ocpp=$OCPP_ADDR a_pid=$server a_work=$work
# The second instance shares the database and Redis.
b_port=$((20000 + RANDOM % 10000))
HTTP_ADDR=127.0.0.1:$b_port OCPP_ADDR=127.0.0.1:$((b_port + 1)) INSTANCE_ID=bench-b \
  "$bin" >"$a_work/server-b.log" 2>&1 &
b_pid=$!
trap 'kill $a_pid $b_pid 2>/dev/null; wait $a_pid $b_pid 2>/dev/null; rm -rf "$a_work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$b_port/health" >/dev/null && break; sleep 0.1; done
station=$(api POST /v1/admin/stations '{"name":"Relay","latitude":17.4,"longitude":78.4}' | json "['data']['id']")
api POST "/v1/admin/stations/$station/chargers" '{"chargePointId":"RELAY-1","securityProfile":0}' >/dev/null
echo "count=$count $(date -u +%FT%TZ) $(nproc) cores"
node bench/cluster-command.js "http://$a_http" "http://127.0.0.1:$b_port" "ws://$a_ocpp/ocpp/RELAY-1" "$admin" RELAY-1 "$count"
