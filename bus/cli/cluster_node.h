#pragma once

// `switchyard serve` in cluster mode: the NATS connection, the JetStream
// store and this node's share of the partitions, set up from the `cluster:`
// section and kept in step with reloads.

#include <prometheus/registry.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "switchyard/cluster/membership.h"
#include "switchyard/config/config.h"
#include "switchyard/core/status.h"
#include "switchyard/destinations/dispatcher.h"
#include "switchyard/storage/jetstream.h"
#include "switchyard/storage/jetstream_store.h"

namespace switchyard::cli {

class ClusterNode {
 public:
  // Connects and provisions the streams and buckets; the store is ready.
  // The first node stores its file's text as the cluster's configuration;
  // later nodes take the cluster's (shared_config()).
  static core::Result<std::unique_ptr<ClusterNode>> open(const config::Config& config, const std::string& config_path,
                                                         prometheus::Registry& registry);
  // The running configuration: buses, connections, destinations, rules and
  // webhooks from the cluster's copy; server, storage and cluster settings
  // from this node's own file.
  core::Result<config::Config> shared_config(const config::Config& local);
  // A reload on this node: its file (valid) becomes the cluster's
  // configuration, unless another node changed it since this node read it.
  core::Status share(const config::Config& next);
  // Applies every configuration another node shares, as it appears.
  void follow(std::function<void(config::Config, uint64_t)> apply);
  ~ClusterNode();

  storage::JetStreamStore& store() { return *store_; }
  // For the dispatcher's options: sends only for owned, unfenced partitions.
  bool may_send(const std::string& destination) const;
  // For the replayer's options: this node runs the cluster's replays and
  // archive retention now (it holds partition 0).
  bool runs_replays() const;

  // Starts taking partitions and feeding `dispatcher`.
  core::Status start(destinations::Dispatcher& dispatcher, const config::Config& config, const std::string& record);
  // A configuration applied: ownership of its destinations.
  void apply(const config::Config& config);
  // GET /admin/cluster: this node, the live nodes' records, the partitions.
  std::string view_json();
  // Each configured destination's owner now ("" while nobody holds it).
  std::map<std::string, std::string> owners();
  // Hands every partition over (SIGTERM).
  void stop();

 private:
  ClusterNode() = default;
  void ensure_consumers(const config::Config& config);
  core::Result<config::Config> read_shared_config(const config::Config& local);
  static core::Result<config::Config> from_shared(const std::string& text, const config::Config& local);

  config::Config local_;  // this node's file as it started
  std::string path_;
  std::mutex shared_mu_;
  uint64_t shared_revision_ = 0;  // the configuration revision this node runs
  std::atomic<bool> following_{false};
  std::thread follower_;
  config::ClusterConfig settings_;
  prometheus::Registry* registry_ = nullptr;
  std::unique_ptr<storage::jetstream::JetStream> js_;
  std::unique_ptr<storage::JetStreamStore> store_;
  std::unique_ptr<cluster::Membership> membership_;
  std::atomic<cluster::Membership*> running_{nullptr};  // membership_ once made: read by other threads
};

}  // namespace switchyard::cli
