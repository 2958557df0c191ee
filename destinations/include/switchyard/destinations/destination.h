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

// When a destination's circuit opens and how it tries again (src/circuit.h
// explains the breaker). The defaults follow resilience4j's failure-rate
// breaker, scaled to deliveries: a 10 s window, at least 20 first attempts,
// half of them failing; or 5 transport failures in a row (a dead endpoint).
struct CircuitOptions {
  uint32_t consecutive_transport_failures = 5;  // refused, reset, timed out, in a row
  int64_t window_ms = 10'000;                   // the failure rate's window
  uint32_t min_attempts = 20;                   // first attempts in the window before the rate counts
  uint32_t failure_rate_percent = 50;           // 5xx, 429 and transport failures among them
  int64_t open_ms = 1'000;                      // nothing is sent this long once open ...
  int64_t max_open_ms = 5'000;                  // ... doubling while trials keep failing, up to this
  uint32_t trial_requests = 3;                  // then these many, fresh deliveries first

  bool operator==(const CircuitOptions&) const = default;
};

// An HTTP API destination as the dispatcher needs it at send time.
struct Destination {
  std::string name;
  std::string endpoint;  // http(s) URL; each '*' is replaced by the next path parameter
  std::string method = "POST";
  uint32_t rate_limit_per_second = 300;
  int64_t timeout_ms = 5000;      // each request's limit
  uint32_t max_concurrency = 32;  // requests in flight at once (also under Options' totals)
  // Within max_concurrency, the in-flight limit follows the receiver
  // (src/concurrency_limit.h); false: always max_concurrency.
  bool adaptive_concurrency = true;
  CircuitOptions circuit;
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
