#!/usr/bin/env bash
# Holds at a fixed rate, open loop, on loopback, against one evgate process
# (issue #18 item 3): each request a new one-minute slot on one of 10
# connectors, latency counted from its scheduled send time; GET /health at
# the same rate is the baseline. Rate limits and the per-user hold cap are
# off (bench/lib.sh).
#   bench/hold-bench.sh embedded|cluster [rate] [seconds]
# Build first: cargo build --release --bin evgate --example hold_load --example webhook_load
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-cluster}
rate=${2:-2000}
seconds=${3:-10}
for example in hold_load webhook_load; do
  [ -x "target/release/examples/$example" ] ||
    { echo "build first: cargo build --release --bin evgate --example hold_load --example webhook_load" >&2; exit 2; }
done
. bench/lib.sh
start_evgate "$mode"
bench_station
# Outside the reservation lead window: a hold touches the stores only.
first=$(date -u -d '+1 day 00:00' +%s)
echo "mode=$mode rate=$rate/s seconds=$seconds $(date -u +%FT%TZ) $(nproc) cores"
target/release/examples/webhook_load "http://$HTTP_ADDR" - - - "$rate" "$seconds" /health
# Warm-up, not counted: 2 s at the same rate on slots 200 days further on,
# so the measured run starts in the steady state, with the database pools
# and the generator's connections open (a cold pool opens its TLS
# connections to PostgreSQL under the first requests: a 250 ms stall).
target/release/examples/hold_load "http://$HTTP_ADDR" "$admin" "$station" "$connectors" \
  "$((first + 200 * 86400))" "$rate" 2 >/dev/null
target/release/examples/hold_load "http://$HTTP_ADDR" "$admin" "$station" "$connectors" "$first" "$rate" "$seconds"
# CPU the server used over the whole run (both generators), from /proc.
ticks=$(awk '{print $14 + $15}' /proc/$server/stat)
echo "server RSS after run: $(ps -o rss= -p $server) KiB; CPU used: $(echo "scale=2; $ticks / $(getconf CLK_TCK)" | bc) s"
