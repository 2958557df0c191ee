#pragma once

// `switchyard admin ...`: a client for the admin API.

#include <string>

namespace CLI {  // NOLINT(readability-identifier-naming): CLI11's namespace
class App;
}

namespace switchyard::cli {

struct AdminArgs {
  std::string url;                       // else $SWITCHYARD_ADMIN_URL, else http://127.0.0.1:8081
  std::string token_file;                // else $SWITCHYARD_ADMIN_TOKEN
  bool json = false;                     // print the API's answer as it is
  bool wait = false;                     // replay start/status: follow until the replay ends
  std::string command;                   // rules, destinations, pause, ..., replay
  std::string replay;                    // with command "replay": start, status or cancel
  std::string name;                      // the destination or replay named
  std::string limit;                     // dlq, redrive
  std::string archive, from, to, rules;  // replay start
};

// Adds `admin` and its commands to `app`; the parsed values land in `*args`.
CLI::App* add_admin_command(CLI::App& app, AdminArgs* args);

// Exit 0: done; 1: the service refused; 2: usage; 3: the service could not
// be reached.
int run_admin(const AdminArgs& args);

}  // namespace switchyard::cli
