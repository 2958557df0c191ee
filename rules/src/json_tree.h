#pragma once

// A small JSON tree for event patterns. Unlike a general-purpose DOM it keeps
// every number's text exactly as written (EventBridge decides comparability
// from it) and applies "last duplicate key wins" as EventBridge does.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "json_lexer.h"
#include "switchyard/core/status.h"

namespace switchyard::rules::internal {

struct JsonMember;

struct JsonNode {
  enum class Type { kNull, kTrue, kFalse, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  std::string text;                 // string value, or number text
  std::vector<JsonNode> elements;   // arrays
  std::vector<JsonMember> members;  // objects, in first-seen order, last value wins

  bool is_object() const { return type == Type::kObject; }
  bool is_array() const { return type == Type::kArray; }
  bool is_string() const { return type == Type::kString; }
  bool is_number() const { return type == Type::kNumber; }
  bool is_bool() const { return type == Type::kTrue || type == Type::kFalse; }
};

struct JsonMember {
  std::string first;  // key
  JsonNode second;    // value
};

// Parses JSON text. The failure (kInvalidArgument) says why in the style of
// the Jackson parser EventBridge uses.
core::Result<JsonNode> parse_json(std::string_view text);

// Compact JSON text of a tree; number literals keep their text.
std::string to_json(const JsonNode& node);

// Appends s as a JSON string literal (quoted, escaped).
void append_json_string(std::string& out, std::string_view s);

}  // namespace switchyard::rules::internal
