#!/usr/bin/env bash
# Operator console under a network of N connected chargers (#17: overview and
# charger list under 200 ms server time with 10,000). One release evgate on
# SQLite, N idle evgate-sim chargers (mixed 1.6/2.0.1, 2 connectors each),
# then REPEAT sequential requests per page from one signed-in curl, with
# GET /health in the same run as the floor.
#   bench/console.sh [N=10000] [REPEAT=200]
# Needs: cargo build --release -p evgate -p simulators --bin evgate --bin evgate-sim
# Prints one line per page: median, p99 and max of curl's time_total (on
# loopback: the server's time plus a connection's setup). evgate-sim puts every
# charger at one station, so the station and bookings pages show one page of
# its 2N connectors. Rate limits are off (bench/lib.sh); the one sign-in is
# under the console's own throttle.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}; repeat=${2:-200}
sim=target/release/evgate-sim
. bench/lib.sh
[ -x "$sim" ] || { echo "build first (see the header)" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"
OCPP_ADDR=0.0.0.0:$((30000 + RANDOM % 10000)) start_evgate embedded
oport=${OCPP_ADDR##*:}
base="http://$HTTP_ADDR"
echo "bench-console-operator-password" | "$bin" operator add bench --role admin --password-stdin >/dev/null
"$sim" run --url "ws://127.0.0.1:$oport/ocpp" --chargers "$n" --connectors 2 --version mixed \
  --ramp 30s --duration 20m --scenario idle --heartbeat 60s --seed 7 --quiet \
  --provision --api "$base" --admin-token "$admin" >"$work/sim.out" 2>&1 &
sim_pid=$!
trap 'kill $sim_pid 2>/dev/null; kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

jar="$work/cookies"
csrf=$(curl -s -c "$jar" "$base/console/sign-in" | grep -o 'name="csrf" value="[^"]*"' | sed 's/.*value="//;s/"$//')
curl -s -b "$jar" -c "$jar" -o /dev/null -d "csrf=$csrf&name=bench&password=bench-console-operator-password" \
  "$base/console/sign-in"
for _ in $(seq 1 300); do
  curl -s -b "$jar" "$base/console/overview.frag" | grep -q "data-count=\"online\">$n / $n" && break
  sleep 1
done
curl -s -b "$jar" "$base/console/overview.frag" | grep -o "data-count=\"online\">[0-9]* / [0-9]*"
station=$(curl -s -H "Authorization: Bearer $admin" "$base/v1/stations?limit=1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["stations"][0]["id"])')

measure() {
  local path=$1
  for _ in $(seq 1 "$repeat"); do
    curl -s -b "$jar" -o /dev/null -w '%{http_code} %{time_total}\n' "$base$path"
  done | python3 -c '
import sys
path, rows = sys.argv[1], [l.split() for l in sys.stdin]
codes = ",".join(sorted({r[0] for r in rows}))
t = sorted(float(r[1]) * 1000 for r in rows)
q = lambda p: t[min(len(t) - 1, int(p * len(t)))]
print(f"page={path} n={len(t)} status={codes} median_ms={q(0.5):.2f} p99_ms={q(0.99):.2f} max_ms={t[-1]:.2f}")
' "$path"
}
echo "date=$(date -u +%FT%TZ) cores=$(nproc) chargers=$n repeat=$repeat"
measure /health
measure /console
measure /console/overview.frag
measure /console/chargers
measure "/console/chargers?page=100"
measure "/console/chargers?q=SIM-0999"
measure /console/chargers/SIM-00042
measure "/console/stations/$station"
measure "/console/bookings?station=$station"
echo "evgate RSS $(awk '/VmRSS/ {print $2}' /proc/$server/status) KiB"
