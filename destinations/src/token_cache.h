#pragma once

// The OAuth token cache: one client-credentials token per connection, shared
// by its destinations. It decides when a token is requested (first use, near
// expiry, after a refusal, after a failure with backoff) and keeps what the
// authorization server answered; sending the request is the caller's job
// (the `send` function), so the cache is tested on a ManualClock without a
// network.

#include <prometheus/counter.h>
#include <prometheus/family.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "switchyard/core/clock.h"
#include "switchyard/destinations/oauth.h"

namespace switchyard::destinations {

class TokenCache {
 public:
  // Sends a token request for `connection`; its answer comes back through
  // answered(). Called from the cache's methods, on the caller's thread.
  using Send = std::function<void(const std::string& connection, const TokenRequest& request)>;

  // `requests` counts token requests by connection and outcome (ok, error).
  TokenCache(core::Clock& clock, Send send, prometheus::Family<prometheus::Counter>& requests);

  // Asks for a token now if this connection never had one and none is
  // being fetched (a new connection, or one changed by a reload).
  void authorize(const OAuthClientCredentials& c);

  enum class Readiness {
    kReady,         // a usable token: send with authorization()
    kFetching,      // a token request is in flight; answered() follows
    kDeauthorized,  // the last request failed; the next waits until `retry_at_mono`
  };
  // Whether deliveries of connection `c` may go now; starts a token request
  // when one is due. For kDeauthorized, `*retry_at_mono` (monotonic ms) says
  // when the next request goes.
  Readiness ready(const OAuthClientCredentials& c, int64_t* retry_at_mono);

  // The Authorization header value and which token it is (a generation).
  const std::string& authorization(const OAuthClientCredentials& c);
  uint64_t generation(const OAuthClientCredentials& c);
  // Why the last token request failed (no secrets).
  const std::string& last_error(const OAuthClientCredentials& c);

  // The authorization server's answer: `transport_error` when none came.
  void answered(const std::string& connection, long http_status, const std::string& transport_error,
                const std::string& body);
  // A destination refused the token of `generation` (401/407): it is dropped
  // so that the next delivery fetches a new one.
  void refused(const std::string& connection, uint64_t generation);

  // EventBridge's connection state: AUTHORIZED, AUTHORIZING or DEAUTHORIZED.
  struct View {
    bool usable = false;
    std::string state;
    std::string error;  // set while not usable
  };
  View view(const std::string& connection) const;

 private:
  struct Entry {
    OAuthClientCredentials config;
    Token token;
    uint64_t generation = 0;  // bumped for each new token
    bool fetching = false;
    uint32_t failures = 0;    // consecutive failed token requests
    int64_t retry_at_ms = 0;  // no new token request before this (monotonic), after a failure
    std::string last_error;
  };
  Entry& entry(const OAuthClientCredentials& c);
  void fetch(Entry& e);

  core::Clock& clock_;
  Send send_;
  prometheus::Family<prometheus::Counter>& requests_;
  std::map<std::string, Entry> entries_;  // by connection
};

}  // namespace switchyard::destinations
