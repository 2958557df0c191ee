#!/usr/bin/env bash
# Cluster mode's throughput on one machine, against the same ceiling as the
# other benchmarks (wrk -t1 -c16 against nginx answering a fixed 200), all
# on loopback: 3 nats-servers with JetStream, then
#   ingest:   single events (one matching target, its destination paused)
#             with 1 node and replicas 3, with 1 node and replicas 1 (the
#             cost of a replica), and with 3 nodes (wrk against each in turn)
#   delivery: the backlog ingest left, resumed and drained to nginx, with 1
#             and with 3 nodes (the destinations spread over the partitions)
#   archive:  ingest with every event archived too (1 node, replicas 3), and
#             a replay of that archive (events read, matched and stored
#             again per second, no pace limit)
# Needs Debian's wrk, nginx-light and nats-server.
#   tests/bench/run_cluster_bench.sh [SECONDS]   (default 10 per ingest run)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-10}
bin=${SWITCHYARD_BIN:-$root/build/bus/switchyard}
work=$(mktemp -d)
nats_pids=() sy_pids=()
stop_nodes() {
  for p in "${sy_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${sy_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  sy_pids=()
}
stop_nats() {
  for p in "${nats_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${nats_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  nats_pids=()
}
cleanup() {
  stop_nodes
  stop_nats
  [ -n "${nginx_pid:-}" ] && kill "$nginx_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

. "$root/tests/bench/nginx_receiver.sh"
start_nginx_receiver "$work"

cat > "$work/single.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"source":"bench","detail-type":"Tick","detail":{"n":' .. n .. '}}')
end
LUA

measure() {  # prints requests/s
  wrk -t1 -c16 -d"${secs}s" "$@" | awk '/Requests\/sec/ {print $2}'
}

start_nats() {  # a fresh 3-server JetStream cluster on ports 14222-14224
  rm -rf "$work/nats"
  local routes=nats://127.0.0.1:16222,nats://127.0.0.1:16223,nats://127.0.0.1:16224
  for i in 0 1 2; do
    nats-server -a 127.0.0.1 -n "b$i" -p $((14222 + i)) -m $((18222 + i)) -js -sd "$work/nats/$i" \
      --cluster_name bench --cluster "nats://127.0.0.1:$((16222 + i))" --routes "$routes" >/dev/null 2>&1 &
    nats_pids+=($!)
  done
  for _ in $(seq 100); do
    curl -fs http://127.0.0.1:18222/jsz | grep -q '"leader"' && return
    sleep 0.1
  done
}

# start_nodes N REPLICAS [ARCHIVE]: N Switchyard nodes, ingest on 1808x,
# admin 1809x; ARCHIVE=1 archives every event of the bus (archive "all").
start_nodes() {
  local n=$1 replicas=$2 archive=${3:-0}
  for i in $(seq 0 $((n - 1))); do
    cat > "$work/node$i.yaml" <<YAML
server: {listen: 127.0.0.1:$((18081 + i)), admin_listen: 127.0.0.1:$((18091 + i))}
cluster:
  node_id: bench$i
  nats: {servers: [nats://127.0.0.1:14222, nats://127.0.0.1:14223, nats://127.0.0.1:14224]}
  replicas: $replicas
  allow_single_replica: true
  partitions: 8
api_destinations:
$(for d in 0 1 2 3 4 5 6 7; do echo "  - {name: d$d, endpoint: \"http://127.0.0.1:18080/d$d\", rate_limit_per_second: 100000, max_concurrency: 64}"; done)
rules:
  - name: bench
    event_pattern: {source: [bench]}
    targets: [{id: t, destination: d0}]
$(if [ "$archive" = 1 ]; then echo "archives: [{name: all}]"; fi)
YAML
    "$bin" serve --config "$work/node$i.yaml" --log-level warn &
    sy_pids+=($!)
  done
  for i in $(seq 0 $((n - 1))); do
    for _ in $(seq 100); do
      curl -fs "http://127.0.0.1:$((18081 + i))/readyz" >/dev/null && break
      sleep 0.1
    done
  done
  sleep 3  # partitions taken and shared
}

pause() { curl -fs -X POST "http://127.0.0.1:18091/admin/destinations/$1/pause" >/dev/null; }
resume() { curl -fs -X POST "http://127.0.0.1:18091/admin/destinations/$1/resume" >/dev/null; }

delivered() {  # deliveries answered 2xx, summed over the running nodes' metrics
  local total=0 i
  for i in $(seq 0 $((${#sy_pids[@]} - 1))); do
    n=$(curl -fs "http://127.0.0.1:$((18091 + i))/metrics" |
      awk '/^switchyard_deliveries_delivered_total/ {s += $NF} END {printf "%d", s}')
    total=$((total + n))
  done
  echo "$total"
}

# drain N: resumes d0 and prints deliveries/s until N more were delivered.
drain() {
  local expected=$1 before start end
  before=$(delivered)
  start=$(date +%s.%N)
  resume d0
  while [ $(($(delivered) - before)) -lt "$expected" ]; do sleep 0.1; done
  end=$(date +%s.%N)
  echo "$expected / ($end - $start)" | bc -l
}

ceiling=$(measure http://127.0.0.1:18080/)
printf 'nginx fixed 200 (ceiling): %.0f requests/s\n\n' "$ceiling"
printf '%-44s %12s %10s\n' "run" "per second" "of nginx"
row() { printf '%-44s %12.0f %9.1f%%\n' "$1" "$2" "$(echo "100*$2/$ceiling" | bc -l)"; }

for replicas in 3 1; do
  start_nats
  start_nodes 1 "$replicas"
  pause d0
  sleep 1.5  # the pause reaches the owner
  rps=$(measure -s "$work/single.lua" http://127.0.0.1:18081/buses/default/events)
  row "ingest, 1 node, replicas $replicas" "$rps"
  if [ "$replicas" = 3 ]; then
    queued=$(echo "$rps * $secs / 1" | bc)
    row "delivery, 1 node (drain $queued)" "$(drain $((queued * 95 / 100)))"
  fi
  stop_nodes
  stop_nats
done

start_nats
start_nodes 3 3
pause d0
sleep 1.5
total=0
for i in 0 1 2; do  # one wrk after the other, each against its own node
  rps=$(measure -s "$work/single.lua" "http://127.0.0.1:$((18081 + i))/buses/default/events")
  total=$(echo "$total + $rps" | bc -l)
done
row "ingest, 3 nodes (average of the 3)" "$(echo "$total / 3" | bc -l)"
queued=$(echo "$total * $secs / 1" | bc)
row "delivery, 3 nodes (drain $queued)" "$(drain $((queued * 95 / 100)))"
stop_nodes
stop_nats

start_nats
start_nodes 1 3 1
pause d0
sleep 1.5
rps=$(measure -s "$work/single.lua" http://127.0.0.1:18081/buses/default/events)
row "ingest, 1 node, replicas 3, every event archived" "$rps"
archived=$(curl -fs http://127.0.0.1:18091/admin/archives | python3 -c 'import json,sys; print(json.load(sys.stdin)["archives"][0]["event_count"])')
from=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ) to=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
start=$(date +%s.%N)
curl -fs -X POST http://127.0.0.1:18091/admin/replays \
  -d "{\"name\":\"bench\",\"archive\":\"all\",\"start_time\":\"$from\",\"end_time\":\"$to\"}" >/dev/null
until curl -fs http://127.0.0.1:18091/admin/replays/bench | grep -q '"state":"COMPLETED"'; do sleep 0.2; done
end=$(date +%s.%N)
row "replay of the $archived archived events" "$(echo "$archived / ($end - $start)" | bc -l)"
