// Scanning an event: one pass over its JSON that validates all of it and
// records only the values some pattern names, with their array coordinates.

#include <cstring>

#include "matcher_index.h"
#include "switchyard/core/json_limits.h"

namespace switchyard::rules {

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
    if (p_<end_&& static_cast<unsigned char>(*p_)> ' ') [[likely]]
      return;
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  __attribute__((always_inline)) void digits() {
    while (p_ < end_ && static_cast<unsigned>(*p_ - '0') < 10u) ++p_;
  }

  // Reads a string at p_ (on its opening quote); `out` views the input when
  // it has no escapes, else a decoded copy in the scratch pool.
  bool string(std::string_view* out) {
    const char* start = ++p_;
    while (p_ < end_ && *p_ != '"' && *p_ != '\\') {
      if (static_cast<unsigned char>(*p_) < 0x20) return bad("Control character in a string");
      ++p_;
    }
    if (p_ >= end_) return bad("Unterminated string");
    if (*p_ == '"') {
      *out = std::string_view(start, p_ - start);
      ++p_;
      return true;
    }
    if (s_.decoded_used == s_.decoded.size()) s_.decoded.emplace_back();
    std::string& buf = s_.decoded[s_.decoded_used++];
    buf.assign(start, p_ - start);
    while (p_ < end_ && *p_ != '"') {
      const char c = *p_++;
      if (static_cast<unsigned char>(c) < 0x20) return bad("Control character in a string");
      if (c != '\\') {
        buf += c;
        continue;
      }
      if (p_ >= end_) return bad("Unterminated string");
      const char e = *p_++;
      switch (e) {
        case '"': buf += '"'; break;
        case '\\': buf += '\\'; break;
        case '/': buf += '/'; break;
        case 'b': buf += '\b'; break;
        case 'f': buf += '\f'; break;
        case 'n': buf += '\n'; break;
        case 'r': buf += '\r'; break;
        case 't': buf += '\t'; break;
        case 'u': {
          uint32_t cp;
          if (!hex4(&cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF && end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
            const char* save = p_;
            p_ += 2;
            uint32_t lo;
            if (!hex4(&lo)) return false;
            if (lo >= 0xDC00 && lo <= 0xDFFF)
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            else
              p_ = save;
          }
          internal::put_utf8(buf, cp);
          break;
        }
        default: return bad("Invalid escape in a string");
      }
    }
    if (p_ >= end_) return bad("Unterminated string");
    ++p_;
    *out = buf;
    return true;
  }

  bool hex4(uint32_t* v) {
    if (end_ - p_ < 4) return bad("Truncated \\u escape");
    *v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = *p_++;
      *v <<= 4;
      if (h >= '0' && h <= '9')
        *v |= h - '0';
      else if (h >= 'a' && h <= 'f')
        *v |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F')
        *v |= h - 'A' + 10;
      else
        return bad("Invalid \\u escape");
    }
    return true;
  }

  __attribute__((always_inline)) bool number(std::string_view* out) {
    const char* start = p_;
    if (*p_ == '-') ++p_;
    const char* int_start = p_;
    digits();
    if (p_ == int_start || (*int_start == '0' && p_ - int_start > 1)) return bad("Invalid number");
    if (p_ < end_ && *p_ == '.') {
      const char* f = ++p_;
      digits();
      if (p_ == f) return bad("Invalid number");
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      const char* e = p_;
      digits();
      if (p_ == e) return bad("Invalid number");
    }
    *out = std::string_view(start, p_ - start);
    return true;
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
