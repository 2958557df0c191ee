#include "switchyard/bus/ingest.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace switchyard::bus {
namespace {

const config::BusConfig kBus = [] {
  config::BusConfig b;
  b.name = "orders";
  b.account = "111122223333";
  b.region = "eu-west-1";
  return b;
}();
constexpr int64_t kNow = 1740824130123;

TEST(ParseBusEventsTest, SingleEntryBuildsTheEnvelope) {
  auto p = parse_bus_events(R"({"source":"shop","detail-type":"OrderPlaced","detail":{"id":42},
                                "resources":["urn:1"]})",
                            kBus, kNow);
  ASSERT_EQ(p.error.http_status, 0) << p.error.message;
  ASSERT_EQ(p.events.size(), 1u);
  const auto& e = p.events[0];
  EXPECT_EQ(e.source, "shop");
  EXPECT_EQ(e.detail_type, "OrderPlaced");
  EXPECT_EQ(e.detail, R"({"id":42})");
  EXPECT_EQ(e.account, "111122223333");
  EXPECT_EQ(e.region, "eu-west-1");
  EXPECT_EQ(e.bus, "orders");
  EXPECT_EQ(e.time, kNow / 1000);
  EXPECT_EQ(e.resources, std::vector<std::string>{"urn:1"});
  EXPECT_EQ(p.results[0].event_id, e.id);
}

TEST(ParseBusEventsTest, DetailMayBeAStringHoldingAnObject) {
  auto p = parse_bus_events(R"({"source":"s","detail-type":"t","detail":"{ \"a\" : 1.50 }"})", kBus, kNow);
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].detail, R"({"a":1.50})");  // number text kept as written
}

TEST(ParseBusEventsTest, PerEntryErrorsKeepOrder) {
  auto p = parse_bus_events(R"([
      {"source":"s","detail-type":"t","detail":{}},
      {"source":"s","detail-type":"","detail":{}},
      {"detail-type":"t","detail":{}},
      {"source":"s","detail-type":"t"},
      {"source":"s","detail-type":"t","detail":"[]"},
      {"source":"s","detail-type":"t","detail":"\"x\""},
      {"source":"s","detail-type":"t","detail":"{"}
  ])",
                            kBus, kNow);
  ASSERT_EQ(p.error.http_status, 0);
  ASSERT_EQ(p.results.size(), 7u);
  EXPECT_TRUE(p.results[0].ok());
  EXPECT_EQ(p.results[1].error_message,
            "Parameter DetailType is not valid. Reason: DetailType is a required argument.");
  EXPECT_EQ(p.results[2].error_message, "Parameter Source is not valid. Reason: Source is a required argument.");
  EXPECT_EQ(p.results[3].error_message, "Parameter Detail is not valid. Reason: Detail is a required argument.");
  for (int i = 4; i < 7; ++i) {
    EXPECT_EQ(p.results[i].error_code, "MalformedDetail") << i;
    EXPECT_EQ(p.results[i].error_message, "Detail is malformed.") << i;
  }
  EXPECT_EQ(p.events.size(), 1u);
  const auto body = nlohmann::json::parse(put_events_response(p.results));
  EXPECT_EQ(body["FailedEntryCount"], 6);
  EXPECT_EQ(body["Entries"].size(), 7u);
  EXPECT_EQ(body["Entries"][0]["EventId"], p.events[0].id);
  EXPECT_EQ(body["Entries"][1]["ErrorCode"], "InvalidArgument");
}

TEST(ParseBusEventsTest, TimeAsIsoWithOffsetOrEpochSeconds) {
  auto p = parse_bus_events(R"([{"source":"s","detail-type":"t","detail":{},"time":"2025-03-01T12:15:30.9+02:00"},
                                 {"source":"s","detail-type":"t","detail":{},"time":1740824130.75},
                                 {"source":"s","detail-type":"t","detail":{},"time":"noon"}])",
                            kBus, kNow);
  ASSERT_EQ(p.events.size(), 2u);
  EXPECT_EQ(p.events[0].time, 1740824130);
  EXPECT_EQ(p.events[1].time, 1740824130);
  EXPECT_EQ(p.results[2].error_code, "InvalidArgument");
}

TEST(ParseBusEventsTest, RequestLevelErrors) {
  EXPECT_EQ(parse_bus_events("{nope", kBus, kNow).error.code, "MalformedJSON");
  EXPECT_EQ(parse_bus_events("\"x\"", kBus, kNow).error.code, "ValidationException");
  EXPECT_EQ(parse_bus_events("[]", kBus, kNow).error.code, "ValidationException");
  std::string eleven = "[";
  for (int i = 0; i < 11; ++i) eleven += std::string(i ? "," : "") + R"({"source":"s","detail-type":"t","detail":{}})";
  eleven += "]";
  EXPECT_EQ(parse_bus_events(eleven, kBus, kNow).error.code, "ValidationException");
}

TEST(ParseBusEventsTest, SizeLimitCountsAsEventBridgeDoes) {
  // size = source + detail-type + detail (+14 with time): exactly 262144 passes.
  const std::string detail_prefix = R"({"a":")";
  const size_t fixed = 1 + 1 + detail_prefix.size() + 2;
  const std::string pad(kMaxEntriesSize - fixed, 'x');
  nlohmann::json entry = {{"source", "s"}, {"detail-type", "t"}, {"detail", detail_prefix + pad + "\"}"}};
  auto ok = parse_bus_events(entry.dump(), kBus, kNow);
  EXPECT_EQ(ok.error.http_status, 0) << ok.error.message;
  entry["time"] = "2025-03-01T10:15:30Z";  // +14
  auto over = parse_bus_events(entry.dump(), kBus, kNow);
  EXPECT_EQ(over.error.http_status, 400);
  EXPECT_EQ(over.error.message, "Total size of the entries in the request is over the limit.");
  EXPECT_TRUE(over.events.empty());
}

TEST(ParseWebhookTest, PayloadBecomesDetailAndHeaderGivesDetailType) {
  config::WebhookConfig hook;
  hook.name = "github";
  hook.bus = "orders";
  hook.source = "github.com";
  hook.detail_type_header = "X-GitHub-Event";
  auto p = parse_webhook("{\n  \"ref\": \"main\"\n}", hook, kBus, "push", kNow);
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].detail, R"({"ref":"main"})");
  EXPECT_EQ(p.events[0].detail_type, "push");
  EXPECT_EQ(p.events[0].source, "github.com");
  EXPECT_EQ(parse_webhook("{}", hook, kBus, "", kNow).error.http_status, 400);
  EXPECT_EQ(parse_webhook("[1]", hook, kBus, "push", kNow).error.code, "MalformedDetail");
  EXPECT_EQ(parse_webhook(std::string(300000, ' '), hook, kBus, "push", kNow).error.http_status, 413);
}

TEST(CompactJsonTest, KeepsStringsAndNumbersAsWritten) {
  std::string out;
  ASSERT_TRUE(compact_json_object("{ \"a b\" : [ 1.0e2 , \"x \\\" y\" ] }", &out));
  EXPECT_EQ(out, R"({"a b":[1.0e2,"x \" y"]})");
  EXPECT_FALSE(compact_json_object("[]", &out));
  EXPECT_FALSE(compact_json_object("{} {}", &out));
  std::string deep(1001, '[');
  EXPECT_FALSE(compact_json_object("{\"a\":" + deep + std::string(1001, ']') + "}", &out));
}

}  // namespace
}  // namespace switchyard::bus
