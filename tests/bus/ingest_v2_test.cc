// EventBridge v2 publishes (eventbridge-v2.md §2): both shapes, JSON and
// Smithy RPC v2 CBOR. The CBOR bodies are byte for byte what botocore
// 1.43's rpc-v2-cbor serializer sent for these calls (captured with a
// before-send hook, service model eventbridgev2 2025-05-15), so the reader
// is checked against a real client's encoding: tag-1 timestamps, byte
// strings, definite-length maps.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "switchyard/bus/ingest.h"

namespace switchyard::bus {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1765000000000;

const BusSettings kOrders = [] {
  BusSettings b;
  b.name = "orders";
  b.logged = true;
  return b;
}();
const BusSettings kPlain = [] {
  BusSettings b;
  b.name = "plain";
  return b;
}();

const BusSettings* lookup(const void*, std::string_view name) {
  if (name == "orders") return &kOrders;
  if (name == "plain") return &kPlain;
  return nullptr;
}

std::string unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

// put_events(EventBusArn='arn:...:event-busv2/orders/abcdefghijklmnopqrstuvwxy', Entries=[{Source: shop,
// DetailType: OrderPlaced, Detail: '{"total": 7}', Time: 2026-12-01T12:00:00Z, Resources: [r1],
// SystemMetadata: {EventGroupId: g, DeduplicationId: cbor-1}}])
constexpr const char* kBotocorePutEvents =
    "a26b4576656e7442757341726e785261726e3a6177733a6576656e74733a75732d656173742d313a3030303030303030303030303a6576"
    "656e742d62757376322f6f72646572732f6162636465666768696a6b6c6d6e6f7071727374757677787967456e747269657381a66653"
    "6f757263656473686f706a44657461696c547970656b4f72646572506c616365646644657461696c6c7b22746f74616c223a20377d64"
    "54696d65c11a6b0eb6c0695265736f7572636573816272316e53797374656d4d65746164617461a26c4576656e7447726f7570496461"
    "676f44656475706c69636174696f6e49646663626f722d31";
// put_raw_events(EventBusArn='orders', Entries=[{Data: b'\x00\x01raw', SystemMetadata: {ContentType:
// application/octet-stream}, Metadata: {k: v}}, {Data: b'{"x": 1}', SystemMetadata: {ContentType:
// application/json}}])
constexpr const char* kBotocorePutRawEvents =
    "a26b4576656e7442757341726e666f726465727367456e747269657382a364446174614500017261776e53797374656d4d6574616461"
    "7461a16b436f6e74656e745479706578186170706c69636174696f6e2f6f637465742d73747265616d684d65746164617461a1616b61"
    "76a26444617461487b2278223a20317d6e53797374656d4d65746164617461a16b436f6e74656e7454797065706170706c6963617469"
    "6f6e2f6a736f6e";

ParsedRequest parse(V2Operation op, WireFormat wire, std::string_view body) {
  return parse_v2_publish(op, wire, body, lookup, nullptr, kNow);
}

TEST(V2PublishTest, BotocoreCborPutEventsBuildsTheEnvelope) {
  auto p = parse(V2Operation::kPutEvents, WireFormat::kCbor, unhex(kBotocorePutEvents));
  ASSERT_EQ(p.error.http_status, 0) << p.error.message;
  ASSERT_EQ(p.events.size(), 1u);
  const core::Event& e = p.events[0];
  EXPECT_EQ(e.bus, "orders");
  EXPECT_EQ(e.source, "shop");
  EXPECT_EQ(e.detail_type, "OrderPlaced");
  EXPECT_EQ(e.detail, R"({"total":7})");
  EXPECT_EQ(e.time, 1796126400);  // 2026-12-01T12:00:00Z, sent as tag 1
  EXPECT_EQ(e.resources, std::vector<std::string>{"r1"});
  EXPECT_EQ(p.group_ids, std::vector<std::string>{"g"});
  EXPECT_EQ(p.dedup_ids, std::vector<std::string>{"cbor-1"});
  EXPECT_TRUE(p.raw.at(0).content_type.empty());  // an envelope, not raw data
}

TEST(V2PublishTest, BotocoreCborPutRawEventsKeepsBytesAndMetadata) {
  auto p = parse(V2Operation::kPutRawEvents, WireFormat::kCbor, unhex(kBotocorePutRawEvents));
  ASSERT_EQ(p.error.http_status, 0) << p.error.message;
  ASSERT_EQ(p.raw.size(), 2u);
  EXPECT_EQ(p.raw[0].data, std::string("\0\1raw", 5));
  EXPECT_EQ(p.raw[0].content_type, "application/octet-stream");
  EXPECT_EQ(p.raw[0].metadata, (std::vector<std::pair<std::string, std::string>>{{"k", "v"}}));
  EXPECT_EQ(p.raw[1].data, R"({"x": 1})");
  EXPECT_EQ(p.raw[1].content_type, "application/json");
  EXPECT_EQ(p.events[1].bus, "orders");
}

TEST(V2PublishTest, TheCborAnswerIsAMapBotocoreReads) {
  auto p = parse(V2Operation::kPutRawEvents, WireFormat::kCbor, unhex(kBotocorePutRawEvents));
  p.positions = {7, 8};
  p.results[1].success_code = "DEDUPLICATED";
  const std::string body = v2_publish_response(p, WireFormat::kCbor);
  const json out = json::from_cbor(body);
  EXPECT_EQ(out["FailedEntryCount"], 0);
  EXPECT_EQ(out["Entries"][0]["SequenceNumber"], "7");
  EXPECT_EQ(out["Entries"][0]["SuccessCode"], "PUBLISHED");
  EXPECT_EQ(out["Entries"][1]["SuccessCode"], "DEDUPLICATED");
  EXPECT_EQ(json::from_cbor(v2_error_body("InvalidInputException", "bad", WireFormat::kCbor)),
            (json{{"__type", "InvalidInputException"}, {"message", "bad"}}));
}

TEST(V2PublishTest, JsonEntriesFailAloneWithTheirReason) {
  const json request = {
      {"EventBusArn", "orders"},
      {"Entries",
       {{{"Data", "eyJhIjoxfQ=="}, {"SystemMetadata", {{"ContentType", "application/json"}}}},
        {{"Data", "AAE="}, {"SystemMetadata", {{"ContentType", "text/plain"}}}},
        {{"Data", "AAE="}, {"SystemMetadata", {{"ContentType", "application/avro"}}}},
        {{"Data", "bm90IGpzb24="}, {"SystemMetadata", {{"ContentType", "application/json"}}}},
        {{"Data", "AAE="}},
        {{"Data", "AAE="}, {"SystemMetadata", {{"ContentType", "application/octet-stream"}, {"EventGroupId", ""}}}},
        {{"Data", "AAE="},
         {"SystemMetadata", {{"ContentType", "application/octet-stream"}, {"DeduplicationId", "   "}}}},
        {{"Data", "AAE="},
         {"SystemMetadata", {{"ContentType", "application/octet-stream"}}},
         {"Metadata", {{"a/b", "x"}}}}}}};
  auto p = parse(V2Operation::kPutRawEvents, WireFormat::kJson, request.dump());
  ASSERT_EQ(p.error.http_status, 0) << p.error.message;
  ASSERT_EQ(p.results.size(), 8u);
  EXPECT_TRUE(p.results[0].ok());
  EXPECT_EQ(p.raw.at(0).data, R"({"a":1})");
  EXPECT_EQ(p.results[1].error_message,
            "Unsupported contentType: text/plain. Supported types: application/json, application/avro, "
            "application/protobuf, application/octet-stream.");
  EXPECT_EQ(p.results[2].error_message, "SchemaRegistryConfiguration is required for open-format events");
  EXPECT_NE(p.results[3].error_message.find("not valid JSON"), std::string::npos);
  EXPECT_EQ(p.results[4].error_message, "SystemMetadata is required.");
  EXPECT_NE(p.results[5].error_message.find("EventGroupId"), std::string::npos);
  EXPECT_NE(p.results[6].error_message.find("DeduplicationId"), std::string::npos);
  EXPECT_NE(p.results[7].error_message.find("without '/'"), std::string::npos);
  for (size_t i = 1; i < 8; ++i) EXPECT_EQ(p.results[i].error_code, "InvalidInputException") << i;
  EXPECT_EQ(p.events.size(), 1u);
}

TEST(V2PublishTest, PutEventsTakesAnOptionalDetailAndReservesAwsSources) {
  const json request = {{"EventBusArn", "arn:aws:events:eu-west-1:111122223333:event-busv2/orders/x"},
                        {"DeduplicationConfiguration", {{"DeduplicationType", "CONTENT_BASED"}}},
                        {"Entries",
                         {{{"Source", "shop"}, {"DetailType", "t"}},
                          {{"Source", "aws.s3"}, {"DetailType", "t"}},
                          {{"Source", "shop"}, {"DetailType", "t"}, {"SystemMetadata", {{"DeduplicationId", "mine"}}}},
                          {{"Source", "shop"}}}}};
  auto p = parse(V2Operation::kPutEvents, WireFormat::kJson, request.dump());
  ASSERT_EQ(p.error.http_status, 0) << p.error.message;
  EXPECT_TRUE(p.results[0].ok());
  EXPECT_EQ(p.events[0].detail, "{}");
  EXPECT_NE(p.results[1].error_message.find("aws. prefix is reserved"), std::string::npos);
  EXPECT_TRUE(p.results[2].ok());
  EXPECT_EQ(p.results[3].error_code, "InvalidInputException");
  // CONTENT_BASED hashes what has no id of its own; an explicit id wins.
  EXPECT_EQ(p.dedup_ids.at(0).rfind("content:", 0), 0u);
  EXPECT_EQ(p.dedup_ids.at(1), "mine");
}

TEST(V2PublishTest, RequestLevelRefusals) {
  auto status = [](V2Operation op, WireFormat wire, const std::string& body) {
    auto p = parse(op, wire, body);
    return std::to_string(p.error.http_status) + " " + p.error.code;
  };
  const auto events = V2Operation::kPutEvents;
  const auto raw = V2Operation::kPutRawEvents;
  EXPECT_EQ(status(events, WireFormat::kJson, "[1]"), "400 InvalidInputException");
  EXPECT_EQ(status(events, WireFormat::kCbor, "not cbor"), "400 InvalidInputException");
  EXPECT_EQ(status(events, WireFormat::kJson, R"({"Entries":[{}]})"), "400 InvalidInputException");
  EXPECT_EQ(status(events, WireFormat::kJson, R"({"EventBusArn":"nope","Entries":[{}]})"),
            "404 ResourceNotFoundException");
  EXPECT_EQ(status(events, WireFormat::kJson, R"({"EventBusArn":"orders","Entries":[]})"), "400 InvalidInputException");
  json many = {{"EventBusArn", "orders"}, {"Entries", json::array()}};
  for (int i = 0; i < 101; ++i) many["Entries"].push_back({{"Source", "s"}, {"DetailType", "t"}});
  EXPECT_EQ(status(events, WireFormat::kJson, many.dump()), "400 InvalidInputException");
  EXPECT_EQ(status(events, WireFormat::kJson,
                   R"({"EventBusArn":"orders","Entries":[{"Source":"s","DetailType":"t"}],)"
                   R"("DeduplicationConfiguration":{"DeduplicationType":"EXACT"}})"),
            "400 InvalidInputException");
  // Raw data can only go to a log.
  EXPECT_EQ(
      status(
          raw, WireFormat::kJson,
          R"({"EventBusArn":"plain","Entries":[{"Data":"AA==","SystemMetadata":{"ContentType":"application/octet-stream"}}]})"),
      "409 InvalidStateException");
  // A CBOR body nested 100,000 deep is refused before any recursive reader sees it.
  std::string deep =
      "\xa1\x61"
      "a";
  deep += std::string(100000, '\x81');
  deep += '\x01';
  EXPECT_EQ(status(events, WireFormat::kCbor, deep), "400 InvalidInputException");
  EXPECT_EQ(parse(events, WireFormat::kCbor, deep).error.message, "The request is nested too deeply.");
}

}  // namespace
}  // namespace switchyard::bus
