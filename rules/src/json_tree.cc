#include "json_tree.h"

#include <cstdint>

#include "json_lexer.h"
#include "switchyard/core/json_limits.h"

namespace switchyard::rules::internal {

void put_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

namespace {

// Events nest as deep as the ingest routes accept (core/json_limits.h).
constexpr int kMaxDepth = core::kMaxEventDepth;

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  bool parse(JsonNode* out, std::string* error) {
    skip_ws();
    if (!value(out, 0)) {
      *error = error_;
      return false;
    }
    skip_ws();
    if (pos_ != s_.size()) {
      *error = "Unexpected character ('" + std::string(1, s_[pos_]) + "'): expected end of input";
      return false;
    }
    return true;
  }

 private:
  bool fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }

  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  bool unrecognized_token() {
    size_t end = pos_;
    while (end < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[end])) || s_[end] == '_' || s_[end] == '\'' ||
                               static_cast<unsigned char>(s_[end]) >= 0x80))
      ++end;
    if (end == pos_) end = pos_ + 1;
    return fail("Unrecognized token '" + std::string(s_.substr(pos_, end - pos_)) +
                "': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')");
  }

  bool literal(std::string_view word, JsonNode::Type type, JsonNode* out) {
    if (s_.substr(pos_, word.size()) != word) return unrecognized_token();
    pos_ += word.size();
    if (pos_ < s_.size() && std::isalnum(static_cast<unsigned char>(s_[pos_]))) {
      pos_ -= word.size();
      return unrecognized_token();
    }
    out->type = type;
    return true;
  }

  bool value(JsonNode* out, int depth) {
    if (depth > kMaxDepth) return fail("JSON nesting is deeper than " + std::to_string(kMaxDepth) + " levels");
    if (pos_ >= s_.size()) return fail("Unexpected end-of-input: expected a JSON value");
    const char c = s_[pos_];
    switch (c) {
      case '{': return object(out, depth);
      case '[': return array(out, depth);
      case '"': out->type = JsonNode::Type::kString; return string(&out->text);
      case 't': return literal("true", JsonNode::Type::kTrue, out);
      case 'f': return literal("false", JsonNode::Type::kFalse, out);
      case 'n': return literal("null", JsonNode::Type::kNull, out);
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return number(out);
        return unrecognized_token();
    }
  }

  bool number(JsonNode* out) {
    JsonLexer lexer(s_.data() + pos_, s_.data() + s_.size());
    std::string_view text;
    const LexError err = lexer.number(&text);
    pos_ = lexer.pos() - s_.data();
    switch (err) {
      case LexError::kNone: break;
      case LexError::kLeadingZero: return fail("Invalid numeric value: Leading zeroes not allowed");
      case LexError::kNoFractionDigits:
        return fail("Unexpected character in number: Decimal point not followed by a digit");
      case LexError::kNoExponentDigits:
        return fail("Unexpected character in number: Exponent indicator not followed by a digit");
      default: return fail("Unexpected character in number: expected digit");
    }
    out->type = JsonNode::Type::kNumber;
    out->text = std::string(text);
    return true;
  }

  bool string(std::string* out) {
    JsonLexer lexer(s_.data() + pos_, s_.data() + s_.size());
    std::string_view text;
    const LexError err = lexer.string(&text, [out]() -> std::string& { return *out; });
    pos_ = lexer.pos() - s_.data();
    const char c = lexer.bad_char();
    switch (err) {
      case LexError::kNone: break;
      case LexError::kControlChar:
        return fail("Illegal unquoted character ((CTRL-CHAR, code " + std::to_string(static_cast<int>(c)) +
                    ")): has to be escaped using backslash to be included in string value");
      case LexError::kBadEscape: return fail("Unrecognized character escape '" + std::string(1, c) + "'");
      case LexError::kBadHexDigit:
        return fail("Unexpected character ('" + std::string(1, c) +
                    "'): expected a hex-digit for character escape sequence");
      case LexError::kEndInEscape:
      case LexError::kTruncatedUnicode: return fail("Unexpected end-of-input in character escape sequence");
      default: return fail("Unexpected end-of-input: was expecting closing quote for a string value");
    }
    if (text.data() != out->data()) out->assign(text);  // no escapes: it views the input
    return true;
  }

  bool array(JsonNode* out, int depth) {
    ++pos_;
    out->type = JsonNode::Type::kArray;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_ws();
      out->elements.emplace_back();
      if (!value(&out->elements.back(), depth + 1)) return false;
      skip_ws();
      if (pos_ >= s_.size()) return fail("Unexpected end-of-input: expected close marker for ARRAY");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return fail("Unexpected character ('" + std::string(1, s_[pos_]) +
                  "'): was expecting comma to separate Array entries");
    }
  }

  bool object(JsonNode* out, int depth) {
    ++pos_;
    out->type = JsonNode::Type::kObject;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_ws();
      if (pos_ >= s_.size()) return fail("Unexpected end-of-input: expected close marker for OBJECT");
      if (s_[pos_] != '"')
        return fail("Unexpected character ('" + std::string(1, s_[pos_]) +
                    "'): was expecting double-quote to start field name");
      std::string key;
      if (!string(&key)) return false;
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':')
        return fail("Unexpected character: was expecting a colon to separate field name and value");
      ++pos_;
      skip_ws();
      JsonNode v;
      if (!value(&v, depth + 1)) return false;
      bool replaced = false;
      for (auto& [k, existing] : out->members) {
        if (k == key) {
          existing = std::move(v);  // the last duplicate wins
          replaced = true;
          break;
        }
      }
      if (!replaced) out->members.push_back({std::move(key), std::move(v)});
      skip_ws();
      if (pos_ >= s_.size()) return fail("Unexpected end-of-input: expected close marker for OBJECT");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return fail("Unexpected character ('" + std::string(1, s_[pos_]) +
                  "'): was expecting comma to separate Object entries");
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

core::Result<JsonNode> parse_json(std::string_view text) {
  JsonNode out;
  std::string error;
  if (!Parser(text).parse(&out, &error)) return core::Status::invalid_argument(std::move(error));
  return out;
}

namespace {
void write(const JsonNode& n, std::string& out) {
  switch (n.type) {
    case JsonNode::Type::kNull: out += "null"; break;
    case JsonNode::Type::kTrue: out += "true"; break;
    case JsonNode::Type::kFalse: out += "false"; break;
    case JsonNode::Type::kNumber: out += n.text; break;
    case JsonNode::Type::kString: append_json_string(out, n.text); break;
    case JsonNode::Type::kArray:
      out += '[';
      for (size_t i = 0; i < n.elements.size(); ++i) {
        if (i) out += ',';
        write(n.elements[i], out);
      }
      out += ']';
      break;
    case JsonNode::Type::kObject:
      out += '{';
      for (size_t i = 0; i < n.members.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, n.members[i].first);
        out += ':';
        write(n.members[i].second, out);
      }
      out += '}';
      break;
  }
}
}  // namespace

std::string to_json(const JsonNode& node) {
  std::string out;
  write(node, out);
  return out;
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

}  // namespace switchyard::rules::internal
