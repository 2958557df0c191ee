#include "transport.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "curl_lane.h"

namespace switchyard::destinations {

CurlTransport::CurlTransport(uint32_t max_connections, int64_t request_timeout_ms, uint32_t lanes) {
  lanes = std::max<uint32_t>(lanes, 1);
  started_.resize(lanes);
  const uint32_t share = (std::max<uint32_t>(max_connections, 1) + lanes - 1) / lanes;
  for (uint32_t i = 0; i < lanes; ++i)
    lanes_.push_back(std::make_unique<CurlLane>(share, request_timeout_ms, [this](std::vector<HttpResult>&& ended) {
      {
        core::MutexLock lock(mu_);
        if (ended_.empty()) {
          ended_ = std::move(ended);
        } else {
          for (auto& r : ended) ended_.push_back(std::move(r));
        }
      }
      cv_.notify_one();
    }));
}

CurlTransport::~CurlTransport() { lanes_.clear(); }

uint64_t CurlTransport::start(HttpCall call) {
  const uint64_t id = next_id_++;
  started_[next_lane_].emplace_back(id, std::move(call));
  next_lane_ = (next_lane_ + 1) % lanes_.size();
  ++in_flight_;
  return id;
}

void CurlTransport::hand_over() {
  for (size_t i = 0; i < lanes_.size(); ++i)
    if (!started_[i].empty()) {
      lanes_[i]->post(std::move(started_[i]));
      started_[i].clear();
    }
}

std::vector<HttpResult> CurlTransport::perform() {
  hand_over();
  std::vector<HttpResult> ended;
  {
    core::MutexLock lock(mu_);
    ended.swap(ended_);
  }
  in_flight_ -= std::min(in_flight_, ended.size());
  return ended;
}

void CurlTransport::wait(int timeout_ms) {
  hand_over();
  if (timeout_ms <= 0) return;
  core::MutexWaitLock lock(mu_);
  cv_.wait_for(lock.native(), std::chrono::milliseconds(timeout_ms),
               [&]() SY_NO_THREAD_SAFETY_ANALYSIS { return !ended_.empty() || woken_; });
  woken_ = false;
}

void CurlTransport::wakeup() {
  {
    core::MutexLock lock(mu_);
    woken_ = true;
  }
  cv_.notify_one();
}

void CurlTransport::abandon_all() {
  for (auto& s : started_) s.clear();
  for (auto& lane : lanes_) lane->abandon_all();
  core::MutexLock lock(mu_);
  ended_.clear();
  in_flight_ = 0;
}

}  // namespace switchyard::destinations
