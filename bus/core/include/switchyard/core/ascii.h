#pragma once

// ASCII case, the one way: header names, auth schemes, token types and the
// matcher's case folding compare and fold A-Z only, never by locale.

#include <string>
#include <string_view>

namespace switchyard::core {

// Whether `a` and `b` are equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b);

// `in` with A-Z folded to a-z, into `*out` (reused: no allocation once it
// is large enough) or as a new string.
void ascii_lower(std::string_view in, std::string* out);
std::string ascii_lower(std::string_view in);

}  // namespace switchyard::core
