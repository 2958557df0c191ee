// Fuzz target: the pattern compiler, then the matcher on the same bytes as an
// event. Input: pattern JSON, a newline, event JSON (either may be garbage).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "switchyard/rules/matcher.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  const std::string_view pattern = input.substr(0, nl);
  const std::string_view event = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
  switchyard::rules::MatcherBuilder builder;
  switchyard::rules::PatternError error;
  if (builder.add(pattern, &error)) {
    auto matcher = builder.build();
    std::vector<uint32_t> ids;
    (void)matcher->match(event, ids);
    (void)matcher->match(pattern, ids);
  } else if (error.reason.empty()) {
    __builtin_trap();  // every refusal must say why
  }
  const auto named = switchyard::rules::parse_named_pattern(input);
  if (!named && named.status().message().empty()) __builtin_trap();
  const auto event_ok = switchyard::rules::validate_test_event(event);
  if (!event_ok && event_ok.message().empty()) __builtin_trap();
  return 0;
}
