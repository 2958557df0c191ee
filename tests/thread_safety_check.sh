#!/usr/bin/env bash
# Proves the locking the code declares: every file that uses core::Mutex
# (core/mutex.h) is compiled by clang with -Wthread-safety as errors, so a
# member marked SY_GUARDED_BY(mu) touched without mu held fails the suite.
#   tests/thread_safety_check.sh BUILD_DIR   (needs its compile_commands.json)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
clang=$(command -v clang++-14 || command -v clang++ || true)
if [ -z "$clang" ]; then
  echo "thread-safety: clang++ is not installed (deploy/install-deps.sh installs clang)" >&2
  exit 1
fi
cd "$root"
files=$(grep -rlE 'core/mutex.h|dispatcher_impl.h|rocks_store.h|disk_guard.h|core/clock.h' \
  --include='*.cc' bus destinations storage rules | sort)
python3 - "$build/compile_commands.json" "$clang" $files <<'PY' | xargs -0 -P2 -n1 bash -c
import json, shlex, sys
db = {e["file"]: e for e in json.load(open(sys.argv[1]))}
clang = sys.argv[2]
import os
for f in sys.argv[3:]:
    e = db.get(os.path.abspath(f))
    if not e:
        continue
    args = shlex.split(e["command"])[1:]
    keep, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MT", "-c"):
            skip = a != "-c"
            continue
        if a in ("-MD", "-Wno-restrict") or a.startswith("-fsanitize"):
            continue
        keep.append(a)
    cmd = [clang, "-fsyntax-only", "-Wthread-safety", "-Werror=thread-safety", "-Wno-unknown-warning-option"] + keep
    sys.stdout.write("cd %s && %s\0" % (shlex.quote(e["directory"]), " ".join(shlex.quote(c) for c in cmd)))
PY
echo "thread-safety: $(echo "$files" | wc -w) files checked"
