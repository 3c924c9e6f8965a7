#!/usr/bin/env bash
# TLS handshake cost of the OCPP wss:// listener, rustls (the default) against
# OpenSSL (OCPP_TLS_BACKEND=openssl): N full handshakes one after the other
# (TCP connect + TLS handshake, no session resumption, then close) per client
# kind, timed by the client; median, p90, and handshakes/s over the run.
# Client kinds: TLS 1.3 (X25519), TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256, and
# TLS 1.2 AES128-GCM-SHA256 (static RSA; OpenSSL only: rustls refuses it).
# The server certificate is RSA 2048 (static RSA needs one), made here.
#   bench/tls-handshake.sh [N=200]
# Needs: cargo build --release --bin evgate, openssl, python3. EVGATE_BIN runs
# another build. Rate limits are off (see lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
bin=${EVGATE_BIN:-target/release/evgate}
[ -x "$bin" ] || { echo "build first: cargo build --release --bin evgate" >&2; exit 2; }
. bench/lib.sh
bench_limits_off
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$work"' EXIT

bench_tls_certs "$work"

cat >"$work/client.py" <<'EOF'
import socket, ssl, statistics, sys, time
port, n, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
kinds = {
    "TLS 1.3": (None, None),
    "TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256": (ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-AES128-GCM-SHA256"),
    "TLS 1.2 AES128-GCM-SHA256 (static RSA)": (ssl.TLSVersion.TLSv1_2, "AES128-GCM-SHA256"),
}
for name, (version, ciphers) in kinds.items():
    ctx = ssl.create_default_context(cafile=ca)
    if version:
        ctx.maximum_version = version
        ctx.set_ciphers(ciphers)
    times, got = [], None
    start = time.perf_counter()
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            with socket.create_connection(("127.0.0.1", port)) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                    times.append(time.perf_counter() - t0)
                    got = tls.cipher()[0]
    except (ssl.SSLError, OSError) as e:
        print(f"| {name} | refused ({type(e).__name__}) | | | |")
        continue
    total = time.perf_counter() - start
    times.sort()
    p90 = times[int(len(times) * 0.9) - 1]
    print(f"| {name} | {got} | {statistics.median(times) * 1000:.2f} ms | {p90 * 1000:.2f} ms | {n / total:.0f} |")
EOF

echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $n handshakes per row, $(nproc) cores"
for backend in rustls openssl; do
  port=$((20000 + RANDOM % 10000))
  dir="$work/$backend"; mkdir -p "$dir"
  HTTP_ADDR=127.0.0.1:$port OCPP_ADDR=127.0.0.1:$((port + 1)) OCPP_TLS_ADDR=127.0.0.1:$((port + 2)) \
    OCPP_TLS_BACKEND=$backend OCPP_TLS_CERT="$work/server.pem" OCPP_TLS_KEY="$work/server.key" \
    JWT_SECRET=bench-secret-bench-secret-bench-secret DATABASE_URL="sqlite://$dir/evgate.db" \
    RUST_LOG=warn "$bin" >"$dir/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  echo
  echo "OCPP_TLS_BACKEND=$backend"
  echo "| client offers | negotiated | median | p90 | handshakes/s |"
  echo "|---|---|---:|---:|---:|"
  python3 "$work/client.py" $((port + 2)) "$n" "$work/ca.pem"
  kill $server; wait $server 2>/dev/null || true
  server=
done
