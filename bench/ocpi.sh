#!/usr/bin/env bash
# OCPI Locations pulled by a roaming partner (#20): one release evgate on
# SQLite with N published stations (one charger, two connectors each), an
# eMSP registered through the real credentials handshake (tests/peers/emsp.py),
# then wrk on a page of Locations (limit 100), on an incremental pull
# (date_from an hour back: every Location changed), and on GET /health as the
# floor, each for DURATION with 16 connections, alternated.
#   bench/ocpi.sh [N=2000] [DURATION=10s]
# Needs: cargo build --release --bin evgate; wrk. Rate limits are off
# (bench/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}; duration=${2:-10s}
export OCPI_COUNTRY_CODE=NO OCPI_PARTY_ID=EVG
. bench/lib.sh
start_evgate embedded
base="http://$HTTP_ADDR"
python3 - "$base" "$admin" "$n" <<'PY'
import json, sys, urllib.request
base, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def call(method, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method=method,
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)["data"]
for i in range(n):
    s = call("POST", "/v1/admin/stations", {"name": f"Site {i}", "latitude": 59 + i / 10000, "longitude": 10.7})
    call("POST", f"/v1/admin/stations/{s['id']}/chargers", {"chargePointId": f"OC-{i}", "securityProfile": 0})
    for c in (1, 2):
        call("POST", f"/v1/admin/stations/{s['id']}/connectors",
             {"chargePointId": f"OC-{i}", "connectorId": c, "connectorType": "CCS", "powerKw": 150})
    call("PUT", f"/v1/admin/ocpi/locations/{s['id']}",
         {"city": "Oslo", "country": "NOR", "timeZone": "Europe/Oslo", "publish": True})
PY
token_a=$(api POST /v1/admin/ocpi/partners '{"name":"bench"}' | json '["data"]["token"]')
coproc EMSP { python3 tests/peers/emsp.py; }
read -r ready <&"${EMSP[0]}"
echo "{\"cmd\": \"register\", \"versions\": \"$base/ocpi/versions\", \"token\": \"$token_a\"}" >&"${EMSP[1]}"
read -r reg <&"${EMSP[0]}"
token_c=$(echo "$reg" | json '["body"]["data"]["token"]')
auth="Authorization: Token $(printf %s "$token_c" | base64 -w0)"
since=$(date -u -d '1 hour ago' +%FT%TZ)
echo "date=$(date -u +%FT%TZ) cores=$(nproc) stations=$n connectors=$((2 * n)) duration=$duration"
run() {
  local name=$1 url=$2
  wrk -t2 -c16 -d"$duration" --latency -H "$auth" "$url" | python3 -c '
import re, sys
name, out = sys.argv[1], sys.stdin.read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
lat = dict(re.findall(r"\s+(50|99)%\s+([\d.]+\w+)", out))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
p50, p99, bad = lat.get("50"), lat.get("99"), non2xx.group(1) if non2xx else 0
print(f"{name} req_per_s={rps} p50={p50} p99={p99} non2xx={bad}")
' "$name"
}
for round in 1 2; do
  run health "$base/health"
  run locations_page "$base/ocpi/2.2.1/locations?offset=$((n / 2))&limit=100"
  run locations_since "$base/ocpi/2.2.1/locations?date_from=$since&limit=100"
done
echo '{"cmd": "base"}' >&"${EMSP[1]}"
kill "$EMSP_PID" 2>/dev/null || true
