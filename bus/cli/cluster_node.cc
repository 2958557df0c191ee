#include "cli/cluster_node.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "switchyard/core/log.h"

namespace switchyard::cli {

namespace {

constexpr const char* kConfigBucket = "sy_config";
constexpr const char* kConfigKey = "config";
constexpr int kConfigHistory = 64;
constexpr int64_t kFollowEveryMs = 250;
constexpr int kProvisionSeconds = 60;

core::Result<std::string> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return core::Status::failed_precondition("cannot read " + path);
  std::ostringstream text;
  text << f.rdbuf();
  return text.str();
}

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
                                                             const std::string& config_path,
                                                             prometheus::Registry& registry) {
  std::unique_ptr<ClusterNode> node(new ClusterNode());
  node->local_ = config;
  node->path_ = config_path;
  node->settings_ = config.cluster;
  node->registry_ = &registry;
  const auto& k = config.cluster;
  auto js = storage::jetstream::JetStream::connect(
      {.urls = k.servers, .user = k.user, .password = k.password, .token = k.token, .name = "switchyard-" + k.node_id});
  if (!js) return js.status();
  node->js_ = std::move(*js);
  // The servers may still be electing leaders, or be busy: provisioning is
  // retried for a minute before the node gives up.
  const storage::JetStreamStoreOptions options{
      .replicas = k.replicas, .publish_timeout_ms = k.publish_timeout_ms, .node_id = k.node_id, .registry = &registry};
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(kProvisionSeconds);
  for (;;) {
    auto store = storage::JetStreamStore::open(*node->js_, options);
    core::Status st = store ? node->js_->ensure_bucket(kConfigBucket, k.replicas, 0, kConfigHistory) : store.status();
    if (st) {
      node->store_ = std::move(*store);
      return node;
    }
    if (st.code() != core::Code::kUnavailable || std::chrono::steady_clock::now() >= give_up) return st;
    core::log::warn("JetStream is not ready yet; retrying", {{"error", st.message()}});
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

core::Result<config::Config> ClusterNode::shared_config(const config::Config& local) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(kProvisionSeconds);
  for (;;) {
    auto shared = read_shared_config(local);
    if (shared || shared.status().code() != core::Code::kUnavailable || std::chrono::steady_clock::now() >= give_up)
      return shared;
    core::log::warn("cannot read the cluster's configuration yet; retrying", {{"error", shared.status().message()}});
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

core::Result<config::Config> ClusterNode::read_shared_config(const config::Config& local) {
  auto text = read_file(path_);
  if (!text) return text.status();
  auto created = js_->kv_create(kConfigBucket, kConfigKey, *text);
  if (created) {
    std::lock_guard lock(shared_mu_);
    shared_revision_ = *created;
    core::log::info("this node's configuration is the cluster's", {{"revision", std::to_string(*created)}});
    ensure_consumers(local);
    return local;
  }
  if (created.status().code() != core::Code::kFailedPrecondition) return created.status();
  auto entry = js_->kv_get(kConfigBucket, kConfigKey);
  if (!entry) return entry.status();
  auto merged = from_shared(entry->value, local);
  if (!merged) return merged.status();
  if (entry->value != *text)  // the node-local sections always differ; the rest may too
    core::log::info(
        "this node runs the cluster's configuration: its own file gives only the server, storage and "
        "cluster sections",
        {{"revision", std::to_string(entry->revision)}, {"config", path_}});
  {
    std::lock_guard lock(shared_mu_);
    shared_revision_ = entry->revision;
  }
  ensure_consumers(*merged);
  return *merged;
}

core::Result<config::Config> ClusterNode::from_shared(const std::string& text, const config::Config& local) {
  config::Config shared;
  std::vector<config::ConfigError> errors;
  if (!config::load_text(text, "the cluster's configuration", &shared, &errors))
    return core::Status::failed_precondition("the cluster's configuration is not valid here: " +
                                             errors.front().format());
  // Node-local settings stay this node's own.
  shared.file = local.file;
  shared.server = local.server;
  shared.storage = local.storage;
  shared.cluster = local.cluster;
  return shared;
}

core::Status ClusterNode::share(const config::Config& next) {
  auto text = read_file(path_);
  if (!text) return text.status();
  std::lock_guard lock(shared_mu_);
  auto rev = js_->kv_update(kConfigBucket, kConfigKey, *text, shared_revision_);
  if (rev.status().code() == core::Code::kFailedPrecondition)
    return core::Status::failed_precondition(
        "another node changed the cluster's configuration since this node applied revision " +
        std::to_string(shared_revision_) + "; reload again");
  if (!rev) return rev.status();
  shared_revision_ = *rev;
  ensure_consumers(next);
  core::log::info("configuration shared with the cluster", {{"revision", std::to_string(*rev)}});
  return core::Status::ok();
}

void ClusterNode::follow(std::function<void(config::Config, uint64_t)> apply) {
  following_ = true;
  follower_ = std::thread([this, apply = std::move(apply)] {
    while (following_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kFollowEveryMs));
      auto entry = js_->kv_get(kConfigBucket, kConfigKey);
      if (!entry) continue;
      {
        std::lock_guard lock(shared_mu_);
        if (entry->revision <= shared_revision_) continue;
      }
      auto merged = from_shared(entry->value, local_);
      std::lock_guard lock(shared_mu_);
      if (entry->revision <= shared_revision_) continue;  // this node shared it meanwhile
      shared_revision_ = entry->revision;
      if (!merged) {
        core::log::error("cannot apply the cluster's configuration; the running one is kept",
                         {{"revision", std::to_string(entry->revision)}, {"error", merged.status().message()}});
        continue;
      }
      ensure_consumers(*merged);
      apply(std::move(*merged), entry->revision);
    }
  });
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
  const cluster::Membership* m = running_.load(std::memory_order_acquire);
  return m != nullptr && m->may_send(destination);
}

bool ClusterNode::runs_replays() const {
  const cluster::Membership* m = running_.load(std::memory_order_acquire);
  return m != nullptr && m->holds(0);
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
  running_.store(membership_.get(), std::memory_order_release);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(kProvisionSeconds);
  for (;;) {
    const core::Status st = membership_->start();
    if (st || st.code() != core::Code::kUnavailable || std::chrono::steady_clock::now() >= give_up) return st;
    core::log::warn("cannot join the cluster yet; retrying", {{"error", st.message()}});
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

void ClusterNode::apply(const config::Config& config) {
  if (membership_) membership_->set_destinations(owned_of(config));
}

std::map<std::string, std::string> ClusterNode::owners() {
  std::map<std::string, std::string> out;
  const cluster::Membership* m = running_.load(std::memory_order_acquire);
  if (m == nullptr) return out;
  return membership_->owners();
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
  following_ = false;
  if (follower_.joinable()) follower_.join();
  if (membership_) membership_->stop();
}

}  // namespace switchyard::cli
