#include "records.h"

#include <nlohmann/json.hpp>

#include <utility>
#include <vector>

#include "switchyard/core/crypto.h"
#include "task_codec.h"

namespace switchyard::storage {
namespace {

using nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Whether `s` is UTF-8, which a JSON string must be: a raw event's body
// (application/octet-stream) need not be, and is then kept in base64.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += n;
  }
  return true;
}

json task_json(const core::DeliveryTask& t) {
  json j = {
      {"id", t.id},
      {"event_id", t.event_id},
      {"bus", t.bus},
      {"rule", t.rule},
      {"rule_arn", t.rule_arn},
      {"target", t.target},
      {"destination", t.destination},
      {"body", valid_utf8(t.body) ? t.body : std::string()},
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
  if (!valid_utf8(t.body)) j["body_base64"] = core::base64_encode(t.body);
  return j;
}

core::Result<core::DeliveryTask> task_from(const json& j) {
  if (!j.is_object()) return core::Status::corruption("a stored task is not a JSON object");
  try {
    core::DeliveryTask t;
    t.id = j.at("id").get<std::string>();
    t.event_id = j.at("event_id").get<std::string>();
    t.bus = j.value("bus", "");
    t.rule = j.value("rule", "");
    t.rule_arn = j.value("rule_arn", "");
    t.target = j.value("target", "");
    t.destination = j.at("destination").get<std::string>();
    t.body = j.at("body").get<std::string>();
    if (auto b64 = j.find("body_base64"); b64 != j.end() && !core::base64_decode(b64->get<std::string>(), &t.body))
      return core::Status::corruption("a stored task's base64 body is not base64");
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
  } catch (const json::exception& e) {
    return core::Status::corruption(std::string("a stored task is not readable: ") + e.what());
  }
}

}  // namespace

std::string encode_task(const core::DeliveryTask& t) {
  std::string out;
  append_binary_task(t, &out);
  return out;
}

// Binary since issue 14; a task stored as JSON by an earlier version starts
// with '{' and is read as it was written.
core::Result<core::DeliveryTask> decode_task(std::string_view data) {
  if (!data.empty() && data[0] == '{') return task_from(json::parse(data, nullptr, /*allow_exceptions=*/false));
  return decode_binary_task(data);
}

std::string encode_dead_letter(const DeadLetter& d) {
  return dump({
      {"task", task_json(d.task)},
      {"error_code", d.error_code},
      {"error_message", d.error_message},
      {"exhausted_condition", d.exhausted_condition},
      {"dead_ms", d.dead_ms},
      {"event", d.event_envelope},
  });
}

core::Result<DeadLetter> decode_dead_letter(std::string_view data) {
  const json j = json::parse(data, nullptr, false);
  if (!j.is_object() || !j.contains("task")) return core::Status::corruption("a stored dead letter is not readable");
  auto task = task_from(j["task"]);
  if (!task) return task.status();
  try {
    DeadLetter d;
    d.task = std::move(*task);
    d.error_code = j.value("error_code", "");
    d.error_message = j.value("error_message", "");
    d.exhausted_condition = j.value("exhausted_condition", "");
    d.dead_ms = j.value("dead_ms", int64_t{0});
    d.event_envelope = j.value("event", "");
    return d;
  } catch (const json::exception& e) {
    return core::Status::corruption(std::string("a stored dead letter is not readable: ") + e.what());
  }
}

std::string encode_event_record(const core::Event& e, const std::string* envelope) {
  std::string out = R"({"bus":)";
  out += json(e.bus).dump();
  out += R"(,"ingested_ms":)";
  out += std::to_string(e.ingested_ms);
  if (!e.trace_header.empty()) {
    out += R"(,"trace_header":)";
    out += json(e.trace_header).dump();
  }
  out += R"(,"event":)";
  if (envelope)
    out += *envelope;
  else
    out += core::envelope_json(e);
  out += '}';
  return out;
}

std::string encode_archive_record(const core::Event& e, const std::string* envelope) {
  std::string out = R"({"id":)";
  out += json(e.id).dump();
  out += R"(,"time_s":)";
  out += std::to_string(e.time);
  out += ',';
  out += std::string_view(encode_event_record(e, envelope)).substr(1);
  return out;
}

std::string_view envelope_of(std::string_view record) {
  static constexpr std::string_view kMarker = R"(,"event":)";
  const auto at = record.find(kMarker);
  if (at == std::string_view::npos || record.size() < at + kMarker.size() + 1) return {};
  return record.substr(at + kMarker.size(), record.size() - at - kMarker.size() - 1);
}

core::Result<EventRecordHeader> decode_event_header(std::string_view record) {
  const auto at = record.find(R"(,"event":)");
  if (at == std::string_view::npos) return core::Status::corruption("a stored event record has no envelope");
  const json j = json::parse(std::string(record.substr(0, at)) + "}", nullptr, false);
  if (!j.is_object()) return core::Status::corruption("a stored event record's header is not readable");
  try {
    EventRecordHeader h;
    h.id = j.value("id", "");
    h.time_s = j.value("time_s", int64_t{0});
    h.bus = j.value("bus", "");
    h.ingested_ms = j.value("ingested_ms", int64_t{0});
    h.trace_header = j.value("trace_header", "");
    return h;
  } catch (const json::exception& e) {
    return core::Status::corruption(std::string("a stored event record's header is not readable: ") + e.what());
  }
}

std::string group_record(const char* state, const core::DeliveryTask& task) {
  return std::string(state) + " " + std::to_string(task.group_position);
}

std::string encode_log_entry(const LogEntry& e) {
  json j = {{"b", e.bus},
            {"i", e.event_id},
            {"t", e.ingested_ms},
            {"c", e.content_type},
            {"d", json::binary(std::vector<uint8_t>(e.data.begin(), e.data.end()))}};
  if (!e.metadata.empty()) j["m"] = e.metadata;
  if (!e.group_id.empty()) j["g"] = e.group_id;
  if (!e.dedup_id.empty()) j["u"] = e.dedup_id;
  if (!e.source.empty()) j["s"] = e.source;
  if (!e.detail_type.empty()) j["y"] = e.detail_type;
  if (!e.trace_header.empty()) j["h"] = e.trace_header;
  if (!e.via.empty()) j["v"] = e.via;
  const std::vector<uint8_t> bytes = json::to_cbor(j);
  return std::string(bytes.begin(), bytes.end());
}

core::Result<LogEntry> decode_log_entry(std::string_view data) {
  try {
    const json j = json::from_cbor(data.begin(), data.end());
    LogEntry e;
    e.bus = j.at("b").get<std::string>();
    e.event_id = j.at("i").get<std::string>();
    e.ingested_ms = j.at("t").get<int64_t>();
    e.content_type = j.at("c").get<std::string>();
    const auto& bytes = j.at("d").get_binary();
    e.data.assign(bytes.begin(), bytes.end());
    if (auto it = j.find("m"); it != j.end()) e.metadata = it->get<std::vector<std::pair<std::string, std::string>>>();
    e.group_id = j.value("g", "");
    e.dedup_id = j.value("u", "");
    e.source = j.value("s", "");
    e.detail_type = j.value("y", "");
    e.trace_header = j.value("h", "");
    if (auto it = j.find("v"); it != j.end()) e.via = it->get<std::vector<std::string>>();
    return e;
  } catch (const std::exception& ex) {
    return core::Status::corruption(std::string("not a bus log entry: ") + ex.what());
  }
}

}  // namespace switchyard::storage
