#include "switchyard/bus/replay.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <future>
#include <thread>

#include "switchyard/config/config.h"
#include "switchyard/core/time.h"
#include "switchyard/destinations/dispatcher.h"
#include "switchyard/storage/store.h"
#include "testing/temp_dir.h"

namespace switchyard::bus {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<const Routing> routing_of(const std::string& yaml, prometheus::Registry& registry) {
  config::Config c;
  std::vector<config::ConfigError> errors;
  EXPECT_TRUE(config::load_text(yaml, "t.yaml", &c, &errors)) << (errors.empty() ? "" : errors[0].format());
  return build_routing(c, registry);
}

void archive(storage::Store& store, const std::string& name, const std::vector<int64_t>& ingested_ms) {
  auto batch = std::make_shared<storage::IngestBatch>();
  for (size_t i = 0; i < ingested_ms.size(); ++i) {
    core::Event e;
    e.id = "e" + std::to_string(i);
    e.source = "s";
    e.detail_type = "t";
    e.bus = "default";
    e.time = ingested_ms[i] / 1000;
    e.ingested_ms = ingested_ms[i];
    batch->events.push_back(e);
    batch->archived.emplace_back(name, i);
  }
  std::promise<core::Status> done;
  store.append(batch, [&](core::Status st) { done.set_value(st); });
  ASSERT_TRUE(done.get_future().get());
}

TEST(ReplayerTest, RemovesArchivedEventsPastTheirRetentionAndKeepsTheRest) {
  testing::TempDir dir;
  auto opened = storage::Store::open({.path = dir.path()});
  ASSERT_TRUE(opened) << opened.status().message();
  std::unique_ptr<storage::Store> store = std::move(*opened);
  prometheus::Registry registry;
  const int64_t now = core::now_ms(), day = 86'400'000;
  archive(*store, "month", {now - 40 * day, now - 31 * day, now - 29 * day, now});
  archive(*store, "forever", {now - 400 * day, now});
  destinations::Dispatcher dispatcher(destinations::Options{}, *store, registry);
  Replayer::Options options;
  options.retention_interval_ms = 20;
  Replayer replayer(options, *store, dispatcher, registry);
  replayer.set_routing(routing_of("archives: [{name: month, retention_days: 30}, {name: forever}]\n", registry));
  replayer.start();
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (store->archive_stats("month").events != 2 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(store->archive_stats("month").events, 2u);
  EXPECT_EQ(store->archive_stats("forever").events, 2u);  // retention 0 keeps everything
  const auto left = *store->read_archive("month", 0, now / 1000 + 1, "", 10);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].ingested_ms, now - 29 * day);
  // The same pass removes accepted events older than 25 hours (the archive
  // keeps its own copy of the 29-day-old one).
  EXPECT_EQ(store->event_envelope(now - 29 * day, "e2").status().code(), core::Code::kNotFound);
  EXPECT_TRUE(store->event_envelope(now, "e3"));
  replayer.stop();
}

// Issue 13.3: retention runs on the injected clock. Two days later (on a
// ManualClock, without waiting) the event that was 29 days old is past a
// 30-day retention and goes; the newer one stays.
TEST(ReplayerTest, RetentionFollowsTheInjectedClock) {
  auto opened = storage::Store::open({.path = "/replay-clock", .in_memory = true});
  ASSERT_TRUE(opened) << opened.status().message();
  std::unique_ptr<storage::Store> store = std::move(*opened);
  prometheus::Registry registry;
  core::ManualClock clock;
  const int64_t now = clock.wall_ms(), day = 86'400'000;
  archive(*store, "month", {now - 40 * day, now - 29 * day, now});
  destinations::Dispatcher dispatcher(destinations::Options{}, *store, registry, clock);
  Replayer::Options options;
  options.retention_interval_ms = 60'000;  // the real interval: only the manual clock moves it
  Replayer replayer(options, *store, dispatcher, registry, clock);
  replayer.set_routing(routing_of("archives: [{name: month, retention_days: 30}]\n", registry));
  replayer.start();
  auto events_eventually = [&](uint64_t n) {
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (store->archive_stats("month").events != n && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(2ms);
    return store->archive_stats("month").events;
  };
  EXPECT_EQ(events_eventually(2), 2u);  // the first pass at start: 40 days is past 30
  clock.advance(2 * day);
  EXPECT_EQ(events_eventually(1), 1u);
  const auto left = *store->read_archive("month", 0, (now + 3 * day) / 1000, "", 10);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].ingested_ms, now);
  replayer.stop();
}

TEST(ReplayerTest, ReplayIsRefusedForUnknownArchivesAndTooManyActive) {
  testing::TempDir dir;
  auto opened = storage::Store::open({.path = dir.path()});
  ASSERT_TRUE(opened) << opened.status().message();
  std::unique_ptr<storage::Store> store = std::move(*opened);
  prometheus::Registry registry;
  archive(*store, "a", {1000});
  destinations::Dispatcher dispatcher(destinations::Options{}, *store, registry);
  Replayer::Options options;
  options.max_events_per_second = 1;  // replays stay RUNNING while the test looks
  Replayer replayer(options, *store, dispatcher, registry);
  replayer.set_routing(routing_of("archives: [{name: a}]\n", registry));
  EXPECT_EQ(replayer.start_replay({"x", "nope", 0, 1000, {}, ""}).code, "ValidationException");
  EXPECT_EQ(replayer.start_replay({"bad name", "a", 0, 1000, {}, ""}).code, "ValidationException");
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(replayer.start_replay({"r" + std::to_string(i), "a", 0, 1000, {}, ""}).http_status, 0);
  const auto eleventh = replayer.start_replay({"r10", "a", 0, 1000, {}, ""});
  EXPECT_EQ(eleventh.http_status, 400);
  EXPECT_EQ(eleventh.code, "LimitExceededException");
  EXPECT_EQ(replayer.cancel("r0").status.state, "CANCELLING");
  EXPECT_EQ(replayer.cancel("missing").code, "ResourceNotFoundException");
}

}  // namespace
}  // namespace switchyard::bus
