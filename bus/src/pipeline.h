#pragma once

// The one step every accepted event takes, whether it came over HTTP or
// from a replay: route it (match its bus's rules, render each target's
// delivery, pick its archives), store everything in one atomic write, and
// once that is durable hand the deliveries to the dispatcher. Ingest ->
// storage -> rules -> destinations, in one place.

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "switchyard/bus/routing.h"
#include "switchyard/core/event.h"
#include "switchyard/core/status.h"
#include "switchyard/storage/roles.h"

namespace switchyard::destinations {
class Dispatcher;
}

namespace switchyard::bus {

struct RouteOptions {
  // The rules a replay is limited to (all when null).
  const std::set<std::string>* only_rules = nullptr;
  // Whether the event is kept in its bus's archives (not for replays).
  bool archive = true;
  // Every bus, for event-bus targets (left out when null).
  const Routing* routing = nullptr;
  // Whether the event goes into the logs of the buses it reaches that keep
  // one (not for replays).
  bool log = true;
  // The buses the event was on before this one (a subscriber's event-bus
  // target): the loop guard does not enter them again.
  const std::vector<std::string>* via = nullptr;
};

// A bus log entry of an event with its envelope (content type
// application/eventbridge+json).
storage::LogEntry log_entry(const std::string& bus, const core::Event& event, const std::string& envelope,
                            std::vector<std::string> via);

class Pipeline {
 public:
  Pipeline(storage::IngestLog& log, destinations::Dispatcher& dispatcher) : log_(log), dispatcher_(dispatcher) {}

  // Routes event `index` of `batch.events` (or an event not stored again,
  // a replay's, with `index` unused when archive is off): its deliveries and
  // archive copies are added to `batch`. `envelope` is the event's
  // envelope_json(). A matched event-bus target routes the same event on
  // that bus too, into the same batch (so in the same atomic write), once
  // per bus: a bus the event has been on already is not entered again (the
  // loop guard). On buses that keep a log the event is added to it
  // (batch.log). CPU work only. Returns how many rules matched.
  static size_t route(const BusRoute& bus, const core::Event& event, const std::string& envelope, size_t index,
                      storage::IngestBatch& batch, const RouteOptions& options = {});

  // Stores `batch` in one atomic write; once it is durable its deliveries go
  // to the dispatcher and `done(ok)` runs. On failure nothing is stored or
  // delivered and `done` gets the reason. `done` runs on the store's thread.
  void commit(std::shared_ptr<storage::IngestBatch> batch, std::function<void(core::Status)> done);
  // Runs after each stored batch that appended to a bus log (subscribers
  // then look at once). Set before the pipeline is used.
  void set_on_logged(std::function<void()> fn) { on_logged_ = std::move(fn); }
  // Whether events can be stored now (/readyz).
  core::Status readiness() { return log_.readiness(); }

 private:
  storage::IngestLog& log_;
  destinations::Dispatcher& dispatcher_;
  std::function<void()> on_logged_;
};

}  // namespace switchyard::bus
