#pragma once

// The stored records, written and read in one place: a delivery task, a dead
// letter, and an event record (the events and archive column families).
// Every field round-trips (tests/storage/records_test.cc).

#include <cstdint>
#include <string>
#include <string_view>

#include "switchyard/core/event.h"
#include "switchyard/core/status.h"
#include "switchyard/core/task.h"
#include "switchyard/storage/roles.h"

namespace switchyard::storage {

// Binary (task_codec.h); decode_task also reads the JSON tasks of earlier
// versions. kCorruption when `data` is not a stored task.
std::string encode_task(const core::DeliveryTask& task);
core::Result<core::DeliveryTask> decode_task(std::string_view data);

// The dead letter's `key` is not part of the record (it is its storage key).
std::string encode_dead_letter(const DeadLetter& d);
core::Result<DeadLetter> decode_dead_letter(std::string_view data);

// {"bus":...,"ingested_ms":...[,"trace_header":...],"event":<envelope>}:
// the envelope is kept byte for byte (core::envelope_json), so replays and
// archives give back exactly what was accepted.
// `envelope`, when given, is envelope_json(e) already made.
std::string encode_event_record(const core::Event& e, const std::string* envelope = nullptr);

// An event record that also names the event's id and time (seconds): what
// cluster mode's archive streams hold, {"id":...,"time_s":...,"bus":...}.
std::string encode_archive_record(const core::Event& e, const std::string* envelope = nullptr);

// The envelope inside an event record, byte for byte: it follows "event":
// and ends before the closing brace. Earlier members are escaped strings and
// numbers, so the marker cannot occur inside them. Empty when not found.
std::string_view envelope_of(std::string_view record);

// What a FIFO delivery leaves under its group_key when it leaves the queue:
// "<state> <position>" ("done" delivered, "dead" dead-lettered).
std::string group_record(const char* state, const core::DeliveryTask& task);

// A bus log entry as CBOR (its data a byte string, so raw bytes of any
// content type round-trip). The position is not part of the record.
std::string encode_log_entry(const LogEntry& e);
core::Result<LogEntry> decode_log_entry(std::string_view data);

// The members of an event record before its envelope.
struct EventRecordHeader {
  std::string id;      // archive records only
  int64_t time_s = 0;  // archive records only
  std::string bus;
  int64_t ingested_ms = 0;
  std::string trace_header;
};
core::Result<EventRecordHeader> decode_event_header(std::string_view record);

}  // namespace switchyard::storage
