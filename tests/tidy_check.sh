#!/usr/bin/env bash
# The naming rules of .clang-tidy, as errors, over every production source
# file (tests and benchmarks follow GoogleTest's naming and are left out).
#   tests/tidy_check.sh BUILD_DIR   (needs its compile_commands.json)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
tidy=$(command -v clang-tidy-14 || command -v clang-tidy || true)
if [ -z "$tidy" ]; then
  echo "tidy: clang-tidy is not installed (deploy/install-deps.sh installs it)" >&2
  exit 1
fi
cd "$root"
files=$(git ls-files 'bus/*.cc' 'rules/*.cc' 'storage/*.cc' 'destinations/*.cc' 2>/dev/null || \
  find bus rules storage destinations -name '*.cc')
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# GCC-only flags are dropped; only the naming check runs, as an error.
echo "$files" | xargs -P2 -n4 "$tidy" -p "$build" --quiet --checks='-*,readability-identifier-naming' \
  --warnings-as-errors='readability-identifier-naming' --extra-arg=-Wno-unknown-warning-option \
  --extra-arg=-Wno-unused-command-line-argument >"$out" 2>&1 || { grep -E "error:|warning:" "$out" | sort -u; exit 1; }
echo "tidy: $(echo "$files" | wc -w) files named as .clang-tidy says"
