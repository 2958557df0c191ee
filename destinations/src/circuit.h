#pragma once

// A destination's circuit breaker. Consecutive failed attempts open it; while
// open, one probe request is let through per interval, and the first attempt
// that shows the target is up closes it. Time is passed in (monotonic
// milliseconds): the breaker owns no clock.

#include <cstdint>

namespace switchyard::destinations {

class CircuitBreaker {
 public:
  enum class Change { kNone, kOpened, kClosed };

  CircuitBreaker() = default;
  CircuitBreaker(uint32_t failure_threshold, int64_t probe_interval_ms)
      : threshold_(failure_threshold), probe_interval_ms_(probe_interval_ms) {}

  // Whether a request may start at `now`; when not, `*retry_at` says when a
  // probe may (unchanged while a probe is in flight).
  bool may_send(int64_t now, int64_t* retry_at) const;
  // A request starts at `now` (while open, it is the probe).
  void sent(int64_t now);
  // An attempt ended at `now`: `failed` for a retryable failure or any
  // attempt the receiver did not answer.
  Change ended(bool failed, int64_t now);

  bool open() const { return open_; }
  uint32_t consecutive_failures() const { return consecutive_failures_; }

 private:
  uint32_t threshold_ = 5;
  int64_t probe_interval_ms_ = 5000;
  uint32_t consecutive_failures_ = 0;
  bool open_ = false;
  bool probe_in_flight_ = false;
  int64_t next_probe_ms_ = 0;
};

}  // namespace switchyard::destinations
