// A subscriber's stored records read back as written, and records that are
// not theirs are refused rather than misread.

#include <gtest/gtest.h>

#include "subscriber_progress.h"

namespace switchyard::bus {
namespace {

TEST(SubscriberRecordsTest, ProgressRoundTrips) {
  Progress p;
  p.position = 1ull << 53;
  p.live_from = 42;
  p.running = false;
  p.ended = true;
  p.delivered = 7;
  p.created_ms = 1765000000000;
  auto back = decode_progress(encode_progress(p));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->position, p.position);
  EXPECT_EQ(back->live_from, 42u);
  EXPECT_FALSE(back->running);
  EXPECT_TRUE(back->ended);
  EXPECT_EQ(back->delivered, 7u);
  EXPECT_EQ(back->created_ms, p.created_ms);
  EXPECT_FALSE(decode_progress("{}"));
  EXPECT_FALSE(decode_progress("not json"));
}

TEST(SubscriberRecordsTest, GroupRecordsAreStateAndPosition) {
  for (const char* state : {"busy", "done", "dead", "released"}) {
    auto back = decode_group(encode_group({state, 12345}));
    ASSERT_TRUE(back) << state;
    EXPECT_EQ(back->state, state);
    EXPECT_EQ(back->position, 12345u);
  }
  for (const char* bad : {"", "busy", "busy x", "busy 12x", "gone 1", "busy -1"})
    EXPECT_FALSE(decode_group(bad)) << bad;
  EXPECT_EQ(group_prefix("orders", "s"), "fifo/orders/s/");
  EXPECT_EQ(progress_key("orders", "s"), "subscriber/orders/s");
}

}  // namespace
}  // namespace switchyard::bus
