#include "pipeline.h"

#include <utility>

#include "switchyard/destinations/dispatcher.h"

namespace switchyard::bus {

size_t Pipeline::route(const BusRoute& bus, const core::Event& event, const std::string& envelope, size_t index,
                       storage::IngestBatch& batch, const RouteOptions& options) {
  const size_t matched = route_event(bus, event, envelope, batch.tasks, options.only_rules);
  if (options.archive)
    for (auto& archive : archives_for(bus, envelope)) batch.archived.emplace_back(std::move(archive), index);
  return matched;
}

void Pipeline::commit(std::shared_ptr<storage::IngestBatch> batch, std::function<void(core::Status)> done) {
  log_.append(batch, [this, batch, done = std::move(done)](core::Status st) {
    if (st && !batch->tasks.empty() && log_.delivers_appended_here()) dispatcher_.submit(std::move(batch->tasks));
    done(std::move(st));
  });
}

}  // namespace switchyard::bus
