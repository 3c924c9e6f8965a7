#!/usr/bin/env bash
# evgate against the bare limit: the same fleet of OCPP 1.6 chargers (from
# 16 loopback addresses) connects and boots, the server's resident memory
# per idle connection is read, then every charger heartbeats in a closed
# loop (the next call as soon as the last is answered) for SECONDS.
# After the loop (chargers gone) the memory kept per charger is read too: the
# message journals of chargers that left (OCPP_JOURNAL_SIZE; set it to 0 in
# the environment to compare without) and allocator slack.
# Servers, alternated ROUNDS times: the bare tokio-tungstenite responder
# (simulators/examples/bare_responder.rs: answers from memory), evgate
# (SQLite) and, when EVGATE_BASE is set, that other evgate build.
#   bench/ocpp-vs-bare.sh [CHARGERS=200] [SECONDS=5] [ROUNDS=2]
# Needs: cargo build --release -p evgate && cargo build --release -p simulators \
#          --example idle_fleet --example bare_responder
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh; bench_limits_off   # rate limits off: see lib.sh (its start_evgate is replaced below)
n=${1:-200}; secs=${2:-5}; rounds=${3:-2}
fleet=target/release/examples/idle_fleet
bare=target/release/examples/bare_responder
evgate=${EVGATE_BIN:-target/release/evgate}
for b in "$fleet" "$bare" "$evgate"; do
  [ -x "$b" ] || { echo "build first (see the header): $b" >&2; exit 2; }
done
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$work"' EXIT
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# run NAME: one round against the server already started as $server on
# $ocpp (HTTP API at $http, "-" for none; admin token $token).
run() {
  local name=$1 before idle out
  before=$(rss "$server")
  rm -f "$work/go" && mkfifo "$work/go"
  exec 3<>"$work/go"
  "$fleet" "$http" "ws://$ocpp" "$token" "$n" closed "$secs" <&3 >"$work/fleet.out" 2>"$work/fleet.err" &
  local pid=$!
  until grep -q '^IDLE' "$work/fleet.out" 2>/dev/null; do
    kill -0 $pid 2>/dev/null || { cat "$work/fleet.out" "$work/fleet.err"; exit 1; }
    sleep 0.2
  done
  sleep 1
  idle=$(rss "$server")
  echo go >&3
  wait $pid
  exec 3>&-
  sleep 1
  # After the load, the chargers gone: what stayed (allocator slack, and
  # evgate's message journals of chargers that left).
  after=$(rss "$server")
  python3 - "$name" "$before" "$idle" "$n" "$(tail -n1 "$work/fleet.out")" "$after" <<'EOF'
import json, sys
name, before, idle, n, report = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
after = int(sys.argv[6])
per = (idle - before) * 1024 / n / 1024
print(json.dumps({"server": name, "calls_per_s": round(report["answered_per_s"]),
  "p50_ms": report["rtt_ms"]["p50"], "p99_ms": report["rtt_ms"]["p99"], "max_ms": report["rtt_ms"]["max"],
  "errors": report["heartbeat_errors"], "failed": report["failed"], "kib_per_idle_connection": round(per, 1),
  "kib_per_charger_kept_after_load": round((after - before) / n, 1)}))
EOF
  kill $server; wait $server 2>/dev/null || true; server=
}

start_bare() {
  "$bare" 127.0.0.1:0 >"$work/bare.out" &
  server=$!
  until grep -q LISTENING "$work/bare.out" 2>/dev/null; do sleep 0.05; done
  ocpp=$(awk '/LISTENING/ {print $2}' "$work/bare.out"); http=-; token=-
}

start_evgate() {
  local bin=$1 port=$((20000 + RANDOM % 10000))
  rm -f "$work"/evgate.db*
  HTTP_ADDR=127.0.0.1:$port OCPP_ADDR=0.0.0.0:$((port + 1)) RUST_LOG=warn \
    JWT_SECRET=bench-secret-bench-secret-bench-secret DATABASE_URL="sqlite://$work/evgate.db" \
    "$bin" >"$work/server.log" 2>&1 &
  server=$!
  http=http://127.0.0.1:$port; ocpp=127.0.0.1:$((port + 1))
  for _ in $(seq 1 100); do curl -sf "$http/health" >/dev/null && break; sleep 0.1; done
  token=$(JWT_SECRET=bench-secret-bench-secret-bench-secret "$bin" token --user 1 --role admin --ttl 2h)
}

echo "date=$(date -u +%FT%TZ) host=$(hostname) cores=$(nproc) chargers=$n seconds=$secs closed-loop"
for round in $(seq 1 "$rounds"); do
  start_bare; run bare
  start_evgate "$evgate"; run evgate
  if [ -n "${EVGATE_BASE:-}" ]; then start_evgate "$EVGATE_BASE"; run "evgate-base"; fi
done
