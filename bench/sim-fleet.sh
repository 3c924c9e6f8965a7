#!/usr/bin/env bash
# evgate-sim fleet benchmark: N simulated chargers against one evgate process
# (SQLite), provisioned through the admin API, running SCENARIO (idle or
# reconnect-storm) for DURATION with heartbeats every HEARTBEAT.
#   bench/sim-fleet.sh [N=10000] [SCENARIO=idle] [DURATION=90s] [HEARTBEAT=10s] [RAMP=30s]
# Needs: cargo build --release -p evgate -p simulators
# Prints the simulator's report, its peak memory per charger, and evgate's
# resident memory before, at its peak, at the end of the run (in a storm at
# half the duration, the end is what the storm left after as long again) and
# SETTLE (15) seconds after the fleet left; then evgate's warnings, counted.
# STORE=postgres runs evgate on a fresh PostgreSQL database (EVGATE_BENCH_PG,
# EVGATE_BENCH_PG_PARAMS as in lib.sh) instead of SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}; scenario=${2:-idle}; duration=${3:-90s}; heartbeat=${4:-10s}; ramp=${5:-30s}
bin=${EVGATE_BIN:-target/release/evgate}   # EVGATE_BIN: a baseline build
sim=target/release/evgate-sim
[ -x "$bin" ] && [ -x "$sim" ] || { echo "build first (see the header)" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d)
port=$((20000 + RANDOM % 10000)); oport=$((port + 1))
export HTTP_ADDR=127.0.0.1:$port OCPP_ADDR=0.0.0.0:$oport RUST_LOG=warn
export JWT_SECRET=bench-secret-bench-secret-bench-secret DATABASE_URL="sqlite://$work/evgate.db"
if [ "${STORE:-sqlite}" = postgres ]; then   # the same run on PostgreSQL (a fresh evgate_bench)
  pg=${EVGATE_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
  psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS evgate_bench" -qc "CREATE DATABASE evgate_bench" >/dev/null
  export DATABASE_URL="$pg/evgate_bench${EVGATE_BENCH_PG_PARAMS:-}"   # e.g. ?sslmode=disable
fi
. bench/lib.sh; bench_limits_off   # rate limits off: see lib.sh
"$bin" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://$HTTP_ADDR/health" >/dev/null && break; sleep 0.1; done
token=$("$bin" token --user 1 --role admin --ttl 2h)
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
before=$(rss $server)
"$sim" run --url "ws://127.0.0.1:$oport/ocpp" --chargers "$n" --connectors 2 --version mixed \
  --ramp "$ramp" --duration "$duration" --scenario "$scenario" --heartbeat "$heartbeat" \
  --seed 7 --quiet --provision --api "http://$HTTP_ADDR" --admin-token "$token" \
  --json "$work/report.json" --max-errors 0 >"$work/sim.out" 2>&1 &
sim_pid=$!
peak=0; at_end=0; server_peak=0
while kill -0 $sim_pid 2>/dev/null; do
  s=$(awk '/VmHWM/ {print $2}' /proc/$sim_pid/status 2>/dev/null || echo 0)
  [ "${s:-0}" -gt "$peak" ] && peak=$s
  at_end=$(rss $server)
  [ "$at_end" -gt "$server_peak" ] && server_peak=$at_end
  sleep 1
done
wait $sim_pid && status=0 || status=$?
# What the process gives back once the fleet has gone (SETTLE seconds later).
settle=${SETTLE:-15}; sleep "$settle"; after=$(rss $server)
echo "date=$(date -u +%FT%TZ) cores=$(nproc) store=${STORE:-sqlite} chargers=$n scenario=$scenario duration=$duration heartbeat=$heartbeat ramp=$ramp exit=$status"
cat "$work/sim.out"
echo "evgate-sim peak RSS ${peak} KiB: $(( peak * 1024 / n )) bytes per simulated charger"
echo "evgate RSS before ${before} KiB, during the run ${at_end} KiB: $(( (at_end - before) * 1024 / n )) bytes per connected charger"
echo "evgate RSS peak ${server_peak} KiB, at the end ${at_end} KiB ($(( at_end * 100 / (server_peak > 0 ? server_peak : 1) ))% of the peak), ${settle} s after the fleet left ${after} KiB ($(( after * 100 / (server_peak > 0 ? server_peak : 1) ))%)"
# Why calls or connections failed, as evgate saw it: its warnings, counted.
if grep -qE ' (WARN|ERROR) ' "$work/server.log"; then
  echo "evgate warnings and errors (count, message):"
  grep -E ' (WARN|ERROR) ' "$work/server.log" | sed -E 's/^[^ ]+ +//; s/[0-9a-f]{8}-[0-9a-f-]{27}/<id>/g' |
    cut -c1-160 | sort | uniq -c | sort -rn | awk 'NR <= 5'
fi
