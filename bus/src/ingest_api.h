#pragma once

// The ingest listener's API: the bus route (POST /buses/{bus}/events),
// webhooks (POST /webhooks/{name}), the EventBridge API (POST /, PutEvents
// and TestEventPattern by X-Amz-Target) and health. A request in, a
// response out (a coroutine, for the store's write and the CPU work): no
// socket, so it is tested on bytes with an io_context.

#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cpu_work.h"
#include "dedup_gate.h"
#include "http_message.h"
#include "pipeline.h"
#include "switchyard/bus/ingest.h"
#include "switchyard/bus/routing.h"

namespace switchyard::bus {

struct IngestApiOptions {
  size_t max_put_events_bytes = 1048576;  // EventBridge's entry-size limit, its formula
};

struct IngestApiDeps {
  IngestApiOptions options;
  std::function<std::shared_ptr<const Routing>()> routing;  // the running rules; null until loaded
  Pipeline& pipeline;
  CpuWork& cpu;
  DedupGate& dedup;
};

class IngestApi {
 public:
  explicit IngestApi(IngestApiDeps deps) : deps_(std::move(deps)) {}

  // Any request to the ingest listener. Never throws for bad input: every
  // failure is an answer, and nothing of a refused request is stored.
  boost::asio::awaitable<Response> handle(const Request& req);

 private:
  boost::asio::awaitable<Response> handle_aws(const Request& req);
  // POST /service/AWSEventsV2/operation/{PutEvents|PutRawEvents} (ingest_api_v2.cc).
  boost::asio::awaitable<Response> handle_v2(const Request& req, std::string_view operation);
  // Routes, stores and hands over the accepted events; the failure says why
  // nothing was stored.
  boost::asio::awaitable<core::Status> commit(const Routing& routing, ParsedRequest& parsed, std::string_view request);
  static std::optional<std::string> check_signature(const Request& req, const Routing& routing, ParsedRequest& parsed,
                                                    int64_t now_s);

  IngestApiDeps deps_;
};

}  // namespace switchyard::bus
