#include "switchyard/rules/matcher.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>

#include "json_tree.h"
#include "pattern.h"
#include "switchyard/core/json_limits.h"

namespace switchyard::rules {

using internal::Alternative;
using internal::Condition;
using internal::Op;

namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
using Slots = std::vector<uint32_t>;

void add_to(StringMap<Slots>& m, std::string_view key, uint32_t slot) { m[std::string(key)].push_back(slot); }

struct ByLength {
  size_t length;
  StringMap<Slots> values;
};

void add_by_length(std::vector<ByLength>& v, std::string_view key, uint32_t slot) {
  for (auto& b : v)
    if (b.length == key.size()) return add_to(b.values, key, slot);
  v.push_back({key.size(), {}});
  add_to(v.back().values, key, slot);
}

// Everything the patterns ask of one field path.
struct FieldIndex {
  StringMap<Slots> strings;
  std::unordered_map<uint64_t, Slots> numbers;
  StringMap<Slots> number_texts;
  Slots on_true, on_false, on_null, exists;
  std::vector<ByLength> prefixes, suffixes, prefixes_ic, suffixes_ic;
  StringMap<Slots> equals_ic;
  std::vector<std::pair<const Condition*, uint32_t>> evaluated;  // checked value by value
  // Numeric ranges, sorted so that a binary search finds the candidates.
  struct Bound {
    double at;
    bool inclusive;
    uint32_t slot;
    const internal::NumericRange* range;  // for two-sided ones
  };
  std::vector<Bound> above;    // "> at" / ">= at", ascending
  std::vector<Bound> below;    // "< at" / "<= at", ascending
  std::vector<Bound> between;  // both sides, ascending by lower bound
  bool needs_number = false;
  bool needs_fold = false;
};

struct PathNode {
  StringMap<uint32_t> children;
  int32_t field = -1;
};

enum class Kind : uint8_t { kString, kNumber, kTrue, kFalse, kNull };

struct Coord {
  uint32_t array;
  uint32_t index;
};

struct Value {
  uint32_t field;
  Kind kind;
  std::string_view text;  // string (decoded) or number text
  uint32_t coord_begin, coord_len;
};

constexpr uint32_t kAbsent = UINT32_MAX;

struct Hit {
  uint32_t slot;
  uint32_t value;  // kAbsent for exists:false satisfied by absence
};

// Per-thread scratch space, reused from event to event.
struct Scratch {
  std::vector<Value> values;
  std::vector<Coord> coords;
  std::vector<Coord> coord_stack;
  std::vector<std::string> decoded;
  size_t decoded_used = 0;
  std::string folded;
  std::vector<Hit> hits;
  std::vector<uint32_t> field_seen, slot_seen, sub_seen, sub_count;
  std::vector<uint8_t> sub_array;
  std::vector<uint32_t> touched;
  uint32_t epoch = 0;
  uint32_t next_array = 0;
  const void* owner = nullptr;
};

bool ascii_lower_needed(std::string_view s, std::string* out) {
  internal::ascii_lower(s, out);
  return true;
}

}  // namespace

struct MatcherParts {
  std::vector<std::vector<Alternative>> patterns;
};

class MatcherIndex {
 public:
  explicit MatcherIndex(MatcherParts parts) : parts_(std::move(parts)) {
    nodes_.emplace_back();
    for (uint32_t p = 0; p < parts_.patterns.size(); ++p) {
      for (const Alternative& alt : parts_.patterns[p]) {
        const uint32_t sub = static_cast<uint32_t>(subs_.size());
        subs_.push_back({p, static_cast<uint32_t>(slot_sub_.size()), static_cast<uint32_t>(alt.size())});
        for (const auto& leaf : alt) {
          const uint32_t slot = static_cast<uint32_t>(slot_sub_.size());
          slot_sub_.push_back(sub);
          const uint32_t field = field_for(leaf.path);
          for (const Condition& c : leaf.conditions) index(field, c, slot);
        }
        // The alternative's slots in path order, for the consistency check.
        std::vector<uint32_t> order(alt.size());
        for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return alt[a].path < alt[b].path; });
        sub_order_.push_back(std::move(order));
      }
    }
    auto by_bound = [](const FieldIndex::Bound& a, const FieldIndex::Bound& b) { return a.at < b.at; };
    for (auto& f : fields_) {
      std::sort(f.above.begin(), f.above.end(), by_bound);
      std::sort(f.below.begin(), f.below.end(), by_bound);
      std::sort(f.between.begin(), f.between.end(), by_bound);
    }
  }

  size_t size() const { return parts_.patterns.size(); }

  bool match(std::string_view text, std::vector<uint32_t>& out, std::string* error) const {
    out.clear();
    thread_local Scratch s;
    prepare(s);
    if (!scan(text, s, error)) return false;
    collect(s, out);
    return true;
  }

 private:
  struct Sub {
    uint32_t pattern, first_slot, n_slots;
  };

  uint32_t field_for(const std::string& path) {
    uint32_t node = 0;
    size_t start = 0;
    for (;;) {
      const size_t dot = path.find('.', start);
      const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      auto it = nodes_[node].children.find(part);
      uint32_t next;
      if (it == nodes_[node].children.end()) {
        next = static_cast<uint32_t>(nodes_.size());
        nodes_[node].children.emplace(part, next);
        nodes_.emplace_back();
      } else {
        next = it->second;
      }
      node = next;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    if (nodes_[node].field < 0) {
      nodes_[node].field = static_cast<int32_t>(fields_.size());
      fields_.emplace_back();
    }
    return static_cast<uint32_t>(nodes_[node].field);
  }

  void index(uint32_t field, const Condition& c, uint32_t slot) {
    FieldIndex& f = fields_[field];
    switch (c.op) {
      case Op::kExactString: add_to(f.strings, c.text, slot); break;
      case Op::kExactNumber:
        f.numbers[internal::number_key(c.number)].push_back(slot);
        f.needs_number = true;
        break;
      case Op::kExactNumberText: add_to(f.number_texts, c.text, slot); break;
      case Op::kTrue: f.on_true.push_back(slot); break;
      case Op::kFalse: f.on_false.push_back(slot); break;
      case Op::kNull: f.on_null.push_back(slot); break;
      case Op::kPrefix: add_by_length(f.prefixes, c.text, slot); break;
      case Op::kSuffix: add_by_length(f.suffixes, c.text, slot); break;
      case Op::kExists: f.exists.push_back(slot); break;
      case Op::kNotExists: absent_.push_back({field, slot}); break;
      case Op::kEqualsIgnoreCase:
      case Op::kPrefixIgnoreCase:
      case Op::kSuffixIgnoreCase:
        if (c.ignore_case.ascii()) {
          f.needs_fold = true;
          if (c.op == Op::kEqualsIgnoreCase)
            add_to(f.equals_ic, c.ignore_case.folded(), slot);
          else
            add_by_length(c.op == Op::kPrefixIgnoreCase ? f.prefixes_ic : f.suffixes_ic, c.ignore_case.folded(), slot);
        } else {
          f.evaluated.push_back({&c, slot});
        }
        break;
      case Op::kNumeric: {
        f.needs_number = true;
        const auto& r = c.range;
        if (r.has_lo && r.has_hi && r.lo == r.hi) {
          f.numbers[internal::number_key(r.lo)].push_back(slot);  // "="
        } else if (r.has_lo && r.has_hi) {
          f.between.push_back({r.lo, r.lo_inclusive, slot, &c.range});
        } else if (r.has_lo) {
          f.above.push_back({r.lo, r.lo_inclusive, slot, nullptr});
        } else {
          f.below.push_back({r.hi, r.hi_inclusive, slot, nullptr});
        }
        break;
      }
      case Op::kAnythingButNumbers:
        f.needs_number = true;
        f.evaluated.push_back({&c, slot});
        break;
      default: f.evaluated.push_back({&c, slot}); break;
    }
  }

  void prepare(Scratch& s) const {
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

  // ---------------------------------------------------------------- scanning

  class Scanner {
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

  bool scan(std::string_view text, Scratch& s, std::string* error) const { return Scanner(*this, s, text).run(error); }

  // ---------------------------------------------------------------- matching

  static void hit_all(const Slots& slots, uint32_t value, std::vector<Hit>& hits) {
    for (uint32_t slot : slots) hits.push_back({slot, value});
  }

  template <class Map>
  static void lookup(const Map& m, std::string_view key, uint32_t value, std::vector<Hit>& hits) {
    if (m.empty()) return;
    auto it = m.find(key);
    if (it != m.end()) hit_all(it->second, value, hits);
  }

  static void by_length(const std::vector<ByLength>& v, std::string_view s, bool suffix, uint32_t value,
                        std::vector<Hit>& hits) {
    for (const auto& b : v) {
      if (b.length > s.size()) continue;
      lookup(b.values, suffix ? s.substr(s.size() - b.length) : s.substr(0, b.length), value, hits);
    }
  }

  static bool evaluate(const Condition& c, const Value& v, const internal::Number& n) {
    using IC = internal::IgnoreCase::Mode;
    const bool str = v.kind == Kind::kString;
    switch (c.op) {
      case Op::kEqualsIgnoreCase: return str && c.ignore_case.matches(v.text, IC::kEquals);
      case Op::kPrefixIgnoreCase: return str && c.ignore_case.matches(v.text, IC::kPrefix);
      case Op::kSuffixIgnoreCase: return str && c.ignore_case.matches(v.text, IC::kSuffix);
      case Op::kWildcard: return str && c.wildcard.matches(v.text);
      case Op::kCidr: return str && c.cidr.contains(v.text);
      case Op::kNumeric: return v.kind == Kind::kNumber && n.comparable && c.range.contains(n.value);
      case Op::kAnythingButStrings:
        return !(str && std::find(c.strings.begin(), c.strings.end(), v.text) != c.strings.end());
      case Op::kAnythingButNumbers:
        if (v.kind != Kind::kNumber) return true;
        if (n.comparable && std::find(c.numbers.begin(), c.numbers.end(), n.value) != c.numbers.end()) return false;
        return std::find(c.strings.begin(), c.strings.end(), v.text) == c.strings.end();
      case Op::kAnythingButPrefix:
        return !(str && std::any_of(c.strings.begin(), c.strings.end(),
                                    [&](const std::string& p) { return v.text.starts_with(p); }));
      case Op::kAnythingButSuffix:
        return !(str && std::any_of(c.strings.begin(), c.strings.end(),
                                    [&](const std::string& p) { return v.text.ends_with(p); }));
      case Op::kAnythingButIgnoreCase:
        return !(str && std::any_of(c.ignore_cases.begin(), c.ignore_cases.end(),
                                    [&](const internal::IgnoreCase& ic) { return ic.matches(v.text, IC::kEquals); }));
      case Op::kAnythingButWildcard:
        return !(str && std::any_of(c.wildcards.begin(), c.wildcards.end(),
                                    [&](const internal::Wildcard& w) { return w.matches(v.text); }));
      default: return false;
    }
  }

  void value_hits(const Value& v, uint32_t vi, Scratch& s) const {
    const FieldIndex& f = fields_[v.field];
    s.field_seen[v.field] = s.epoch;
    hit_all(f.exists, vi, s.hits);
    internal::Number n;
    switch (v.kind) {
      case Kind::kString:
        lookup(f.strings, v.text, vi, s.hits);
        by_length(f.prefixes, v.text, false, vi, s.hits);
        by_length(f.suffixes, v.text, true, vi, s.hits);
        if (f.needs_fold) {
          ascii_lower_needed(v.text, &s.folded);
          lookup(f.equals_ic, s.folded, vi, s.hits);
          by_length(f.prefixes_ic, s.folded, false, vi, s.hits);
          by_length(f.suffixes_ic, s.folded, true, vi, s.hits);
        }
        break;
      case Kind::kNumber:
        if (f.needs_number) {
          n = internal::parse_number(v.text);
          if (n.comparable) {
            if (!f.numbers.empty()) {
              auto it = f.numbers.find(internal::number_key(n.value));
              if (it != f.numbers.end()) hit_all(it->second, vi, s.hits);
            }
            numeric_hits(f, n.value, vi, s.hits);
          }
        }
        lookup(f.number_texts, v.text, vi, s.hits);
        break;
      case Kind::kTrue: hit_all(f.on_true, vi, s.hits); break;
      case Kind::kFalse: hit_all(f.on_false, vi, s.hits); break;
      case Kind::kNull: hit_all(f.on_null, vi, s.hits); break;
    }
    for (const auto& [c, slot] : f.evaluated)
      if (evaluate(*c, v, n)) s.hits.push_back({slot, vi});
  }

  // Ranges containing x: a prefix of `above` (bounds below x), a suffix of
  // `below` (bounds above x), and the two-sided ones starting below x.
  static void numeric_hits(const FieldIndex& f, double x, uint32_t vi, std::vector<Hit>& hits) {
    using B = FieldIndex::Bound;
    if (!f.above.empty()) {
      auto end = std::upper_bound(f.above.begin(), f.above.end(), x, [](double v, const B& b) { return v < b.at; });
      for (auto it = f.above.begin(); it != end; ++it)
        if (it->at < x || it->inclusive) hits.push_back({it->slot, vi});
    }
    if (!f.below.empty()) {
      auto begin = std::lower_bound(f.below.begin(), f.below.end(), x, [](const B& b, double v) { return b.at < v; });
      for (auto it = begin; it != f.below.end(); ++it)
        if (it->at > x || it->inclusive) hits.push_back({it->slot, vi});
    }
    if (!f.between.empty()) {
      auto end = std::upper_bound(f.between.begin(), f.between.end(), x, [](double v, const B& b) { return v < b.at; });
      for (auto it = f.between.begin(); it != end; ++it)
        if (it->range->contains(x)) hits.push_back({it->slot, vi});
    }
  }

  // Array consistency: leaves under one array of objects must be satisfied
  // by the same element. Two values conflict when their paths pass through
  // the same array at different indexes.
  //
  // The slots are taken one at a time (in path order, so that siblings in
  // the pattern come together) and the search keeps only the distinct
  // states: the (array, index) choices made so far, limited to the arrays
  // that values of later slots also pass through. Choices in arrays no later
  // value can meet never matter again, so states that differ only there are
  // one. This is polynomial (no backtracking): per slot, states x values x
  // path length, where the state count is bounded by the values of the
  // slots whose arrays are still open. event-ruler's array-consistency check
  // works on the same principle.
  bool consistent(const Scratch& s, const Sub& sub) const {
    const uint32_t n = sub.n_slots;
    std::vector<std::vector<uint32_t>> options(n);
    for (const Hit& h : s.hits)
      if (h.slot >= sub.first_slot && h.slot < sub.first_slot + n) {
        auto& o = options[h.slot - sub.first_slot];
        if (std::find(o.begin(), o.end(), h.value) == o.end()) o.push_back(h.value);
      }
    const std::vector<uint32_t>& order = sub_order_[&sub - subs_.data()];
    // later[k]: the arrays that values of the slots after position k pass through.
    std::vector<std::vector<uint32_t>> later(n);
    std::vector<uint32_t> acc;
    for (uint32_t k = n; k-- > 0;) {
      later[k] = acc;
      for (uint32_t v : options[order[k]]) {
        if (v == kAbsent) continue;
        const Value& x = s.values[v];
        for (uint32_t i = 0; i < x.coord_len; ++i) acc.push_back(s.coords[x.coord_begin + i].array);
      }
      std::sort(acc.begin(), acc.end());
      acc.erase(std::unique(acc.begin(), acc.end()), acc.end());
    }
    using State = std::vector<Coord>;  // sorted by array
    auto less = [](const State& a, const State& b) {
      return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](const Coord& x, const Coord& y) {
        return x.array != y.array ? x.array < y.array : x.index < y.index;
      });
    };
    std::vector<State> states{State{}};
    std::vector<State> next;
    State merged;
    for (uint32_t k = 0; k < n; ++k) {
      next.clear();
      const auto& keep = later[k];
      for (const State& st : states) {
        for (uint32_t v : options[order[k]]) {
          merged.clear();
          bool ok = true;
          if (v != kAbsent) {
            const Value& x = s.values[v];
            for (uint32_t i = 0; i < x.coord_len && ok; ++i) {
              const Coord& c = s.coords[x.coord_begin + i];
              for (const Coord& d : st)
                if (d.array == c.array && d.index != c.index) ok = false;
              if (ok && std::binary_search(keep.begin(), keep.end(), c.array)) merged.push_back(c);
            }
          }
          if (!ok) continue;
          for (const Coord& d : st)
            if (std::binary_search(keep.begin(), keep.end(), d.array)) merged.push_back(d);
          std::sort(merged.begin(), merged.end(), [](const Coord& x, const Coord& y) {
            return x.array != y.array ? x.array < y.array : x.index < y.index;
          });
          merged.erase(std::unique(merged.begin(), merged.end(),
                                   [](const Coord& x, const Coord& y) { return x.array == y.array; }),
                       merged.end());
          next.push_back(merged);
        }
      }
      if (next.empty()) return false;
      std::sort(next.begin(), next.end(), less);
      next.erase(std::unique(next.begin(), next.end(),
                             [](const State& a, const State& b) {
                               return a.size() == b.size() &&
                                      std::equal(a.begin(), a.end(), b.begin(), [](const Coord& x, const Coord& y) {
                                        return x.array == y.array && x.index == y.index;
                                      });
                             }),
                 next.end());
      states.swap(next);
    }
    return true;
  }

  void collect(Scratch& s, std::vector<uint32_t>& out) const {
    for (uint32_t i = 0; i < s.values.size(); ++i) value_hits(s.values[i], i, s);
    for (const auto& [field, slot] : absent_)
      if (s.field_seen[field] != s.epoch) s.hits.push_back({slot, kAbsent});
    for (const Hit& h : s.hits) {
      const uint32_t sub = slot_sub_[h.slot];
      if (s.sub_seen[sub] != s.epoch) {
        s.sub_seen[sub] = s.epoch;
        s.sub_count[sub] = 0;
        s.sub_array[sub] = 0;
        s.touched.push_back(sub);
      }
      if (h.value != kAbsent && s.values[h.value].coord_len > 0) s.sub_array[sub] = 1;
      if (s.slot_seen[h.slot] != s.epoch) {
        s.slot_seen[h.slot] = s.epoch;
        ++s.sub_count[sub];
      }
    }
    for (uint32_t sub : s.touched) {
      const Sub& d = subs_[sub];
      if (s.sub_count[sub] != d.n_slots) continue;
      if (s.sub_array[sub] && d.n_slots > 1 && !consistent(s, d)) continue;
      out.push_back(d.pattern);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }

  MatcherParts parts_;  // owns the conditions the index points to
  std::vector<PathNode> nodes_;
  std::vector<FieldIndex> fields_;
  std::vector<Sub> subs_;
  std::vector<std::vector<uint32_t>> sub_order_;  // each sub's slots in path order
  std::vector<uint32_t> slot_sub_;
  std::vector<std::pair<uint32_t, uint32_t>> absent_;  // (field, slot) of exists:false
};

// ---------------------------------------------------------------- facade

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
