// Fuzz target: the configuration loader on arbitrary YAML text. It answers
// with a config or with problems that each have a position and a message;
// nothing is thrown past it, and alias bombs are refused before expansion.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "switchyard/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  switchyard::config::Config c;
  std::vector<switchyard::config::ConfigError> errors;
  bool ok = false;
  try {
    ok = switchyard::config::load_text(text, "fuzz.yaml", &c, &errors);
  } catch (...) {
    __builtin_trap();  // never past the loader
  }
  if (!ok && errors.empty()) __builtin_trap();
  for (const auto& e : errors)
    if (e.line < 1 || e.column < 1 || e.message.empty()) __builtin_trap();
  return 0;
}
