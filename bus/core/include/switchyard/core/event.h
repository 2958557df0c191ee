#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace switchyard::core {

// One event on a bus, as EventBridge builds it from a PutEvents entry.
// `detail` holds the JSON text of an object, exactly as it will be emitted.
struct Event {
  std::string id;  // UUID v4, the EventId returned to the producer
  std::string detail_type;
  std::string source;
  std::string account;
  int64_t time = 0;  // epoch seconds, UTC (the envelope has second precision)
  std::string region;
  std::string replay_name;  // only set on replayed events
  std::vector<std::string> resources;
  std::string detail = "{}";

  // Not part of the envelope.
  std::string bus;
  int64_t ingested_ms = 0;  // when the bus accepted the event
  std::string trace_header;
};

// The envelope as EventBridge emits it, members in AWS's order:
// version, id, detail-type, source, account, time, region, [replay-name],
// resources, detail. Compact JSON, no trailing newline.
std::string envelope_json(const Event& event);

}  // namespace switchyard::core
