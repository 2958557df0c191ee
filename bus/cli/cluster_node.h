#pragma once

// `switchyard serve` in cluster mode: the NATS connection, the JetStream
// store and this node's share of the partitions, set up from the `cluster:`
// section and kept in step with reloads.

#include <prometheus/registry.h>

#include <memory>

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
  static core::Result<std::unique_ptr<ClusterNode>> open(const config::Config& config, prometheus::Registry& registry);
  ~ClusterNode();

  storage::JetStreamStore& store() { return *store_; }
  // For the dispatcher's options: sends only for owned, unfenced partitions.
  bool may_send(const std::string& destination) const;

  // Starts taking partitions and feeding `dispatcher`.
  core::Status start(destinations::Dispatcher& dispatcher, const config::Config& config, const std::string& record);
  // A configuration applied: consumers for new destinations, ownership of them.
  void apply(const config::Config& config);
  // GET /admin/cluster: this node, the live nodes' records, the partitions.
  std::string view_json();
  // Hands every partition over (SIGTERM).
  void stop();

 private:
  ClusterNode() = default;
  void ensure_consumers(const config::Config& config);

  config::ClusterConfig settings_;
  prometheus::Registry* registry_ = nullptr;
  std::unique_ptr<storage::jetstream::JetStream> js_;
  std::unique_ptr<storage::JetStreamStore> store_;
  std::unique_ptr<cluster::Membership> membership_;
};

}  // namespace switchyard::cli
