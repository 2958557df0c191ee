#pragma once

// `switchyard serve`: runs the service until SIGTERM or SIGINT.

#include <string>

namespace switchyard::cli {

struct ServeArgs {
  std::string config;
  std::string data_dir;   // overrides storage.path
  std::string log_level;  // overrides server.log_level and reloads
};

int run_serve(const ServeArgs& args);

}  // namespace switchyard::cli
