#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchyard::core {

// EventBridge's RetryPolicy for a target. MaximumRetryAttempts counts retries,
// not the first attempt (0 means exactly one attempt).
struct RetryPolicy {
  uint32_t maximum_retry_attempts = 185;       // 0..185
  uint32_t maximum_event_age_seconds = 86400;  // 60..86400
  bool operator==(const RetryPolicy&) const = default;
};

// One delivery of one event to one target, from the moment the event matched
// until it succeeds or is dead-lettered. Fully rendered at match time, so a
// later config change never alters what an accepted event delivers; the
// destination (URL, auth, rate) is looked up by name at send time.
struct DeliveryTask {
  std::string id;  // stable across retries: sent as webhook-id
  std::string event_id;
  std::string bus;
  std::string rule;
  std::string rule_arn;
  std::string target;
  std::string destination;
  std::string body;
  std::string content_type = "application/json; charset=utf-8";
  std::vector<std::string> path_params;
  std::vector<std::pair<std::string, std::string>> headers;  // target header parameters, resolved
  std::vector<std::pair<std::string, std::string>> query;    // target query string parameters, resolved
  std::string trace_header;
  std::string request_id;  // the ingest request that accepted the event (x-request-id), for logs
  // Set when the target input could not be rendered for this event (the
  // delivery is dead-lettered as INVALID_JSON without an HTTP attempt).
  std::string render_error;
  std::string render_error_code = "INVALID_JSON";  // or INVALID_PARAMETER
  RetryPolicy retry;
  bool dead_letter = true;  // keep in the DLQ when it fails for good

  int64_t ingested_ms = 0;  // when the bus accepted the event (part of its storage key)
  int64_t age_from_ms = 0;  // retry age is measured from here; 0 means ingested_ms (a redrive resets it)
  int64_t due_ms = 0;       // not before this time; part of the storage key
  uint32_t attempts = 0;    // attempts made so far
  int last_status = 0;      // last HTTP status, 0 when none
  std::string last_error;

  // A FIFO subscriber's delivery (one of its event group's, one at a time):
  // when the task leaves the queue the store writes "done <position>" (or
  // "dead <position>" when it is dead-lettered) under this small-state key
  // in the same write, so the group's next event may go. Empty otherwise.
  std::string group_key;
  uint64_t group_position = 0;  // the event's log position

  bool operator==(const DeliveryTask&) const = default;
};

// About how many bytes of memory a task held in memory takes: its strings
// and lists with their bookkeeping. Delivery caps its memory with it.
size_t task_memory_bytes(const DeliveryTask& task);

}  // namespace switchyard::core
