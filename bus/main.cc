// switchyard: the one binary. One argument parser (CLI11) for every command;
// each command lives in cli/.
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

#include "cli/admin.h"
#include "cli/serve.h"
#include "cli/tools.h"
#include "switchyard_version.h"

namespace cli = switchyard::cli;

namespace {

// Usage errors exit 2 with what is wrong and where to look; --help and
// --version exit 0.
int parse_error(const CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
  // The usage line of the command that was being parsed.
  const CLI::App* at = &app;
  std::string name = "switchyard";
  for (auto subs = at->get_subcommands(); !subs.empty(); subs = at->get_subcommands()) {
    at = subs.front();
    name += " " + at->get_name();
  }
  std::string usage;
  if (const auto formatter = std::dynamic_pointer_cast<CLI::Formatter>(at->get_formatter()))
    usage = formatter->make_usage(at, name);
  std::cerr << "switchyard: " << e.what() << "\n" << usage << "Run '" << name << " --help' for more information.\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Switchyard: a self-hosted, EventBridge-style event bus and API-destination delivery engine.",
               "switchyard"};
  app.set_version_flag("--version", "switchyard " SWITCHYARD_VERSION " (" SWITCHYARD_GIT_COMMIT ")");
  app.require_subcommand(1);

  cli::ServeArgs serve;
  CLI::App* serve_cmd = app.add_subcommand("serve", "run the service");
  serve_cmd->add_option("--config", serve.config, "the YAML configuration")->required();
  serve_cmd->add_option("--data-dir", serve.data_dir, "the store's directory (default: storage.path)");
  serve_cmd->add_option("--log-level", serve.log_level, "fixed log level, over server.log_level")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));

  std::string check_path;
  CLI::App* check_cmd =
      app.add_subcommand("check-config", "validate a configuration; exit 0 when valid, 2 with FILE:LINE:COL problems");
  check_cmd->add_option("--config", check_path, "the YAML configuration")->required();

  cli::TestPatternArgs test;
  CLI::App* test_cmd = app.add_subcommand(
      "test-pattern", "prints \"match\" (exit 0) or \"no match\" (exit 1); an invalid pattern or event exits 2");
  test_cmd->add_option("--pattern", test.pattern, "an event pattern: JSON text or @file")->required();
  test_cmd->add_option("--event", test.event, "an event: JSON text or @file")->required();

  cli::MatchArgs match;
  CLI::App* match_cmd = app.add_subcommand("match", "batch matching: one line per event, \"N<TAB>name,name,...\"");
  match_cmd->add_option("--patterns", match.patterns, "JSONL of {\"name\", \"pattern\"}")->required();
  match_cmd->add_option("--events", match.events, "JSONL of events")->required();
  match_cmd->add_option("--repeat", match.repeat, "run the events K times, print the last pass")
      ->check(CLI::Range(1L, 1000000L));
  match_cmd->add_flag("--stats", match.stats, "events/s of the matching phase on stderr");

  cli::TransformArgs transform;
  CLI::App* transform_cmd = app.add_subcommand("transform", "print exactly the bytes a target would receive");
  transform_cmd->add_option("--transformer", transform.transformer, "target input: JSON text or @file")->required();
  transform_cmd->add_option("--event", transform.event, "an event: JSON text or @file")->required();
  transform_cmd->add_option("--rule-name", transform.rule_name, "<aws.events.rule-name>");
  transform_cmd->add_option("--rule-arn", transform.rule_arn, "<aws.events.rule-arn>");
  transform_cmd->add_option("--ingestion-time", transform.ingestion_time, "<aws.events.event.ingestion-time>");

  cli::AdminArgs admin;
  CLI::App* admin_cmd = cli::add_admin_command(app, &admin);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return parse_error(app, e);
  }
  if (serve_cmd->parsed()) return cli::run_serve(serve);
  if (check_cmd->parsed()) return cli::run_check_config(check_path);
  if (test_cmd->parsed()) return cli::run_test_pattern(test);
  if (match_cmd->parsed()) return cli::run_match(match);
  if (transform_cmd->parsed()) return cli::run_transform(transform);
  if (admin_cmd->parsed()) return cli::run_admin(admin);
  return 2;  // require_subcommand(1) makes this unreachable
}
