#!/usr/bin/env bash
# Every throughput, latency and memory figure, each against a ceiling
# measured in the same script's run (wrk -t1 -c16 against nginx answering a
# fixed 200): ingest (no rules, routed, 100 rules; sync off and on) and
# delivery (one and 100 destinations, added latency at 200/s, RSS with a
# backlog). Loopback only.
#   tests/bench/run_all.sh [SECONDS_PER_INGEST_RUN] [DELIVERIES] [BACKLOG]   (defaults 10, 100000, 1000000)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
echo "== ingest (tests/bench/run_ingest_bench.sh ${1:-10})"
bash "$root/tests/bench/run_ingest_bench.sh" "${1:-10}"
echo
echo "== delivery (tests/bench/run_delivery_bench.sh ${2:-100000} ${3:-1000000})"
bash "$root/tests/bench/run_delivery_bench.sh" "${2:-100000}" "${3:-1000000}" 2>&1 | grep -v '"level"'
echo
echo "== subscribers: FIFO against unordered (tests/bench/run_fifo_bench.sh 20000)"
bash "$root/tests/bench/run_fifo_bench.sh" 20000
