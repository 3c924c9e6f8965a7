# Shared by the bench scripts: start one release evgate and talk to its API.
#   . bench/lib.sh; start_evgate embedded|cluster
# Sets HTTP_ADDR, OCPP_ADDR, work (a temporary directory), server (the pid),
# admin (an admin token); stops the server and removes `work` on exit.
# Defines api METHOD PATH [BODY] and json PYTHON_SUBSCRIPT (reads stdin).

# EVGATE_BIN runs another build (a baseline of the same session).
bin=${EVGATE_BIN:-target/release/evgate}

# The load comes from one address, far faster than any one client: every
# RATE_LIMIT_* and the per-user hold cap are turned off (0) for the
# benchmarks, unless BENCH_RATE_LIMITS=keep. Figures say so.
bench_limits_off() {
  [ "${BENCH_RATE_LIMITS:-off}" = keep ] && return
  export RATE_LIMIT_HTTP_PER_SOURCE=0 RATE_LIMIT_WEBHOOKS_PER_SOURCE=0 \
    RATE_LIMIT_WEBHOOKS_PER_VENDOR=0 RATE_LIMIT_HOLDS_PER_USER=0 \
    RATE_LIMIT_OCPP_HANDSHAKES_PER_SOURCE=0 RATE_LIMIT_OCPP_MESSAGES_PER_CHARGER=0 \
    BOOKING_MAX_LIVE_HOLDS_PER_USER=0
}

start_evgate() {
  local mode=${1:-embedded}
  [ -x "$bin" ] || { echo "build first: cargo build --release --bin evgate" >&2; exit 2; }
  work=$(mktemp -d)
  local port=$((20000 + RANDOM % 10000))
  export HTTP_ADDR=127.0.0.1:$port OCPP_ADDR=${OCPP_ADDR:-127.0.0.1:$((port + 1))} RUST_LOG=warn
  export JWT_SECRET=bench-secret-bench-secret-bench-secret
  # A year of slots: a fast hold run stays inside the horizon (7 days by default).
  export BOOKING_HORIZON_DAYS=365
  bench_limits_off
  case "$mode" in
    embedded) export DATABASE_URL="sqlite://$work/evgate.db" ;;
    cluster)
      local pg=${EVGATE_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
      psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS evgate_bench" -qc "CREATE DATABASE evgate_bench" >/dev/null
      export DATABASE_URL="$pg/evgate_bench${EVGATE_BENCH_PG_PARAMS:-}"  # e.g. ?sslmode=disable
      export REDIS_URL=redis://127.0.0.1:6379/15
      redis-cli -n 15 flushdb >/dev/null ;;
    *) echo "mode: embedded or cluster" >&2; exit 2 ;;
  esac
  "$bin" >"$work/server.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
  for _ in $(seq 1 100); do curl -sf "http://$HTTP_ADDR/health" >/dev/null && break; sleep 0.1; done
  admin=$("$bin" token --user 1 --role admin --ttl 2h)
}

api() {
  curl -sf -X "$1" "http://$HTTP_ADDR$2" -H "Authorization: Bearer $admin" \
    -H 'Content-Type: application/json' ${3:+-d "$3"}
}

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# A station with one charger and 10 connectors, all AVAILABLE (set in the
# store: no charger speaks in these benchmarks). Sets `station` and
# `connectors` (comma-separated ids).
bench_station() {
  station=$(api POST /v1/admin/stations '{"name":"Bench","latitude":17.4,"longitude":78.4}' | json "['data']['id']")
  api POST "/v1/admin/stations/$station/chargers" '{"chargePointId":"BENCH-1","securityProfile":0}' >/dev/null
  connectors=""
  for n in $(seq 1 10); do
    id=$(api POST "/v1/admin/stations/$station/connectors" \
      "{\"chargePointId\":\"BENCH-1\",\"connectorId\":$n,\"connectorType\":\"CCS\",\"powerKw\":150}" | json "['data']['id']")
    connectors="$connectors${connectors:+,}$id"
  done
  case "$mode" in
    embedded) python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"update connectors set status='AVAILABLE'\"); c.commit()" "$work/evgate.db" ;;
    cluster) psql "$DATABASE_URL" -qc "update connectors set status='AVAILABLE'" ;;
  esac
}

# A throwaway CA and a server certificate for localhost signed by it, in
# DIR: ca.pem, server.pem, server.key (for the wss:// benchmarks).
bench_tls_certs() {
  local dir=$1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -out "$dir/ca.pem" \
    -days 1 -subj "/CN=bench CA" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$dir/server.key" -out "$dir/server.csr" \
    -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$dir/ext.cnf"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -out "$dir/server.pem" -days 1 -extfile "$dir/ext.cnf" 2>/dev/null
}
