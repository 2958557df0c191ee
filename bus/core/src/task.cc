#include "switchyard/core/task.h"

#include <nlohmann/json.hpp>

namespace switchyard::core {

using nlohmann::json;

std::string encode_task(const DeliveryTask& t) {
  json j = {
      {"id", t.id},
      {"event_id", t.event_id},
      {"bus", t.bus},
      {"rule", t.rule},
      {"rule_arn", t.rule_arn},
      {"target", t.target},
      {"destination", t.destination},
      {"body", t.body},
      {"content_type", t.content_type},
      {"path_params", t.path_params},
      {"headers", t.headers},
      {"query", t.query},
      {"trace_header", t.trace_header},
      {"request_id", t.request_id},
      {"render_error", t.render_error},
      {"render_error_code", t.render_error_code},
      {"max_retries", t.retry.maximum_retry_attempts},
      {"max_age_s", t.retry.maximum_event_age_seconds},
      {"dead_letter", t.dead_letter},
      {"ingested_ms", t.ingested_ms},
      {"age_from_ms", t.age_from_ms},
      {"due_ms", t.due_ms},
      {"attempts", t.attempts},
      {"last_status", t.last_status},
      {"last_error", t.last_error},
  };
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<DeliveryTask> decode_task(std::string_view data) {
  json j = json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  try {
    DeliveryTask t;
    t.id = j.at("id").get<std::string>();
    t.event_id = j.at("event_id").get<std::string>();
    t.bus = j.value("bus", "");
    t.rule = j.value("rule", "");
    t.rule_arn = j.value("rule_arn", "");
    t.target = j.value("target", "");
    t.destination = j.at("destination").get<std::string>();
    t.body = j.at("body").get<std::string>();
    t.content_type = j.value("content_type", t.content_type);
    t.path_params = j.value("path_params", std::vector<std::string>{});
    t.headers = j.value("headers", std::vector<std::pair<std::string, std::string>>{});
    t.query = j.value("query", std::vector<std::pair<std::string, std::string>>{});
    t.trace_header = j.value("trace_header", "");
    t.request_id = j.value("request_id", "");
    t.render_error = j.value("render_error", "");
    t.render_error_code = j.value("render_error_code", "INVALID_JSON");
    t.retry.maximum_retry_attempts = j.value("max_retries", t.retry.maximum_retry_attempts);
    t.retry.maximum_event_age_seconds = j.value("max_age_s", t.retry.maximum_event_age_seconds);
    t.dead_letter = j.value("dead_letter", true);
    t.ingested_ms = j.value("ingested_ms", int64_t{0});
    t.age_from_ms = j.value("age_from_ms", int64_t{0});
    t.due_ms = j.value("due_ms", int64_t{0});
    t.attempts = j.value("attempts", uint32_t{0});
    t.last_status = j.value("last_status", 0);
    t.last_error = j.value("last_error", "");
    return t;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

size_t task_memory_bytes(const DeliveryTask& t) {
  constexpr size_t kPerItem = 32;  // a string's or pair's own bookkeeping beyond its characters
  size_t n = sizeof(DeliveryTask) + t.id.size() + t.event_id.size() + t.bus.size() + t.rule.size() + t.rule_arn.size() +
             t.target.size() + t.destination.size() + t.body.size() + t.content_type.size() + t.trace_header.size() +
             t.request_id.size() + t.render_error.size() + t.render_error_code.size() + t.last_error.size();
  for (const auto& p : t.path_params) n += kPerItem + p.size();
  for (const auto& [k, v] : t.headers) n += 2 * kPerItem + k.size() + v.size();
  for (const auto& [k, v] : t.query) n += 2 * kPerItem + k.size() + v.size();
  return n;
}

}  // namespace switchyard::core
