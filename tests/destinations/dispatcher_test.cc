#include "switchyard/destinations/dispatcher.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "switchyard/core/crypto.h"
#include "switchyard/core/time.h"
#include "switchyard/storage/store.h"
#include "testing/http_receiver.h"
#include "testing/temp_dir.h"

namespace switchyard::destinations {
namespace {

using namespace std::chrono_literals;

Destination destination(const std::string& url, const std::string& method, uint32_t rate,
                        std::vector<std::pair<std::string, std::string>> headers, std::string signing_key = "") {
  Destination d;
  d.name = "d";
  d.endpoint = url;
  d.method = method;
  d.rate_limit_per_second = rate;
  d.headers = std::move(headers);
  d.signing_key = std::move(signing_key);
  return d;
}

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = storage::Store::open({.path = dir_.path()});
    ASSERT_TRUE(opened) << opened.status().message();
    store_ = std::move(*opened);
    options_.backoff = {.base_ms = 50, .cap_ms = 200};
  }

  // Stores the tasks first, as ingest does, then hands them over.
  void submit(Dispatcher& d, std::vector<core::DeliveryTask> tasks) {
    auto batch = std::make_shared<storage::IngestBatch>();
    batch->tasks = tasks;
    std::promise<core::Status> done;
    store_->append(batch, [&](core::Status st) { done.set_value(st); });
    ASSERT_TRUE(done.get_future().get());
    d.submit(std::move(tasks));
  }

  core::DeliveryTask task(const std::string& id, const std::string& dest = "d") const {
    core::DeliveryTask t;
    t.id = id;
    t.event_id = "evt-" + id;
    t.rule = "r";
    t.destination = dest;
    t.body = R"({"id":")" + id + R"("})";
    t.ingested_ms = clock_.wall_ms();
    t.due_ms = t.ingested_ms;
    return t;
  }

  // Waits (in real time, at most `timeout`) until `done()` holds.
  template <typename F>
  static bool eventually(F done, std::chrono::milliseconds timeout = 10s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= until) return false;
      std::this_thread::sleep_for(2ms);
    }
    return true;
  }

  // Waits until the delivery thread has made two full passes since now: what
  // the (manual) clock and the inputs allow has been started by then.
  void settle(const Dispatcher& d) {
    for (int i = 0; i < 2; ++i) {
      const uint64_t passes = d.passes();
      clock_.advance(0);  // wakes the thread
      ASSERT_TRUE(eventually([&] { return d.passes() > passes; }));
    }
  }

  // Moves the manual clock on by `step_ms` at a time until `done()` holds.
  template <typename F>
  bool advance_until(F done, int64_t step_ms, int max_steps = 200) {
    for (int i = 0; i < max_steps; ++i) {
      if (done()) return true;
      clock_.advance(step_ms);
      std::this_thread::sleep_for(2ms);
    }
    return done();
  }

  // Waits until the store holds no pending task.
  bool drained(std::chrono::milliseconds timeout = 10s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (*store_->count_tasks() == 0) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  // Tests that wait for time to pass move this clock instead of sleeping;
  // those that measure the wire (quotas) run on the system clock.
  core::ManualClock clock_{core::now_ms()};
  testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  prometheus::Registry registry_;
  Options options_;
};

TEST_F(DispatcherTest, DeliversBodyHeadersAndPathParameters) {
  testing::HttpReceiver rx;
  Dispatcher d(options_, *store_, registry_);
  d.set_destinations({destination(rx.url("/orders/*/x/*"), "PUT", 100, {{"x-api-key", "secret"}})});
  d.start();
  auto t = task("one");
  t.path_params = {"eu west", "a/b"};
  submit(d, {t});
  auto got = rx.wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "PUT");
  EXPECT_EQ(got[0].target, "/orders/eu%20west/x/a%2Fb");
  EXPECT_EQ(got[0].body, R"({"id":"one"})");
  EXPECT_EQ(got[0].headers["content-type"], "application/json; charset=utf-8");
  EXPECT_EQ(got[0].headers["user-agent"], "Amazon/EventBridge/ApiDestinations");
  EXPECT_EQ(got[0].headers["webhook-id"], "one");
  EXPECT_EQ(got[0].headers["x-api-key"], "secret");
  EXPECT_FALSE(got[0].headers["webhook-timestamp"].empty());
  EXPECT_TRUE(drained());
}

TEST_F(DispatcherTest, RetriesServerErrorsWithTheSameWebhookId) {
  std::atomic<int> calls{0};
  testing::HttpReceiver rx([&](const testing::ReceivedRequest&) {
    return testing::Reply{++calls <= 2 ? 503 : 200, {}, ""};
  });
  Dispatcher d(options_, *store_, registry_);
  d.set_destinations({destination(rx.url("/"), "POST", 100, {})});
  d.start();
  submit(d, {task("r1")});
  auto got = rx.wait_for(3);
  ASSERT_EQ(got.size(), 3u);
  for (const auto& r : got) EXPECT_EQ(r.headers.at("webhook-id"), "r1");
  EXPECT_TRUE(drained());
  EXPECT_EQ(*store_->count_dead_letters("d"), 0u);
}

TEST_F(DispatcherTest, ClientErrorGoesStraightToTheDeadLetterQueue) {
  testing::HttpReceiver rx([](const testing::ReceivedRequest&) { return testing::Reply{404, {}, ""}; });
  Dispatcher d(options_, *store_, registry_, clock_);
  d.set_destinations({destination(rx.url("/"), "POST", 100, {})});
  d.start();
  submit(d, {task("gone")});
  ASSERT_TRUE(drained());
  clock_.advance(3600'000);  // an hour later, still no second attempt
  settle(d);
  EXPECT_EQ(rx.requests().size(), 1u);
  auto letters = *store_->list_dead_letters("d", 10);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].error_code, "ERROR_FROM_TARGET");
  EXPECT_EQ(letters[0].exhausted_condition, "");
  EXPECT_EQ(letters[0].task.attempts, 1u);
  EXPECT_EQ(letters[0].task.last_status, 404);
}

TEST_F(DispatcherTest, ExhaustedRetriesAreDeadLettered) {
  testing::HttpReceiver rx([](const testing::ReceivedRequest&) { return testing::Reply{500, {}, ""}; });
  Dispatcher d(options_, *store_, registry_);
  d.set_destinations({destination(rx.url("/"), "POST", 100, {})});
  d.start();
  auto t = task("x");
  t.retry.maximum_retry_attempts = 2;
  submit(d, {t});
  ASSERT_TRUE(drained());
  EXPECT_EQ(rx.requests().size(), 3u);
  auto letters = *store_->list_dead_letters("d", 10);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].exhausted_condition, "MaximumRetryAttempts");
  EXPECT_EQ(letters[0].task.attempts, 3u);
}

TEST_F(DispatcherTest, ConnectionFailuresAreRetriedUntilTheReceiverIsUp) {
  // Reserve a port, then free it: nothing listens there until the receiver starts.
  unsigned short port;
  {
    testing::HttpReceiver probe;
    port = probe.port();
  }
  Dispatcher d(options_, *store_, registry_, clock_);
  d.set_destinations({destination("http://127.0.0.1:" + std::to_string(port) + "/", "POST", 100, {})});
  d.start();
  submit(d, {task("later")});
  auto attempts = [&] {
    std::string cursor;
    const auto stored = *store_->load_tasks(
        "d", 1, [](const std::string&) { return false; }, &cursor);
    return stored.empty() ? 0u : stored[0].attempts;
  };
  ASSERT_TRUE(advance_until([&] { return attempts() >= 3; }, 250)) << "three refused attempts, each retried";
  EXPECT_EQ(*store_->count_tasks(), 1u);
  EXPECT_EQ(*store_->count_dead_letters("d"), 0u);
  d.stop();
  testing::HttpReceiver rx;
  d.set_destinations({destination(rx.url("/"), "POST", 100, {})});
  d.start();  // recovers the stored task
  ASSERT_TRUE(advance_until([&] { return !rx.requests().empty(); }, 250));
  auto got = rx.wait_for(1);
  ASSERT_GE(got.size(), 1u);
  EXPECT_EQ(got[0].headers["webhook-id"], "later");
  EXPECT_TRUE(drained());
}

TEST_F(DispatcherTest, StoredTasksAreDeliveredAfterRestart) {
  testing::HttpReceiver rx;
  {
    Dispatcher d(options_, *store_, registry_, clock_);
    // No destination configured yet: tasks are stored and wait.
    d.start();
    submit(d, {task("a"), task("b")});
    settle(d);
    EXPECT_EQ(*store_->count_tasks(), 2u);
  }
  Dispatcher d(options_, *store_, registry_);
  d.set_destinations({destination(rx.url("/"), "POST", 100, {})});
  d.start();
  EXPECT_EQ(rx.wait_for(2).size(), 2u);
  EXPECT_TRUE(drained());
}

TEST_F(DispatcherTest, SignsWithStandardWebhooksWhenASecretIsSet) {
  testing::HttpReceiver rx;
  Dispatcher d(options_, *store_, registry_);
  const std::string key = "0123456789abcdef0123456789abcdef";
  d.set_destinations({destination(rx.url("/"), "POST", 100, {}, key)});
  d.start();
  submit(d, {task("signed")});
  auto got = rx.wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  const std::string signed_content = "signed." + got[0].headers["webhook-timestamp"] + "." + got[0].body;
  EXPECT_EQ(got[0].headers["webhook-signature"], "v1," + core::base64_encode(core::hmac_sha256(key, signed_content)));
}

TEST_F(DispatcherTest, PausedDestinationsKeepTheirQueue) {
  testing::HttpReceiver rx;
  {
    Dispatcher d(options_, *store_, registry_, clock_);
    d.set_destinations({destination(rx.url("/"), "POST", 100, {})});
    ASSERT_TRUE(d.pause("d"));
    d.start();
    submit(d, {task("p1"), task("p2")});
    clock_.advance(3600'000);
    settle(d);
    EXPECT_EQ(rx.requests().size(), 0u);
    EXPECT_EQ(*store_->count_tasks(), 2u);
    auto stats = d.stats();
    ASSERT_EQ(stats.size(), 1u);
    EXPECT_TRUE(stats[0].paused);
  }
  Dispatcher d(options_, *store_, registry_, clock_);  // paused across a restart
  d.set_destinations({destination(rx.url("/"), "POST", 100, {})});
  d.start();
  settle(d);
  EXPECT_EQ(rx.requests().size(), 0u);
  ASSERT_TRUE(d.resume("d"));
  EXPECT_EQ(rx.wait_for(2).size(), 2u);
  EXPECT_TRUE(drained());
}

TEST_F(DispatcherTest, ConnectionParametersWinOverTargetOnes) {
  testing::HttpReceiver rx;
  Dispatcher d(options_, *store_, registry_);
  Destination dest = destination(rx.url("/in?fixed=1"), "POST", 100, {{"Authorization", "Basic x"}});
  dest.header_parameters = {{"X-Tenant", "from-connection"}, {"Content-Type", "application/vnd.acme+json"}};
  dest.query_parameters = {{"region", "connection"}};
  dest.body_parameters = {{"tenant", "acme"}};
  d.set_destinations({dest});
  d.start();
  auto t = task("params");
  t.headers = {{"x-tenant", "from-target"}, {"X-Order", "42"}};
  t.query = {{"region", "target"}, {"a b", "c&d"}};
  submit(d, {t});
  auto got = rx.wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].target, "/in?fixed=1&region=connection&a%20b=c%26d");
  EXPECT_EQ(got[0].headers["x-tenant"], "from-connection");
  EXPECT_EQ(got[0].headers["x-order"], "42");
  EXPECT_EQ(got[0].headers["authorization"], "Basic x");
  EXPECT_EQ(got[0].headers["content-type"], "application/vnd.acme+json");
  EXPECT_EQ(got[0].body, R"({"id":"params","tenant":"acme"})");
}

TEST_F(DispatcherTest, UnresolvableParameterIsDeadLetteredWithoutAnAttempt) {
  testing::HttpReceiver rx;
  Dispatcher d(options_, *store_, registry_);
  d.set_destinations({destination(rx.url("/"), "POST", 100, {})});
  d.start();
  auto t = task("bad-param");
  t.render_error = "the dynamic parameter $.detail.nope selects nothing in the event";
  t.render_error_code = "INVALID_PARAMETER";
  submit(d, {t});
  ASSERT_TRUE(drained());
  auto letters = *store_->list_dead_letters("d", 10);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].error_code, "INVALID_PARAMETER");
  EXPECT_EQ(rx.requests().size(), 0u);
}

// Issue 12.2: a value from the event (dynamic header parameter, trace
// header) with any control character is never sent: the request could carry
// extra headers or a smuggled request with the connection's credentials.
TEST_F(DispatcherTest, HeaderValuesWithControlCharactersAreDeadLetteredUnsent) {
  testing::HttpReceiver rx;
  Dispatcher d(options_, *store_, registry_);
  d.set_destinations({destination(rx.url("/"), "POST", 1000, {{"x-api-key", "secret"}})});
  d.start();
  std::vector<core::DeliveryTask> tasks;
  for (int c = 0; c < 0x20; ++c) {
    if (c == '\t') continue;
    auto t = task("hdr-" + std::to_string(c));
    t.headers = {{"X-Order", std::string("a") + static_cast<char>(c) + "Content-Length: 0\r\n\r\nDELETE /smuggled"}};
    tasks.push_back(t);
    auto u = task("trace-" + std::to_string(c));
    u.trace_header = std::string("Root=1") + static_cast<char>(c) + "x";
    tasks.push_back(u);
  }
  auto del = task("hdr-127");
  del.headers = {{"X-Order", std::string("a\x7f")}};
  tasks.push_back(del);
  auto fine = task("fine");
  fine.headers = {{"X-Order", "a\tb \xc3\xa9"}};  // tab, space and UTF-8 are fine
  tasks.push_back(fine);
  submit(d, tasks);
  ASSERT_TRUE(drained());
  const auto got = rx.wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].headers.at("webhook-id"), "fine");
  EXPECT_EQ(got[0].headers.at("x-order"), "a\tb \xc3\xa9");
  auto letters = *store_->list_dead_letters("d", 100);
  ASSERT_EQ(letters.size(), tasks.size() - 1);
  for (const auto& l : letters) {
    EXPECT_EQ(l.error_code, "INVALID_PARAMETER") << l.task.id;
    EXPECT_NE(l.error_message.find("control character"), std::string::npos) << l.error_message;
    EXPECT_EQ(l.error_message.find("secret"), std::string::npos);
  }
  for (const auto& r : rx.requests()) EXPECT_NE(r.target, "/smuggled");
}

// Issue 13.2: redrive and purge go through the dispatcher, whose DLQ depth
// follows (the admin handler no longer patches it after calling the store).
TEST_F(DispatcherTest, RedriveAndPurgeGoThroughTheDispatcher) {
  std::atomic<int> status{400};
  testing::HttpReceiver rx([&](const testing::ReceivedRequest&) { return testing::Reply{status.load(), {}, ""}; });
  Dispatcher d(options_, *store_, registry_);
  d.set_destinations({destination(rx.url("/"), "POST", 1000, {})});
  d.start();
  submit(d, {task("dl1"), task("dl2"), task("dl3")});
  auto dlq_depth = [&] {
    auto st = d.stats();
    return st.empty() ? uint64_t{0} : st[0].dlq_depth;
  };
  eventually([&] { return dlq_depth() >= 3; }, 3s);
  ASSERT_EQ(dlq_depth(), 3u);
  status = 200;
  EXPECT_EQ(*d.redrive("d", 2), 2u);
  EXPECT_TRUE(drained());
  EXPECT_EQ(rx.wait_for(5).size(), 5u);  // three refused, two redriven and delivered
  eventually([&] { return dlq_depth() == 1; }, 3s);
  EXPECT_EQ(dlq_depth(), 1u);
  uint64_t purged = 0;
  ASSERT_TRUE(d.purge_dead_letters("d", &purged));
  EXPECT_EQ(purged, 1u);
  EXPECT_EQ(*store_->count_dead_letters("d"), 0u);
  eventually([&] { return dlq_depth() == 0; }, 3s);
  EXPECT_EQ(dlq_depth(), 0u);
  EXPECT_EQ(*d.redrive("d", 10), 0u);
}

TEST_F(DispatcherTest, CircuitOpensProbesSlowlyAndClosesOnSuccess) {
  std::atomic<int> status{503};
  testing::HttpReceiver rx([&](const testing::ReceivedRequest&) { return testing::Reply{status.load(), {}, ""}; });
  options_.backoff = {.base_ms = 1, .cap_ms = 5};  // retry at once: only the circuit slows things down
  Dispatcher d(options_, *store_, registry_, clock_);
  Destination dest = destination(rx.url("/"), "POST", 1000, {});
  dest.circuit = {.consecutive_transport_failures = 3,
                  .window_ms = 10'000,
                  .min_attempts = 3,
                  .failure_rate_percent = 50,
                  .open_ms = 400,
                  .max_open_ms = 400,
                  .trial_requests = 1};
  d.set_destinations({dest});
  d.start();
  std::vector<core::DeliveryTask> tasks;
  for (int i = 0; i < 5; ++i) tasks.push_back(task("c" + std::to_string(i)));
  submit(d, tasks);
  rx.wait_for(3);
  ASSERT_TRUE(eventually([&] {
    auto st = d.stats();
    return !st.empty() && st[0].circuit_open && st[0].in_flight == 0;
  }));
  // Every retry is due within 5 ms; the circuit lets one probe through per
  // 400 ms: two intervals, two probes.
  const size_t at_open = rx.requests().size();
  for (int interval = 0; interval < 2; ++interval) {
    clock_.advance(400);
    settle(d);
    ASSERT_TRUE(eventually([&] { return d.stats()[0].in_flight == 0; }));
    settle(d);
  }
  const size_t probes = rx.requests().size() - at_open;
  EXPECT_GE(probes, 1u);
  EXPECT_LE(probes, 2u) << "an open circuit sends one probe per interval";
  status = 200;
  EXPECT_TRUE(advance_until([&] { return *store_->count_tasks() == 0; }, 400));
  EXPECT_FALSE(d.stats()[0].circuit_open);
}

TEST_F(DispatcherTest, BacklogBeyondTheMemoryCapIsPagedInFromDisk) {
  testing::HttpReceiver rx;
  options_.max_in_memory_per_destination = 5;
  Dispatcher d(options_, *store_, registry_);
  d.set_destinations({destination(rx.url("/"), "POST", 1000, {})});
  d.start();
  std::vector<core::DeliveryTask> tasks;
  for (int i = 0; i < 60; ++i) tasks.push_back(task("b" + std::to_string(i)));
  submit(d, tasks);
  size_t most_held = 0;
  for (int i = 0; i < 200 && *store_->count_tasks() > 0; ++i) {
    for (const auto& st : d.stats()) most_held = std::max<size_t>(most_held, st.queued + st.in_flight);
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(drained());
  EXPECT_EQ(rx.wait_for(60).size(), 60u);
  EXPECT_LE(most_held, 5u) << "never more than the cap in memory";
}

// Issue 12.10: memory is capped by bytes, not only by count: 40 deliveries
// of 64 KiB for a paused destination hold at most 256 KiB in memory (they
// used to be held whole, 10,000 of 250 KB took 2.6 GB), and all arrive.
TEST_F(DispatcherTest, MemoryForABacklogIsCappedByBytes) {
  testing::HttpReceiver rx;
  options_.max_in_memory_bytes_per_destination = 256 * 1024;
  Dispatcher d(options_, *store_, registry_, clock_);
  d.set_destinations({destination(rx.url("/"), "POST", 1000, {})});
  ASSERT_TRUE(d.pause("d"));
  d.start();
  std::vector<core::DeliveryTask> tasks;
  for (int i = 0; i < 40; ++i) {
    tasks.push_back(task("big" + std::to_string(i)));
    tasks.back().body = R"({"pad":")" + std::string(64 * 1024, 'x') + R"("})";
  }
  submit(d, tasks);
  ASSERT_TRUE(eventually([&] {
    auto st = d.stats();
    return !st.empty() && st[0].queued >= 1 && st[0].backlog_on_disk;
  }));
  settle(d);
  auto stats = d.stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_LE(stats[0].queued * (64 * 1024), 256u * 1024) << stats[0].queued << " held";
  EXPECT_GE(stats[0].queued, 1u);
  EXPECT_TRUE(stats[0].backlog_on_disk);
  ASSERT_TRUE(d.resume("d"));
  EXPECT_TRUE(drained());
  EXPECT_EQ(rx.wait_for(40).size(), 40u);
}

// Issue 12.23: each destination's whole backlog (memory and disk) and the age
// of its oldest pending delivery, for dashboards and alerts.
TEST_F(DispatcherTest, BacklogAndOldestPendingAgeAreReported) {
  testing::HttpReceiver rx;
  options_.max_in_memory_per_destination = 5;
  Dispatcher d(options_, *store_, registry_, clock_);
  d.set_destinations({destination(rx.url("/"), "POST", 1000, {})});
  ASSERT_TRUE(d.pause("d"));
  d.start();
  std::vector<core::DeliveryTask> tasks;
  for (int i = 0; i < 30; ++i) {
    tasks.push_back(task("age" + std::to_string(i)));
    tasks.back().ingested_ms -= 5000;  // accepted five seconds ago
  }
  submit(d, tasks);
  settle(d);
  clock_.advance(1000);  // the age is refreshed once a second
  settle(d);
  auto stats = d.stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].backlog, 30u);
  EXPECT_LE(stats[0].queued, 5u);
  EXPECT_GE(stats[0].oldest_pending_age_seconds, 5.0);
  ASSERT_TRUE(d.resume("d"));
  EXPECT_TRUE(drained());
  EXPECT_EQ(rx.wait_for(30).size(), 30u);
  clock_.advance(1000);
  settle(d);
  stats = d.stats();
  EXPECT_EQ(stats[0].backlog, 0u);
  EXPECT_EQ(stats[0].oldest_pending_age_seconds, 0.0);
}

TEST_F(DispatcherTest, DeliveriesStoredBehindThePagingCursorAreNotForgotten) {
  testing::HttpReceiver rx;
  options_.max_in_memory_per_destination = 5;
  Dispatcher d(options_, *store_, registry_);
  d.set_destinations({destination(rx.url("/"), "POST", 10, {})});  // slow enough to page several times
  d.start();
  std::vector<core::DeliveryTask> tasks;
  for (int i = 0; i < 20; ++i) tasks.push_back(task("n" + std::to_string(i)));
  submit(d, tasks);
  ASSERT_GE(rx.wait_for(11).size(), 11u);  // paging is under way, memory full
  // Due an hour ago: stored before every key the pages have passed (as after
  // a clock step back); memory is full, so they wait on disk.
  std::vector<core::DeliveryTask> old;
  for (int i = 0; i < 10; ++i) {
    old.push_back(task("old" + std::to_string(i)));
    old.back().due_ms -= 3600 * 1000;
  }
  submit(d, old);
  EXPECT_TRUE(drained());
  std::set<std::string> got;
  for (const auto& r : rx.wait_for(30)) got.insert(r.body);
  EXPECT_EQ(got.size(), 30u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(got.count(R"({"id":"old)" + std::to_string(i) + R"("})"), 1u) << i;
}

TEST_F(DispatcherTest, ADeadDestinationDoesNotDelayAnother) {
  unsigned short dead_port;
  {
    testing::HttpReceiver probe;
    dead_port = probe.port();
  }
  testing::HttpReceiver live;
  options_.max_in_memory_per_destination = 5;
  Dispatcher d(options_, *store_, registry_);
  Destination dead = destination("http://127.0.0.1:" + std::to_string(dead_port) + "/", "POST", 1000, {});
  dead.name = "dead";
  d.set_destinations({dead, destination(live.url("/"), "POST", 1000, {})});
  d.start();
  std::vector<core::DeliveryTask> tasks;
  for (int i = 0; i < 50; ++i) tasks.push_back(task("x" + std::to_string(i), "dead"));
  for (int i = 0; i < 20; ++i) tasks.push_back(task("y" + std::to_string(i), "d"));
  const auto start = std::chrono::steady_clock::now();
  submit(d, tasks);
  EXPECT_EQ(live.wait_for(20, 5s).size(), 20u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(DispatcherTest, RateLimitHoldsInEveryOneSecondWindow) {
  testing::HttpReceiver rx;
  Dispatcher d(options_, *store_, registry_);
  d.set_destinations({destination(rx.url("/"), "POST", 5, {})});
  d.start();
  std::vector<core::DeliveryTask> tasks;
  for (int i = 0; i < 12; ++i) tasks.push_back(task("t" + std::to_string(i)));
  const auto start = std::chrono::steady_clock::now();
  submit(d, tasks);
  auto got = rx.wait_for(12, 10s);
  ASSERT_EQ(got.size(), 12u);
  // 12 deliveries at 5/s need at least two full seconds.
  EXPECT_GE(got.back().at - start, 1900ms);
  for (size_t i = 5; i < got.size(); ++i)
    EXPECT_GE(got[i].at - got[i - 5].at, 950ms) << "more than 5 within one second at " << i;
}

TEST_F(DispatcherTest, ALoweredRateLimitCountsTheLastSecondsRequests) {
  testing::HttpReceiver rx;
  Dispatcher d(options_, *store_, registry_);
  d.set_destinations({destination(rx.url("/"), "POST", 20, {})});
  d.start();
  std::vector<core::DeliveryTask> first, second;
  for (int i = 0; i < 20; ++i) first.push_back(task("a" + std::to_string(i)));
  for (int i = 0; i < 10; ++i) second.push_back(task("b" + std::to_string(i)));
  submit(d, first);
  ASSERT_EQ(rx.wait_for(20, 5s).size(), 20u);
  d.set_destinations({destination(rx.url("/"), "POST", 10, {})});  // a reload lowers the quota
  submit(d, second);
  auto got = rx.wait_for(30, 5s);
  ASSERT_EQ(got.size(), 30u);
  // 20 went out in the first second; the next 10 wait for it to pass, not
  // a fresh window of 10 on top.
  for (size_t i = 20; i < got.size(); ++i)
    EXPECT_GE(got[i].at - got[i - 10].at, 950ms) << "more than 10 within one second at " << i;
}

TEST_F(DispatcherTest, GlobalInFlightCapIsSharedFairlyBetweenDestinations) {
  std::atomic<int> now_in{0}, most{0};
  testing::HttpReceiver rx([&](const testing::ReceivedRequest&) {
    const int n = ++now_in;
    for (int m = most.load(); n > m && !most.compare_exchange_weak(m, n);) {
    }
    std::this_thread::sleep_for(30ms);
    --now_in;
    return testing::Reply{};
  });
  options_.max_in_flight_total = 2;
  Dispatcher d(options_, *store_, registry_);
  Destination a = destination(rx.url("/a"), "POST", 1000, {});
  a.name = "a";
  Destination b = destination(rx.url("/b"), "POST", 1000, {});
  b.name = "b";
  d.set_destinations({a, b});
  d.start();
  std::vector<core::DeliveryTask> tasks;
  for (int i = 0; i < 10; ++i) tasks.push_back(task("a" + std::to_string(i), "a"));
  for (int i = 0; i < 10; ++i) tasks.push_back(task("b" + std::to_string(i), "b"));
  submit(d, tasks);
  const auto got = rx.wait_for(20);
  ASSERT_EQ(got.size(), 20u);
  EXPECT_LE(most.load(), 2);
  // Both destinations were served while the other still had work queued.
  size_t last_a = 0, first_b = got.size();
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i].target == "/a") last_a = i;
    if (got[i].target == "/b" && first_b == got.size()) first_b = i;
  }
  EXPECT_LT(first_b, last_a);
}

// An OAuth authorization server handing out "t1", "t2", ... valid for
// `expires_in` seconds.
struct TokenServer {
  explicit TokenServer(int expires_in = 3600)
      : rx([this, expires_in](const testing::ReceivedRequest&) {
          testing::Reply r;
          r.headers["Content-Type"] = "application/json";
          r.body = R"({"access_token":"t)" + std::to_string(++issued) + R"(","token_type":"bearer","expires_in":)" +
                   std::to_string(expires_in) + "}";
          return r;
        }) {}
  std::atomic<int> issued{0};
  testing::HttpReceiver rx;
};

std::shared_ptr<OAuthClientCredentials> oauth_to(const std::string& url) {
  auto o = std::make_shared<OAuthClientCredentials>();
  o->connection = "conn";
  o->endpoint = url;
  o->client_id = "id";
  o->client_secret = "secret";
  o->body = {{"audience", "orders"}};
  return o;
}

TEST_F(DispatcherTest, OAuthTokenIsFetchedOnceAndSentWithEveryDelivery) {
  TokenServer auth;
  testing::HttpReceiver rx;
  Dispatcher d(options_, *store_, registry_);
  Destination dest = destination(rx.url("/"), "POST", 100, {});
  dest.oauth = oauth_to(auth.rx.url("/token"));
  d.set_destinations({dest});
  d.start();
  submit(d, {task("a"), task("b"), task("c")});
  const auto got = rx.wait_for(3);
  ASSERT_EQ(got.size(), 3u);
  for (const auto& r : got) EXPECT_EQ(r.headers.at("authorization"), "Bearer t1");
  const auto token_requests = auth.rx.requests();
  ASSERT_EQ(token_requests.size(), 1u);
  EXPECT_EQ(token_requests[0].method, "POST");
  EXPECT_EQ(token_requests[0].body, "grant_type=client_credentials&audience=orders");
  EXPECT_EQ(token_requests[0].headers.at("authorization"), "Basic aWQ6c2VjcmV0");
  EXPECT_EQ(token_requests[0].headers.at("content-type"), "application/x-www-form-urlencoded");
  const auto stats = d.stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_TRUE(stats[0].active);
  EXPECT_EQ(stats[0].connection_state, "AUTHORIZED");
}

TEST_F(DispatcherTest, OAuthTokenRefusedWith401IsRefreshedAndTheDeliveryRetried) {
  TokenServer auth;
  testing::HttpReceiver rx([](const testing::ReceivedRequest& r) {
    return testing::Reply{r.headers.at("authorization") == "Bearer t2" ? 200 : 401, {}, ""};
  });
  Dispatcher d(options_, *store_, registry_);
  Destination dest = destination(rx.url("/"), "POST", 100, {});
  dest.oauth = oauth_to(auth.rx.url("/token"));
  d.set_destinations({dest});
  d.start();
  submit(d, {task("a")});
  ASSERT_TRUE(drained());
  const auto got = rx.requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].headers.at("authorization"), "Bearer t1");
  EXPECT_EQ(got[1].headers.at("authorization"), "Bearer t2");
  EXPECT_EQ(got[0].headers.at("webhook-id"), got[1].headers.at("webhook-id"));
  EXPECT_EQ(auth.issued.load(), 2);
  EXPECT_EQ(*store_->count_dead_letters("d"), 0u);
}

TEST_F(DispatcherTest, OAuthTokenCloseToExpiryIsRefreshedBeforeUse) {
  TokenServer auth(2);  // 2-second tokens: refreshed once half their life is gone
  testing::HttpReceiver rx;
  Dispatcher d(options_, *store_, registry_, clock_);
  Destination dest = destination(rx.url("/"), "POST", 100, {});
  dest.oauth = oauth_to(auth.rx.url("/token"));
  d.set_destinations({dest});
  d.start();
  submit(d, {task("a")});
  ASSERT_EQ(rx.wait_for(1).size(), 1u);
  submit(d, {task("b")});
  ASSERT_EQ(rx.wait_for(2).size(), 2u);
  clock_.advance(1200);
  submit(d, {task("c")});
  const auto got = rx.wait_for(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].headers.at("authorization"), "Bearer t1");
  EXPECT_EQ(got[1].headers.at("authorization"), "Bearer t1");
  EXPECT_EQ(got[2].headers.at("authorization"), "Bearer t2");
}

TEST_F(DispatcherTest, UnreachableAuthorizationEndpointFailsIntoRetriesThenTheDeadLetterQueue) {
  unsigned short dead_port;
  {
    testing::HttpReceiver probe;
    dead_port = probe.port();
  }
  testing::HttpReceiver rx;
  Dispatcher d(options_, *store_, registry_, clock_);
  Destination dest = destination(rx.url("/"), "POST", 100, {});
  dest.oauth = oauth_to("http://127.0.0.1:" + std::to_string(dead_port) + "/token");
  d.set_destinations({dest});
  d.start();
  auto t = task("a");
  t.retry.maximum_retry_attempts = 1;
  submit(d, {t});
  ASSERT_TRUE(advance_until([&] { return *store_->count_tasks() == 0; }, 250));
  EXPECT_TRUE(rx.requests().empty());
  const auto letters = *store_->list_dead_letters("d", 10);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].error_code, "NO_PERMISSIONS");
  EXPECT_EQ(letters[0].task.attempts, 2u);
  EXPECT_NE(letters[0].error_message.find("no OAuth token for connection 'conn'"), std::string::npos)
      << letters[0].error_message;
  EXPECT_EQ(letters[0].error_message.find("secret"), std::string::npos);
  const auto stats = d.stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_FALSE(stats[0].active);
  EXPECT_EQ(stats[0].connection_state, "DEAUTHORIZED");
}

// Issue 14: a receiver that answers 500 to a few events it cannot process
// and 200 to everything else. 20 poison events, then healthy events at 5 a
// second for 4 seconds, with EventBridge's backoff: every healthy event
// arrives, each within 2 s of being handed over (the circuit, which used to
// open and then probe with poison retries, judged the endpoint by them).
TEST_F(DispatcherTest, PoisonEventsNeverStallTheHealthyOnes) {
  std::mutex mu;
  std::map<std::string, std::chrono::steady_clock::time_point> arrived;
  testing::HttpReceiver rx([&](const testing::ReceivedRequest& r) {
    if (r.body.find("poison") != std::string::npos) return testing::Reply{500, {}, ""};
    std::lock_guard<std::mutex> lock(mu);
    arrived.emplace(r.headers.at("webhook-id"), r.at);
    return testing::Reply{200, {}, ""};
  });
  options_.backoff = {.base_ms = 1000, .cap_ms = 15 * 60 * 1000};  // EventBridge's
  Dispatcher d(options_, *store_, registry_);                      // the system clock: latencies are real
  d.set_destinations({destination(rx.url("/"), "POST", 200, {})});
  d.start();
  std::vector<core::DeliveryTask> poison;
  for (int i = 0; i < 20; ++i) {
    poison.push_back(task("poison" + std::to_string(i)));
    poison.back().body = R"({"poison":true})";
  }
  submit(d, poison);
  std::map<std::string, std::chrono::steady_clock::time_point> handed;
  for (int i = 0; i < 20; ++i) {  // 5 a second: the pace of the traffic, not a wait
    auto t = task("ok" + std::to_string(i));
    handed[t.id] = std::chrono::steady_clock::now();
    submit(d, {t});
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return arrived.size() == handed.size();
      },
      5s));
  std::vector<double> latency_ms;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& [id, at] : handed)
      latency_ms.push_back(std::chrono::duration<double, std::milli>(arrived.at(id) - at).count());
  }
  std::sort(latency_ms.begin(), latency_ms.end());
  EXPECT_LT(latency_ms.back(), 2000.0) << "the slowest healthy event";
}

// Issue 14: a receiver that fails the first two tries of every fourth event
// is answering: the circuit never opens.
TEST_F(DispatcherTest, AFlakyReceiverIsNeverPaused) {
  std::mutex mu;
  std::map<std::string, int> tries;
  testing::HttpReceiver rx([&](const testing::ReceivedRequest& r) {
    const std::string id = r.headers.at("webhook-id");
    std::lock_guard<std::mutex> lock(mu);
    const int n = ++tries[id];
    const bool fourth = std::stoi(id.substr(1)) % 4 == 0;
    return testing::Reply{fourth && n <= 2 ? 503 : 200, {}, ""};
  });
  Dispatcher d(options_, *store_, registry_, clock_);
  Destination dest = destination(rx.url("/"), "POST", 1000, {});
  // One at a time: the answers come back in the order the events were
  // sent, so every stretch of first attempts has a quarter failing (with
  // many in flight a scheduler's reordering could put more failures first).
  dest.max_concurrency = 1;
  d.set_destinations({dest});
  d.start();
  std::vector<core::DeliveryTask> tasks;
  for (int i = 0; i < 80; ++i) tasks.push_back(task("f" + std::to_string(i)));
  submit(d, tasks);
  ASSERT_TRUE(advance_until([&] { return *store_->count_tasks() == 0; }, 100, 400));
  EXPECT_EQ(rx.requests().size(), 80u + 20 * 2);
  const auto stats = d.stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].circuit_openings, 0u);
  EXPECT_EQ(stats[0].delivered, 80u);
}

// Issue 14: a dead endpoint still opens the circuit and is tried slowly;
// when it comes back everything is delivered, and the quota holds during
// the catch-up as the receiver sees it.
TEST_F(DispatcherTest, ADeadReceiverThatComesBackGetsEverythingWithinTheQuota) {
  unsigned short port;
  {
    testing::HttpReceiver probe;
    port = probe.port();
  }
  options_.backoff = {.base_ms = 1, .cap_ms = 5};  // retries due at once: only the circuit holds them
  Dispatcher d(options_, *store_, registry_);      // the system clock: arrivals are measured
  d.set_destinations({destination("http://127.0.0.1:" + std::to_string(port) + "/", "POST", 10, {})});
  d.start();
  std::vector<core::DeliveryTask> tasks;
  for (int i = 0; i < 25; ++i) tasks.push_back(task("d" + std::to_string(i)));
  submit(d, tasks);
  ASSERT_TRUE(eventually([&] {
    const auto st = d.stats();
    return !st.empty() && st[0].circuit_openings >= 1;
  }));
  testing::HttpReceiver rx(nullptr, port);
  const auto got = rx.wait_for(25, 10s);
  ASSERT_EQ(got.size(), 25u);
  for (size_t i = 10; i < got.size(); ++i)
    EXPECT_GE(got[i].at - got[i - 10].at, 950ms) << "more than 10 within one second at " << i;
  EXPECT_TRUE(drained());
  EXPECT_FALSE(d.stats()[0].circuit_open);
}

// Issue 14: 429 with Retry-After is waited out, and a receiver that asks
// for patience is not a failing endpoint.
TEST_F(DispatcherTest, TooManyRequestsWithRetryAfterIsWaitedOut) {
  std::mutex mu;
  std::map<std::string, int> tries;
  testing::HttpReceiver rx([&](const testing::ReceivedRequest& r) {
    std::lock_guard<std::mutex> lock(mu);
    if (++tries[r.headers.at("webhook-id")] == 1) return testing::Reply{429, {{"Retry-After", "2"}}, ""};
    return testing::Reply{200, {}, ""};
  });
  Dispatcher d(options_, *store_, registry_, clock_);
  d.set_destinations({destination(rx.url("/"), "POST", 100, {})});
  d.start();
  submit(d, {task("slow0"), task("slow1")});
  // Both 429s received *and* taken in by the dispatcher (their retries are
  // due 2 s from when it read them), before the clock moves.
  ASSERT_TRUE(eventually([&] {
    const auto st = d.stats();
    return rx.requests().size() >= 2 && !st.empty() && st[0].in_flight == 0 && st[0].queued == 2;
  }));
  clock_.advance(1500);  // not yet: Retry-After asked for 2 s
  settle(d);
  EXPECT_EQ(rx.requests().size(), 2u);
  clock_.advance(600);
  ASSERT_TRUE(eventually([&] { return *store_->count_tasks() == 0; }));
  EXPECT_EQ(rx.requests().size(), 4u);
  EXPECT_EQ(d.stats()[0].circuit_openings, 0u);
}

// Issue 14.3: a receiver that takes 8 requests at once, then only 2, and
// answers 429 beyond that. The adaptive limit follows it: far fewer 429s
// than a fixed limit of 32, and everything delivered about as fast.
TEST_F(DispatcherTest, AdaptiveConcurrencyFollowsAReceiverWhoseCapacityChanges) {
  struct Run {
    size_t refused;
    double seconds;
    uint32_t limit_at_end;
  };
  options_.backoff = {.base_ms = 5, .cap_ms = 20};
  auto run = [&](bool adaptive, const std::string& name) {
    std::atomic<int> busy{0}, capacity{8}, served{0};
    std::atomic<size_t> refused{0};
    testing::HttpReceiver rx([&](const testing::ReceivedRequest&) {
      if (++busy > capacity.load()) {
        --busy;
        ++refused;
        return testing::Reply{429, {}, ""};
      }
      std::this_thread::sleep_for(10ms);  // the receiver's work
      --busy;
      if (++served == 50) capacity = 2;
      return testing::Reply{200, {}, ""};
    });
    Dispatcher d(options_, *store_, registry_);  // the system clock: the receiver's time is real
    Destination dest = destination(rx.url("/"), "POST", 100000, {});
    dest.name = name;
    dest.adaptive_concurrency = adaptive;
    d.set_destinations({dest});
    d.start();
    std::vector<core::DeliveryTask> tasks;
    for (int i = 0; i < 150; ++i) tasks.push_back(task(name + std::to_string(i), name));
    const auto start = std::chrono::steady_clock::now();
    submit(d, tasks);
    EXPECT_TRUE(eventually([&] { return *store_->count_tasks(name) == 0; }, 30s)) << name;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return Run{refused.load(), seconds, d.stats()[0].concurrency_limit};
  };
  const Run fixed = run(false, "fixed");
  const Run adaptive = run(true, "adaptive");
  std::cerr << "fixed: " << fixed.refused << " refused, " << fixed.seconds << " s; adaptive: " << adaptive.refused
            << " refused, " << adaptive.seconds << " s, limit " << adaptive.limit_at_end << "\n";
  EXPECT_LT(adaptive.refused * 4, fixed.refused) << "at most a quarter of the 429s";
  EXPECT_LE(adaptive.limit_at_end, 4u);
  EXPECT_LT(adaptive.seconds, fixed.seconds) << "no lost throughput: faster, not slower";
}

}  // namespace
}  // namespace switchyard::destinations
