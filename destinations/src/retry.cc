#include "switchyard/destinations/retry.h"

#include <algorithm>
#include <charconv>
#include <ctime>

namespace switchyard::destinations {

bool parse_retry_after(std::string_view value, int64_t now_epoch_s, int64_t* delay_ms) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return false;
  int64_t seconds = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && ptr == value.data() + value.size()) {
    *delay_ms = seconds * 1000;
    return true;
  }
  std::tm tm{};
  const std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return false;
  *delay_ms = std::max<int64_t>(0, (static_cast<int64_t>(timegm(&tm)) - now_epoch_s) * 1000);
  return true;
}

Outcome classify(long status, TransportFailure failure, std::string_view transport_error, std::string_view retry_after,
                 int64_t now_epoch_s) {
  Outcome o;
  if (failure != TransportFailure::kNone) {
    o.answered = false;
    // EventBridge sends an unresolvable address straight to the DLQ: it
    // cannot succeed without someone fixing the endpoint or its DNS.
    o.verdict = failure == TransportFailure::kUnresolvedHost ? Verdict::kPermanent : Verdict::kRetryable;
    o.error_code = failure == TransportFailure::kTimeout          ? "TIMEOUT"
                   : failure == TransportFailure::kUnresolvedHost ? "NO_RESOURCE"
                                                                  : "CONNECTION_FAILURE";
    o.message = transport_error.empty() ? std::string("transport failure") : std::string(transport_error);
    return o;
  }
  if (status >= 200 && status < 300) return o;
  o.message = "HTTP " + std::to_string(status) + " from target";
  const bool retryable = status == 401 || status == 407 || status == 409 || status == 429 || status >= 500;
  if (!retryable) {
    o.verdict = Verdict::kPermanent;
    o.error_code = "ERROR_FROM_TARGET";
    return o;
  }
  o.verdict = Verdict::kRetryable;
  o.error_code = status == 429 ? "THROTTLING" : "ERROR_FROM_TARGET";
  int64_t delay = 0;
  if (parse_retry_after(retry_after, now_epoch_s, &delay)) {
    if (delay < 0) {
      o.stop_retrying = true;
    } else {
      o.retry_after_ms = delay;
    }
  }
  return o;
}

int64_t backoff_delay_ms(uint32_t retry_number, const BackoffOptions& options, core::Random& random) {
  int64_t ceiling = options.base_ms;
  for (uint32_t i = 0; i < retry_number && ceiling < options.cap_ms; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, options.cap_ms);
  if (ceiling <= 0) return 0;
  return static_cast<int64_t>(random.uniform(static_cast<uint64_t>(ceiling)));
}

RetryDecision decide_retry(const core::DeliveryTask& task, const Outcome& outcome, int64_t now_ms, int64_t backoff_ms) {
  RetryDecision d;
  if (outcome.verdict != Verdict::kRetryable || outcome.stop_retrying) return d;
  const uint32_t retries_made = task.attempts > 0 ? task.attempts - 1 : 0;
  if (retries_made >= task.retry.maximum_retry_attempts) {
    d.exhausted_condition = "MaximumRetryAttempts";
    return d;
  }
  const int64_t delay = std::max(backoff_ms, outcome.retry_after_ms);
  const int64_t due = now_ms + delay;
  const int64_t age_from = task.age_from_ms ? task.age_from_ms : task.ingested_ms;
  const int64_t deadline = age_from + static_cast<int64_t>(task.retry.maximum_event_age_seconds) * 1000;
  if (due > deadline) {
    d.exhausted_condition = "MaximumEventAgeInSeconds";
    return d;
  }
  d.retry = true;
  d.due_ms = due;
  return d;
}

}  // namespace switchyard::destinations
