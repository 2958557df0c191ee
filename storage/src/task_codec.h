#pragma once

// The delivery task's stored form: a compact binary record, read and written
// on the delivery path (every task is written at ingest and read back when
// it is paged in), so it costs no JSON parse. A version byte starts it;
// strings and lists carry their lengths as varints, integers are varints
// (zigzag for the signed ones). Tasks written as JSON by earlier versions
// start with '{' and are still read (records.cc).

#include <string>
#include <string_view>

#include "switchyard/core/status.h"
#include "switchyard/core/task.h"

namespace switchyard::storage {

inline constexpr char kTaskRecordV1 = '\x01';

// Appends the record to `out`.
void append_binary_task(const core::DeliveryTask& task, std::string* out);
// kCorruption when `data` is cut short or its version is unknown.
core::Result<core::DeliveryTask> decode_binary_task(std::string_view data);

}  // namespace switchyard::storage
