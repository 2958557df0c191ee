#pragma once

// A transport lane: a thread that carries HTTP transfers. Calls are posted
// from any thread; results go to the sink from the lane's thread, a batch
// at a time. Two kinds: Http1Lane (plain http:// on Boost.Beast, the fast
// path) and CurlLane (everything else: https, proxies, unusual URLs).

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "transport.h"

namespace switchyard::destinations {

class Lane {
 public:
  using Sink = std::function<void(std::vector<HttpResult>&&)>;
  virtual ~Lane() = default;
  // Queues transfers (id, call); the lane starts them on its thread.
  virtual void post(std::vector<std::pair<uint64_t, HttpCall>>&& calls) = 0;
  // Drops every transfer queued or in flight without a result; returns once
  // the lane has dropped them.
  virtual void abandon_all() = 0;
};

}  // namespace switchyard::destinations
