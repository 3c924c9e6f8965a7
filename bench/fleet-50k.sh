#!/usr/bin/env bash
# Issue #18's headline: N chargers (mixed 1.6/2.0.1; W of them over wss://)
# connect to one evgate on SQLite, stay idle, then all drop at once halfway
# through DURATION and reconnect (evgate-sim's reconnect-storm). Two
# simulator processes run side by side, one per URL scheme, with the same
# duration, so both storms fall together. Prints each simulator's report
# (connect and round-trip figures, failures) and evgate's resident memory
# before, with all connected and idle (just before the storm), and at the end.
#   bench/fleet-50k.sh [N=50000] [W=5000] [DURATION=180s] [RAMP=50s] [HEARTBEAT=60s]
# Needs: cargo build --release -p evgate -p simulators, openssl, curl.
# EVGATE_BIN runs another build. Rate limits are off (bench/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50000}; w=${2:-5000}; duration=${3:-180s}; ramp=${4:-50s}; heartbeat=${5:-60s}
bin=${EVGATE_BIN:-target/release/evgate}
sim=target/release/evgate-sim
[ -x "$bin" ] && [ -x "$sim" ] || { echo "build first (see the header)" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"
. bench/lib.sh
bench_limits_off
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
bench_tls_certs "$work"
port=$((20000 + RANDOM % 10000))
export HTTP_ADDR=127.0.0.1:$port OCPP_ADDR=0.0.0.0:$((port + 1)) OCPP_TLS_ADDR=0.0.0.0:$((port + 2))
export OCPP_TLS_CERT="$work/server.pem" OCPP_TLS_KEY="$work/server.key" RUST_LOG=warn
# Room for the chargers under this machine's 20,000 open files: evgate fits its charger
# limit beside HTTP_MAX_CONNECTIONS (see src/open_files.rs).
export HTTP_MAX_CONNECTIONS=1024
export JWT_SECRET=bench-secret-bench-secret-bench-secret DATABASE_URL="sqlite://$work/evgate.db"
"$bin" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://$HTTP_ADDR/health" >/dev/null && break; sleep 0.1; done
token=$("$bin" token --user 1 --role admin --ttl 2h)
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
common=(--connectors 2 --version mixed --ramp "$ramp" --duration "$duration"
        --scenario reconnect-storm --heartbeat "$heartbeat" --seed 7 --quiet --max-errors 0
        --provision --api "http://$HTTP_ADDR" --admin-token "$token")
before=$(rss)
echo "date=$(date -u +%FT%TZ) cores=$(nproc) chargers=$n wss=$w duration=$duration ramp=$ramp heartbeat=$heartbeat"
"$sim" run --url "ws://127.0.0.1:$((port + 1))/ocpp" --chargers $((n - w)) --prefix WS- "${common[@]}" \
  --json "$work/ws.json" >"$work/ws.out" 2>&1 &
ws_pid=$!
# The wss:// fleet starts once the larger one is provisioned (each
# simulator provisions its own chargers, then ramps), so the ramps and the
# storms fall within a few seconds of each other.
until grep -q provisioned "$work/ws.out" 2>/dev/null || ! kill -0 $ws_pid 2>/dev/null; do sleep 0.2; done
"$sim" run --url "wss://localhost:$((port + 2))/ocpp" --ca-file "$work/ca.pem" --chargers "$w" --prefix TLS- \
  "${common[@]}" --json "$work/wss.json" >"$work/wss.out" 2>&1 &
wss_pid=$!
# Resident memory each second (the idle figure: just before the storm).
t0=$(date +%s); peak=0
while kill -0 $ws_pid 2>/dev/null || kill -0 $wss_pid 2>/dev/null; do
  r=$(rss); [ "$r" -gt "$peak" ] && peak=$r
  echo "$(( $(date +%s) - t0 )) $r" >>"$work/rss.log"
  sleep 1
done
wait $ws_pid && ws_status=0 || ws_status=$?
wait $wss_pid && wss_status=0 || wss_status=$?
echo "== ws:// fleet ($((n - w)) chargers, exit $ws_status)"; cat "$work/ws.out"
echo "== wss:// fleet ($w chargers, exit $wss_status)"; cat "$work/wss.out"
echo "evgate RSS (KiB) by second since the fleets started:"; tr '\n' ' ' <"$work/rss.log"; echo
echo "evgate RSS before ${before} KiB, peak ${peak} KiB, at the end $(rss) KiB"
