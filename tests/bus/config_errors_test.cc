// Every validation error check-config can report, each with its line and
// column: one deliberately broken configuration per row.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <string>
#include <vector>

#include "switchyard/config/config.h"

namespace switchyard::config {
namespace {

struct Case {
  const char* yaml;
  const char* want;  // the one problem, as FILE:LINE:COL: message
};

// A destination "d" and a rule on it, for cases that need them.
const std::string kBase = R"(api_destinations:
  - {name: d, endpoint: "http://127.0.0.1:9/x"}
)";

class ConfigErrorTest : public ::testing::TestWithParam<Case> {};

TEST_P(ConfigErrorTest, ReportsTheProblemWithItsPosition) {
  Config c;
  std::vector<ConfigError> errors;
  EXPECT_FALSE(load_text(GetParam().yaml, "sy.yaml", &c, &errors));
  std::vector<std::string> got;
  for (const auto& e : errors) got.push_back(e.format());
  EXPECT_EQ(got, std::vector<std::string>{GetParam().want}) << GetParam().yaml;
}

const Case kCases[] = {
    // structure
    {"- a\n", "sy.yaml:1:1: the configuration must be a mapping"},
    {"colour: red\n", "sy.yaml:1:1: unknown key 'colour' in the configuration"},
    {"server: 3\n", "sy.yaml:1:9: server must be a mapping"},
    {"buses: {name: x}\n", "sy.yaml:1:8: buses must be a list"},
    {"archives: [{name: 'a/b'}]\n",
     "sy.yaml:1:19: invalid name 'a/b' in archives[0]: 1 to 48 characters of letters, digits, '.', '-' and '_'"},
    {"archives: [{name: a, bus: nope}]\n", "sy.yaml:1:27: archive 'a' is on bus 'nope', which is not defined"},
    {"archives: [{name: a}, {name: a}]\n", "sy.yaml:1:23: duplicate archive name 'a'"},
    {"archives: [{name: a, retention_days: -1}]\n",
     "sy.yaml:1:38: 'retention_days' in archives[0] must be a whole number"},
    {"archives: [{name: a, event_pattern: {source: [{prefix: 1}]}}]\n",
     "sy.yaml:1:37: invalid event_pattern of archive 'a': Event pattern is not valid. Reason: prefix match pattern "
     "must "
     "be a string (field source)"},
    {"archives: [{name: a, colour: red}]\n", "sy.yaml:1:22: unknown key 'colour' in archives[0]"},
    // server and storage
    {"server: {listen: nowhere}\n", "sy.yaml:1:18: server.listen must be HOST:PORT, got 'nowhere'"},
    {"server: {threads: many}\n", "sy.yaml:1:19: 'threads' in server must be a whole number"},
    {"server: {threads: 0}\n", "sy.yaml:1:19: 'threads' in server must be between 1 and 64"},
    {"server: {admin_token: short}\n", "sy.yaml:1:23: server.admin_token must be at least 16 characters long"},
    {"server: {log_level: loud}\n", "sy.yaml:1:21: server.log_level must be debug, info, warn or error, not 'loud'"},
    {"storage: {sync: maybe}\n", "sy.yaml:1:17: 'sync' in storage must be true or false"},
    {"storage: {path: [a]}\n", "sy.yaml:1:17: 'path' in storage must be a string"},
    // buses
    {"buses: [{name: 'a b'}]\n",
     "sy.yaml:1:16: invalid name 'a b' in buses[0]: 1 to 256 characters of letters, digits, '.', '-' and '_'"},
    {"buses: [{name: x}, {name: x}]\n", "sy.yaml:1:20: duplicate bus name 'x'"},
    {"buses: [{name: x, ingest_tokens: ['']}]\n", "sy.yaml:1:35: an ingest token in buses[0] is empty"},
    {"buses: [{account: '1'}]\n", "sy.yaml:1:9: missing required key 'name' in buses[0]"},
    // secrets
    {"server: {admin_token: '${env:SY_ERRTEST_UNSET}'}\n",
     "sy.yaml:1:23: environment variable SY_ERRTEST_UNSET for server.admin_token is not set"},
    {"server: {admin_token: '${file:/nonexistent/token}'}\n",
     "sy.yaml:1:23: cannot read secret file /nonexistent/token for server.admin_token"},
    // connections
    {"connections: [{name: c}]\n", "sy.yaml:1:15: missing required key 'auth' in connections[0]"},
    {"connections: [{name: c, auth: {type: magic}}]\n",
     "sy.yaml:1:38: unsupported auth type 'magic' in connections[0].auth (supported: api_key, basic, "
     "oauth_client_credentials)"},
    {"connections: [{name: c, auth: {type: api_key, header: 'x y', value: v}}]\n",
     "sy.yaml:1:55: invalid header name 'x y' in connections[0].auth"},
    {"connections: [{name: c, auth: {type: basic, username: 'a:b', password: p}}]\n",
     "sy.yaml:1:55: username in connections[0].auth must not contain ':' or control characters"},
    {"connections: [{name: c, auth: {type: basic, username: u, password: 'p:q'}}]\n",
     "sy.yaml:1:68: password in connections[0].auth must not contain ':' or control characters"},
    {"connections: [{name: c, auth: {type: basic, username: '', password: p}}]\n",
     "sy.yaml:1:55: username in connections[0].auth must be 1 to 512 characters long"},
    {"connections: [{name: c, auth: {type: api_key, header: x-k, value: \"a\\u0001b\"}}]\n",
     "sy.yaml:1:67: value in connections[0].auth must not contain ':' or control characters"},
    {"connections: [{name: c, auth: {type: basic, username: u}}]\n",
     "sy.yaml:1:31: missing required key 'password' in connections[0].auth"},
    {"connections: [{name: c, auth: {type: basic, username: u, password: p}}, {name: c, auth: {type: basic, "
     "username: u, password: p}}]\n",
     "sy.yaml:1:73: duplicate connection name 'c'"},
    {"connections: [{name: c, auth: {type: api_key, header: h, value: v}, invocation_http_parameters: "
     "{header_parameters: 3}}]\n",
     "sy.yaml:1:117: connections[0].invocation_http_parameters.header_parameters must be a list of {key, value} or a "
     "mapping"},
    {"connections: [{name: c, auth: {type: api_key, header: h, value: v}, invocation_http_parameters: "
     "{header_parameters: [{key: k}]}}]\n",
     "sy.yaml:1:118: missing required key 'value' in connections[0].invocation_http_parameters.header_parameters[0]"},
    {"connections: [{name: c, auth: {type: api_key, header: h, value: v}, invocation_http_parameters: "
     "{query_string_parameters: {k: [1]}}}]\n",
     "sy.yaml:1:127: the value of k in connections[0].invocation_http_parameters.query_string_parameters must be a "
     "string"},
    // api destinations
    {"api_destinations: [{name: d, endpoint: 'ftp://x'}]\n",
     "sy.yaml:1:40: endpoint of api destination 'd' must be an http:// or https:// URL"},
    {"api_destinations: [{name: d, endpoint: 'http://x', method: TRACE}]\n",
     "sy.yaml:1:60: method of api destination 'd' must be one of POST, GET, HEAD, OPTIONS, PUT, PATCH, DELETE"},
    {"api_destinations: [{name: d, endpoint: 'http://x', connection: nope}]\n",
     "sy.yaml:1:64: api destination 'd' names connection 'nope', which is not defined"},
    // issue 14: per-destination timeout, concurrency and circuit
    {"api_destinations: [{name: d, endpoint: 'http://x', timeout_seconds: 301}]\n",
     "sy.yaml:1:69: 'timeout_seconds' in api_destinations[0] must be between 1 and 300"},
    {"api_destinations: [{name: d, endpoint: 'http://x', max_concurrency: 0}]\n",
     "sy.yaml:1:69: 'max_concurrency' in api_destinations[0] must be between 1 and 1000"},
    {"api_destinations: [{name: d, endpoint: 'http://x', circuit: {open_seconds: 9, max_open_seconds: 3}}]\n",
     "sy.yaml:1:97: 'max_open_seconds' in api_destinations[0].circuit must not be less than 'open_seconds' (9)"},
    {"api_destinations: [{name: d, endpoint: 'http://x', circuit: {failure_rate: 50}}]\n",
     "sy.yaml:1:62: unknown key 'failure_rate' in api_destinations[0].circuit"},
    {"api_destinations: [{name: d, endpoint: 'http://x', circuit: 3}]\n",
     "sy.yaml:1:61: api_destinations[0].circuit must be a mapping"},
    {"api_destinations: [{name: d, endpoint: 'http://x', rate_limit_per_second: 0}]\n",
     "sy.yaml:1:75: 'rate_limit_per_second' in api_destinations[0] must be between 1 and 1000000"},
    {"api_destinations: [{name: d, endpoint: 'http://x', signing_secret: 'whsec_!!'}]\n",
     "sy.yaml:1:68: signing_secret of 'd' is whsec_ but not followed by base64"},
    {"api_destinations: [{name: d, endpoint: 'http://x', signing_secret: short}]\n",
     "sy.yaml:1:68: signing_secret of 'd' is shorter than 16 bytes"},
    {"api_destinations: [{name: d, endpoint: 'http://x'}, {name: d, endpoint: 'http://x'}]\n",
     "sy.yaml:1:53: duplicate api destination name 'd'"},
    // rules and targets
    {"rules: [{name: r}]\n", "sy.yaml:1:9: missing required key 'event_pattern' in rules[0]"},
    {"rules: [{name: r, bus: nope, event_pattern: {source: [a]}}]\n",
     "sy.yaml:1:24: rule 'r' is on bus 'nope', which is not defined"},
    {"rules: [{name: r, state: ON, event_pattern: {source: [a]}}]\n",
     "sy.yaml:1:26: state of rule 'r' must be ENABLED or DISABLED"},
    {"rules: [{name: r, event_pattern: {source: a}}]\n",
     "sy.yaml:1:34: invalid event_pattern of rule 'r': Event pattern is not valid. Reason: \"source\" must be an "
     "object or an array (field source)"},
    {"rules: [{name: r, event_pattern: {source: [a]}}, {name: r, event_pattern: {source: [a]}}]\n",
     "sy.yaml:1:50: duplicate rule name 'r' on bus 'default'"},
    {"rules: [{name: r, event_pattern: {source: [a]}, targets: [{id: t, destination: nope}]}]\n",
     "sy.yaml:1:80: target 't' of rule 'r' names api destination 'nope', which is not defined"},
    // Issue 12.13: a port too long for any integer type, duplicate keys (the
    // second, invalid one used to be ignored), a secret file with no end.
    {"server: {listen: '127.0.0.1:99999999999999999999'}\n",
     "sy.yaml:1:18: server.listen must be HOST:PORT, got '127.0.0.1:99999999999999999999'"},
    {"server: {listen: 127.0.0.1:8080, listen: nonsense}\n",
     "sy.yaml:1:34: duplicate key 'listen' (first given on line 1); each key may appear once in a mapping"},
    {"rules:\n  - name: r\n    event_pattern: {source: [a]}\n    name: s\n",
     "sy.yaml:4:5: duplicate key 'name' (first given on line 2); each key may appear once in a mapping"},
    {"server: {admin_token: '${file:/dev/zero}'}\n",
     "sy.yaml:1:23: secret file /dev/zero for server.admin_token is larger than 65536 bytes"},
    {"api_destinations: [{name: d2, endpoint: 'http://127.0.0.1:9/', payload_format: cloudevents}]\n",
     "sy.yaml:1:80: payload_format of api destination 'd2' must be eventbridge, cloudevents-binary or "
     "cloudevents-structured"},
};

INSTANTIATE_TEST_SUITE_P(All, ConfigErrorTest, ::testing::ValuesIn(kCases));

// Cases that need the base destination.
const Case kTargetCases[] = {
    {"rules: [{name: r, event_pattern: {source: [a]}, targets: [{id: 'a b', destination: d}]}]\n",
     "sy.yaml:3:64: invalid target id 'a b' in rules[0].targets[0]: 1 to 64 characters of letters, digits, '.', '-' "
     "and '_'"},
    {"rules: [{name: r, event_pattern: {source: [a]}, targets: [{id: t, destination: d}, {id: t, destination: d}]}]\n",
     "sy.yaml:3:84: duplicate target id 't' in rule 'r'"},
    {"rules: [{name: r, event_pattern: {source: [a]}, targets: [{id: t, destination: d, input: x, input_path: $}]}]\n",
     "sy.yaml:3:59: Only one of Input, InputPath, or InputTransformer must be provided for target t."},
    {"rules: [{name: r, event_pattern: {source: [a]}, targets: [{id: t, destination: d, retry_policy: "
     "{maximum_retry_attempts: 186}}]}]\n",
     "sy.yaml:3:122: 'maximum_retry_attempts' in rules[0].targets[0].retry_policy must be between 0 and 185"},
    {"rules: [{name: r, event_pattern: {source: [a]}, targets: [{id: t, destination: d, retry_policy: "
     "{maximum_event_age_seconds: 59}}]}]\n",
     "sy.yaml:3:125: 'maximum_event_age_seconds' in rules[0].targets[0].retry_policy must be between 60 and 86400"},
    {"rules: [{name: r, event_pattern: {source: [a]}, targets: [{id: t, destination: d, http_parameters: "
     "{path_parameter_values: ['  ']}}]}]\n",
     "sy.yaml:3:125: path parameter values must be non-blank strings"},
    {"rules: [{name: r, event_pattern: {source: [a]}, targets: [{id: t, destination: d, input_transformer: "
     "{input_paths_map: {v: [1]}, input_template: '<v>'}}]}]\n",
     "sy.yaml:3:124: the JSONPath of variable v must be a string"},
    {"rules: [{name: r, event_pattern: {source: [a]}, targets: [{id: t, destination: d, dead_letter: 2}]}]\n",
     "sy.yaml:3:96: 'dead_letter' in rules[0].targets[0] must be true or false"},
    // webhooks
    {"webhooks: [{name: w, source: s}]\n", "sy.yaml:3:12: webhook 'w' needs detail_type or detail_type_header"},
    {"webhooks: [{name: w, source: s, bus: nope, detail_type: t}]\n",
     "sy.yaml:3:38: webhook 'w' posts to bus 'nope', which is not defined"},
    {"webhooks: [{name: w, source: s, detail_type: t, verify: {scheme: rot13, secret: x}}]\n",
     "sy.yaml:3:66: unknown verify scheme 'rot13' (github-sha256, stripe, standard-webhooks, hmac-sha256)"},
    {"webhooks: [{name: w, source: s, detail_type: t, verify: {scheme: hmac-sha256, secret: x}}]\n",
     "sy.yaml:3:57: verify scheme hmac-sha256 needs 'header', the header that carries the signature"},
    {"webhooks: [{name: w, source: s, detail_type: t, verify: {scheme: stripe, secret: x, encoding: hexa}}]\n",
     "sy.yaml:3:95: verify encoding must be hex or base64"},
    {"webhooks: [{name: w, source: s, detail_type: t}, {name: w, source: s, detail_type: t}]\n",
     "sy.yaml:3:50: duplicate webhook name 'w'"},
    {"webhooks: [{name: w, source: s, detail_type: t, deduplicate_by: 'header:'}]\n",
     "sy.yaml:3:65: deduplicate_by of webhook 'w' must be auto, none, header:<header name> or body:<top-level member>"},
    // event-bus targets
    {"rules: [{name: r, event_pattern: {source: [a]}, targets: [{id: t, bus: default}]}]\n",
     "sy.yaml:3:72: target 't' of rule 'r' names the rule's own bus 'default'"},
    {"rules: [{name: r, event_pattern: {source: [a]}, targets: [{id: t, bus: nope}]}]\n",
     "sy.yaml:3:72: target 't' of rule 'r' names bus 'nope', which is not defined"},
    {"buses: [{name: b}]\nrules: [{name: r, event_pattern: {source: [a]}, targets: [{id: t, bus: b, input_path: "
     "$.detail}]}]\n",
     "sy.yaml:4:87: 'input_path' does not apply to target 't' of rule 'r': a bus target puts the event itself on the "
     "bus, in the same write"},
    // publish deduplication
    {"buses: [{name: b, deduplication: {window_seconds: 0}}]\n",
     "sy.yaml:3:51: 'window_seconds' in buses[0].deduplication must be between 1 and 86400"},
    {"buses: [{name: b, deduplication: {window: 60}}]\n",
     "sy.yaml:3:35: unknown key 'window' in buses[0].deduplication"},
};

struct WithBase : ConfigErrorTest {};
TEST_P(WithBase, ReportsTheProblemWithItsPosition) {
  Config c;
  std::vector<ConfigError> errors;
  const std::string yaml = kBase + GetParam().yaml;
  EXPECT_FALSE(load_text(yaml, "sy.yaml", &c, &errors));
  std::vector<std::string> got;
  for (const auto& e : errors) got.push_back(e.format());
  EXPECT_EQ(got, std::vector<std::string>{GetParam().want}) << yaml;
}
INSTANTIATE_TEST_SUITE_P(Targets, WithBase, ::testing::ValuesIn(kTargetCases));

// Subscribers (after kBase: line 3 is "subscribers:").
const Case kSubscriberCases[] = {
    {"subscribers:\n  - {name: s, target: {destination: d}, type: ORDERED}\n",
     "sy.yaml:4:47: type of subscriber 's' must be UNORDERED or FIFO"},
    {"subscribers:\n  - {name: s, bus: nope, target: {destination: d}}\n",
     "sy.yaml:4:20: subscriber 's' is on bus 'nope', which is not defined"},
    {"subscribers:\n  - {name: s}\n",
     "sy.yaml:4:5: missing required key 'target' in subscribers[0]: a subscriber has exactly one target"},
    {"subscribers:\n  - {name: s, target: {destination: nope}}\n",
     "sy.yaml:4:37: the target of subscriber 's' names api destination 'nope', which is not defined"},
    {"subscribers:\n  - {name: s, target: {bus: default}}\n",
     "sy.yaml:4:29: the target of subscriber 's' names the subscriber's own bus 'default'"},
    {"subscribers:\n  - {name: s, target: {destination: d}, group_by: $.detail.id}\n",
     "sy.yaml:4:51: group_by applies to FIFO subscribers only; subscriber 's' is UNORDERED"},
    {"subscribers:\n  - {name: s, type: FIFO, target: {destination: d}, group_by: detail}\n",
     "sy.yaml:4:63: group_by of subscriber 's' must be a JSONPath into the event, such as $.detail.orderId"},
    {"subscribers:\n  - {name: s, target: {destination: d}, on_exhausted: park}\n",
     "sy.yaml:4:55: on_exhausted: park applies to FIFO subscribers only"},
    {"subscribers:\n  - {name: s, target: {destination: d}, state: PAUSED}\n",
     "sy.yaml:4:48: state of subscriber 's' must be RUNNING or STOPPED"},
    {"subscribers:\n  - {name: s, target: {destination: d}, resume_position: HORIZON}\n",
     "sy.yaml:4:58: resume_position of subscriber 's' must be LAST_PROCESSED or LATEST"},
    {"subscribers:\n  - {name: s, target: {destination: d}, starting_position: yesterday}\n",
     "sy.yaml:4:60: starting_position of subscriber 's' must be LATEST, HORIZON or a timestamp such as "
     "2026-12-01T00:00:00Z, not 'yesterday'"},
    {"subscribers:\n  - {name: s, target: {destination: d}, starting_position: '2999-01-01T00:00:00Z'}\n",
     "sy.yaml:4:60: starting_position of subscriber 's' (2999-01-01T00:00:00Z) is in the future"},
    {"subscribers:\n  - {name: s, target: {destination: d}, end_position: '2020-01-01T00:00:00Z'}\n",
     "sy.yaml:4:55: end_position of subscriber 's' needs a starting_position of HORIZON or a timestamp"},
    {"subscribers:\n  - {name: s, target: {destination: d}, transform: JSONATA}\n",
     "sy.yaml:4:52: transform of subscriber 's' must be RAW or WITH_METADATA (or left out with the target's input)"},
    {"subscribers:\n  - {name: s, target: {destination: d, input_path: $.detail}, transform: WITH_METADATA}\n",
     "sy.yaml:4:74: subscriber 's' gives transform WITH_METADATA and an input on its target; give one of them"},
    {"subscribers:\n  - {name: s, target: {destination: d}, filters: []}\n",
     "sy.yaml:4:50: filters of subscriber 's' must hold at least one filter"},
    {"subscribers:\n  - {name: s, target: {destination: d}, filters: [{scope: DATA, pattern: {a: [{wildcard: "
     "'x*'}]}}]}\n",
     "sy.yaml:4:74: the DATA filter of subscriber 's' uses 'wildcard': subscriber filters take every operator but "
     "wildcard"},
    {"subscribers:\n  - {name: s, target: {destination: d}, filters: [{scope: METADATA, pattern: {a: [{prefix: "
     "x}]}}]}\n",
     "sy.yaml:4:78: the METADATA filter of subscriber 's' uses 'prefix': METADATA filters take exact string values "
     "only"},
    {"subscribers:\n  - {name: s, target: {destination: d}, filters: [{scope: METADATA, pattern: {a: [1]}}]}\n",
     "sy.yaml:4:78: the METADATA filter of subscriber 's' uses a number value: METADATA filters take exact string "
     "values only"},
    {"subscribers:\n  - {name: s, target: {destination: d}, filters: [{scope: DATA, pattern: {a: [1]}}, {pattern: {b: "
     "[2]}}]}\n",
     "sy.yaml:4:85: subscriber 's' has more than one DATA filter"},
    {"subscribers:\n  - {name: s, target: {destination: d}, filters: [{scope: USER, pattern: {a: [1]}}]}\n",
     "sy.yaml:4:59: scope of subscribers[0].filters[0] must be DATA, METADATA or SYSTEM_METADATA"},
    {"subscribers:\n  - {name: s, target: {destination: d}}\n  - {name: s, target: {destination: d}}\n",
     "sy.yaml:5:5: duplicate subscriber name 's' on bus 'default'"},
    {"buses:\n  - {name: default, retention_days: 400}\n",
     "sy.yaml:4:37: 'retention_days' in buses[0] must be between 0 and 365"},
};
INSTANTIATE_TEST_SUITE_P(Subscribers, WithBase, ::testing::ValuesIn(kSubscriberCases));

// Issue 12.13: a YAML alias bomb of a few hundred bytes (it used to take 26 s
// and 977 MB to build) is refused from its text, at once, with its position.
TEST(ConfigLimitsTest, AnAliasBombIsRefusedBeforeItIsExpanded) {
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 12; ++i) {
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) yaml += std::string(k ? ", " : "") + "*a" + std::to_string(i - 1);
    yaml += "]\n";
  }
  Config c;
  std::vector<ConfigError> errors;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(load_text(yaml, "sy.yaml", &c, &errors));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].format().find("aliases expand to more than 1000000 nodes"), std::string::npos)
      << errors[0].format();
  EXPECT_GT(errors[0].line, 1);
}

// Small aliases, as people write them for shared settings, still load.
TEST(ConfigLimitsTest, OrdinaryAliasesLoad) {
  const std::string yaml =
      "api_destinations:\n  - {name: d, endpoint: 'http://127.0.0.1:9/x'}\n"
      "rules:\n  - {name: r1, event_pattern: &p {source: [a]}}\n  - {name: r2, event_pattern: *p}\n";
  Config c;
  std::vector<ConfigError> errors;
  EXPECT_TRUE(load_text(yaml, "sy.yaml", &c, &errors)) << (errors.empty() ? "" : errors[0].format());
}

// Found by fuzzing: yaml-cpp 0.7 answers a stray ',' at the top level with
// endless empty documents; the loader answers at once, with the position.
TEST(ConfigLimitsTest, AStrayCommaOrASecondDocumentIsRefusedAtOnce) {
  for (const auto& [yaml, want] : std::vector<std::pair<std::string, std::string>>{
           {", a\n", "sy.yaml:1:1: the configuration must be one YAML document"},
           {"#ons\n, tw-Event\n", "sy.yaml:2:1: the configuration must be one YAML document"},
           {"server: {}\n---\nbuses: []\n", "sy.yaml:2:1: the configuration must be one YAML document"}}) {
    Config c;
    std::vector<ConfigError> errors;
    EXPECT_FALSE(load_text(yaml, "sy.yaml", &c, &errors)) << yaml;
    ASSERT_EQ(errors.size(), 1u) << yaml;
    EXPECT_EQ(errors[0].format().rfind(want, 0), 0u) << errors[0].format();
  }
}

// Nothing the loader meets escapes it as an exception.
TEST(ConfigLimitsTest, NothingThrowsPastTheLoader) {
  for (const char* yaml : {"server: {listen: '127.0.0.1:99999999999999999999999999'}\n", "[[[[[[[[[[",
                           "a: !!binary ~~~\n", "{", "server: {threads: 1e400}\n"}) {
    Config c;
    std::vector<ConfigError> errors;
    EXPECT_NO_THROW(EXPECT_FALSE(load_text(yaml, "sy.yaml", &c, &errors))) << yaml;
    EXPECT_FALSE(errors.empty()) << yaml;
  }
  std::string deep(100000, '[');
  Config c;
  std::vector<ConfigError> errors;
  EXPECT_NO_THROW(EXPECT_FALSE(load_text(deep, "sy.yaml", &c, &errors)));
}

}  // namespace
}  // namespace switchyard::config
