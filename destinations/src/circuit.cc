#include "circuit.h"

#include <algorithm>

namespace switchyard::destinations {

bool CircuitBreaker::may_send(int64_t now, int64_t* retry_at) {
  if (state_ == State::kOpen) {
    if (now < reopen_at_) {
      *retry_at = reopen_at_;
      return false;
    }
    state_ = State::kHalfOpen;
    trials_sent_ = trials_ended_ = trials_failed_ = 0;
  }
  if (state_ == State::kHalfOpen) return trials_sent_ < options_.trial_requests;  // the trials' ends wake the caller
  return true;
}

bool CircuitBreaker::sent(int64_t) {
  if (state_ != State::kHalfOpen) return false;
  ++trials_sent_;
  return true;
}

CircuitBreaker::Change CircuitBreaker::ended(Signal signal, int64_t now, bool trial, bool first) {
  const bool failed = signal != Signal::kSuccess;
  if (signal == Signal::kTransportFailure)
    ++consecutive_transport_;
  else
    consecutive_transport_ = 0;  // answered: the endpoint is up
  switch (state_) {
    case State::kOpen: return Change::kNone;  // an attempt from before it opened
    case State::kHalfOpen:
      if (!trial) return Change::kNone;  // from before it opened
      if (signal == Signal::kTransportFailure) return open_at(now);
      ++trials_ended_;
      if (failed) ++trials_failed_;
      if (trials_ended_ < options_.trial_requests) return Change::kNone;
      if (trials_failed_ * 2 > trials_ended_) return open_at(now);
      return close();
    case State::kClosed: break;
  }
  if (first) record(failed, now);
  if (consecutive_transport_ >= options_.consecutive_transport_failures) return open_at(now);
  if (window_attempts_ >= options_.min_attempts &&
      uint64_t{window_failures_} * 100 >= uint64_t{options_.failure_rate_percent} * window_attempts_)
    return open_at(now);
  return Change::kNone;
}

uint32_t CircuitBreaker::failure_rate(int64_t now) {
  trim(now);
  return window_attempts_ == 0 ? 0 : window_failures_ * 100 / window_attempts_;
}

void CircuitBreaker::record(bool failed, int64_t now) {
  trim(now);
  const int64_t second = now / 1000;
  if (window_.empty() || window_.back().second != second) window_.push_back({second, 0, 0});
  ++window_.back().attempts;
  ++window_attempts_;
  if (failed) {
    ++window_.back().failures;
    ++window_failures_;
  }
}

void CircuitBreaker::trim(int64_t now) {
  const int64_t oldest = (now - options_.window_ms) / 1000;
  while (!window_.empty() && window_.front().second <= oldest) {
    window_attempts_ -= window_.front().attempts;
    window_failures_ -= window_.front().failures;
    window_.pop_front();
  }
}

CircuitBreaker::Change CircuitBreaker::open_at(int64_t now) {
  const bool was_closed = state_ == State::kClosed;
  open_for_ = was_closed ? options_.open_ms : std::min(open_for_ * 2, std::max(options_.max_open_ms, options_.open_ms));
  state_ = State::kOpen;
  reopen_at_ = now + open_for_;
  return was_closed ? Change::kOpened : Change::kNone;
}

CircuitBreaker::Change CircuitBreaker::close() {
  state_ = State::kClosed;
  window_.clear();
  window_attempts_ = window_failures_ = 0;
  consecutive_transport_ = 0;
  return Change::kClosed;
}

}  // namespace switchyard::destinations
