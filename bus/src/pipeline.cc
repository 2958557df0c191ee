#include "pipeline.h"

#include <prometheus/counter.h>

#include <algorithm>
#include <utility>

#include "switchyard/destinations/dispatcher.h"

namespace switchyard::bus {

storage::LogEntry log_entry(const std::string& bus, const core::Event& event, const std::string& envelope,
                            std::vector<std::string> via) {
  storage::LogEntry e;
  e.bus = bus;
  e.event_id = event.id;
  e.ingested_ms = event.ingested_ms;
  e.data = envelope;
  e.source = event.source;
  e.detail_type = event.detail_type;
  e.trace_header = event.trace_header;
  e.via = std::move(via);
  return e;
}

size_t Pipeline::route(const BusRoute& bus, const core::Event& event, const std::string& envelope, size_t index,
                       storage::IngestBatch& batch, const RouteOptions& options) {
  std::vector<std::string> forward;
  size_t matched =
      route_event(bus, event, envelope, batch.tasks, options.only_rules, options.routing ? &forward : nullptr);
  if (options.archive)
    for (auto& archive : archives_for(bus, envelope)) batch.archived.emplace_back(std::move(archive), index);
  std::vector<std::string> visited = options.via ? *options.via : std::vector<std::string>{};
  if (options.log && bus.bus.logged) batch.log.push_back(log_entry(bus.bus.name, event, envelope, visited));
  if (forward.empty()) return matched;  // the common case: no event-bus target matched
  // Breadth first over the buses the event reaches; each is entered once.
  visited.push_back(bus.bus.name);
  for (size_t next = 0; next < forward.size(); ++next) {
    auto it = options.routing->buses.find(forward[next]);
    if (it == options.routing->buses.end()) continue;  // validated: never
    const BusRoute& to = it->second;
    if (std::find(visited.begin(), visited.end(), to.bus.name) != visited.end()) {
      if (to.loops) to.loops->Increment();
      continue;
    }
    if (options.log && to.bus.logged) batch.log.push_back(log_entry(to.bus.name, event, envelope, visited));
    visited.push_back(to.bus.name);
    if (to.forwarded) to.forwarded->Increment();
    std::vector<std::string> more;
    matched += route_event(to, event, envelope, batch.tasks, nullptr, &more);  // every rule of that bus
    if (options.archive)
      for (auto& archive : archives_for(to, envelope)) batch.archived.emplace_back(std::move(archive), index);
    forward.insert(forward.end(), more.begin(), more.end());
  }
  return matched;
}

void Pipeline::commit(std::shared_ptr<storage::IngestBatch> batch, std::function<void(core::Status)> done) {
  log_.append(batch, [this, batch, done = std::move(done)](core::Status st) {
    if (st && !batch->tasks.empty() && log_.delivers_appended_here()) dispatcher_.submit(std::move(batch->tasks));
    if (st && !batch->log.empty() && on_logged_) on_logged_();
    done(std::move(st));
  });
}

}  // namespace switchyard::bus
