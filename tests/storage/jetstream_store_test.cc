// The JetStream store (cluster mode's Store) against a real 3-server
// JetStream cluster on loopback: what ingest appends reaches the owner
// that adopted the destination and nobody else; a delivered task leaves
// the stream; a retry copy replaces the stored delivery and is what the
// next owner finds, with its attempts; dead letters are listed, counted,
// redriven and purged; pauses are shared; archives are read by event time
// and position; small records are kept.

#include "switchyard/storage/jetstream_store.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "switchyard/core/time.h"
#include "switchyard/storage/js_subjects.h"
#include "testing/nats_cluster.h"

namespace switchyard::storage {
namespace {

using namespace std::chrono_literals;

core::DeliveryTask task(const std::string& id, const std::string& destination) {
  core::DeliveryTask t;
  t.id = id;
  t.event_id = "e-" + id;
  t.destination = destination;
  t.rule = "r";
  t.target = "t";
  t.body = R"({"id":")" + id + R"("})";
  t.headers = {{"x-a", "1"}};
  t.ingested_ms = 1700000000000;
  return t;
}

template <class F>
bool eventually(F f, std::chrono::milliseconds limit = 10s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (f()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return f();
}

// Opens the store, retrying while a fresh cluster still elects its meta
// leader; the last failure when it never opens.
core::Result<std::unique_ptr<JetStreamStore>> open_store(jetstream::JetStream& js,
                                                         const JetStreamStoreOptions& options) {
  core::Status st;
  for (int i = 0; i < 100; ++i) {
    auto store = JetStreamStore::open(js, options);
    if (store) return store;
    st = store.status();
    std::this_thread::sleep_for(200ms);
  }
  return st;
}

class JetStreamStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new ::switchyard::testing::NatsCluster(3); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override {
    auto js = jetstream::JetStream::connect({.urls = cluster_->urls(), .name = "store-test"});
    ASSERT_TRUE(js) << js.status().message();
    js_ = std::move(*js);
    auto store =
        open_store(*js_, {.replicas = 3, .publish_timeout_ms = 5000, .ack_wait_ms = 2000, .registry = &registry_});
    ASSERT_TRUE(store) << store.status().message();
    store_ = std::move(*store);
    store_->set_fetch_listener([this](const std::string&, uint64_t n) { fetched_ += n; });
  }

  core::Status append(std::vector<core::DeliveryTask> tasks) {
    auto batch = std::make_shared<IngestBatch>();
    batch->tasks = std::move(tasks);
    std::promise<core::Status> done;
    auto f = done.get_future();
    store_->append(batch, [&done](core::Status st) { done.set_value(std::move(st)); });
    return f.get();
  }

  std::vector<core::DeliveryTask> load(const std::string& destination) {
    std::string cursor;
    auto got = store_->load_tasks(
        destination, 1000, [](const std::string&) { return false; }, &cursor, SIZE_MAX);
    EXPECT_TRUE(got) << got.status().message();
    return got ? *got : std::vector<core::DeliveryTask>{};
  }

  double gauge(const std::string& name, const std::string& destination) {
    for (const auto& family : registry_.Collect())
      if (family.name == name)
        for (const auto& m : family.metric)
          for (const auto& label : m.label)
            if (label.name == "destination" && label.value == destination) return m.gauge.value;
    return -1;
  }

  static ::switchyard::testing::NatsCluster* cluster_;
  prometheus::Registry registry_;
  std::unique_ptr<jetstream::JetStream> js_;
  std::unique_ptr<JetStreamStore> store_;
  std::atomic<uint64_t> fetched_{0};
};

::switchyard::testing::NatsCluster* JetStreamStoreTest::cluster_ = nullptr;

TEST_F(JetStreamStoreTest, AppendedDeliveriesReachTheAdoptingNodeAndLeaveWhenDelivered) {
  ASSERT_TRUE(store_->ensure_destination("crm.v1"));
  EXPECT_FALSE(store_->delivers_appended_here());
  ASSERT_TRUE(append({task("a1", "crm.v1"), task("a2", "crm.v1"), task("a3", "crm.v1")}));
  EXPECT_TRUE(load("crm.v1").empty()) << "nothing is held before the destination is adopted";

  ASSERT_TRUE(store_->adopt("crm.v1", 100));
  ASSERT_TRUE(eventually([&] { return fetched_.load() == 3; }));
  auto held = load("crm.v1");
  ASSERT_EQ(held.size(), 3u);
  EXPECT_EQ(held[0], task("a1", "crm.v1")) << "every field comes back, in order";
  EXPECT_EQ(*store_->count_tasks("crm.v1"), 3u);
  // What the dispatcher holds already is left out.
  std::string cursor;
  auto rest = store_->load_tasks(
      "crm.v1", 10, [](const std::string& id) { return id == "a1"; }, &cursor, SIZE_MAX);
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->size(), 2u);

  ASSERT_TRUE(store_->finish_tasks({held[0], held[1], held[2]}));
  EXPECT_EQ(*store_->count_tasks("crm.v1"), 0u);
  EXPECT_TRUE(eventually([&] {
    auto w = js_->subject_counts("SY_WORK", jetstream::work_subject("crm.v1"));
    return w && w->empty();
  })) << "acknowledged deliveries leave the work queue";
  store_->drop("crm.v1", true);
}

TEST_F(JetStreamStoreTest, AcceptedEventsAreKeptForLookups) {
  auto batch = std::make_shared<IngestBatch>();
  core::Event e;
  e.id = "5b1e0c7a-0000-4000-8000-000000000001";
  e.bus = "default";
  e.source = "shop";
  e.detail_type = "OrderPlaced";
  e.detail = R"({"n":1})";
  e.time = 1796637600;
  e.ingested_ms = 1700000000000;
  batch->events = {e};
  std::promise<core::Status> done;
  store_->append(batch, [&done](core::Status st) { done.set_value(std::move(st)); });
  ASSERT_TRUE(done.get_future().get());
  auto envelope = store_->event_envelope(e.ingested_ms, e.id);
  ASSERT_TRUE(envelope) << envelope.status().message();
  EXPECT_EQ(*envelope, core::envelope_json(e));
  EXPECT_EQ(store_->event_envelope(0, "not-stored").status().code(), core::Code::kNotFound);
}

TEST_F(JetStreamStoreTest, AnOwnerHoldsItsWindowAndShowsWhatWaitsBeyondIt) {
  ASSERT_TRUE(store_->ensure_destination("lagging"));
  std::vector<core::DeliveryTask> tasks;
  for (int i = 0; i < 5; ++i) tasks.push_back(task("l" + std::to_string(i), "lagging"));
  ASSERT_TRUE(append(tasks));
  ASSERT_TRUE(store_->adopt("lagging", 2));
  ASSERT_TRUE(eventually([&] { return fetched_.load() == 2; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(*store_->count_tasks("lagging"), 2u) << "no more than the window is held";
  EXPECT_TRUE(eventually([&] { return gauge("switchyard_cluster_work_pending", "lagging") == 3; }));
  EXPECT_EQ(store_->waiting("lagging"), 3u);  // what the admin view adds to the held ones
  for (const auto& t : load("lagging")) ASSERT_TRUE(store_->finish_task(t));
  ASSERT_TRUE(eventually([&] { return fetched_.load() == 4; })) << "room again: the next two are fetched";
  EXPECT_TRUE(eventually([&] { return store_->waiting("lagging") == 1; }));
  store_->drop("lagging", true);
  EXPECT_EQ(store_->waiting("lagging"), 0u) << "not adopted here any more";
}

TEST_F(JetStreamStoreTest, TheSameDeliveryAppendedTwiceIsStoredOnce) {
  ASSERT_TRUE(store_->ensure_destination("dedup"));
  ASSERT_TRUE(append({task("d1", "dedup")}));
  ASSERT_TRUE(append({task("d1", "dedup")}));  // a client's retry of the same request within the window
  auto counts = js_->subject_counts("SY_WORK", "sy.wk.dedup");
  ASSERT_TRUE(counts);
  EXPECT_EQ((*counts)["sy.wk.dedup"], 1u);
  ASSERT_TRUE(store_->adopt("dedup", 10));
  ASSERT_TRUE(eventually([&] { return load("dedup").size() == 1; }));
  ASSERT_TRUE(store_->finish_task(load("dedup")[0]));
  store_->drop("dedup", true);
}

TEST_F(JetStreamStoreTest, ARetryCopyIsWhatTheNextOwnerFindsWithItsAttempts) {
  ASSERT_TRUE(store_->ensure_destination("flaky"));
  ASSERT_TRUE(append({task("r1", "flaky")}));
  ASSERT_TRUE(store_->adopt("flaky", 10));
  ASSERT_TRUE(eventually([&] { return load("flaky").size() == 1; }));
  core::DeliveryTask t = load("flaky")[0];
  t.attempts = 2;
  t.last_status = 503;
  t.due_ms = 1700000060000;
  ASSERT_TRUE(store_->reschedule_task(0, t));
  // The copy is stored and the work message acknowledged (in order, on the
  // outcome thread).
  ASSERT_TRUE(eventually([&] {
    auto c = js_->subject_counts("SY_RETRY", "sy.rt.flaky");
    auto w = js_->subject_counts("SY_WORK", "sy.wk.flaky");
    return c && (*c)["sy.rt.flaky"] == 1 && w && w->empty();
  }));
  // The node dies (nothing handed back); the next owner loads the copy.
  store_->drop("flaky", false);
  fetched_ = 0;
  ASSERT_TRUE(store_->adopt("flaky", 10));
  ASSERT_TRUE(eventually([&] { return fetched_.load() == 1; }));
  auto again = load("flaky");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0], t);
  // Delivered at last: the copy is deleted.
  ASSERT_TRUE(store_->finish_task(again[0]));
  EXPECT_TRUE(eventually([&] {
    auto c = js_->subject_counts("SY_RETRY", "sy.rt.flaky");
    return c && c->empty();
  }));
  store_->drop("flaky", true);
}

TEST_F(JetStreamStoreTest, DeadLettersAreListedCountedRedrivenAndPurged) {
  ASSERT_TRUE(store_->ensure_destination("dlq.dest"));
  {  // x1's event: a dead letter keeps it with itself
    auto batch = std::make_shared<IngestBatch>();
    core::Event e;
    e.id = "e-x1";
    e.source = "s";
    e.detail_type = "t";
    e.bus = "default";
    e.ingested_ms = 1700000000000;
    e.time = 1700000000;
    batch->events.push_back(e);
    std::promise<core::Status> done;
    store_->append(batch, [&done](core::Status st) { done.set_value(std::move(st)); });
    ASSERT_TRUE(done.get_future().get());
  }
  ASSERT_TRUE(append({task("x1", "dlq.dest"), task("x2", "dlq.dest"), task("x3", "dlq.dest")}));
  ASSERT_TRUE(store_->adopt("dlq.dest", 10));
  ASSERT_TRUE(eventually([&] { return load("dlq.dest").size() == 3; }));
  for (auto& t : load("dlq.dest")) {
    t.attempts = 1;
    t.last_status = 400;
    ASSERT_TRUE(store_->dead_letter({.task = t,
                                     .error_code = "SDK_CLIENT_ERROR",
                                     .error_message = "400",
                                     .exhausted_condition = "",
                                     .dead_ms = 1700000001000,
                                     .key = "",
                                     .event_envelope = ""}));
  }
  ASSERT_TRUE(eventually([&] { return *store_->count_dead_letters("dlq.dest") == 3; }));
  auto listed = store_->list_dead_letters("dlq.dest", 2);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].task.id, "x1");
  EXPECT_EQ((*listed)[0].error_code, "SDK_CLIENT_ERROR");
  EXPECT_NE((*listed)[0].event_envelope.find(R"("id":"e-x1")"), std::string::npos) << (*listed)[0].event_envelope;
  EXPECT_TRUE((*listed)[1].event_envelope.empty());  // x2's event was never stored

  fetched_ = 0;
  auto redriven = store_->redrive("dlq.dest", 1, 1700000099000);
  ASSERT_TRUE(redriven) << redriven.status().message();
  ASSERT_EQ(redriven->size(), 1u);
  EXPECT_EQ((*redriven)[0].attempts, 0u);
  EXPECT_EQ((*redriven)[0].age_from_ms, 1700000099000);
  EXPECT_EQ(*store_->count_dead_letters("dlq.dest"), 2u);
  auto all = store_->dead_letter_counts({"dlq.dest", "no-dlq"});  // every node's view, one read
  ASSERT_TRUE(all) << all.status().message();
  EXPECT_EQ(*all, (std::map<std::string, uint64_t>{{"dlq.dest", 2}, {"no-dlq", 0}}));
  // The owner fetches the redriven delivery, with its webhook-id.
  ASSERT_TRUE(eventually([&] { return fetched_.load() == 1; }));
  EXPECT_EQ(load("dlq.dest")[0].id, "x1");

  uint64_t purged = 0;
  ASSERT_TRUE(store_->purge_dead_letters("dlq.dest", &purged));
  EXPECT_EQ(purged, 2u);
  EXPECT_EQ(*store_->count_dead_letters("dlq.dest"), 0u);
  store_->drop("dlq.dest", true);
}

TEST_F(JetStreamStoreTest, PausesAreSharedThroughTheCluster) {
  ASSERT_TRUE(store_->set_paused("orders.v2", true));
  ASSERT_TRUE(store_->set_paused("orders.v2", true));  // twice is once
  ASSERT_TRUE(store_->set_paused("crm", true));
  auto paused = store_->paused_destinations();
  ASSERT_TRUE(paused);
  std::sort(paused->begin(), paused->end());
  EXPECT_EQ(*paused, (std::vector<std::string>{"crm", "orders.v2"}));
  ASSERT_TRUE(store_->set_paused("crm", false));
  ASSERT_TRUE(store_->set_paused("orders.v2", false));
  EXPECT_TRUE(store_->paused_destinations()->empty());
}

core::Event archived_event(const std::string& id, int64_t time_s) {
  core::Event e;
  e.id = id;
  e.bus = "orders/eu";
  e.source = "shop";
  e.detail_type = "OrderPlaced";
  e.detail = R"({"id":")" + id + R"("})";
  e.time = time_s;
  e.ingested_ms = 1700000000000 + time_s;
  e.trace_header = "Root=1-" + id;
  return e;
}

// An hour boundary (2026-12-07T10:00:00Z), so the hours below are exact.
constexpr int64_t kHour0 = 1796637600;

TEST_F(JetStreamStoreTest, ArchivesAreReadByEventTimeThenArchiveOrderAndResumeAtAPosition) {
  const std::string archive = "orders.all";  // a '.' in the name: a token with a hash
  auto first = std::make_shared<IngestBatch>();
  first->events = {archived_event("a1", kHour0 + 10), archived_event("a2", kHour0 + 3599),
                   archived_event("a3", kHour0 + 3600), archived_event("a4", kHour0 + 7300)};
  for (size_t i = 0; i < first->events.size(); ++i) first->archived.emplace_back(archive, i);
  auto second = std::make_shared<IngestBatch>();
  second->events = {archived_event("a5", kHour0 + 20)};
  second->archived = {{archive, 0}};
  for (const auto& batch : {first, second, first}) {  // the first twice: stored once
    std::promise<core::Status> done;
    store_->append(batch, [&done](core::Status st) { done.set_value(std::move(st)); });
    ASSERT_TRUE(done.get_future().get());
  }

  // Hour by hour, and within an hour in the order archived.
  std::vector<std::string> ids;
  std::string after;
  for (int step = 0; step < 10; ++step) {
    auto read = store_->read_archive(archive, kHour0, kHour0 + 3 * 3600, after, 2);
    ASSERT_TRUE(read) << read.status().message();
    if (read->empty()) break;
    EXPECT_LE(read->size(), 2u);
    for (const auto& e : *read) ids.push_back(e.id);
    after = read->back().key;
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"a1", "a2", "a5", "a3", "a4"}));

  // A window that cuts hours: only the events whose time is inside.
  auto edge = store_->read_archive(archive, kHour0 + 15, kHour0 + 3600, "", 10);
  ASSERT_TRUE(edge);
  ASSERT_EQ(edge->size(), 2u);
  EXPECT_EQ((*edge)[0].id, "a2");
  EXPECT_EQ((*edge)[1].id, "a5");
  const core::Event a5 = archived_event("a5", kHour0 + 20);
  EXPECT_EQ((*edge)[1].envelope, core::envelope_json(a5));  // byte for byte
  EXPECT_EQ((*edge)[1].bus, "orders/eu");
  EXPECT_EQ((*edge)[1].time_s, kHour0 + 20);
  EXPECT_EQ((*edge)[1].ingested_ms, a5.ingested_ms);
  EXPECT_EQ((*edge)[1].trace_header, "Root=1-a5");

  EXPECT_EQ(store_->count_archive(archive, kHour0, kHour0 + 3 * 3600).value_or(0), 5u);
  EXPECT_EQ(store_->count_archive(archive, kHour0 + 15, kHour0 + 3600).value_or(0), 2u);
  EXPECT_EQ(store_->count_archive(archive, kHour0 + 3600, kHour0 + 7301).value_or(0), 2u);
  EXPECT_EQ(store_->count_archive(archive, kHour0 + 7301, kHour0 + 9 * 3600).value_or(9), 0u);
  const ArchiveStats stats = store_->archive_stats(archive);
  EXPECT_EQ(stats.events, 5u);
  EXPECT_GT(stats.bytes, 5 * core::envelope_json(a5).size());

  // An archive nothing was stored in: empty, not an error.
  auto none = store_->read_archive("never-used", 0, kHour0, "", 10);
  ASSERT_TRUE(none) << none.status().message();
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(store_->count_archive("never-used", 0, kHour0).value_or(9), 0u);
  EXPECT_EQ(store_->archive_stats("never-used").events, 0u);
}

TEST_F(JetStreamStoreTest, AnArchivesRetentionIsItsStreamsMaximumAgeAndIngestLeavesItAlone) {
  ASSERT_TRUE(store_->set_archive_retention("kept", 7));
  auto state = js_->stream_state("SY_AR_kept");
  ASSERT_TRUE(state) << state.status().message();
  EXPECT_EQ(state->max_age_ms, 7 * 86'400'000LL);

  // Another node's store (fresh: it has not seen the stream) archives into it.
  auto other = JetStreamStore::open(*js_, {.replicas = 3, .publish_timeout_ms = 5000, .registry = &registry_});
  ASSERT_TRUE(other) << other.status().message();
  auto batch = std::make_shared<IngestBatch>();
  batch->events = {archived_event("k1", kHour0)};
  batch->archived = {{"kept", 0}};
  std::promise<core::Status> done;
  (*other)->append(batch, [&done](core::Status st) { done.set_value(std::move(st)); });
  ASSERT_TRUE(done.get_future().get());
  EXPECT_EQ(js_->stream_state("SY_AR_kept")->max_age_ms, 7 * 86'400'000LL);
  EXPECT_EQ(store_->archive_stats("kept").events, 1u);

  ASSERT_TRUE(store_->set_archive_retention("kept", 0));  // forever
  EXPECT_EQ(js_->stream_state("SY_AR_kept")->max_age_ms, 0);
  EXPECT_EQ(store_->archive_stats("kept").events, 1u);
}

TEST_F(JetStreamStoreTest, SmallRecordsAreListedByPrefixAndABatchsRecordsAreWrittenWithIt) {
  ASSERT_TRUE(store_->put_meta("replay/fix.1", "one"));
  ASSERT_TRUE(store_->put_meta("replay/fix-2", "two"));
  ASSERT_TRUE(store_->put_meta("replay-cancel/fix.1", "1"));
  ASSERT_TRUE(store_->put_meta("replay/fix-2", "two again"));  // replaced
  auto listed = store_->list_meta("replay/");
  ASSERT_TRUE(listed) << listed.status().message();
  EXPECT_EQ(*listed,
            (std::vector<std::pair<std::string, std::string>>{{"replay/fix-2", "two again"}, {"replay/fix.1", "one"}}));

  auto batch = std::make_shared<IngestBatch>();
  batch->tasks = {task("m1", "meta-dest")};
  batch->meta = {{"replay/fix-3", "after its deliveries"}};
  ASSERT_TRUE(append({}));  // nothing at all: fine
  std::promise<core::Status> done;
  store_->append(batch, [&done](core::Status st) { done.set_value(std::move(st)); });
  ASSERT_TRUE(done.get_future().get());
  listed = store_->list_meta("replay/fix-3");
  ASSERT_TRUE(listed);
  EXPECT_EQ(*listed, (std::vector<std::pair<std::string, std::string>>{{"replay/fix-3", "after its deliveries"}}));
  auto work = js_->subject_counts("SY_WORK", jetstream::work_subject("meta-dest"));
  ASSERT_TRUE(work);
  EXPECT_EQ((*work)[jetstream::work_subject("meta-dest")], 1u);
}

// Its own servers: two of them are killed. The survivor is the work
// stream's leader, the hardest case: it goes on answering reads for several
// seconds after it lost its followers.
TEST(JetStreamStoreReadinessTest, NotReadyWithoutAQuorumEvenBesideTheStreamsLeaderAndReadyAgainAfter) {
  ::switchyard::testing::NatsCluster cluster(3);
  auto js = jetstream::JetStream::connect({.urls = cluster.urls(), .name = "readiness-test"});
  ASSERT_TRUE(js) << js.status().message();
  auto first = open_store(**js, {.replicas = 3, .publish_timeout_ms = 5000, .node_id = "r1"});
  ASSERT_TRUE(first) << first.status().message();
  std::unique_ptr<JetStreamStore> store = std::move(*first);
  ASSERT_TRUE(eventually([&] { return static_cast<bool>(store->readiness()); }, 20s));
  auto leader = (*js)->stream_leader("SY_WORK");
  ASSERT_TRUE(leader) << leader.status().message();
  const int survivor = (*leader)[1] - '0';  // the servers are n0, n1, n2
  // A node connected to the survivor only: it stays connected throughout.
  auto near = jetstream::JetStream::connect({.urls = {cluster.url(survivor)}, .name = "readiness-near"});
  ASSERT_TRUE(near) << near.status().message();
  auto opened = JetStreamStore::open(**near, {.replicas = 3, .publish_timeout_ms = 5000, .node_id = "r2"});
  ASSERT_TRUE(opened) << opened.status().message();
  store = std::move(*opened);
  ASSERT_TRUE(eventually([&] { return static_cast<bool>(store->readiness()); }, 20s));
  for (int i = 0; i < 3; ++i)
    if (i != survivor) cluster.kill(i);
  const auto lost = std::chrono::steady_clock::now();
  core::Status why;
  ASSERT_TRUE(eventually(
      [&] {
        why = store->readiness();
        return !why;
      },
      20s));
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - lost).count();
  EXPECT_LT(seconds, 6.0) << "readiness followed the stream leader's answers, not the quorum";
  // Connected all along (to the survivor): it is the quorum that is missing.
  EXPECT_NE(why.message().find("quorum"), std::string::npos) << why.message();
  for (int i = 0; i < 3; ++i)
    if (i != survivor) cluster.start(i);
  EXPECT_TRUE(eventually([&] { return static_cast<bool>(store->readiness()); }, 60s));
}

}  // namespace
}  // namespace switchyard::storage

namespace switchyard::storage {
namespace {

// Publish deduplication keys live in the shared bucket: a key is pending
// while its request stores, done once the batch carrying its record is
// stored (for every node), free again after the window, and a request that
// failed part way is resumed as the same event.
TEST_F(JetStreamStoreTest, DeduplicationKeysAreSharedAndAFailedRequestIsResumed) {
  using Kind = DedupClaim::Kind;
  const int64_t now = core::now_ms();
  const std::string key(64, 'a');
  auto first = store_->claim_dedup(key, "ev-1", now, 300000);
  ASSERT_TRUE(first) << first.status().message();
  EXPECT_EQ(first->kind, Kind::kNew);
  EXPECT_EQ(store_->claim_dedup(key, "ev-2", now, 300000)->kind, Kind::kBusy);  // still being stored
  auto batch = std::make_shared<IngestBatch>();
  batch->dedup.push_back({.key = key, .event_id = "ev-1", .ingested_ms = now, .expires_ms = now + 300000});
  std::promise<core::Status> done;
  store_->append(batch, [&done](core::Status st) { done.set_value(std::move(st)); });
  ASSERT_TRUE(done.get_future().get());
  // Another node's store answers the same.
  auto other = JetStreamStore::open(*js_, {.replicas = 3, .publish_timeout_ms = 5000, .registry = &registry_});
  ASSERT_TRUE(other) << other.status().message();
  auto again = (*other)->claim_dedup(key, "ev-3", now + 1000, 300000);
  ASSERT_TRUE(again) << again.status().message();
  EXPECT_EQ(again->kind, Kind::kDuplicate);
  EXPECT_EQ(again->event_id, "ev-1");
  EXPECT_EQ(again->ingested_ms, now);
  EXPECT_EQ(store_->claim_dedup(key, "ev-4", now + 300001, 300000)->kind, Kind::kNew);  // the window is over

  // A request that failed: the next one with its key is stored as that event.
  const std::string failed(64, 'b');
  ASSERT_EQ(store_->claim_dedup(failed, "ev-5", now, 300000)->kind, Kind::kNew);
  store_->release_dedup(failed, "ev-5", now);
  auto resumed = store_->claim_dedup(failed, "ev-6", now + 2000, 300000);
  ASSERT_TRUE(resumed) << resumed.status().message();
  EXPECT_EQ(resumed->kind, Kind::kResume);
  EXPECT_EQ(resumed->event_id, "ev-5");
  EXPECT_EQ(resumed->ingested_ms, now);
  // A pending claim whose request died is resumed once stale (2 x the
  // publish timeout and 2 s: 12 s here), not before.
  const std::string died(64, 'c');
  ASSERT_EQ(store_->claim_dedup(died, "ev-7", now - 5000, 300000)->kind, Kind::kNew);
  EXPECT_EQ(store_->claim_dedup(died, "ev-8", now, 300000)->kind, Kind::kBusy);
  auto stale = store_->claim_dedup(died, "ev-9", now + 8000, 300000);
  ASSERT_TRUE(stale) << stale.status().message();
  EXPECT_EQ(stale->kind, Kind::kResume);
  EXPECT_EQ(stale->event_id, "ev-7");
}

TEST_F(JetStreamStoreTest, BusLogsKeepPositionsAndTrim) {
  const std::string bus = "log-" + std::to_string(core::now_ms());
  auto batch = std::make_shared<IngestBatch>();
  const int64_t t0 = core::now_ms();
  for (int i = 0; i < 4; ++i) {
    LogEntry e;
    e.bus = bus;
    e.event_id = "e" + std::to_string(i);
    e.ingested_ms = t0 + i;
    e.data = std::string("\0raw", 4) + std::to_string(i);
    e.content_type = "application/octet-stream";
    e.group_id = i % 2 ? "odd" : "even";
    batch->log.push_back(e);
  }
  std::promise<core::Status> done;
  store_->append(batch, [&done](core::Status st) { done.set_value(std::move(st)); });
  ASSERT_TRUE(done.get_future().get());
  EXPECT_EQ(batch->log_positions, (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(*store_->log_bounds(bus), (LogBounds{1, 5}));
  auto read = store_->read_log(bus, 2, 2);
  ASSERT_TRUE(read) << read.status().message();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ(read->at(0).event_id, "e1");
  EXPECT_EQ(read->at(0).position, 2u);
  EXPECT_EQ(read->at(1).data, std::string("\0raw", 4) + "2");
  EXPECT_EQ(read->at(1).group_id, "even");
  EXPECT_EQ(*store_->log_position_at(bus, t0 - 60'000), 1u);
  EXPECT_EQ(*store_->log_position_at(bus, t0 + 60'000), 5u);
  ASSERT_TRUE(store_->trim_log(bus, 3));
  EXPECT_EQ(*store_->log_bounds(bus), (LogBounds{3, 5}));
  EXPECT_EQ(store_->read_log(bus, 1, 10)->front().event_id, "e2");
  ASSERT_TRUE(store_->expire_log(bus, 0, 7));
  EXPECT_EQ(*store_->log_bounds("never-logged"), (LogBounds{1, 1}));
}

}  // namespace
}  // namespace switchyard::storage
