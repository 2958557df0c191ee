#pragma once

// The transport: HTTP transfers on lanes (lane.h), threads of their own:
// plain http:// URLs on HTTP/1.1 lanes (http1_lane.h), everything else
// (https, URLs the fast lane does not take, any URL while a proxy is set in
// http_proxy / all_proxy) on curl lanes (curl_lane.h). It knows nothing of
// deliveries, quotas or tokens: a call goes in, a result comes out. Used by
// one thread (the dispatcher's), except wakeup(); the scheduler stays the
// one owner of every destination's quota and limits, the lanes only move
// bytes.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "switchyard/core/mutex.h"
#include "switchyard/destinations/retry.h"

namespace switchyard::destinations {

struct HttpCall {
  std::string method = "POST";
  std::string url;
  std::vector<std::string> headers;  // "Name: value" lines, in the order sent
  std::string body;                  // not sent for GET and HEAD
  size_t keep_response_bytes = 512;  // the first bytes of the answer's body that are kept
  int64_t timeout_ms = 0;            // 0: the transport's default
};

struct HttpResult {
  uint64_t id = 0;  // as start() returned it
  long status = 0;  // 0 when no HTTP answer came
  TransportFailure failure = TransportFailure::kNone;
  std::string error;          // the transport failure, when there is one
  std::string retry_after;    // the Retry-After header's value, if any
  std::string response_head;  // the first keep_response_bytes of the body
};

class Lane;

class HttpTransport {
 public:
  // Up to `lanes` threads of each kind run the transfers (started on first
  // use), each with its share of `max_connections` (more transfers wait
  // their turn); calls of a kind are spread over its lanes in turn. A transfer ends after its
  // call's timeout, or `request_timeout_ms` when the call sets none.
  // `plain_http` false sends everything through curl (tests of that lane).
  HttpTransport(uint32_t max_connections, int64_t request_timeout_ms, uint32_t lanes = 1, bool plain_http = true);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Starts a transfer (handed to a lane at the next perform() or wait());
  // its result carries the id returned.
  uint64_t start(HttpCall call);
  // Transfers started and not yet returned by perform().
  size_t in_flight() const { return in_flight_; }
  // Hands the started transfers to the lanes; returns those that ended.
  std::vector<HttpResult> perform();
  // Waits up to `timeout_ms` for a transfer to end or a wakeup().
  void wait(int timeout_ms);
  // Ends a wait() early; callable from any thread.
  void wakeup();
  // Drops every transfer in flight without a result.
  void abandon_all();

 private:
  struct Kind {
    std::vector<std::unique_ptr<Lane>> lanes;  // made on first use
    // Started since the last hand-over, one list per lane.
    std::vector<std::vector<std::pair<uint64_t, HttpCall>>> started;
    size_t next = 0;
  };
  void hand_over();
  Lane& lane(Kind& kind, size_t i, bool plain);

  int64_t request_timeout_ms_;
  bool plain_http_;  // the HTTP/1.1 lanes are used (no proxy is configured)
  uint32_t share_ = 1;
  uint64_t next_id_ = 1;
  size_t in_flight_ = 0;
  std::array<Kind, 2> kinds_;  // plain HTTP/1.1, curl

  core::Mutex mu_;
  std::condition_variable cv_;
  std::vector<HttpResult> ended_ SY_GUARDED_BY(mu_);
  bool woken_ SY_GUARDED_BY(mu_) = false;
};

}  // namespace switchyard::destinations
