// The quota window on explicit time: no clock, no sleeps.
#include <gtest/gtest.h>

#include "rate_window.h"

namespace switchyard::destinations {
namespace {

TEST(RateWindowTest, AtMostLimitRequestsInAnySecondCountedFromTheirAnswers) {
  RateWindow w;
  w.set_limit(3);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(w.allowed(0));
    w.answered(w.record(0), 10);
  }
  EXPECT_FALSE(w.allowed(0));
  EXPECT_FALSE(w.allowed(1009));
  EXPECT_EQ(w.next_allowed(), 1010);  // the oldest answer plus one second
  EXPECT_TRUE(w.allowed(1010));
}

TEST(RateWindowTest, AnUnansweredRequestCountsFromKAnswerWaitAfterItWasSent) {
  RateWindow w;
  w.set_limit(1);
  const auto slot = w.record(100);
  EXPECT_EQ(w.next_allowed(), 100 + RateWindow::kAnswerWait + 1000);
  w.answered(slot, 5000);  // a slow answer counts no later than kAnswerWait
  EXPECT_EQ(w.next_allowed(), 100 + RateWindow::kAnswerWait + 1000);
}

TEST(RateWindowTest, ALateAnswerNeverTouchesAReusedSlot) {
  RateWindow w;
  w.set_limit(1);
  const auto first = w.record(0);
  w.answered(first, 50);
  const auto second = w.record(1050);  // reuses the only slot
  w.answered(first, 1100);             // the first request's answer again: ignored
  EXPECT_EQ(w.next_allowed(), 1050 + RateWindow::kAnswerWait + 1000);
  w.answered(second, 1060);
  EXPECT_EQ(w.next_allowed(), 2060);
}

TEST(RateWindowTest, LoweringTheLimitKeepsTheLastSecondsRequests) {
  RateWindow w;
  w.set_limit(20);
  for (int t = 0; t < 20; ++t) w.answered(w.record(t), t);
  w.set_limit(10);  // the newest ten were answered at 10..19
  EXPECT_FALSE(w.allowed(500));
  EXPECT_EQ(w.next_allowed(), 1010);
  const auto stale = w.record(1010);
  w.set_limit(30);  // a slot of the old ring is answered after a change: ignored
  w.answered(stale, 1020);
  EXPECT_TRUE(w.allowed(1010));
}

TEST(RateWindowTest, ALimitOfZeroIsOne) {
  RateWindow w;
  w.set_limit(0);
  w.answered(w.record(0), 0);
  EXPECT_FALSE(w.allowed(999));
  EXPECT_TRUE(w.allowed(1000));
}

}  // namespace
}  // namespace switchyard::destinations
