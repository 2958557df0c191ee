#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchyard::core {

int64_t now_ms();

// "2025-03-01T10:15:30Z" (UTC, whole seconds).
std::string format_time(int64_t epoch_seconds);
// "2025-03-01T10:15:30.123Z" (UTC, milliseconds).
std::string format_time_ms(int64_t epoch_ms);

// Parses an RFC 3339 / ISO 8601 timestamp: date, 'T' or ' ', time with
// optional fraction, and 'Z' or a +hh:mm / -hh:mm offset. Returns epoch
// milliseconds, or nothing when the text is not such a timestamp.
std::optional<int64_t> parse_time_ms(std::string_view text);

}  // namespace switchyard::core
