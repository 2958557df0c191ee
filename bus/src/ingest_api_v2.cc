// EventBridge v2's publish operations on the ingest listener (README
// "Publishing the v2 way"): POST /service/AWSEventsV2/operation/PutEvents
// and /PutRawEvents, as AWS serves them in Smithy RPC v2 CBOR
// (Content-Type: application/cbor, smithy-protocol: rpc-v2-cbor), and the
// same shapes as JSON. The answer uses the request's format.

#include "ingest_api.h"

#include "switchyard/core/log.h"
#include "switchyard/core/time.h"

namespace switchyard::bus {

namespace asio = boost::asio;

namespace {

Response v2_response(const Request& req, http::status status, std::string body, WireFormat wire) {
  Response res = json_response(req, status, std::move(body));
  res.set("x-amzn-RequestId", req["x-request-id"]);
  if (wire == WireFormat::kCbor) {
    res.set(http::field::content_type, "application/cbor");
    res.set("smithy-protocol", "rpc-v2-cbor");
  }
  return res;
}

http::status status_of(int code) { return static_cast<http::status>(code); }

}  // namespace

asio::awaitable<Response> IngestApi::handle_v2(const Request& req, std::string_view operation) {
  const std::string_view content_type = req[http::field::content_type];
  const WireFormat wire = content_type.rfind("application/cbor", 0) == 0 || req["smithy-protocol"] == "rpc-v2-cbor"
                              ? WireFormat::kCbor
                              : WireFormat::kJson;
  auto fail = [&](int status, std::string_view type, std::string_view message) {
    return v2_response(req, status_of(status), v2_error_body(type, message, wire), wire);
  };
  if (req.method() != http::verb::post) co_return fail(405, "InvalidInputException", "Use POST.");
  if (operation != "PutEvents" && operation != "PutRawEvents")
    co_return fail(
        404, "UnknownOperationException",
        "Operation " + std::string(operation) + " is not served; Switchyard serves PutEvents and PutRawEvents.");
  const auto routing = deps_.routing();
  if (!routing) co_return fail(503, "InternalException", "No configuration loaded.");
  const int64_t now = core::now_ms();
  BusLookup lookup = [](const void* ctx, std::string_view name) -> const BusSettings* {
    const auto* r = static_cast<const Routing*>(ctx);
    auto it = r->buses.find(std::string(name));
    return it == r->buses.end() ? nullptr : &it->second.bus;
  };
  ParsedRequest parsed =
      parse_v2_publish(operation == "PutEvents" ? V2Operation::kPutEvents : V2Operation::kPutRawEvents, wire,
                       req.body(), lookup, routing.get(), now, deps_.options.max_put_events_bytes);
  if (parsed.error.http_status == 0)
    if (auto denied = check_signature(req, *routing, parsed, now / 1000))
      co_return fail(403, "AccessDeniedException", "The request's signature or token does not allow this bus.");
  if (parsed.error.http_status != 0) co_return fail(parsed.error.http_status, parsed.error.code, parsed.error.message);
  if (const core::Status stored = co_await commit(*routing, parsed, req["x-request-id"]); !stored)
    co_return fail(500, "InternalException",
                   "The events could not be stored (" + stored.message() + "); nothing was accepted. Retry later.");
  co_return v2_response(req, http::status::ok, v2_publish_response(parsed, wire), wire);
}

}  // namespace switchyard::bus
