#include "circuit.h"

namespace switchyard::destinations {

bool CircuitBreaker::may_send(int64_t now, int64_t* retry_at) const {
  if (!open_) return true;
  if (probe_in_flight_) return false;  // one probe at a time; its end wakes the caller
  if (now < next_probe_ms_) {
    *retry_at = next_probe_ms_;
    return false;
  }
  return true;
}

void CircuitBreaker::sent(int64_t now) {
  if (!open_) return;
  probe_in_flight_ = true;
  next_probe_ms_ = now + probe_interval_ms_;
}

CircuitBreaker::Change CircuitBreaker::ended(bool failed, int64_t now) {
  probe_in_flight_ = false;
  if (failed) {
    ++consecutive_failures_;
    if (!open_ && consecutive_failures_ >= threshold_) {
      open_ = true;
      next_probe_ms_ = now + probe_interval_ms_;
      return Change::kOpened;
    }
    return Change::kNone;
  }
  consecutive_failures_ = 0;
  if (!open_) return Change::kNone;
  open_ = false;
  return Change::kClosed;
}

}  // namespace switchyard::destinations
