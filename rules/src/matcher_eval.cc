// Matching: values to hits (tables and evaluated conditions), the array
// consistency check, and the patterns whose every slot is satisfied.

#include "matcher_index.h"

namespace switchyard::rules {

bool MatcherIndex::evaluate(const Condition& c, const Value& v, const internal::Number& n) {
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

void MatcherIndex::value_hits(const Value& v, uint32_t vi, Scratch& s) const {
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
void MatcherIndex::numeric_hits(const FieldIndex& f, double x, uint32_t vi, std::vector<Hit>& hits) {
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
bool MatcherIndex::consistent(const Scratch& s, const Sub& sub) const {
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

void MatcherIndex::collect(Scratch& s, std::vector<uint32_t>& out) const {
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

}  // namespace switchyard::rules
