#pragma once

// One transport lane: a thread running HTTP transfers on its own libcurl
// multi handle, with a pool of reusable easy handles and a bounded
// connection pool. The thread waits in epoll and tells curl which sockets
// are ready (curl_multi_socket_action), so a pass costs what is ready, not
// what is in flight. Calls are posted from any thread; results go to the sink
// from the lane's thread, a batch at a time. The transport (transport.h)
// spreads calls over its lanes; a lane knows nothing of deliveries.

#include <curl/curl.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lane.h"
#include "switchyard/core/mutex.h"

namespace switchyard::destinations {

class CurlLane final : public Lane {
 public:
  // At most `max_connections` connections are open (more transfers wait in
  // curl's queue); a transfer ends after its call's timeout, or
  // `request_timeout_ms` when the call sets none.
  CurlLane(uint32_t max_connections, int64_t request_timeout_ms, Sink sink);
  ~CurlLane() override;
  CurlLane(const CurlLane&) = delete;
  CurlLane& operator=(const CurlLane&) = delete;

  void post(std::vector<std::pair<uint64_t, HttpCall>>&& calls) override;
  void abandon_all() override;

 private:
  struct Transfer;
  void run();
  void start(uint64_t id, HttpCall&& call);
  void collect(std::vector<HttpResult>* done);
  void drop_all();
  void act(curl_socket_t fd, int events);
  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* lane, void* socket_data);
  static int on_timer(CURLM* multi, long timeout_ms, void* lane);

  CURLM* multi_ = nullptr;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // an eventfd: post() and abandon_all() wake the thread
  int64_t request_timeout_ms_;
  Sink sink_;
  std::atomic<bool> stopping_{false};

  core::Mutex mu_;
  std::condition_variable abandoned_cv_;
  std::vector<std::pair<uint64_t, HttpCall>> inbox_ SY_GUARDED_BY(mu_);
  uint64_t abandon_asked_ SY_GUARDED_BY(mu_) = 0;  // abandon_all() calls made
  uint64_t abandon_done_ SY_GUARDED_BY(mu_) = 0;   // ... and carried out

  // Owned by the lane's thread.
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> transfers_;
  std::vector<CURL*> idle_;   // reusable handles; connections live in the multi's pool
  int64_t timer_at_ms_ = -1;  // curl's timeout, on the steady clock; -1: none

  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace switchyard::destinations
