#include "switchyard/storage/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "testing/temp_dir.h"

namespace switchyard::storage {
namespace {

core::DeliveryTask task(const std::string& id, int64_t due, const std::string& dest = "d") {
  core::DeliveryTask t;
  t.id = id;
  t.event_id = "e-" + id;
  t.destination = dest;
  t.body = "{}";
  t.due_ms = due;
  t.ingested_ms = due;
  return t;
}

core::Event event(const std::string& id, int64_t ingested_ms) {
  core::Event e;
  e.id = id;
  e.source = "s";
  e.detail_type = "t";
  e.bus = "default";
  e.ingested_ms = ingested_ms;
  e.time = ingested_ms / 1000;
  return e;
}

core::Status append_sync(Store& store, IngestBatch batch) {
  std::promise<core::Status> done;
  store.append(std::make_shared<IngestBatch>(std::move(batch)), [&](core::Status st) { done.set_value(st); });
  return done.get_future().get();
}

class StoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> open(bool sync = false) {
    auto s = Store::open({.path = dir_.path(), .sync = sync});
    EXPECT_TRUE(s) << s.status().message();
    return s ? std::move(*s) : nullptr;
  }
  testing::TempDir dir_;
};

TEST_F(StoreTest, AppendedTasksSurviveReopenInDueOrder) {
  {
    auto store = open(true);
    IngestBatch b;
    b.events.push_back(event("e1", 1000));
    b.tasks = {task("late", 300), task("early", 100), task("mid", 200)};
    ASSERT_TRUE(append_sync(*store, std::move(b)));
  }
  auto store = open();
  std::vector<std::string> ids;
  ASSERT_TRUE(store->scan_tasks([&](core::DeliveryTask&& t) { ids.push_back(t.id); }));
  EXPECT_EQ(ids, (std::vector<std::string>{"early", "mid", "late"}));
  EXPECT_EQ(*store->count_tasks(), 3u);
  EXPECT_EQ(*store->count_tasks("d"), 3u);
  EXPECT_EQ(*store->count_tasks("d2"), 0u);
  EXPECT_EQ(*store->count_tasks(""), 0u);
}

TEST_F(StoreTest, ConcurrentAppendsAreAllStored) {
  auto store = open(true);
  constexpr int kThreads = 8, kPerThread = 50;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        IngestBatch b;
        const std::string id = std::to_string(t) + "-" + std::to_string(i);
        b.events.push_back(event(id, 1000 + i));
        b.tasks.push_back(task(id, 1000 + i));
        if (append_sync(*store, std::move(b))) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(*store->count_tasks(), static_cast<uint64_t>(kThreads * kPerThread));
  int events = 0;
  ASSERT_TRUE(store->scan_events(0, INT64_MAX, [&](const std::string&) { return ++events, true; }));
  EXPECT_EQ(events, kThreads * kPerThread);
}

TEST_F(StoreTest, FinishRescheduleAndDeadLetter) {
  auto store = open();
  IngestBatch b;
  b.tasks = {task("a", 10), task("b", 20), task("c", 30)};
  ASSERT_TRUE(append_sync(*store, std::move(b)));

  ASSERT_TRUE(store->finish_task(task("a", 10)));
  auto moved = task("b", 20);
  moved.due_ms = 500;
  moved.attempts = 1;
  ASSERT_TRUE(store->reschedule_task(20, moved));
  DeadLetter dl;
  dl.task = task("c", 30);
  dl.task.attempts = 4;
  dl.error_code = "ERROR_FROM_TARGET";
  dl.error_message = "HTTP 404 from target";
  dl.dead_ms = 1234;
  ASSERT_TRUE(store->dead_letter(dl));

  std::vector<core::DeliveryTask> left;
  ASSERT_TRUE(store->scan_tasks([&](core::DeliveryTask&& t) { left.push_back(std::move(t)); }));
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id, "b");
  EXPECT_EQ(left[0].due_ms, 500);
  EXPECT_EQ(left[0].attempts, 1u);

  auto letters = *store->list_dead_letters("d", 10);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].task.id, "c");
  EXPECT_EQ(letters[0].error_code, "ERROR_FROM_TARGET");
  EXPECT_EQ(letters[0].error_message, "HTTP 404 from target");
  EXPECT_EQ(letters[0].task.attempts, 4u);
  EXPECT_EQ(*store->count_dead_letters("d"), 1u);
  EXPECT_EQ(*store->count_dead_letters("other"), 0u);
}

TEST_F(StoreTest, LoadTasksPagesOnFromItsCursor) {
  auto store = open();
  IngestBatch b;
  for (int i = 0; i < 10; ++i) b.tasks.push_back(task("t" + std::to_string(i), 100 + i));
  b.tasks.push_back(task("other", 50, "d2"));  // another destination's keys sort next to these
  b.tasks.push_back(task("x", 1, "c"));
  ASSERT_TRUE(append_sync(*store, std::move(b)));
  auto ids = [](const std::vector<core::DeliveryTask>& ts) {
    std::vector<std::string> out;
    for (const auto& t : ts) out.push_back(t.id + "@" + std::to_string(t.due_ms));
    return out;
  };
  const auto none = [](const std::string&) { return false; };
  std::string cursor;
  EXPECT_EQ(ids(*store->load_tasks("d", 3, none, &cursor)), (std::vector<std::string>{"t0@100", "t1@101", "t2@102"}));
  // Delivered ones are deleted; the next page starts after the cursor all the same.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store->finish_task(task("t" + std::to_string(i), 100 + i)));
  EXPECT_EQ(ids(*store->load_tasks(
                "d", 2, [](const std::string& id) { return id == "t4"; }, &cursor)),
            (std::vector<std::string>{"t3@103", "t5@105"}));
  // Stored behind the cursor: only a pass from the first key finds it.
  IngestBatch late;
  late.tasks.push_back(task("behind", 99));
  ASSERT_TRUE(append_sync(*store, std::move(late)));
  EXPECT_EQ(ids(*store->load_tasks("d", 10, none, &cursor)),
            (std::vector<std::string>{"t6@106", "t7@107", "t8@108", "t9@109"}));
  EXPECT_TRUE(store->load_tasks("d", 10, none, &cursor)->empty());  // the end stays the end
  cursor.clear();
  EXPECT_EQ(ids(*store->load_tasks("d", 2, none, &cursor)), (std::vector<std::string>{"behind@99", "t3@103"}));
  std::string c2;
  EXPECT_EQ(ids(*store->load_tasks("d2", 10, none, &c2)), (std::vector<std::string>{"other@50"}));
  // A byte budget ends a page early, after at least one record.
  std::string c3;
  EXPECT_EQ(store->load_tasks("d", 10, none, &c3, 1)->size(), 1u);
  EXPECT_EQ(store->load_tasks("d", 10, none, &c3, SIZE_MAX)->size(), 7u);
}

TEST_F(StoreTest, PurgeDeletesEveryDeadLetterOfOneDestination) {
  auto store = open();
  for (int i = 0; i < 10005; ++i) {  // more than one write of 10,000
    DeadLetter dl;
    dl.task = task("p" + std::to_string(i), i, i % 1000 == 0 ? "other" : "d");
    dl.dead_ms = 1000 + i;
    ASSERT_TRUE(store->dead_letter(dl));
  }
  const uint64_t mine = *store->count_dead_letters("d");
  ASSERT_EQ(mine + *store->count_dead_letters("other"), 10005u);
  uint64_t purged = 0;
  ASSERT_TRUE(store->purge_dead_letters("d", &purged));
  EXPECT_EQ(purged, mine);
  EXPECT_EQ(*store->count_dead_letters("d"), 0u);
  EXPECT_EQ(*store->count_dead_letters("other"), 11u);  // another destination keeps its own
  ASSERT_TRUE(store->purge_dead_letters("d", &purged));
  EXPECT_EQ(purged, 0u);
}

TEST_F(StoreTest, RedriveRequeuesDeadLetters) {
  auto store = open();
  for (int i = 0; i < 3; ++i) {
    DeadLetter dl;
    dl.task = task("t" + std::to_string(i), 1, "dest");
    dl.task.attempts = 3;
    dl.dead_ms = 100 + i;
    ASSERT_TRUE(store->dead_letter(dl));
  }
  EXPECT_EQ(store->redrive("dest", 2, 9999)->size(), 2u);
  EXPECT_EQ(*store->count_dead_letters("dest"), 1u);
  std::vector<core::DeliveryTask> tasks;
  ASSERT_TRUE(store->scan_tasks([&](core::DeliveryTask&& t) { tasks.push_back(std::move(t)); }));
  ASSERT_EQ(tasks.size(), 2u);
  for (const auto& t : tasks) {
    EXPECT_EQ(t.attempts, 0u);
    EXPECT_EQ(t.due_ms, 9999);
    EXPECT_EQ(t.age_from_ms, 9999);
    EXPECT_EQ(t.ingested_ms, 1);  // the event's storage key is untouched
  }
}

TEST_F(StoreTest, PausedDestinationsAndEventLookup) {
  {
    auto store = open();
    ASSERT_TRUE(store->set_paused("a", true));
    ASSERT_TRUE(store->set_paused("b", true));
    ASSERT_TRUE(store->set_paused("a", false));
    IngestBatch b;
    b.events.push_back(event("e7", 7000));
    ASSERT_TRUE(append_sync(*store, std::move(b)));
  }
  auto store = open();
  EXPECT_EQ(*store->paused_destinations(), std::vector<std::string>{"b"});
  EXPECT_NE(store->event_envelope(7000, "e7")->find("\"id\":\"e7\""), std::string::npos);
  EXPECT_EQ(store->event_envelope(7001, "e7").status().code(), core::Code::kNotFound);
}

// Accepted events are kept 25 hours; a dead letter keeps its event with it,
// so the DLQ still shows the event after the event's own record is gone.
TEST_F(StoreTest, AcceptedEventsExpireAndADeadLetterKeepsItsEvent) {
  auto store = open();
  IngestBatch b;
  for (int i = 0; i < 10; ++i) b.events.push_back(event("e" + std::to_string(i), 1000 * i));
  b.tasks.push_back(task("t3", 3000));
  ASSERT_TRUE(append_sync(*store, std::move(b)));
  DeadLetter dl;
  dl.task = task("t3", 3000);
  dl.task.event_id = "e3";
  dl.error_code = "ERROR_FROM_TARGET";
  ASSERT_TRUE(store->dead_letter(dl));
  ASSERT_TRUE(store->expire_events(5000));  // everything accepted before 5 s
  EXPECT_EQ(store->event_envelope(3000, "e3").status().code(), core::Code::kNotFound);
  EXPECT_TRUE(store->event_envelope(5000, "e5"));
  int left = 0;
  ASSERT_TRUE(store->scan_events(0, INT64_MAX, [&](const std::string&) { return ++left, true; }));
  EXPECT_EQ(left, 5);
  const auto letters = store->list_dead_letters("d", 10);
  ASSERT_TRUE(letters);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_NE(letters->front().event_envelope.find("\"id\":\"e3\""), std::string::npos)
      << letters->front().event_envelope;
}

TEST_F(StoreTest, ScanEventsHonoursTheWindow) {
  auto store = open();
  IngestBatch b;
  for (int i = 0; i < 10; ++i) b.events.push_back(event("e" + std::to_string(i), 1000 * i));
  ASSERT_TRUE(append_sync(*store, std::move(b)));
  int n = 0;
  ASSERT_TRUE(store->scan_events(2000, 5000, [&](const std::string& s) {
    EXPECT_NE(s.find("\"event\":{\"version\":\"0\""), std::string::npos) << s;
    return ++n, true;
  }));
  EXPECT_EQ(n, 3);
}

TEST_F(StoreTest, OpeningAFileInsteadOfADirectoryFailsWithAMessage) {
  const std::string path = dir_.file("not-a-dir");
  FILE* f = fopen(path.c_str(), "w");
  fputs("x", f);
  fclose(f);
  const auto opened = Store::open({.path = path});
  EXPECT_FALSE(opened);
  const std::string error = opened.status().message();
  EXPECT_NE(error.find(path), std::string::npos) << error;
}

}  // namespace
}  // namespace switchyard::storage

namespace switchyard::storage {
namespace {

TEST(StoreSpaceTest, BelowTheFreeSpaceReserveNothingIsStored) {
  testing::TempDir dir;
  Options options{.path = dir.path(), .min_free_bytes = 1ull << 62};  // more than any disk has free
  auto opened = Store::open(options);
  ASSERT_TRUE(opened) << opened.status().message();
  std::unique_ptr<Store> store = std::move(*opened);
  IngestBatch b;
  b.events.push_back(event("e1", 1000));
  b.tasks.push_back(task("t1", 1000));
  const core::Status st = append_sync(*store, std::move(b));
  EXPECT_FALSE(st);
  EXPECT_NE(st.message().find("storage is full"), std::string::npos) << st.message();
  EXPECT_EQ(*store->count_tasks(), 0u);
}

TEST_F(StoreTest, ArchivesKeepEventsInTimeOrderAndExpireByArchiveTime) {
  {
    auto store = open();
    IngestBatch b;
    for (int i = 0; i < 5; ++i) {
      auto e = event("e" + std::to_string(i), 1000000 + i * 1000);
      e.time = 100 - i * 10;  // event times run backwards: 100, 90, 80, 70, 60
      e.trace_header = i == 0 ? "Root=1" : "";
      b.events.push_back(e);
      b.archived.emplace_back("all", b.events.size() - 1);
      if (i % 2 == 0) b.archived.emplace_back("even", b.events.size() - 1);
    }
    b.meta.emplace_back("replay/x", "{\"state\":\"RUNNING\"}");
    ASSERT_TRUE(append_sync(*store, std::move(b)));
  }
  auto store = open();  // stats are counted again at open
  EXPECT_EQ(store->archive_stats("all").events, 5u);
  EXPECT_EQ(store->archive_stats("even").events, 3u);
  EXPECT_GT(store->archive_stats("all").bytes, 5u * 50);
  EXPECT_EQ(store->archive_stats("none").events, 0u);

  // [70, 100): 70, 80, 90 in time order, read two at a time.
  EXPECT_EQ(*store->count_archive("all", 70, 100), 3u);
  auto first = *store->read_archive("all", 70, 100, "", 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].id, "e3");
  EXPECT_EQ(first[0].time_s, 70);
  EXPECT_EQ(first[1].id, "e2");
  auto rest = *store->read_archive("all", 70, 100, first.back().key, 10);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].id, "e1");
  EXPECT_TRUE(store->read_archive("all", 70, 100, rest.back().key, 10)->empty());
  auto top = *store->read_archive("all", 100, 101, "", 10);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].trace_header, "Root=1");
  EXPECT_EQ(top[0].ingested_ms, 1000000);
  EXPECT_EQ(top[0].bus, "default");
  EXPECT_EQ(top[0].envelope.front(), '{');
  EXPECT_NE(top[0].envelope.find("\"id\":\"e0\""), std::string::npos);

  // Retention goes by when events were archived (e0 first), not by their time.
  std::string cursor;
  EXPECT_EQ(*store->expire_archive("all", 1002000, 1, &cursor), 1u);
  EXPECT_FALSE(cursor.empty());
  EXPECT_EQ(*store->expire_archive("all", 1002000, 10, &cursor), 1u);
  EXPECT_EQ(*store->expire_archive("all", 1002000, 10, &cursor), 0u);
  std::string fresh;
  EXPECT_EQ(*store->expire_archive("all", 1002000, 10, &fresh), 0u);  // from the first key: nothing left either
  EXPECT_EQ(store->archive_stats("all").events, 3u);
  EXPECT_EQ(*store->count_archive("all", 0, 1000), 3u);
  EXPECT_TRUE(store->read_archive("all", 90, 101, "", 10)->empty());  // e0 (100) and e1 (90) are gone
  EXPECT_EQ(*store->count_archive("even", 0, 1000), 3u);              // other archives keep theirs

  const auto meta = *store->list_meta("replay/");
  ASSERT_EQ(meta.size(), 1u);
  EXPECT_EQ(meta[0].second, "{\"state\":\"RUNNING\"}");
  ASSERT_TRUE(store->put_meta("replay/y", "{}"));
  EXPECT_EQ(store->list_meta("replay/")->size(), 2u);
}

}  // namespace
}  // namespace switchyard::storage
