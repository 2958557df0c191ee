// The offline commands: check-config, test-pattern, match, transform.
#include "cli/tools.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "switchyard/config/config.h"
#include "switchyard/rules/matcher.h"
#include "switchyard/rules/transformer.h"

namespace sy = switchyard;

namespace switchyard::cli {
namespace {

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

}  // namespace

bool load_config(const std::string& path, sy::config::Config* config) {
  std::vector<sy::config::ConfigError> errors;
  if (sy::config::load_file(path, config, &errors)) return true;
  for (const auto& e : errors) std::cerr << e.format() << "\n";
  return false;
}

int run_check_config(const std::string& path) {
  sy::config::Config config;
  if (!load_config(path, &config)) return 2;
  std::cout << path << ": ok (" << config.buses.size() << " buses, " << config.rules.size() << " rules, "
            << config.api_destinations.size() << " api destinations, " << config.webhooks.size() << " webhooks)\n";
  return 0;
}

int run_test_pattern(const TestPatternArgs& args) {
  std::string pattern, event, error;
  if (!text_or_file(args.pattern, &pattern, &error) || !text_or_file(args.event, &event, &error)) {
    std::cerr << "test-pattern: " << error << "\n";
    return 2;
  }
  const auto result = sy::rules::test_event_pattern(pattern, event);
  if (!result) {
    std::cerr << result.status().message() << "\n";
    return 2;
  }
  std::cout << (*result ? "match" : "no match") << "\n";
  return *result ? 0 : 1;
}

int run_match(const MatchArgs& args) {
  const long repeat = args.repeat;
  const bool stats = args.stats;
  std::vector<std::string> pattern_lines, events;
  std::string error;
  if (!read_lines(args.patterns, &pattern_lines, &error)) {
    std::cerr << "match: " << error << "\n";
    return 2;
  }
  sy::rules::MatcherBuilder builder;
  std::vector<std::string> names;
  for (size_t i = 0; i < pattern_lines.size(); ++i) {
    if (pattern_lines[i].find_first_not_of(" \t") == std::string::npos) continue;
    const auto named = sy::rules::parse_named_pattern(pattern_lines[i]);
    if (!named) {
      std::cerr << args.patterns << ":" << i + 1 << ": " << named.status().message() << "\n";
      return 2;
    }
    if (const auto st = builder.add(named->pattern_json); !st) {
      std::cerr << args.patterns << ":" << i + 1 << ": " << st.message() << "\n";
      return 2;
    }
    names.push_back(named->name);
  }
  auto matcher = builder.build();
  if (!read_lines(args.events, &events, &error)) {
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
      if (const auto st = matcher->match(events[i], ids); !st) {
        if (keep) errors[i] = st.message();
        continue;
      }
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
      std::cerr << args.events << ":" << i + 1 << ": invalid event: " << errors[i] << "\n";
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

int run_transform(const TransformArgs& args) {
  std::string transformer_text, event, error;
  if (!text_or_file(args.transformer, &transformer_text, &error) || !text_or_file(args.event, &event, &error)) {
    std::cerr << "transform: " << error << "\n";
    return 2;
  }
  const auto input = sy::rules::parse_target_input(transformer_text);
  if (!input) {
    std::cerr << "invalid transformer: " << input.status().message() << "\n";
    return 2;
  }
  const auto compiled = sy::rules::Transformer::compile(*input, "target");
  if (!compiled) {
    std::cerr << "invalid transformer: " << compiled.status().message() << "\n";
    return 2;
  }
  const std::shared_ptr<const sy::rules::Transformer>& transformer = *compiled;
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
  ctx.rule_name = args.rule_name.empty() ? "rule" : args.rule_name;
  ctx.rule_arn = !args.rule_arn.empty() ? args.rule_arn
                                        : "arn:aws:events:" + field("region", "us-east-1") + ":" +
                                              field("account", "000000000000") + ":rule/" + ctx.rule_name;
  ctx.ingestion_time = !args.ingestion_time.empty() ? args.ingestion_time : field("time", "");
  const auto out = transformer->render(event, ctx);
  if (!out) {
    std::cerr << "not delivered (INVALID_JSON): " << out.status().message() << "\n";
    return 3;
  }
  std::cout << out->body;
  std::cout.flush();
  return 0;
}

}  // namespace switchyard::cli
