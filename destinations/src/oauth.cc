#include "switchyard/destinations/oauth.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "switchyard/core/ascii.h"
#include "switchyard/core/crypto.h"

namespace switchyard::destinations {

std::string form_escape(const std::string& s) { return core::percent_encode(s); }

TokenRequest build_token_request(const OAuthClientCredentials& c) {
  TokenRequest r;
  r.method = c.method.empty() ? "POST" : c.method;
  std::vector<std::pair<std::string, std::string>> form;
  const bool has_grant =
      std::any_of(c.body.begin(), c.body.end(), [](const auto& p) { return p.first == "grant_type"; });
  if (!has_grant) form.emplace_back("grant_type", "client_credentials");
  form.insert(form.end(), c.body.begin(), c.body.end());
  if (c.credentials_in_body) {
    form.emplace_back("client_id", c.client_id);
    form.emplace_back("client_secret", c.client_secret);
  } else {
    r.headers.emplace_back("Authorization", "Basic " + core::base64_encode(c.client_id + ":" + c.client_secret));
  }
  auto encode = [](const std::vector<std::pair<std::string, std::string>>& kv) {
    std::string out;
    for (const auto& [k, v] : kv) {
      if (!out.empty()) out += '&';
      out += form_escape(k) + "=" + form_escape(v);
    }
    return out;
  };
  std::string query = encode(c.query);
  const std::string encoded_form = encode(form);
  if (r.method == "GET") {
    query += (query.empty() || encoded_form.empty() ? "" : "&") + encoded_form;
  } else {
    r.body = encoded_form;
    r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  }
  r.headers.emplace_back("Accept", "application/json");
  for (const auto& h : c.headers) r.headers.push_back(h);
  r.url = c.endpoint;
  if (!query.empty()) r.url += (c.endpoint.find('?') == std::string::npos ? "?" : "&") + query;
  return r;
}

core::Result<Token> parse_token_response(long http_status, const std::string& body, int64_t now_ms) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (http_status < 200 || http_status > 299) {
    std::string error = "the authorization endpoint answered " + std::to_string(http_status);
    if (j.is_object() && j.contains("error") && j["error"].is_string()) {
      error += " (" + j["error"].get<std::string>();
      if (j.contains("error_description") && j["error_description"].is_string())
        error += ": " + j["error_description"].get<std::string>().substr(0, 200);
      error += ")";
    }
    return core::Status::unauthenticated(std::move(error));
  }
  if (!j.is_object()) return core::Status::invalid_argument("the authorization endpoint's answer is not a JSON object");
  if (!j.contains("access_token") || !j["access_token"].is_string() || j["access_token"].get<std::string>().empty())
    return core::Status::invalid_argument("the authorization endpoint's answer has no access_token");
  std::string type = "Bearer";
  if (j.contains("token_type") && j["token_type"].is_string() && !j["token_type"].get<std::string>().empty()) {
    type = j["token_type"].get<std::string>();
    // RFC 6750 names the scheme "Bearer"; servers often answer "bearer".
    if (core::iequals(type, "bearer")) type = "Bearer";
  }
  double expires_in = 0;
  if (j.contains("expires_in")) {
    const auto& e = j["expires_in"];
    if (e.is_number()) {
      expires_in = e.get<double>();
    } else if (e.is_string()) {  // some servers quote it
      try {
        expires_in = std::stod(e.get<std::string>());
      } catch (...) {
        expires_in = 0;
      }
    }
  }
  Token token;
  token.authorization = type + " " + j["access_token"].get<std::string>();
  token.obtained_ms = now_ms;
  token.expires_at_ms = expires_in > 0 && std::isfinite(expires_in)
                            ? now_ms + static_cast<int64_t>(std::min(expires_in, 1e10) * 1000)
                            : 0;
  return token;
}

bool token_needs_refresh(const Token& token, int64_t now_ms) {
  if (token.authorization.empty()) return true;
  if (token.expires_at_ms == 0) return false;
  const int64_t lifetime = token.expires_at_ms - token.obtained_ms;
  const int64_t margin = std::min<int64_t>(60'000, lifetime / 2);
  return token.expires_at_ms - now_ms < margin;
}

}  // namespace switchyard::destinations
