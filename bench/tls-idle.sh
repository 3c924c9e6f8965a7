#!/usr/bin/env bash
# Resident memory per idle wss:// charger, rustls (the default) against OpenSSL
# (OCPP_TLS_BACKEND=openssl): N evgate-sim chargers (2.0.1, profile 0, TLS 1.3
# from the simulator's rustls client) connect over RAMP and stay idle; evgate's
# RSS before and while they are connected, per connection.
#   bench/tls-idle.sh [N=1000]
# Needs: cargo build --release --bin evgate && cargo build --release -p
# simulators, openssl, curl. EVGATE_BIN / EVGATE_SIM run other builds. Rate
# limits are off (see lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
bin=${EVGATE_BIN:-target/release/evgate}
sim=${EVGATE_SIM:-target/release/evgate-sim}
[ -x "$bin" ] && [ -x "$sim" ] || { echo "build first (see the header)" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"
. bench/lib.sh
bench_limits_off
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$work"' EXIT
bench_tls_certs "$work"
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }

echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $n idle chargers, $(nproc) cores"
echo "| backend | RSS before | RSS with $n idle | per connection | connected |"
echo "|---|---:|---:|---:|---:|"
for backend in rustls openssl; do
  port=$((20000 + RANDOM % 10000))
  dir="$work/$backend"; mkdir -p "$dir"
  HTTP_ADDR=127.0.0.1:$port OCPP_ADDR=127.0.0.1:$((port + 1)) OCPP_TLS_ADDR=127.0.0.1:$((port + 2)) \
    OCPP_TLS_BACKEND=$backend OCPP_TLS_CERT="$work/server.pem" OCPP_TLS_KEY="$work/server.key" \
    JWT_SECRET=bench-secret-bench-secret-bench-secret DATABASE_URL="sqlite://$dir/evgate.db" \
    RUST_LOG=warn "$bin" >"$dir/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  token=$(JWT_SECRET=bench-secret-bench-secret-bench-secret DATABASE_URL="sqlite://$dir/evgate.db" \
    "$bin" token --user 1 --role admin --ttl 1h)
  before=$(rss)
  "$sim" run --url "wss://localhost:$((port + 2))/ocpp" --ca-file "$work/ca.pem" \
    --chargers "$n" --version 2.0.1 --ramp 10s --duration 30s --scenario idle --prefix TLS- \
    --provision --api "http://127.0.0.1:$port" --admin-token "$token" --quiet \
    --json "$dir/report.json" >"$dir/sim.out" 2>&1 &
  sim_pid=$!
  sleep 25   # provisioning, the 10 s ramp, then idle
  idle=$(rss)
  wait $sim_pid || true
  connected=$(python3 -c "import json; r=json.load(open('$dir/report.json')); print(r['connections'], 'of', $n, '(failed', str(r['connect_failures']) + ')')" 2>/dev/null || echo "? (see $dir/sim.out)")
  echo "| $backend | ${before} KiB | ${idle} KiB | $(( (idle - before) * 1024 / n )) B | $connected |"
  kill $server; wait $server 2>/dev/null || true
  server=
done
