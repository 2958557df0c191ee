#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "switchyard/core/status.h"

namespace switchyard::rules {

namespace internal {
struct JsonNode;
}

// One event as every target of it reads it: its JSON text, parsed at most
// once, on first need, for all the input paths, templates and dynamic
// parameters of all its targets. Not thread-safe; one per event in flight.
class EventDocument {
 public:
  explicit EventDocument(std::string_view json);
  ~EventDocument();
  EventDocument(const EventDocument&) = delete;
  EventDocument& operator=(const EventDocument&) = delete;

  std::string_view json() const { return json_; }
  // The parsed event; kInvalidArgument when the text is not JSON.
  core::Result<const internal::JsonNode*> tree() const;
  // How many times the text was parsed (0 or 1): tests and benchmarks.
  int parses() const { return parses_; }

 private:
  std::string_view json_;
  mutable std::unique_ptr<internal::JsonNode> tree_;
  mutable std::string error_;
  mutable int parses_ = 0;
};

// What a target receives, as EventBridge's target input settings give it:
// the whole event, a constant Input, an InputPath, or an InputTransformer.
struct TargetInput {
  enum class Kind { kWholeEvent, kConstant, kInputPath, kTransformer };
  Kind kind = Kind::kWholeEvent;
  std::string input;                                           // kConstant: JSON text
  std::string input_path;                                      // kInputPath
  std::vector<std::pair<std::string, std::string>> paths_map;  // kTransformer: variable -> JSONPath
  std::string input_template;                                  // kTransformer
};

// Values of the predefined variables for one delivery.
struct TransformContext {
  std::string rule_name;
  std::string rule_arn;
  std::string ingestion_time;  // ISO 8601
};

struct Rendered {
  std::string body;
  std::string content_type;  // application/json; charset=utf-8, or text/plain; charset=utf-8
};

class TransformerImpl;

// A target input setting compiled once (paths parsed, template split into
// literal and variable pieces) and applied to every event. Immutable and
// thread-safe.
class Transformer {
 public:
  ~Transformer();

  // Compiles; the failure (kInvalidArgument) names the target and the
  // problem (EventBridge's wording where it has one).
  static core::Result<std::shared_ptr<const Transformer>> compile(const TargetInput& input,
                                                                  const std::string& target_id);

  // Renders the input for one event. The failure (kInvalidArgument) says
  // why when the event cannot be read or the output would not be valid JSON
  // where EventBridge requires it (not delivered, DLQ code INVALID_JSON).
  core::Result<Rendered> render(const EventDocument& event, const TransformContext& context) const;
  core::Result<Rendered> render(std::string_view event_json, const TransformContext& context) const {
    return render(EventDocument(event_json), context);
  }

  bool is_whole_event() const;

 private:
  explicit Transformer(std::unique_ptr<TransformerImpl> impl);
  std::unique_ptr<TransformerImpl> impl_;
};

// Dynamic HTTP parameter values: when `value` is a JSONPath ("$..." of the
// subset above) it is evaluated against the event and gives the selected
// string (raw) or other value (as JSON); otherwise the value itself.
// kNotFound when the path is invalid or selects nothing.
core::Result<std::string> resolve_dynamic_value(const EventDocument& event, std::string_view value);
inline core::Result<std::string> resolve_dynamic_value(std::string_view event_json, std::string_view value) {
  return resolve_dynamic_value(EventDocument(event_json), value);
}
bool is_dynamic_value(std::string_view value);

// Reads an EventBridge target-input JSON object: {"Input": "..."},
// {"InputPath": "..."}, {"InputTransformer": {"InputPathsMap": {...},
// "InputTemplate": "..."}} or {} (the whole event).
core::Result<TargetInput> parse_target_input(std::string_view json);

}  // namespace switchyard::rules
