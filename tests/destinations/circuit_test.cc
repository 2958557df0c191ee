// The circuit breaker on explicit time: no clock, no sleeps. It judges the
// endpoint: transport failures in a row, or a failure rate over a window
// with enough attempts; never a few events that keep failing.
#include <gtest/gtest.h>

#include "circuit.h"

namespace switchyard::destinations {
namespace {

using Change = CircuitBreaker::Change;
using Signal = CircuitBreaker::Signal;

CircuitOptions options() {
  return {.consecutive_transport_failures = 3,
          .window_ms = 10'000,
          .min_attempts = 10,
          .failure_rate_percent = 50,
          .open_ms = 1'000,
          .max_open_ms = 4'000,
          .trial_requests = 3};
}

TEST(CircuitBreakerTest, TransportFailuresInARowOpenIt) {
  CircuitBreaker c(options());
  int64_t at = -1;
  EXPECT_EQ(c.ended(Signal::kTransportFailure, 0), Change::kNone);
  EXPECT_EQ(c.ended(Signal::kServerFailure, 1), Change::kNone);  // an answer: the endpoint is up
  EXPECT_EQ(c.ended(Signal::kTransportFailure, 2), Change::kNone);
  EXPECT_EQ(c.ended(Signal::kTransportFailure, 3), Change::kNone);
  EXPECT_TRUE(c.may_send(3, &at));
  EXPECT_EQ(c.ended(Signal::kTransportFailure, 4), Change::kOpened);
  EXPECT_TRUE(c.open());
  EXPECT_EQ(c.consecutive_failures(), 3u);
  EXPECT_FALSE(c.may_send(4, &at));
  EXPECT_EQ(at, 1004);
}

// Issue 14: a receiver that refuses a few poison events but answers the
// rest is never paused, however often the poison is retried.
TEST(CircuitBreakerTest, AFewFailingEventsAmongSuccessesNeverOpenIt) {
  CircuitBreaker c(options());
  int64_t at = -1;
  for (int64_t t = 0; t < 60'000; t += 10) {
    const bool poison = (t / 10) % 3 == 0;  // a third of all attempts fail
    EXPECT_EQ(c.ended(poison ? Signal::kServerFailure : Signal::kSuccess, t), Change::kNone) << t;
  }
  EXPECT_FALSE(c.open());
  EXPECT_TRUE(c.may_send(60'000, &at));
  // Every attempt failing, even with answers, is the endpoint failing.
  Change last = Change::kNone;
  int64_t t = 60'000;
  for (; t < 80'000 && last == Change::kNone; t += 10) last = c.ended(Signal::kServerFailure, t);
  EXPECT_EQ(last, Change::kOpened);
  EXPECT_LT(t, 66'000) << "once half the window's attempts fail";
}

TEST(CircuitBreakerTest, RetriesDoNotCountTowardTheRate) {
  CircuitBreaker c(options());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(c.ended(Signal::kServerFailure, i, false, /*first=*/false), Change::kNone);
  EXPECT_FALSE(c.open());
  EXPECT_EQ(c.failure_rate(100), 0u);
}

TEST(CircuitBreakerTest, TheRateNeedsEnoughAttemptsAndForgetsOldOnes) {
  CircuitBreaker c(options());
  for (int i = 0; i < 9; ++i) EXPECT_EQ(c.ended(Signal::kServerFailure, i), Change::kNone);  // 9 < min_attempts
  // Ten seconds later the window holds none of them.
  for (int i = 0; i < 9; ++i) EXPECT_EQ(c.ended(Signal::kSuccess, 20'000 + i), Change::kNone);
  EXPECT_EQ(c.failure_rate(20'010), 0u);
  EXPECT_EQ(c.ended(Signal::kServerFailure, 20'010), Change::kNone);  // 1 of 10
  EXPECT_FALSE(c.open());
}

TEST(CircuitBreakerTest, HalfOpenAdmitsTrialsAndClosesWhenMostSucceed) {
  CircuitBreaker c(options());
  int64_t at = -1;
  for (int i = 0; i < 3; ++i) c.ended(Signal::kTransportFailure, i);
  ASSERT_TRUE(c.open());
  EXPECT_FALSE(c.may_send(999, &at));
  ASSERT_TRUE(c.may_send(1002, &at));
  EXPECT_TRUE(c.half_open());
  EXPECT_TRUE(c.sent(1002));
  EXPECT_TRUE(c.sent(1002));
  EXPECT_TRUE(c.sent(1002));
  EXPECT_FALSE(c.may_send(1002, &at)) << "three trials, no more";
  EXPECT_EQ(c.ended(Signal::kSuccess, 1003, true), Change::kNone);
  EXPECT_EQ(c.ended(Signal::kServerFailure, 1004, true), Change::kNone);  // a poison retry, say
  EXPECT_EQ(c.ended(Signal::kSuccess, 1005, true), Change::kClosed);
  EXPECT_FALSE(c.open());
  EXPECT_FALSE(c.sent(1006)) << "closed: no trials";
}

TEST(CircuitBreakerTest, HalfOpenReopensOnATransportFailureOrMostTrialsFailing) {
  CircuitBreaker c(options());
  int64_t at = -1;
  for (int i = 0; i < 3; ++i) c.ended(Signal::kTransportFailure, i);
  ASSERT_TRUE(c.may_send(1002, &at));
  c.sent(1002);
  EXPECT_EQ(c.ended(Signal::kTransportFailure, 1010, true), Change::kNone);  // open again at once, twice as long
  EXPECT_FALSE(c.may_send(1011, &at));
  EXPECT_EQ(at, 3010);
  ASSERT_TRUE(c.may_send(3010, &at));
  for (int i = 0; i < 3; ++i) c.sent(3010);
  c.ended(Signal::kServerFailure, 3011, true);
  c.ended(Signal::kServerFailure, 3012, true);
  c.ended(Signal::kSuccess, 3013, true);
  EXPECT_TRUE(c.open());
  EXPECT_FALSE(c.half_open());
  EXPECT_FALSE(c.may_send(3014, &at));
  EXPECT_EQ(at, 7013) << "4 s: doubled, and no more than max_open_ms";
}

TEST(CircuitBreakerTest, AttemptsFromBeforeItOpenedAreNotTrialsAndAnUnsentTrialIsGivenBack) {
  CircuitBreaker c(options());
  int64_t at = -1;
  for (int i = 0; i < 3; ++i) c.ended(Signal::kTransportFailure, i);
  ASSERT_TRUE(c.may_send(1002, &at));
  c.sent(1002);
  c.unsent();  // its request could not be built
  EXPECT_EQ(c.ended(Signal::kSuccess, 1003), Change::kNone) << "sent while closed: not a trial";
  EXPECT_TRUE(c.half_open());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.sent(1004));
  for (int i = 0; i < 3; ++i) c.ended(Signal::kSuccess, 1005, true);
  EXPECT_FALSE(c.open());
}

}  // namespace
}  // namespace switchyard::destinations
