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
bool Matcher::match(std::string_view event_json, std::vector<uint32_t>& out, std::string* error) const {
  return index_->match(event_json, out, error);
}

MatcherBuilder::MatcherBuilder() : parts_(std::make_unique<MatcherParts>()) {}
MatcherBuilder::~MatcherBuilder() = default;

bool MatcherBuilder::add(std::string_view pattern_json, PatternError* error) {
  std::vector<Alternative> alternatives;
  internal::PatternError e;
  if (!internal::compile_pattern(pattern_json, internal::CompileOptions{}, &alternatives, &e)) {
    *error = {e.reason, e.path};
    return false;
  }
  parts_->patterns.push_back(std::move(alternatives));
  return true;
}

bool MatcherBuilder::add(std::string_view pattern_json, std::string* reason) {
  PatternError e;
  if (add(pattern_json, &e)) return true;
  *reason = e.reason;
  return false;
}

std::shared_ptr<const Matcher> MatcherBuilder::build() {
  auto index = std::make_unique<MatcherIndex>(std::move(*parts_));
  parts_ = std::make_unique<MatcherParts>();
  return std::shared_ptr<const Matcher>(new Matcher(std::move(index)));
}

std::string validate_pattern(std::string_view pattern_json) {
  std::vector<Alternative> alternatives;
  internal::PatternError e;
  return internal::compile_pattern(pattern_json, internal::CompileOptions{}, &alternatives, &e) ? std::string()
                                                                                                : e.reason;
}

std::string validate_test_event(std::string_view event_json) {
  internal::JsonNode root;
  std::string error;
  if (!internal::parse_json(event_json, &root, &error)) return "Parameter Event is not valid. " + error;
  if (!root.is_object()) return "Parameter Event is not valid. The event is not a JSON object.";
  for (const char* required : {"id", "account", "source", "time", "region", "detail-type"}) {
    const bool present =
        std::any_of(root.members.begin(), root.members.end(), [&](const auto& m) { return m.first == required; });
    if (!present) return std::string("Parameter Event is not valid. The event has no \"") + required + "\".";
  }
  return "";
}

bool parse_named_pattern(std::string_view line, std::string* name, std::string* pattern_json, std::string* error) {
  internal::JsonNode root;
  if (!internal::parse_json(line, &root, error)) return false;
  if (!root.is_object()) {
    *error = "the line is not a JSON object";
    return false;
  }
  const internal::JsonNode* n = nullptr;
  const internal::JsonNode* p = nullptr;
  for (const auto& [k, v] : root.members) {
    if (k == "name") n = &v;
    if (k == "pattern") p = &v;
  }
  if (!n || !n->is_string() || n->text.empty()) {
    *error = "the line has no \"name\" string";
    return false;
  }
  if (!p) {
    *error = "the line has no \"pattern\"";
    return false;
  }
  *name = n->text;
  *pattern_json = p->is_string() ? p->text : internal::to_json(*p);
  return true;
}

int test_event_pattern(std::string_view pattern_json, std::string_view event_json, std::string* error) {
  MatcherBuilder builder;
  PatternError pe;
  if (!builder.add(pattern_json, &pe)) {
    *error = pe.describe();
    return -1;
  }
  if (std::string e = validate_test_event(event_json); !e.empty()) {
    *error = e;
    return -2;
  }
  std::vector<uint32_t> ids;
  if (!builder.build()->match(event_json, ids, error)) return -2;
  return ids.empty() ? 0 : 1;
}

}  // namespace switchyard::rules
