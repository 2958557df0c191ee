#pragma once

// The curl transport: HTTP transfers on one libcurl multi handle, with a
// pool of reusable easy handles and a bounded connection pool. It knows
// nothing of deliveries, quotas or tokens: a call goes in, a result comes
// out. Used by one thread (the dispatcher's), except wakeup().

#include <curl/curl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

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

class CurlTransport {
 public:
  // At most `max_connections` connections are open (more transfers wait in
  // curl's queue); a transfer ends after its call's timeout, or
  // `request_timeout_ms` when the call sets none.
  CurlTransport(uint32_t max_connections, int64_t request_timeout_ms);
  ~CurlTransport();
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  // Starts a transfer; its result carries the id returned.
  uint64_t start(HttpCall call);
  size_t in_flight() const { return transfers_.size(); }
  // Moves every transfer along; returns those that ended.
  std::vector<HttpResult> perform();
  // Waits up to `timeout_ms` for I/O or a wakeup().
  void wait(int timeout_ms);
  // Ends a wait() early; callable from any thread.
  void wakeup();
  // Drops every transfer in flight without a result.
  void abandon_all();

 private:
  struct Transfer;
  CURLM* multi_ = nullptr;
  int64_t request_timeout_ms_;
  uint64_t next_id_ = 1;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> transfers_;
  std::vector<CURL*> idle_;  // reusable handles; connections live in the multi's pool
};

}  // namespace switchyard::destinations
