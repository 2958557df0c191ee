// Deliveries as CloudEvents (an API destination's payload_format): the
// binary mode's headers, percent-encoded as the HTTP binding requires, and
// the structured mode's body, with the rendered input as `data` byte for byte.
#include "switchyard/bus/cloudevents.h"

#include <gtest/gtest.h>

namespace switchyard::bus {
namespace {

core::Event order_event() {
  core::Event e;
  e.id = "6a7e8feb-b491-4cf7-a9f1-bf3703467718";
  e.source = "com.example.shop";
  e.detail_type = "Order Placed";
  e.time = 1522900584;  // 2018-04-05T03:56:24Z
  e.resources = {"order \"42\" 100%"};
  return e;
}

TEST(CloudEventsOutputTest, BinaryModeAddsTheAttributesAsHeaders) {
  core::DeliveryTask task;
  task.body = R"({"orderId":42,"total":1.50})";
  as_cloudevent(order_event(), false, task);
  const std::vector<std::pair<std::string, std::string>> want{
      {"ce-specversion", "1.0"},           {"ce-id", "6a7e8feb-b491-4cf7-a9f1-bf3703467718"},
      {"ce-source", "com.example.shop"},   {"ce-type", "Order%20Placed"},
      {"ce-time", "2018-04-05T03:56:24Z"}, {"ce-subject", "order%20%2242%22%20100%25"}};
  EXPECT_EQ(task.headers, want);
  EXPECT_EQ(task.body, R"({"orderId":42,"total":1.50})");
  EXPECT_EQ(task.content_type, "application/json; charset=utf-8");
}

TEST(CloudEventsOutputTest, StructuredModeWrapsTheInputAsData) {
  core::DeliveryTask task;
  task.body = R"({"orderId":42,"total":1.50})";
  as_cloudevent(order_event(), true, task);
  EXPECT_EQ(task.body, R"({"datacontenttype":"application/json","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718",)"
                       R"("source":"com.example.shop","specversion":"1.0","subject":"order \"42\" 100%",)"
                       R"("time":"2018-04-05T03:56:24Z","type":"Order Placed","data":{"orderId":42,"total":1.50}})");
  EXPECT_EQ(task.content_type, "application/cloudevents+json; charset=utf-8");
  EXPECT_TRUE(task.headers.empty());
  // An input that is not JSON (an input template's text) is a string.
  core::DeliveryTask text;
  text.body = "Order 42 placed";
  text.content_type = "text/plain";
  as_cloudevent(order_event(), true, text);
  EXPECT_NE(text.body.find(R"("data":"Order 42 placed")"), std::string::npos) << text.body;
  EXPECT_NE(text.body.find(R"("datacontenttype":"text/plain")"), std::string::npos) << text.body;
}

TEST(CloudEventsOutputTest, HeaderValuesRoundTrip) {
  std::string decoded;
  ASSERT_TRUE(cloudevents_header_value(cloudevents_header_encode("€ \"q\" 5%"), &decoded));
  EXPECT_EQ(decoded, "€ \"q\" 5%");
  EXPECT_FALSE(cloudevents_header_value("bad%2", &decoded));
  EXPECT_FALSE(cloudevents_header_value("bad%zz", &decoded));
}

TEST(CloudEventsModeTest, TheModeComesFromTheMediaTypeOrTheSpecversionHeader) {
  EXPECT_EQ(cloudevents_mode("application/cloudevents+json; charset=utf-8", ""), CloudEventsMode::kStructured);
  EXPECT_EQ(cloudevents_mode("Application/CloudEvents-Batch+JSON", ""), CloudEventsMode::kBatch);
  EXPECT_EQ(cloudevents_mode("application/json", "1.0"), CloudEventsMode::kBinary);
  EXPECT_EQ(cloudevents_mode("application/json", ""), CloudEventsMode::kNone);
}

}  // namespace
}  // namespace switchyard::bus
