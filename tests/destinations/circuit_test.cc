// The circuit breaker on explicit time: no clock, no sleeps.
#include <gtest/gtest.h>

#include "circuit.h"

namespace switchyard::destinations {
namespace {

using Change = CircuitBreaker::Change;

TEST(CircuitBreakerTest, OpensAfterTheThresholdOfConsecutiveFailures) {
  CircuitBreaker c(3, 5000);
  int64_t at = -1;
  EXPECT_EQ(c.ended(true, 0), Change::kNone);
  EXPECT_EQ(c.ended(false, 1), Change::kNone);  // a success starts the count again
  EXPECT_EQ(c.ended(true, 2), Change::kNone);
  EXPECT_EQ(c.ended(true, 3), Change::kNone);
  EXPECT_TRUE(c.may_send(3, &at));
  EXPECT_EQ(c.ended(true, 4), Change::kOpened);
  EXPECT_TRUE(c.open());
  EXPECT_EQ(c.consecutive_failures(), 3u);
  EXPECT_FALSE(c.may_send(4, &at));
  EXPECT_EQ(at, 5004);
}

TEST(CircuitBreakerTest, OneProbePerIntervalWhileOpen) {
  CircuitBreaker c(1, 1000);
  int64_t at = -1;
  ASSERT_EQ(c.ended(true, 0), Change::kOpened);
  EXPECT_FALSE(c.may_send(999, &at));
  EXPECT_TRUE(c.may_send(1000, &at));
  c.sent(1000);  // the probe
  at = -1;
  EXPECT_FALSE(c.may_send(5000, &at)) << "one probe at a time";
  EXPECT_EQ(at, -1);
  EXPECT_EQ(c.ended(true, 1200), Change::kNone);  // the probe failed: still open
  EXPECT_FALSE(c.may_send(1999, &at));
  EXPECT_EQ(at, 2000);  // the next probe an interval after the last one was sent
  EXPECT_TRUE(c.may_send(2000, &at));
}

TEST(CircuitBreakerTest, TheFirstAnsweredAttemptClosesIt) {
  CircuitBreaker c(2, 1000);
  int64_t at = 0;
  c.ended(true, 0);
  ASSERT_EQ(c.ended(true, 0), Change::kOpened);
  ASSERT_TRUE(c.may_send(1000, &at));
  c.sent(1000);
  EXPECT_EQ(c.ended(false, 1010), Change::kClosed);
  EXPECT_FALSE(c.open());
  EXPECT_TRUE(c.may_send(1010, &at));
  c.sent(1010);  // closed: sending takes no probe slot
  EXPECT_TRUE(c.may_send(1010, &at));
}

}  // namespace
}  // namespace switchyard::destinations
