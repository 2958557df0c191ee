// The ingest API on bytes: a request in, a response out, no socket. The
// store is a real one (in memory unless a test needs a disk); the answer
// says what was stored, and the store agrees.
#include "ingest_api.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <nlohmann/json.hpp>

#include <chrono>
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
  void open(storage::Options options, const std::string& buses = "buses: [{name: orders}]\n") {
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
        "api_destinations: [{name: rx, endpoint: 'http://127.0.0.1:9/x'}]\n" + buses +
            "rules: [{name: r, bus: orders, event_pattern: {source: [shop]}, targets: [{id: t, destination: rx}]}]\n"
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

}  // namespace
}  // namespace switchyard::bus
