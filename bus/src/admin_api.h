#pragma once

// The admin listener's API: metrics, health, reload, rules, destinations
// (pause, resume), dead letters (list, redrive, purge), archives, replays and
// TestEventPattern. A request in, a response out: no socket, so it can be
// tested on bytes.

#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <string>

#include "http_message.h"
#include "switchyard/bus/replay.h"
#include "switchyard/bus/routing.h"
#include "switchyard/bus/server.h"
#include "switchyard/bus/subscribers.h"
#include "switchyard/destinations/dispatcher.h"
#include "switchyard/storage/store.h"

namespace switchyard::bus {

struct AdminApiDeps {
  std::string admin_token;  // server.admin_token; empty: no token needed
  storage::Store& store;
  destinations::Dispatcher& dispatcher;
  prometheus::Registry& registry;
  std::function<std::shared_ptr<const Routing>()> routing;  // the running rules
  std::function<ReloadHandler()> reload;                    // empty: reload unavailable
  std::function<Replayer*()> replayer;                      // null: replays unavailable
  std::function<Subscribers*()> subscribers;                // null: subscribers unavailable
  std::function<ClusterView()> cluster;                     // empty: single-node mode
};

class AdminApi {
 public:
  explicit AdminApi(AdminApiDeps deps);
  ~AdminApi();

  // Any request to the admin listener; /healthz needs no token.
  Response handle(const Request& req) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::bus
