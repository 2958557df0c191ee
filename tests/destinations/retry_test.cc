#include "switchyard/destinations/retry.h"

#include <gtest/gtest.h>

namespace switchyard::destinations {
namespace {

TEST(ClassifyTest, SuccessIs2xx) {
  for (long s : {200L, 201L, 204L, 299L})
    EXPECT_EQ(classify(s, TransportFailure::kNone, "", "", 0).verdict, Verdict::kDelivered) << s;
}

TEST(ClassifyTest, RetryableStatusesAsEventBridge) {
  for (long s : {401L, 407L, 409L, 429L, 500L, 502L, 503L, 504L}) {
    const Outcome o = classify(s, TransportFailure::kNone, "", "", 0);
    EXPECT_EQ(o.verdict, Verdict::kRetryable) << s;
  }
  EXPECT_EQ(classify(429, TransportFailure::kNone, "", "", 0).error_code, "THROTTLING");
  EXPECT_EQ(classify(503, TransportFailure::kNone, "", "", 0).error_code, "ERROR_FROM_TARGET");
}

TEST(ClassifyTest, OtherStatusesArePermanent) {
  for (long s : {100L, 302L, 400L, 403L, 404L, 413L}) {
    const Outcome o = classify(s, TransportFailure::kNone, "", "", 0);
    EXPECT_EQ(o.verdict, Verdict::kPermanent) << s;
    EXPECT_EQ(o.error_code, "ERROR_FROM_TARGET");
    EXPECT_NE(o.message.find(std::to_string(s)), std::string::npos);
  }
}

TEST(ClassifyTest, TransportErrors) {
  const Outcome timeout = classify(0, TransportFailure::kTimeout, "Operation timed out", "", 0);
  EXPECT_EQ(timeout.verdict, Verdict::kRetryable);
  EXPECT_EQ(timeout.error_code, "TIMEOUT");
  const Outcome refused = classify(0, TransportFailure::kConnection, "Connection refused", "", 0);
  EXPECT_EQ(refused.verdict, Verdict::kRetryable);
  EXPECT_EQ(refused.error_code, "CONNECTION_FAILURE");
  // EventBridge: an address that does not resolve goes to the DLQ without retries.
  const Outcome unresolved =
      classify(0, TransportFailure::kUnresolvedHost, "Could not resolve host: orders.invalid", "", 0);
  EXPECT_EQ(unresolved.verdict, Verdict::kPermanent);
  EXPECT_EQ(unresolved.error_code, "NO_RESOURCE");
  EXPECT_FALSE(unresolved.answered);
  EXPECT_FALSE(refused.answered);
  EXPECT_TRUE(classify(404, TransportFailure::kNone, "", "", 0).answered);
  EXPECT_NE(unresolved.message.find("orders.invalid"), std::string::npos);
}

TEST(ClassifyTest, RetryAfterSecondsDateAndNegative) {
  EXPECT_EQ(classify(429, TransportFailure::kNone, "", "10", 0).retry_after_ms, 10000);
  // Sun, 06 Nov 1994 08:49:37 GMT is epoch 784111777.
  EXPECT_EQ(classify(503, TransportFailure::kNone, "", "Sun, 06 Nov 1994 08:49:37 GMT", 784111770).retry_after_ms,
            7000);
  EXPECT_TRUE(classify(429, TransportFailure::kNone, "", "-1", 0).stop_retrying);
  EXPECT_EQ(classify(429, TransportFailure::kNone, "", "soon", 0).retry_after_ms, -1);
}

TEST(BackoffTest, FullJitterWithinExponentialCeiling) {
  core::SeededRandom rng(42);
  BackoffOptions o{.base_ms = 1000, .cap_ms = 8000};
  for (uint32_t n = 0; n < 10; ++n) {
    const int64_t ceiling = std::min<int64_t>(8000, 1000LL << n);
    for (int i = 0; i < 200; ++i) {
      const int64_t d = backoff_delay_ms(n, o, rng);
      ASSERT_GE(d, 0);
      ASSERT_LE(d, ceiling);
    }
  }
}

core::DeliveryTask task_with(uint32_t attempts, uint32_t max_retries, uint32_t max_age_s) {
  core::DeliveryTask t;
  t.attempts = attempts;
  t.retry = {max_retries, max_age_s};
  t.ingested_ms = 0;
  return t;
}

TEST(DecideRetryTest, ZeroRetriesMeansOneAttempt) {
  const Outcome o = classify(503, TransportFailure::kNone, "", "", 0);
  const RetryDecision d = decide_retry(task_with(1, 0, 86400), o, 1000, 500);
  EXPECT_FALSE(d.retry);
  EXPECT_EQ(d.exhausted_condition, "MaximumRetryAttempts");
}

TEST(DecideRetryTest, RetriesUntilTheLimit) {
  const Outcome o = classify(503, TransportFailure::kNone, "", "", 0);
  EXPECT_TRUE(decide_retry(task_with(3, 3, 86400), o, 1000, 500).retry);   // 2 retries made
  EXPECT_FALSE(decide_retry(task_with(4, 3, 86400), o, 1000, 500).retry);  // 3 retries made
}

TEST(DecideRetryTest, MaximumEventAge) {
  const Outcome o = classify(503, TransportFailure::kNone, "", "", 0);
  const RetryDecision d = decide_retry(task_with(1, 185, 60), o, 59000, 2000);
  EXPECT_FALSE(d.retry);
  EXPECT_EQ(d.exhausted_condition, "MaximumEventAgeInSeconds");
}

TEST(DecideRetryTest, RetryAfterWinsWhenLonger) {
  const Outcome o = classify(429, TransportFailure::kNone, "", "30", 0);
  const RetryDecision d = decide_retry(task_with(1, 185, 86400), o, 1000, 500);
  ASSERT_TRUE(d.retry);
  EXPECT_EQ(d.due_ms, 31000);
}

TEST(DecideRetryTest, PermanentAndNegativeRetryAfterAreNotRetried) {
  EXPECT_FALSE(decide_retry(task_with(1, 185, 86400), classify(404, TransportFailure::kNone, "", "", 0), 0, 0).retry);
  const RetryDecision d =
      decide_retry(task_with(1, 185, 86400), classify(429, TransportFailure::kNone, "", "-1", 0), 0, 0);
  EXPECT_FALSE(d.retry);
  EXPECT_EQ(d.exhausted_condition, "");
}

}  // namespace
}  // namespace switchyard::destinations
