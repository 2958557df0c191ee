#pragma once

namespace switchyard::cli {

// `switchyard admin ...`: a client for the admin API (see kAdminUsage).
int admin_main(int argc, char** argv);

extern const char* const kAdminUsage;

}  // namespace switchyard::cli
