// The adaptive in-flight limit on given latencies: no clock, no receiver.
#include "concurrency_limit.h"

#include <gtest/gtest.h>

namespace switchyard::destinations {
namespace {

TEST(ConcurrencyLimitTest, StartsAtTheMaxAndCutsOnOverloadOncePerRound) {
  ConcurrencyLimit l(32);
  EXPECT_EQ(l.limit(), 32u);
  l.ended(true, 10, 31);  // a 429: cut at once
  EXPECT_EQ(l.limit(), 24u);
  for (int i = 0; i < 23; ++i) l.ended(true, 10, 23);  // the same burst of refusals: one cut
  EXPECT_EQ(l.limit(), 24u);
  l.ended(true, 10, 23);  // a round later: another
  EXPECT_EQ(l.limit(), 18u);
}

TEST(ConcurrencyLimitTest, GrowsByOnePerRoundOfFastAnswersThatUsedTheWholeLimit) {
  ConcurrencyLimit l(10);
  l.ended(true, 10, 9);
  ASSERT_EQ(l.limit(), 7u);
  for (int i = 0; i < 6; ++i) l.ended(false, 10, 6);
  EXPECT_EQ(l.limit(), 7u);
  l.ended(false, 10, 6);  // the seventh fast answer with the limit full
  EXPECT_EQ(l.limit(), 8u);
  for (int i = 0; i < 100; ++i) l.ended(false, 10, 1);  // mostly idle: the limit held nothing back
  EXPECT_EQ(l.limit(), 8u);
  for (int i = 0; i < 100; ++i) l.ended(false, 10, l.limit() - 1);
  EXPECT_EQ(l.limit(), 10u) << "never above max_concurrency";
}

TEST(ConcurrencyLimitTest, AnAnswerMuchSlowerThanUsualIsAnOverload) {
  ConcurrencyLimit l(16);
  for (int i = 0; i < 50; ++i) l.ended(false, 20, 0);
  EXPECT_NEAR(l.baseline_ms(), 20.0, 0.01);
  l.ended(false, 50, 0);  // slower, but within three times and 50 ms
  EXPECT_EQ(l.limit(), 16u);
  l.ended(false, 400, 0);
  EXPECT_EQ(l.limit(), 12u);
}

TEST(ConcurrencyLimitTest, ALowerMaxAppliesAtOnceAndTheLimitNeverDropsBelowOne) {
  ConcurrencyLimit l(32);
  l.set_max(4);
  EXPECT_EQ(l.limit(), 4u);
  for (int i = 0; i < 40; ++i) l.ended(true, 10, 0);
  EXPECT_EQ(l.limit(), 1u);
}

}  // namespace
}  // namespace switchyard::destinations
