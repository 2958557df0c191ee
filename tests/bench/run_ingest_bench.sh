#!/usr/bin/env bash
# Ingest benchmark over loopback: wrk -t1 -c16 against nginx answering a
# fixed 200 (the machine's ceiling), then against Switchyard with single
# events (POST /buses/default/events) and 10-entry PutEvents (POST /), with
# storage.sync off and on. Needs Debian's wrk and nginx-light.
#   tests/bench/run_ingest_bench.sh [SECONDS]   (default 10 per run)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-10}
work=$(mktemp -d)
cleanup() {
  [ -n "${nginx_pid:-}" ] && kill "$nginx_pid" 2>/dev/null || true
  [ -n "${sy_pid:-}" ] && kill "$sy_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

. "$root/tests/bench/nginx_receiver.sh"
start_nginx_receiver "$work"

single='{"source":"bench","detail-type":"Tick","detail":{"n":1,"s":"hello world"}}'
entry='{"Source":"bench","DetailType":"Tick","Detail":"{\"n\":1,\"s\":\"hello world\"}"}'
batch="{\"Entries\":[$entry"
for _ in 1 2 3 4 5 6 7 8 9; do batch+=",$entry"; done
batch+="]}"
cat > "$work/single.lua" <<LUA
wrk.method = "POST"
wrk.body = [[$single]]
wrk.headers["Content-Type"] = "application/json"
LUA
cat > "$work/batch.lua" <<LUA
wrk.method = "POST"
wrk.body = [[$batch]]
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "AWSEvents.PutEvents"
LUA

# Prints "requests_per_second p50 p99" from wrk --latency output.
measure() {
  wrk -t1 -c16 -d"${secs}s" --latency "$@" | awk '
    /Requests\/sec/ {rps=$2}
    /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
    /Non-2xx/ {bad=$NF}
    END {printf "%s %s %s %s\n", rps, p50, p99, (bad==""?0:bad)}'
}

read -r ceiling _ _ _ < <(measure http://127.0.0.1:18080/)
printf 'nginx fixed 200 (ceiling): %.0f requests/s\n\n' "$ceiling"
printf '%-34s %12s %12s %9s %9s %10s\n' "run" "requests/s" "events/s" "p50" "p99" "of nginx"
for sync in false true; do
  cat > "$work/sy.yaml" <<YAML
server: {listen: 127.0.0.1:18081, admin_listen: 127.0.0.1:18082}
storage: {path: $work/data-$sync, sync: $sync}
YAML
  "$root/build/bus/switchyard" serve --config "$work/sy.yaml" --log-level warn &
  sy_pid=$!
  sleep 0.7
  for kind in single batch; do
    path=/buses/default/events; per=1
    [ "$kind" = batch ] && { path=/; per=10; }
    read -r rps p50 p99 bad < <(measure -s "$work/$kind.lua" "http://127.0.0.1:18081$path")
    [ "$bad" != 0 ] && echo "warning: $bad non-2xx answers" >&2
    printf '%-34s %12.0f %12.0f %9s %9s %9.1f%%\n' "$kind (sync=$sync)" "$rps" "$(echo "$rps*$per" | bc)" \
      "$p50" "$p99" "$(echo "100*$rps/$ceiling" | bc -l)"
  done
  kill "$sy_pid"; wait "$sy_pid" 2>/dev/null || true; sy_pid=
done
