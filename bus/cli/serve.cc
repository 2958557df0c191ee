// `switchyard serve`: reads the config, builds each component's options,
// wires storage -> dispatcher -> server, and handles signals.
#include "cli/serve.h"

#include <prometheus/registry.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cluster_node.h"
#include "cli/reload.h"
#include "cli/tools.h"
#include "switchyard/bus/routing.h"
#include "switchyard/bus/server.h"
#include "switchyard/bus/subscribers.h"
#include "switchyard/config/config.h"
#include "switchyard/core/log.h"
#include "switchyard/destinations/dispatcher.h"
#include "switchyard/storage/store.h"

namespace sy = switchyard;

namespace switchyard::cli {

int run_serve(const ServeArgs& args) {
  const std::string config_path = args.config;
  sy::config::Config config;
  if (!load_config(config_path, &config)) return 2;
  const bool fixed_log_level = !args.log_level.empty();
  {
    sy::core::log::Level level;
    if (!sy::core::log::parse_level(fixed_log_level ? args.log_level : config.server.log_level, &level)) {
      std::cerr << "serve: --log-level must be debug, info, warn or error\n";
      return 2;
    }
    sy::core::log::set_level(level);
  }

  // Signals are taken by this thread alone (sigwait below); every thread
  // started from here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto registry = std::make_shared<prometheus::Registry>();
  sy::storage::Options store_options{.path = args.data_dir.empty() ? config.storage.path : args.data_dir,
                                     .sync = config.storage.sync,
                                     .min_free_bytes = config.storage.min_free_mb << 20,
                                     .registry = registry.get()};
  // Single-node mode: the embedded RocksDB store. Cluster mode: JetStream.
  std::unique_ptr<sy::storage::Store> rocks;
  std::unique_ptr<ClusterNode> cluster;
  sy::destinations::Options dispatch_options;
  if (config.cluster.enabled) {
    sy::core::log::info("cluster mode", {{"node", config.cluster.node_id},
                                         {"nats", config.cluster.servers.front()},
                                         {"replicas", std::to_string(config.cluster.replicas)}});
    auto opened = ClusterNode::open(config, config_path, *registry);
    if (!opened) {
      sy::core::log::error("cannot open the cluster store", {{"error", opened.status().message()}});
      return 1;
    }
    cluster = std::move(*opened);
    auto shared = cluster->shared_config(config);
    if (!shared) {
      sy::core::log::error("cannot read the cluster's configuration", {{"error", shared.status().message()}});
      return 1;
    }
    config = std::move(*shared);
    dispatch_options.may_send = [node = cluster.get()](const std::string& d) { return node->may_send(d); };
    dispatch_options.stored_beyond = [node = cluster.get()](const std::string& d) { return node->store().waiting(d); };
  } else {
    auto opened = sy::storage::Store::open(store_options);
    if (!opened) {
      sy::core::log::error("cannot open the store", {{"error", opened.status().message()}});
      return 1;
    }
    rocks = std::move(*opened);
  }
  sy::storage::Store* store = cluster ? static_cast<sy::storage::Store*>(&cluster->store()) : rocks.get();

  // FIFO subscribers learn from the dispatcher when each delivery ends.
  std::atomic<sy::bus::Subscribers*> fifo_listener{nullptr};
  dispatch_options.on_settled = [&fifo_listener](const sy::core::DeliveryTask& task, bool dead) {
    if (auto* s = fifo_listener.load()) s->settled(task, dead);
  };
  sy::destinations::Dispatcher dispatcher(dispatch_options, *store, *registry);
  dispatcher.set_destinations(sy::cli::destinations_of(config));
  dispatcher.start();

  sy::bus::ServerOptions server_options;
  server_options.listen = config.server.listen;
  server_options.admin_listen = config.server.admin_listen;
  server_options.max_body_bytes = config.server.max_body_bytes;
  server_options.max_put_events_bytes = config.server.max_put_events_bytes;
  server_options.threads = config.server.threads;
  server_options.max_connections = config.server.max_connections;
  server_options.read_timeout_seconds = config.server.read_timeout_seconds;
  server_options.admin_token = config.server.admin_token;
  sy::bus::Server server(server_options, *store, dispatcher, registry);
  const auto routing = sy::bus::build_routing(config, *registry);
  server.set_routing(routing);
  sy::bus::Replayer::Options replay_options;
  replay_options.max_events_per_second = config.server.replay_max_events_per_second;
  if (cluster) {  // every node sees the replays; the holder of partition 0 runs them
    replay_options.shared = true;
    replay_options.may_run = [node = cluster.get()] { return node->runs_replays(); };
  }
  sy::bus::Replayer replayer(replay_options, *store, dispatcher, *registry);
  replayer.set_routing(routing);
  replayer.start();
  server.set_replayer(&replayer);
  sy::bus::Subscribers::Options subscriber_options;
  if (cluster) {  // every node serves their state; the node that runs replays runs them, but
    subscriber_options.may_run = [node = cluster.get()] { return node->runs_replays(); };
    // ... a FIFO subscriber runs where its destination's deliveries are made.
    subscriber_options.may_run_target = [node = cluster.get()](const std::string& d) { return node->may_send(d); };
  }
  sy::bus::Subscribers subscribers(subscriber_options, *store, dispatcher, *registry);
  fifo_listener = &subscribers;
  subscribers.set_routing(routing);
  subscribers.start();
  server.set_subscribers(&subscribers);
  const int64_t drain_ms = int64_t{config.server.shutdown_timeout_seconds} * 1000;
  sy::cli::Reloader reloader(config_path, config, *store, dispatcher, server, replayer, *registry, fixed_log_level);
  if (cluster) {  // a reload is shared with every node, and every node follows the others'
    reloader.set_on_applied([node = cluster.get()](const sy::config::Config& c) { node->apply(c); });
    reloader.set_share([node = cluster.get()](const sy::config::Config& c) { return node->share(c); });
    cluster->follow(
        [&reloader](sy::config::Config c, uint64_t revision) { reloader.apply_shared(std::move(c), revision); });
  }
  reloader.set_on_routing(
      [&subscribers](std::shared_ptr<const sy::bus::Routing> r) { subscribers.set_routing(std::move(r)); });
  server.set_reload_handler([&reloader](std::string* report) { return reloader.reload(report); });
  if (auto st = server.start(); !st) {
    sy::core::log::error("cannot start the server", {{"error", st.message()}});
    if (cluster) cluster->stop();  // its follower calls the reloader
    dispatcher.stop();
    return 1;
  }
  if (cluster) {
    const std::string record = nlohmann::json{
        {"node", config.cluster.node_id},
        {"ingest", server.ingest_address()},
        {"admin",
         server.admin_address()}}.dump();
    server.set_cluster_view({.describe = [node = cluster.get()] { return node->view_json(); },
                             .owners = [node = cluster.get()] { return node->owners(); }});
    if (auto st = cluster->start(dispatcher, config, record); !st) {
      sy::core::log::error("cannot join the cluster", {{"error", st.message()}});
      cluster->stop();
      server.stop(0);
      dispatcher.stop();
      return 1;
    }
  }
  sy::core::log::info("switchyard is serving", {{"ingest", server.ingest_address()},
                                                {"admin", server.admin_address()},
                                                {"data_dir", cluster ? "(cluster mode)" : store_options.path},
                                                {"config", config_path}});

  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      std::string report;
      reloader.reload(&report);
      continue;
    }
    sy::core::log::info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                                          {"drain_seconds", std::to_string(drain_ms / 1000)}});
    break;
  }
  // Stop accepting and let running requests finish: what they acknowledge
  // is stored. Deliveries in flight stay stored and are retried after the
  // next start. Closing the store flushes it.
  const auto started = std::chrono::steady_clock::now();
  server.stop(drain_ms);
  server.set_reload_handler(nullptr);
  server.set_replayer(nullptr);
  server.set_cluster_view({});
  server.set_subscribers(nullptr);
  fifo_listener = nullptr;
  subscribers.stop();            // a subscriber stops between two stored steps and goes on after the next start
  replayer.stop();               // a replay stops between two stored steps and resumes after the next start
  if (cluster) cluster->stop();  // partitions handed over while this node can still record outcomes
  dispatcher.stop();
  rocks.reset();
  cluster.reset();
  sy::core::log::info("stopped", {{"shutdown_ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                     std::chrono::steady_clock::now() - started)
                                                                     .count())}});
  return 0;
}

}  // namespace switchyard::cli
