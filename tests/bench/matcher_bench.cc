// Matcher throughput on CityLots2-shaped events: single thread, raw JSON
// text in, match list out. Each pattern file given on the command line
// becomes one benchmark; see run_matcher_bench.sh.
//
//   matcher_bench EVENTS.jsonl PATTERNS.jsonl... [--benchmark_* flags]
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "switchyard/rules/matcher.h"

namespace {

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::vector<std::string> g_events;

void run(benchmark::State& state, const std::string& pattern_file) {
  const auto lines = read_lines(pattern_file);
  const size_t before = mallinfo2().uordblks;
  switchyard::rules::MatcherBuilder builder;
  for (const auto& line : lines) {
    const auto named = switchyard::rules::parse_named_pattern(line);
    const auto added = named ? builder.add(named->pattern_json) : named.status();
    if (!added) {
      state.SkipWithError(("bad pattern line: " + added.message()).c_str());
      return;
    }
  }
  auto matcher = builder.build();
  const size_t after = mallinfo2().uordblks;
  std::vector<uint32_t> ids;
  size_t i = 0, matches = 0;
  for (auto _ : state) {
    (void)matcher->match(g_events[i], ids);
    matches += ids.size();
    benchmark::DoNotOptimize(ids.data());
    if (++i == g_events.size()) i = 0;
  }
  state.counters["events_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["matches_per_event"] = static_cast<double>(matches) / static_cast<double>(state.iterations());
  state.counters["rules"] = static_cast<double>(matcher->size());
  state.counters["matcher_bytes"] = static_cast<double>(after - before);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (argc < 3) {
    std::cerr << "usage: matcher_bench EVENTS.jsonl PATTERNS.jsonl... [--benchmark_* flags]\n";
    return 2;
  }
  g_events = read_lines(argv[1]);
  if (g_events.empty()) {
    std::cerr << "no events in " << argv[1] << "\n";
    return 2;
  }
  for (int a = 2; a < argc; ++a) {
    const std::string file = argv[a];
    benchmark::RegisterBenchmark(std::filesystem::path(file).stem().c_str(),
                                 [file](benchmark::State& s) { run(s, file); });
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
