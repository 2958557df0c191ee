// Bus log retention: a pass over the buses that keep a log, run by one node.

#include "subscriber_retention.h"

#include <prometheus/counter.h>

#include <algorithm>

#include "switchyard/core/log.h"

namespace switchyard::bus {

// Entries older than a bus's retention go; on a bus that keeps them only
// as long as needed (retention 0), those every subscriber has passed.
void apply_retention(const Routing& routing, storage::BusLog& store, const std::map<std::string, Progress>& stored,
                     int64_t now, prometheus::Family<prometheus::Counter>& expired) {
  for (const auto& [name, bus] : routing.buses) {
    if (!bus.bus.logged) continue;
    const uint32_t days = bus.bus.retention_days;
    auto removed = store.expire_log(name, days > 0 ? now - int64_t{days} * 86'400'000 : 0, days);
    if (!removed) {
      core::log::warn("cannot expire a bus log", {{"bus", name}, {"error", removed.status().message()}});
      continue;
    }
    if (*removed) {
      expired.Add({{"bus", name}}).Increment(static_cast<double>(*removed));
      core::log::info("expired bus log entries removed", {{"bus", name}, {"count", std::to_string(*removed)}});
    }
    if (days > 0) continue;
    auto bounds = store.log_bounds(name);
    if (!bounds) continue;
    uint64_t needed = bounds->next;
    bool all_placed = true;
    for (const auto& s : routing.subscribers) {
      if (s.bus != name) continue;
      auto it = stored.find(progress_key(s.bus, s.name));
      if (it == stored.end()) {
        all_placed = false;
        break;
      }
      needed = std::min(needed, it->second.position);
    }
    if (!all_placed || needed <= bounds->first) continue;
    if (auto st = store.trim_log(name, needed); !st)
      core::log::warn("cannot trim a bus log", {{"bus", name}, {"error", st.message()}});
  }
}

}  // namespace switchyard::bus
