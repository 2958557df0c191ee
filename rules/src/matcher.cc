#include "switchyard/rules/matcher.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_map>

namespace switchyard::rules {

using nlohmann::json;

namespace {

// One leaf of a pattern: the flattened path and the values any of which the
// event must hold there.
struct Condition {
  std::string path;
  std::vector<json> values;
};

struct Pattern {
  std::vector<Condition> conditions;
};

bool compile_object(const json& obj, const std::string& prefix, Pattern& out, std::string* error) {
  if (obj.empty()) {
    *error = "Empty objects are not allowed";
    return false;
  }
  for (const auto& [key, value] : obj.items()) {
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    if (value.is_object()) {
      if (!compile_object(value, path, out, error)) return false;
    } else if (value.is_array()) {
      if (value.empty()) {
        *error = "Empty arrays are not allowed";
        return false;
      }
      Condition c{path, {}};
      for (const auto& v : value) {
        if (v.is_object()) {
          const std::string op = v.empty() ? std::string() : v.begin().key();
          *error = v.empty() ? "Match expression name not found" : "Unrecognized match type " + op;
          return false;
        }
        if (v.is_array()) {
          *error = "Match value must be String, number, true, false, or null";
          return false;
        }
        c.values.push_back(v);
      }
      out.conditions.push_back(std::move(c));
    } else {
      *error = "\"" + key + "\" must be an object or an array";
      return false;
    }
  }
  return true;
}

bool compile_pattern(std::string_view text, Pattern& out, std::string* error) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    *error = "Pattern is not valid JSON";
    return false;
  }
  if (!j.is_object()) {
    *error = "Filter is not an object";
    return false;
  }
  return compile_object(j, "", out, error);
}

// Flattens an event into path -> leaf values; arrays are transparent.
void flatten(const json& v, const std::string& path, std::unordered_map<std::string, std::vector<const json*>>& out) {
  if (v.is_object()) {
    for (const auto& [k, child] : v.items()) flatten(child, path.empty() ? k : path + "." + k, out);
  } else if (v.is_array()) {
    for (const auto& child : v) flatten(child, path, out);
  } else {
    out[path].push_back(&v);
  }
}

bool leaf_equal(const json& pattern, const json& event) {
  if (pattern.is_number() && event.is_number()) return pattern.get<double>() == event.get<double>();
  return pattern == event;
}

}  // namespace

class MatcherImpl {
 public:
  std::vector<Pattern> patterns;
};

Matcher::Matcher(std::unique_ptr<MatcherImpl> impl) : impl_(std::move(impl)) {}
Matcher::~Matcher() = default;

size_t Matcher::size() const { return impl_->patterns.size(); }

bool Matcher::match(std::string_view event_json, std::vector<uint32_t>& out, std::string* error) const {
  out.clear();
  json event = json::parse(event_json, nullptr, false);
  if (!event.is_object()) {
    if (error) *error = "Event is not a JSON object";
    return false;
  }
  std::unordered_map<std::string, std::vector<const json*>> leaves;
  flatten(event, "", leaves);
  for (uint32_t id = 0; id < impl_->patterns.size(); ++id) {
    const bool all = std::all_of(
        impl_->patterns[id].conditions.begin(), impl_->patterns[id].conditions.end(), [&](const Condition& c) {
          auto it = leaves.find(c.path);
          if (it == leaves.end()) return false;
          for (const json* ev : it->second)
            for (const json& pv : c.values)
              if (leaf_equal(pv, *ev)) return true;
          return false;
        });
    if (all) out.push_back(id);
  }
  return true;
}

MatcherBuilder::MatcherBuilder() : impl_(std::make_unique<MatcherImpl>()) {}
MatcherBuilder::~MatcherBuilder() = default;

bool MatcherBuilder::add(std::string_view pattern_json, std::string* error) {
  Pattern p;
  if (!compile_pattern(pattern_json, p, error)) return false;
  impl_->patterns.push_back(std::move(p));
  return true;
}

std::shared_ptr<const Matcher> MatcherBuilder::build() {
  auto built = std::shared_ptr<const Matcher>(new Matcher(std::move(impl_)));
  impl_ = std::make_unique<MatcherImpl>();
  return built;
}

std::string validate_pattern(std::string_view pattern_json) {
  Pattern p;
  std::string error;
  return compile_pattern(pattern_json, p, &error) ? std::string() : error;
}

}  // namespace switchyard::rules
