// Scanning an event: one pass over its JSON that validates all of it and
// records only the values some pattern names, with their array coordinates.

#include <cstring>

#include "json_lexer.h"
#include "matcher_index.h"
#include "switchyard/core/json_limits.h"

namespace switchyard::rules {

using internal::JsonLexer;
using internal::LexError;

void MatcherIndex::prepare(Scratch& s) const {
  if (s.owner != this || s.slot_seen.size() != slot_sub_.size() || s.sub_seen.size() != subs_.size() ||
      s.field_seen.size() != fields_.size()) {
    s.owner = this;
    s.field_seen.assign(fields_.size(), 0);
    s.slot_seen.assign(slot_sub_.size(), 0);
    s.sub_seen.assign(subs_.size(), 0);
    s.sub_count.assign(subs_.size(), 0);
    s.sub_array.assign(subs_.size(), 0);
    s.epoch = 0;
  }
  if (++s.epoch == 0) {  // wrapped: start the stamps again
    std::fill(s.field_seen.begin(), s.field_seen.end(), 0);
    std::fill(s.slot_seen.begin(), s.slot_seen.end(), 0);
    std::fill(s.sub_seen.begin(), s.sub_seen.end(), 0);
    s.epoch = 1;
  }
  s.values.clear();
  s.coords.clear();
  s.coord_stack.clear();
  s.hits.clear();
  s.touched.clear();
  s.decoded_used = 0;
  s.next_array = 0;
}

class MatcherIndex::Scanner {
 public:
  Scanner(const MatcherIndex& m, Scratch& s, std::string_view text)
      : m_(m), s_(s), p_(text.data()), end_(text.data() + text.size()) {}

  bool run(std::string* error) {
    ws();
    if (p_ >= end_ || *p_ != '{') return fail(error, "Event is not a JSON object");
    if (!value(0, 0)) return fail(error, error_ ? error_ : "Event is not valid JSON");
    ws();
    if (p_ != end_) return fail(error, "Unexpected text after the event's JSON object");
    return true;
  }

 private:
  // As deep as ingest accepts: a detail of 1000 levels in its envelope.
  static constexpr int kMaxDepth = core::kMaxEventDepth;

  bool fail(std::string* error, const char* message) {
    if (error) *error = message;
    return false;
  }
  bool bad(const char* message) {
    if (!error_) error_ = message;
    return false;
  }

  __attribute__((always_inline)) void ws() {
    JsonLexer lexer(p_, end_);
    lexer.skip_ws();
    p_ = lexer.pos();
  }

  // Reads a string at p_ (on its opening quote); `out` views the input when
  // it has no escapes, else a decoded copy in the scratch pool.
  bool string(std::string_view* out) {
    JsonLexer lexer(p_, end_);
    const LexError err = lexer.string(out, [this]() -> std::string& {
      if (s_.decoded_used == s_.decoded.size()) s_.decoded.emplace_back();
      return s_.decoded[s_.decoded_used++];
    });
    p_ = lexer.pos();
    switch (err) {
      case LexError::kNone: return true;
      case LexError::kControlChar: return bad("Control character in a string");
      case LexError::kBadEscape: return bad("Invalid escape in a string");
      case LexError::kTruncatedUnicode: return bad("Truncated \\u escape");
      case LexError::kBadHexDigit: return bad("Invalid \\u escape");
      default: return bad("Unterminated string");
    }
  }

  __attribute__((always_inline)) bool number(std::string_view* out) {
    JsonLexer lexer(p_, end_);
    const LexError err = lexer.number(out);
    p_ = lexer.pos();
    return err == LexError::kNone || bad("Invalid number");
  }

  bool literal(const char* word, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return bad("Invalid literal");
    p_ += n;
    return true;
  }

  void record(uint32_t field, Kind kind, std::string_view text) {
    const uint32_t begin = static_cast<uint32_t>(s_.coords.size());
    s_.coords.insert(s_.coords.end(), s_.coord_stack.begin(), s_.coord_stack.end());
    s_.values.push_back({field, kind, text, begin, static_cast<uint32_t>(s_.coord_stack.size())});
  }

  // Walks one key (split at dots, which nest like objects) from `node`.
  int64_t child(uint32_t node, std::string_view key) const {
    for (;;) {
      const auto& children = m_.nodes_[node].children;
      if (children.empty()) return -1;
      const size_t dot = key.find('.');
      auto it = children.find(dot == std::string_view::npos ? key : key.substr(0, dot));
      if (it == children.end()) return -1;
      if (dot == std::string_view::npos) return it->second;
      node = it->second;
      key.remove_prefix(dot + 1);
    }
  }

  // Parses one value; `node` is the path trie node it sits at, or -1 when
  // no pattern names anything below it (then it is only validated).
  bool value(int64_t node, int depth) {
    if (depth > kMaxDepth) return bad("JSON nesting is deeper than 1001 levels");
    if (p_ >= end_) return bad("Unexpected end of input");
    const int32_t field = node >= 0 ? m_.nodes_[node].field : -1;
    switch (*p_) {
      case '{': {
        ++p_;
        ws();
        if (p_ < end_ && *p_ == '}') {
          ++p_;
          return true;
        }
        const bool descend = node >= 0 && !m_.nodes_[node].children.empty();
        for (;;) {
          ws();
          if (p_ >= end_ || *p_ != '"') return bad("Expected a member name");
          std::string_view key;
          if (!string(&key)) return false;
          ws();
          if (p_ >= end_ || *p_ != ':') return bad("Expected ':' after a member name");
          ++p_;
          ws();
          if (!value(descend ? child(static_cast<uint32_t>(node), key) : -1, depth + 1)) return false;
          ws();
          if (p_ < end_ && *p_ == ',') {
            ++p_;
            continue;
          }
          if (p_ < end_ && *p_ == '}') {
            ++p_;
            return true;
          }
          return bad("Expected ',' or '}' in an object");
        }
      }
      case '[': {
        ++p_;
        ws();
        if (p_ < end_ && *p_ == ']') {
          ++p_;
          return true;
        }
        const bool tracked = node >= 0;
        if (tracked) s_.coord_stack.push_back({s_.next_array++, 0});
        for (uint32_t i = 0;; ++i) {
          if (tracked) s_.coord_stack.back().index = i;
          ws();
          if (!value(node, depth + 1)) return false;
          ws();
          if (p_ < end_ && *p_ == ',') {
            ++p_;
            continue;
          }
          if (p_ < end_ && *p_ == ']') {
            ++p_;
            break;
          }
          return bad("Expected ',' or ']' in an array");
        }
        if (tracked) s_.coord_stack.pop_back();
        return true;
      }
      case '"': {
        std::string_view v;
        if (!string(&v)) return false;
        if (field >= 0) record(field, Kind::kString, v);
        return true;
      }
      case 't':
        if (!literal("true", 4)) return false;
        if (field >= 0) record(field, Kind::kTrue, {});
        return true;
      case 'f':
        if (!literal("false", 5)) return false;
        if (field >= 0) record(field, Kind::kFalse, {});
        return true;
      case 'n':
        if (!literal("null", 4)) return false;
        if (field >= 0) record(field, Kind::kNull, {});
        return true;
      default: {
        if (*p_ != '-' && (*p_ < '0' || *p_ > '9')) return bad("Unexpected character");
        std::string_view v;
        if (!number(&v)) return false;
        if (field >= 0) record(field, Kind::kNumber, v);
        return true;
      }
    }
  }

  const MatcherIndex& m_;
  Scratch& s_;
  const char* p_;
  const char* end_;
  const char* error_ = nullptr;
};

bool MatcherIndex::scan(std::string_view text, Scratch& s, std::string* error) const {
  return Scanner(*this, s, text).run(error);
}

}  // namespace switchyard::rules
