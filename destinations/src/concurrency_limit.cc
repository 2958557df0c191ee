#include "concurrency_limit.h"

#include <algorithm>

namespace switchyard::destinations {
namespace {

constexpr double kBaselineWeight = 0.05;  // how fast the usual answer time moves
constexpr double kSlowFactor = 3.0;       // an answer this many times the usual is slow ...
constexpr int64_t kSlowMarginMs = 50;     // ... and this much slower, on loopback-fast receivers

}  // namespace

void ConcurrencyLimit::set_max(uint32_t max) {
  max_ = std::max<uint32_t>(max, 1);
  limit_ = std::min(limit_, max_);
}

void ConcurrencyLimit::ended(bool overloaded, int64_t latency_ms, uint32_t in_flight) {
  ++since_cut_;
  const double latency = static_cast<double>(std::max<int64_t>(latency_ms, 0));
  const bool slow = baseline_ms_ > 0 && latency > baseline_ms_ * kSlowFactor &&
                    latency > baseline_ms_ + static_cast<double>(kSlowMarginMs);
  if (overloaded || slow) {
    fast_ = 0;
    if (since_cut_ >= limit_) cut();
    return;
  }
  baseline_ms_ = baseline_ms_ == 0 ? latency : baseline_ms_ + kBaselineWeight * (latency - baseline_ms_);
  // Grow only when the limit was what held the requests back.
  if (in_flight + 1 < limit_) return;
  if (++fast_ >= limit_ && limit_ < max_) {
    ++limit_;
    fast_ = 0;
  }
}

void ConcurrencyLimit::cut() {
  limit_ = std::max<uint32_t>(1, limit_ * 3 / 4);
  since_cut_ = 0;
}

}  // namespace switchyard::destinations
