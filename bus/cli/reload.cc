#include "reload.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <nlohmann/json.hpp>
#include <set>

#include "switchyard/bus/routing.h"
#include "switchyard/core/log.h"
#include "switchyard/core/time.h"

namespace switchyard::cli {

std::vector<destinations::Destination> destinations_of(const config::Config& c) {
  std::vector<destinations::Destination> out;
  for (const auto& d : c.api_destinations) {
    destinations::Destination dest;
    dest.name = d.name;
    dest.endpoint = d.endpoint;
    dest.method = d.method;
    dest.rate_limit_per_second = d.rate_limit_per_second;
    dest.signing_key = d.signing_key;
    dest.timeout_ms = int64_t{d.timeout_seconds} * 1000;
    dest.max_concurrency = d.max_concurrency;
    dest.adaptive_concurrency = d.adaptive_concurrency;
    dest.circuit = {.consecutive_transport_failures = d.circuit.consecutive_transport_failures,
                    .window_ms = int64_t{d.circuit.window_seconds} * 1000,
                    .min_attempts = d.circuit.min_attempts,
                    .failure_rate_percent = d.circuit.failure_rate_percent,
                    .open_ms = int64_t{d.circuit.open_seconds} * 1000,
                    .max_open_ms = int64_t{d.circuit.max_open_seconds} * 1000,
                    .trial_requests = d.circuit.trial_requests};
    for (const auto& conn : c.connections) {
      if (conn.name != d.connection) continue;
      dest.headers = conn.headers;
      dest.header_parameters = conn.header_parameters;
      dest.query_parameters = conn.query_string_parameters;
      dest.body_parameters = conn.body_parameters;
      if (conn.oauth) {
        auto o = std::make_shared<destinations::OAuthClientCredentials>();
        o->connection = conn.name;
        o->endpoint = conn.oauth->authorization_endpoint;
        o->method = conn.oauth->http_method;
        o->client_id = conn.oauth->client_id;
        o->client_secret = conn.oauth->client_secret;
        o->credentials_in_body = conn.oauth->credentials_in_body;
        o->headers = conn.oauth->header_parameters;
        o->query = conn.oauth->query_string_parameters;
        o->body = conn.oauth->body_parameters;
        dest.oauth = std::move(o);
      }
    }
    out.push_back(std::move(dest));
  }
  return out;
}

namespace {

// Settings only a restart applies: listeners, thread pool, limits the
// listeners were built with, and the store.
std::vector<std::string> restart_only_changes(const config::Config& a, const config::Config& b) {
  std::vector<std::string> out;
  auto check = [&out](bool same, const char* key) {
    if (!same) out.emplace_back(key);
  };
  check(a.server.listen == b.server.listen, "server.listen");
  check(a.server.admin_listen == b.server.admin_listen, "server.admin_listen");
  check(a.server.max_body_bytes == b.server.max_body_bytes, "server.max_body_bytes");
  check(a.server.max_put_events_bytes == b.server.max_put_events_bytes, "server.max_put_events_bytes");
  check(a.server.threads == b.server.threads, "server.threads");
  check(a.server.max_connections == b.server.max_connections, "server.max_connections");
  check(a.server.read_timeout_seconds == b.server.read_timeout_seconds, "server.read_timeout_seconds");
  check(a.server.admin_token == b.server.admin_token, "server.admin_token");
  check(a.server.replay_max_events_per_second == b.server.replay_max_events_per_second,
        "server.replay_max_events_per_second");
  check(a.storage.path == b.storage.path, "storage.path");
  check(a.storage.sync == b.storage.sync, "storage.sync");
  check(a.storage.min_free_mb == b.storage.min_free_mb, "storage.min_free_mb");
  const auto& x = a.cluster;
  const auto& y = b.cluster;
  check(x.enabled == y.enabled, "cluster");
  check(x.node_id == y.node_id && x.servers == y.servers && x.user == y.user && x.password == y.password &&
            x.token == y.token,
        "cluster.nats, cluster.node_id");
  check(x.replicas == y.replicas && x.partitions == y.partitions && x.lease_ttl_ms == y.lease_ttl_ms &&
            x.publish_timeout_ms == y.publish_timeout_ms,
        "cluster.replicas, partitions, lease_ttl_ms, publish_timeout_ms");
  return out;
}

std::set<std::string> target_keys(const config::Config& c) {
  std::set<std::string> out;
  for (const auto& r : c.rules)
    for (const auto& t : r.targets) out.insert(r.bus + "/" + r.name + "/" + t.id);
  return out;
}

}  // namespace

Reloader::Reloader(std::string path, config::Config running, storage::Store& store,
                   destinations::Dispatcher& dispatcher, bus::Server& server, bus::Replayer& replayer,
                   prometheus::Registry& registry, bool fixed_log_level)
    : path_(std::move(path)),
      running_(running),
      started_(std::move(running)),
      store_(store),
      dispatcher_(dispatcher),
      server_(server),
      replayer_(replayer),
      registry_(registry),
      fixed_log_level_(fixed_log_level),
      reloads_(prometheus::BuildCounter()
                   .Name("switchyard_config_reloads_total")
                   .Help("Configuration reloads by outcome (applied, refused)")
                   .Register(registry)),
      last_success_(prometheus::BuildGauge()
                        .Name("switchyard_config_last_reload_success_timestamp_seconds")
                        .Help("When the running configuration was loaded (Unix time)")
                        .Register(registry)
                        .Add({})) {
  last_success_.Set(static_cast<double>(core::now_ms()) / 1000.0);
  // Every outcome is a series from the start, so that an alert on the
  // increase of refusals sees the first one.
  reloads_.Add({{"outcome", "applied"}});
  reloads_.Add({{"outcome", "refused"}});
}

bool Reloader::reload(std::string* report) {
  std::lock_guard<std::mutex> lock(mu_);
  config::Config next;
  std::vector<config::ConfigError> errors;
  if (!config::load_file(path_, &next, &errors)) {
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& e : errors) {
      problems.push_back(e.format());
      core::log::error("reload refused: invalid config", {{"problem", e.format()}});
    }
    reloads_.Add({{"outcome", "refused"}}).Increment();
    *report = nlohmann::json{{"code", "InvalidConfiguration"},
                             {"message", "The configuration file has " + std::to_string(errors.size()) +
                                             " problem(s); the running configuration is kept."},
                             {"problems", problems}}
                  .dump();
    return false;
  }

  if (share_) {
    if (const core::Status shared = share_(next); !shared) {
      core::log::error("reload refused: the configuration could not be shared with the cluster",
                       {{"error", shared.message()}});
      reloads_.Add({{"outcome", "refused"}}).Increment();
      *report = nlohmann::json{{"code", "ClusterConfigNotShared"},
                               {"message", "The configuration is valid but could not be shared with the cluster (" +
                                               shared.message() + "); the running configuration is kept."}}
                    .dump();
      return false;
    }
  }
  apply(std::move(next), report);
  return true;
}

void Reloader::apply_shared(config::Config next, uint64_t revision) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string report;
  apply(std::move(next), &report);
  core::log::info("config revision applied", {{"revision", std::to_string(revision)}});
}

void Reloader::apply(config::Config next, std::string* report) {
  // Compared with what runs (the configuration the process started with),
  // not with the last file loaded: a change made by an earlier reload is
  // still pending until a restart.
  const std::vector<std::string> restart = restart_only_changes(started_, next);
  for (const auto& key : restart)
    core::log::warn("reload: this setting changed but takes effect only after a restart", {{"setting", key}});

  dispatcher_.set_destinations(destinations_of(next));
  if (on_applied_) on_applied_(next);
  const auto routing = bus::build_routing(next, registry_);
  server_.set_routing(routing);
  replayer_.set_routing(routing);
  if (on_routing_) on_routing_(routing);
  if (!fixed_log_level_) {
    core::log::Level level;
    if (core::log::parse_level(next.server.log_level, &level)) core::log::set_level(level);
  }

  // Deliveries are never dropped by a reload. Those of a removed target
  // still go to their destination; those of a removed destination stay
  // stored and wait for it to come back.
  nlohmann::json removed_targets = nlohmann::json::array();
  const auto now_targets = target_keys(next);
  for (const auto& key : target_keys(running_))
    if (!now_targets.count(key)) removed_targets.push_back(key);
  std::set<std::string> configured;
  for (const auto& d : next.api_destinations) configured.insert(d.name);
  nlohmann::json waiting = nlohmann::json::array();
  const auto stored = store_.task_destinations();
  if (!stored) core::log::error("reload: cannot list stored deliveries", {{"error", stored.status().message()}});
  for (const auto& dest : stored.value_or({})) {
    if (configured.count(dest)) continue;
    const auto count = store_.count_tasks(dest);
    if (!count) core::log::error("reload: cannot count stored deliveries", {{"error", count.status().message()}});
    const uint64_t n = count.value_or(0);
    waiting.push_back({{"destination", dest}, {"queued", n}});
    core::log::warn("reload: deliveries are kept for a destination that is no longer configured",
                    {{"destination", dest}, {"queued", std::to_string(n)}});
  }

  running_ = std::move(next);
  reloads_.Add({{"outcome", "applied"}}).Increment();
  last_success_.Set(static_cast<double>(core::now_ms()) / 1000.0);
  core::log::info("configuration reloaded", {{"config", path_},
                                             {"rules", std::to_string(running_.rules.size())},
                                             {"destinations", std::to_string(running_.api_destinations.size())}});
  *report = nlohmann::json{
      {"reloaded", true},
      {"config", path_},
      {"rules", running_.rules.size()},
      {"api_destinations", running_.api_destinations.size()},
      {"connections", running_.connections.size()},
      {"removed_targets", removed_targets},
      {"kept_deliveries_without_destination", waiting},
      {"restart_required",
       restart}}.dump();
}

}  // namespace switchyard::cli
