#pragma once

// A FIFO subscriber (eventbridge-v2.md §4): the events of one group are
// delivered in log order, one at a time; other groups go on in parallel.
// It hands a group's next event to delivery only once the previous one left
// the queue (delivered, or dead-lettered: the dispatcher says so, and the
// store records it in the same write). A failing event holds only its own
// group (§4's first reading); with on_exhausted: park a dead-lettered event
// keeps its group waiting until an operator releases it.
//
// What it has read but not handed over yet waits in memory, up to
// max_pending_bytes; its stored position is the first event not handed
// over, and each group's record names the last one that was, so a restart
// reads on from there and skips what went already. Runs on the
// subscribers' thread only.

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "pipeline.h"
#include "subscriber_progress.h"
#include "switchyard/bus/routing.h"
#include "switchyard/core/clock.h"
#include "switchyard/storage/store.h"

namespace switchyard::bus {

class FifoSubscriber {
 public:
  FifoSubscriber(storage::Store& store, Pipeline& pipeline, core::Clock& clock, size_t chunk, size_t max_pending_bytes)
      : store_(store), pipeline_(pipeline), clock_(clock), chunk_(chunk), max_pending_bytes_(max_pending_bytes) {}

  // Reads the groups' records; false when the store cannot answer now.
  bool load(const SubscriberRoute& s, const Progress& p);
  bool loaded() const { return loaded_; }

  // A delivery of `group` at `position` left the queue (dead: dead-lettered).
  void settled(const SubscriberRoute& s, const std::string& group, uint64_t position, bool dead);
  // Parked groups an operator released (their record says "released"),
  // looked up at most every 250 ms.
  void check_released(const SubscriberRoute& s, int64_t mono_ms);

  // Hands over what may go, reads on, and stores the handed-over
  // deliveries with the groups' records and the progress `p` (updated) in
  // one write. Returns how much it did (0: idle). On a failed write it
  // forgets everything and loads again.
  size_t step(const Routing& routing, const SubscriberRoute& s, Progress& p);

  struct Stats {
    size_t groups = 0;
    size_t blocked = 0;               // groups with events waiting behind an unfinished or parked one
    int64_t oldest_blocked_ms = 0;    // how long the longest of those has waited (0: none)
    std::vector<std::string> parked;  // at most 100
    size_t pending = 0;               // events read and waiting their turn
  };
  Stats stats() const;

 private:
  struct Group {
    uint64_t last = 0;  // the position of the last event handed over (0: none)
    bool busy = false;  // its delivery has not left the queue
    bool parked = false;
    int64_t since_ms = 0;  // when its head was handed over, or parked
    std::deque<storage::LogEntry> pending;
  };

  std::string group_of(const SubscriberRoute& s, const storage::LogEntry& e) const;
  // Adds the delivery of `e` to `batch` and marks its group busy.
  void hand_over(const SubscriberRoute& s, const std::string& name, Group& g, const storage::LogEntry& e, Progress& p,
                 storage::IngestBatch& batch);

  storage::Store& store_;
  Pipeline& pipeline_;
  core::Clock& clock_;
  const size_t chunk_;
  const size_t max_pending_bytes_;
  bool loaded_ = false;
  int64_t released_checked_ms_ = -1'000'000;  // long before any clock reading: the first check is due
  uint64_t read_ = 1;                         // the next log position to read
  size_t pending_bytes_ = 0;
  size_t pending_events_ = 0;
  std::map<std::string, Group> groups_;
};

}  // namespace switchyard::bus
