// switchyard: the one binary. Reads the config, builds each component's
// options, wires storage -> dispatcher -> server, and handles signals.
#include <prometheus/registry.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cli/admin.h"
#include "cli/reload.h"
#include "switchyard/bus/routing.h"
#include "switchyard/bus/server.h"
#include "switchyard/config/config.h"
#include "switchyard/core/log.h"
#include "switchyard/destinations/dispatcher.h"
#include "switchyard/rules/matcher.h"
#include "switchyard/rules/transformer.h"
#include "switchyard/storage/store.h"

namespace sy = switchyard;

namespace {

const char* kUsage = R"(usage: switchyard <command> [options]

commands:
  serve --config FILE [--data-dir DIR] [--log-level debug|info|warn|error]
      run the service
  check-config --config FILE
      validate a configuration; exit 0 when valid, 2 otherwise
  test-pattern --pattern P --event E
      P and E are JSON text or @file; prints "match" (exit 0) or "no match" (exit 1);
      an invalid pattern or event prints the reason and exits 2
  match --patterns FILE.jsonl --events FILE.jsonl [--repeat K] [--stats]
      batch matching: one line per event, "N<TAB>name,name,..."
  transform --transformer T --event E [--rule-name N] [--rule-arn A] [--ingestion-time ISO8601]
      prints exactly the bytes a target would receive; an invalid transformer exits 2
  admin [--url URL] [--token-file FILE] [--json] <rules|destinations|pause D|resume D|dlq D|redrive D|reload>
      a client for the admin API; "switchyard admin --help" for details
)";

struct Args {
  std::string command;
  std::map<std::string, std::string> flags;
};

bool parse_args(int argc, char** argv, Args* out, std::string* error) {
  if (argc < 2) {
    *error = "missing command";
    return false;
  }
  out->command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) {
      *error = "unexpected argument '" + a + "'";
      return false;
    }
    const auto eq = a.find('=');
    if (a == "--stats") {
      out->flags["stats"] = "1";
    } else if (eq != std::string::npos) {
      out->flags[a.substr(2, eq - 2)] = a.substr(eq + 1);
    } else if (i + 1 < argc) {
      out->flags[a.substr(2)] = argv[++i];
    } else {
      *error = "option " + a + " needs a value";
      return false;
    }
  }
  return true;
}

// "@file" reads the file; anything else is the text itself.
bool text_or_file(const std::string& arg, std::string* out, std::string* error) {
  if (arg.empty() || arg[0] != '@') {
    *out = arg;
    return true;
  }
  std::ifstream f(arg.substr(1), std::ios::binary);
  if (!f) {
    *error = "cannot read " + arg.substr(1);
    return false;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

bool load_config(const std::string& path, sy::config::Config* config) {
  std::vector<sy::config::ConfigError> errors;
  if (sy::config::load_file(path, config, &errors)) return true;
  for (const auto& e : errors) std::cerr << e.format() << "\n";
  return false;
}

int cmd_check_config(const Args& args) {
  auto it = args.flags.find("config");
  if (it == args.flags.end()) {
    std::cerr << "check-config: --config FILE is required\n";
    return 2;
  }
  sy::config::Config config;
  if (!load_config(it->second, &config)) return 2;
  std::cout << it->second << ": ok (" << config.buses.size() << " buses, " << config.rules.size() << " rules, "
            << config.api_destinations.size() << " api destinations, " << config.webhooks.size() << " webhooks)\n";
  return 0;
}

int cmd_test_pattern(const Args& args) {
  std::string pattern, event, error;
  auto p = args.flags.find("pattern");
  auto e = args.flags.find("event");
  if (p == args.flags.end() || e == args.flags.end()) {
    std::cerr << "test-pattern: --pattern and --event are required\n";
    return 2;
  }
  if (!text_or_file(p->second, &pattern, &error) || !text_or_file(e->second, &event, &error)) {
    std::cerr << "test-pattern: " << error << "\n";
    return 2;
  }
  const int result = sy::rules::test_event_pattern(pattern, event, &error);
  if (result < 0) {
    std::cerr << error << "\n";
    return 2;
  }
  std::cout << (result ? "match" : "no match") << "\n";
  return result ? 0 : 1;
}

bool read_lines(const std::string& path, std::vector<std::string>* lines, std::string* error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *error = "cannot read " + path;
    return false;
  }
  std::string line;
  while (std::getline(f, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines->push_back(std::move(line));
  }
  return true;
}

int cmd_match(const Args& args) {
  auto pf = args.flags.find("patterns");
  auto ef = args.flags.find("events");
  if (pf == args.flags.end() || ef == args.flags.end()) {
    std::cerr << "match: --patterns FILE and --events FILE are required\n";
    return 2;
  }
  long repeat = 1;
  if (auto r = args.flags.find("repeat"); r != args.flags.end()) {
    repeat = std::strtol(r->second.c_str(), nullptr, 10);
    if (repeat < 1) {
      std::cerr << "match: --repeat must be a positive whole number\n";
      return 2;
    }
  }
  const bool stats = args.flags.count("stats") != 0;
  std::vector<std::string> pattern_lines, events;
  std::string error;
  if (!read_lines(pf->second, &pattern_lines, &error)) {
    std::cerr << "match: " << error << "\n";
    return 2;
  }
  sy::rules::MatcherBuilder builder;
  std::vector<std::string> names;
  for (size_t i = 0; i < pattern_lines.size(); ++i) {
    if (pattern_lines[i].find_first_not_of(" \t") == std::string::npos) continue;
    std::string name, pattern;
    sy::rules::PatternError pe;
    if (!sy::rules::parse_named_pattern(pattern_lines[i], &name, &pattern, &error)) {
      std::cerr << pf->second << ":" << i + 1 << ": " << error << "\n";
      return 2;
    }
    if (!builder.add(pattern, &pe)) {
      std::cerr << pf->second << ":" << i + 1 << ": " << pe.describe() << "\n";
      return 2;
    }
    names.push_back(name);
  }
  auto matcher = builder.build();
  if (!read_lines(ef->second, &events, &error)) {
    std::cerr << "match: " << error << "\n";
    return 2;
  }
  // The last pass's results, printed after the timed phase.
  std::vector<std::vector<uint32_t>> last(events.size());
  std::vector<std::string> errors(events.size());
  std::vector<uint32_t> ids;
  uint64_t matched = 0, processed = 0;
  const auto start = std::chrono::steady_clock::now();
  for (long pass = 0; pass < repeat; ++pass) {
    const bool keep = pass == repeat - 1;
    for (size_t i = 0; i < events.size(); ++i) {
      std::string* err = keep ? &errors[i] : nullptr;
      if (!matcher->match(events[i], ids, err)) continue;
      ++processed;
      matched += ids.size();
      if (keep) last[i] = ids;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  bool invalid = false;
  std::string out;
  for (size_t i = 0; i < events.size(); ++i) {
    if (!errors[i].empty()) {
      std::cerr << ef->second << ":" << i + 1 << ": invalid event: " << errors[i] << "\n";
      invalid = true;
      continue;
    }
    std::vector<std::string> hit;
    for (uint32_t id : last[i]) hit.push_back(names[id]);
    std::sort(hit.begin(), hit.end());
    out += std::to_string(i + 1);
    out += '\t';
    for (size_t k = 0; k < hit.size(); ++k) {
      if (k) out += ',';
      out += hit[k];
    }
    out += '\n';
  }
  std::cout << out;
  std::cout.flush();
  if (stats) {
    char line[256];
    std::snprintf(line, sizeof line, "events=%llu matches=%llu seconds=%.6f events_per_second=%.0f\n",
                  static_cast<unsigned long long>(processed), static_cast<unsigned long long>(matched), seconds,
                  seconds > 0 ? processed / seconds : 0.0);
    std::cerr << line;
  }
  return invalid ? 3 : 0;
}

int cmd_transform(const Args& args) {
  auto t = args.flags.find("transformer");
  auto e = args.flags.find("event");
  if (t == args.flags.end() || e == args.flags.end()) {
    std::cerr << "transform: --transformer and --event are required\n";
    return 2;
  }
  std::string transformer_text, event, error;
  if (!text_or_file(t->second, &transformer_text, &error) || !text_or_file(e->second, &event, &error)) {
    std::cerr << "transform: " << error << "\n";
    return 2;
  }
  sy::rules::TargetInput input;
  if (!sy::rules::parse_target_input(transformer_text, &input, &error)) {
    std::cerr << "invalid transformer: " << error << "\n";
    return 2;
  }
  auto transformer = sy::rules::Transformer::compile(input, "target", &error);
  if (!transformer) {
    std::cerr << "invalid transformer: " << error << "\n";
    return 2;
  }
  const auto envelope = nlohmann::json::parse(event, nullptr, false);
  if (!envelope.is_object()) {
    std::cerr << "transform: the event is not a JSON object\n";
    return 2;
  }
  auto field = [&](const char* key, const char* fallback) {
    auto it = envelope.find(key);
    return it != envelope.end() && it->is_string() ? it->get<std::string>() : std::string(fallback);
  };
  sy::rules::TransformContext ctx;
  ctx.rule_name = args.flags.count("rule-name") ? args.flags.at("rule-name") : "rule";
  ctx.rule_arn = args.flags.count("rule-arn") ? args.flags.at("rule-arn")
                                             : "arn:aws:events:" + field("region", "us-east-1") + ":" +
                                                   field("account", "000000000000") + ":rule/" + ctx.rule_name;
  ctx.ingestion_time = args.flags.count("ingestion-time") ? args.flags.at("ingestion-time") : field("time", "");
  sy::rules::Rendered out;
  if (!transformer->render(event, ctx, &out, &error)) {
    std::cerr << "not delivered (INVALID_JSON): " << error << "\n";
    return 3;
  }
  std::cout << out.body;
  std::cout.flush();
  return 0;
}

int cmd_serve(const Args& args) {
  auto it = args.flags.find("config");
  if (it == args.flags.end()) {
    std::cerr << "serve: --config FILE is required\n";
    return 2;
  }
  const std::string config_path = it->second;
  sy::config::Config config;
  if (!load_config(config_path, &config)) return 2;
  const bool fixed_log_level = args.flags.count("log-level") != 0;
  {
    sy::core::log::Level level;
    if (!sy::core::log::parse_level(fixed_log_level ? args.flags.at("log-level") : config.server.log_level, &level)) {
      std::cerr << "serve: --log-level must be debug, info, warn or error\n";
      return 2;
    }
    sy::core::log::set_level(level);
  }

  // Signals are taken by this thread alone (sigwait below); every thread
  // started from here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto registry = std::make_shared<prometheus::Registry>();
  sy::storage::Options store_options{config.storage.path, config.storage.sync, config.storage.min_free_mb << 20,
                                     registry.get()};
  if (auto d = args.flags.find("data-dir"); d != args.flags.end()) store_options.path = d->second;
  std::string error;
  auto store = sy::storage::Store::open(store_options, &error);
  if (!store) {
    sy::core::log::error("cannot open the store", {{"error", error}});
    return 1;
  }

  sy::destinations::Dispatcher dispatcher(sy::destinations::Options{}, *store, *registry);
  dispatcher.set_destinations(sy::cli::destinations_of(config));
  dispatcher.start();

  sy::bus::ServerOptions server_options;
  server_options.listen = config.server.listen;
  server_options.admin_listen = config.server.admin_listen;
  server_options.max_body_bytes = config.server.max_body_bytes;
  server_options.max_put_events_bytes = config.server.max_put_events_bytes;
  server_options.threads = config.server.threads;
  server_options.max_connections = config.server.max_connections;
  server_options.read_timeout_seconds = config.server.read_timeout_seconds;
  server_options.admin_token = config.server.admin_token;
  sy::bus::Server server(server_options, *store, dispatcher, registry);
  const auto routing = sy::bus::build_routing(config, *registry);
  server.set_routing(routing);
  sy::bus::Replayer::Options replay_options;
  replay_options.max_events_per_second = config.server.replay_max_events_per_second;
  sy::bus::Replayer replayer(replay_options, *store, dispatcher, *registry);
  replayer.set_routing(routing);
  replayer.start();
  server.set_replayer(&replayer);
  const int64_t drain_ms = int64_t{config.server.shutdown_timeout_seconds} * 1000;
  sy::cli::Reloader reloader(config_path, config, *store, dispatcher, server, replayer, *registry, fixed_log_level);
  server.set_reload_handler([&reloader](std::string* report) { return reloader.reload(report); });
  if (auto st = server.start(); !st) {
    sy::core::log::error("cannot start the server", {{"error", st.message()}});
    dispatcher.stop();
    return 1;
  }
  sy::core::log::info("switchyard is serving", {{"ingest", server.ingest_address()},
                                                {"admin", server.admin_address()},
                                                {"data_dir", store_options.path},
                                                {"config", config_path}});

  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      std::string report;
      reloader.reload(&report);
      continue;
    }
    sy::core::log::info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                                          {"drain_seconds", std::to_string(drain_ms / 1000)}});
    break;
  }
  // Stop accepting and let running requests finish: what they acknowledge
  // is stored. Deliveries in flight stay stored and are retried after the
  // next start. Closing the store flushes it.
  const auto started = std::chrono::steady_clock::now();
  server.stop(drain_ms);
  server.set_reload_handler(nullptr);
  server.set_replayer(nullptr);
  replayer.stop();  // a replay stops between two stored steps and resumes after the next start
  dispatcher.stop();
  store.reset();
  sy::core::log::info("stopped", {{"shutdown_ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                     std::chrono::steady_clock::now() - started)
                                                                     .count())}});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "admin") return sy::cli::admin_main(argc, argv);
  Args args;
  std::string error;
  if (!parse_args(argc, argv, &args, &error)) {
    std::cerr << "switchyard: " << error << "\n\n" << kUsage;
    return 2;
  }
  if (args.command == "serve") return cmd_serve(args);
  if (args.command == "check-config") return cmd_check_config(args);
  if (args.command == "test-pattern") return cmd_test_pattern(args);
  if (args.command == "match") return cmd_match(args);
  if (args.command == "transform") return cmd_transform(args);
  if (args.command == "help" || args.command == "--help" || args.command == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << "switchyard: unknown command '" << args.command << "'\n\n" << kUsage;
  return 2;
}
