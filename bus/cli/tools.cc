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
#include "switchyard/core/status.h"
#include "switchyard/rules/matcher.h"
#include "switchyard/rules/transformer.h"

namespace sy = switchyard;

namespace switchyard::cli {
namespace {

// "@file" reads the file; anything else is the text itself.
sy::core::Result<std::string> text_or_file(const std::string& arg) {
  if (arg.empty() || arg[0] != '@') return arg;
  std::ifstream f(arg.substr(1), std::ios::binary);
  if (!f) return sy::core::Status::not_found("cannot read " + arg.substr(1));
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

sy::core::Result<std::vector<std::string>> read_lines(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return sy::core::Status::not_found("cannot read " + path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(f, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
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
  const auto pattern = text_or_file(args.pattern), event = text_or_file(args.event);
  if (!pattern || !event) {
    std::cerr << "test-pattern: " << (pattern ? event.status() : pattern.status()).message() << "\n";
    return 2;
  }
  const auto result = sy::rules::test_event_pattern(*pattern, *event);
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
  const auto read_patterns = read_lines(args.patterns);
  if (!read_patterns) {
    std::cerr << "match: " << read_patterns.status().message() << "\n";
    return 2;
  }
  const std::vector<std::string>& pattern_lines = *read_patterns;
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
  const auto read_events = read_lines(args.events);
  if (!read_events) {
    std::cerr << "match: " << read_events.status().message() << "\n";
    return 2;
  }
  const std::vector<std::string>& events = *read_events;
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
  const auto transformer_text = text_or_file(args.transformer), read_event = text_or_file(args.event);
  if (!transformer_text || !read_event) {
    std::cerr << "transform: " << (transformer_text ? read_event.status() : transformer_text.status()).message()
              << "\n";
    return 2;
  }
  const std::string& event = *read_event;
  const auto input = sy::rules::parse_target_input(*transformer_text);
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
