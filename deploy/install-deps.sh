#!/usr/bin/env bash
# Installs what Switchyard needs to build, test and run on Debian 12.
# Idempotent; run as root. Everything comes from Debian's own packages.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev            # Asio + Beast (header-only)
  libcurl4-openssl-dev        # delivery
  librocksdb-dev              # embedded store
  nlohmann-json3-dev          # JSON
  prometheus-cpp-dev          # metrics
  libyaml-cpp-dev             # configuration
  libssl-dev                  # HMAC/SHA-256 for webhook signatures and SigV4
  libcli11-dev                # the command line
  libgtest-dev libgmock-dev   # unit tests
  clang-format                # the style test (tests/style_check.sh)
  clang-14 clang-tidy-14      # thread-safety analysis and naming (tests/thread_safety_check.sh, tidy_check.sh)
  libbenchmark-dev            # benchmarks
  wrk nginx-light bc          # ingest benchmark (tests/bench/run_ingest_bench.sh)
  python3 curl                # end-to-end tests, quickstart
  awscli python3-boto3        # PutEvents compatibility tests (AWS CLI v2, boto3)
  python3-jsonschema python3-yaml   # deploy kit tests: the config JSON Schema
  faketime                    # clock-step test (tests/e2e/test_clock.py)
  prometheus                  # promtool: the deploy test checks the scrape config and alerts
  nats-server libnats-dev     # cluster mode's engine, JetStream, and its C client (tests start real servers)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"

# Debian's nats-server package enables and starts a server on port 4222.
# Switchyard's default mode needs no second service: it is installed for
# cluster mode and its tests (which start their own servers on free ports),
# so a service this script just installed is stopped and disabled.
if printf '%s\n' "${missing[@]}" | grep -qx nats-server && [ -d /run/systemd/system ]; then
  systemctl disable --now nats-server.service >/dev/null 2>&1 || true
  echo "install-deps: nats-server is installed for cluster mode; its system service is left disabled"
fi
