#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: unit tests
# of every component and the end-to-end tests against the real binary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 600
