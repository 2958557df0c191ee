#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/core/status.h"

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
  // ascending order. kInvalidArgument when the text is not one JSON object;
  // `out` is then empty.
  core::Status match(std::string_view event_json, std::vector<uint32_t>& out) const;

 private:
  friend class MatcherBuilder;
  explicit Matcher(std::unique_ptr<MatcherIndex> index);
  std::unique_ptr<MatcherIndex> index_;
};

class MatcherBuilder {
 public:
  MatcherBuilder();
  ~MatcherBuilder();

  // Validates and adds one pattern (JSON text); an invalid pattern takes no
  // id. Its failure (kInvalidArgument) says PatternError::describe(), and
  // `detail`, when given, gets the reason and the field path.
  core::Status add(std::string_view pattern_json, PatternError* detail = nullptr);

  // Builds the matcher from every pattern added so far and resets the builder.
  std::shared_ptr<const Matcher> build();

 private:
  std::unique_ptr<MatcherParts> parts_;
};

// Validates one pattern; kInvalidArgument with the reason alone as its
// message (and `detail` filled, when given) when it is not valid.
core::Status validate_pattern(std::string_view pattern_json, PatternError* detail = nullptr);

// EventBridge's TestEventPattern check of the event: a JSON object holding
// id, account, source, time, region and detail-type. kInvalidArgument
// saying "Parameter Event is not valid." (with the reason after it) when not.
core::Status validate_test_event(std::string_view event_json);

// One line of a pattern file, {"name": "...", "pattern": {...}}: the name
// and the pattern's JSON text (number literals as written).
struct NamedPattern {
  std::string name;
  std::string pattern_json;
};
core::Result<NamedPattern> parse_named_pattern(std::string_view line);

// EventBridge's TestEventPattern: whether the event matches. Check the
// pattern first with validate_pattern (InvalidEventPatternException); the
// failure here (kInvalidArgument) is an invalid event (ValidationException),
// or, when the pattern was not checked, an invalid pattern.
core::Result<bool> test_event_pattern(std::string_view pattern_json, std::string_view event_json);

}  // namespace switchyard::rules
