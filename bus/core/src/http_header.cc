#include "switchyard/core/http_header.h"

namespace switchyard::core {

bool valid_header_value(std::string_view value) {
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7F) return false;
  }
  return true;
}

}  // namespace switchyard::core
