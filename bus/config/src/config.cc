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

#include "switchyard/core/crypto.h"
#include "switchyard/core/http_header.h"
#include "switchyard/core/log.h"
#include "switchyard/rules/matcher.h"
#include "yaml_guard.h"

namespace switchyard::config {
namespace {

const std::regex kNameRe(R"([\.\-_A-Za-z0-9]+)");
const std::regex kHeaderKeyRe(R"([!#$%&'*+\-.^_`|~0-9a-zA-Z]+)");
constexpr size_t kMaxSecretFileBytes = 64 * 1024;  // ${file:...}: a secret, not a data file

bool is_plain(const YAML::Node& n) { return n.Tag() == "?" || n.Tag().empty(); }

// YAML 1.2 core-schema scalars, so that `yes`/`on` stay strings.
bool is_yaml_null(const std::string& s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }
bool is_yaml_bool(const std::string& s, bool* v) {
  if (s == "true" || s == "True" || s == "TRUE") return *v = true, true;
  if (s == "false" || s == "False" || s == "FALSE") return *v = false, true;
  return false;
}
bool is_json_number(const std::string& s) {
  static const std::regex re(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?)");
  return std::regex_match(s, re);
}

// Converts a YAML node to JSON text with strict JSON typing: quoted scalars
// are strings, plain ones are null/true/false/numbers when they look like
// them (number text kept as written), anything else a string.
void yaml_to_json(const YAML::Node& n, std::string& out) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: out += "null"; return;
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      bool b;
      if (is_plain(n)) {
        if (is_yaml_null(s)) return void(out += "null");
        if (is_yaml_bool(s, &b)) return void(out += b ? "true" : "false");
        if (is_json_number(s)) return void(out += s);
      }
      out += nlohmann::json(s).dump();
      return;
    }
    case YAML::NodeType::Sequence: {
      out += '[';
      bool first = true;
      for (const auto& child : n) {
        if (!first) out += ',';
        first = false;
        yaml_to_json(child, out);
      }
      out += ']';
      return;
    }
    case YAML::NodeType::Map: {
      out += '{';
      bool first = true;
      for (const auto& kv : n) {
        if (!first) out += ',';
        first = false;
        out += nlohmann::json(kv.first.Scalar()).dump();
        out += ':';
        yaml_to_json(kv.second, out);
      }
      out += '}';
      return;
    }
  }
}

class Loader {
 public:
  Loader(std::string file, std::vector<ConfigError>* errors) : file_(std::move(file)), errors_(errors) {}

  void error(const YAML::Node& at, const std::string& message) { error(at.Mark(), message); }
  void error(const YAML::Mark& m, const std::string& message) {
    errors_->push_back({file_, m.line < 0 ? 1 : m.line + 1, m.column < 0 ? 1 : m.column + 1, message});
  }

  // Refuses keys of `node` not in `allowed`.
  void check_keys(const YAML::Node& node, const std::string& where, std::initializer_list<const char*> allowed) {
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }))
        error(kv.first, "unknown key '" + key + "' in " + where);
    }
  }

  bool require_map(const YAML::Node& n, const std::string& where) {
    if (n.IsMap()) return true;
    error(n, where + " must be a mapping");
    return false;
  }

  std::string str(const YAML::Node& parent, const char* key, const std::string& where, bool required,
                  const std::string& fallback = "") {
    const YAML::Node n = parent[key];
    if (!n) {
      if (required) error(parent, "missing required key '" + std::string(key) + "' in " + where);
      return fallback;
    }
    if (!n.IsScalar()) {
      error(n, "'" + std::string(key) + "' in " + where + " must be a string");
      return fallback;
    }
    return n.Scalar();
  }

  // A string that may be a secret reference: ${env:NAME} or ${file:PATH}.
  std::string secret(const YAML::Node& parent, const char* key, const std::string& where) {
    if (!parent[key]) {
      error(parent, "missing required key '" + std::string(key) + "' in " + where);
      return "";
    }
    return secret_value(parent[key], where + "." + key);
  }

  // EventBridge's credentials (Username, Password, ApiKeyValue, ClientID,
  // ClientSecret): 1-512 characters, no ':' and no control characters but
  // tabs. Checked once the secret resolved; the message never shows it.
  std::string credential(const YAML::Node& parent, const char* key, const std::string& where) {
    const size_t problems = errors_->size();
    std::string v = secret(parent, key, where);
    if (errors_->size() != problems) return v;
    if (v.empty() || v.size() > 512)
      error(parent[key], std::string(key) + " in " + where + " must be 1 to 512 characters long");
    else if (std::any_of(v.begin(), v.end(),
                         [](unsigned char c) { return c == ':' || (c < 0x20 && c != '\t') || c == 0x7f; }))
      error(parent[key], std::string(key) + " in " + where + " must not contain ':' or control characters");
    return v;
  }

  std::string secret_value(const YAML::Node& n, const std::string& where) {
    if (!n.IsScalar()) {
      error(n, where + " must be a string");
      return "";
    }
    std::string v = n.Scalar();
    static const std::regex ref(R"(\$\{(env|file):([^}]+)\})");
    std::smatch m;
    if (!std::regex_match(v, m, ref)) return v;
    if (m[1] == "env") {
      const char* e = std::getenv(m[2].str().c_str());
      if (!e) error(n, "environment variable " + m[2].str() + " for " + where + " is not set");
      return e ? e : "";
    }
    std::ifstream f(m[2].str(), std::ios::binary);
    if (!f) {
      error(n, "cannot read secret file " + m[2].str() + " for " + where);
      return "";
    }
    // A secret is short: read one byte past the limit and no further, so a
    // path like /dev/zero or a large file is refused at once.
    std::string s(kMaxSecretFileBytes + 1, '\0');
    f.read(s.data(), static_cast<std::streamsize>(s.size()));
    s.resize(static_cast<size_t>(f.gcount()));
    if (s.size() > kMaxSecretFileBytes) {
      error(n, "secret file " + m[2].str() + " for " + where + " is larger than " +
                   std::to_string(kMaxSecretFileBytes) + " bytes");
      return "";
    }
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }

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

  bool boolean(const YAML::Node& parent, const char* key, const std::string& where, bool fallback) {
    const YAML::Node n = parent[key];
    if (!n) return fallback;
    bool v;
    if (!n.IsScalar() || !is_yaml_bool(n.Scalar(), &v)) {
      error(n, "'" + std::string(key) + "' in " + where + " must be true or false");
      return fallback;
    }
    return v;
  }

  void name(const YAML::Node& parent, const std::string& value, const std::string& where, size_t max_len) {
    if (!parent["name"]) return;  // already reported as missing
    if (value.empty() || value.size() > max_len || !std::regex_match(value, kNameRe))
      error(parent["name"] ? parent["name"] : parent, "invalid name '" + value + "' in " + where + ": 1 to " +
                                                          std::to_string(max_len) +
                                                          " characters of letters, digits, '.', '-' and '_'");
  }

  void listen(const YAML::Node& parent, const char* key, std::string* out) {
    if (!parent[key]) return;
    *out = str(parent, key, "server", false, *out);
    const auto colon = out->rfind(':');
    const std::string port = colon == std::string::npos ? "" : out->substr(colon + 1);
    if (colon == std::string::npos || colon == 0 || port.empty() || !std::all_of(port.begin(), port.end(), ::isdigit) ||
        port.size() > 5 || std::stoi(port) > 65535)
      error(parent[key], "server." + std::string(key) + " must be HOST:PORT, got '" + *out + "'");
  }

  void load(const YAML::Node& root, Config* c) {
    if (!root.IsMap()) {
      error(root, "the configuration must be a mapping");
      return;
    }
    check_keys(root, "the configuration",
               {"server", "storage", "buses", "connections", "api_destinations", "rules", "webhooks", "archives"});
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
  }

  bool sequence(const YAML::Node& n, const char* what) {
    if (!n || n.IsNull()) return false;
    if (!n.IsSequence()) {
      error(n, std::string(what) + " must be a list");
      return false;
    }
    return true;
  }

  void load_buses(const YAML::Node& list, Config* c) {
    std::set<std::string> seen;
    if (sequence(list, "buses")) {
      for (size_t i = 0; i < list.size(); ++i) {
        const YAML::Node b = list[i];
        const std::string where = "buses[" + std::to_string(i) + "]";
        if (!require_map(b, where)) continue;
        check_keys(b, where, {"name", "account", "region", "ingest_tokens", "access_keys"});
        BusConfig bus;
        bus.name = str(b, "name", where, true);
        name(b, bus.name, where, 256);
        bus.account = str(b, "account", where, false, bus.account);
        bus.region = str(b, "region", where, false, bus.region);
        if (const auto tokens = b["ingest_tokens"]; sequence(tokens, "ingest_tokens")) {
          for (size_t k = 0; k < tokens.size(); ++k) {
            std::string token = secret_value(tokens[k], where + ".ingest_tokens[" + std::to_string(k) + "]");
            if (token.empty()) error(tokens[k], "an ingest token in " + where + " is empty");
            bus.ingest_tokens.push_back(std::move(token));
          }
        }
        if (const auto keys = b["access_keys"]; sequence(keys, "access_keys")) {
          for (size_t k = 0; k < keys.size(); ++k) {
            const std::string kw = where + ".access_keys[" + std::to_string(k) + "]";
            if (!require_map(keys[k], kw)) continue;
            check_keys(keys[k], kw, {"access_key_id", "secret_access_key"});
            bus.access_keys.push_back(
                {str(keys[k], "access_key_id", kw, true), secret(keys[k], "secret_access_key", kw)});
          }
        }
        if (!seen.insert(bus.name).second) error(b, "duplicate bus name '" + bus.name + "'");
        c->buses.push_back(bus);
      }
    }
    if (!seen.count("default")) {
      BusConfig fallback;
      fallback.name = "default";
      c->buses.insert(c->buses.begin(), fallback);
    }
  }

  void load_connections(const YAML::Node& list, Config* c) {
    if (!sequence(list, "connections")) return;
    std::set<std::string> seen;
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node n = list[i];
      const std::string where = "connections[" + std::to_string(i) + "]";
      if (!require_map(n, where)) continue;
      check_keys(n, where, {"name", "auth", "invocation_http_parameters"});
      ConnectionConfig conn;
      conn.name = str(n, "name", where, true);
      name(n, conn.name, where, 64);
      if (!seen.insert(conn.name).second) error(n, "duplicate connection name '" + conn.name + "'");
      const YAML::Node auth = n["auth"];
      if (!auth) {
        error(n, "missing required key 'auth' in " + where);
      } else if (require_map(auth, where + ".auth")) {
        const std::string aw = where + ".auth";
        conn.auth_type = str(auth, "type", aw, true);
        if (conn.auth_type == "api_key") {
          check_keys(auth, aw, {"type", "header", "value"});
          const std::string header = str(auth, "header", aw, true);
          if (!header.empty() && !std::regex_match(header, kHeaderKeyRe))
            error(auth["header"], "invalid header name '" + header + "' in " + aw);
          conn.headers.emplace_back(header, credential(auth, "value", aw));
        } else if (conn.auth_type == "basic") {
          check_keys(auth, aw, {"type", "username", "password"});
          const std::string user = credential(auth, "username", aw);
          const std::string pass = credential(auth, "password", aw);
          conn.headers.emplace_back("Authorization", "Basic " + core::base64_encode(user + ":" + pass));
        } else if (conn.auth_type == "oauth_client_credentials") {
          conn.oauth = oauth(auth, aw);
        } else if (!conn.auth_type.empty()) {
          error(auth["type"], "unsupported auth type '" + conn.auth_type + "' in " + aw +
                                  " (supported: api_key, basic, oauth_client_credentials)");
        }
      }
      if (const auto ip = n["invocation_http_parameters"];
          ip && require_map(ip, where + ".invocation_http_parameters")) {
        const std::string iw = where + ".invocation_http_parameters";
        check_keys(ip, iw, {"header_parameters", "query_string_parameters", "body_parameters"});
        conn.header_parameters = params(ip["header_parameters"], iw + ".header_parameters", true);
        conn.query_string_parameters = params(ip["query_string_parameters"], iw + ".query_string_parameters", false);
        conn.body_parameters = params(ip["body_parameters"], iw + ".body_parameters", false);
      }
      c->connections.push_back(std::move(conn));
    }
  }

  OAuthConfig oauth(const YAML::Node& auth, const std::string& aw) {
    check_keys(auth, aw,
               {"type", "authorization_endpoint", "http_method", "client_id", "client_secret", "client_auth_method",
                "oauth_http_parameters"});
    OAuthConfig o;
    o.authorization_endpoint = str(auth, "authorization_endpoint", aw, true);
    const std::string& url = o.authorization_endpoint;
    if (!url.empty() && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
      error(auth["authorization_endpoint"], "authorization_endpoint in " + aw + " must be an http:// or https:// URL");
    if (url.size() > 2048)
      error(auth["authorization_endpoint"], "authorization_endpoint in " + aw + " is longer than 2048 characters");
    o.http_method = str(auth, "http_method", aw, false, "POST");
    if (o.http_method != "GET" && o.http_method != "POST" && o.http_method != "PUT")
      error(auth["http_method"], "http_method in " + aw + " must be GET, POST or PUT, not '" + o.http_method + "'");
    o.client_id = credential(auth, "client_id", aw);
    o.client_secret = credential(auth, "client_secret", aw);
    const std::string method = str(auth, "client_auth_method", aw, false, "client_secret_basic");
    if (method == "client_secret_post")
      o.credentials_in_body = true;
    else if (method != "client_secret_basic")
      error(auth["client_auth_method"],
            "client_auth_method in " + aw + " must be client_secret_basic or client_secret_post, not '" + method + "'");
    if (const auto p = auth["oauth_http_parameters"]; p && require_map(p, aw + ".oauth_http_parameters")) {
      const std::string pw = aw + ".oauth_http_parameters";
      check_keys(p, pw, {"header_parameters", "query_string_parameters", "body_parameters"});
      o.header_parameters = params(p["header_parameters"], pw + ".header_parameters", true);
      o.query_string_parameters = params(p["query_string_parameters"], pw + ".query_string_parameters", false);
      o.body_parameters = params(p["body_parameters"], pw + ".body_parameters", false);
    }
    return o;
  }

  // A parameter list: EventBridge's [{key, value, is_value_secret}] or a
  // {key: value} mapping. Values may be ${env:...}/${file:...} secrets.
  // Header names are checked, and headers EventBridge never lets parameters
  // set are dropped with a warning.
  Params params(const YAML::Node& n, const std::string& where, bool headers) {
    Params out;
    if (!n || n.IsNull()) return out;
    auto add = [&](const YAML::Node& key_node, const std::string& key, const YAML::Node& value_node) {
      if (!value_node.IsScalar()) {
        error(value_node, "the value of " + key + " in " + where + " must be a string");
        return;
      }
      std::string value = secret_value(value_node, where + "." + key);
      if (headers && !core::valid_header_value(value)) {
        error(value_node, "the value of header " + key + " in " + where +
                              " holds a control character (CR, LF, NUL or another below 0x20)");
        return;
      }
      if (headers) {
        if (!std::regex_match(key, kHeaderKeyRe)) {
          error(key_node, "invalid header name '" + key + "' in " + where);
          return;
        }
        if (reserved_header(key)) {
          core::log::warn("header parameter ignored: EventBridge does not let parameters set it",
                          {{"header", key}, {"where", where}});
          return;
        }
      }
      out.emplace_back(key, std::move(value));
    };
    if (n.IsMap()) {
      for (const auto& kv : n) add(kv.first, kv.first.Scalar(), kv.second);
    } else if (n.IsSequence()) {
      for (size_t i = 0; i < n.size(); ++i) {
        const std::string iw = where + "[" + std::to_string(i) + "]";
        if (!require_map(n[i], iw)) continue;
        check_keys(n[i], iw, {"key", "value", "is_value_secret"});
        const std::string key = str(n[i], "key", iw, true);
        if (!n[i]["value"]) {
          error(n[i], "missing required key 'value' in " + iw);
          continue;
        }
        add(n[i]["key"], key, n[i]["value"]);
      }
    } else {
      error(n, where + " must be a list of {key, value} or a mapping");
    }
    if (out.size() > 100) error(n, where + " has more than 100 parameters");
    return out;
  }

  static bool reserved_header(std::string name) {
    static const std::set<std::string> kReserved = {"a-im",
                                                    "accept-charset",
                                                    "accept-datetime",
                                                    "accept-encoding",
                                                    "cache-control",
                                                    "connection",
                                                    "content-encoding",
                                                    "content-length",
                                                    "content-md5",
                                                    "date",
                                                    "expect",
                                                    "forwarded",
                                                    "from",
                                                    "host",
                                                    "http2-settings",
                                                    "if-match",
                                                    "if-modified-since",
                                                    "if-none-match",
                                                    "if-range",
                                                    "if-unmodified-since",
                                                    "max-forwards",
                                                    "origin",
                                                    "pragma",
                                                    "proxy-authorization",
                                                    "range",
                                                    "referer",
                                                    "te",
                                                    "trailer",
                                                    "transfer-encoding",
                                                    "user-agent",
                                                    "upgrade",
                                                    "via",
                                                    "warning"};
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    return kReserved.count(name) != 0;
  }

  void load_destinations(const YAML::Node& list, Config* c) {
    if (!sequence(list, "api_destinations")) return;
    std::set<std::string> seen;
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node n = list[i];
      const std::string where = "api_destinations[" + std::to_string(i) + "]";
      if (!require_map(n, where)) continue;
      check_keys(n, where, {"name", "connection", "endpoint", "method", "rate_limit_per_second", "signing_secret"});
      ApiDestinationConfig d;
      d.name = str(n, "name", where, true);
      name(n, d.name, where, 64);
      if (!seen.insert(d.name).second) error(n, "duplicate api destination name '" + d.name + "'");
      d.connection = str(n, "connection", where, false);
      if (!d.connection.empty() && std::none_of(c->connections.begin(), c->connections.end(),
                                                [&](const ConnectionConfig& x) { return x.name == d.connection; }))
        error(n["connection"],
              "api destination '" + d.name + "' names connection '" + d.connection + "', which is not defined");
      d.endpoint = str(n, "endpoint", where, true);
      if (!d.endpoint.empty() && d.endpoint.rfind("http://", 0) != 0 && d.endpoint.rfind("https://", 0) != 0)
        error(n["endpoint"], "endpoint of api destination '" + d.name + "' must be an http:// or https:// URL");
      if (d.endpoint.size() > 2048) error(n["endpoint"], "endpoint of '" + d.name + "' is longer than 2048 characters");
      d.method = str(n, "method", where, false, d.method);
      static const std::set<std::string> kMethods{"POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"};
      if (!kMethods.count(d.method))
        error(n["method"], "method of api destination '" + d.name +
                               "' must be one of POST, GET, HEAD, OPTIONS, "
                               "PUT, PATCH, DELETE");
      d.rate_limit_per_second = number<uint32_t>(n, "rate_limit_per_second", where, 300, 1, 1000000);
      if (n["signing_secret"]) {
        // Standard Webhooks secrets are "whsec_" + base64 of the key bytes.
        const std::string secret_text = secret(n, "signing_secret", where);
        bool decoded = true;
        if (secret_text.rfind("whsec_", 0) == 0) {
          decoded = core::base64_decode(secret_text.substr(6), &d.signing_key) && !d.signing_key.empty();
          if (!decoded)
            error(n["signing_secret"], "signing_secret of '" + d.name + "' is whsec_ but not followed by base64");
        } else {
          d.signing_key = secret_text;
        }
        if (decoded && d.signing_key.size() < 16 && !secret_text.empty())
          error(n["signing_secret"], "signing_secret of '" + d.name + "' is shorter than 16 bytes");
      }
      c->api_destinations.push_back(std::move(d));
    }
  }

  void load_rules(const YAML::Node& list, Config* c) {
    if (!sequence(list, "rules")) return;
    std::set<std::pair<std::string, std::string>> seen;
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node n = list[i];
      const std::string where = "rules[" + std::to_string(i) + "]";
      if (!require_map(n, where)) continue;
      check_keys(n, where, {"name", "bus", "description", "state", "event_pattern", "targets"});
      RuleConfig r;
      r.name = str(n, "name", where, true);
      name(n, r.name, where, 64);
      r.bus = str(n, "bus", where, false, r.bus);
      if (std::none_of(c->buses.begin(), c->buses.end(), [&](const BusConfig& b) { return b.name == r.bus; }))
        error(n["bus"] ? n["bus"] : n, "rule '" + r.name + "' is on bus '" + r.bus + "', which is not defined");
      if (!seen.insert({r.bus, r.name}).second) error(n, "duplicate rule name '" + r.name + "' on bus '" + r.bus + "'");
      const std::string state = str(n, "state", where, false, "ENABLED");
      if (state != "ENABLED" && state != "DISABLED")
        error(n["state"], "state of rule '" + r.name + "' must be ENABLED or DISABLED");
      r.enabled = state == "ENABLED";
      const YAML::Node p = n["event_pattern"];
      if (!p) {
        error(n, "missing required key 'event_pattern' in " + where);
      } else {
        r.event_pattern = event_pattern(p, "rule '" + r.name + "'");
      }
      load_targets(n["targets"], where, r, c);
      c->rules.push_back(std::move(r));
    }
  }

  // An event pattern given as YAML (strict JSON typing) or as a JSON string,
  // validated like EventBridge's PutRule/CreateArchive.
  std::string event_pattern(const YAML::Node& p, const std::string& what) {
    std::string json;
    if (p.IsScalar() && !is_plain(p)) {
      json = p.Scalar();  // a JSON string, taken as written
    } else {
      yaml_to_json(p, json);
    }
    rules::MatcherBuilder check;
    rules::PatternError pe;
    if (!check.add(json, &pe)) error(p, "invalid event_pattern of " + what + ": " + pe.describe());
    return json;
  }

  void load_archives(const YAML::Node& list, Config* c) {
    if (!sequence(list, "archives")) return;
    std::set<std::string> seen;
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node n = list[i];
      const std::string where = "archives[" + std::to_string(i) + "]";
      if (!require_map(n, where)) continue;
      check_keys(n, where, {"name", "bus", "event_pattern", "retention_days", "description"});
      ArchiveConfig a;
      a.name = str(n, "name", where, true);
      name(n, a.name, where, 48);
      if (!seen.insert(a.name).second) error(n, "duplicate archive name '" + a.name + "'");
      a.bus = str(n, "bus", where, false, a.bus);
      if (std::none_of(c->buses.begin(), c->buses.end(), [&](const BusConfig& b) { return b.name == a.bus; }))
        error(n["bus"] ? n["bus"] : n, "archive '" + a.name + "' is on bus '" + a.bus + "', which is not defined");
      if (const YAML::Node p = n["event_pattern"]; p && !p.IsNull())
        a.event_pattern = event_pattern(p, "archive '" + a.name + "'");
      a.retention_days = number<uint32_t>(n, "retention_days", where, 0, 0, 1000000);
      a.description = str(n, "description", where, false);
      if (a.description.size() > 512)
        error(n["description"], "the description of archive '" + a.name + "' is longer than 512 characters");
      c->archives.push_back(std::move(a));
    }
  }

  void load_targets(const YAML::Node& list, const std::string& rule_where, RuleConfig& r, Config* c) {
    if (!sequence(list, (rule_where + ".targets").c_str())) return;
    if (list.size() > 5)
      error(list, "rule '" + r.name + "' has " + std::to_string(list.size()) +
                      " targets; EventBridge allows at most 5 per rule");
    std::set<std::string> ids;
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node n = list[i];
      const std::string where = rule_where + ".targets[" + std::to_string(i) + "]";
      if (!require_map(n, where)) continue;
      check_keys(n, where,
                 {"id", "destination", "http_parameters", "retry_policy", "dead_letter", "input", "input_path",
                  "input_transformer"});
      TargetConfig t;
      t.id = str(n, "id", where, true);
      if (!t.id.empty() && (t.id.size() > 64 || !std::regex_match(t.id, kNameRe)))
        error(n["id"], "invalid target id '" + t.id + "' in " + where +
                           ": 1 to 64 characters of letters, digits, '.', '-' and '_'");
      if (!ids.insert(t.id).second) error(n, "duplicate target id '" + t.id + "' in rule '" + r.name + "'");
      t.destination = str(n, "destination", where, true);
      const ApiDestinationConfig* dest = nullptr;
      for (const auto& d : c->api_destinations)
        if (d.name == t.destination) dest = &d;
      if (!dest && !t.destination.empty())
        error(n["destination"], "target '" + t.id + "' of rule '" + r.name + "' names api destination '" +
                                    t.destination + "', which is not defined");
      if (const auto hp = n["http_parameters"]; hp && require_map(hp, where + ".http_parameters")) {
        check_keys(hp, where + ".http_parameters",
                   {"path_parameter_values", "header_parameters", "query_string_parameters"});
        t.header_parameters = params(hp["header_parameters"], where + ".http_parameters.header_parameters", true);
        t.query_string_parameters =
            params(hp["query_string_parameters"], where + ".http_parameters.query_string_parameters", false);
        if (const auto pv = hp["path_parameter_values"]; sequence(pv, "path_parameter_values")) {
          for (const auto& v : pv) {
            if (!v.IsScalar() || v.Scalar().find_first_not_of(" \t") == std::string::npos)
              error(v, "path parameter values must be non-blank strings");
            else
              t.path_parameter_values.push_back(v.Scalar());
          }
        }
      }
      if (dest) {
        const size_t stars = count_path_wildcards(dest->endpoint);
        if (stars != t.path_parameter_values.size())
          error(n, "target '" + t.id + "' of rule '" + r.name + "' gives " +
                       std::to_string(t.path_parameter_values.size()) + " path parameter values but the endpoint of '" +
                       dest->name + "' has " + std::to_string(stars) + " '*'");
      }
      if (const auto rp = n["retry_policy"]; rp && require_map(rp, where + ".retry_policy")) {
        check_keys(rp, where + ".retry_policy", {"maximum_retry_attempts", "maximum_event_age_seconds"});
        t.retry_policy.maximum_retry_attempts =
            number<uint32_t>(rp, "maximum_retry_attempts", where + ".retry_policy", 185, 0, 185);
        t.retry_policy.maximum_event_age_seconds =
            number<uint32_t>(rp, "maximum_event_age_seconds", where + ".retry_policy", 86400, 60, 86400);
      }
      t.dead_letter = boolean(n, "dead_letter", where, true);
      load_target_input(n, where, &t);
      r.targets.push_back(std::move(t));
    }
  }

  // input (JSON text, or YAML converted to JSON), input_path, or
  // input_transformer {input_paths_map, input_template}; at most one.
  void load_target_input(const YAML::Node& n, const std::string& where, TargetConfig* t) {
    const int given = (n["input"] ? 1 : 0) + (n["input_path"] ? 1 : 0) + (n["input_transformer"] ? 1 : 0);
    if (given > 1) {
      error(n, "Only one of Input, InputPath, or InputTransformer must be provided for target " + t->id + ".");
      return;
    }
    // A Mark, not a Node: assigning a YAML::Node overwrites the node it refers to.
    YAML::Mark at = n.Mark();
    if (const auto in = n["input"]) {
      at = in.Mark();
      t->input.kind = rules::TargetInput::Kind::kConstant;
      if (in.IsScalar() && !is_plain(in)) {
        t->input.input = in.Scalar();
      } else {
        yaml_to_json(in, t->input.input);
      }
    } else if (const auto ip = n["input_path"]) {
      at = ip.Mark();
      t->input.kind = rules::TargetInput::Kind::kInputPath;
      t->input.input_path = str(n, "input_path", where, true);
    } else if (const auto tr = n["input_transformer"]) {
      at = tr.Mark();
      if (!require_map(tr, where + ".input_transformer")) return;
      check_keys(tr, where + ".input_transformer", {"input_paths_map", "input_template"});
      t->input.kind = rules::TargetInput::Kind::kTransformer;
      if (const auto map = tr["input_paths_map"]; map && !map.IsNull()) {
        if (!require_map(map, where + ".input_transformer.input_paths_map")) return;
        for (const auto& kv : map) {
          if (!kv.second.IsScalar()) {
            error(kv.second, "the JSONPath of variable " + kv.first.Scalar() + " must be a string");
            return;
          }
          t->input.paths_map.emplace_back(kv.first.Scalar(), kv.second.Scalar());
        }
      }
      t->input.input_template = str(tr, "input_template", where + ".input_transformer", true);
      if (tr["input_template"]) at = tr["input_template"].Mark();
    } else {
      return;
    }
    std::string why;
    if (!rules::Transformer::compile(t->input, t->id, &why)) error(at, why);
  }

  void load_webhooks(const YAML::Node& list, Config* c) {
    if (!sequence(list, "webhooks")) return;
    std::set<std::string> seen;
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node n = list[i];
      const std::string where = "webhooks[" + std::to_string(i) + "]";
      if (!require_map(n, where)) continue;
      check_keys(n, where, {"name", "bus", "source", "detail_type", "detail_type_header", "verify"});
      WebhookConfig w;
      w.name = str(n, "name", where, true);
      name(n, w.name, where, 64);
      if (!seen.insert(w.name).second) error(n, "duplicate webhook name '" + w.name + "'");
      w.bus = str(n, "bus", where, false, w.bus);
      if (std::none_of(c->buses.begin(), c->buses.end(), [&](const BusConfig& b) { return b.name == w.bus; }))
        error(n["bus"] ? n["bus"] : n, "webhook '" + w.name + "' posts to bus '" + w.bus + "', which is not defined");
      w.source = str(n, "source", where, true);
      w.detail_type = str(n, "detail_type", where, false);
      w.detail_type_header = str(n, "detail_type_header", where, false);
      if (w.detail_type.empty() && w.detail_type_header.empty())
        error(n, "webhook '" + w.name + "' needs detail_type or detail_type_header");
      if (w.detail_type.size() > 128) error(n["detail_type"], "detail_type is longer than 128 characters");
      if (const auto v = n["verify"]; v && require_map(v, where + ".verify")) {
        const std::string vw = where + ".verify";
        check_keys(v, vw, {"scheme", "secret", "header", "encoding", "prefix", "tolerance_seconds"});
        w.verified = true;
        w.verify.scheme = str(v, "scheme", vw, true);
        w.verify.secret = secret(v, "secret", vw);
        w.verify.header = str(v, "header", vw, false);
        w.verify.encoding = str(v, "encoding", vw, false, "hex");
        w.verify.prefix = str(v, "prefix", vw, false);
        w.verify.tolerance_seconds = number<int64_t>(v, "tolerance_seconds", vw, 300, 1, 86400);
        static const std::set<std::string> kSchemes{"github-sha256", "stripe", "standard-webhooks", "hmac-sha256"};
        if (!w.verify.scheme.empty() && !kSchemes.count(w.verify.scheme))
          error(v["scheme"], "unknown verify scheme '" + w.verify.scheme +
                                 "' (github-sha256, stripe, standard-webhooks, hmac-sha256)");
        if (w.verify.scheme == "hmac-sha256" && w.verify.header.empty())
          error(v, "verify scheme hmac-sha256 needs 'header', the header that carries the signature");
        if (w.verify.encoding != "hex" && w.verify.encoding != "base64")
          error(v["encoding"], "verify encoding must be hex or base64");
      }
      c->webhooks.push_back(std::move(w));
    }
  }

 private:
  std::string file_;
  std::vector<ConfigError>* errors_;
};

}  // namespace

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
  Loader loader(file, errors);
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
