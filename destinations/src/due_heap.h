#pragma once

// Deliveries waiting for their due time, the earliest on top. take() moves
// the earliest out (std::priority_queue can only copy it: every string of
// every task, once per delivery).

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "switchyard/core/task.h"

namespace switchyard::destinations {

class DueHeap {
 public:
  bool empty() const { return v_.empty(); }
  size_t size() const { return v_.size(); }
  const core::DeliveryTask& top() const { return v_.front(); }
  void push(core::DeliveryTask&& t) {
    v_.push_back(std::move(t));
    std::push_heap(v_.begin(), v_.end(), Later{});
  }
  // Removes every task of `destination` (a cluster node gave it up).
  void remove_destination(const std::string& destination) {
    std::erase_if(v_, [&](const core::DeliveryTask& t) { return t.destination == destination; });
    std::make_heap(v_.begin(), v_.end(), Later{});
  }
  core::DeliveryTask take() {
    std::pop_heap(v_.begin(), v_.end(), Later{});
    core::DeliveryTask t = std::move(v_.back());
    v_.pop_back();
    return t;
  }

 private:
  struct Later {
    bool operator()(const core::DeliveryTask& a, const core::DeliveryTask& b) const { return a.due_ms > b.due_ms; }
  };
  std::vector<core::DeliveryTask> v_;
};

}  // namespace switchyard::destinations
