// EventBridge v2 publishes (eventbridge-v2.md §2): PutEvents builds the
// classic envelope from each entry; PutRawEvents keeps the entry's bytes
// with their content type and metadata. Both take one bus per request,
// 1-100 entries, SystemMetadata (EventGroupId, DeduplicationId) and a
// request-wide CONTENT_BASED deduplication, and answer per entry in request
// order. The same request arrives as JSON (blobs as base64) or as Smithy
// RPC v2 CBOR (blobs as byte strings, timestamps as tag 1).

#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "dedup_ids.h"
#include "entry_members.h"
#include "switchyard/bus/ingest.h"
#include "switchyard/core/crypto.h"
#include "switchyard/core/json_limits.h"

namespace switchyard::bus {

namespace {

using nlohmann::json;

constexpr size_t kMaxEntries = 100;
constexpr int kMaxCborDepth = 64;  // the request's own shape is 4 deep; Detail travels as a string
constexpr const char* kSupportedTypes =
    "application/json, application/avro, application/protobuf, application/octet-stream";

EntryResult entry_error(std::string message) { return {"", "InvalidInputException", std::move(message), ""}; }

// Copies the CBOR in `data` to *out without its tags (Smithy sends
// timestamps as tag 1, which nlohmann 3.11's reader refuses; the tagged
// number is what is wanted), checking that it nests at most `limit` arrays
// and maps deep. Iterative, so a hostile body cannot exhaust the stack
// before nlohmann's (recursive) reader sees it. False when too deep;
// malformed input is copied as it is and refused by that reader.
bool cbor_untag(std::string_view data, int limit, std::string* out) {
  out->clear();
  out->reserve(data.size());
  // Items left to read in each open array or map (-1: indefinite length).
  std::vector<int64_t> open;
  size_t i = 0;
  auto rest = [&] {  // malformed, or items after the first: copied as they are, for the reader to refuse
    out->append(data.substr(i));
    return true;
  };
  while (i < data.size()) {
    const size_t start = i;
    const auto byte = static_cast<unsigned char>(data[i++]);
    if (byte == 0xff) {  // "break": ends the innermost indefinite-length item
      out->push_back(static_cast<char>(byte));
      if (open.empty()) return rest();
      open.pop_back();
    } else {
      const int major = byte >> 5, info = byte & 0x1f;
      uint64_t arg = info;
      if (info >= 24 && info <= 27) {
        const size_t n = size_t{1} << (info - 24);
        if (i + n > data.size()) {
          i = start;
          return rest();
        }
        arg = 0;
        for (size_t k = 0; k < n; ++k) arg = (arg << 8) | static_cast<unsigned char>(data[i + k]);
        i += n;
      } else if (info > 27 && info != 31) {
        i = start;
        return rest();
      }
      bool item_done = true;
      if (major == 2 || major == 3) {  // byte and text strings: skip their bytes
        if (info == 31) {
          open.push_back(-1);  // chunks until break
          item_done = false;
        } else {
          if (arg > data.size() - i) {
            i = start;
            return rest();
          }
          i += static_cast<size_t>(arg);
        }
      } else if (major == 4 || major == 5) {
        const uint64_t items = info == 31 ? 0 : (major == 5 ? arg * 2 : arg);
        if (info == 31 || items > 0) {
          if (static_cast<int>(open.size()) >= limit) return false;
          open.push_back(info == 31 ? -1 : static_cast<int64_t>(std::min<uint64_t>(items, INT64_MAX)));
          item_done = false;
        }
      } else if (major == 6) {
        continue;  // a tag, left out: its content is the item
      }
      out->append(data.substr(start, i - start));
      if (!item_done) continue;
    }
    // One item finished: count it against the containers it completes.
    while (!open.empty() && open.back() > 0 && --open.back() == 0) open.pop_back();
  }
  return true;
}

// The bus an EventBusArn names: arn:...:event-busv2/<name>[/<id>], or a
// bare name. "" when it is neither.
std::string bus_name_of(const std::string& arn) {
  if (arn.rfind("arn:", 0) != 0) return arn.find('/') == std::string::npos ? arn : "";
  const auto at = arn.find(":event-busv2/");
  if (at == std::string::npos) return "";
  const std::string rest = arn.substr(at + 13);
  return rest.substr(0, rest.find('/'));
}

const json* member(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

ParsedRequest refuse(int status, std::string code, std::string message) {
  ParsedRequest p;
  p.error = {status, std::move(code), std::move(message)};
  return p;
}

// SystemMetadata's EventGroupId and DeduplicationId (and, for PutRawEvents,
// ContentType).
EntryResult system_metadata(const json& entry, bool raw, std::string* group, std::string* dedup,
                            std::string* content_type) {
  const json* sm = member(entry, "SystemMetadata");
  if (!sm) return raw ? entry_error("SystemMetadata is required.") : EntryResult{};
  if (!sm->is_object()) return entry_error("SystemMetadata must be a structure.");
  if (const json* g = member(*sm, "EventGroupId")) {
    if (!g->is_string() || g->get_ref<const std::string&>().empty() || g->get_ref<const std::string&>().size() > 128)
      return entry_error("SystemMetadata.EventGroupId must be 1 to 128 characters.");
    *group = g->get<std::string>();
  }
  if (const json* d = member(*sm, "DeduplicationId")) {
    if (!d->is_string() || !valid_dedup_id(d->get_ref<const std::string&>()))
      return entry_error(
          "SystemMetadata.DeduplicationId must be 1 to 128 characters with at least one that is not white space.");
    *dedup = d->get<std::string>();
  }
  const json* ct = member(*sm, "ContentType");
  if (!raw) {
    if (ct) return entry_error("SystemMetadata.ContentType is not accepted by PutEvents: its events are JSON.");
    return {};
  }
  if (!ct || !ct->is_string() || ct->get_ref<const std::string&>().empty())
    return entry_error("SystemMetadata.ContentType is required.");
  *content_type = ct->get<std::string>();
  if (content_type->size() > 256 || content_type->rfind("application/", 0) != 0 ||
      (*content_type != "application/json" && *content_type != "application/avro" &&
       *content_type != "application/protobuf" && *content_type != "application/octet-stream"))
    return entry_error("Unsupported contentType: " + *content_type + ". Supported types: " + kSupportedTypes + ".");
  return {};
}

// A PutRawEvents entry's Data and Metadata into `raw`.
EntryResult raw_entry(const json& entry, WireFormat wire, bool has_registry, RawData* raw, size_t* size) {
  if (raw->content_type == "application/avro" || raw->content_type == "application/protobuf") {
    if (!has_registry) return entry_error("SchemaRegistryConfiguration is required for open-format events");
    return entry_error("Switchyard does not decode " + raw->content_type +
                       " events; publish application/json or application/octet-stream.");
  }
  const json* data = member(entry, "Data");
  if (!data) return entry_error("Data is required.");
  if (data->is_binary()) {
    raw->data.assign(data->get_binary().begin(), data->get_binary().end());
  } else if (data->is_string() && wire == WireFormat::kJson) {
    if (!core::base64_decode(data->get_ref<const std::string&>(), &raw->data))
      return entry_error("Data must be base64 in a JSON request.");
  } else {
    return entry_error(wire == WireFormat::kJson ? "Data must be a base64 string." : "Data must be a byte string.");
  }
  if (raw->content_type == "application/json" &&
      (core::json_nesting_depth(raw->data, core::kMaxDetailDepth) > core::kMaxDetailDepth || !json::accept(raw->data)))
    return entry_error("Data is not valid JSON, which its content type application/json says it is.");
  *size += raw->data.size();
  if (const json* md = member(entry, "Metadata")) {
    if (!md->is_object()) return entry_error("Metadata must be a map of strings.");
    if (md->size() > 100) return entry_error("Metadata has more than 100 entries.");
    for (const auto& [k, v] : md->items()) {
      if (k.empty() || k.size() > 128 || k.find('/') != std::string::npos)
        return entry_error("Metadata key '" + k + "' must be 1 to 128 characters without '/'.");
      if (!v.is_string() || v.get_ref<const std::string&>().empty())
        return entry_error("Metadata value of '" + k + "' must be a non-empty string.");
      raw->metadata.emplace_back(k, v.get<std::string>());
      *size += k.size() + v.get_ref<const std::string&>().size();
    }
  }
  return {};
}

std::string raw_hash(const RawData& r) {
  std::string content = r.content_type + "\n";
  for (const auto& [k, v] : r.metadata) content += k + "=" + v + "\n";
  return core::sha256_hex(content + "\n" + r.data);
}

}  // namespace

ParsedRequest parse_v2_publish(V2Operation op, WireFormat wire, std::string_view body, BusLookup lookup,
                               const void* ctx, int64_t now_ms, size_t max_entry_bytes) {
  const bool raw_op = op == V2Operation::kPutRawEvents;
  json request;
  if (wire == WireFormat::kJson) {
    if (core::json_nesting_depth(body, core::kMaxBodyDepth) > core::kMaxBodyDepth)
      return refuse(400, "InvalidInputException", "The request is nested too deeply.");
    request = json::parse(body, nullptr, false);
  } else {
    std::string untagged;
    if (!cbor_untag(body, kMaxCborDepth, &untagged))
      return refuse(400, "InvalidInputException", "The request is nested too deeply.");
    // nlohmann 3.11 throws for some malformed input even when told not to
    // (a map claiming more members than fit in memory, found by fuzzing).
    try {
      request = json::from_cbor(untagged, /*strict=*/true, /*allow_exceptions=*/false);
    } catch (const json::exception&) {
      request = json(json::value_t::discarded);
    }
  }
  if (request.is_discarded() || !request.is_object())
    return refuse(
        400, "InvalidInputException",
        wire == WireFormat::kJson ? "The request body is not a JSON object." : "The request body is not a CBOR map.");
  const json* arn = member(request, "EventBusArn");
  if (!arn || !arn->is_string() || arn->get_ref<const std::string&>().empty() ||
      arn->get_ref<const std::string&>().size() > 1011)
    return refuse(400, "InvalidInputException", "EventBusArn is required: the ARN (or name) of an event bus.");
  const std::string name = bus_name_of(arn->get<std::string>());
  const BusSettings* bus = name.empty() ? nullptr : lookup(ctx, name);
  if (!bus)
    return refuse(404, "ResourceNotFoundException", "Event bus " + arn->get<std::string>() + " does not exist.");
  if (raw_op && !bus->logged)
    return refuse(409, "InvalidStateException",
                  "Event bus " + bus->name +
                      " keeps no log, so raw events could go nowhere: give it retention_days or a subscriber.");
  bool content_based = false;
  if (const json* dc = member(request, "DeduplicationConfiguration")) {
    const json* type = dc->is_object() ? member(*dc, "DeduplicationType") : nullptr;
    if (!type || *type != "CONTENT_BASED")
      return refuse(400, "InvalidInputException",
                    "DeduplicationConfiguration.DeduplicationType must be CONTENT_BASED.");
    content_based = true;
  }
  const bool has_registry = member(request, "SchemaRegistryConfiguration") != nullptr;
  const json* entries = member(request, "Entries");
  if (!entries || !entries->is_array() || entries->empty() || entries->size() > kMaxEntries)
    return refuse(400, "InvalidInputException", "Entries must hold 1 to 100 entries.");

  ParsedRequest p;
  size_t total = 0;
  for (const json& entry : *entries) {
    core::Event e = new_bus_event(*bus, now_ms);
    std::string group, dedup;
    RawData raw;
    size_t size = 0;
    EntryResult r = entry.is_object() ? system_metadata(entry, raw_op, &group, &dedup, &raw.content_type)
                                      : entry_error("Each entry must be a structure.");
    bool time_given = false;
    if (r.ok() && raw_op) {
      r = raw_entry(entry, wire, has_registry, &raw, &size);
    } else if (r.ok()) {
      json copy = entry;  // Detail is optional here: an event without one has {}
      if (!member(copy, "Detail")) copy["Detail"] = "{}";
      time_given = member(copy, "Time") != nullptr;
      r = parse_put_events_members(copy, e, &size);
      if (!r.ok()) r.error_code = "InvalidInputException";
      if (r.ok() && e.source.rfind("aws.", 0) == 0)
        r = entry_error("Source " + e.source + " is not valid: the aws. prefix is reserved for AWS services.");
    }
    total += size;
    if (r.ok() && dedup.empty() && content_based)
      dedup = raw_op ? "content:" + raw_hash(raw) : content_dedup_id(e, time_given);
    if (r.ok()) {
      r.event_id = e.id;
      p.events.push_back(std::move(e));
      p.dedup_ids.push_back(std::move(dedup));
      p.group_ids.push_back(std::move(group));
      p.raw.push_back(std::move(raw));
    }
    p.results.push_back(std::move(r));
  }
  if (total > max_entry_bytes)
    return refuse(
        400, "InvalidInputException",
        "Total size of the entries in the request is over the limit (" + std::to_string(max_entry_bytes) + " bytes).");
  return p;
}

std::string v2_publish_response(const ParsedRequest& parsed, WireFormat wire) {
  json entries = json::array();
  size_t failed = 0;
  for (size_t i = 0; i < parsed.results.size(); ++i) {
    const EntryResult& r = parsed.results[i];
    json e = json::object();
    if (r.ok()) {
      e["EventId"] = r.event_id;
      if (i < parsed.positions.size() && parsed.positions[i] > 0)
        e["SequenceNumber"] = std::to_string(parsed.positions[i]);
      e["SuccessCode"] = r.success_code.empty() ? "PUBLISHED" : r.success_code;
    } else {
      ++failed;
      e["ErrorCode"] = r.error_code;
      e["ErrorMessage"] = r.error_message.substr(0, 2048);
    }
    entries.push_back(std::move(e));
  }
  const json out = {{"FailedEntryCount", failed}, {"Entries", std::move(entries)}};
  if (wire == WireFormat::kJson) return out.dump(-1, ' ', false, json::error_handler_t::replace);
  const std::vector<uint8_t> bytes = json::to_cbor(out);
  return std::string(bytes.begin(), bytes.end());
}

std::string v2_error_body(std::string_view type, std::string_view message, WireFormat wire) {
  const json out = {{"__type", type}, {"message", message}};
  if (wire == WireFormat::kJson) return out.dump(-1, ' ', false, json::error_handler_t::replace);
  const std::vector<uint8_t> bytes = json::to_cbor(out);
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace switchyard::bus
