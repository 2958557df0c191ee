// Bus logs in the embedded store: positions in commit order, reads from a
// position, bounds, search by time, trimming and retention, and positions
// that never repeat across a restart.

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <set>
#include <thread>

#include "switchyard/storage/store.h"
#include "testing/temp_dir.h"

namespace switchyard::storage {
namespace {

LogEntry entry(const std::string& bus, const std::string& id, int64_t ingested_ms) {
  LogEntry e;
  e.bus = bus;
  e.event_id = id;
  e.ingested_ms = ingested_ms;
  e.data = R"({"id":")" + id + R"("})";
  return e;
}

// Appends the entries in one batch; returns their positions.
std::vector<uint64_t> append(Store& store, std::vector<LogEntry> entries) {
  auto batch = std::make_shared<IngestBatch>();
  batch->log = std::move(entries);
  std::promise<core::Status> done;
  store.append(batch, [&](core::Status st) { done.set_value(st); });
  EXPECT_TRUE(done.get_future().get());
  return batch->log_positions;
}

std::vector<std::string> ids(const std::vector<LogEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.event_id);
  return out;
}

class BusLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> open() {
    auto s = Store::open({.path = dir_.path()});
    EXPECT_TRUE(s) << s.status().message();
    return s ? std::move(*s) : nullptr;
  }
  testing::TempDir dir_;
};

TEST_F(BusLogTest, PositionsFollowAppendsPerBusAndReadsStartAnywhere) {
  auto store = open();
  EXPECT_EQ(*store->log_bounds("orders"), (LogBounds{1, 1}));
  EXPECT_EQ(append(*store, {entry("orders", "a", 100), entry("audit", "x", 100), entry("orders", "b", 200)}),
            (std::vector<uint64_t>{1, 1, 2}));
  EXPECT_EQ(append(*store, {entry("orders", "c", 300)}), (std::vector<uint64_t>{3}));
  EXPECT_EQ(*store->log_bounds("orders"), (LogBounds{1, 4}));
  EXPECT_EQ(*store->log_bounds("audit"), (LogBounds{1, 2}));

  auto all = store->read_log("orders", 1, 10);
  ASSERT_TRUE(all);
  EXPECT_EQ(ids(*all), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(all->at(2).position, 3u);
  EXPECT_EQ(all->at(1).data, R"({"id":"b"})");
  EXPECT_EQ(ids(*store->read_log("orders", 2, 1)), (std::vector<std::string>{"b"}));
  EXPECT_TRUE(store->read_log("orders", 4, 10)->empty());
  EXPECT_TRUE(store->read_log("nothing", 1, 10)->empty());
}

TEST_F(BusLogTest, EveryFieldOfAnEntryIsKept) {
  auto store = open();
  LogEntry e = entry("raw", "r1", 5);
  e.content_type = "application/octet-stream";
  e.data = std::string("\0\xff\x01 bytes", 9);
  e.metadata = {{"tenant", "acme"}, {"region", "eu"}};
  e.group_id = "order-1";
  e.dedup_id = "d-1";
  e.source = "shop";
  e.detail_type = "Order";
  e.trace_header = "Root=1-abc";
  e.via = {"upstream"};
  append(*store, {e});
  auto read = store->read_log("raw", 1, 1);
  ASSERT_TRUE(read);
  ASSERT_EQ(read->size(), 1u);
  e.position = 1;
  EXPECT_EQ(read->front(), e);
}

TEST_F(BusLogTest, PositionAtATimeFindsTheFirstEntryFromThen) {
  auto store = open();
  append(*store, {entry("b", "1", 1000), entry("b", "2", 2000), entry("b", "3", 3000), entry("b", "4", 4000)});
  EXPECT_EQ(*store->log_position_at("b", 0), 1u);
  EXPECT_EQ(*store->log_position_at("b", 2000), 2u);
  EXPECT_EQ(*store->log_position_at("b", 2001), 3u);
  EXPECT_EQ(*store->log_position_at("b", 9999), 5u);  // after everything: the next position
}

TEST_F(BusLogTest, TrimAndExpireRemoveTheOldestAndPositionsNeverRepeat) {
  {
    auto store = open();
    append(*store, {entry("b", "1", 1000), entry("b", "2", 2000), entry("b", "3", 3000), entry("b", "4", 4000)});
    ASSERT_TRUE(store->trim_log("b", 2));
    EXPECT_EQ(*store->log_bounds("b"), (LogBounds{2, 5}));
    auto expired = store->expire_log("b", 3500, 1);
    ASSERT_TRUE(expired);
    EXPECT_EQ(*expired, 2u);
    EXPECT_EQ(ids(*store->read_log("b", 1, 10)), (std::vector<std::string>{"4"}));
    ASSERT_TRUE(store->trim_log("b", 5));  // everything
    EXPECT_EQ(*store->log_bounds("b"), (LogBounds{5, 5}));
  }
  auto store = open();
  EXPECT_EQ(*store->log_bounds("b"), (LogBounds{5, 5}));
  EXPECT_EQ(append(*store, {entry("b", "5", 5000)}), (std::vector<uint64_t>{5}));
}

TEST_F(BusLogTest, ConcurrentAppendsGetDistinctPositionsInOrder) {
  auto store = open();
  constexpr int kThreads = 4, kEach = 50;
  std::vector<std::thread> threads;
  std::vector<std::vector<uint64_t>> got(kThreads);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto p = append(*store, {entry("b", std::to_string(t) + "-" + std::to_string(i), i)});
        got[t].push_back(p.at(0));
      }
    });
  for (auto& th : threads) th.join();
  std::set<uint64_t> all;
  for (const auto& g : got) {
    EXPECT_TRUE(std::is_sorted(g.begin(), g.end()));
    all.insert(g.begin(), g.end());
  }
  EXPECT_EQ(all.size(), size_t{kThreads * kEach});
  EXPECT_EQ(*all.rbegin(), uint64_t{kThreads * kEach});
  EXPECT_EQ(store->read_log("b", 1, 1000)->size(), size_t{kThreads * kEach});
}

}  // namespace
}  // namespace switchyard::storage
