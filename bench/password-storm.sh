#!/usr/bin/env bash
# Wrong Basic-auth passwords against the OCPP listener, many at once: the
# process's resident memory (idle, the peak during the storm, just after it
# and SETTLE (15) seconds later: what the allocator gave back) and how
# the handshakes were answered (401 verified and wrong, 429 slowed, 503
# every verification slot busy).
# With LEGIT=N (default 50), N legitimate chargers (profile 0) send 10
# heartbeats/s in all through the storm, and their round trips are reported:
# the storm must not stall the chargers already in.
#   bench/password-storm.sh [ATTEMPTS=1000] [PARALLEL=250] [IDENTITIES=50] [SOURCES=16]
# Needs: cargo build --release && cargo build --release -p simulators --example
# idle_fleet, curl. EVGATE_BIN runs another build. Rate limits are off (see
# lib.sh); BENCH_RATE_LIMITS=keep measures with the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
attempts=${1:-1000}; parallel=${2:-250}; identities=${3:-50}; sources=${4:-16}
. bench/lib.sh
start_evgate embedded
ocpp=$OCPP_ADDR
station=$(api POST /v1/admin/stations '{"name":"Storm","latitude":1,"longitude":1}' | json "['data']['id']")
for n in $(seq 1 "$identities"); do
  api POST "/v1/admin/stations/$station/chargers" \
    "{\"chargePointId\":\"PW-$n\",\"securityProfile\":1,\"password\":\"right-password-$n-abcdef\"}" >/dev/null
done
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
legit=${LEGIT:-50}
fleet=target/release/examples/idle_fleet
if [ "$legit" -gt 0 ]; then
  [ -x "$fleet" ] || { echo "build first: cargo build --release -p simulators --example idle_fleet" >&2; exit 2; }
  mkfifo "$work/go"; exec 3<>"$work/go"
  "$fleet" "http://$HTTP_ADDR" "ws://$ocpp" "$admin" "$legit" 10 "${LEGIT_SECONDS:-20}" <&3 >"$work/fleet.out" 2>"$work/fleet.err" &
  fleet_pid=$!
  until grep -q '^IDLE' "$work/fleet.out" 2>/dev/null; do
    kill -0 $fleet_pid 2>/dev/null || { cat "$work/fleet.out" "$work/fleet.err"; exit 1; }
    sleep 0.2
  done
  echo go >&3   # heartbeats start now and run through the storm
fi
sleep 1
idle=$(rss)
peak_file=$work/peak
( peak=0; while kill -0 "$server" 2>/dev/null; do r=$(rss); [ "$r" -gt "$peak" ] && peak=$r && echo "$peak" >"$peak_file"; sleep 0.05; done ) &
sampler=$!
start=$(date +%s.%N)
seq 1 "$attempts" | xargs -P "$parallel" -I{} sh -c '
  n={}; id=$(( n % '"$identities"' + 1 )); src=127.0.0.$(( n % '"$sources"' + 1 ))
  curl -s -o /dev/null -w "%{http_code}\n" --max-time 30 --interface "$src" \
    -H "Connection: Upgrade" -H "Upgrade: websocket" -H "Sec-WebSocket-Version: 13" \
    -H "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" -H "Sec-WebSocket-Protocol: ocpp1.6" \
    -u "PW-$id:wrong-password-abcdef" "http://'"$ocpp"'/ocpp/PW-$id"' >"$work/codes"
end=$(date +%s.%N)
sleep 0.5
kill $sampler 2>/dev/null || true
after=$(rss)
echo "date=$(date -u +%FT%TZ) attempts=$attempts parallel=$parallel identities=$identities sources=$sources"
settle=${SETTLE:-15}; sleep "$settle"; settled=$(rss)   # what the allocator gave back
echo "evgate RSS KiB: idle $idle, peak $(cat "$peak_file" 2>/dev/null || echo "$idle"), after $after, ${settle} s later $settled"
echo "storm seconds: $(echo "$end - $start" | bc)"
echo "answers:"; sort "$work/codes" | uniq -c
if [ "$legit" -gt 0 ]; then
  wait $fleet_pid
  echo "legitimate chargers' heartbeats during the storm ($legit chargers, 10/s in all):"
  tail -n1 "$work/fleet.out"
fi
