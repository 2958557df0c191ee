#pragma once

// What a subscriber does with one entry of its bus's log
// (eventbridge-v2.md §3, §8): the entry's SystemMetadata, whether the
// subscriber's filters take it, and the delivery it renders. Pure
// functions; the runner (subscribers.cc) reads, stores and delivers.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "switchyard/bus/routing.h"
#include "switchyard/core/event.h"
#include "switchyard/core/task.h"
#include "switchyard/storage/roles.h"

namespace switchyard::bus {

inline constexpr std::string_view kEnvelopeContentType = "application/eventbridge+json";

enum class DeliveryType { kLive, kReplay };

// Whether `content_type` names JSON data (a DATA filter can read it).
bool is_json_content(std::string_view content_type);

// The SystemMetadata object as JSON text, every value a string:
// aws:EventId, aws:IngestionTime, aws:SequenceNumber, aws:DeliveryType,
// aws:Source and aws:DetailType (envelopes), ContentType, EventGroupId and
// DeduplicationId (when the publish had them).
std::string system_metadata_json(const storage::LogEntry& e, DeliveryType type);

// The Metadata object as JSON text ({} without any).
std::string metadata_json(const storage::LogEntry& e);

// Whether every filter of `s` takes the entry: DATA reads JSON data only,
// METADATA never takes an entry without metadata (an envelope's).
bool passes_filters(const SubscriberRoute& s, const storage::LogEntry& e, const std::string& system_metadata);

// The delivery of the entry to the subscriber's API destination, due now,
// its retry age counting from now (a subscriber starting in the past gets
// the whole budget for each event).
core::DeliveryTask subscriber_task(const SubscriberRoute& s, const storage::LogEntry& e,
                                   const std::string& system_metadata, int64_t now_ms);

// Puts the entry on the subscriber's target bus, in `batch`: an envelope
// goes through that bus's rules and into its log, other data into its log.
// A bus the entry was on already is not entered again (the loop guard).
void forward_to_bus(const Routing& routing, const SubscriberRoute& s, const storage::LogEntry& e,
                    storage::IngestBatch& batch);

// The event an envelope holds (for the rules of a bus it is put on);
// nothing when the text is not an envelope.
std::optional<core::Event> event_of_envelope(std::string_view envelope, const std::string& bus, int64_t ingested_ms);

}  // namespace switchyard::bus
