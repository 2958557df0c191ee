#pragma once

// The commands that need no running service: check-config, test-pattern,
// match and transform. Each returns the process exit code.

#include <string>

#include "switchyard/config/config.h"

namespace switchyard::cli {

// Loads a config, printing each problem as FILE:LINE:COL: message.
bool load_config(const std::string& path, config::Config* config);

int run_check_config(const std::string& path);

struct TestPatternArgs {
  std::string pattern;  // JSON text or @file
  std::string event;    // JSON text or @file
};
int run_test_pattern(const TestPatternArgs& args);

struct MatchArgs {
  std::string patterns;  // JSONL file of {"name", "pattern"}
  std::string events;    // JSONL file of events
  long repeat = 1;
  bool stats = false;
};
int run_match(const MatchArgs& args);

struct TransformArgs {
  std::string transformer;  // JSON text or @file
  std::string event;        // JSON text or @file
  std::string rule_name, rule_arn, ingestion_time;
};
int run_transform(const TransformArgs& args);

}  // namespace switchyard::cli
