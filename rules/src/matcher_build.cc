// Indexing: each pattern alternative's conditions go to its field's tables.

#include "matcher_index.h"

namespace switchyard::rules {

MatcherIndex::MatcherIndex(MatcherParts parts) : parts_(std::move(parts)) {
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

uint32_t MatcherIndex::field_for(const std::string& path) {
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

void MatcherIndex::index(uint32_t field, const Condition& c, uint32_t slot) {
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

}  // namespace switchyard::rules
