#include "token_cache.h"

#include <algorithm>
#include <utility>

#include "switchyard/core/log.h"

namespace switchyard::destinations {

TokenCache::TokenCache(core::Clock& clock, Send send, prometheus::Family<prometheus::Counter>& requests)
    : clock_(clock), send_(std::move(send)), requests_(requests) {}

TokenCache::Entry& TokenCache::entry(const OAuthClientCredentials& c) {
  Entry& e = entries_[c.connection];
  if (!(e.config == c)) {  // new, or changed by a reload: start over
    e = Entry{};
    e.config = c;
  }
  return e;
}

void TokenCache::fetch(Entry& e) {
  e.fetching = true;
  send_(e.config.connection, build_token_request(e.config));
}

void TokenCache::authorize(const OAuthClientCredentials& c) {
  Entry& e = entry(c);
  if (e.generation == 0 && !e.fetching && e.failures == 0) fetch(e);
}

TokenCache::Readiness TokenCache::ready(const OAuthClientCredentials& c, int64_t* retry_at_mono) {
  Entry& e = entry(c);
  if (!token_needs_refresh(e.token, clock_.wall_ms())) return Readiness::kReady;
  if (!e.fetching && clock_.mono_ms() >= e.retry_at_ms) fetch(e);
  if (e.fetching) return Readiness::kFetching;
  *retry_at_mono = e.retry_at_ms;
  return Readiness::kDeauthorized;
}

const std::string& TokenCache::authorization(const OAuthClientCredentials& c) { return entry(c).token.authorization; }
uint64_t TokenCache::generation(const OAuthClientCredentials& c) { return entry(c).generation; }
const std::string& TokenCache::last_error(const OAuthClientCredentials& c) { return entry(c).last_error; }

void TokenCache::answered(const std::string& connection, long http_status, const std::string& transport_error,
                          const std::string& body) {
  auto it = entries_.find(connection);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  e.fetching = false;
  const int64_t now = clock_.wall_ms();
  std::string error;
  core::Result<Token> token = core::Status::unavailable("no answer");
  if (!transport_error.empty()) {
    error = "the authorization endpoint could not be reached: " + transport_error;
  } else if (token = parse_token_response(http_status, body, now); !token) {
    error = token.status().message();
  } else {
    e.token = std::move(*token);
    ++e.generation;
    e.failures = 0;
    e.retry_at_ms = 0;
    e.last_error.clear();
    requests_.Add({{"connection", connection}, {"outcome", "ok"}}).Increment();
    core::log::info("OAuth token obtained",
                    {{"connection", connection},
                     {"expires_in_s", e.token.expires_at_ms ? std::to_string((e.token.expires_at_ms - now) / 1000)
                                                            : std::string("none")}});
    return;
  }
  ++e.failures;
  const int64_t retry_in = std::min<int64_t>(int64_t{1000} << std::min<uint32_t>(e.failures - 1, 6), 60'000);
  e.retry_at_ms = clock_.mono_ms() + retry_in;
  e.last_error = error;
  requests_.Add({{"connection", connection}, {"outcome", "error"}}).Increment();
  core::log::warn("OAuth token request failed; the connection is deauthorized",
                  {{"connection", connection}, {"error", error}, {"retry_in_ms", std::to_string(retry_in)}});
}

void TokenCache::refused(const std::string& connection, uint64_t generation) {
  auto it = entries_.find(connection);
  if (it == entries_.end() || it->second.generation != generation || it->second.token.authorization.empty()) return;
  it->second.token = Token{};
  core::log::info("OAuth token refused by a destination; fetching a new one", {{"connection", connection}});
}

TokenCache::View TokenCache::view(const std::string& connection) const {
  View v;
  auto it = entries_.find(connection);
  const Entry* e = it == entries_.end() ? nullptr : &it->second;
  const int64_t now = clock_.wall_ms();
  v.usable = e && !e->token.authorization.empty() && (e->token.expires_at_ms == 0 || e->token.expires_at_ms > now);
  v.state = v.usable ? "AUTHORIZED" : (e && e->failures > 0 ? "DEAUTHORIZED" : "AUTHORIZING");
  if (e && !v.usable) v.error = e->last_error;
  return v;
}

}  // namespace switchyard::destinations
