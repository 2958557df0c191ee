#include "switchyard/bus/cloudevents.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "switchyard/core/ascii.h"
#include "switchyard/core/crypto.h"
#include "switchyard/core/json_limits.h"
#include "switchyard/core/json_text.h"
#include "switchyard/core/time.h"

namespace switchyard::bus {

using nlohmann::json;

namespace {

constexpr std::string_view kStructured = "application/cloudevents+json";
constexpr std::string_view kBatch = "application/cloudevents-batch+json";

std::string_view media_type(std::string_view content_type) {
  const size_t semi = content_type.find(';');
  std::string_view t = content_type.substr(0, semi);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  return t;
}

// JSON data, in the sense of the JSON event format: application/json,
// text/json, or any */*+json media type; no content type means JSON too.
bool json_media(std::string_view content_type) {
  const std::string_view t = media_type(content_type);
  if (t.empty() || core::iequals(t, "application/json") || core::iequals(t, "text/json")) return true;
  return t.size() > 5 && core::iequals(t.substr(t.size() - 5), "+json");
}

EntryResult invalid(std::string message) { return {"", "InvalidArgument", std::move(message), ""}; }

// The attributes the envelope needs, read and checked.
struct Attributes {
  std::string id, source, type, subject, time;
  bool has_time = false;
};

EntryResult check(const Attributes& a, const std::string& specversion) {
  if (specversion != "1.0")
    return invalid(specversion.empty() ? "The CloudEvent has no specversion."
                                       : "The CloudEvent's specversion is " + specversion + "; only 1.0 is supported.");
  if (a.id.empty()) return invalid("The CloudEvent has no id.");
  if (a.source.empty()) return invalid("The CloudEvent has no source.");
  if (a.type.empty()) return invalid("The CloudEvent has no type.");
  if (a.type.size() > 128) return invalid("The CloudEvent's type is longer than 128 characters (detail-type's limit).");
  if (a.source.size() > 256) return invalid("The CloudEvent's source is longer than 256 characters.");
  return {};
}

// Builds the event from checked attributes and its detail.
EntryResult to_event(const Attributes& a, const std::string& specversion, std::string detail, const BusSettings& bus,
                     int64_t now_ms, core::Event* e) {
  if (EntryResult r = check(a, specversion); !r.ok()) return r;
  *e = new_bus_event(bus, now_ms);
  if (a.has_time) {
    const auto ms = core::parse_time_ms(a.time);
    if (!ms) return invalid("The CloudEvent's time is not an RFC 3339 timestamp.");
    e->time = *ms >= 0 ? *ms / 1000 : (*ms - 999) / 1000;
  }
  e->source = a.source;
  e->detail_type = a.type;
  if (!a.subject.empty()) e->resources.push_back(a.subject);
  e->detail = std::move(detail);
  return {};
}

// The detail of JSON data: the object itself, or {"data": value}.
bool json_detail(std::string_view text, std::string* detail) {
  if (compact_json_object(text, detail)) return true;
  if (core::json_nesting_depth(text, core::kMaxDetailDepth) > core::kMaxDetailDepth - 1) return false;
  const json v = json::parse(text, nullptr, false);
  if (v.is_discarded()) return false;
  *detail = json{{"data", v}}.dump(-1, ' ', false, json::error_handler_t::replace);
  return true;
}

// One event of the JSON event format (structured or batched mode).
EntryResult structured_event(const json& ce, std::string_view raw_data, const BusSettings& bus, int64_t now_ms,
                             core::Event* e, size_t* size) {
  if (!ce.is_object()) return invalid("A CloudEvent must be a JSON object.");
  auto text = [&](const char* name, std::string* out) {
    auto it = ce.find(name);
    if (it == ce.end() || it->is_null()) return true;
    if (!it->is_string()) return false;
    *out = it->get<std::string>();
    return true;
  };
  Attributes a;
  std::string specversion, content_type;
  for (auto [name, out] : {std::pair{"id", &a.id}, std::pair{"source", &a.source}, std::pair{"type", &a.type},
                           std::pair{"subject", &a.subject}, std::pair{"time", &a.time},
                           std::pair{"specversion", &specversion}, std::pair{"datacontenttype", &content_type}})
    if (!text(name, out)) return invalid(std::string("The CloudEvent's ") + name + " must be a string.");
  a.has_time = ce.contains("time") && !ce["time"].is_null();
  const bool has_data = ce.contains("data") && !ce["data"].is_null();
  const bool has_base64 = ce.contains("data_base64") && !ce["data_base64"].is_null();
  if (has_data && has_base64) return invalid("A CloudEvent has data or data_base64, not both.");
  std::string detail = "{}";
  if (has_base64) {
    std::string bytes;
    if (!ce["data_base64"].is_string() || !core::base64_decode(ce["data_base64"].get<std::string>(), &bytes))
      return invalid("The CloudEvent's data_base64 is not base64.");
    if (json_media(content_type) && !content_type.empty() && json_detail(bytes, &detail)) {
      // JSON sent as bytes: taken as JSON
    } else {
      detail = json{{"data_base64", ce["data_base64"]}}.dump();
    }
  } else if (has_data) {
    const json& d = ce["data"];
    if (d.is_object()) {  // kept as sent: numbers keep their exact text
      if (raw_data.empty())
        detail = d.dump(-1, ' ', false, json::error_handler_t::replace);
      else if (!compact_json_object(raw_data, &detail))
        return {"", "MalformedDetail", "Detail is malformed.", ""};
    } else {  // a JSON value that is not an object (a string stays a string)
      detail = json{{"data", d}}.dump(-1, ' ', false, json::error_handler_t::replace);
    }
  }
  *size += a.source.size() + a.type.size() + detail.size() + a.subject.size() + (a.has_time ? 14 : 0);
  return to_event(a, specversion, std::move(detail), bus, now_ms, e);
}

}  // namespace

CloudEventsMode cloudevents_mode(std::string_view content_type, std::string_view ce_specversion) {
  const std::string_view t = media_type(content_type);
  if (core::iequals(t, kStructured)) return CloudEventsMode::kStructured;
  if (core::iequals(t, kBatch)) return CloudEventsMode::kBatch;
  if (!ce_specversion.empty()) return CloudEventsMode::kBinary;
  return CloudEventsMode::kNone;
}

bool cloudevents_header_value(std::string_view raw, std::string* out) {
  out->clear();
  out->reserve(raw.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '%') {
      *out += raw[i];
      continue;
    }
    if (i + 2 >= raw.size()) return false;
    const int hi = hex(raw[i + 1]), lo = hex(raw[i + 2]);
    if (hi < 0 || lo < 0) return false;
    *out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

ParsedRequest parse_cloudevents(CloudEventsMode mode, std::string_view body, const HeaderLookup& header,
                                const BusSettings& bus, int64_t now_ms, size_t max_entries_bytes) {
  ParsedRequest p;
  auto refuse = [&p](EntryResult r) {
    p.error = {400, r.error_code, r.error_message};
    return p;
  };
  size_t total = 0;
  std::vector<std::pair<core::Event, EntryResult>> parsed;
  if (mode == CloudEventsMode::kBinary) {
    Attributes a;
    std::string specversion;
    for (auto [name, out] : {std::pair{"ce-id", &a.id}, std::pair{"ce-source", &a.source},
                             std::pair{"ce-type", &a.type}, std::pair{"ce-subject", &a.subject},
                             std::pair{"ce-time", &a.time}, std::pair{"ce-specversion", &specversion}})
      if (!cloudevents_header_value(header(name), out))
        return refuse(invalid(std::string("The ") + name + " header has a malformed %-escape."));
    a.has_time = !a.time.empty();
    std::string detail = "{}";
    if (!body.empty()) {
      if (json_media(header("content-type"))) {
        if (!json_detail(body, &detail))
          return refuse({"", "MalformedDetail", "The body is not JSON, as its Content-Type says it is.", ""});
      } else {
        detail = json{{"data_base64", core::base64_encode(body)}}.dump();
      }
    }
    total = a.source.size() + a.type.size() + detail.size() + a.subject.size();
    core::Event e;
    EntryResult r = to_event(a, specversion, std::move(detail), bus, now_ms, &e);
    if (!r.ok()) return refuse(std::move(r));
    parsed.emplace_back(std::move(e), std::move(r));
    p.dedup_ids.push_back("ce:" + a.source + "\n" + a.id);
  } else {
    if (core::json_nesting_depth(body, core::kMaxBodyDepth) > core::kMaxBodyDepth)
      return refuse({"", "ValidationException",
                     "The request body nests JSON deeper than " + std::to_string(core::kMaxBodyDepth) + " levels.",
                     ""});
    const json doc = json::parse(body, nullptr, false);
    if (doc.is_discarded()) return refuse({"", "MalformedJSON", "The request body is not valid JSON.", ""});
    std::vector<const json*> events;
    if (mode == CloudEventsMode::kStructured) {
      events.push_back(&doc);
    } else if (doc.is_array()) {
      for (const auto& e : doc) events.push_back(&e);
    } else {
      return refuse({"", "ValidationException", "A CloudEvents batch must be a JSON array of events.", ""});
    }
    if (events.empty() || events.size() > kMaxEntriesPerRequest)
      return refuse({"", "ValidationException",
                     "A CloudEvents batch holds 1 to " + std::to_string(kMaxEntriesPerRequest) + " events (got " +
                         std::to_string(events.size()) + ").",
                     ""});
    const std::vector<std::string_view> raw_data = raw_member_values(body, "data");
    for (size_t i = 0; i < events.size(); ++i) {
      core::Event e;
      EntryResult r =
          structured_event(*events[i], i < raw_data.size() ? raw_data[i] : std::string_view(), bus, now_ms, &e, &total);
      if (!r.ok() && mode == CloudEventsMode::kStructured) return refuse(std::move(r));
      if (r.ok()) p.dedup_ids.push_back("ce:" + e.source + "\n" + (*events[i])["id"].get<std::string>());
      parsed.emplace_back(std::move(e), std::move(r));
    }
  }
  if (total > max_entries_bytes) {
    p.error = {413, "PayloadTooLarge",
               "The CloudEvents are over the " + std::to_string(max_entries_bytes) + "-byte event limit."};
    p.dedup_ids.clear();
    return p;
  }
  for (auto& [e, r] : parsed) {
    if (r.ok()) {
      r.event_id = e.id;
      p.events.push_back(std::move(e));
    }
    p.results.push_back(std::move(r));
  }
  return p;
}

std::string cloudevents_header_encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7F || c == '"' || c == '%') {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

void as_cloudevent(const core::Event& event, bool structured, core::DeliveryTask& task) {
  const std::string time = core::format_time(event.time);
  if (!structured) {
    task.headers.emplace_back("ce-specversion", "1.0");
    task.headers.emplace_back("ce-id", cloudevents_header_encode(event.id));
    task.headers.emplace_back("ce-source", cloudevents_header_encode(event.source));
    task.headers.emplace_back("ce-type", cloudevents_header_encode(event.detail_type));
    task.headers.emplace_back("ce-time", time);
    if (!event.resources.empty())
      task.headers.emplace_back("ce-subject", cloudevents_header_encode(event.resources[0]));
    return;
  }
  json ce = {
      {"specversion", "1.0"}, {"id", event.id}, {"source", event.source}, {"type", event.detail_type}, {"time", time}};
  if (!event.resources.empty()) ce["subject"] = event.resources[0];
  ce["datacontenttype"] = std::string(media_type(task.content_type));
  const bool is_json = json::accept(task.body);
  if (!is_json) ce["data"] = task.body;
  std::string body = ce.dump(-1, ' ', false, json::error_handler_t::replace);
  if (is_json) {  // the rendered bytes as they are, numbers' text included
    body.pop_back();
    body += R"(,"data":)";
    body += task.body;
    body += '}';
  }
  task.body = std::move(body);
  task.content_type = "application/cloudevents+json; charset=utf-8";
}

}  // namespace switchyard::bus
