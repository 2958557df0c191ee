#!/usr/bin/env bash
# Delivery benchmark over loopback: nginx answering a fixed 200 is the
# receiver; wrk -t1 -c16 against it gives the ceiling in the same run.
#   tests/bench/run_delivery_bench.sh [DELIVERIES] [BACKLOG]   (defaults 100000, 1000000)
# Then the quota as the receiver sees it: nginx stamps every arrival ($msec)
# while one destination, then 100, drain with quotas that bind (together 30%
# of the ceiling), and no one-second window at nginx may hold more than a
# destination's quota. Then memory with a backlog, and the added delivery
# latency at 200 events/s (a receiver in process).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
count=${1:-100000}
backlog=${2:-1000000}
work=$(mktemp -d)
trap '[ -n "${nginx_pid:-}" ] && kill "$nginx_pid" 2>/dev/null; rm -rf "$work"' EXIT
. "$root/tests/bench/nginx_receiver.sh"
start_nginx_receiver "$work"
ceiling=$(wrk -t1 -c16 -d5s http://127.0.0.1:18080/ | awk '/Requests\/sec/ {print $2}')
echo "wrk -t1 -c16 against the same nginx (ceiling): $ceiling requests/s"
for d in 1 100; do
  "$root/build/tests/delivery_bench" throughput http://127.0.0.1:18080/in "$d" "$count" |
    awk -v c="$ceiling" '{print} /deliveries_per_second=/ {for (i = 1; i <= NF; i++) if ($i ~ /^deliveries_per_second=/) {split($i, a, "="); printf "  = %.1f%% of the ceiling\n", 100 * a[2] / c}}'
done
kill "$nginx_pid"; wait "$nginx_pid" 2>/dev/null || true
start_nginx_receiver "$work" "$work/arrivals.log"
for d in 1 100; do
  quota=$(awk -v c="$ceiling" -v d="$d" 'BEGIN {printf "%d", 0.3 * c / d}')
  : > "$work/arrivals.log"
  "$root/build/tests/delivery_bench" throughput http://127.0.0.1:18080/q "$d" $((quota * d * 3)) "$quota" >/dev/null
  kill -USR1 "$nginx_pid"; sleep 0.5  # nginx writes out its log buffer on reopen
  echo "quota $quota/s per destination:"
  python3 "$root/tests/bench/quota_check.py" "$work/arrivals.log" "$quota" | sed 's/^/  /'
done
"$root/build/tests/delivery_bench" backlog "$backlog"
# Added latency (handed over -> at the receiver) at 200 events/s for 10 s.
"$root/build/tests/delivery_bench" latency 200 10
