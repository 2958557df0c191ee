#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace switchyard::core::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_level(Level level);
bool enabled(Level level);  // whether messages of this level are written
bool parse_level(std::string_view text, Level* level);

using Field = std::pair<std::string_view, std::string>;

// Writes one JSON object per line to stderr:
// {"ts":"...","level":"info","msg":"...", <fields>}. Thread-safe.
// Never pass secrets as fields.
void write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});

inline void debug(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::kDebug, msg, f); }
inline void info(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::kInfo, msg, f); }
inline void warn(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::kWarn, msg, f); }
inline void error(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::kError, msg, f); }

}  // namespace switchyard::core::log
