// Every field of a replay's stored record round-trips, the binary cursor
// included; the replayed envelope carries replay-name where EventBridge puts it.
#include "replay_record.h"

#include <gtest/gtest.h>

namespace switchyard::bus {
namespace {

TEST(ReplayRecordTest, EveryFieldRoundTrips) {
  ReplayStatus s;
  s.name = "r1";
  s.archive = "a";
  s.bus = "orders";
  s.description = "after the outage";
  s.start_ms = 1000;
  s.end_ms = 2000;
  s.rules = {"x", "y"};
  s.state = "RUNNING";
  s.state_reason = "why";
  s.events_total = 10;
  s.events_replayed = 4;
  s.last_replayed_s = 1;
  s.started_ms = 3000;
  s.ended_ms = 4000;
  s.cursor = std::string("a\0\x01\xff\x80z", 6);  // a binary archive key
  const auto back = decode_replay(encode_replay(s));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->name, s.name);
  EXPECT_EQ(back->archive, s.archive);
  EXPECT_EQ(back->bus, s.bus);
  EXPECT_EQ(back->description, s.description);
  EXPECT_EQ(back->start_ms, s.start_ms);
  EXPECT_EQ(back->end_ms, s.end_ms);
  EXPECT_EQ(back->rules, s.rules);
  EXPECT_EQ(back->state, s.state);
  EXPECT_EQ(back->state_reason, s.state_reason);
  EXPECT_EQ(back->events_total, s.events_total);
  EXPECT_EQ(back->events_replayed, s.events_replayed);
  EXPECT_EQ(back->last_replayed_s, s.last_replayed_s);
  EXPECT_EQ(back->started_ms, s.started_ms);
  EXPECT_EQ(back->ended_ms, s.ended_ms);
  EXPECT_EQ(back->cursor, s.cursor);
  EXPECT_FALSE(decode_replay("not json"));
  EXPECT_FALSE(decode_replay("{}"));
}

TEST(ReplayRecordTest, ReplayNameGoesBetweenRegionAndResources) {
  EXPECT_EQ(with_replay_name(R"({"region":"us-east-1","resources":[],"detail":{}})", "r\"1"),
            R"({"region":"us-east-1","replay-name":"r\"1","resources":[],"detail":{}})");
  EXPECT_EQ(with_replay_name("{}", "r"), "{}");
}

}  // namespace
}  // namespace switchyard::bus
