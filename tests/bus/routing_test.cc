#include "switchyard/bus/routing.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "switchyard/config/config.h"
#include "switchyard/core/event.h"

namespace switchyard::bus {
namespace {

config::Config config_with_rules() {
  config::Config c;
  std::vector<config::ConfigError> errors;
  const bool ok = config::load_text(R"(
buses: [{name: default}, {name: orders, account: "111122223333", region: eu-west-1}]
api_destinations:
  - {name: d1, endpoint: "http://127.0.0.1:1/x/*"}
  - {name: d2, endpoint: "http://127.0.0.1:2/"}
rules:
  - name: big
    bus: orders
    event_pattern: {source: [shop], detail: {kind: [big, huge]}}
    targets:
      - {id: a, destination: d1, http_parameters: {path_parameter_values: [eu]}, retry_policy: {maximum_retry_attempts: 3}}
      - {id: b, destination: d2}
  - name: all-shop
    bus: orders
    event_pattern: {source: [shop]}
    targets: [{id: c, destination: d2}]
  - name: off
    bus: orders
    state: DISABLED
    event_pattern: {source: [shop]}
    targets: [{id: c, destination: d2}]
)",
                                    "t.yaml", &c, &errors);
  EXPECT_TRUE(ok) << (errors.empty() ? "" : errors[0].format());
  return c;
}

core::Event shop_event(const std::string& kind) {
  core::Event e;
  e.id = "e1";
  e.source = "shop";
  e.detail_type = "t";
  e.bus = "orders";
  e.detail = R"({"kind":")" + kind + R"("})";
  e.ingested_ms = 1000;
  return e;
}

TEST(RoutingTest, RendersOneTaskPerMatchingRuleAndTarget) {
  prometheus::Registry registry;
  auto routing = build_routing(config_with_rules(), registry);
  const BusRoute& bus = routing->buses.at("orders");
  const core::Event e = shop_event("huge");
  const std::string envelope = core::envelope_json(e);
  std::vector<core::DeliveryTask> tasks;
  EXPECT_EQ(route_event(bus, e, envelope, tasks), 2u);
  ASSERT_EQ(tasks.size(), 3u);
  EXPECT_EQ(tasks[0].rule, "big");
  EXPECT_EQ(tasks[0].destination, "d1");
  EXPECT_EQ(tasks[0].path_params, std::vector<std::string>{"eu"});
  EXPECT_EQ(tasks[0].retry.maximum_retry_attempts, 3u);
  EXPECT_EQ(tasks[0].body, envelope);
  EXPECT_EQ(tasks[0].rule_arn, "arn:aws:events:eu-west-1:111122223333:rule/orders/big");
  EXPECT_EQ(tasks[1].target, "b");
  EXPECT_EQ(tasks[2].rule, "all-shop");
  EXPECT_NE(tasks[0].id, tasks[1].id);
  EXPECT_EQ(tasks[0].due_ms, 1000);
}

TEST(RoutingTest, NonMatchingEventsAndDisabledRulesProduceNothing) {
  prometheus::Registry registry;
  auto routing = build_routing(config_with_rules(), registry);
  const BusRoute& bus = routing->buses.at("orders");
  core::Event e = shop_event("small");
  e.source = "other";
  std::vector<core::DeliveryTask> tasks;
  EXPECT_EQ(route_event(bus, e, core::envelope_json(e), tasks), 0u);
  EXPECT_TRUE(tasks.empty());
  EXPECT_EQ(bus.rules.size(), 2u);  // the disabled rule is not compiled in
}

TEST(RoutingTest, RuleArnOnTheDefaultBusHasNoBusName) {
  BusSettings b;
  b.name = "default";
  b.account = "123456789012";
  EXPECT_EQ(rule_arn(b, "r"), "arn:aws:events:us-east-1:123456789012:rule/r");
}

}  // namespace
}  // namespace switchyard::bus
