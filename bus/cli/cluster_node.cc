#include "cli/cluster_node.h"

#include <algorithm>
#include <future>
#include <nlohmann/json.hpp>
#include <vector>

#include "switchyard/core/log.h"

namespace switchyard::cli {

namespace {

// How many of a destination's deliveries its owner keeps fetched: enough
// for two seconds at its quota plus its in-flight cap.
size_t window_of(const config::ApiDestinationConfig& d) {
  const size_t quota = d.rate_limit_per_second == 0 ? 500 : d.rate_limit_per_second;
  return std::min<size_t>(1000, 32 + 2 * quota);
}

std::vector<cluster::OwnedDestination> owned_of(const config::Config& c) {
  std::vector<cluster::OwnedDestination> out;
  for (const auto& d : c.api_destinations) out.push_back({d.name, window_of(d)});
  return out;
}

}  // namespace

core::Result<std::unique_ptr<ClusterNode>> ClusterNode::open(const config::Config& config,
                                                             prometheus::Registry& registry) {
  std::unique_ptr<ClusterNode> node(new ClusterNode());
  node->settings_ = config.cluster;
  node->registry_ = &registry;
  const auto& k = config.cluster;
  auto js = storage::jetstream::JetStream::connect(
      {.urls = k.servers, .user = k.user, .password = k.password, .token = k.token, .name = "switchyard-" + k.node_id});
  if (!js) return js.status();
  node->js_ = std::move(*js);
  auto store = storage::JetStreamStore::open(
      *node->js_, {.replicas = k.replicas, .publish_timeout_ms = k.publish_timeout_ms, .registry = &registry});
  if (!store) return store.status();
  node->store_ = std::move(*store);
  node->ensure_consumers(config);
  return node;
}

ClusterNode::~ClusterNode() { stop(); }

// Consumers are created in parallel: each is a replicated group that takes
// a good part of a second to create alone.
void ClusterNode::ensure_consumers(const config::Config& config) {
  std::vector<std::future<core::Status>> pending;
  for (const auto& d : config.api_destinations)
    pending.push_back(
        std::async(std::launch::async, [this, name = d.name] { return store_->ensure_destination(name); }));
  for (size_t i = 0; i < pending.size(); ++i)
    if (auto st = pending[i].get(); !st)
      core::log::error("cannot create a destination's consumer; its deliveries wait until it exists",
                       {{"destination", config.api_destinations[i].name}, {"error", st.message()}});
}

bool ClusterNode::may_send(const std::string& destination) const {
  return membership_ != nullptr && membership_->may_send(destination);
}

core::Status ClusterNode::start(destinations::Dispatcher& dispatcher, const config::Config& config,
                                const std::string& record) {
  store_->set_fetch_listener(
      [&dispatcher](const std::string& destination, uint64_t n) { dispatcher.stored_elsewhere(destination, n); });
  membership_ =
      std::make_unique<cluster::Membership>(*js_, *store_, dispatcher,
                                            cluster::MembershipOptions{.node_id = settings_.node_id,
                                                                       .record = record,
                                                                       .partitions = settings_.partitions,
                                                                       .replicas = settings_.replicas,
                                                                       .lease_ttl_ms = settings_.lease_ttl_ms},
                                            *registry_);
  membership_->set_destinations(owned_of(config));
  return membership_->start();
}

void ClusterNode::apply(const config::Config& config) {
  ensure_consumers(config);
  if (membership_) membership_->set_destinations(owned_of(config));
}

std::string ClusterNode::view_json() {
  nlohmann::json out{{"node", settings_.node_id}, {"partitions_count", settings_.partitions}};
  nlohmann::json nodes = nlohmann::json::array();
  if (auto ids = membership_->nodes(); ids) {
    for (const auto& id : *ids) nodes.push_back(id);
  } else {
    out["error"] = ids.status().message();
  }
  out["nodes"] = std::move(nodes);
  nlohmann::json parts = nlohmann::json::array();
  for (const auto& p : membership_->partitions())
    parts.push_back({{"partition", p.partition}, {"owner", p.owner}, {"revision", p.epoch}});
  out["partitions"] = std::move(parts);
  out["owned_here"] = membership_->owned();
  nlohmann::json streams = nlohmann::json::array();
  for (const char* name : {"SY_WORK", "SY_RETRY", "SY_DLQ"}) {
    auto leader = js_->stream_leader(name);
    auto messages = js_->stream_messages(name);
    streams.push_back({{"name", name},
                       {"leader", leader ? *leader : ""},
                       {"messages", messages ? *messages : 0},
                       {"error", !leader     ? leader.status().message()
                                 : !messages ? messages.status().message()
                                             : ""}});
  }
  out["streams"] = std::move(streams);
  return out.dump();
}

void ClusterNode::stop() {
  if (membership_) membership_->stop();
}

}  // namespace switchyard::cli
