#!/usr/bin/env bash
# HTTP benchmark of one evgate process on loopback (wrk, 2 threads).
#   bench/http-bench.sh embedded|cluster [duration] [connections]
# embedded: SQLite + in-process holds. cluster: PostgreSQL + Redis holds
# (needs both on 127.0.0.1). Builds nothing: run `cargo build --release` first.
# Prints wrk's summary per endpoint; BENCHMARKS.md records the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-embedded}
duration=${2:-15s}
connections=${3:-32}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
. bench/lib.sh
start_evgate "$mode"
token=$admin

bench_station

start=$(date -u -d '+1 day' +%Y-%m-%dT00:00:00Z)
end6=$(date -u -d "$start + 6 hours" +%Y-%m-%dT%H:%M:%SZ)
end24=$(date -u -d "$start + 24 hours" +%Y-%m-%dT%H:%M:%SZ)
export STATION=$station CONNECTORS=$connectors BASE_EPOCH=$(date -u -d '+1 day 00:00' +%s)

run() {
  echo "### $1"
  shift
  wrk -t2 -c"$connections" -d"$duration" --latency -H "Authorization: Bearer $token" "$@" |
    grep -E "Requests/sec|^ +(50|99)%|Non-2xx|Socket errors|requests in"
}
echo "mode=$mode duration=$duration connections=$connections $(date -u +%FT%TZ) $(nproc) cores"
run "GET /health (baseline)" "http://$HTTP_ADDR/health"
run "GET /v1/stations/:id" "http://$HTTP_ADDR/v1/stations/$station"
run "GET /v1/stations/:id/availability (10 connectors, 6 h, 60-min slots: 60 slots)" \
  "http://$HTTP_ADDR/v1/stations/$station/availability?startDate=$start&endDate=$end6"
run "GET /v1/stations/:id/availability (10 connectors, 24 h, 60-min slots: 240 slots)" \
  "http://$HTTP_ADDR/v1/stations/$station/availability?startDate=$start&endDate=$end24"
run "POST /v1/bookings/holds (each a new slot)" -s bench/holds.lua \
  -H 'Content-Type: application/json' "http://$HTTP_ADDR/v1/bookings/holds"
echo "server RSS after run: $(ps -o rss= -p $server) KiB"
