#!/usr/bin/env bash
# Half-open HTTP connections (issue #15): N clients each send half a request
# head and go silent. Reports when evgate closed them (seconds after they
# opened: median, p99, max, and how many were still open at the deadline),
# and, while they hang, the latency of /health and of a charger handshake
# (OCPP port, an unknown identity: 404), probed every 100 ms.
#   bench/half-open.sh [N=1000] [HTTP_HEADER_TIMEOUT_SECONDS=10]
# Needs: cargo build --release, python3. EVGATE_BIN runs another build.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}; timeout=${2:-10}
export HTTP_HEADER_TIMEOUT_SECONDS=$timeout
ulimit -n "$(ulimit -Hn)"
. bench/lib.sh
start_evgate embedded
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
echo "date=$(date -u +%FT%TZ) n=$n header_timeout_s=$timeout idle_rss_kib=$(rss)"
python3 - "$HTTP_ADDR" "$OCPP_ADDR" "$n" "$timeout" "$server" <<'EOF'
import asyncio, json, statistics, sys, time
http, ocpp, n, timeout, pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
hh, hp = http.rsplit(':', 1); oh, op = ocpp.rsplit(':', 1)

def rss():
    for line in open(f'/proc/{pid}/status'):
        if line.startswith('VmRSS'):
            return int(line.split()[1])

async def half_open(closed):
    opened = time.monotonic()
    r, w = await asyncio.open_connection(hh, int(hp))
    w.write(b'GET /health HTTP/1.1\r\nHost: evgate\r\n')
    await w.drain()
    try:
        await asyncio.wait_for(r.read(), timeout + 20)
        closed.append(time.monotonic() - opened)
    except asyncio.TimeoutError:
        pass
    w.close()

async def probe(host, port, request, expect):
    t = time.monotonic()
    r, w = await asyncio.open_connection(host, port)
    w.write(request)
    await w.drain()
    head = await asyncio.wait_for(r.read(64), 15)
    w.close()
    assert head.startswith(expect), head
    return (time.monotonic() - t) * 1000

async def main():
    closed = []
    hang = [asyncio.create_task(half_open(closed)) for _ in range(n)]
    await asyncio.sleep(0.5)
    peak = rss()
    health, handshake = [], []
    ws = (b'GET /ocpp/NOBODY HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
          b'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
          b'Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n')
    while len(closed) < n and any(not t.done() for t in hang):
        health.append(await probe(hh, int(hp), b'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', b'HTTP/1.1 200'))
        handshake.append(await probe(oh, int(op), ws, b'HTTP/1.1 404'))
        peak = max(peak, rss())
        await asyncio.sleep(0.1)
    await asyncio.gather(*hang)
    q = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(p * len(xs)))] if xs else None
    print(json.dumps({
        "closed": len(closed), "still_open": n - len(closed),
        "closed_after_s": {"p50": round(statistics.median(closed), 2), "p99": round(q(closed, .99), 2), "max": round(max(closed), 2)} if closed else None,
        "health_ms": {"n": len(health), "p50": round(statistics.median(health), 2), "p99": round(q(health, .99), 2)},
        "ocpp_handshake_ms": {"n": len(handshake), "p50": round(statistics.median(handshake), 2), "p99": round(q(handshake, .99), 2)},
        "rss_kib_peak": peak,
    }))
asyncio.run(main())
EOF
