#pragma once

// A destination's circuit breaker. It judges the endpoint, not the events:
// a receiver that refuses a few events it cannot process (a poison event
// answered 500 again and again) while answering the rest is never paused.
// Time is passed in (monotonic milliseconds): the breaker owns no clock.
//
// It opens on either signal the endpoint gives (resilience4j's failure-rate
// breaker and Envoy's outlier detection are the models):
//   - consecutive transport failures: connection refused or reset, timeouts,
//     DNS, with no answer in between (an answered request, even a 5xx, shows
//     the endpoint is up);
//   - a failure rate: over the last `window_ms`, at least `min_attempts`
//     first attempts of which `failure_rate_percent` or more failed (a 5xx,
//     a 429, or no answer). Retries do not count: an event failing again
//     says more about the event than about the endpoint, and a pile of
//     retried poison events must not outvote the events that get through.
// Open, it lets nothing through for `open_ms`; then it is half-open and
// admits `trial_requests` attempts (the scheduler gives them to fresh
// deliveries first). When they have all ended it closes if most succeeded,
// else opens again for twice as long (up to `max_open_ms`); a transport
// failure reopens it at once.
#include <cstdint>
#include <deque>

#include "switchyard/destinations/destination.h"

namespace switchyard::destinations {

class CircuitBreaker {
 public:
  enum class Change { kNone, kOpened, kClosed };
  // How an attempt ended, as the endpoint's health goes.
  enum class Signal {
    kSuccess,           // 2xx, or an answer that is the event's fault (most 4xx)
    kServerFailure,     // 5xx or 429: the endpoint, or only this event
    kTransportFailure,  // no answer at all
  };
  enum class State { kClosed, kOpen, kHalfOpen };

  CircuitBreaker() = default;
  explicit CircuitBreaker(CircuitOptions options) : options_(options) {}
  // New thresholds (a reload) apply from the next attempt; the state stays.
  void set_options(const CircuitOptions& options) { options_ = options; }
  const CircuitOptions& options() const { return options_; }

  // Whether an attempt may start at `now`; when not, `*retry_at` says when
  // one may (unchanged while half-open trials are still in flight).
  bool may_send(int64_t now, int64_t* retry_at);
  // An attempt starts at `now`; returns whether it is a half-open trial
  // (passed back to ended()).
  bool sent(int64_t now);
  // The attempt just started was not sent after all (its request could not
  // be built): it gives its trial back.
  void unsent() {
    if (state_ == State::kHalfOpen && trials_sent_ > trials_ended_) --trials_sent_;
  }
  // An attempt ended at `now`; `trial` as sent() said (attempts started
  // before the circuit opened are not trials); `first` when it was the
  // delivery's first attempt.
  Change ended(Signal signal, int64_t now, bool trial = false, bool first = true);

  bool open() const { return state_ != State::kClosed; }
  State state() const { return state_; }
  bool half_open() const { return state_ == State::kHalfOpen; }
  uint32_t consecutive_failures() const { return consecutive_transport_; }
  // The failure rate of the window now, in percent (0 with no attempts).
  uint32_t failure_rate(int64_t now);

 private:
  struct Bucket {  // one second of the window
    int64_t second = 0;
    uint32_t attempts = 0;
    uint32_t failures = 0;
  };
  void record(bool failed, int64_t now);
  void trim(int64_t now);
  Change open_at(int64_t now);
  Change close();

  CircuitOptions options_;
  State state_ = State::kClosed;
  uint32_t consecutive_transport_ = 0;
  std::deque<Bucket> window_;
  uint32_t window_attempts_ = 0, window_failures_ = 0;
  int64_t reopen_at_ = 0;  // open: when it turns half-open
  int64_t open_for_ = 0;   // how long it stays open this time
  uint32_t trials_sent_ = 0, trials_ended_ = 0, trials_failed_ = 0;
};

}  // namespace switchyard::destinations
