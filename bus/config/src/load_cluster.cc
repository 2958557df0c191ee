// The `cluster:` section: its presence switches the node to NATS JetStream.

#include <unistd.h>

#include <regex>

#include "loader.h"

namespace switchyard::config::internal {

namespace {

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  std::string name(buf);
  // A node id is one subject token: keep the host's first label.
  return name.substr(0, name.find('.'));
}

}  // namespace

void Loader::load_cluster(const YAML::Node& n, Config* c) {
  if (!require_map(n, "cluster")) return;
  check_keys(
      n, "cluster",
      {"node_id", "nats", "replicas", "allow_single_replica", "partitions", "lease_ttl_ms", "publish_timeout_ms"});
  ClusterConfig& k = c->cluster;
  k.enabled = true;
  k.node_id = n["node_id"] ? secret_value(n["node_id"], "cluster.node_id") : host_name();
  static const std::regex kNodeId("[A-Za-z0-9_-]{1,32}");
  if (!std::regex_match(k.node_id, kNodeId))
    error(n["node_id"] ? n["node_id"] : n,
          "cluster.node_id '" + k.node_id +
              "' must be 1 to 32 letters, digits, '-' or '_' (it defaults to the host name)");

  const YAML::Node nats = n["nats"];
  if (!nats) {
    error(n, "missing required key 'nats' in cluster (the NATS servers to use)");
  } else if (require_map(nats, "cluster.nats")) {
    check_keys(nats, "cluster.nats", {"servers", "user", "password", "token"});
    const YAML::Node servers = nats["servers"];
    if (!servers || !servers.IsSequence() || servers.size() == 0) {
      error(servers ? servers : nats, "cluster.nats.servers must be a list of at least one nats://host:port URL");
    } else {
      static const std::regex kUrl(R"((nats|tls)://[^\s/]+:[0-9]{1,5})");
      for (const auto& s : servers) {
        const std::string url = s.IsScalar() ? s.Scalar() : "";
        if (!std::regex_match(url, kUrl))
          error(s, "cluster.nats.servers: '" + url + "' is not a nats://host:port URL");
        else
          k.servers.push_back(url);
      }
    }
    if (nats["user"]) k.user = secret(nats, "user", "cluster.nats");
    if (nats["password"]) k.password = secret(nats, "password", "cluster.nats");
    if (nats["token"]) k.token = secret(nats, "token", "cluster.nats");
    if (!k.user.empty() != !k.password.empty()) error(nats, "cluster.nats: user and password go together");
    if (!k.token.empty() && !k.user.empty()) error(nats, "cluster.nats: give a token or a user and password, not both");
  }
  k.allow_single_replica = boolean(n, "allow_single_replica", "cluster", false);
  k.replicas = number<int>(n, "replicas", "cluster", k.replicas, 1, 5);
  if (k.replicas == 1 && !k.allow_single_replica)
    error(n["replicas"], "cluster.replicas 1 keeps one copy of every event: set allow_single_replica: true to mean it");
  k.partitions = number<uint32_t>(n, "partitions", "cluster", k.partitions, 1, 1024);
  k.lease_ttl_ms = number<int64_t>(n, "lease_ttl_ms", "cluster", k.lease_ttl_ms, 3000, 60000);
  k.publish_timeout_ms = number<int64_t>(n, "publish_timeout_ms", "cluster", k.publish_timeout_ms, 1000, 60000);
}

}  // namespace switchyard::config::internal
