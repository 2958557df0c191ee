#pragma once

// Where an entry's publish-deduplication id comes from on the bus route
// (README "Deduplication"); the webhook routes' ids and the key's scope are
// in ingest.h (webhook_dedup_id, dedup_key).

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "switchyard/bus/ingest.h"
#include "switchyard/bus/settings.h"
#include "switchyard/core/event.h"

namespace switchyard::bus {

// A deduplication id as EventBridge takes one: 1 to 128 characters, not
// all white space.
bool valid_dedup_id(std::string_view id);

// A content-based deduplication id: "content:" and the SHA-256 of what the
// publisher sent (source, detail-type, resources, detail, and the time when
// the entry gave one).
std::string content_dedup_id(const core::Event& e, bool time_given);

// The deduplication id of a bus-route entry: its own `deduplication-id`,
// else the request's Idempotency-Key (one per entry: "#<index>" added when
// there are several), else with content_based a hash of what the publisher
// sent (source, detail-type, resources, detail, and time when given).
// Sets *out ("" for none); an invalid id fails the entry.
EntryResult entry_dedup_id(const nlohmann::json& entry, const core::Event& e, const BusSettings& bus,
                           std::string_view idempotency_key, size_t index, size_t entries, std::string* out);

}  // namespace switchyard::bus
