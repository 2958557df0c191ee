#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "switchyard/core/clock.h"
#include "switchyard/core/task.h"

namespace switchyard::destinations {

// What one HTTP attempt's result means, as EventBridge classifies it.
enum class Verdict { kDelivered, kRetryable, kPermanent };

struct Outcome {
  Verdict verdict = Verdict::kDelivered;
  std::string error_code;       // EventBridge DLQ ERROR_CODE when not delivered
  std::string message;          // human readable, no secrets
  int64_t retry_after_ms = -1;  // from Retry-After; -1 when absent
  bool stop_retrying = false;   // a negative Retry-After ends retries
  bool answered = true;         // the receiver sent an HTTP response
};

// How an attempt that got no HTTP response failed.
enum class TransportFailure {
  kNone,            // an HTTP response arrived
  kTimeout,         // the request timeout: retried, TIMEOUT
  kUnresolvedHost,  // DNS could not resolve the endpoint's host: not retried, NO_RESOURCE
  kConnection,      // refused, reset, TLS, ...: retried, CONNECTION_FAILURE
};

// Classifies one attempt. `transport_error` names the failure when there is
// one. `now_epoch_s` is used to turn an HTTP-date Retry-After into a delay.
Outcome classify(long http_status, TransportFailure failure, std::string_view transport_error,
                 std::string_view retry_after_header, int64_t now_epoch_s);

// Parses Retry-After (delta-seconds, negative allowed, or an HTTP-date).
// Returns false when the value is not parsable (it is then ignored).
bool parse_retry_after(std::string_view value, int64_t now_epoch_s, int64_t* delay_ms);

struct BackoffOptions {
  int64_t base_ms = 1000;           // first retry within [0, base]
  int64_t cap_ms = 15 * 60 * 1000;  // upper bound of any one delay
};

// Full jitter: a random delay in [0, min(cap, base * 2^retry)].
int64_t backoff_delay_ms(uint32_t retry_number, const BackoffOptions& options, core::Random& random);

// What to do with a task after a failed attempt. `attempts` in the task
// already counts the attempt that just failed.
struct RetryDecision {
  bool retry = false;
  int64_t due_ms = 0;               // when retry
  std::string exhausted_condition;  // when not retried because of a limit
};

RetryDecision decide_retry(const core::DeliveryTask& task, const Outcome& outcome, int64_t now_ms, int64_t backoff_ms);

}  // namespace switchyard::destinations
