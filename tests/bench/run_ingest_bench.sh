#!/usr/bin/env bash
# Ingest benchmark over loopback: wrk -t1 -c16 against nginx answering a
# fixed 200 (the machine's ceiling), then against Switchyard with single
# events (POST /buses/default/events) and 10-entry PutEvents (POST /), with
# storage.sync off and on, and "routed": single events that match a rule
# with four targets (input path, input transformer, dynamic path, header and
# query parameters) and an archive with a pattern, their destinations paused
# so that only ingest is measured, and issue 14's case: 100 rules, one
# matching target per event, its destination paused (single events and
# 10-entry PutEvents, sync off and on), and publish deduplication: single
# events each with a new Idempotency-Key (every one claimed and stored) and
# all with the same key (every one after the first answered DEDUPLICATED).
# Needs Debian's wrk and nginx-light.
#   tests/bench/run_ingest_bench.sh [SECONDS]   (default 10 per run)
# SWITCHYARD_BIN picks the binary (default build/bus/switchyard), so that two
# builds can be measured against the same ceiling.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-10}
bin=${SWITCHYARD_BIN:-$root/build/bus/switchyard}
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

cat > "$work/keyed.lua" <<LUA
wrk.method = "POST"
wrk.body = [[$single]]
wrk.headers["Content-Type"] = "application/json"
local n = 0
local run = tostring(os.time())
request = function()
  n = n + 1
  wrk.headers["Idempotency-Key"] = "bench-" .. run .. "-" .. n
  return wrk.format(nil, nil, nil, nil)
end
LUA
cat > "$work/repeated.lua" <<LUA
wrk.method = "POST"
wrk.body = [[$single]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Idempotency-Key"] = "bench-always-the-same"
LUA

# Prints "requests_per_second p50 p99" from wrk --latency output.
measure() {
  wrk -t1 -c16 -d"${secs}s" --latency "$@" | awk '
    /Requests\/sec/ {rps=$2}
    /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
    /Non-2xx/ {bad=$NF}
    END {printf "%s %s %s %s\n", rps, p50, p99, (bad==""?0:bad)}'
}

# measure_kinds PREFIX: single events and 10-entry PutEvents against the
# running Switchyard, one table row each.
measure_kinds() {
  for kind in single batch; do
    path=/buses/default/events; per=1
    [ "$kind" = batch ] && { path=/; per=10; }
    read -r rps p50 p99 bad < <(measure -s "$work/$kind.lua" "http://127.0.0.1:18081$path")
    [ "$bad" != 0 ] && echo "warning: $bad non-2xx answers" >&2
    printf '%-34s %12.0f %12.0f %9s %9s %9.1f%%\n' "$1$kind (sync=$sync)" "$rps" "$(echo "$rps*$per" | bc)" \
      "$p50" "$p99" "$(echo "100*$rps/$ceiling" | bc -l)"
  done
}

read -r ceiling _ _ _ < <(measure http://127.0.0.1:18080/)
printf 'nginx fixed 200 (ceiling): %.0f requests/s\n\n' "$ceiling"
printf '%-34s %12s %12s %9s %9s %10s\n' "run" "requests/s" "events/s" "p50" "p99" "of nginx"
for sync in false true; do
  cat > "$work/sy.yaml" <<YAML
server: {listen: 127.0.0.1:18081, admin_listen: 127.0.0.1:18082}
storage: {path: $work/data-$sync, sync: $sync}
YAML
  "$bin" serve --config "$work/sy.yaml" --log-level warn &
  sy_pid=$!
  sleep 0.7
  measure_kinds ""
  kill "$sy_pid"; wait "$sy_pid" 2>/dev/null || true; sy_pid=
done

# Publish deduplication (sync off): a new key per event, then one key for all.
# wrk builds each keyed request in Lua, which costs the client (on the same
# cores) about a fifth of nginx's rate: the keyed row has its own ceiling.
read -r keyed_ceiling _ _ _ < <(measure -s "$work/keyed.lua" http://127.0.0.1:18080/)
printf '%-34s %12.0f %12s %9s %9s %10s\n' "nginx, a new key each (ceiling)" "$keyed_ceiling" "" "" "" ""
cat > "$work/sy.yaml" <<YAML
server: {listen: 127.0.0.1:18081, admin_listen: 127.0.0.1:18082}
storage: {path: $work/data-dedup, sync: false}
YAML
"$bin" serve --config "$work/sy.yaml" --log-level warn &
sy_pid=$!
sleep 0.7
for kind in keyed repeated; do
  read -r rps p50 p99 bad < <(measure -s "$work/$kind.lua" "http://127.0.0.1:18081/buses/default/events")
  [ "$bad" != 0 ] && echo "warning: $bad non-2xx answers" >&2
  label="single, a new Idempotency-Key each"; of=$keyed_ceiling
  [ "$kind" = repeated ] && { label="single, one key (DEDUPLICATED)"; of=$ceiling; }
  printf '%-34s %12.0f %12.0f %9s %9s %9.1f%%\n' "$label" "$rps" "$rps" "$p50" "$p99" "$(echo "100*$rps/$of" | bc -l)"
done
kill "$sy_pid"; wait "$sy_pid" 2>/dev/null || true; sy_pid=

# Routed: every event is matched, rendered for four targets (each reading
# inside the event) and archived; the deliveries are stored, not sent.
cat > "$work/sy.yaml" <<YAML
server: {listen: 127.0.0.1:18081, admin_listen: 127.0.0.1:18082}
storage: {path: $work/data-routed, sync: false}
api_destinations:
  - {name: d1, endpoint: "http://127.0.0.1:18080/*"}
  - {name: d2, endpoint: "http://127.0.0.1:18080/x"}
rules:
  - name: routed
    event_pattern: {source: [bench], detail: {n: [{numeric: [">", 0]}]}}
    targets:
      - {id: path, destination: d2, input_path: "\$.detail"}
      - id: tpl
        destination: d2
        input_transformer:
          input_paths_map: {n: "\$.detail.n", s: "\$.detail.s"}
          input_template: '{"n": <n>, "s": <s>, "rule": <aws.events.rule-name>}'
      - {id: dyn, destination: d1, http_parameters: {path_parameter_values: ["\$.detail.s"], header_parameters: {X-N: "\$.detail.n"}, query_string_parameters: {s: "\$.detail.s"}}}
      - {id: whole, destination: d2}
archives:
  - {name: kept, event_pattern: {detail-type: [Tick]}}
YAML
"$bin" serve --config "$work/sy.yaml" --log-level warn &
sy_pid=$!
sleep 0.7
for d in d1 d2; do curl -s -X POST "http://127.0.0.1:18082/admin/destinations/$d/pause" >/dev/null; done
read -r rps p50 p99 bad < <(measure -s "$work/single.lua" "http://127.0.0.1:18081/buses/default/events")
[ "$bad" != 0 ] && echo "warning: $bad non-2xx answers" >&2
printf '%-34s %12.0f %12.0f %9s %9s %9.1f%%\n' "routed, 4 targets + archive" "$rps" "$rps" "$p50" "$p99" \
  "$(echo "100*$rps/$ceiling" | bc -l)"
kill "$sy_pid"; wait "$sy_pid" 2>/dev/null || true; sy_pid=

# Issue 14's realistic case: 100 rules, one of which matches each event, with
# one target; its destination is paused so delivery does not compete.
{
  echo "server: {listen: 127.0.0.1:18081, admin_listen: 127.0.0.1:18082}"
  echo "api_destinations: [{name: d1, endpoint: \"http://127.0.0.1:18080/x\"}]"
  echo "rules:"
  for i in $(seq 0 99); do
    source=other-$i
    [ "$i" = 0 ] && source=bench
    echo "  - {name: r$i, event_pattern: {source: [$source], detail-type: [Tick]}, targets: [{id: t, destination: d1}]}"
  done
} > "$work/rules100.yaml"
for sync in false true; do
  { cat "$work/rules100.yaml"; echo "storage: {path: $work/data-r100-$sync, sync: $sync}"; } > "$work/sy.yaml"
  "$bin" serve --config "$work/sy.yaml" --log-level warn &
  sy_pid=$!
  sleep 0.7
  curl -s -X POST "http://127.0.0.1:18082/admin/destinations/d1/pause" >/dev/null
  measure_kinds "100 rules, "
  kill "$sy_pid"; wait "$sy_pid" 2>/dev/null || true; sy_pid=
done
