#!/usr/bin/env bash
# FIFO subscribers against unordered delivery, to nginx answering a fixed 200
# (wrk -t1 -c16 against it gives the loopback ceiling in the same run):
#   tests/bench/run_fifo_bench.sh [EVENTS]   (default 50000)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
events=${1:-50000}
work=$(mktemp -d)
trap '[ -n "${nginx_pid:-}" ] && kill "$nginx_pid" 2>/dev/null; rm -rf "$work"' EXIT
. "$root/tests/bench/nginx_receiver.sh"
start_nginx_receiver "$work"
ceiling=$(wrk -t1 -c16 -d5s http://127.0.0.1:18080/ | awk '/Requests\/sec/ {print $2}')
echo "wrk -t1 -c16 against the same nginx (ceiling): $ceiling requests/s"
python3 "$root/tests/bench/fifo_bench.py" "$root/build/bus/switchyard" http://127.0.0.1:18080/in "$events"
