#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "switchyard/bus/settings.h"
#include "switchyard/core/event.h"
#include "switchyard/core/task.h"
#include "switchyard/rules/matcher.h"
#include "switchyard/rules/transformer.h"

namespace prometheus {
class Counter;
class Registry;
}  // namespace prometheus

namespace switchyard::config {
struct Config;
}

namespace switchyard::bus {

struct TargetRoute {
  std::string id;
  std::string destination;
  std::string bus;  // an event-bus target: the event goes on this bus (destination empty)
  std::vector<std::string> path_params;
  Params header_parameters;
  Params query_string_parameters;
  core::RetryPolicy retry;
  bool dead_letter = true;
  std::shared_ptr<const rules::Transformer> input;                                          // compiled once per config
  enum class CloudEvents { kNone, kBinary, kStructured } cloudevents = CloudEvents::kNone;  // the destination's
};

struct RuleRoute {
  std::string name;
  std::string arn;
  std::vector<TargetRoute> targets;
  prometheus::Counter* matched = nullptr;
};

struct BusRoute {
  BusSettings bus;
  std::shared_ptr<const rules::Matcher> matcher;  // pattern id i is rules[i]
  std::vector<RuleRoute> rules;
  prometheus::Counter* ingested = nullptr;
  prometheus::Counter* forwarded = nullptr;  // events put on this bus by another bus's rules
  prometheus::Counter* loops = nullptr;      // ... not put on it again: it already had the event
  // Archives of this bus: archive_matcher's pattern id i is archives[i];
  // archives without a pattern take every event.
  std::vector<ArchiveSettings> archives;
  std::shared_ptr<const rules::Matcher> archive_matcher;
  std::vector<size_t> archive_everything;
};

// A subscriber of a bus's log (subscribers.h runs them).
struct SubscriberRoute {
  std::string name;
  std::string bus;
  std::string arn;  // arn:aws:events:<region>:<account>:subscriber/<bus>/<name>
  bool fifo = false;
  std::string group_by;  // FIFO: a JSONPath into the event; "": the publish's EventGroupId
  // One matcher per filter scope (null: no filter of that scope).
  std::shared_ptr<const rules::Matcher> data, metadata, system_metadata;
  enum class Transform { kRaw, kWithMetadata, kInput } transform = Transform::kRaw;
  TargetRoute target;  // an API destination or a bus; its input for kInput
  bool running = true;
  bool resume_latest = false;
  std::string starting_position = "LATEST";  // LATEST | HORIZON | TIMESTAMP
  int64_t start_ms = 0, end_ms = 0;
  bool park_on_exhausted = false;
  prometheus::Counter* matched = nullptr;   // events that passed the filters
  prometheus::Counter* filtered = nullptr;  // events the filters left out
};

// Everything ingest needs, built from one validated config and never changed
// afterwards: a reload builds a new Routing and swaps the pointer.
struct Routing {
  std::map<std::string, BusRoute> buses;
  std::map<std::string, WebhookSettings> webhooks;
  std::map<std::string, ArchiveSettings> archives;
  std::vector<SubscriberRoute> subscribers;  // in config order
  int64_t built_ms = 0;                      // when this routing was built (a new LATEST subscriber starts there)
};

// Builds the routing of a validated config; metric series are created in
// `registry`.
std::shared_ptr<const Routing> build_routing(const config::Config& config, prometheus::Registry& registry);

// EventBridge's rule ARN: .../rule/<name> on the default bus,
// .../rule/<bus>/<name> on others.
std::string rule_arn(const BusSettings& bus, const std::string& rule);

// Matches one event against its bus's rules and appends one rendered delivery
// task per matching (rule, target). `envelope` is envelope_json(event).
// Returns the number of rules that matched.
// `only_rules`, when given, limits matching to those rules (a replay's rule
// list).
// The names of the buses that matched event-bus targets name are added to
// `forward` (when given; without it such targets are left out).
size_t route_event(const BusRoute& bus, const core::Event& event, const std::string& envelope,
                   std::vector<core::DeliveryTask>& out, const std::set<std::string>* only_rules = nullptr,
                   std::vector<std::string>* forward = nullptr);

// Renders one target's delivery of an event into `task`: its path, header
// and query parameters (JSONPaths read `document`) and its body (the
// target's input). A failure is recorded in task.render_error, with
// `fallback_body` as the body the dead letter keeps.
void render_target(const TargetRoute& target, const rules::EventDocument& document,
                   const rules::TransformContext& context, std::string_view fallback_body, core::DeliveryTask& task);

// The archives of `bus` that keep this event (its envelope).
std::vector<std::string> archives_for(const BusRoute& bus, const std::string& envelope);

}  // namespace switchyard::bus
