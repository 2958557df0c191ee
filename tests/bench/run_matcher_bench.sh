#!/usr/bin/env bash
# Runs the matcher benchmark on CityLots2-shaped events and prints, for each
# rule set, the Google Benchmark figure and `switchyard match --stats` on the
# same files.
#   tests/bench/run_matcher_bench.sh [EVENT_COUNT]   (default 213068, the full CityLots2 size)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${SHARED_BENCH_DATA:-$root/../shared/bench-data}
count=${1:-213068}
work=${BENCH_DIR:-$root/build/bench-data}
mkdir -p "$work"
if [ ! -s "$work/citylots2-$count.jsonl" ]; then
  python3 "$data/gen_citylots.py" --count "$count" > "$work/citylots2-$count.jsonl"
fi
events="$work/citylots2-$count.jsonl"
python3 "$root/tests/bench/make_rules.py" "$data/citylots2-patterns.jsonl" "$events" "$work/rules"
files=$(ls "$work"/rules/set-*.jsonl; ls "$work"/rules/gen-*.jsonl)
"$root/build/tests/matcher_bench" "$events" $files --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true --benchmark_min_time=0.5 2>&1 | grep -E "median|^Run|^---|^Bench" || true
echo
echo "switchyard match --stats (whole file, one pass):"
for f in $files; do
  printf '%-34s ' "$(basename "$f" .jsonl)"
  "$root/build/bus/switchyard" match --patterns "$f" --events "$events" --stats 2>&1 >/dev/null
done
