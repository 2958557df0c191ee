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

namespace switchyard::config::internal {

void Loader::load_connections(const YAML::Node& list, Config* c) {
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
    if (const auto ip = n["invocation_http_parameters"]; ip && require_map(ip, where + ".invocation_http_parameters")) {
      const std::string iw = where + ".invocation_http_parameters";
      check_keys(ip, iw, {"header_parameters", "query_string_parameters", "body_parameters"});
      conn.header_parameters = params(ip["header_parameters"], iw + ".header_parameters", true);
      conn.query_string_parameters = params(ip["query_string_parameters"], iw + ".query_string_parameters", false);
      conn.body_parameters = params(ip["body_parameters"], iw + ".body_parameters", false);
    }
    c->connections.push_back(std::move(conn));
  }
}

OAuthConfig Loader::oauth(const YAML::Node& auth, const std::string& aw) {
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

void Loader::load_destinations(const YAML::Node& list, Config* c) {
  if (!sequence(list, "api_destinations")) return;
  std::set<std::string> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node n = list[i];
    const std::string where = "api_destinations[" + std::to_string(i) + "]";
    if (!require_map(n, where)) continue;
    check_keys(n, where,
               {"name", "connection", "endpoint", "method", "rate_limit_per_second", "signing_secret",
                "timeout_seconds", "max_concurrency", "adaptive_concurrency", "circuit", "payload_format"});
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
    d.timeout_seconds = number<uint32_t>(n, "timeout_seconds", where, d.timeout_seconds, 1, 300);
    d.max_concurrency = number<uint32_t>(n, "max_concurrency", where, d.max_concurrency, 1, 1000);
    d.adaptive_concurrency = boolean(n, "adaptive_concurrency", where, d.adaptive_concurrency);
    d.payload_format = str(n, "payload_format", where, false, d.payload_format);
    if (d.payload_format != "eventbridge" && d.payload_format != "cloudevents-binary" &&
        d.payload_format != "cloudevents-structured")
      error(n["payload_format"], "payload_format of api destination '" + d.name +
                                     "' must be eventbridge, cloudevents-binary or cloudevents-structured");
    if (const auto cb = n["circuit"]; cb && require_map(cb, where + ".circuit")) {
      const std::string at = where + ".circuit";
      check_keys(cb, at,
                 {"consecutive_transport_failures", "window_seconds", "min_attempts", "failure_rate_percent",
                  "open_seconds", "max_open_seconds", "trial_requests"});
      auto& k = d.circuit;
      k.consecutive_transport_failures =
          number<uint32_t>(cb, "consecutive_transport_failures", at, k.consecutive_transport_failures, 1, 1000);
      k.window_seconds = number<uint32_t>(cb, "window_seconds", at, k.window_seconds, 1, 3600);
      k.min_attempts = number<uint32_t>(cb, "min_attempts", at, k.min_attempts, 1, 100000);
      k.failure_rate_percent = number<uint32_t>(cb, "failure_rate_percent", at, k.failure_rate_percent, 1, 100);
      k.open_seconds = number<uint32_t>(cb, "open_seconds", at, k.open_seconds, 1, 3600);
      k.max_open_seconds = number<uint32_t>(cb, "max_open_seconds", at, k.max_open_seconds, 1, 3600);
      k.trial_requests = number<uint32_t>(cb, "trial_requests", at, k.trial_requests, 1, 100);
      if (k.max_open_seconds < k.open_seconds)
        error(cb["max_open_seconds"] ? cb["max_open_seconds"] : cb, "'max_open_seconds' in " + at +
                                                                        " must not be less than 'open_seconds' (" +
                                                                        std::to_string(k.open_seconds) + ")");
    }
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

}  // namespace switchyard::config::internal
