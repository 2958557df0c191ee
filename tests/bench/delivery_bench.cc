// Delivery benchmark: deliveries per second from the durable queue to a fast
// local receiver, with D destinations, and memory with a large backlog.
//
//   delivery_bench throughput URL DESTINATIONS DELIVERIES [RATE]
// throughput: destination dI is URL/dI with a quota of RATE a second
// (default 100,000: above what one destination reaches here).
//   delivery_bench backlog DELIVERIES
//   delivery_bench latency RATE SECONDS
// latency: events handed over at RATE a second (stored first, as ingest
// does) to one destination, a receiver in this process stamping arrivals:
// the added delivery latency (handed over -> request at the receiver).
// TRANSPORT_THREADS=N in the environment sets Options::transport_threads
// (default 2), to measure how delivery scales with transport threads.
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "switchyard/core/time.h"
#include "switchyard/destinations/dispatcher.h"
#include "switchyard/storage/store.h"
#include "testing/http_receiver.h"

namespace sy = switchyard;
using namespace std::chrono_literals;

namespace {

long rss_kb() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

void store_tasks(sy::storage::Store& store, int count, int destinations) {
  const int64_t now = sy::core::now_ms();
  constexpr int kBatch = 5000;
  for (int done = 0; done < count;) {
    auto batch = std::make_shared<sy::storage::IngestBatch>();
    for (int i = 0; i < kBatch && done < count; ++i, ++done) {
      sy::core::DeliveryTask t;
      t.id = "msg_" + std::to_string(done);
      t.event_id = "e" + std::to_string(done);
      t.destination = "d" + std::to_string(done % destinations);
      t.body = R"({"version":"0","id":"e","detail-type":"Tick","source":"bench","detail":{"n":1}})";
      t.ingested_ms = t.due_ms = now;
      batch->tasks.push_back(std::move(t));
    }
    std::promise<sy::core::Status> p;
    store.append(batch, [&](sy::core::Status st) { p.set_value(st); });
    if (!p.get_future().get()) {
      std::cerr << "cannot store the tasks\n";
      std::exit(1);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr
        << "usage: delivery_bench throughput URL DESTINATIONS DELIVERIES [RATE] | backlog DELIVERIES | latency RATE "
           "SECONDS\n";
    return 2;
  }
  const std::string mode = argv[1];
  const auto dir = std::filesystem::temp_directory_path() / ("switchyard-bench-" + std::to_string(getpid()));
  auto opened = sy::storage::Store::open({.path = dir.string(), .min_free_bytes = 0});
  if (!opened) {
    std::cerr << opened.status().message() << "\n";
    return 1;
  }
  std::unique_ptr<sy::storage::Store> store = std::move(*opened);
  prometheus::Registry registry;
  sy::destinations::Options options;
  if (const char* n = std::getenv("TRANSPORT_THREADS")) options.transport_threads = std::atoi(n);
  if (mode == "throughput" && (argc == 5 || argc == 6)) {
    const std::string url = argv[2];
    const int destinations = std::atoi(argv[3]), count = std::atoi(argv[4]);
    const int rate = argc == 6 ? std::atoi(argv[5]) : 100000;
    store_tasks(*store, count, destinations);
    sy::destinations::Dispatcher d(options, *store, registry);
    std::vector<sy::destinations::Destination> dests;
    for (int i = 0; i < destinations; ++i) {
      sy::destinations::Destination dest;
      dest.name = "d" + std::to_string(i);
      dest.endpoint = url + "/" + dest.name;
      dest.rate_limit_per_second = static_cast<uint32_t>(rate);
      dest.max_concurrency = 64;
      dests.push_back(dest);
    }
    d.set_destinations(dests);
    const auto start = std::chrono::steady_clock::now();
    d.start();
    uint64_t done = 0, dead = 0;
    while (done < static_cast<uint64_t>(count)) {  // the dispatcher's own counters: no scan of the store
      std::this_thread::sleep_for(5ms);
      done = dead = 0;
      for (const auto& s : d.stats()) {
        done += s.delivered + s.dead_lettered;
        dead += s.dead_lettered;
      }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    d.stop();
    if (*store->count_tasks() != 0) {
      std::cerr << "deliveries were counted but are still stored\n";
      return 1;
    }
    std::printf("destinations=%d deliveries=%d seconds=%.3f deliveries_per_second=%.0f dead_lettered=%llu\n",
                destinations, count, secs, count / secs, static_cast<unsigned long long>(dead));
  } else if (mode == "backlog") {
    const int count = std::atoi(argv[2]);
    store_tasks(*store, count, 1);
    const long before = rss_kb();
    sy::destinations::Dispatcher d(options, *store, registry);  // d0 is not configured: everything waits
    d.start();
    std::this_thread::sleep_for(2s);
    uint64_t held = 0;
    for (const auto& s : d.stats()) held += s.queued;
    std::printf("backlog=%d stored=%llu held_in_memory=%llu rss_before_start_mb=%.1f rss_with_backlog_mb=%.1f\n", count,
                static_cast<unsigned long long>(*store->count_tasks()), static_cast<unsigned long long>(held),
                before / 1024.0, rss_kb() / 1024.0);
  } else if (mode == "latency" && argc == 4) {
    const int rate = std::atoi(argv[2]), seconds = std::atoi(argv[3]);
    sy::testing::HttpReceiver rx;
    sy::destinations::Dispatcher d(options, *store, registry);
    sy::destinations::Destination dest;
    dest.name = "d0";
    dest.endpoint = rx.url("/in");
    dest.rate_limit_per_second = static_cast<uint32_t>(rate) * 2;
    d.set_destinations({dest});
    d.start();
    std::map<std::string, std::chrono::steady_clock::time_point> handed;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < rate * seconds; ++i) {
      std::this_thread::sleep_until(start + std::chrono::microseconds(int64_t{1000000} * i / rate));
      sy::core::DeliveryTask t;
      t.id = "msg_" + std::to_string(i);
      t.event_id = "e" + std::to_string(i);
      t.destination = "d0";
      t.body = R"({"version":"0","id":"e","detail-type":"Tick","source":"bench","detail":{"n":1}})";
      t.ingested_ms = t.due_ms = sy::core::now_ms();
      auto batch = std::make_shared<sy::storage::IngestBatch>();
      batch->tasks.push_back(t);
      std::promise<sy::core::Status> p;
      store->append(batch, [&](sy::core::Status st) { p.set_value(st); });
      if (!p.get_future().get()) return 1;
      handed[t.id] = std::chrono::steady_clock::now();  // accepted: stored, as ingest answers then
      d.submit({t});
    }
    const auto got = rx.wait_for(handed.size(), 30s);
    std::vector<double> ms;
    for (const auto& r : got)
      ms.push_back(std::chrono::duration<double, std::milli>(r.at - handed.at(r.headers.at("webhook-id"))).count());
    std::sort(ms.begin(), ms.end());
    auto pct = [&](double p) { return ms.empty() ? 0.0 : ms[std::min(ms.size() - 1, size_t(p * ms.size()))]; };
    std::printf("rate=%d seconds=%d delivered=%zu latency_ms_p50=%.2f p99=%.2f max=%.2f\n", rate, seconds, ms.size(),
                pct(0.50), pct(0.99), ms.empty() ? 0.0 : ms.back());
    d.stop();
  } else {
    std::cerr << "unknown mode\n";
    return 2;
  }
  store.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
