#include <nlohmann/json.hpp>

#include "loader.h"

namespace switchyard::config::internal {

const std::regex kNameRe(R"([\.\-_A-Za-z0-9]+)");
const std::regex kHeaderKeyRe(R"([!#$%&'*+\-.^_`|~0-9a-zA-Z]+)");

bool is_plain(const YAML::Node& n) { return n.Tag() == "?" || n.Tag().empty(); }

// YAML 1.2 core-schema scalars, so that `yes`/`on` stay strings.
bool is_yaml_null(const std::string& s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }
bool is_yaml_bool(const std::string& s, bool* v) {
  if (s == "true" || s == "True" || s == "TRUE") return *v = true, true;
  if (s == "false" || s == "False" || s == "FALSE") return *v = false, true;
  return false;
}
bool is_json_number(const std::string& s) {
  static const std::regex kNumber(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?)");
  return std::regex_match(s, kNumber);
}

// Converts a YAML node to JSON text with strict JSON typing: quoted scalars
// are strings, plain ones are null/true/false/numbers when they look like
// them (number text kept as written), anything else a string.
void yaml_to_json(const YAML::Node& n, std::string& out) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: out += "null"; return;
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      bool b;
      if (is_plain(n)) {
        if (is_yaml_null(s)) return void(out += "null");
        if (is_yaml_bool(s, &b)) return void(out += b ? "true" : "false");
        if (is_json_number(s)) return void(out += s);
      }
      out += nlohmann::json(s).dump();
      return;
    }
    case YAML::NodeType::Sequence: {
      out += '[';
      bool first = true;
      for (const auto& child : n) {
        if (!first) out += ',';
        first = false;
        yaml_to_json(child, out);
      }
      out += ']';
      return;
    }
    case YAML::NodeType::Map: {
      out += '{';
      bool first = true;
      for (const auto& kv : n) {
        if (!first) out += ',';
        first = false;
        out += nlohmann::json(kv.first.Scalar()).dump();
        out += ':';
        yaml_to_json(kv.second, out);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace switchyard::config::internal
