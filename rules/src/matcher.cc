// The public face of the matcher (matcher.h): building, matching, and the
// pattern and event checks the CLI and TestEventPattern use.

#include "switchyard/rules/matcher.h"

#include <string>

#include "json_tree.h"
#include "matcher_index.h"
#include "pattern.h"

namespace switchyard::rules {

std::string PatternError::describe() const {
  std::string out = "Event pattern is not valid. Reason: " + reason;
  if (!path.empty()) out += " (field " + path + ")";
  return out;
}

Matcher::Matcher(std::unique_ptr<MatcherIndex> index) : index_(std::move(index)) {}
Matcher::~Matcher() = default;
size_t Matcher::size() const { return index_->size(); }
core::Status Matcher::match(std::string_view event_json, std::vector<uint32_t>& out) const {
  std::string error;
  if (index_->match(event_json, out, &error)) return core::Status::ok();
  return core::Status::invalid_argument(std::move(error));
}

MatcherBuilder::MatcherBuilder() : parts_(std::make_unique<MatcherParts>()) {}
MatcherBuilder::~MatcherBuilder() = default;

core::Status MatcherBuilder::add(std::string_view pattern_json, PatternError* detail) {
  std::vector<Alternative> alternatives;
  internal::PatternError e;
  if (!internal::compile_pattern(pattern_json, internal::CompileOptions{}, &alternatives, &e)) {
    const PatternError out{e.reason, e.path};
    if (detail) *detail = out;
    return core::Status::invalid_argument(out.describe());
  }
  parts_->patterns.push_back(std::move(alternatives));
  return core::Status::ok();
}

std::shared_ptr<const Matcher> MatcherBuilder::build() {
  auto index = std::make_unique<MatcherIndex>(std::move(*parts_));
  parts_ = std::make_unique<MatcherParts>();
  return std::shared_ptr<const Matcher>(new Matcher(std::move(index)));
}

core::Status validate_pattern(std::string_view pattern_json, PatternError* detail) {
  std::vector<Alternative> alternatives;
  internal::PatternError e;
  if (internal::compile_pattern(pattern_json, internal::CompileOptions{}, &alternatives, &e)) return core::Status::ok();
  if (detail) *detail = {e.reason, e.path};
  return core::Status::invalid_argument(e.reason);
}

core::Status validate_test_event(std::string_view event_json) {
  auto root = internal::parse_json(event_json);
  if (!root) return core::Status::invalid_argument("Parameter Event is not valid. " + root.status().message());
  if (!root->is_object())
    return core::Status::invalid_argument("Parameter Event is not valid. The event is not a JSON object.");
  for (const char* required : {"id", "account", "source", "time", "region", "detail-type"}) {
    const bool present =
        std::any_of(root->members.begin(), root->members.end(), [&](const auto& m) { return m.first == required; });
    if (!present)
      return core::Status::invalid_argument(std::string("Parameter Event is not valid. The event has no \"") +
                                            required + "\".");
  }
  return core::Status::ok();
}

core::Result<NamedPattern> parse_named_pattern(std::string_view line) {
  auto root = internal::parse_json(line);
  if (!root) return root.status();
  if (!root->is_object()) return core::Status::invalid_argument("the line is not a JSON object");
  const internal::JsonNode* n = nullptr;
  const internal::JsonNode* p = nullptr;
  for (const auto& [k, v] : root->members) {
    if (k == "name") n = &v;
    if (k == "pattern") p = &v;
  }
  if (!n || !n->is_string() || n->text.empty())
    return core::Status::invalid_argument("the line has no \"name\" string");
  if (!p) return core::Status::invalid_argument("the line has no \"pattern\"");
  return NamedPattern{n->text, p->is_string() ? p->text : internal::to_json(*p)};
}

core::Result<bool> test_event_pattern(std::string_view pattern_json, std::string_view event_json) {
  MatcherBuilder builder;
  if (core::Status st = builder.add(pattern_json); !st) return st;
  if (core::Status st = validate_test_event(event_json); !st) return st;
  std::vector<uint32_t> ids;
  if (core::Status st = builder.build()->match(event_json, ids); !st) return st;
  return !ids.empty();
}

}  // namespace switchyard::rules
