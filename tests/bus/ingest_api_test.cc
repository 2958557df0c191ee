// The ingest API on bytes: a request in, a response out, no socket. The
// store is a real one (in memory unless a test needs a disk); the answer
// says what was stored, and the store agrees.
#include "ingest_api.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "switchyard/config/config.h"
#include "switchyard/destinations/dispatcher.h"
#include "switchyard/storage/store.h"
#include "testing/temp_dir.h"

namespace switchyard::bus {
namespace {

namespace asio = boost::asio;

class IngestApiTest : public ::testing::Test {
 protected:
  static constexpr const char* kRules =
      "rules: [{name: r, bus: orders, event_pattern: {source: [shop]}, targets: [{id: t, destination: rx}]}]\n";
  void open(storage::Options options, const std::string& buses = "buses: [{name: orders}]\n",
            const std::string& rules = kRules) {
    api_.reset();
    dedup_.reset();
    pipeline_.reset();
    dispatcher_.reset();
    store_.reset();
    auto opened = storage::Store::open(options);
    ASSERT_TRUE(opened) << opened.status().message();
    store_ = std::move(*opened);
    dispatcher_ = std::make_unique<destinations::Dispatcher>(destinations::Options{}, *store_, registry_);
    config::Config c;
    std::vector<config::ConfigError> errors;
    ASSERT_TRUE(config::load_text(
        "api_destinations: [{name: rx, endpoint: 'http://127.0.0.1:9/x'}]\n" + buses + rules +
            "webhooks: [{name: gh, bus: orders, source: shop, detail_type_header: X-GitHub-Event},\n"
            "           {name: custom, bus: orders, source: shop, detail_type: d, deduplicate_by: 'body:delivery'},\n"
            "           {name: plain, bus: orders, source: shop, detail_type: d, deduplicate_by: none}]\n",
        "t.yaml", &c, &errors))
        << (errors.empty() ? "" : errors[0].message);
    routing_ = build_routing(c, registry_);
    pipeline_ = std::make_unique<Pipeline>(*store_, *dispatcher_);
    dedup_ = std::make_unique<DedupGate>(*store_, registry_);
    api_ = std::make_unique<IngestApi>(IngestApiDeps{
        .options = {}, .routing = [this] { return routing_; }, .pipeline = *pipeline_, .cpu = cpu_, .dedup = *dedup_});
  }
  void SetUp() override { open({.path = "/ingest", .in_memory = true}); }

  Response call(http::verb method, const std::string& target, std::string body = "",
                std::vector<std::pair<std::string, std::string>> headers = {}) {
    Request req{method, target, 11};
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = std::move(body);
    req.prepare_payload();
    asio::io_context ioc;
    auto answer = asio::co_spawn(ioc, api_->handle(req), asio::use_future);
    ioc.run();
    return answer.get();
  }

  testing::TempDir dir_;
  prometheus::Registry registry_;
  CpuWork cpu_{1};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<destinations::Dispatcher> dispatcher_;  // not started: deliveries stay stored
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<DedupGate> dedup_;
  std::shared_ptr<const Routing> routing_;
  std::unique_ptr<IngestApi> api_;
};

TEST_F(IngestApiTest, TheBusRouteStoresTheEventAndItsDelivery) {
  const Response r =
      call(http::verb::post, "/buses/orders/events", R"({"source":"shop","detail-type":"placed","detail":{"id":1}})");
  ASSERT_EQ(r.result(), http::status::ok) << r.body();
  const auto body = nlohmann::json::parse(r.body());
  EXPECT_EQ(body["FailedEntryCount"], 0);
  const std::string id = body["Entries"][0]["EventId"];
  EXPECT_EQ(*store_->count_tasks("rx"), 1u);
  uint64_t events = 0;
  ASSERT_TRUE(store_->scan_events(0, INT64_MAX, [&](const std::string& record) {
    EXPECT_NE(record.find(id), std::string::npos);
    ++events;
    return true;
  }));
  EXPECT_EQ(events, 1u);
}

TEST_F(IngestApiTest, AnEventNoRuleMatchesIsStoredWithoutDeliveries) {
  const Response r =
      call(http::verb::post, "/buses/orders/events", R"({"source":"other","detail-type":"x","detail":{}})");
  ASSERT_EQ(r.result(), http::status::ok) << r.body();
  EXPECT_EQ(nlohmann::json::parse(r.body())["FailedEntryCount"], 0);
  EXPECT_EQ(*store_->count_tasks(), 0u);
}

TEST_F(IngestApiTest, PutEventsAnswersInAwsJson) {
  const Response r = call(http::verb::post, "/",
                          R"({"Entries":[{"EventBusName":"orders","Source":"shop","DetailType":"t","Detail":"{}"},)"
                          R"({"EventBusName":"nope","Source":"shop","DetailType":"t","Detail":"{}"}]})",
                          {{"X-Amz-Target", "AWSEvents.PutEvents"}, {"Content-Type", "application/x-amz-json-1.1"}});
  ASSERT_EQ(r.result(), http::status::ok) << r.body();
  EXPECT_EQ(r[http::field::content_type], "application/x-amz-json-1.1");
  const auto body = nlohmann::json::parse(r.body());
  EXPECT_EQ(body["FailedEntryCount"], 1);
  EXPECT_TRUE(body["Entries"][0].contains("EventId"));
  EXPECT_EQ(body["Entries"][1]["ErrorCode"], "InvalidArgument");
  EXPECT_NE(body["Entries"][1]["ErrorMessage"].get<std::string>().find("Event bus nope does not exist"),
            std::string::npos);
  EXPECT_EQ(*store_->count_tasks("rx"), 1u);
}

TEST_F(IngestApiTest, BadInputIsAnAnswerAndStoresNothing) {
  EXPECT_EQ(call(http::verb::post, "/buses/nope/events", "{}").result(), http::status::not_found);
  EXPECT_EQ(call(http::verb::get, "/buses/orders/events").result(), http::status::method_not_allowed);
  EXPECT_EQ(call(http::verb::post, "/buses/orders/events", "{not json").result(), http::status::bad_request);
  const Response unknown = call(http::verb::post, "/", "{}", {{"X-Amz-Target", "AWSEvents.Nope"}});
  EXPECT_EQ(unknown.result(), http::status::bad_request);
  EXPECT_NE(unknown.body().find("UnknownOperationException"), std::string::npos);
  EXPECT_EQ(call(http::verb::get, "/healthz").result(), http::status::ok);
  EXPECT_EQ(*store_->count_tasks(), 0u);
}

TEST_F(IngestApiTest, AStoreThatCannotWriteIsA503AndNothingIsAccepted) {
  open({.path = dir_.path(), .min_free_bytes = 1ull << 62});  // more than any disk has free
  const Response r =
      call(http::verb::post, "/buses/orders/events", R"({"source":"shop","detail-type":"x","detail":{}})");
  EXPECT_EQ(r.result(), http::status::service_unavailable);
  EXPECT_NE(r.body().find("nothing was accepted"), std::string::npos) << r.body();
  EXPECT_EQ(*store_->count_tasks(), 0u);
}

// Publish deduplication (eventbridge-v2.md §5): an id accepted within the
// window answers DEDUPLICATED with the first event's id and stores nothing.
nlohmann::json entries_of(const Response& r) {
  EXPECT_EQ(r.result(), http::status::ok) << r.body();
  return nlohmann::json::parse(r.body(), nullptr, false)["Entries"];
}

TEST_F(IngestApiTest, AnIdempotencyKeyRepeatedIsAcknowledgedAndStoredOnce) {
  const std::string entry = R"({"source":"shop","detail-type":"placed","detail":{"id":1}})";
  const auto first = entries_of(call(http::verb::post, "/buses/orders/events", entry, {{"Idempotency-Key", "k-1"}}));
  EXPECT_EQ(first[0]["SuccessCode"], "PUBLISHED");
  const auto again = entries_of(call(http::verb::post, "/buses/orders/events", entry, {{"Idempotency-Key", "k-1"}}));
  EXPECT_EQ(again[0]["SuccessCode"], "DEDUPLICATED");
  EXPECT_EQ(again[0]["EventId"], first[0]["EventId"]);
  EXPECT_EQ(*store_->count_tasks("rx"), 1u);
  // Another key, or none, is another event.
  const auto other = entries_of(call(http::verb::post, "/buses/orders/events", entry, {{"Idempotency-Key", "k-2"}}));
  EXPECT_EQ(other[0]["SuccessCode"], "PUBLISHED");
  const auto plain = entries_of(call(http::verb::post, "/buses/orders/events", entry));
  EXPECT_FALSE(plain[0].contains("SuccessCode"));
  EXPECT_EQ(*store_->count_tasks("rx"), 3u);
}

TEST_F(IngestApiTest, ConcurrentRequestsWithOneKeyStoreOneEvent) {
  constexpr int kRequests = 16;
  asio::io_context ioc;
  std::vector<std::future<Response>> answers;
  for (int i = 0; i < kRequests; ++i) {
    Request req{http::verb::post, "/buses/orders/events", 11};
    req.set("Idempotency-Key", "same");
    req.body() = R"({"source":"shop","detail-type":"placed","detail":{}})";
    req.prepare_payload();
    answers.push_back(asio::co_spawn(
        ioc, [this, req]() -> asio::awaitable<Response> { co_return co_await api_->handle(req); }, asio::use_future));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([&ioc] { ioc.run(); });
  for (auto& t : threads) t.join();
  int published = 0, deduplicated = 0, busy = 0;
  std::set<std::string> ids;
  for (auto& a : answers) {
    const auto entry = entries_of(a.get())[0];
    if (entry.contains("SuccessCode")) {
      ids.insert(entry["EventId"].get<std::string>());
      (entry["SuccessCode"] == "PUBLISHED" ? published : deduplicated)++;
    } else {
      EXPECT_EQ(entry["ErrorCode"], "ConcurrentModificationException") << entry;
      ++busy;
    }
  }
  EXPECT_EQ(published, 1);
  EXPECT_EQ(published + deduplicated + busy, kRequests);
  EXPECT_EQ(ids.size(), 1u);  // every success names the one event
  EXPECT_EQ(*store_->count_tasks("rx"), 1u);
}

TEST_F(IngestApiTest, EntriesCarryTheirOwnIdsAndARepeatInOneRequestIsStoredOnce) {
  const auto r = entries_of(call(http::verb::post, "/buses/orders/events",
                                 R"([{"source":"shop","detail-type":"a","detail":{},"deduplication-id":"d1"},)"
                                 R"({"source":"shop","detail-type":"a","detail":{},"deduplication-id":"d1"},)"
                                 R"({"source":"shop","detail-type":"a","detail":{},"deduplication-id":" "},)"
                                 R"({"source":"shop","detail-type":"a","detail":{},"deduplication-id":"d2"}])"));
  EXPECT_EQ(r[0]["SuccessCode"], "PUBLISHED");
  EXPECT_EQ(r[1]["SuccessCode"], "DEDUPLICATED");
  EXPECT_EQ(r[1]["EventId"], r[0]["EventId"]);
  EXPECT_EQ(r[2]["ErrorCode"], "InvalidArgument");
  EXPECT_NE(r[2]["ErrorMessage"].get<std::string>().find("deduplication-id"), std::string::npos);
  EXPECT_EQ(r[3]["SuccessCode"], "PUBLISHED");
  EXPECT_EQ(*store_->count_tasks("rx"), 2u);
}

TEST_F(IngestApiTest, ADeduplicationIdHoldsAcrossARestartAndEndsWithItsWindow) {
  const std::string buses = "buses: [{name: orders, deduplication: {window_seconds: 2}}]\n";
  open({.path = dir_.path()}, buses);
  const std::string entry = R"({"source":"shop","detail-type":"a","detail":{},"deduplication-id":"once"})";
  const auto first = entries_of(call(http::verb::post, "/buses/orders/events", entry));
  open({.path = dir_.path()}, buses);  // a restart
  const auto again = entries_of(call(http::verb::post, "/buses/orders/events", entry));
  EXPECT_EQ(again[0]["SuccessCode"], "DEDUPLICATED");
  EXPECT_EQ(again[0]["EventId"], first[0]["EventId"]);
  EXPECT_EQ(*store_->count_tasks("rx"), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  const auto later = entries_of(call(http::verb::post, "/buses/orders/events", entry));
  EXPECT_EQ(later[0]["SuccessCode"], "PUBLISHED");
  EXPECT_NE(later[0]["EventId"], first[0]["EventId"]);
  EXPECT_EQ(*store_->count_tasks("rx"), 2u);
}

TEST_F(IngestApiTest, ContentBasedDeduplicationTakesTheEntrysContent) {
  open({.path = "/ingest-content", .in_memory = true},
       "buses: [{name: orders, deduplication: {content_based: true}}]\n");
  const std::string a = R"({"source":"shop","detail-type":"a","detail":{"n":1}})";
  const auto first = entries_of(call(http::verb::post, "/buses/orders/events", a));
  const auto same = entries_of(call(http::verb::post, "/buses/orders/events", a));
  const auto other = entries_of(
      call(http::verb::post, "/buses/orders/events", R"({"source":"shop","detail-type":"a","detail":{"n":2}})"));
  EXPECT_EQ(first[0]["SuccessCode"], "PUBLISHED");
  EXPECT_EQ(same[0]["SuccessCode"], "DEDUPLICATED");
  EXPECT_EQ(other[0]["SuccessCode"], "PUBLISHED");
  EXPECT_EQ(*store_->count_tasks("rx"), 2u);
}

TEST_F(IngestApiTest, AWebhookSentAgainIsStoredOnce) {
  const std::vector<std::pair<std::string, std::string>> delivery{{"X-GitHub-Event", "push"},
                                                                  {"X-GitHub-Delivery", "72d3162e-cc78"}};
  const auto first = entries_of(call(http::verb::post, "/webhooks/gh", R"({"ref":"main"})", delivery));
  const auto again = entries_of(call(http::verb::post, "/webhooks/gh", R"({"ref":"main"})", delivery));
  EXPECT_EQ(again[0]["SuccessCode"], "DEDUPLICATED");
  EXPECT_EQ(again[0]["EventId"], first[0]["EventId"]);
  // Standard Webhooks' webhook-id, a member of the body, and a route that does not deduplicate.
  const auto std1 =
      entries_of(call(http::verb::post, "/webhooks/gh", "{}", {{"X-GitHub-Event", "x"}, {"webhook-id", "msg_1"}}));
  const auto std2 =
      entries_of(call(http::verb::post, "/webhooks/gh", "{}", {{"X-GitHub-Event", "x"}, {"webhook-id", "msg_1"}}));
  EXPECT_EQ(std2[0]["SuccessCode"], "DEDUPLICATED");
  EXPECT_EQ(std2[0]["EventId"], std1[0]["EventId"]);
  EXPECT_EQ(entries_of(call(http::verb::post, "/webhooks/custom", R"({"delivery":7})"))[0]["SuccessCode"], "PUBLISHED");
  EXPECT_EQ(entries_of(call(http::verb::post, "/webhooks/custom", R"({"delivery":7})"))[0]["SuccessCode"],
            "DEDUPLICATED");
  const auto p1 = entries_of(call(http::verb::post, "/webhooks/plain", "{}", {{"webhook-id", "msg_1"}}));
  const auto p2 = entries_of(call(http::verb::post, "/webhooks/plain", "{}", {{"webhook-id", "msg_1"}}));
  EXPECT_NE(p1[0]["EventId"], p2[0]["EventId"]);
  EXPECT_FALSE(p2[0].contains("SuccessCode"));
  EXPECT_EQ(*store_->count_tasks("rx"), 5u);
}

// CloudEvents 1.0 on the bus route, in the HTTP binding's three modes; the
// requests are the binding's own examples (http-protocol-binding.md 3.1.4,
// 3.2.4) with their placeholders filled in.
class CloudEventsIngestTest : public IngestApiTest {
 protected:
  // The one stored event's envelope.
  nlohmann::json stored(const std::string& id) {
    nlohmann::json found;
    EXPECT_TRUE(store_->scan_events(0, INT64_MAX, [&](const std::string& record) {
      auto r = nlohmann::json::parse(record);
      if (r["event"]["id"] == id) found = r["event"];
      return true;
    }));
    return found;
  }
};

TEST_F(CloudEventsIngestTest, BinaryModeMapsTheAttributesAndTheDataIsTheDetail) {
  const auto r = entries_of(call(http::verb::post, "/buses/orders/events", R"({"orderId": 42, "total": 1.50})",
                                 {{"ce-specversion", "1.0"},
                                  {"ce-type", "com.example.someevent"},
                                  {"ce-time", "2018-04-05T03:56:24Z"},
                                  {"ce-id", "1234-1234-1234"},
                                  {"ce-source", "/mycontext/subcontext"},
                                  {"ce-subject", "order%2042%20%E2%82%AC"},
                                  {"Content-Type", "application/json; charset=utf-8"}}));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["SuccessCode"], "PUBLISHED");  // source + id deduplicate
  const auto e = stored(r[0]["EventId"]);
  EXPECT_EQ(e["source"], "/mycontext/subcontext");
  EXPECT_EQ(e["detail-type"], "com.example.someevent");
  EXPECT_EQ(e["time"], "2018-04-05T03:56:24Z");
  EXPECT_EQ(e["resources"], nlohmann::json::array({"order 42 \u20ac"}));
  EXPECT_EQ(e["detail"]["orderId"], 42);
  EXPECT_EQ(e["detail"]["total"], 1.5);
  bool exact = false;  // the stored envelope keeps the number's text as sent
  ASSERT_TRUE(store_->scan_events(0, INT64_MAX, [&](const std::string& record) {
    exact = exact || record.find(R"("detail":{"orderId":42,"total":1.50})") != std::string::npos;
    return true;
  }));
  EXPECT_TRUE(exact);
  // Sent again (a sender's retry): the same event.
  const auto again = entries_of(call(http::verb::post, "/buses/orders/events", R"({"orderId": 42})",
                                     {{"ce-specversion", "1.0"},
                                      {"ce-type", "com.example.someevent"},
                                      {"ce-id", "1234-1234-1234"},
                                      {"ce-source", "/mycontext/subcontext"},
                                      {"Content-Type", "application/json"}}));
  EXPECT_EQ(again[0]["SuccessCode"], "DEDUPLICATED");
  EXPECT_EQ(again[0]["EventId"], r[0]["EventId"]);
  // Data that is not JSON is kept as base64.
  const auto text = entries_of(call(http::verb::post, "/buses/orders/events", "hello",
                                    {{"ce-specversion", "1.0"},
                                     {"ce-type", "t"},
                                     {"ce-id", "2"},
                                     {"ce-source", "s"},
                                     {"Content-Type", "text/plain"}}));
  EXPECT_EQ(stored(text[0]["EventId"])["detail"], nlohmann::json({{"data_base64", "aGVsbG8="}}));
  EXPECT_EQ(*store_->count_tasks("rx"), 0u);  // source is not "shop": nothing matched
}

TEST_F(CloudEventsIngestTest, StructuredAndBatchedModes) {
  const auto one =
      entries_of(call(http::verb::post, "/buses/orders/events",
                      R"({"specversion":"1.0","type":"com.example.someevent","source":"shop",)"
                      R"("id":"A234-1234-1234","time":"2018-04-05T17:31:00Z","comexampleextension1":"value",)"
                      R"("datacontenttype":"application/json","data":{"appinfoA":"abc","appinfoB":123}})",
                      {{"Content-Type", "application/cloudevents+json; charset=utf-8"}}));
  const auto e = stored(one[0]["EventId"]);
  EXPECT_EQ(e["detail"], nlohmann::json({{"appinfoA", "abc"}, {"appinfoB", 123}}));
  EXPECT_EQ(e["time"], "2018-04-05T17:31:00Z");
  EXPECT_EQ(*store_->count_tasks("rx"), 1u);  // source shop: the rule matched
  const auto batch = call(http::verb::post, "/buses/orders/events",
                          R"([{"specversion":"1.0","type":"t","source":"shop","id":"b1","data":"plain text"},)"
                          R"({"specversion":"1.0","source":"shop","id":"b2"},)"
                          R"({"specversion":"1.0","type":"t","source":"shop","id":"b3","data_base64":"AAEC"}])",
                          {{"Content-Type", "application/cloudevents-batch+json"}});
  const auto body = nlohmann::json::parse(batch.body());
  EXPECT_EQ(body["FailedEntryCount"], 1);
  EXPECT_EQ(stored(body["Entries"][0]["EventId"])["detail"], nlohmann::json({{"data", "plain text"}}));
  EXPECT_EQ(body["Entries"][1]["ErrorCode"], "InvalidArgument");
  EXPECT_EQ(body["Entries"][1]["ErrorMessage"], "The CloudEvent has no type.");
  EXPECT_EQ(stored(body["Entries"][2]["EventId"])["detail"], nlohmann::json({{"data_base64", "AAEC"}}));
  // A single event that is not valid refuses the request.
  const Response old =
      call(http::verb::post, "/buses/orders/events", R"({"specversion":"0.3","type":"t","source":"s","id":"x"})",
           {{"Content-Type", "application/cloudevents+json"}});
  EXPECT_EQ(old.result(), http::status::bad_request);
  EXPECT_NE(old.body().find("only 1.0 is supported"), std::string::npos) << old.body();
  const Response missing =
      call(http::verb::post, "/buses/orders/events", "{}", {{"ce-specversion", "1.0"}, {"ce-type", "t"}});
  EXPECT_EQ(missing.result(), http::status::bad_request);
  EXPECT_NE(missing.body().find("no id"), std::string::npos) << missing.body();
  EXPECT_EQ(*store_->count_tasks("rx"), 3u);
}

// Event-bus targets: the event is routed on the target bus in the same
// write, each bus once (a loop ends where it began).
TEST_F(IngestApiTest, ABusTargetRoutesTheEventOnThatBusOnce) {
  open({.path = "/ingest-bus", .in_memory = true}, "buses: [{name: orders}, {name: audit}, {name: archive}]\n",
       "rules:\n"
       "  - {name: fwd, bus: orders, event_pattern: {source: [shop]}, targets: [{id: b, bus: audit}]}\n"
       "  - {name: keep, bus: audit, event_pattern: {source: [shop]},\n"
       "     targets: [{id: t, destination: rx}, {id: back, bus: orders}, {id: on, bus: archive}]}\n"
       "  - {name: keep, bus: archive, event_pattern: {source: [shop]}, targets: [{id: t, destination: rx}]}\n");
  const auto r =
      entries_of(call(http::verb::post, "/buses/orders/events", R"({"source":"shop","detail-type":"x","detail":{}})"));
  const std::string id = r[0]["EventId"];
  std::vector<std::string> ids;
  ASSERT_TRUE(store_->scan_tasks([&](core::DeliveryTask&& t) {
    EXPECT_EQ(t.event_id, id);
    ids.push_back(t.id + " on " + t.bus);
  }));
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"msg_" + id + "_archive_keep_t on archive",
                                           "msg_" + id + "_audit_keep_t on audit"}));
  const std::string metrics = [&] {
    std::string all;
    for (const auto& f : registry_.Collect())
      if (f.name == "switchyard_bus_forwarded_events_total")
        for (const auto& m : f.metric) {
          for (const auto& l : m.label) all += l.value + ",";
          all += std::to_string(static_cast<int>(m.counter.value)) + ";";
        }
    return all;
  }();
  EXPECT_NE(metrics.find("audit,forwarded,1;"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("archive,forwarded,1;"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("orders,loop,1;"), std::string::npos) << metrics;
}

}  // namespace
}  // namespace switchyard::bus
