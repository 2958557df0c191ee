#pragma once

// Which of a destination's stored deliveries are held in memory, within
// caps on their count and bytes per destination and on bytes over all; the
// rest of a backlog stays on disk and is paged in as memory frees up.

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "switchyard/core/status.h"
#include "switchyard/core/task.h"
#include "switchyard/storage/roles.h"

namespace switchyard::destinations {

// One destination's deliveries in memory (waiting, ready or in flight).
struct Holding {
  struct Held {
    size_t bytes;         // core::task_memory_bytes
    int64_t ingested_ms;  // for the age of the oldest pending delivery
  };
  std::unordered_map<std::string, Held> known;  // by delivery id
  size_t bytes = 0;                             // of those held
  bool on_disk = false;                         // stored deliveries not in memory may exist
  std::string disk_cursor;                      // the stored key the last page ended at

  bool holds(const std::string& id) const { return known.count(id) != 0; }
  // When the oldest delivery held was ingested; 0 when none is.
  int64_t oldest_ingested_ms() const;
};

struct MemoryLimits {
  size_t per_destination = 10000;
  size_t bytes_per_destination = 32u << 20;
  size_t bytes_total = 256u << 20;
};

class MemoryPager {
 public:
  explicit MemoryPager(MemoryLimits limits) : limits_(limits) {}

  // A delivery new to memory is held when its destination has room (true);
  // otherwise it stays on disk, to be paged in later (false).
  bool admit(Holding& h, const core::DeliveryTask& t);
  // It left memory (delivered or dead-lettered).
  void forget(Holding& h, const std::string& id);

  // Pages in stored deliveries of `destination` when its share of memory is
  // below half. Each page continues after the previous one (the store's
  // cursor), so draining a backlog of millions costs the same per page
  // throughout. Where the pages run out, one pass from the first stored
  // key picks up anything stored behind the cursor meanwhile (a redrive, or
  // a new event due before a delivery already passed, as when the clock
  // steps back) before the backlog counts as drained. Returns the deliveries
  // now held, to be queued.
  // A read that fails leaves the backlog on disk, to be tried again.
  core::Result<std::vector<core::DeliveryTask>> refill(const std::string& destination, Holding& h,
                                                       storage::DeliveryQueue& queue);

  size_t bytes() const { return bytes_; }

 private:
  void hold(Holding& h, const std::string& id, size_t bytes, int64_t ingested_ms);
  core::Result<size_t> page_in(const std::string& destination, Holding& h, storage::DeliveryQueue& queue, size_t want,
                               size_t budget, std::vector<core::DeliveryTask>* out);

  MemoryLimits limits_;
  size_t bytes_ = 0;  // held over all destinations
};

}  // namespace switchyard::destinations
