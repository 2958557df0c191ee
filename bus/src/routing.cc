#include "switchyard/bus/routing.h"

#include <algorithm>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include "switchyard/bus/cloudevents.h"
#include "switchyard/config/config.h"
#include "switchyard/core/log.h"
#include "switchyard/core/time.h"

namespace switchyard::bus {

namespace {

// The config's types, translated once into the bus's own.
BusSettings settings_of(const config::BusConfig& b) {
  BusSettings out{.name = b.name,
                  .account = b.account,
                  .region = b.region,
                  .ingest_tokens = b.ingest_tokens,
                  .access_keys = {},
                  .dedup_window_ms = b.dedup_window_seconds * 1000,
                  .dedup_content_based = b.dedup_content_based,
                  .logged = b.retention_days >= 0,
                  .retention_days = static_cast<uint32_t>(std::max(b.retention_days, 0))};
  for (const auto& k : b.access_keys) out.access_keys.push_back({.id = k.id, .secret = k.secret});
  return out;
}

TargetRoute::CloudEvents cloudevents_format(const config::Config& config, const std::string& destination) {
  for (const auto& d : config.api_destinations)
    if (d.name == destination) {
      if (d.payload_format == "cloudevents-binary") return TargetRoute::CloudEvents::kBinary;
      if (d.payload_format == "cloudevents-structured") return TargetRoute::CloudEvents::kStructured;
    }
  return TargetRoute::CloudEvents::kNone;
}

TargetRoute target_route(const config::Config& config, const config::TargetConfig& t, std::string id,
                         std::shared_ptr<const rules::Transformer> input) {
  return {.id = std::move(id),
          .destination = t.destination,
          .bus = t.bus,
          .path_params = t.path_parameter_values,
          .header_parameters = t.header_parameters,
          .query_string_parameters = t.query_string_parameters,
          .retry = t.retry_policy,
          .dead_letter = t.dead_letter,
          .input = std::move(input),
          .cloudevents = cloudevents_format(config, t.destination)};
}

WebhookSettings settings_of(const config::WebhookConfig& w) {
  const config::WebhookVerify& v = w.verify;
  return {.name = w.name,
          .bus = w.bus,
          .source = w.source,
          .detail_type = w.detail_type,
          .detail_type_header = w.detail_type_header,
          .verified = w.verified,
          .verify = {.scheme = v.scheme,
                     .secret = v.secret,
                     .header = v.header,
                     .encoding = v.encoding,
                     .prefix = v.prefix,
                     .tolerance_seconds = v.tolerance_seconds},
          .deduplicate_by = w.deduplicate_by};
}

ArchiveSettings settings_of(const config::ArchiveConfig& a) {
  return {.name = a.name,
          .bus = a.bus,
          .event_pattern = a.event_pattern,
          .retention_days = a.retention_days,
          .description = a.description};
}

// One matcher holding one filter's pattern; null for no filter.
std::shared_ptr<const rules::Matcher> filter_matcher(const std::string& pattern, const std::string& subscriber) {
  if (pattern.empty()) return nullptr;
  rules::MatcherBuilder builder;
  if (const core::Status st = builder.add(pattern); !st)  // validated with the config: never
    core::log::error("subscriber filter rejected after validation",
                     {{"subscriber", subscriber}, {"error", st.message()}});
  return builder.build();
}

void add_subscribers(const config::Config& config, prometheus::Registry& registry, Routing& routing) {
  auto& events = prometheus::BuildCounter()
                     .Name("switchyard_subscriber_events_total")
                     .Help("Events a subscriber read from its bus's log, by outcome (matched: passed its filters)")
                     .Register(registry);
  for (const auto& s : config.subscribers) {
    auto bus = routing.buses.find(s.bus);
    if (bus == routing.buses.end()) continue;  // validated: never
    bus->second.bus.logged = true;
    SubscriberRoute r;
    r.name = s.name;
    r.bus = s.bus;
    r.arn = "arn:aws:events:" + bus->second.bus.region + ":" + bus->second.bus.account + ":subscriber/" + s.bus + "/" +
            s.name;
    r.fifo = s.fifo;
    r.group_by = s.group_by;
    r.data = filter_matcher(s.data_pattern, s.name);
    r.metadata = filter_matcher(s.metadata_pattern, s.name);
    r.system_metadata = filter_matcher(s.system_metadata_pattern, s.name);
    r.transform = s.transform == "WITH_METADATA" ? SubscriberRoute::Transform::kWithMetadata
                  : s.transform == "INPUT"       ? SubscriberRoute::Transform::kInput
                                                 : SubscriberRoute::Transform::kRaw;
    const config::TargetConfig& t = s.target;
    auto input = rules::Transformer::compile(t.input, t.id);
    if (!input) {  // validated with the config: never
      core::log::error("subscriber input rejected after validation",
                       {{"subscriber", s.name}, {"error", input.status().message()}});
      continue;
    }
    r.target = target_route(config, t, s.name, *input);
    r.running = s.running;
    r.resume_latest = s.resume_latest;
    r.starting_position = s.starting_position;
    r.start_ms = s.start_ms;
    r.end_ms = s.end_ms;
    r.park_on_exhausted = s.park_on_exhausted;
    r.matched = &events.Add({{"bus", s.bus}, {"subscriber", s.name}, {"outcome", "matched"}});
    r.filtered = &events.Add({{"bus", s.bus}, {"subscriber", s.name}, {"outcome", "filtered"}});
    routing.subscribers.push_back(std::move(r));
  }
}

}  // namespace

std::string rule_arn(const BusSettings& bus, const std::string& rule) {
  std::string arn = "arn:aws:events:" + bus.region + ":" + bus.account + ":rule/";
  if (bus.name != "default") arn += bus.name + "/";
  return arn + rule;
}

std::shared_ptr<const Routing> build_routing(const config::Config& config, prometheus::Registry& registry) {
  auto& ingested = prometheus::BuildCounter()
                       .Name("switchyard_events_ingested_total")
                       .Help("Events accepted and stored, by bus")
                       .Register(registry);
  auto& matched = prometheus::BuildCounter()
                      .Name("switchyard_events_matched_total")
                      .Help("Events that matched a rule, by bus and rule")
                      .Register(registry);
  auto& forwards = prometheus::BuildCounter()
                       .Name("switchyard_bus_forwarded_events_total")
                       .Help(
                           "Events put on a bus by an event-bus target of another bus's rule (outcome: forwarded, "
                           "or loop when the event had been on the bus already and was not put on it again)")
                       .Register(registry);
  auto routing = std::make_shared<Routing>();
  routing->built_ms = core::now_ms();
  for (const auto& b : config.buses) {
    BusRoute& route = routing->buses[b.name];
    route.bus = settings_of(b);
    route.ingested = &ingested.Add({{"bus", b.name}});
    route.forwarded = &forwards.Add({{"bus", b.name}, {"outcome", "forwarded"}});
    route.loops = &forwards.Add({{"bus", b.name}, {"outcome", "loop"}});
    rules::MatcherBuilder builder;
    for (const auto& r : config.rules) {
      if (r.bus != b.name || !r.enabled) continue;
      if (const core::Status st = builder.add(r.event_pattern); !st) {
        // The config was validated; this only happens on a programming error.
        core::log::error("rule pattern rejected after validation", {{"rule", r.name}, {"error", st.message()}});
        continue;
      }
      RuleRoute rr;
      rr.name = r.name;
      rr.arn = rule_arn(route.bus, r.name);
      rr.matched = &matched.Add({{"bus", b.name}, {"rule", r.name}});
      for (const auto& t : r.targets) {
        auto input = rules::Transformer::compile(t.input, t.id);
        if (!input) {  // validated with the config; only a programming error gets here
          core::log::error("target input rejected after validation",
                           {{"rule", r.name}, {"error", input.status().message()}});
          continue;
        }
        rr.targets.push_back(target_route(config, t, t.id, *input));
      }
      route.rules.push_back(std::move(rr));
    }
    route.matcher = builder.build();
    rules::MatcherBuilder archive_builder;
    for (const auto& a : config.archives) {
      if (a.bus != b.name) continue;
      routing->archives[a.name] = settings_of(a);
      if (a.event_pattern.empty()) {
        route.archive_everything.push_back(route.archives.size());
      } else {
        // Pattern ids must stay aligned with `archives`: a pattern that does
        // not compile (never, after validation) archives nothing.
        if (const core::Status st = archive_builder.add(a.event_pattern); !st)
          core::log::error("archive pattern rejected after validation", {{"archive", a.name}, {"error", st.message()}});
      }
      route.archives.push_back(settings_of(a));
    }
    route.archive_matcher = archive_builder.build();
  }
  for (const auto& w : config.webhooks) routing->webhooks[w.name] = settings_of(w);
  add_subscribers(config, registry, *routing);
  return routing;
}

std::vector<std::string> archives_for(const BusRoute& bus, const std::string& envelope) {
  std::vector<std::string> out;
  if (bus.archives.empty()) return out;
  for (size_t i : bus.archive_everything) out.push_back(bus.archives[i].name);
  std::vector<uint32_t> ids;
  if (bus.archive_matcher && bus.archive_everything.size() < bus.archives.size() &&
      bus.archive_matcher->match(envelope, ids)) {
    // Pattern ids count only the archives that have a pattern.
    std::vector<size_t> with_pattern;
    for (size_t i = 0; i < bus.archives.size(); ++i)
      if (!bus.archives[i].event_pattern.empty()) with_pattern.push_back(i);
    for (uint32_t id : ids)
      if (id < with_pattern.size()) out.push_back(bus.archives[with_pattern[id]].name);
  }
  return out;
}

void render_target(const TargetRoute& t, const rules::EventDocument& document, const rules::TransformContext& context,
                   std::string_view fallback_body, core::DeliveryTask& task) {
  // Dynamic parameters ("$.detail.id") read the original event.
  std::string bad;
  auto resolve = [&](const std::string& v) {
    auto value = rules::resolve_dynamic_value(document, v);
    if (!value && bad.empty()) bad = v;
    return value.value_or("");
  };
  for (const auto& v : t.path_params) task.path_params.push_back(resolve(v));
  for (const auto& [k, v] : t.header_parameters) task.headers.emplace_back(k, resolve(v));
  for (const auto& [k, v] : t.query_string_parameters) task.query.emplace_back(resolve(k), resolve(v));
  auto rendered = t.input->render(document, context);
  if (rendered) {
    task.body = std::move(rendered->body);
    task.content_type = std::move(rendered->content_type);
  } else {
    task.body = fallback_body;  // kept for the dead-letter record
    task.render_error = rendered.status().message();
  }
  if (!bad.empty() && task.render_error.empty()) {
    task.render_error = "the dynamic parameter " + bad + " selects nothing in the event";
    task.render_error_code = "INVALID_PARAMETER";
  }
}

size_t route_event(const BusRoute& bus, const core::Event& event, const std::string& envelope,
                   std::vector<core::DeliveryTask>& out, const std::set<std::string>* only_rules,
                   std::vector<std::string>* forward) {
  std::vector<uint32_t> ids;
  if (!bus.matcher->match(envelope, ids)) return 0;
  // Parsed at most once, on first need, for every target's input paths,
  // templates and dynamic parameters.
  const rules::EventDocument document(envelope);
  size_t matched = 0;
  for (uint32_t id : ids) {
    const RuleRoute& rule = bus.rules[id];
    if (only_rules && !only_rules->count(rule.name)) continue;
    ++matched;
    if (rule.matched) rule.matched->Increment();
    for (const TargetRoute& t : rule.targets) {
      if (!t.bus.empty()) {
        if (forward && std::find(forward->begin(), forward->end(), t.bus) == forward->end()) forward->push_back(t.bus);
        continue;
      }
      core::DeliveryTask task;
      // On a bus the event was forwarded to, rule names are that bus's own:
      // its name keeps the webhook-id unique.
      task.id = event.bus == bus.bus.name ? "msg_" + event.id + "_" + rule.name + "_" + t.id
                                          : "msg_" + event.id + "_" + bus.bus.name + "_" + rule.name + "_" + t.id;
      task.event_id = event.id;
      task.bus = bus.bus.name;
      task.rule = rule.name;
      task.rule_arn = rule.arn;
      task.target = t.id;
      task.destination = t.destination;
      render_target(
          t, document,
          {.rule_name = rule.name, .rule_arn = rule.arn, .ingestion_time = core::format_time(event.ingested_ms / 1000)},
          envelope, task);
      if (t.cloudevents != TargetRoute::CloudEvents::kNone && task.render_error.empty())
        as_cloudevent(event, t.cloudevents == TargetRoute::CloudEvents::kStructured, task);
      task.trace_header = event.trace_header;
      task.retry = t.retry;
      task.dead_letter = t.dead_letter;
      task.ingested_ms = event.ingested_ms;
      task.due_ms = event.ingested_ms;
      out.push_back(std::move(task));
    }
  }
  return matched;
}

}  // namespace switchyard::bus
