#include "memory_pager.h"

#include <algorithm>
#include <utility>

namespace switchyard::destinations {

int64_t Holding::oldest_ingested_ms() const {
  int64_t oldest = 0;
  for (const auto& [id, held] : known)
    if (oldest == 0 || held.ingested_ms < oldest) oldest = held.ingested_ms;
  return oldest;
}

bool MemoryPager::admit(Holding& h, const core::DeliveryTask& t) {
  const size_t bytes = core::task_memory_bytes(t);
  const bool room =
      h.known.empty() || (h.known.size() < limits_.per_destination &&
                          h.bytes + bytes <= limits_.bytes_per_destination && bytes_ + bytes <= limits_.bytes_total);
  if (!room) {
    h.on_disk = true;
    return false;
  }
  hold(h, t.id, bytes, t.ingested_ms);
  return true;
}

void MemoryPager::hold(Holding& h, const std::string& id, size_t bytes, int64_t ingested_ms) {
  h.known.emplace(id, Holding::Held{bytes, ingested_ms});
  h.bytes += bytes;
  bytes_ += bytes;
}

void MemoryPager::forget(Holding& h, const std::string& id) {
  const auto it = h.known.find(id);
  if (it == h.known.end()) return;
  h.bytes -= it->second.bytes;
  bytes_ -= it->second.bytes;
  h.known.erase(it);
}

core::Result<std::vector<core::DeliveryTask>> MemoryPager::refill(const std::string& destination, Holding& h,
                                                                  storage::DeliveryQueue& queue) {
  std::vector<core::DeliveryTask> out;
  const size_t cap = limits_.per_destination;
  const size_t byte_cap = limits_.bytes_per_destination;
  if (!h.on_disk || h.known.size() > cap / 2 || h.bytes > byte_cap / 2) return out;
  const size_t total_room = bytes_ < limits_.bytes_total ? limits_.bytes_total - bytes_ : 0;
  if (total_room == 0 && !h.known.empty()) return out;
  const size_t budget = std::min(byte_cap - h.bytes, total_room);
  const bool from_first = h.disk_cursor.empty();
  size_t want = cap - h.known.size();
  const size_t before = h.bytes;
  auto got = page_in(destination, h, queue, want, budget, &out);
  if (got && *got < want && h.bytes - before < budget && !from_first) {
    h.disk_cursor.clear();
    want -= *got;
    got = page_in(destination, h, queue, want, budget - (h.bytes - before), &out);
  }
  if (!got) {  // what came before the failure is held; the rest is tried again on the next refill
    if (out.empty()) return got.status();
    return out;
  }
  if (*got < want && h.bytes - before < budget) {
    h.on_disk = false;
    h.disk_cursor.clear();
  }
  return out;
}

// Pages in at most `want` stored deliveries of about `budget` bytes (the
// store counts its records, which are close to what they take here).
core::Result<size_t> MemoryPager::page_in(const std::string& destination, Holding& h, storage::DeliveryQueue& queue,
                                          size_t want, size_t budget, std::vector<core::DeliveryTask>* out) {
  auto tasks = queue.load_tasks(
      destination, want, [&h](const std::string& id) { return h.holds(id); }, &h.disk_cursor,
      std::max<size_t>(budget, 1));
  if (!tasks) return tasks.status();
  for (auto& t : *tasks) {
    hold(h, t.id, core::task_memory_bytes(t), t.ingested_ms);
    out->push_back(std::move(t));
  }
  return tasks->size();
}

}  // namespace switchyard::destinations
