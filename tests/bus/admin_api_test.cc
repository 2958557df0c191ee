// The admin API on bytes: a request in, a response out, no socket.
#include "admin_api.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <nlohmann/json.hpp>

#include "switchyard/config/config.h"
#include "switchyard/destinations/dispatcher.h"
#include "switchyard/storage/store.h"
#include "testing/temp_dir.h"

namespace switchyard::bus {
namespace {

class AdminApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = storage::Store::open({.path = dir_.path()});
    ASSERT_TRUE(opened) << opened.status().message();
    store_ = std::move(*opened);
    dispatcher_ = std::make_unique<destinations::Dispatcher>(destinations::Options{}, *store_, registry_);
    config::Config c;
    std::vector<config::ConfigError> errors;
    ASSERT_TRUE(
        config::load_text("api_destinations: [{name: rx, endpoint: 'http://127.0.0.1:9/x'}]\n"
                          "rules: [{name: r, event_pattern: {source: [a]}, targets: [{id: t, destination: rx}]}]\n",
                          "t.yaml", &c, &errors));
    routing_ = build_routing(c, registry_);
    destinations::Destination rx;  // option structs are filled by name
    rx.name = "rx";
    rx.endpoint = "http://127.0.0.1:9/x";
    dispatcher_->set_destinations({rx});
    dispatcher_->start();
    api_ = std::make_unique<AdminApi>(AdminApiDeps{.admin_token = "s3cret-token-0123456789",
                                                   .store = *store_,
                                                   .dispatcher = *dispatcher_,
                                                   .registry = registry_,
                                                   .routing = [this] { return routing_; },
                                                   .reload = [this]() -> ReloadHandler {
                                                     return [this](std::string* report) {
                                                       ++reloads_;
                                                       *report = R"({"reloaded":true})";
                                                       return true;
                                                     };
                                                   },
                                                   .replayer = [] { return static_cast<Replayer*>(nullptr); },
                                                   .subscribers = {},
                                                   .cluster = {}});
  }
  void TearDown() override {
    if (dispatcher_) dispatcher_->stop();
  }

  Response call(http::verb method, const std::string& target, std::string body = "", bool token = true) {
    Request req{method, target, 11};
    if (token) req.set(http::field::authorization, "Bearer s3cret-token-0123456789");
    req.body() = std::move(body);
    req.prepare_payload();
    return api_->handle(req);
  }

  testing::TempDir dir_;
  prometheus::Registry registry_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<destinations::Dispatcher> dispatcher_;
  std::shared_ptr<const Routing> routing_;
  std::unique_ptr<AdminApi> api_;
  int reloads_ = 0;
};

TEST_F(AdminApiTest, TheTokenGuardsEverythingButHealth) {
  EXPECT_EQ(call(http::verb::get, "/healthz", "", false).result(), http::status::ok);
  const Response r = call(http::verb::get, "/admin/rules", "", false);
  EXPECT_EQ(r.result(), http::status::unauthorized);
  EXPECT_EQ(r[http::field::www_authenticate], "Bearer");
  EXPECT_EQ(call(http::verb::get, "/metrics", "", false).result(), http::status::unauthorized);
}

TEST_F(AdminApiTest, RoutesAnswerOnBytes) {
  Response r = call(http::verb::get, "/admin/rules");
  ASSERT_EQ(r.result(), http::status::ok);
  const auto rules = nlohmann::json::parse(r.body());
  EXPECT_EQ(rules["rules"][0]["name"], "r");
  EXPECT_EQ(rules["rules"][0]["targets"][0]["destination"], "rx");

  r = call(http::verb::get, "/metrics");
  EXPECT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(r[http::field::content_type], "text/plain; version=0.0.4");

  r = call(http::verb::post, "/admin/test-event-pattern",
           nlohmann::json{{"EventPattern", R"({"source":["a"]})"},
                          {"Event", R"({"id":"1","account":"1","source":"a","time":"2025-01-01T00:00:00Z",)"
                                    R"("region":"r","resources":[],"detail-type":"t","detail":{}})"}}
               .dump());
  EXPECT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(r.body(), R"({"Result":true})");

  r = call(http::verb::post, "/admin/reload");
  EXPECT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(reloads_, 1);

  r = call(http::verb::get, "/admin/dlq/rx?limit=0");
  EXPECT_EQ(r.result(), http::status::bad_request);
  r = call(http::verb::get, "/admin/dlq/nope");
  EXPECT_EQ(r.result(), http::status::not_found);
  EXPECT_EQ(nlohmann::json::parse(r.body())["code"], "ResourceNotFoundException");
  r = call(http::verb::post, "/admin/replays", "{}");
  EXPECT_EQ(r.result(), http::status::not_implemented);  // no replayer here
  r = call(http::verb::get, "/admin/nowhere");
  EXPECT_EQ(r.result(), http::status::not_found);
  EXPECT_EQ(nlohmann::json::parse(r.body())["code"], "NotFound");
}

// The route table: methods, placeholders and sub-trees answer as before.
TEST_F(AdminApiTest, TheRouteTableKeepsEveryAnswer) {
  Response r = call(http::verb::post, "/admin/destinations/nope/pause");
  EXPECT_EQ(r.result(), http::status::not_found);
  EXPECT_EQ(nlohmann::json::parse(r.body())["code"], "ResourceNotFoundException");
  r = call(http::verb::post, "/admin/destinations/rx/pause");
  EXPECT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(nlohmann::json::parse(r.body())["state"], "paused");
  r = call(http::verb::post, "/admin/destinations/rx/resume");
  EXPECT_EQ(nlohmann::json::parse(r.body())["state"], "active");
  r = call(http::verb::get, "/admin/destinations/rx/pause");  // a known path with another method
  EXPECT_EQ(r.result(), http::status::not_found);
  r = call(http::verb::get, "/admin/dlq/rx");
  EXPECT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(nlohmann::json::parse(r.body())["dlq_depth"], 0);
  r = call(http::verb::delete_, "/admin/dlq/rx");
  EXPECT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(nlohmann::json::parse(r.body())["purged"], 0);
  r = call(http::verb::post, "/admin/dlq/rx/redrive?limit=5");
  EXPECT_EQ(nlohmann::json::parse(r.body())["redriven"], 0);
  r = call(http::verb::put, "/admin/archives");
  EXPECT_EQ(r.result(), http::status::method_not_allowed);
  r = call(http::verb::get, "/admin/archives");
  EXPECT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(call(http::verb::get, "/admin/replays/x/y/z").result(), http::status::not_implemented);
}

}  // namespace
}  // namespace switchyard::bus
