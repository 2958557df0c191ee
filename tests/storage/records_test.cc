// Every field of every stored record survives a write and a read.

#include "records.h"

#include <gtest/gtest.h>

namespace switchyard::storage {
namespace {

core::DeliveryTask full_task() {
  core::DeliveryTask t;
  t.id = "msg_1";
  t.event_id = "e1";
  t.bus = "b";
  t.rule = "r";
  t.rule_arn = "arn:aws:events:us-east-1:123456789012:rule/b/r";
  t.target = "t";
  t.destination = "d";
  t.body = "{\"x\":\"\xc3\xa9\"}";
  t.content_type = "text/plain";
  t.path_params = {"a", "b/c"};
  t.headers = {{"X-One", "1"}, {"X-Two", "two"}};
  t.query = {{"q", "a b"}, {"r", ""}};
  t.trace_header = "Root=1-abc";
  t.request_id = "req-1";
  t.render_error = "the input transformer failed";
  t.render_error_code = "INVALID_PARAMETER";
  t.retry = {.maximum_retry_attempts = 3, .maximum_event_age_seconds = 120};
  t.dead_letter = false;
  t.ingested_ms = 5;
  t.age_from_ms = 6;
  t.due_ms = 7;
  t.attempts = 2;
  t.last_status = 503;
  t.last_error = "HTTP 503";
  return t;
}

TEST(RecordsTest, TaskRoundTripsEveryField) {
  const core::DeliveryTask t = full_task();
  auto back = decode_task(encode_task(t));
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(*back, t);
  // The fields one by one, so that a failure names the one that broke.
  EXPECT_EQ(back->id, t.id);
  EXPECT_EQ(back->body, t.body);
  EXPECT_EQ(back->path_params, t.path_params);
  EXPECT_EQ(back->headers, t.headers);
  EXPECT_EQ(back->query, t.query);
  EXPECT_EQ(back->retry.maximum_retry_attempts, 3u);
  EXPECT_EQ(back->retry.maximum_event_age_seconds, 120u);
  EXPECT_FALSE(back->dead_letter);
  EXPECT_EQ(back->age_from_ms, 6);
  EXPECT_EQ(back->due_ms, 7);
  EXPECT_EQ(back->attempts, 2u);
  EXPECT_EQ(back->last_status, 503);
  EXPECT_EQ(back->render_error_code, "INVALID_PARAMETER");
}

TEST(RecordsTest, UnreadableTasksAreCorruption) {
  EXPECT_EQ(decode_task("not json").status().code(), core::Code::kCorruption);
  EXPECT_EQ(decode_task("{}").status().code(), core::Code::kCorruption);
  EXPECT_EQ(decode_task(R"({"id":1,"event_id":"e","destination":"d","body":""})").status().code(),
            core::Code::kCorruption);
}

TEST(RecordsTest, TaskRecordsAreBinaryAndEveryCutIsCorruption) {
  const std::string record = encode_task(full_task());
  ASSERT_FALSE(record.empty());
  EXPECT_EQ(record[0], '\x01');  // the version byte, never '{'
  for (size_t n = 0; n < record.size(); ++n)
    EXPECT_EQ(decode_task(record.substr(0, n)).status().code(), core::Code::kCorruption) << "cut at " << n;
  EXPECT_EQ(decode_task(record + "x").status().code(), core::Code::kCorruption);
  std::string unknown = record;
  unknown[0] = '\x02';
  EXPECT_EQ(decode_task(unknown).status().code(), core::Code::kCorruption);
}

// A raw event's body (application/octet-stream) may be any bytes: a dead
// letter, a JSON record, keeps them in base64, so a redrive sends them as
// they were.
TEST(RecordsTest, ADeadLetterKeepsABinaryBodyByteForByte) {
  DeadLetter d;
  d.task = full_task();
  d.task.body = std::string("\0\xff\xfe raw \xc3", 9);
  d.error_code = "ERROR_FROM_TARGET";
  auto back = decode_dead_letter(encode_dead_letter(d));
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(back->task.body, d.task.body);
  d.task.body = "{\"x\":\"\xc3\xa9\"}";  // UTF-8 stays as it is
  EXPECT_EQ(encode_dead_letter(d).find("body_base64"), std::string::npos);
  EXPECT_EQ(decode_dead_letter(encode_dead_letter(d))->task.body, d.task.body);
}

// A FIFO delivery's group fields follow the others; records written before
// them (and tasks of other subscribers and rules) have none.
TEST(RecordsTest, FifoTasksKeepTheirGroupAndCutsInsideItAreCorruption) {
  core::DeliveryTask t = full_task();
  const std::string without = encode_task(t);
  t.group_key = "fifo/orders/s/customer-1";
  t.group_position = 1ull << 40;
  const std::string with = encode_task(t);
  auto back = decode_task(with);
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(*back, t);
  EXPECT_EQ(back->group_key, t.group_key);
  EXPECT_EQ(back->group_position, t.group_position);
  EXPECT_EQ(with.substr(0, without.size()), without);
  for (size_t n = without.size() + 1; n < with.size(); ++n)
    EXPECT_EQ(decode_task(with.substr(0, n)).status().code(), core::Code::kCorruption) << "cut at " << n;
  EXPECT_EQ(group_record("done", t), "done 1099511627776");
}

// A task stored as JSON by a version before the binary record is read with
// every field as it was written.
TEST(RecordsTest, TasksStoredAsJsonByEarlierVersionsAreRead) {
  const std::string legacy =
      R"({"id":"msg_1","event_id":"e1","bus":"b","rule":"r","rule_arn":"arn:aws:events:us-east-1:123456789012:rule/b/r",)"
      R"("target":"t","destination":"d","body":"{\"x\":\"é\"}","content_type":"text/plain","path_params":["a","b/c"],)"
      R"("headers":[["X-One","1"],["X-Two","two"]],"query":[["q","a b"],["r",""]],"trace_header":"Root=1-abc",)"
      R"("request_id":"req-1","render_error":"the input transformer failed","render_error_code":"INVALID_PARAMETER",)"
      R"("max_retries":3,"max_age_s":120,"dead_letter":false,"ingested_ms":5,"age_from_ms":6,"due_ms":7,)"
      R"("attempts":2,"last_status":503,"last_error":"HTTP 503"})";
  auto back = decode_task(legacy);
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(*back, full_task());
}

TEST(RecordsTest, DeadLetterRoundTripsEveryField) {
  DeadLetter d;
  d.task = full_task();
  d.error_code = "ERROR_FROM_TARGET";
  d.error_message = "HTTP 400";
  d.exhausted_condition = "MaximumRetryAttempts";
  d.dead_ms = 99;
  auto back = decode_dead_letter(encode_dead_letter(d));
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(back->task, d.task);
  EXPECT_EQ(back->error_code, d.error_code);
  EXPECT_EQ(back->error_message, d.error_message);
  EXPECT_EQ(back->exhausted_condition, d.exhausted_condition);
  EXPECT_EQ(back->dead_ms, d.dead_ms);
  EXPECT_FALSE(decode_dead_letter(R"({"error_code":"X"})"));
}

TEST(RecordsTest, EventRecordKeepsTheEnvelopeByteForByteAndItsHeader) {
  core::Event e;
  e.id = "id-1";
  e.detail_type = "order \"placed\"";
  e.source = "shop";
  e.account = "123456789012";
  e.time = 1700000000;
  e.region = "eu-west-1";
  e.resources = {"r1"};
  e.detail = R"({"n":1.50,"s":"\u00e9"})";
  e.bus = "orders";
  e.ingested_ms = 1700000000123;
  e.trace_header = "Root=1-x";
  const std::string record = encode_event_record(e);
  EXPECT_EQ(envelope_of(record), core::envelope_json(e));
  const std::string made = core::envelope_json(e);  // as ingest hands it over, made once
  EXPECT_EQ(encode_event_record(e, &made), record);
  auto header = decode_event_header(record);
  ASSERT_TRUE(header) << header.status().message();
  EXPECT_EQ(header->bus, "orders");
  EXPECT_EQ(header->ingested_ms, 1700000000123);
  EXPECT_EQ(header->trace_header, "Root=1-x");

  e.trace_header.clear();  // left out of the record when empty
  const std::string plain = encode_event_record(e);
  EXPECT_EQ(plain.find("trace_header"), std::string::npos);
  EXPECT_EQ(decode_event_header(plain)->trace_header, "");
  EXPECT_EQ(envelope_of(plain), core::envelope_json(e));
  EXPECT_EQ(envelope_of("{}"), "");
  EXPECT_FALSE(decode_event_header("{}"));
}

}  // namespace
}  // namespace switchyard::storage
