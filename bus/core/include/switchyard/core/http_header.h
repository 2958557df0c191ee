#pragma once

#include <string_view>

namespace switchyard::core {

// Whether `value` may be sent as an HTTP header field value (RFC 9110 §5.5):
// visible characters, spaces, tabs and bytes >= 0x80, and no CR, LF, NUL or
// other control character. A value that fails would let its source (an
// event, a trace header, a token endpoint) add headers or whole requests to
// a destination's connection, with the connection's credentials.
bool valid_header_value(std::string_view value);

}  // namespace switchyard::core
