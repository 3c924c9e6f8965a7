#!/usr/bin/env bash
# OCPP listener benchmark: N idle 1.6 chargers on one evgate process (SQLite),
# its resident memory per idle connection, then heartbeats at RATE/s.
#   bench/ocpp-idle.sh [N=10000] [RATE=1000] [SECONDS=20]
# Needs: cargo build --release && cargo build --release -p simulators --example idle_fleet
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}; rate=${2:-1000}; secs=${3:-20}
bin=${EVGATE_BIN:-target/release/evgate}   # EVGATE_BIN: a baseline build
fleet=target/release/examples/idle_fleet
[ -x "$bin" ] && [ -x "$fleet" ] || { echo "build first (see the header)" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d)
port=$((20000 + RANDOM % 10000)); oport=$((port + 1))
export HTTP_ADDR=127.0.0.1:$port OCPP_ADDR=0.0.0.0:$oport RUST_LOG=warn
export JWT_SECRET=bench-secret-bench-secret-bench-secret DATABASE_URL="sqlite://$work/evgate.db"
. bench/lib.sh; bench_limits_off   # rate limits off: see lib.sh
"$bin" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://$HTTP_ADDR/health" >/dev/null && break; sleep 0.1; done
token=$("$bin" token --user 1 --role admin --ttl 2h)
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
before=$(rss)
mkfifo "$work/go"
exec 3<>"$work/go"
"$fleet" "http://$HTTP_ADDR" "ws://127.0.0.1:$oport" "$token" "$n" "$rate" "$secs" <&3 >"$work/fleet.out" &
fleet_pid=$!
until grep -q '^IDLE' "$work/fleet.out" 2>/dev/null; do
  kill -0 $fleet_pid 2>/dev/null || { cat "$work/fleet.out"; exit 1; }
  sleep 0.5
done
sleep 2
idle=$(rss)
echo go >&3
wait $fleet_pid
echo "date=$(date -u +%FT%TZ) cores=$(nproc) chargers=$n"
grep '^IDLE' "$work/fleet.out"
echo "evgate RSS: before ${before} KiB, with $n idle connections ${idle} KiB, per connection $(( (idle - before) * 1024 / n )) bytes"
tail -n1 "$work/fleet.out"
