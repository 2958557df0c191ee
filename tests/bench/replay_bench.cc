// Replay benchmark: events per second read from an archive, matched and
// turned into stored deliveries by a replay, with N archived events.
//
//   replay_bench [EVENTS]   (default 1000000)
//
// One rule on the bus matches one event in ten (source "s0"); its deliveries
// are stored (the destination is not started, so nothing is sent).
#include <prometheus/registry.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <iostream>
#include <thread>

#include "switchyard/bus/replay.h"
#include "switchyard/bus/routing.h"
#include "switchyard/config/config.h"
#include "switchyard/core/time.h"
#include "switchyard/destinations/dispatcher.h"
#include "switchyard/storage/store.h"

namespace sy = switchyard;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 1000000;
  const auto dir = std::filesystem::temp_directory_path() / ("switchyard-replay-bench-" + std::to_string(getpid()));
  auto opened = sy::storage::Store::open({.path = dir.string(), .min_free_bytes = 0});
  if (!opened) {
    std::cerr << opened.status().message() << "\n";
    return 1;
  }
  std::unique_ptr<sy::storage::Store> store = std::move(*opened);
  sy::config::Config config;
  std::vector<sy::config::ConfigError> errors;
  const char* yaml = R"(
api_destinations: [{name: d, endpoint: "http://127.0.0.1:9/x"}]
archives: [{name: a}]
rules:
  - name: one-in-ten
    event_pattern: {source: [s0], detail: {amount: [{numeric: [">", 10]}]}}
    targets: [{id: t, destination: d}]
)";
  if (!sy::config::load_text(yaml, "bench.yaml", &config, &errors)) {
    std::cerr << errors[0].format() << "\n";
    return 1;
  }
  prometheus::Registry registry;
  const auto routing = sy::bus::build_routing(config, registry);

  // Archive `count` events, one second of event time apart, in batches as ingest would.
  const auto fill_start = std::chrono::steady_clock::now();
  const int64_t t0 = 1'700'000'000;
  constexpr int kBatch = 5000;
  for (int done = 0; done < count;) {
    auto batch = std::make_shared<sy::storage::IngestBatch>();
    for (int i = 0; i < kBatch && done < count; ++i, ++done) {
      sy::core::Event e;
      e.id = "00000000-0000-4000-8000-" + std::to_string(100000000000 + done);
      e.source = "s" + std::to_string(done % 10);
      e.detail_type = "OrderPlaced";
      e.account = "111122223333";
      e.region = "eu-west-1";
      e.time = t0 + done;
      e.detail = R"({"amount":)" + std::to_string(done % 100) + R"(,"customer":{"id":"c-)" + std::to_string(done) +
                 R"(","tier":"gold"},"items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}]})";
      e.bus = "default";
      e.ingested_ms = sy::core::now_ms();
      batch->events.push_back(std::move(e));
      batch->archived.emplace_back("a", batch->events.size() - 1);
    }
    std::promise<sy::core::Status> p;
    store->append(batch, [&](sy::core::Status st) { p.set_value(st); });
    if (!p.get_future().get()) {
      std::cerr << "cannot store the events\n";
      return 1;
    }
  }
  const double fill_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - fill_start).count();

  sy::destinations::Dispatcher dispatcher(sy::destinations::Options{}, *store, registry);  // not started
  sy::bus::Replayer replayer(sy::bus::Replayer::Options{}, *store, dispatcher, registry);
  replayer.set_routing(routing);
  replayer.start();
  const auto start = std::chrono::steady_clock::now();
  const auto answer = replayer.start_replay({"bench", "a", t0 * 1000, (t0 + count) * 1000, {}, ""});
  if (answer.http_status != 0) {
    std::cerr << answer.message << "\n";
    return 1;
  }
  for (;;) {
    std::this_thread::sleep_for(5ms);
    const auto s = replayer.get("bench");
    if (s && s->state != "STARTING" && s->state != "RUNNING") break;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto s = *replayer.get("bench");
  replayer.stop();
  std::printf(
      "archived=%d archive_write_seconds=%.2f replay_state=%s events_replayed=%llu deliveries_stored=%llu "
      "seconds=%.3f events_per_second=%.0f\n",
      count, fill_s, s.state.c_str(), static_cast<unsigned long long>(s.events_replayed),
      static_cast<unsigned long long>(*store->count_tasks()), secs, s.events_replayed / secs);
  store.reset();
  std::filesystem::remove_all(dir);
  return s.state == "COMPLETED" && s.events_replayed == static_cast<uint64_t>(count) ? 0 : 1;
}
