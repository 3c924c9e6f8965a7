#!/usr/bin/env bash
# Every benchmark of BENCHMARKS.md, one after the other, with the arguments its
# sections quote, then one summary table (mode, command, exit, seconds, the
# lines that carry its figures). Full outputs stay in the log directory.
#   bench/all.sh [MODE…]          (no mode: all of them, in the order below)
#   bench/all.sh --list           the modes and their commands
# Modes: http http-cluster holds-cluster ocpp-vs-bare ocpp-idle storm storm-postgres fleet webhooks
#        webhooks-cluster sio cluster-command password-storm half-open tls-handshake
#        tls-idle console ocpi
# Needs what each script's header says (release builds of evgate and the
# simulators, wrk, PostgreSQL and Redis for the cluster modes, tests/peers for
# the Node clients). EVGATE_BIN runs another build where the scripts take it.
# BENCH_LOG_DIR keeps the logs (default: a new temporary directory).
# Rate limits are off in every run, as the scripts say (bench/lib.sh).
set -uo pipefail
cd "$(dirname "$0")/.."

# mode | command | extended regex picking the lines with the figures
modes=(
  "http|bench/http-bench.sh embedded 8s 32|^###|Requests/sec|99%"
  "http-cluster|bench/http-bench.sh cluster 8s 32|^###|Requests/sec|99%"
  "holds-cluster|bench/hold-bench.sh cluster 2000 10|^/"
  "ocpp-vs-bare|bench/ocpp-vs-bare.sh 200 5 2|calls_per_s|per connection|ratio"
  "ocpp-idle|bench/ocpp-idle.sh 5000 1000 10|per connection|p50|p99"
  "storm|bench/sim-fleet.sh 10000 reconnect-storm 80s 10s 20s|^reconnect|^round trip|^errors|evgate RSS"
  "storm-postgres|STORE=postgres EVGATE_BENCH_PG_PARAMS=?sslmode=disable bench/sim-fleet.sh 10000 reconnect-storm 80s 10s 20s|^reconnect|^round trip|^errors|evgate RSS"
  "fleet|bench/fleet-50k.sh 18000 1800 120s 50s 60s|^==|^connections|^reconnect|^round trip|evgate RSS before"
  "webhooks|bench/webhook-bench.sh embedded 2000 10|p50|p99|drained"
  "webhooks-cluster|bench/webhook-bench.sh cluster 2000 10|p50|p99|drained"
  "sio|bench/sio-push.sh 1000 200 10|p50|p99"
  "cluster-command|bench/cluster-command.sh 2000|p50|p99"
  "password-storm|bench/password-storm.sh 1000 250 50 16|RSS KiB|storm seconds|p99"
  "half-open|bench/half-open.sh 1000 10|closed|p99"
  "tls-handshake|bench/tls-handshake.sh 200|^\\| TLS|refused"
  "tls-idle|bench/tls-idle.sh 1000|^\\| (rustls|openssl)"
  "console|bench/console.sh 10000 200|^page=|RSS"
  "ocpi|bench/ocpi.sh 2000 10s|req_per_s"
)

field() { cut -d'|' -f"$2" <<<"$1"; }
pattern() { cut -d'|' -f3- <<<"$1"; }

if [ "${1:-}" = --list ]; then
  for m in "${modes[@]}"; do printf '%-18s %s\n' "$(field "$m" 1)" "$(field "$m" 2)"; done
  exit 0
fi

wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && for m in "${modes[@]}"; do wanted+=("$(field "$m" 1)"); done
for w in "${wanted[@]}"; do
  found=0
  for m in "${modes[@]}"; do [ "$(field "$m" 1)" = "$w" ] && found=1; done
  [ $found = 1 ] || { echo "unknown mode: $w (bench/all.sh --list)" >&2; exit 2; }
done

logs=${BENCH_LOG_DIR:-$(mktemp -d -t evgate-bench-XXXX)}
mkdir -p "$logs"
summary="$logs/summary.md"
{
  echo "# bench/all.sh — $(date -u '+%Y-%m-%d %H:%M UTC'), $(hostname), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "build: ${EVGATE_BIN:-target/release/evgate} ($(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
  echo
  echo "| mode | command | exit | seconds | figures |"
  echo "|---|---|---|---|---|"
} >"$summary"

for w in "${wanted[@]}"; do
  for m in "${modes[@]}"; do
    [ "$(field "$m" 1)" = "$w" ] || continue
    cmd=$(field "$m" 2)
    echo "=== $w: $cmd" >&2
    start=$(date +%s)
    bash -c "$cmd" >"$logs/$w.log" 2>&1
    status=$?
    took=$(( $(date +%s) - start ))
    figures=$(grep -E "$(pattern "$m")" "$logs/$w.log" | sed 's/|/\\|/g; s/  */ /g' | head -n 24 | paste -sd ';' - | sed 's/;/<br>/g')
    echo "| $w | \`$cmd\` | $status | $took | ${figures:-see $logs/$w.log} |" >>"$summary"
  done
done

echo >&2
cat "$summary"
echo >&2
echo "logs: $logs" >&2
