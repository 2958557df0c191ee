#pragma once

// The leaf predicates of the pattern language: number comparability,
// wildcards (with EventBridge's complexity limit), equals-ignore-case in
// event-ruler's per-character form, and CIDR blocks.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::rules::internal {

// A JSON number. `comparable` follows event-ruler >= 1.8: the text's value is
// exactly the decimal Java's Double.toString writes for the nearest finite
// double. That is the shortest round-trip decimal (eventbridge.md §2.6's
// hint), except where the shortest has one significant digit: Java then
// picks, among the decimals of one or two digits that round to the double,
// the one closest to it. So 4.9e-324 is comparable and 5e-324 is not.
struct Number {
  double value = 0;
  bool comparable = false;
};
Number parse_number(std::string_view text);
// The hash key of a comparable value (-0 and 0 are one key).
uint64_t number_key(double v);

// A wildcard pattern: bytes, or -1 for '*'.
class Wildcard {
 public:
  // Parses `text` (the decoded JSON string); on error returns false and sets
  // *error to event-ruler's message ("Consecutive wildcard characters at pos N").
  bool parse(std::string_view text, std::string* error);
  bool matches(std::string_view value) const;
  const std::vector<int16_t>& tokens() const { return tokens_; }

 private:
  std::vector<int16_t> tokens_;
};

// The largest number of wildcard NFA states a single input can keep alive at
// once across `patterns`, evaluated up to `limit` + 1.
int wildcard_complexity(const std::vector<const Wildcard*>& patterns, int limit);
inline constexpr int kMaxWildcardComplexity = 10;
inline constexpr const char* kTooComplex =
    "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a "
    "wildcard character";

// equals-ignore-case as event-ruler defines it: for every character of the
// pattern, the value may hold its lower-case or its upper-case form (full
// mappings, so "straße" matches "STRASSE").
class IgnoreCase {
 public:
  enum class Mode { kEquals, kPrefix, kSuffix };
  void compile(std::string_view pattern);
  bool matches(std::string_view value, Mode mode) const;
  // True when the pattern is ASCII: then matching is plain ASCII case folding
  // and `folded()` is the lower-cased pattern.
  bool ascii() const { return ascii_; }
  const std::string& folded() const { return folded_; }

 private:
  struct Forms {
    std::string lower, upper;
  };
  std::vector<Forms> chars_;
  bool ascii_ = true;
  std::string folded_;
};

bool is_ascii(std::string_view s);

// An IPv4 or IPv6 block.
class Cidr {
 public:
  // Parses "addr/bits"; on error returns false with event-ruler's message.
  bool parse(std::string_view text, std::string* error);
  bool contains(std::string_view value) const;

 private:
  bool v6_ = false;
  std::array<uint8_t, 16> net_{};
  int bits_ = 0;
};

// Parses an IP literal as event-ruler does (IPv4 octets may have leading
// zeros). Returns 4 or 16 for the address length, 0 when not an IP literal.
int parse_ip(std::string_view text, std::array<uint8_t, 16>* out);

}  // namespace switchyard::rules::internal
