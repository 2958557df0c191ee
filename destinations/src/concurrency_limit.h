#pragma once

// A destination's in-flight limit that follows the receiver: AIMD (additive
// increase, multiplicative decrease), as TCP's congestion window and Netflix
// concurrency-limits' AIMDLimit do. AIMD rather than a gradient limiter
// because its one input that matters here is explicit (the receiver says
// 429 or 503, or stops answering in time) and it needs no latency model to
// be right; latency is a second, softer signal.
//
//   - An overload signal (429, 503, a timeout, or an answer much slower than
//     the receiver's usual) cuts the limit to 3/4, at most once per `limit`
//     completions, so that one burst of refusals is one cut.
//   - Each run of `limit` fast, successful answers while the limit was in
//     use adds one, up to `max` (the destination's max_concurrency).
//
// It starts at `max`: a receiver that copes loses nothing to it. Time and
// latencies are passed in; it owns no clock.

#include <cstdint>

namespace switchyard::destinations {

class ConcurrencyLimit {
 public:
  explicit ConcurrencyLimit(uint32_t max = 32) : max_(max < 1 ? 1 : max), limit_(max_), since_cut_(max_) {}

  uint32_t limit() const { return limit_; }
  // A new max_concurrency (a reload): the limit follows it down at once.
  void set_max(uint32_t max);

  // An attempt ended after `latency_ms`. `overloaded` for 429, 503 or a
  // timeout; `in_flight` is how many were in flight when it started.
  void ended(bool overloaded, int64_t latency_ms, uint32_t in_flight);

  // The receiver's usual answer time (an average of the fast answers).
  double baseline_ms() const { return baseline_ms_; }

 private:
  void cut();

  uint32_t max_;
  uint32_t limit_;
  uint32_t since_cut_;      // completions since the last cut (the first signal cuts at once)
  uint32_t fast_ = 0;       // fast successes in a row while the limit was in use
  double baseline_ms_ = 0;  // 0: no answer yet
};

}  // namespace switchyard::destinations
