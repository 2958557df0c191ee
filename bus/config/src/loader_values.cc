#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "loader.h"
#include "switchyard/core/ascii.h"
#include "switchyard/core/crypto.h"
#include "switchyard/core/http_header.h"
#include "switchyard/core/log.h"
#include "switchyard/rules/matcher.h"

namespace switchyard::config::internal {

void Loader::error(const YAML::Mark& m, const std::string& message) {
  errors_->push_back({file_, m.line < 0 ? 1 : m.line + 1, m.column < 0 ? 1 : m.column + 1, message});
}

// Refuses keys of `node` not in `allowed`.
void Loader::check_keys(const YAML::Node& node, const std::string& where, std::initializer_list<const char*> allowed) {
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }))
      error(kv.first, "unknown key '" + key + "' in " + where);
  }
}

bool Loader::require_map(const YAML::Node& n, const std::string& where) {
  if (n.IsMap()) return true;
  error(n, where + " must be a mapping");
  return false;
}

std::string Loader::str(const YAML::Node& parent, const char* key, const std::string& where, bool required,
                        const std::string& fallback) {
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
std::string Loader::secret(const YAML::Node& parent, const char* key, const std::string& where) {
  if (!parent[key]) {
    error(parent, "missing required key '" + std::string(key) + "' in " + where);
    return "";
  }
  return secret_value(parent[key], where + "." + key);
}

// EventBridge's credentials (Username, Password, ApiKeyValue, ClientID,
// ClientSecret): 1-512 characters, no ':' and no control characters but
// tabs. Checked once the secret resolved; the message never shows it.
std::string Loader::credential(const YAML::Node& parent, const char* key, const std::string& where) {
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

std::string Loader::secret_value(const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar()) {
    error(n, where + " must be a string");
    return "";
  }
  std::string v = n.Scalar();
  static const std::regex kRef(R"(\$\{(env|file):([^}]+)\})");
  std::smatch m;
  if (!std::regex_match(v, m, kRef)) return v;
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
    error(n, "secret file " + m[2].str() + " for " + where + " is larger than " + std::to_string(kMaxSecretFileBytes) +
                 " bytes");
    return "";
  }
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

bool Loader::boolean(const YAML::Node& parent, const char* key, const std::string& where, bool fallback) {
  const YAML::Node n = parent[key];
  if (!n) return fallback;
  bool v;
  if (!n.IsScalar() || !is_yaml_bool(n.Scalar(), &v)) {
    error(n, "'" + std::string(key) + "' in " + where + " must be true or false");
    return fallback;
  }
  return v;
}

void Loader::name(const YAML::Node& parent, const std::string& value, const std::string& where, size_t max_len) {
  if (!parent["name"]) return;  // already reported as missing
  if (value.empty() || value.size() > max_len || !std::regex_match(value, kNameRe))
    error(parent["name"] ? parent["name"] : parent, "invalid name '" + value + "' in " + where + ": 1 to " +
                                                        std::to_string(max_len) +
                                                        " characters of letters, digits, '.', '-' and '_'");
}

void Loader::listen(const YAML::Node& parent, const char* key, std::string* out) {
  if (!parent[key]) return;
  *out = str(parent, key, "server", false, *out);
  const auto colon = out->rfind(':');
  const std::string port = colon == std::string::npos ? "" : out->substr(colon + 1);
  if (colon == std::string::npos || colon == 0 || port.empty() || !std::all_of(port.begin(), port.end(), ::isdigit) ||
      port.size() > 5 || std::stoi(port) > 65535)
    error(parent[key], "server." + std::string(key) + " must be HOST:PORT, got '" + *out + "'");
}

bool Loader::sequence(const YAML::Node& n, const char* what) {
  if (!n || n.IsNull()) return false;
  if (!n.IsSequence()) {
    error(n, std::string(what) + " must be a list");
    return false;
  }
  return true;
}

// A parameter list: EventBridge's [{key, value, is_value_secret}] or a
// {key: value} mapping. Values may be ${env:...}/${file:...} secrets.
// Header names are checked, and headers EventBridge never lets parameters
// set are dropped with a warning.
Params Loader::params(const YAML::Node& n, const std::string& where, bool headers) {
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

bool Loader::reserved_header(std::string name) {
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
  return kReserved.count(core::ascii_lower(name)) != 0;
}

// An event pattern given as YAML (strict JSON typing) or as a JSON string,
// validated like EventBridge's PutRule/CreateArchive.
std::string Loader::event_pattern(const YAML::Node& p, const std::string& what) {
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

}  // namespace switchyard::config::internal
