#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchyard::rules {

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

  // Compiles; on error returns null and sets *error to a message naming the
  // target and the problem (EventBridge's wording where it has one).
  static std::shared_ptr<const Transformer> compile(const TargetInput& input, const std::string& target_id,
                                                    std::string* error);

  // Renders the input for one event (its JSON text). Returns false when the
  // event cannot be read or the output would not be valid JSON where
  // EventBridge requires it; *error then says why (not delivered, DLQ
  // error code INVALID_JSON).
  bool render(std::string_view event_json, const TransformContext& context, Rendered* out, std::string* error) const;

  bool is_whole_event() const;

 private:
  explicit Transformer(std::unique_ptr<TransformerImpl> impl);
  std::unique_ptr<TransformerImpl> impl_;
};

// Dynamic HTTP parameter values: when `value` is a JSONPath ("$..." of the
// subset above) it is evaluated against the event and *out receives the
// selected string (raw) or other value (as JSON); otherwise *out = value.
// Returns false when the path is invalid or selects nothing.
bool resolve_dynamic_value(std::string_view event_json, std::string_view value, std::string* out);
bool is_dynamic_value(std::string_view value);

// Reads an EventBridge target-input JSON object: {"Input": "..."},
// {"InputPath": "..."}, {"InputTransformer": {"InputPathsMap": {...},
// "InputTemplate": "..."}} or {} (the whole event).
bool parse_target_input(std::string_view json, TargetInput* out, std::string* error);

}  // namespace switchyard::rules
