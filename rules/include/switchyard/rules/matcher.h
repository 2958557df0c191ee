#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::rules {

class MatcherImpl;

// All event patterns of one bus compiled into one immutable matcher.
// Thread-safe: a built Matcher is read-only and shared by every ingest thread;
// a config reload builds a new one and swaps the pointer.
class Matcher {
 public:
  ~Matcher();
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // Number of patterns compiled in.
  size_t size() const;

  // Matches one event given as JSON text. Fills `out` with the ids (the order
  // in which patterns were added, from 0) of every matching pattern, in
  // ascending order. Returns false and sets *error when the text is not a JSON
  // object; `out` is then empty.
  bool match(std::string_view event_json, std::vector<uint32_t>& out, std::string* error = nullptr) const;

 private:
  friend class MatcherBuilder;
  explicit Matcher(std::unique_ptr<MatcherImpl> impl);
  std::unique_ptr<MatcherImpl> impl_;
};

class MatcherBuilder {
 public:
  MatcherBuilder();
  ~MatcherBuilder();

  // Validates and adds one pattern (JSON text). Returns false and sets *error
  // to EventBridge's reason text when the pattern is invalid; an invalid
  // pattern takes no id.
  bool add(std::string_view pattern_json, std::string* error);

  // Builds the matcher from every pattern added so far.
  std::shared_ptr<const Matcher> build();

 private:
  std::unique_ptr<MatcherImpl> impl_;
};

// Validates one pattern; returns the reason when it is invalid, "" otherwise.
std::string validate_pattern(std::string_view pattern_json);

}  // namespace switchyard::rules
