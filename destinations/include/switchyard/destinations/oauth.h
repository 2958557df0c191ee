#pragma once

// OAuth 2.0 client credentials (RFC 6749 §4.4) for connections of type
// oauth_client_credentials: how the token request is built and how the
// authorization server's answer is read. The dispatcher owns the token cache
// and sends these requests on its own curl multi handle.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "switchyard/core/status.h"

namespace switchyard::destinations {

struct OAuthClientCredentials {
  std::string connection;                // one token per connection, shared by its destinations
  std::string endpoint;                  // the authorization endpoint (token URL)
  std::string method = "POST";           // GET | POST | PUT
  std::string client_id, client_secret;  // secrets: sent, never logged
  // client_secret_basic: "Authorization: Basic base64(id:secret)";
  // client_secret_post: client_id and client_secret as form fields.
  bool credentials_in_body = false;
  // The connection's oauth_http_parameters, added to the token request.
  std::vector<std::pair<std::string, std::string>> headers, query, body;

  bool operator==(const OAuthClientCredentials&) const = default;
};

struct TokenRequest {
  std::string url;  // endpoint with query parameters (and, for GET, the form)
  std::string method;
  std::string body;  // application/x-www-form-urlencoded, empty for GET
  std::vector<std::pair<std::string, std::string>> headers;
};

// grant_type=client_credentials unless a body parameter sets grant_type; the
// body parameters follow, then client_id/client_secret when they go in the body.
TokenRequest build_token_request(const OAuthClientCredentials& c);

struct Token {
  std::string authorization;  // the Authorization header value: "<token_type> <access_token>"
  int64_t expires_at_ms = 0;  // 0: the server gave no expires_in
  int64_t obtained_ms = 0;
};

// Reads the authorization server's answer. On failure `error` says why
// without repeating the body (it may hold secrets), except the standard
// `error`/`error_description` fields of RFC 6749 §5.2.
core::Result<Token> parse_token_response(long http_status, const std::string& body, int64_t now_ms);

// A token is refreshed before use when it expires within 60 seconds (as
// EventBridge does), or within half its lifetime when that is shorter, so a
// server handing out 30-second tokens does not cause a fetch per request.
bool token_needs_refresh(const Token& token, int64_t now_ms);

// application/x-www-form-urlencoded escaping (RFC 3986 unreserved kept).
std::string form_escape(const std::string& s);

}  // namespace switchyard::destinations
