#include "switchyard/config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "loader.h"
#include "switchyard/core/crypto.h"
#include "switchyard/core/http_header.h"
#include "switchyard/core/log.h"
#include "switchyard/rules/matcher.h"
#include "yaml_guard.h"

namespace switchyard::config {
namespace internal {

void Loader::load(const YAML::Node& root, Config* c) {
  if (!root.IsMap()) {
    error(root, "the configuration must be a mapping");
    return;
  }
  check_keys(root, "the configuration",
             {"server", "storage", "cluster", "buses", "connections", "api_destinations", "rules", "webhooks",
              "archives", "subscribers"});
  if (const auto s = root["server"]; s && require_map(s, "server")) {
    check_keys(s, "server",
               {"listen", "admin_listen", "max_body_bytes", "max_put_events_bytes", "threads", "max_connections",
                "read_timeout_seconds", "admin_token", "shutdown_timeout_seconds", "log_level",
                "replay_max_events_per_second"});
    listen(s, "listen", &c->server.listen);
    listen(s, "admin_listen", &c->server.admin_listen);
    c->server.max_body_bytes =
        number<size_t>(s, "max_body_bytes", "server", c->server.max_body_bytes, 300 * 1024, 64 * 1024 * 1024);
    c->server.max_put_events_bytes =
        number<size_t>(s, "max_put_events_bytes", "server", c->server.max_put_events_bytes, 1024, 64 * 1024 * 1024);
    if (s["max_put_events_bytes"] && c->server.max_put_events_bytes > c->server.max_body_bytes)
      error(s["max_put_events_bytes"],
            "server.max_put_events_bytes (" + std::to_string(c->server.max_put_events_bytes) +
                ") must not be larger than server.max_body_bytes (" + std::to_string(c->server.max_body_bytes) + ")");
    c->server.threads = number<int>(s, "threads", "server", c->server.threads, 1, 64);
    c->server.max_connections = number<size_t>(s, "max_connections", "server", c->server.max_connections, 1, 1000000);
    c->server.read_timeout_seconds =
        number<int>(s, "read_timeout_seconds", "server", c->server.read_timeout_seconds, 1, 3600);
    if (s["admin_token"]) {
      const size_t problems = errors_->size();
      c->server.admin_token = secret(s, "admin_token", "server");
      if (errors_->size() == problems && c->server.admin_token.size() < 16)
        error(s["admin_token"], "server.admin_token must be at least 16 characters long");
    }
    c->server.shutdown_timeout_seconds =
        number<int>(s, "shutdown_timeout_seconds", "server", c->server.shutdown_timeout_seconds, 0, 3600);
    c->server.log_level = str(s, "log_level", "server", false, c->server.log_level);
    c->server.replay_max_events_per_second =
        number<uint32_t>(s, "replay_max_events_per_second", "server", 0, 0, 100000000);
    if (c->server.log_level != "debug" && c->server.log_level != "info" && c->server.log_level != "warn" &&
        c->server.log_level != "error")
      error(s["log_level"], "server.log_level must be debug, info, warn or error, not '" + c->server.log_level + "'");
  }
  if (const auto s = root["storage"]; s && require_map(s, "storage")) {
    check_keys(s, "storage", {"path", "sync", "min_free_mb"});
    c->storage.path = str(s, "path", "storage", false, c->storage.path);
    c->storage.sync = boolean(s, "sync", "storage", false);
    c->storage.min_free_mb = number<uint64_t>(s, "min_free_mb", "storage", 128, 0, 1ull << 30);
  }
  load_buses(root["buses"], c);
  load_connections(root["connections"], c);
  load_destinations(root["api_destinations"], c);
  load_rules(root["rules"], c);
  load_webhooks(root["webhooks"], c);
  load_archives(root["archives"], c);
  load_subscribers(root["subscribers"], c);
  if (const auto n = root["cluster"]) load_cluster(n, c);
}

}  // namespace internal

std::string ConfigError::format() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

size_t count_path_wildcards(const std::string& endpoint) {
  const auto scheme = endpoint.find("://");
  const auto path = endpoint.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (path == std::string::npos) return 0;
  const auto end = endpoint.find_first_of("?#", path);
  return static_cast<size_t>(
      std::count(endpoint.begin() + path, end == std::string::npos ? endpoint.end() : endpoint.begin() + end, '*'));
}

bool load_text(const std::string& text, const std::string& file, Config* out, std::vector<ConfigError>* errors) {
  errors->clear();
  Config c;
  c.file = file;
  internal::Loader loader(file, errors);
  // Size, alias expansion and duplicate keys are checked on the text, before
  // a tree exists; nothing thrown inside the loader leaves it.
  for (const auto& p : internal::check_yaml(text))
    errors->push_back({file, std::max(1, p.line), std::max(1, p.column), p.message});
  try {
    if (errors->empty()) {
      const YAML::Node root = YAML::Load(text);
      loader.load(root, &c);
    }
  } catch (const YAML::Exception& e) {
    errors->push_back({file, std::max(1, e.mark.line + 1), std::max(1, e.mark.column + 1), e.msg});
  } catch (const std::exception& e) {
    errors->push_back({file, 1, 1, std::string("the configuration could not be loaded: ") + e.what()});
  }
  std::stable_sort(errors->begin(), errors->end(), [](const ConfigError& a, const ConfigError& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  if (!errors->empty()) return false;
  *out = std::move(c);
  return true;
}

bool load_file(const std::string& path, Config* out, std::vector<ConfigError>* errors) {
  std::ifstream f(path);
  if (!f) {
    errors->clear();
    errors->push_back({path, 1, 1, "cannot read the configuration file"});
    return false;
  }
  // One byte past the limit is enough for check_yaml to refuse the file.
  std::string text(internal::YamlLimits{}.max_bytes + 1, '\0');
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(f.gcount()));
  return load_text(text, path, out, errors);
}

}  // namespace switchyard::config
