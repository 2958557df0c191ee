// The ingest API on bytes: a request in, a response out, no socket. The
// store is a real one (in memory unless a test needs a disk); the answer
// says what was stored, and the store agrees.
#include "ingest_api.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <nlohmann/json.hpp>

#include "switchyard/config/config.h"
#include "switchyard/destinations/dispatcher.h"
#include "switchyard/storage/store.h"
#include "testing/temp_dir.h"

namespace switchyard::bus {
namespace {

namespace asio = boost::asio;

class IngestApiTest : public ::testing::Test {
 protected:
  void open(storage::Options options) {
    auto opened = storage::Store::open(options);
    ASSERT_TRUE(opened) << opened.status().message();
    store_ = std::move(*opened);
    dispatcher_ = std::make_unique<destinations::Dispatcher>(destinations::Options{}, *store_, registry_);
    config::Config c;
    std::vector<config::ConfigError> errors;
    ASSERT_TRUE(config::load_text(
        "api_destinations: [{name: rx, endpoint: 'http://127.0.0.1:9/x'}]\n"
        "buses: [{name: orders}]\n"
        "rules: [{name: r, bus: orders, event_pattern: {source: [shop]}, targets: [{id: t, destination: rx}]}]\n",
        "t.yaml", &c, &errors))
        << (errors.empty() ? "" : errors[0].message);
    routing_ = build_routing(c, registry_);
    pipeline_ = std::make_unique<Pipeline>(*store_, *dispatcher_);
    api_ = std::make_unique<IngestApi>(
        IngestApiDeps{.options = {}, .routing = [this] { return routing_; }, .pipeline = *pipeline_, .cpu = cpu_});
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

}  // namespace
}  // namespace switchyard::bus
