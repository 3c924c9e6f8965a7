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
bin=target/release/evgate
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }

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
api POST "/v1/admin/stations/$station/chargers" '{"chargePointId":"BENCH-1","securityProfile":0}' >/dev/null
connectors=""
for n in $(seq 1 10); do
  id=$(api POST "/v1/admin/stations/$station/connectors" \
    "{\"chargePointId\":\"BENCH-1\",\"connectorId\":$n,\"connectorType\":\"CCS\",\"powerKw\":150}" | json "['data']['id']")
  connectors="$connectors${connectors:+,}$id"
done
# Connectors report AVAILABLE once a charger speaks; without a CSMS yet, set it in the store.
case "$mode" in
  embedded) python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"update connectors set status='AVAILABLE'\"); c.commit()" "$work/evgate.db" ;;
  cluster) psql "$DATABASE_URL" -qc "update connectors set status='AVAILABLE'" ;;
esac

start=$(date -u -d '+1 day' +%Y-%m-%dT00:00:00Z)
end6=$(date -u -d "$start + 6 hours" +%Y-%m-%dT%H:%M:%SZ)
end24=$(date -u -d "$start + 24 hours" +%Y-%m-%dT%H:%M:%SZ)
export STATION=$station CONNECTORS=$connectors BASE_EPOCH=$(date -u -d '+3 day 00:00' +%s)

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
