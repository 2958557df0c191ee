#pragma once

// The configuration loader: reads a YAML tree into a Config, collecting
// every error with its line and column instead of stopping at the first.
// Its methods are spread by what they load:
//   loader_values.cc      scalars, secrets, names, parameters, patterns
//   load_destinations.cc  connections (auth, OAuth) and API destinations
//   load_rules.cc         buses, rules and targets, archives, webhooks
//   load_cluster.cc       the cluster section (NATS, partitions, leases)
//   load_subscribers.cc   subscribers of bus logs
//   config.cc             the document's top level, load_text, load_file
// yaml_values.cc reads YAML scalars with strict JSON typing.

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <regex>
#include <string>
#include <vector>

#include "switchyard/config/config.h"

namespace switchyard::config::internal {

extern const std::regex kNameRe;
extern const std::regex kHeaderKeyRe;
constexpr size_t kMaxSecretFileBytes = 64 * 1024;  // ${file:...}: a secret, not a data file

bool is_plain(const YAML::Node& n);
// YAML 1.2 core-schema scalars, so that `yes`/`on` stay strings.
bool is_yaml_null(const std::string& s);
bool is_yaml_bool(const std::string& s, bool* v);
bool is_json_number(const std::string& s);
// Converts a YAML node to JSON text with strict JSON typing: quoted scalars
// are strings, plain ones are null/true/false/numbers when they look like
// them (number text kept as written), anything else a string.
void yaml_to_json(const YAML::Node& n, std::string& out);

class Loader {
 public:
  Loader(std::string file, std::vector<ConfigError>* errors) : file_(std::move(file)), errors_(errors) {}

  void error(const YAML::Node& at, const std::string& message) { error(at.Mark(), message); }

  void error(const YAML::Mark& m, const std::string& message);

  // Refuses keys of `node` not in `allowed`.
  void check_keys(const YAML::Node& node, const std::string& where, std::initializer_list<const char*> allowed);

  bool require_map(const YAML::Node& n, const std::string& where);

  std::string str(const YAML::Node& parent, const char* key, const std::string& where, bool required,
                  const std::string& fallback = "");

  // A string that may be a secret reference: ${env:NAME} or ${file:PATH}.
  std::string secret(const YAML::Node& parent, const char* key, const std::string& where);

  // EventBridge's credentials (Username, Password, ApiKeyValue, ClientID,
  // ClientSecret): 1-512 characters, no ':' and no control characters but
  // tabs. Checked once the secret resolved; the message never shows it.
  std::string credential(const YAML::Node& parent, const char* key, const std::string& where);

  std::string secret_value(const YAML::Node& n, const std::string& where);

  template <class T>
  T number(const YAML::Node& parent, const char* key, const std::string& where, T fallback, T min, T max) {
    const YAML::Node n = parent[key];
    if (!n) return fallback;
    T v{};
    if (!n.IsScalar() || !YAML::convert<T>::decode(n, v)) {
      error(n, "'" + std::string(key) + "' in " + where + " must be a whole number");
      return fallback;
    }
    if (v < min || v > max) {
      error(n, "'" + std::string(key) + "' in " + where + " must be between " + std::to_string(min) + " and " +
                   std::to_string(max));
      return fallback;
    }
    return v;
  }

  bool boolean(const YAML::Node& parent, const char* key, const std::string& where, bool fallback);

  void name(const YAML::Node& parent, const std::string& value, const std::string& where, size_t max_len);

  void listen(const YAML::Node& parent, const char* key, std::string* out);

  void load(const YAML::Node& root, Config* c);

  bool sequence(const YAML::Node& n, const char* what);

  void load_buses(const YAML::Node& list, Config* c);

  void load_connections(const YAML::Node& list, Config* c);

  OAuthConfig oauth(const YAML::Node& auth, const std::string& aw);

  // A parameter list: EventBridge's [{key, value, is_value_secret}] or a
  // {key: value} mapping. Values may be ${env:...}/${file:...} secrets.
  // Header names are checked, and headers EventBridge never lets parameters
  // set are dropped with a warning.
  Params params(const YAML::Node& n, const std::string& where, bool headers);

  static bool reserved_header(std::string name);

  void load_destinations(const YAML::Node& list, Config* c);

  void load_rules(const YAML::Node& list, Config* c);

  // An event pattern given as YAML (strict JSON typing) or as a JSON string,
  // validated like EventBridge's PutRule/CreateArchive.
  std::string event_pattern(const YAML::Node& p, const std::string& what);

  void load_archives(const YAML::Node& list, Config* c);

  void load_targets(const YAML::Node& list, const std::string& rule_where, RuleConfig& r, Config* c);

  // One target's destination or bus, HTTP parameters, retry policy and
  // input. `label` names it in errors ("target 'x' of rule 'y'"); an
  // event-bus target must not be `own_bus`, the <owner_kind>'s bus.
  void load_target(const YAML::Node& n, const std::string& where, const std::string& label,
                   const std::string& owner_kind, const std::string& own_bus, const Config* c, TargetConfig* out);

  // input (JSON text, or YAML converted to JSON), input_path, or
  // input_transformer {input_paths_map, input_template}; at most one.
  void load_target_input(const YAML::Node& n, const std::string& where, TargetConfig* t);

  void load_webhooks(const YAML::Node& list, Config* c);
  void load_subscribers(const YAML::Node& list, Config* c);  // load_subscribers.cc
  // A subscriber's filter pattern of `scope`: the classic language without
  // wildcards; METADATA takes exact string values only.
  std::string filter_pattern(const YAML::Node& p, const std::string& scope, const std::string& what);
  void load_cluster(const YAML::Node& n, Config* c);  // load_cluster.cc

 private:
  std::string file_;

  std::vector<ConfigError>* errors_;
};

}  // namespace switchyard::config::internal
