#include "switchyard/bus/ingest.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "dedup_ids.h"
#include "entry_members.h"
#include "switchyard/core/http_header.h"
#include "switchyard/core/json_text.h"
#include "switchyard/core/time.h"
#include "switchyard/core/uuid.h"

namespace switchyard::bus {

using nlohmann::json;

namespace {

std::string required_message(const char* name) {
  return std::string("Parameter ") + name + " is not valid. Reason: " + name + " is a required argument.";
}

EntryResult invalid(std::string message) { return {"", "InvalidArgument", std::move(message), ""}; }

bool parse_entry_time(const json& time, core::Event& e);

// Skips the JSON value at text[i] (text already validated); returns the
// index after it. Iterative: no recursion on the sender's nesting.
size_t skip_value(std::string_view text, size_t i) {
  int depth = 0;
  bool in_string = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"') {
        in_string = false;
        if (depth == 0) return i + 1;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
      if (depth < 0) return i;  // the end of the enclosing container
    } else if (depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
      return i;  // end of a scalar
    }
  }
  return i;
}

size_t skip_ws(std::string_view text, size_t i) {
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
  return i;
}

// For the object at text[i], the raw text of its member `name` (the last one
// when repeated, as the parsed tree keeps it), or "" when absent.
std::string_view raw_member(std::string_view text, size_t i, std::string_view name) {
  std::string_view found;
  if (i >= text.size() || text[i] != '{') return found;
  i = skip_ws(text, i + 1);
  while (i < text.size() && text[i] == '"') {
    const size_t key_end = skip_value(text, i);
    std::string_view key = text.substr(i + 1, key_end - i - 2);
    std::string decoded;
    if (key.find('\\') != std::string_view::npos) {
      const json k = json::parse(text.substr(i, key_end - i), nullptr, false);
      if (k.is_string()) decoded = k.get<std::string>();
      key = decoded;
    }
    i = skip_ws(text, key_end);
    if (i < text.size() && text[i] == ':') i = skip_ws(text, i + 1);
    const size_t value_end = skip_value(text, i);
    if (key == name) found = text.substr(i, value_end - i);
    i = skip_ws(text, value_end);
    if (i < text.size() && text[i] == ',') i = skip_ws(text, i + 1);
  }
  return found;
}

}  // namespace

core::Event new_bus_event(const BusSettings& bus, int64_t now_ms) {
  core::Event e;
  e.id = core::uuid_v4();
  e.account = bus.account;
  e.region = bus.region;
  e.bus = bus.name;
  e.ingested_ms = now_ms;
  e.time = now_ms / 1000;
  return e;
}

std::vector<std::string_view> raw_member_values(std::string_view body, std::string_view name) {
  std::vector<std::string_view> out;
  size_t i = skip_ws(body, 0);
  if (i < body.size() && body[i] == '{') {
    out.push_back(raw_member(body, i, name));
  } else if (i < body.size() && body[i] == '[') {
    i = skip_ws(body, i + 1);
    while (i < body.size() && body[i] != ']') {
      out.push_back(raw_member(body, i, name));
      i = skip_ws(body, skip_value(body, i));
      if (i < body.size() && body[i] == ',') i = skip_ws(body, i + 1);
    }
  }
  return out;
}

namespace {

// The members of an entry in each of the two ways it is written: PutEvents
// (Source, DetailType, ...) and the bus route (source, detail-type, ...).
struct EntryDialect {
  const char* source;
  const char* detail_type;
  const char* detail;
  const char* resources;
  const char* time;
  bool detail_may_be_object;  // the bus route also takes detail as an object
};
constexpr EntryDialect kPutEventsDialect{"Source", "DetailType", "Detail", "Resources", "Time", false};
constexpr EntryDialect kBusRouteDialect{"source", "detail-type", "detail", "resources", "time", true};

// Parses the members both ways of writing an entry share into `e` and adds
// the entry's counted size (EventBridge's formula, counted whether or not
// the entry is valid) to *size. `raw_detail` is the text of the detail
// member as sent, used when it is an object. One parser, so that both routes
// answer the same input with the same message.
EntryResult parse_common_entry(const json& entry, const EntryDialect& names, std::string_view raw_detail,
                               core::Event& e, size_t* size) {
  if (!entry.is_object()) return invalid("Each entry must be a JSON object.");
  auto member = [&](const char* k) -> const json* {
    auto it = entry.find(k);
    return it == entry.end() || it->is_null() ? nullptr : &*it;
  };
  const json* source = member(names.source);
  const json* detail_type = member(names.detail_type);
  const json* detail = member(names.detail);
  const json* resources = member(names.resources);
  const json* time = member(names.time);
  if (time) *size += 14;
  if (source && source->is_string()) *size += source->get_ref<const std::string&>().size();
  if (detail_type && detail_type->is_string()) *size += detail_type->get_ref<const std::string&>().size();
  if (detail && detail->is_string()) *size += detail->get_ref<const std::string&>().size();
  if (resources && resources->is_array())
    for (const auto& r : *resources)
      if (r.is_string()) *size += r.get_ref<const std::string&>().size();

  if (!source || !source->is_string() || source->get_ref<const std::string&>().empty())
    return invalid(required_message("Source"));
  if (!detail_type || !detail_type->is_string() || detail_type->get_ref<const std::string&>().empty())
    return invalid(required_message("DetailType"));
  if (!detail) return invalid(required_message("Detail"));
  e.source = source->get<std::string>();
  e.detail_type = detail_type->get<std::string>();
  if (e.detail_type.size() > 128)
    return invalid("Parameter DetailType is not valid. Reason: DetailType is longer than 128 characters.");
  if (detail->is_object() && names.detail_may_be_object) {
    if (!compact_json_object(raw_detail, &e.detail)) return {"", "MalformedDetail", "Detail is malformed.", ""};
    *size += e.detail.size();
  } else if (!detail->is_string() || !compact_json_object(detail->get_ref<const std::string&>(), &e.detail)) {
    return {"", "MalformedDetail", "Detail is malformed.", ""};
  }
  if (resources) {
    if (!resources->is_array())
      return invalid("Parameter Resources is not valid. Reason: Resources must be a list of strings.");
    for (const auto& r : *resources) {
      if (!r.is_string())
        return invalid("Parameter Resources is not valid. Reason: Resources must be a list of strings.");
      if (r.get_ref<const std::string&>().size() > 2048)
        return invalid("Parameter Resources is not valid. Reason: a resource is longer than 2048 characters.");
      e.resources.push_back(r.get<std::string>());
    }
  }
  if (time && !parse_entry_time(*time, e))
    return invalid("Parameter Time is not valid. Reason: Time must be epoch seconds or an ISO 8601 timestamp.");
  return {};
}

// One entry of POST /buses/{bus}/events.
EntryResult parse_entry(const json& entry, std::string_view raw_detail, core::Event& e, size_t* size) {
  return parse_common_entry(entry, kBusRouteDialect, raw_detail, e, size);
}

// Sets e.time from a Time member (epoch seconds, possibly fractional, or an
// ISO 8601 string). Returns false when it is neither.
bool parse_entry_time(const json& time, core::Event& e) {
  if (time.is_number()) {
    const double secs = time.get<double>();
    if (!std::isfinite(secs) || secs < 0 || secs > 253402300799.0) return false;
    e.time = static_cast<int64_t>(std::floor(secs));
    return true;
  }
  if (!time.is_string()) return false;
  const auto ms = core::parse_time_ms(time.get_ref<const std::string&>());
  if (!ms) return false;
  e.time = *ms >= 0 ? *ms / 1000 : (*ms - 999) / 1000;
  return true;
}

}  // namespace

EntryResult parse_put_events_members(const json& entry, core::Event& e, size_t* size) {
  return parse_common_entry(entry, kPutEventsDialect, "", e, size);
}

namespace {

// One entry of PutEvents: the shared members, then TraceHeader and
// EventBusName, which only PutEvents has.
EntryResult parse_put_events_entry(const json& entry, core::Event& e, size_t* size, std::string* bus_name) {
  if (EntryResult r = parse_common_entry(entry, kPutEventsDialect, "", e, size); !r.ok()) return r;
  auto member = [&](const char* k) -> const json* {
    auto it = entry.find(k);
    return it == entry.end() || it->is_null() ? nullptr : &*it;
  };
  const json* bus = member("EventBusName");
  const json* trace = member("TraceHeader");
  if (trace) {
    if (!trace->is_string() || trace->get_ref<const std::string&>().empty() ||
        trace->get_ref<const std::string&>().size() > 500)
      return invalid("Parameter TraceHeader is not valid. Reason: TraceHeader must be 1 to 500 characters.");
    if (!core::valid_header_value(trace->get_ref<const std::string&>()))
      return invalid(
          "Parameter TraceHeader is not valid. Reason: TraceHeader must not contain control characters "
          "(CR, LF, NUL or another below 0x20).");
    e.trace_header = trace->get<std::string>();
  }
  *bus_name = "default";
  if (bus) {
    if (!bus->is_string() || bus->get_ref<const std::string&>().empty() ||
        bus->get_ref<const std::string&>().size() > 1600)
      return invalid("Parameter EventBusName is not valid. Reason: EventBusName must be a bus name or ARN.");
    const std::string& v = bus->get_ref<const std::string&>();
    const auto slash = v.rfind("event-bus/");
    *bus_name = v.rfind("arn:", 0) == 0 && slash != std::string::npos ? v.substr(slash + 10) : v;
  }
  return {};
}

// EventBridge's size limit (1 MB) applies to the whole request: over it, no
// entry is accepted.
ParsedRequest within_size_limit(ParsedRequest p, size_t total, size_t limit) {
  if (total > limit) {
    p.events.clear();
    p.results.clear();
    p.dedup_ids.clear();
    p.error = {400, "ValidationException", "Total size of the entries in the request is over the limit."};
  }
  return p;
}

}  // namespace

ParsedRequest parse_put_events(std::string_view body, BusLookup lookup, const void* ctx, int64_t now_ms,
                               size_t max_entries_bytes) {
  ParsedRequest p;
  if (core::json_nesting_depth(body, core::kMaxBodyDepth) > core::kMaxBodyDepth) {
    p.error = {400, "ValidationException",
               "The request body nests JSON deeper than " + std::to_string(core::kMaxBodyDepth) + " levels."};
    return p;
  }
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    p.error = {400, "SerializationException", "The request body is not a valid JSON object."};
    return p;
  }
  auto entries = doc.find("Entries");
  if (entries == doc.end() || !entries->is_array()) {
    p.error = {400, "ValidationException",
               "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not "
               "be null"};
    return p;
  }
  if (entries->empty() || entries->size() > kMaxEntriesPerRequest) {
    p.error = {400, "ValidationException",
               "1 validation error detected: Value '" + entries->dump() +
                   "' at 'entries' failed to satisfy constraint: Member must have length " +
                   (entries->empty() ? "greater than or equal to 1" : "less than or equal to 10")};
    return p;
  }
  size_t total = 0;
  for (const auto& entry : *entries) {
    core::Event e;
    std::string bus_name;
    e.id = core::uuid_v4();
    e.ingested_ms = now_ms;
    e.time = now_ms / 1000;
    EntryResult r = parse_put_events_entry(entry, e, &total, &bus_name);
    if (r.ok()) {
      const BusSettings* bus = lookup(ctx, bus_name);
      if (!bus) {
        r = invalid("Parameter EventBusName is not valid. Reason: Event bus " + bus_name + " does not exist.");
      } else {
        e.bus = bus->name;
        e.account = bus->account;
        e.region = bus->region;
        r.event_id = e.id;
        p.events.push_back(std::move(e));
      }
    }
    p.results.push_back(std::move(r));
  }
  return within_size_limit(std::move(p), total, max_entries_bytes);
}

std::string aws_error_body(std::string_view type, std::string_view message) {
  return json{{"__type", type}, {"message", message}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool compact_json_object(std::string_view text, std::string* out) {
  if (!json::accept(text)) return false;
  out->clear();
  out->reserve(text.size());
  int depth = 0;
  bool in_string = false;
  bool first = true;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      *out += c;
      if (c == '\\') {
        *out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (first && c != '{') return false;
    first = false;
    if (c == '"') in_string = true;
    if (c == '{' || c == '[') {
      if (++depth > kMaxDetailDepth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
    *out += c;
  }
  return !first;
}

ParsedRequest parse_bus_events(std::string_view body, const BusSettings& bus, int64_t now_ms, size_t max_entries_bytes,
                               std::string_view idempotency_key) {
  ParsedRequest p;
  if (core::json_nesting_depth(body, core::kMaxBodyDepth) > core::kMaxBodyDepth) {
    p.error = {400, "ValidationException",
               "The request body nests JSON deeper than " + std::to_string(core::kMaxBodyDepth) + " levels."};
    return p;
  }
  // No exceptions: a number out of a double's range (1e400) is a parse
  // failure like any other, answered 400.
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) {
    p.error = {400, "MalformedJSON",
               "The request body is not valid JSON (or holds a number beyond the range of a double)."};
    return p;
  }
  std::vector<const json*> entries;
  if (doc.is_object()) {
    entries.push_back(&doc);
  } else if (doc.is_array()) {
    for (const auto& e : doc) entries.push_back(&e);
  } else {
    p.error = {400, "ValidationException", "The request body must be an entry object or an array of entries."};
    return p;
  }
  if (entries.empty() || entries.size() > kMaxEntriesPerRequest) {
    p.error = {400, "ValidationException",
               "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have "
               "length between 1 and 10 (got " +
                   std::to_string(entries.size()) + ")"};
    return p;
  }
  // The text of each entry's `detail` as sent, so that numbers keep their
  // exact text (the parsed tree holds them as doubles).
  const std::vector<std::string_view> raw_details = raw_member_values(body, "detail");
  size_t total = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    core::Event e = new_bus_event(bus, now_ms);
    EntryResult r = parse_entry(*entries[i], i < raw_details.size() ? raw_details[i] : std::string_view(), e, &total);
    std::string dedup_id;
    if (r.ok()) r = entry_dedup_id(*entries[i], e, bus, idempotency_key, i, entries.size(), &dedup_id);
    if (r.ok()) {
      r.event_id = e.id;
      p.events.push_back(std::move(e));
      p.dedup_ids.push_back(std::move(dedup_id));
    }
    p.results.push_back(std::move(r));
  }
  if (std::all_of(p.dedup_ids.begin(), p.dedup_ids.end(), [](const std::string& d) { return d.empty(); }))
    p.dedup_ids.clear();
  return within_size_limit(std::move(p), total, max_entries_bytes);
}

ParsedRequest parse_webhook(std::string_view body, const WebhookSettings& hook, const BusSettings& bus,
                            std::string_view detail_type_header_value, int64_t now_ms, size_t max_entries_bytes,
                            std::string_view dedup_id) {
  ParsedRequest p;
  core::Event e = new_bus_event(bus, now_ms);
  e.source = hook.source;
  e.detail_type = hook.detail_type;
  if (!hook.detail_type_header.empty() && !detail_type_header_value.empty())
    e.detail_type = std::string(detail_type_header_value);
  if (e.detail_type.empty()) {
    p.error = {400, "InvalidArgument",
               "The " + hook.detail_type_header + " header is missing; it gives the detail-type."};
    return p;
  }
  if (e.detail_type.size() > 128) {
    p.error = {400, "InvalidArgument", "The detail-type is longer than 128 characters."};
    return p;
  }
  if (e.source.size() + e.detail_type.size() + body.size() > max_entries_bytes) {
    p.error = {413, "PayloadTooLarge",
               "The webhook payload is over the " + std::to_string(max_entries_bytes) + "-byte event limit."};
    return p;
  }
  if (!compact_json_object(body, &e.detail)) {
    p.error = {400, "MalformedDetail", "The webhook payload must be a JSON object."};
    return p;
  }
  p.results.push_back({e.id, "", "", ""});
  p.events.push_back(std::move(e));
  if (!dedup_id.empty()) p.dedup_ids.emplace_back(dedup_id);
  return p;
}

// Written by hand: it is built for every request.
std::string put_events_response(const std::vector<EntryResult>& results) {
  size_t failed = 0;
  for (const auto& r : results) failed += r.ok() ? 0 : 1;
  std::string out;
  out.reserve(40 + 60 * results.size());
  out += R"({"FailedEntryCount":)";
  out += std::to_string(failed);
  out += R"(,"Entries":[)";
  for (size_t i = 0; i < results.size(); ++i) {
    const EntryResult& r = results[i];
    if (i) out += ',';
    if (r.ok()) {
      out += R"({"EventId":)";
      core::append_json_string(out, r.event_id);
      if (!r.success_code.empty()) {
        out += R"(,"SuccessCode":)";
        core::append_json_string(out, r.success_code);
      }
    } else {
      out += R"({"ErrorCode":)";
      core::append_json_string(out, r.error_code);
      out += R"(,"ErrorMessage":)";
      core::append_json_string(out, r.error_message);
    }
    out += '}';
  }
  out += "]}";
  return out;
}

std::string error_body(std::string_view code, std::string_view message) {
  return json{{"code", code}, {"message", message}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace switchyard::bus
