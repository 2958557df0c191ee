#pragma once

#include <string>

namespace switchyard::core {

// A random (version 4) UUID in lower-case 8-4-4-4-12 form. Thread-safe.
std::string uuid_v4();

}  // namespace switchyard::core
