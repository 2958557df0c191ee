#pragma once

// An HTTP API destination as delivery needs it at send time: endpoint,
// method, quota, and the connection's auth and parameters. Its own header so
// that the parts of delivery (request building, OAuth, the dispatcher) can
// use it without including each other.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "switchyard/destinations/oauth.h"

namespace switchyard::destinations {

// An HTTP API destination as the dispatcher needs it at send time.
struct Destination {
  std::string name;
  std::string endpoint;  // http(s) URL; each '*' is replaced by the next path parameter
  std::string method = "POST";
  uint32_t rate_limit_per_second = 300;
  // Extra request headers (connection auth and parameters). Values may be
  // secrets: they are sent, never logged.
  std::vector<std::pair<std::string, std::string>> headers;
  // Standard Webhooks signing key (raw bytes); empty: no webhook-signature.
  std::string signing_key;
  // The connection's invocation parameters: they win over a target's on
  // the same key; body parameters are merged into JSON object payloads.
  std::vector<std::pair<std::string, std::string>> header_parameters, query_parameters, body_parameters;
  // Set for an oauth_client_credentials connection: requests carry its
  // cached token, fetched (and refreshed) by the dispatcher.
  std::shared_ptr<const OAuthClientCredentials> oauth;
};

}  // namespace switchyard::destinations
