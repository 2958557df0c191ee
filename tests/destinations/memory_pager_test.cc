// The memory pager over an in-memory store: caps on count and bytes, paging
// a backlog in page by page, and picking up what was stored behind the cursor.

#include "memory_pager.h"

#include <gtest/gtest.h>

#include <future>

#include "switchyard/storage/store.h"

namespace switchyard::destinations {
namespace {

core::DeliveryTask task(const std::string& id, int64_t due, size_t body_bytes = 10) {
  core::DeliveryTask t;
  t.id = id;
  t.event_id = "e-" + id;
  t.destination = "d";
  t.body = std::string(body_bytes, 'x');
  t.due_ms = due;
  t.ingested_ms = due;
  return t;
}

class MemoryPagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = storage::Store::open({.path = "/pager", .in_memory = true});
    ASSERT_TRUE(opened) << opened.status().message();
    store_ = std::move(*opened);
  }
  void store(std::vector<core::DeliveryTask> tasks) {
    auto batch = std::make_shared<storage::IngestBatch>();
    batch->tasks = std::move(tasks);
    std::promise<core::Status> done;
    store_->append(batch, [&](core::Status st) { done.set_value(st); });
    ASSERT_TRUE(done.get_future().get());
  }
  std::unique_ptr<storage::Store> store_;
};

TEST_F(MemoryPagerTest, AdmitsUpToTheCountCapThenLeavesTheRestOnDisk) {
  MemoryPager pager({.per_destination = 2, .bytes_per_destination = 1 << 20, .bytes_total = 1 << 20});
  Holding h;
  EXPECT_TRUE(pager.admit(h, task("a", 1)));
  EXPECT_TRUE(pager.admit(h, task("b", 2)));
  EXPECT_FALSE(pager.admit(h, task("c", 3)));
  EXPECT_TRUE(h.on_disk);
  EXPECT_EQ(h.known.size(), 2u);
  EXPECT_EQ(h.oldest_ingested_ms(), 1);
  pager.forget(h, "a");
  EXPECT_EQ(h.oldest_ingested_ms(), 2);
  EXPECT_EQ(pager.bytes(), h.bytes);
}

TEST_F(MemoryPagerTest, BytesAreCappedPerDestinationAndOverall) {
  const size_t one = core::task_memory_bytes(task("a", 1, 1000));
  MemoryPager pager(
      {.per_destination = 100, .bytes_per_destination = 2 * one + one / 2, .bytes_total = 3 * one + one / 2});
  Holding h, other;
  EXPECT_TRUE(pager.admit(h, task("a", 1, 1000)));
  EXPECT_TRUE(pager.admit(h, task("b", 2, 1000)));
  EXPECT_FALSE(pager.admit(h, task("c", 3, 1000))) << "over the destination's bytes";
  EXPECT_TRUE(pager.admit(other, task("x", 1, 1000))) << "an empty destination always takes one";
  EXPECT_FALSE(pager.admit(other, task("y", 2, 1000))) << "over the total";
}

TEST_F(MemoryPagerTest, ABacklogIsPagedInAndDrainedIncludingWhatLandsBehindTheCursor) {
  std::vector<core::DeliveryTask> backlog;
  for (int i = 0; i < 10; ++i) backlog.push_back(task("t" + std::to_string(i), 100 + i));
  store(backlog);
  MemoryPager pager({.per_destination = 4, .bytes_per_destination = 1 << 20, .bytes_total = 1 << 20});
  Holding h;
  h.on_disk = true;
  auto page = pager.refill("d", h, *store_);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 4u);
  EXPECT_EQ(page->front().id, "t0");
  EXPECT_TRUE(pager.refill("d", h, *store_)->empty()) << "memory is full: no page";
  // Three delivered: under half, the next page continues after the cursor.
  for (const char* id : {"t0", "t1", "t2"}) pager.forget(h, id);
  ASSERT_TRUE(store_->finish_tasks({backlog[0], backlog[1], backlog[2]}));
  page = pager.refill("d", h, *store_);
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ(page->front().id, "t4");
  store({task("behind", 50)});  // stored before the cursor (a redrive, say)
  for (auto& t : *page) pager.forget(h, t.id);
  pager.forget(h, "t3");
  for (int i = 3; i < 7; ++i) ASSERT_TRUE(store_->finish_task(backlog[i]));
  std::vector<std::string> rest;
  for (int round = 0; round < 4 && h.on_disk; ++round) {
    auto page_now = pager.refill("d", h, *store_);
    ASSERT_TRUE(page_now);
    for (auto& t : *page_now) {
      rest.push_back(t.id);
      pager.forget(h, t.id);
      ASSERT_TRUE(store_->finish_task(t));
    }
  }
  EXPECT_FALSE(h.on_disk);
  EXPECT_EQ(rest, (std::vector<std::string>{"t7", "t8", "t9", "behind"}));
}

}  // namespace
}  // namespace switchyard::destinations
