#pragma once

// The entry members every PutEvents shape shares (Source, DetailType,
// Detail, Resources, Time), parsed by one function for the classic and the
// v2 routes so both answer the same input with the same message.

#include <nlohmann/json.hpp>

#include "switchyard/bus/ingest.h"
#include "switchyard/core/event.h"

namespace switchyard::bus {

// Fills `e` from the entry and adds its counted size (EventBridge's formula)
// to *size; a failed result names the first problem.
EntryResult parse_put_events_members(const nlohmann::json& entry, core::Event& e, size_t* size);

}  // namespace switchyard::bus
