#pragma once

// The matcher's index: every pattern's conditions by field, in hash maps,
// sorted bounds and by-length tables, and the path trie the event scanner
// walks. Its jobs are spread over:
//   matcher_build.cc  indexing the patterns' conditions
//   matcher_scan.cc   scanning an event once, recording the values patterns name
//   matcher_eval.cc   turning values into hits, the array consistency check,
//                     and collecting the matching patterns
// The public API (matcher.h) is in matcher.cc.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "json_tree.h"
#include "pattern.h"
#include "switchyard/core/ascii.h"

namespace switchyard::rules {

using internal::Alternative;
using internal::Condition;
using internal::Op;

struct StringHash {
  using is_transparent = void;  // NOLINT(readability-identifier-naming): the standard library's name
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
using Slots = std::vector<uint32_t>;

inline void add_to(StringMap<Slots>& m, std::string_view key, uint32_t slot) { m[std::string(key)].push_back(slot); }

struct ByLength {
  size_t length;
  StringMap<Slots> values;
};

inline void add_by_length(std::vector<ByLength>& v, std::string_view key, uint32_t slot) {
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

inline bool ascii_lower_needed(std::string_view s, std::string* out) {
  core::ascii_lower(s, out);
  return true;
}

struct MatcherParts {
  std::vector<std::vector<Alternative>> patterns;
};

class MatcherIndex {
 public:
  explicit MatcherIndex(MatcherParts parts);

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
  class Scanner;

  // matcher_build.cc
  uint32_t field_for(const std::string& path);
  void index(uint32_t field, const Condition& c, uint32_t slot);

  // matcher_scan.cc
  void prepare(Scratch& s) const;
  bool scan(std::string_view text, Scratch& s, std::string* error) const;

  // matcher_eval.cc
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

  static bool evaluate(const Condition& c, const Value& v, const internal::Number& n);
  void value_hits(const Value& v, uint32_t vi, Scratch& s) const;
  // Ranges containing x: a prefix of `above` (bounds below x), a suffix of
  // `below` (bounds above x), and the two-sided ones starting below x.
  static void numeric_hits(const FieldIndex& f, double x, uint32_t vi, std::vector<Hit>& hits);
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
  bool consistent(const Scratch& s, const Sub& sub) const;
  void collect(Scratch& s, std::vector<uint32_t>& out) const;

  MatcherParts parts_;  // owns the conditions the index points to
  std::vector<PathNode> nodes_;
  std::vector<FieldIndex> fields_;
  std::vector<Sub> subs_;
  std::vector<std::vector<uint32_t>> sub_order_;  // each sub's slots in path order
  std::vector<uint32_t> slot_sub_;
  std::vector<std::pair<uint32_t, uint32_t>> absent_;  // (field, slot) of exists:false
};

}  // namespace switchyard::rules
