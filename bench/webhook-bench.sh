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
load=target/release/examples/webhook_load
[ -x "$load" ] || { echo "build first: cargo build --release --bin evgate --example webhook_load" >&2; exit 2; }
. bench/lib.sh
start_evgate "$mode"

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
