#include "switchyard/core/task.h"

namespace switchyard::core {

size_t task_memory_bytes(const DeliveryTask& t) {
  constexpr size_t kPerItem = 32;  // a string's or pair's own bookkeeping beyond its characters
  size_t n = sizeof(DeliveryTask) + t.id.size() + t.event_id.size() + t.bus.size() + t.rule.size() + t.rule_arn.size() +
             t.target.size() + t.destination.size() + t.body.size() + t.content_type.size() + t.trace_header.size() +
             t.request_id.size() + t.render_error.size() + t.render_error_code.size() + t.last_error.size() +
             t.group_key.size();
  for (const auto& p : t.path_params) n += kPerItem + p.size();
  for (const auto& [k, v] : t.headers) n += 2 * kPerItem + k.size() + v.size();
  for (const auto& [k, v] : t.query) n += 2 * kPerItem + k.size() + v.size();
  return n;
}

}  // namespace switchyard::core
