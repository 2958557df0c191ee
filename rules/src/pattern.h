#pragma once

// Compiles one event pattern into its $or alternatives, each a list of
// leaves (a flattened field path and the conditions any of which it needs).

#include <string>
#include <string_view>
#include <vector>

#include "predicates.h"

namespace switchyard::rules::internal {

enum class Op : uint8_t {
  kExactString,
  kExactNumber,      // comparable number, by value
  kExactNumberText,  // number that is not comparable, by text
  kTrue,
  kFalse,
  kNull,
  kPrefix,
  kSuffix,
  kEqualsIgnoreCase,
  kPrefixIgnoreCase,
  kSuffixIgnoreCase,
  kWildcard,
  kNumeric,
  kExists,
  kNotExists,
  kCidr,
  kAnythingButStrings,
  kAnythingButNumbers,
  kAnythingButPrefix,
  kAnythingButSuffix,
  kAnythingButIgnoreCase,
  kAnythingButWildcard,
};

struct NumericRange {
  bool has_lo = false, lo_inclusive = false, has_hi = false, hi_inclusive = false;
  double lo = 0, hi = 0;
  bool contains(double v) const {
    if (has_lo && (v < lo || (v == lo && !lo_inclusive))) return false;
    if (has_hi && (v > hi || (v == hi && !hi_inclusive))) return false;
    return true;
  }
};

struct Condition {
  Op op = Op::kExactString;
  std::string text;                  // exact string / prefix / suffix / number text
  double number = 0;                 // kExactNumber
  NumericRange range;                // kNumeric
  IgnoreCase ignore_case;            // *IgnoreCase
  Wildcard wildcard;                 // kWildcard
  Cidr cidr;                         // kCidr
  std::vector<std::string> strings;  // anything-but strings, prefixes, suffixes, number texts
  std::vector<double> numbers;       // anything-but numbers
  std::vector<IgnoreCase> ignore_cases;
  std::vector<Wildcard> wildcards;
};

struct Leaf {
  std::string path;                   // keys joined with '.'
  std::vector<Condition> conditions;  // OR
};

using Alternative = std::vector<Leaf>;  // AND

struct PatternError {
  std::string reason;  // EventBridge's reason text
  std::string path;    // the field it concerns, when there is one
};

struct CompileOptions {
  size_t max_pattern_length = 2048;  // characters; EventBridge's "Event pattern size" quota
  size_t max_or_combinations = 1000;
  int max_wildcard_complexity = kMaxWildcardComplexity;
};

bool compile_pattern(std::string_view text, const CompileOptions& options, std::vector<Alternative>* out,
                     PatternError* error);

}  // namespace switchyard::rules::internal
