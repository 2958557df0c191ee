#include "switchyard/bus/ingest.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace switchyard::bus {
namespace {

const BusSettings kBus = [] {
  BusSettings b;
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
  WebhookSettings hook;
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
  EXPECT_EQ(parse_webhook(std::string(kMaxEntriesSize + 1, ' '), hook, kBus, "push", kNow).error.http_status, 413);
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

// Issue 12.8: an object detail keeps every number's text exactly as sent.
TEST(ParseBusEventsTest, ObjectDetailKeepsNumberTextAsWritten) {
  auto p = parse_bus_events(
      R"([{"source":"s","detail-type":"t","detail":{"big":12345678901234567890123,"e":1E5,"tiny":1e-300,"f":1.50,)"
      R"("\u0073":[ -0.0 , 2e+3 ]}},{"detail":{"x":1.0},"source":"s","detail-type":"t","detail":{"n":7.70}}])",
      kBus, kNow);
  ASSERT_EQ(p.error.http_status, 0) << p.error.message;
  ASSERT_EQ(p.events.size(), 2u);
  EXPECT_EQ(p.events[0].detail,
            R"({"big":12345678901234567890123,"e":1E5,"tiny":1e-300,"f":1.50,"\u0073":[-0.0,2e+3]})");
  EXPECT_EQ(p.events[1].detail, R"({"n":7.70})");  // the last of two details, as the parsed entry has it
}

// Issue 12.9: numbers beyond a double are a 400, never an exception.
TEST(ParseBusEventsTest, OutOfRangeNumbersAreA400) {
  for (const std::string& bad : std::vector<std::string>{
           std::string(R"({"source":"s","detail-type":"t","detail":{"a":1e400}})"),
           R"({"source":"s","detail-type":"t","detail":{"a":-1e400}})",
           R"({"source":"s","detail-type":"t","detail":{"a":1E+9999999999}})",
           R"({"source":"s","detail-type":"t","detail":{},"time":)" + std::string(400, '9') + "}"}) {
    ParsedRequest p;
    ASSERT_NO_THROW(p = parse_bus_events(bad, kBus, kNow)) << bad;
    EXPECT_EQ(p.error.http_status, 400) << bad;
    EXPECT_TRUE(p.events.empty());
  }
}

std::string nested_detail(int levels) {
  return R"({"source":"a","detail-type":"b","detail":)" + std::string(levels, '[') + std::string(levels, ']') + "}";
}

// Issues 12.1 and 12.7: one depth limit; deeper bodies are refused before
// anything recursive reads them, and what is accepted is within the
// matcher's limit (tests/rules checks a 1000-level detail matches).
TEST(ParseBusEventsTest, DeepNestingIsRefusedAt400) {
  auto deep = parse_bus_events(nested_detail(60000), kBus, kNow);
  EXPECT_EQ(deep.error.http_status, 400);
  EXPECT_NE(deep.error.message.find("1100"), std::string::npos) << deep.error.message;
  // A detail object of 1000 levels is accepted, 1001 is MalformedDetail.
  const auto obj = [](int levels) {
    std::string d;
    for (int i = 0; i < levels; ++i) d += "{\"a\":";
    d += "1";
    for (int i = 0; i < levels; ++i) d += "}";
    return R"({"source":"a","detail-type":"b","detail":)" + d + "}";
  };
  EXPECT_EQ(parse_bus_events(obj(1000), kBus, kNow).events.size(), 1u);
  auto over = parse_bus_events(obj(1001), kBus, kNow);
  ASSERT_EQ(over.results.size(), 1u);
  EXPECT_EQ(over.results[0].error_code, "MalformedDetail");
  auto put = parse_put_events(
      R"({"Entries":[{"Source":"a","Extra":)" + std::string(60000, '[') + std::string(60000, ']') + "}]}",
      [](const void*, std::string_view) -> const BusSettings* { return &kBus; }, nullptr, kNow);
  EXPECT_EQ(put.error.http_status, 400);
}

// Issue 12.2: a TraceHeader with a control character is refused at ingest.
TEST(ParsePutEventsTest, TraceHeaderWithControlCharactersIsRefused) {
  const BusLookup lookup = [](const void*, std::string_view) -> const BusSettings* { return &kBus; };
  for (int c = 0; c < 0x20; ++c) {
    if (c == '\t') continue;
    nlohmann::json body = {{"Entries",
                            {{{"Source", "s"},
                              {"DetailType", "t"},
                              {"Detail", "{}"},
                              {"TraceHeader", std::string("Root=1") + static_cast<char>(c) + "x"}}}}};
    auto p = parse_put_events(body.dump(), lookup, nullptr, kNow);
    ASSERT_EQ(p.results.size(), 1u);
    EXPECT_EQ(p.results[0].error_code, "InvalidArgument") << c;
    EXPECT_TRUE(p.events.empty()) << c;
  }
  nlohmann::json ok = {{"Entries",
                        {{{"Source", "s"},
                          {"DetailType", "t"},
                          {"Detail", "{}"},
                          {"TraceHeader", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"}}}}};
  EXPECT_EQ(parse_put_events(ok.dump(), lookup, nullptr, kNow).events.size(), 1u);
}

// Issue 12.16: PutEvents takes 1 MB of entries since January 2026, and the
// limit is configurable.
TEST(ParseBusEventsTest, SizeLimitIsOneMegabyteAndConfigurable) {
  EXPECT_EQ(kMaxEntriesSize, 1048576u);
  const std::string detail = R"({"a":")" + std::string(600000, 'x') + "\"}";
  nlohmann::json entry = {{"source", "s"}, {"detail-type", "t"}, {"detail", detail}};
  EXPECT_EQ(parse_bus_events(entry.dump(), kBus, kNow).events.size(), 1u);
  EXPECT_EQ(parse_bus_events(entry.dump(), kBus, kNow, 262144).error.http_status, 400);
}

}  // namespace
// Issue 13.8: one entry parser for both routes; the same mistake gets the
// same answer whichever way the entry is written (the two copies' messages
// had drifted apart).
TEST(ParseEntriesTest, BothRoutesAnswerTheSameMistakeTheSameWay) {
  const BusLookup lookup = [](const void*, std::string_view) -> const BusSettings* { return &kBus; };
  const std::vector<std::pair<nlohmann::json, nlohmann::json>> cases{
      {{{"source", "s"}, {"detail-type", "t"}, {"detail", "{}"}, {"time", "yesterday"}},
       {{"Source", "s"}, {"DetailType", "t"}, {"Detail", "{}"}, {"Time", "yesterday"}}},
      {{{"source", "s"}, {"detail-type", "t"}, {"detail", "{}"}, {"resources", "urn:x"}},
       {{"Source", "s"}, {"DetailType", "t"}, {"Detail", "{}"}, {"Resources", "urn:x"}}},
      {{{"source", ""}, {"detail-type", "t"}, {"detail", "{}"}},
       {{"Source", ""}, {"DetailType", "t"}, {"Detail", "{}"}}},
      {{{"source", "s"}, {"detail-type", std::string(129, 'x')}, {"detail", "{}"}},
       {{"Source", "s"}, {"DetailType", std::string(129, 'x')}, {"Detail", "{}"}}},
      {{{"source", "s"}, {"detail-type", "t"}, {"detail", "[1]"}},
       {{"Source", "s"}, {"DetailType", "t"}, {"Detail", "[1]"}}},
  };
  for (const auto& [bus_entry, put_entry] : cases) {
    const auto a = parse_bus_events(bus_entry.dump(), kBus, kNow);
    const auto b = parse_put_events(nlohmann::json{{"Entries", {put_entry}}}.dump(), lookup, nullptr, kNow);
    ASSERT_EQ(a.results.size(), 1u) << bus_entry;
    ASSERT_EQ(b.results.size(), 1u) << put_entry;
    EXPECT_FALSE(a.results[0].ok()) << bus_entry;
    EXPECT_EQ(a.results[0].error_code, b.results[0].error_code) << bus_entry;
    EXPECT_EQ(a.results[0].error_message, b.results[0].error_message) << bus_entry;
  }
}

}  // namespace switchyard::bus
