#pragma once

// Configuration reload for `switchyard serve`, shared by SIGHUP and
// POST /admin/reload: the new file is validated first, an invalid one is
// refused (the running configuration stays), a valid one is swapped in.

#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "switchyard/bus/replay.h"
#include "switchyard/bus/routing.h"
#include "switchyard/bus/server.h"
#include "switchyard/config/config.h"
#include "switchyard/destinations/dispatcher.h"
#include "switchyard/storage/store.h"

namespace switchyard::cli {

// The dispatcher's view of the configured API destinations.
std::vector<destinations::Destination> destinations_of(const config::Config& c);

class Reloader {
 public:
  // `fixed_log_level`: a --log-level given on the command line, which wins
  // over server.log_level.
  Reloader(std::string path, config::Config running, storage::Store& store, destinations::Dispatcher& dispatcher,
           bus::Server& server, bus::Replayer& replayer, prometheus::Registry& registry, bool fixed_log_level);

  // Reloads; returns whether the new configuration was taken, with the JSON
  // report POST /admin/reload answers. Everything is also logged.
  bool reload(std::string* report);

  // Runs with each configuration applied (cluster mode: the destinations
  // this node may own change). Set before the first reload.
  void set_on_applied(std::function<void(const config::Config&)> fn) { on_applied_ = std::move(fn); }
  // Cluster mode: a valid new file is first shared with every node; when
  // that fails the reload is refused and nothing changes. Set before the
  // first reload.
  void set_share(std::function<core::Status(const config::Config&)> fn) { share_ = std::move(fn); }
  // Runs with each new routing (the subscribers follow it). Set before the
  // first reload.
  void set_on_routing(std::function<void(std::shared_ptr<const bus::Routing>)> fn) { on_routing_ = std::move(fn); }
  // Applies a configuration another node shared (already valid).
  void apply_shared(config::Config next, uint64_t revision);

 private:
  std::mutex mu_;
  const std::string path_;
  config::Config running_;  // the last configuration applied
  // What the process started with: listeners, limits and the store keep
  // these until a restart, whatever reloads applied since.
  const config::Config started_;
  storage::Store& store_;
  destinations::Dispatcher& dispatcher_;
  bus::Server& server_;
  bus::Replayer& replayer_;
  prometheus::Registry& registry_;
  const bool fixed_log_level_;
  prometheus::Family<prometheus::Counter>& reloads_;
  prometheus::Gauge& last_success_;
  std::function<void(const config::Config&)> on_applied_;
  std::function<core::Status(const config::Config&)> share_;
  std::function<void(std::shared_ptr<const bus::Routing>)> on_routing_;

  // Swaps `next` in (mu_ held) and writes the report.
  void apply(config::Config next, std::string* report);
};

}  // namespace switchyard::cli
