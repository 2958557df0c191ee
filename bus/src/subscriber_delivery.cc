#include "subscriber_delivery.h"

#include <prometheus/counter.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "pipeline.h"
#include "switchyard/bus/cloudevents.h"
#include "switchyard/core/crypto.h"
#include "switchyard/core/time.h"
#include "switchyard/rules/transformer.h"

namespace switchyard::bus {

namespace {

using nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

bool matches(const rules::Matcher* m, std::string_view text) {
  std::vector<uint32_t> ids;
  return m->match(text, ids) && !ids.empty();
}

}  // namespace

bool is_json_content(std::string_view ct) {
  return ct == kEnvelopeContentType || ct == "application/json" ||
         (ct.size() > 5 && ct.substr(ct.size() - 5) == "+json");
}

std::string system_metadata_json(const storage::LogEntry& e, DeliveryType type) {
  json j = json::object();
  j["aws:EventId"] = e.event_id;
  j["aws:IngestionTime"] = core::format_time(e.ingested_ms / 1000);
  j["aws:SequenceNumber"] = std::to_string(e.position);
  j["aws:DeliveryType"] = type == DeliveryType::kReplay ? "REPLAY" : "LIVE";
  if (!e.source.empty()) j["aws:Source"] = e.source;
  if (!e.detail_type.empty()) j["aws:DetailType"] = e.detail_type;
  j["ContentType"] = e.content_type;
  if (!e.group_id.empty()) j["EventGroupId"] = e.group_id;
  if (!e.dedup_id.empty()) j["DeduplicationId"] = e.dedup_id;
  return dump(j);
}

std::string metadata_json(const storage::LogEntry& e) {
  json j = json::object();
  for (const auto& [k, v] : e.metadata) j[k] = v;
  return dump(j);
}

bool passes_filters(const SubscriberRoute& s, const storage::LogEntry& e, const std::string& system_metadata) {
  if (s.data && (!is_json_content(e.content_type) || !matches(s.data.get(), e.data))) return false;
  if (s.metadata && (e.metadata.empty() || !matches(s.metadata.get(), metadata_json(e)))) return false;
  if (s.system_metadata && !matches(s.system_metadata.get(), system_metadata)) return false;
  return true;
}

std::optional<core::Event> event_of_envelope(std::string_view envelope, const std::string& bus, int64_t ingested_ms) {
  const json j = json::parse(envelope, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    core::Event e;
    e.id = j.at("id").get<std::string>();
    e.detail_type = j.at("detail-type").get<std::string>();
    e.source = j.at("source").get<std::string>();
    e.account = j.value("account", "");
    e.region = j.value("region", "");
    const auto t = core::parse_time_ms(j.value("time", ""));
    e.time = t ? *t / 1000 : ingested_ms / 1000;
    if (auto r = j.find("resources"); r != j.end() && r->is_array())
      for (const auto& v : *r)
        if (v.is_string()) e.resources.push_back(v.get<std::string>());
    if (auto d = j.find("detail"); d != j.end()) e.detail = dump(*d);
    e.bus = bus;
    e.ingested_ms = ingested_ms;
    return e;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

core::DeliveryTask subscriber_task(const SubscriberRoute& s, const storage::LogEntry& e,
                                   const std::string& system_metadata, int64_t now_ms) {
  core::DeliveryTask task;
  task.id = "sub_" + e.event_id + "_" + s.bus + "_" + s.name;
  task.event_id = e.event_id;
  task.bus = s.bus;
  task.rule = s.name;
  task.rule_arn = s.arn;
  task.target = s.name;
  task.destination = s.target.destination;
  const bool is_json = is_json_content(e.content_type);
  // JSONPaths of parameters and inputs read the data; raw bytes have none.
  const rules::EventDocument document(is_json ? std::string_view(e.data) : std::string_view("{}"));
  render_target(s.target, document,
                {.rule_name = s.name, .rule_arn = s.arn, .ingestion_time = core::format_time(e.ingested_ms / 1000)},
                e.data, task);
  switch (s.transform) {
    case SubscriberRoute::Transform::kInput:
      if (!is_json && task.render_error.empty()) {
        task.render_error = "the event's data (" + e.content_type + ") is not JSON: an input cannot read it";
        task.body = e.data;
      }
      break;
    case SubscriberRoute::Transform::kRaw:
      task.body = e.data;
      task.content_type = is_json ? "application/json; charset=utf-8" : e.content_type;
      break;
    case SubscriberRoute::Transform::kWithMetadata:
      task.body = "{\"Data\":" + (is_json ? e.data : dump(json(core::base64_encode(e.data)))) +
                  ",\"Metadata\":" + metadata_json(e) + ",\"SystemMetadata\":" + system_metadata + "}";
      task.content_type = "application/json; charset=utf-8";
      break;
  }
  if (s.target.cloudevents != TargetRoute::CloudEvents::kNone && task.render_error.empty() &&
      e.content_type == kEnvelopeContentType)
    if (auto event = event_of_envelope(e.data, s.bus, e.ingested_ms))
      as_cloudevent(*event, s.target.cloudevents == TargetRoute::CloudEvents::kStructured, task);
  task.trace_header = e.trace_header;
  task.retry = s.target.retry;
  task.dead_letter = s.target.dead_letter;
  task.ingested_ms = e.ingested_ms;
  task.age_from_ms = now_ms;
  task.due_ms = now_ms;
  return task;
}

// Puts the entry on the subscriber's target bus: an envelope goes
// through that bus's rules and into its log, other data into its log.
void forward_to_bus(const Routing& routing, const SubscriberRoute& s, const storage::LogEntry& e,
                    storage::IngestBatch& batch) {
  auto it = routing.buses.find(s.target.bus);
  if (it == routing.buses.end()) return;  // validated: never
  const BusRoute& to = it->second;
  if (std::find(e.via.begin(), e.via.end(), to.bus.name) != e.via.end()) {
    if (to.loops) to.loops->Increment();
    return;
  }
  std::vector<std::string> via = e.via;
  via.push_back(e.bus);
  if (to.forwarded) to.forwarded->Increment();
  if (e.content_type == kEnvelopeContentType) {
    if (auto event = event_of_envelope(e.data, e.bus, e.ingested_ms)) {
      event->trace_header = e.trace_header;
      Pipeline::route(to, *event, e.data, 0, batch, {.archive = false, .routing = &routing, .via = &via});
      return;
    }
  }
  if (!to.bus.logged) return;
  storage::LogEntry copy = e;
  copy.bus = to.bus.name;
  copy.via = std::move(via);
  batch.log.push_back(std::move(copy));
}

}  // namespace switchyard::bus
