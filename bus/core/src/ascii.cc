#include "switchyard/core/ascii.h"

namespace switchyard::core {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

void ascii_lower(std::string_view in, std::string* out) {
  out->resize(in.size());
  for (size_t i = 0; i < in.size(); ++i) (*out)[i] = lower(in[i]);
}

std::string ascii_lower(std::string_view in) {
  std::string out;
  ascii_lower(in, &out);
  return out;
}

}  // namespace switchyard::core
