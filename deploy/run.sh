#!/usr/bin/env bash
# Installs what is missing, builds, and runs Switchyard on the bundled example
# config with the embedded RocksDB store under ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/build.sh
exec ./build/bus/switchyard serve --config deploy/examples/switchyard.yaml --data-dir ./data "$@"
