#include "transport.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <utility>

#include "curl_lane.h"
#include "http1_lane.h"
#include "plain_url.h"

namespace switchyard::destinations {
namespace {

// curl sends http:// through the proxy these name; so that they keep
// working, plain HTTP then goes through curl too.
bool proxy_configured() {
  for (const char* name : {"http_proxy", "all_proxy", "ALL_PROXY"})
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return true;
  return false;
}

}  // namespace

HttpTransport::HttpTransport(uint32_t max_connections, int64_t request_timeout_ms, uint32_t lanes, bool plain_http)
    : request_timeout_ms_(request_timeout_ms), plain_http_(plain_http && !proxy_configured()) {
  lanes = std::max<uint32_t>(lanes, 1);
  share_ = (std::max<uint32_t>(max_connections, 1) + lanes - 1) / lanes;
  for (Kind& k : kinds_) {
    k.lanes.resize(lanes);
    k.started.resize(lanes);
  }
}

HttpTransport::~HttpTransport() {
  for (Kind& k : kinds_) k.lanes.clear();
}

Lane& HttpTransport::lane(Kind& kind, size_t i, bool plain) {
  if (!kind.lanes[i]) {
    auto sink = [this](std::vector<HttpResult>&& ended) {
      {
        core::MutexLock lock(mu_);
        if (ended_.empty()) {
          ended_ = std::move(ended);
        } else {
          for (auto& r : ended) ended_.push_back(std::move(r));
        }
      }
      cv_.notify_one();
    };
    if (plain)
      kind.lanes[i] = std::make_unique<Http1Lane>(share_, request_timeout_ms_, std::move(sink));
    else
      kind.lanes[i] = std::make_unique<CurlLane>(share_, request_timeout_ms_, std::move(sink));
  }
  return *kind.lanes[i];
}

uint64_t HttpTransport::start(HttpCall call) {
  const uint64_t id = next_id_++;
  Kind& k = kinds_[plain_http_ && parse_plain_url(call.url) ? 0 : 1];
  k.started[k.next].emplace_back(id, std::move(call));
  k.next = (k.next + 1) % k.started.size();
  ++in_flight_;
  return id;
}

void HttpTransport::hand_over() {
  for (size_t kind = 0; kind < kinds_.size(); ++kind) {
    Kind& k = kinds_[kind];
    for (size_t i = 0; i < k.started.size(); ++i)
      if (!k.started[i].empty()) {
        lane(k, i, kind == 0).post(std::move(k.started[i]));
        k.started[i].clear();
      }
  }
}

std::vector<HttpResult> HttpTransport::perform() {
  hand_over();
  std::vector<HttpResult> ended;
  {
    core::MutexLock lock(mu_);
    ended.swap(ended_);
  }
  in_flight_ -= std::min(in_flight_, ended.size());
  return ended;
}

void HttpTransport::wait(int timeout_ms) {
  hand_over();
  if (timeout_ms <= 0) return;
  core::MutexWaitLock lock(mu_);
  cv_.wait_for(lock.native(), std::chrono::milliseconds(timeout_ms),
               [&]() SY_NO_THREAD_SAFETY_ANALYSIS { return !ended_.empty() || woken_; });
  woken_ = false;
}

void HttpTransport::wakeup() {
  {
    core::MutexLock lock(mu_);
    woken_ = true;
  }
  cv_.notify_one();
}

void HttpTransport::abandon_all() {
  for (Kind& k : kinds_) {
    for (auto& s : k.started) s.clear();
    for (auto& l : k.lanes)
      if (l) l->abandon_all();
  }
  core::MutexLock lock(mu_);
  ended_.clear();
  in_flight_ = 0;
}

}  // namespace switchyard::destinations
