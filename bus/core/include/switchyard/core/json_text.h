#pragma once

// Writing JSON text by hand where a document is built on every request:
// a JSON string literal appended to `out`, exactly as nlohmann::json would
// write it (escapes, invalid UTF-8 replaced by U+FFFD), without building a
// json value for it when the text is plain printable ASCII.

#include <string>
#include <string_view>

namespace switchyard::core {

void append_json_string(std::string& out, std::string_view s);

}  // namespace switchyard::core
