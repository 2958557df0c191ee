// What storage.sync promises, proved with a power loss: the store runs on a
// file system that drops every write not synced when the power goes
// (testing/fault_fs.h). With sync on, every acknowledged event survives;
// with sync off, acknowledged events can be lost, as the option documents.

#include <rocksdb/env.h>

#include <gtest/gtest.h>

#include <future>

#include "switchyard/storage/store.h"
#include "testing/fault_fs.h"
#include "testing/temp_dir.h"

namespace switchyard::storage {
namespace {

constexpr int kBatches = 50;

struct AfterPowerLoss {
  int acknowledged = 0;
  uint64_t events = 0;
  uint64_t tasks = 0;
  uint64_t dropped_bytes = 0;
};

AfterPowerLoss store_then_lose_power(bool sync) {
  testing::TempDir dir;
  auto fs = std::make_shared<testing::FaultFs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  AfterPowerLoss out;
  {
    auto opened = Store::open({.path = dir.path(), .sync = sync, .env = env.get()});
    EXPECT_TRUE(opened) << opened.status().message();
    if (!opened) return out;
    std::unique_ptr<Store> store = std::move(*opened);
    for (int i = 0; i < kBatches; ++i) {
      auto batch = std::make_shared<IngestBatch>();
      core::Event e;
      e.id = "e" + std::to_string(i);
      e.source = "s";
      e.detail_type = "t";
      e.bus = "default";
      e.ingested_ms = 1000 + i;
      e.time = 1;
      batch->events.push_back(e);
      core::DeliveryTask t;
      t.id = "t" + std::to_string(i);
      t.event_id = e.id;
      t.destination = "d";
      t.body = "{}";
      t.ingested_ms = t.due_ms = e.ingested_ms;
      batch->tasks.push_back(t);
      std::promise<core::Status> done;
      store->append(batch, [&](core::Status st) { done.set_value(std::move(st)); });
      if (done.get_future().get()) ++out.acknowledged;  // the client has its 200 now
    }
    fs->crash();  // the power goes; closing the store below writes nothing more
  }
  out.dropped_bytes = fs->drop_unsynced();
  auto reopened = Store::open({.path = dir.path()});
  EXPECT_TRUE(reopened) << reopened.status().message();
  if (!reopened) return out;
  out.tasks = (*reopened)->count_tasks().value_or(0);
  EXPECT_TRUE((*reopened)->scan_events(0, INT64_MAX, [&](const std::string&) {
    ++out.events;
    return true;
  }));
  return out;
}

TEST(StoreDurabilityTest, WithSyncEveryAcknowledgedEventSurvivesAPowerLoss) {
  const AfterPowerLoss r = store_then_lose_power(true);
  ASSERT_EQ(r.acknowledged, kBatches);
  EXPECT_EQ(r.events, static_cast<uint64_t>(kBatches));
  EXPECT_EQ(r.tasks, static_cast<uint64_t>(kBatches));
}

// The same run without sync loses what was acknowledged: the test above can
// fail, and storage.sync: false means what the README says (kill -9 safe,
// not power-loss safe).
TEST(StoreDurabilityTest, WithoutSyncAcknowledgedEventsCanBeLost) {
  const AfterPowerLoss r = store_then_lose_power(false);
  ASSERT_EQ(r.acknowledged, kBatches);
  EXPECT_GT(r.dropped_bytes, 0u);
  EXPECT_LT(r.events, static_cast<uint64_t>(kBatches));
  EXPECT_LT(r.tasks, static_cast<uint64_t>(kBatches));
}

}  // namespace
}  // namespace switchyard::storage
