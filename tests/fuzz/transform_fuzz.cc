// Fuzz target: the target-input parser, JSONPath and template compiler, and
// rendering. Input: transformer JSON, a newline, event JSON.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "switchyard/rules/transformer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  const std::string_view spec = input.substr(0, nl);
  const std::string_view event = nl == std::string_view::npos
                                     ? std::string_view(R"({"id":"1","detail":{"a":[1,{"b":"x"}]}})")
                                     : input.substr(nl + 1);
  const auto target = switchyard::rules::parse_target_input(spec);
  if (!target) return 0;
  const auto t = switchyard::rules::Transformer::compile(*target, "fuzz");
  if (!t) {
    if (t.status().message().empty()) __builtin_trap();  // every refusal must say why
    return 0;
  }
  const auto out = (*t)->render(event, {"r", "arn", "2025-01-01T00:00:00Z"});
  if (!out && out.status().message().empty()) __builtin_trap();
  return 0;
}
