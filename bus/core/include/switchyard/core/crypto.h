#pragma once

// HMAC-SHA256, SHA-256, hex, base64 and percent-encoding, and a
// constant-time comparison for secrets.

#include <string>
#include <string_view>

namespace switchyard::core {

std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string sha256_hex(std::string_view data);
std::string to_hex(std::string_view bytes);
std::string base64_encode(std::string_view bytes);
// RFC 3986 percent-encoding: unreserved characters (and '/' when
// `keep_slash`) kept, every other byte as %XX with upper-case hex.
std::string percent_encode(std::string_view s, bool keep_slash = false);
bool base64_decode(std::string_view text, std::string* out);
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace switchyard::core
