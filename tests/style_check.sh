#!/usr/bin/env bash
# The style enforces itself: every C++ file git tracks must be exactly as
# clang-format (.clang-format at the top) writes it. Fix with
#   git ls-files '*.cc' '*.h' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cc' '*.h')
if ! clang-format --dry-run --Werror $files; then
  echo "style: the files above differ from clang-format's output" >&2
  exit 1
fi
echo "style: $(echo "$files" | wc -w) files as clang-format writes them"
