#!/usr/bin/env bash
# Vendor-webhook acknowledgement latency at a fixed rate, open loop, on
# loopback, against one evgate process; GET /health at the same rate is the
# baseline. Also reports how long the inbox took to drain afterwards.
#   bench/webhook-bench.sh embedded|cluster [rate] [seconds]
# Build first: cargo build --release --bin evgate --example webhook_load
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-embedded}
rate=${2:-2000}
seconds=${3:-20}
bin=target/release/evgate
load=target/release/examples/webhook_load
[ -x "$bin" ] && [ -x "$load" ] || {
  echo "build first: cargo build --release --bin evgate --example webhook_load" >&2; exit 2; }

work=$(mktemp -d)
port=$((20000 + RANDOM % 10000))
export HTTP_ADDR=127.0.0.1:$port OCPP_ADDR=127.0.0.1:0 RUST_LOG=warn
export JWT_SECRET=bench-secret-bench-secret-bench-secret
case "$mode" in
  embedded) export DATABASE_URL="sqlite://$work/evgate.db" ;;
  cluster)
    pg=${EVGATE_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
    psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS evgate_bench" -qc "CREATE DATABASE evgate_bench" >/dev/null
    export DATABASE_URL="$pg/evgate_bench"
    export REDIS_URL=redis://127.0.0.1:6379/15
    redis-cli -n 15 flushdb >/dev/null ;;
  *) echo "mode: embedded or cluster" >&2; exit 2 ;;
esac

"$bin" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://$HTTP_ADDR/health" >/dev/null && break; sleep 0.1; done

token=$("$bin" token --user 1 --role admin --ttl 2h)
api() { curl -sf -X "$1" "http://$HTTP_ADDR$2" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' ${3:+-d "$3"}; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

station=$(api POST /v1/admin/stations '{"name":"Bench","latitude":17.4,"longitude":78.4}' | json "['data']['id']")
api POST "/v1/admin/stations/$station/chargers" '{"chargePointId":"VENDOR-1","securityProfile":0}' >/dev/null
vendor=$(api POST /v1/admin/vendors '{"name":"bench"}')
vendor_id=$(echo "$vendor" | json "['data']['id']")
secret=$(echo "$vendor" | json "['data']['secret']")
connectors=""
for n in $(seq 1 10); do
  id=$(api POST "/v1/admin/stations/$station/connectors" \
    "{\"chargePointId\":\"VENDOR-1\",\"connectorId\":$n,\"connectorType\":\"CCS\",\"powerKw\":150}" | json "['data']['id']")
  api PUT "/v1/admin/connectors/$id/vendor" "{\"vendorId\":\"$vendor_id\",\"vendorConnectorId\":\"V-$n\"}" >/dev/null
  connectors="$connectors${connectors:+,}$id"
done

echo "mode=$mode rate=$rate/s seconds=$seconds $(date -u +%FT%TZ) $(nproc) cores"
"$load" "http://$HTTP_ADDR" "$vendor_id" "$secret" "$connectors" "$rate" "$seconds" /health
"$load" "http://$HTTP_ADDR" "$vendor_id" "$secret" "$connectors" "$rate" "$seconds"
t0=$(date +%s.%N)
while :; do
  pending=$(api GET "/v1/admin/webhooks?state=pending&limit=1" | json "['data']['total']")
  [ "$pending" = 0 ] && break
  sleep 0.2
done
done_total=$(api GET "/v1/admin/webhooks?state=done&limit=1" | json "['data']['total']")
echo "inbox drained $(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" "$t0" "$(date +%s.%N)") s after the load ended; $done_total entries applied"
echo "server RSS after run: $(ps -o rss= -p $server) KiB"
