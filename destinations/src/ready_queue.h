#pragma once

// A destination's deliveries that are due, in two lines: first attempts and
// retries. They take turns for the destination's capacity (its quota and
// its requests in flight), so a growing pile of retries (a receiver refusing
// a few poison events again and again) can never hold the head of the queue:
// fresh deliveries get at least every other slot. Each line keeps due order.

#include <cstddef>
#include <deque>
#include <utility>

#include "switchyard/core/task.h"

namespace switchyard::destinations {

class ReadyQueue {
 public:
  void push(core::DeliveryTask&& t) { (t.attempts == 0 ? fresh_ : retries_).push_back(std::move(t)); }

  bool empty() const { return fresh_.empty() && retries_.empty(); }
  size_t size() const { return fresh_.size() + retries_.size(); }
  size_t retries() const { return retries_.size(); }
  void clear() {
    fresh_.clear();
    retries_.clear();
  }

  // The delivery that goes next: lines alternate while both have some;
  // `fresh_first` (a half-open circuit's trials) takes a fresh one when
  // there is one.
  core::DeliveryTask& front(bool fresh_first = false) { return line(fresh_first).front(); }
  core::DeliveryTask pop(bool fresh_first = false) {
    std::deque<core::DeliveryTask>& l = line(fresh_first);
    core::DeliveryTask t = std::move(l.front());
    l.pop_front();
    retry_turn_ = &l == &fresh_;  // the other line goes next
    return t;
  }

 private:
  std::deque<core::DeliveryTask>& line(bool fresh_first) {
    if (fresh_.empty()) return retries_;
    if (retries_.empty() || fresh_first) return fresh_;
    return retry_turn_ ? retries_ : fresh_;
  }

  std::deque<core::DeliveryTask> fresh_, retries_;
  bool retry_turn_ = false;
};

}  // namespace switchyard::destinations
