#!/usr/bin/env bash
# A 3-node Switchyard cluster on this machine, to try cluster mode: three
# nats-servers with JetStream (client ports 4222-4224, monitoring 8222-8224)
# and three Switchyard nodes (ingest 8080/8090/8100, admin 8081/8091/8101),
# all on 127.0.0.1, with their data and logs under ./cluster-data. Ctrl-C
# stops them all. Kill any one of them (kill -9 PID) and see every event
# acknowledged before still delivered (README "Running a cluster").
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/build.sh >/dev/null
dir=${CLUSTER_DIR:-./cluster-data}
mkdir -p "$dir"
nats=() nodes=()
cleanup() {  # the nodes first (they hand their partitions over), then the servers
  kill "${nodes[@]}" 2>/dev/null || true
  wait "${nodes[@]}" 2>/dev/null || true
  kill "${nats[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

routes=nats://127.0.0.1:6222,nats://127.0.0.1:6223,nats://127.0.0.1:6224
for i in 0 1 2; do
  nats-server -a 127.0.0.1 -n "n$i" -p $((4222 + i)) -m $((8222 + i)) -js -sd "$dir/nats$i" \
    --cluster_name switchyard --cluster "nats://127.0.0.1:$((6222 + i))" --routes "$routes" \
    >"$dir/nats$i.log" 2>&1 &
  nats+=($!)
  echo "nats-server n$i   pid $!   nats://127.0.0.1:$((4222 + i))"
done
for _ in $(seq 100); do  # JetStream is usable once the servers elected a meta leader
  curl -fs http://127.0.0.1:8222/jsz | grep -q '"leader"' && break
  sleep 0.1
done

for i in 0 1 2; do
  sed -e "s/NODE_ID/node$i/" -e "s/INGEST_PORT/$((8080 + 10 * i))/" -e "s/ADMIN_PORT/$((8081 + 10 * i))/" \
    deploy/cluster/switchyard-node.yaml >"$dir/node$i.yaml"
  ./build/bus/switchyard serve --config "$dir/node$i.yaml" >"$dir/node$i.log" 2>&1 &
  nodes+=($!)
  echo "switchyard node$i pid $!   ingest http://127.0.0.1:$((8080 + 10 * i))   admin http://127.0.0.1:$((8081 + 10 * i))"
done
echo "logs in $dir; Ctrl-C stops everything"
wait
