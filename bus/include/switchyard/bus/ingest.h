#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/bus/settings.h"
#include "switchyard/core/event.h"
#include "switchyard/core/json_limits.h"

namespace switchyard::bus {

// EventBridge's per-request limits.
inline constexpr size_t kMaxEntriesPerRequest = 10;
// 1 MB since 29 January 2026 (was 256 KB); server.max_put_events_bytes.
inline constexpr size_t kMaxEntriesSize = 1048576;  // bytes, computed as EventBridge computes them
inline constexpr int kMaxDetailDepth = core::kMaxDetailDepth;

// The result of one entry: an EventId, or an error code and message.
struct EntryResult {
  std::string event_id;
  std::string error_code;
  std::string error_message;
  // Entries with a deduplication id: PUBLISHED, or DEDUPLICATED when an
  // earlier entry with the id was accepted within the window (`event_id` is
  // then that entry's). Empty for the others.
  std::string success_code;
  bool ok() const { return error_code.empty(); }
};

// A request-level failure (the whole request is refused, nothing stored).
struct RequestError {
  int http_status = 0;  // 0: no request-level error
  std::string code;
  std::string message;
};

// A parsed ingest request. `results` has one item per entry, in request
// order; `events` holds the accepted entries, in the same order.
// A v2 PutRawEvents entry's payload (eventbridge-v2.md §2.3): stored in
// its bus's log as it is, never matched by the classic rules.
struct RawData {
  std::string content_type;
  std::string data;
  std::vector<std::pair<std::string, std::string>> metadata;
};

struct ParsedRequest {
  std::vector<core::Event> events;
  std::vector<EntryResult> results;
  RequestError error;
  // Empty, or one per event: its deduplication id ("" when it has none).
  std::vector<std::string> dedup_ids;
  // Empty, or one per event: its v2 EventGroupId ("" when it has none),
  // which scopes its deduplication id and orders FIFO subscribers.
  std::vector<std::string> group_ids;
  // Empty, or one per event: a PutRawEvents entry's payload (events[i]
  // then carries only its id, bus and times).
  std::vector<RawData> raw;
  // Filled in once stored: per result, the log position of its event on
  // its bus (0: none, the bus keeps no log or the entry was not stored).
  std::vector<uint64_t> positions;
};

// A new event of `bus` accepted at now_ms: its id, account, region and
// times set (`time` to now), the rest for the caller to fill.
core::Event new_bus_event(const BusSettings& bus, int64_t now_ms);

// POST /buses/{bus}/events: one entry object or an array of them, each
// {"source", "detail-type", "detail" (object, or a string holding one),
// "resources", "time" (ISO 8601 or epoch seconds), "deduplication-id"}.
// `idempotency_key` (the Idempotency-Key header) is the deduplication id
// of an entry without one (with "#<index>" added when there are several).
ParsedRequest parse_bus_events(std::string_view body, const BusSettings& bus, int64_t now_ms,
                               size_t max_entries_bytes = kMaxEntriesSize, std::string_view idempotency_key = {});

// Resolves a bus name to its config, or null when there is no such bus.
using BusLookup = const BusSettings* (*)(const void* ctx, std::string_view name);

// POST / with X-Amz-Target: AWSEvents.PutEvents (AWS JSON 1.1). Entries may
// name different buses (EventBusName: a name, or an ARN ending in
// event-bus/<name>; "default" when absent). An unknown bus fails its entry.
ParsedRequest parse_put_events(std::string_view body, BusLookup lookup, const void* ctx, int64_t now_ms,
                               size_t max_entries_bytes = kMaxEntriesSize);

// EventBridge v2 publishes (eventbridge-v2.md §2): POST
// /service/AWSEventsV2/operation/PutEvents or /PutRawEvents, in JSON or in
// Smithy RPC v2 CBOR. One bus per request (EventBusArn, or its name).
enum class V2Operation { kPutEvents, kPutRawEvents };
enum class WireFormat { kJson, kCbor };
ParsedRequest parse_v2_publish(V2Operation op, WireFormat wire, std::string_view body, BusLookup lookup,
                               const void* ctx, int64_t now_ms, size_t max_entry_bytes = kMaxEntriesSize);
// {"FailedEntryCount", "Entries": [{"EventId", "SequenceNumber", "SuccessCode"}
// or {"ErrorCode", "ErrorMessage"}]} in the request's format.
std::string v2_publish_response(const ParsedRequest& parsed, WireFormat wire);
// An operation error, {"__type": "<type>", "message": "..."}, in the format.
std::string v2_error_body(std::string_view type, std::string_view message, WireFormat wire);

// {"__type": "...", "message": "..."}: AWS JSON 1.1 operation errors.
std::string aws_error_body(std::string_view type, std::string_view message);

// POST /webhooks/{name}: the raw payload becomes `detail`; `dedup_id` is
// the sender's delivery id (webhook_dedup_id), "" when there is none.
ParsedRequest parse_webhook(std::string_view body, const WebhookSettings& hook, const BusSettings& bus,
                            std::string_view detail_type_header_value, int64_t now_ms,
                            size_t max_entries_bytes = kMaxEntriesSize, std::string_view dedup_id = {});
// The sender's delivery id of a webhook request, by the route's
// deduplicate_by: auto takes the Standard Webhooks `webhook-id` header,
// GitHub's `X-GitHub-Delivery`, or (routes verifying Stripe) the event's
// `id`. "" when there is none. `header` looks a request header up.
template <class HeaderLookup>
std::string webhook_dedup_id(const WebhookSettings& hook, HeaderLookup&& header, std::string_view body);
std::string body_member_text(std::string_view body, std::string_view member);
// The deduplication scope of an id: 64 hex digits naming (bus, group, id).
std::string dedup_key(std::string_view bus, std::string_view group, std::string_view id);

// {"FailedEntryCount": N, "Entries": [...]} as PutEvents answers.
std::string put_events_response(const std::vector<EntryResult>& results);

// {"code": "...", "message": "..."}
std::string error_body(std::string_view code, std::string_view message);

// Checks that `text` is one JSON object nested at most kMaxDetailDepth deep
// and returns it without insignificant white space, every string and number
// kept exactly as written. Returns false on anything else.
bool compact_json_object(std::string_view text, std::string* out);

// For a body that is valid JSON and one entry object or an array of them:
// the raw text of member `name` of each entry ("" where absent).
std::vector<std::string_view> raw_member_values(std::string_view body, std::string_view name);

template <class HeaderLookup>
std::string webhook_dedup_id(const WebhookSettings& hook, HeaderLookup&& header, std::string_view body) {
  const std::string& by = hook.deduplicate_by;
  if (by == "none") return {};
  if (by.rfind("header:", 0) == 0) return std::string(header(std::string_view(by).substr(7)));
  if (by.rfind("body:", 0) == 0) return body_member_text(body, std::string_view(by).substr(5));
  for (std::string_view name : {std::string_view("webhook-id"), std::string_view("X-GitHub-Delivery")})
    if (std::string_view v = header(name); !v.empty()) return std::string(v);
  if (hook.verified && hook.verify.scheme == "stripe") return body_member_text(body, "id");
  return {};
}

}  // namespace switchyard::bus
