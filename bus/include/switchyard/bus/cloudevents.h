#pragma once

// CloudEvents 1.0 over HTTP (the HTTP protocol binding 1.0.2): events in
// binary mode (ce-* headers, the body is the data), structured mode
// (application/cloudevents+json) and batched mode
// (application/cloudevents-batch+json), taken as EventBridge events on a
// bus route. The mapping (README "CloudEvents"):
//   source -> source, type -> detail-type, time -> time (else now),
//   subject -> resources[0], data -> detail when it is a JSON object,
//   else {"data": <JSON value>} or {"data_base64": "..."};
//   source and id -> the deduplication id (the spec makes them unique).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "switchyard/bus/ingest.h"
#include "switchyard/bus/settings.h"
#include "switchyard/core/event.h"
#include "switchyard/core/task.h"

namespace switchyard::bus {

enum class CloudEventsMode { kNone, kBinary, kStructured, kBatch };

// Which mode a request is in: structured and batched by media type, binary
// when a ce-specversion header is present; kNone for anything else.
CloudEventsMode cloudevents_mode(std::string_view content_type, std::string_view ce_specversion);

using HeaderLookup = std::function<std::string_view(std::string_view name)>;

// Parses a CloudEvents request into events of `bus`. A single event that
// is not valid refuses the request (400); in a batch, an invalid event
// fails alone, as a PutEvents entry does.
ParsedRequest parse_cloudevents(CloudEventsMode mode, std::string_view body, const HeaderLookup& header,
                                const BusSettings& bus, int64_t now_ms, size_t max_entries_bytes = kMaxEntriesSize);

// A header value of binary mode: percent-decoded (%XX), as the binding
// requires senders to encode them. False on a malformed escape.
bool cloudevents_header_value(std::string_view raw, std::string* out);

// Percent-encodes a binary-mode header value: space, '"', '%' and every
// byte outside printable ASCII.
std::string cloudevents_header_encode(std::string_view value);

// Makes a rendered delivery a CloudEvent (a destination's payload_format):
// id, source, type, time and subject (resources[0]) from the event, the
// rendered body as its data. Binary: ce-* headers added, the body and its
// content type unchanged. Structured: the body becomes the JSON event
// format (application/cloudevents+json), `data` the body's JSON (or the
// body as a string when it is not JSON).
void as_cloudevent(const core::Event& event, bool structured, core::DeliveryTask& task);

}  // namespace switchyard::bus
