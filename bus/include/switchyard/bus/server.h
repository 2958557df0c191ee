#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "switchyard/bus/routing.h"
#include "switchyard/core/status.h"

namespace prometheus {
class Registry;
}
namespace switchyard::storage {
class Store;
}
namespace switchyard::destinations {
class Dispatcher;
}

namespace switchyard::bus {

class Replayer;
class Subscribers;

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";
  std::string admin_listen = "127.0.0.1:8081";
  size_t max_body_bytes = 4 * 1024 * 1024;
  size_t max_put_events_bytes = 1048576;  // EventBridge's entry-size limit, its formula
  int threads = 2;
  size_t max_connections = 0;     // per listener (0: derived from the open-file limit); beyond it a 503 and close
  int read_timeout_seconds = 30;  // slow clients are cut off after this
  // When set, every admin request except GET /healthz needs
  // "Authorization: Bearer <admin_token>" (a secret).
  std::string admin_token;
};

// POST /admin/reload: reloads the configuration. Returns whether the new
// configuration was taken, and the JSON body to answer with.
using ReloadHandler = std::function<bool(std::string* json_report)>;

// Cluster mode's part of the admin API. Empty (false) in single-node mode.
struct ClusterView {
  // GET /admin/cluster: the JSON body that describes the cluster (nodes,
  // partitions and their owners).
  std::function<std::string()> describe;
  // The node that owns each destination now ("" while nobody does), for
  // GET /admin/destinations.
  std::function<std::map<std::string, std::string>()> owners;
  explicit operator bool() const { return static_cast<bool>(describe); }
};

// The HTTP front of Switchyard: the ingest listener (events, webhooks,
// health) and the admin listener (metrics, admin API), on Boost.Beast.
//
// Lifecycle: construct, set_routing(), start() (binds both listeners and
// starts the I/O threads), ..., stop() (stops accepting, closes connections,
// joins the threads). Thread-safe: set_routing() may be called at any time.
class Server {
 public:
  Server(ServerOptions options, storage::Store& store, destinations::Dispatcher& dispatcher,
         std::shared_ptr<prometheus::Registry> registry);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void set_routing(std::shared_ptr<const Routing> routing);
  void set_reload_handler(ReloadHandler handler);
  void set_cluster_view(ClusterView view);
  // Serves /admin/replays with it (not owned; outlives the server).
  void set_replayer(Replayer* replayer);
  // Serves /admin/subscribers with it, and tells it when ingest appended
  // to a bus log (not owned; outlives the server). Set before start().
  void set_subscribers(Subscribers* subscribers);

  core::Status start();
  // Stops accepting, lets requests being handled finish (their events are
  // then stored and acknowledged) for up to `drain_ms`, then closes every
  // connection and joins the threads.
  void stop(int64_t drain_ms = 10000);

  // The bound addresses (HOST:PORT), valid after start().
  std::string ingest_address() const;
  std::string admin_address() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::bus
