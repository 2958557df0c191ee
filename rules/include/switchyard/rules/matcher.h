#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::rules {

class MatcherIndex;
struct MatcherParts;

// Why a pattern was refused: EventBridge's reason text (what TestEventPattern
// and PutRule report after "Event pattern is not valid. Reason: ") and the
// flattened field path it concerns ("" when it concerns the whole pattern).
struct PatternError {
  std::string reason;
  std::string path;
  // "Event pattern is not valid. Reason: <reason>" plus " (field <path>)".
  std::string describe() const;
};

// All event patterns of one bus compiled into one immutable matcher: every
// field path any pattern names is indexed once (hash lookups for exact,
// prefix, suffix and case-insensitive values; ranges, wildcards, CIDR and
// anything-but evaluated only on the fields that use them), so the cost per
// event grows with the matches, not with the number of patterns, and only
// the fields some pattern names are examined in the event.
//
// Thread-safe: a built Matcher is read-only and shared by every thread; a
// config reload builds a new one and swaps the pointer.
class Matcher {
 public:
  ~Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // Number of patterns compiled in.
  size_t size() const;

  // Matches one event given as JSON text. Fills `out` with the ids (the order
  // in which patterns were added, from 0) of every matching pattern, in
  // ascending order. Returns false and sets *error when the text is not one
  // JSON object; `out` is then empty.
  bool match(std::string_view event_json, std::vector<uint32_t>& out, std::string* error = nullptr) const;

 private:
  friend class MatcherBuilder;
  explicit Matcher(std::unique_ptr<MatcherIndex> index);
  std::unique_ptr<MatcherIndex> index_;
};

class MatcherBuilder {
 public:
  MatcherBuilder();
  ~MatcherBuilder();

  // Validates and adds one pattern (JSON text). Returns false and fills
  // *error when the pattern is invalid; an invalid pattern takes no id.
  bool add(std::string_view pattern_json, PatternError* error);
  bool add(std::string_view pattern_json, std::string* reason);

  // Builds the matcher from every pattern added so far and resets the builder.
  std::shared_ptr<const Matcher> build();

 private:
  std::unique_ptr<MatcherParts> parts_;
};

// Validates one pattern; returns its error reason, or "" when it is valid.
std::string validate_pattern(std::string_view pattern_json);

// EventBridge's TestEventPattern check of the event: a JSON object holding
// id, account, source, time, region and detail-type. Returns "" when valid,
// else "Parameter Event is not valid." (with the reason after it).
std::string validate_test_event(std::string_view event_json);

// Reads one line of a pattern file, {"name": "...", "pattern": {...}}, and
// returns the name and the pattern's JSON text (number literals as written).
bool parse_named_pattern(std::string_view line, std::string* name, std::string* pattern_json, std::string* error);

// EventBridge's TestEventPattern: 1 match, 0 no match, -1 invalid pattern
// (*error set to the pattern error's describe()), -2 invalid event.
int test_event_pattern(std::string_view pattern_json, std::string_view event_json, std::string* error);

}  // namespace switchyard::rules
