#!/usr/bin/env bash
# Installs what is missing and builds Switchyard into ./build (Release).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
generator=()
# An existing build directory keeps the generator it was made with.
if [ ! -f build/CMakeCache.txt ] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)"
