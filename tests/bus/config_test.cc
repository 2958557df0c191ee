#include "switchyard/config/config.h"

#include <gtest/gtest.h>

#include <stdlib.h>
#include <algorithm>

namespace switchyard::config {
namespace {

std::vector<ConfigError> errors_of(const std::string& yaml) {
  Config c;
  std::vector<ConfigError> errors;
  EXPECT_FALSE(load_text(yaml, "sy.yaml", &c, &errors));
  return errors;
}

Config valid(const std::string& yaml) {
  Config c;
  std::vector<ConfigError> errors;
  EXPECT_TRUE(load_text(yaml, "sy.yaml", &c, &errors)) << (errors.empty() ? "" : errors[0].format());
  return c;
}

const char* kMinimal = R"(
api_destinations:
  - name: d
    endpoint: http://127.0.0.1:9000/a/*
rules:
  - name: r
    event_pattern: {source: [shop]}
    targets:
      - id: t
        destination: d
        http_parameters: {path_parameter_values: [eu]}
)";

TEST(ConfigTest, MinimalConfigGetsDefaults) {
  Config c = valid(kMinimal);
  EXPECT_EQ(c.server.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.storage.path, "./data");
  EXPECT_FALSE(c.storage.sync);
  ASSERT_EQ(c.buses.size(), 1u);
  EXPECT_EQ(c.buses[0].name, "default");
  ASSERT_EQ(c.rules.size(), 1u);
  EXPECT_EQ(c.rules[0].bus, "default");
  EXPECT_EQ(c.rules[0].event_pattern, R"({"source":["shop"]})");
  EXPECT_EQ(c.rules[0].targets[0].retry_policy.maximum_retry_attempts, 185u);
  EXPECT_EQ(c.rules[0].targets[0].retry_policy.maximum_event_age_seconds, 86400u);
  EXPECT_EQ(c.api_destinations[0].rate_limit_per_second, 300u);
  EXPECT_EQ(c.api_destinations[0].timeout_seconds, 5u);
  EXPECT_EQ(c.api_destinations[0].max_concurrency, 32u);
  EXPECT_EQ(c.api_destinations[0].circuit.min_attempts, 20u);
  EXPECT_EQ(c.api_destinations[0].circuit.open_seconds, 1u);
}

TEST(ConfigTest, TheClusterSectionIsReadWithSecretsFromTheEnvironment) {
  EXPECT_FALSE(valid(kMinimal).cluster.enabled) << "single-node mode unless the section is there";
  setenv("SY_TEST_NATS_PASSWORD", "s3cret", 1);
  Config c = valid(std::string(kMinimal) + R"(
cluster:
  node_id: node-2
  nats:
    servers: [nats://10.0.0.1:4222, nats://10.0.0.2:4222]
    user: switchyard
    password: ${env:SY_TEST_NATS_PASSWORD}
  partitions: 64
  lease_ttl_ms: 8000
)");
  EXPECT_TRUE(c.cluster.enabled);
  EXPECT_EQ(c.cluster.node_id, "node-2");
  EXPECT_EQ(c.cluster.servers, (std::vector<std::string>{"nats://10.0.0.1:4222", "nats://10.0.0.2:4222"}));
  EXPECT_EQ(c.cluster.password, "s3cret");
  EXPECT_EQ(c.cluster.replicas, 3);
  EXPECT_EQ(c.cluster.partitions, 64u);
  EXPECT_EQ(c.cluster.lease_ttl_ms, 8000);
  EXPECT_EQ(c.cluster.publish_timeout_ms, 10000);
  unsetenv("SY_TEST_NATS_PASSWORD");
}

TEST(ConfigTest, ClusterMistakesAreReportedWhereTheyAre) {
  auto errors = errors_of(R"(cluster:
  node_id: "no spaces"
  nats: {servers: ["http://x:1"], user: u}
  replicas: 1
)");
  std::vector<std::string> got;
  for (const auto& e : errors) got.push_back(e.format());
  EXPECT_EQ(got, (std::vector<std::string>{
                     "sy.yaml:2:12: cluster.node_id 'no spaces' must be 1 to 32 letters, digits, '-' or '_' (it "
                     "defaults to the host name)",
                     "sy.yaml:3:9: cluster.nats: user and password go together",
                     "sy.yaml:3:20: cluster.nats.servers: 'http://x:1' is not a nats://host:port URL",
                     "sy.yaml:4:13: cluster.replicas 1 keeps one copy of every event: set allow_single_replica: "
                     "true to mean it",
                 }));
}

TEST(ConfigTest, DestinationTimeoutConcurrencyAndCircuitAreRead) {
  Config c = valid(R"(
api_destinations:
  - name: d
    endpoint: "http://127.0.0.1:9/x"
    timeout_seconds: 30
    max_concurrency: 4
    circuit: {consecutive_transport_failures: 2, window_seconds: 60, min_attempts: 5, failure_rate_percent: 80,
              open_seconds: 2, max_open_seconds: 30, trial_requests: 1}
)");
  const auto& d = c.api_destinations.at(0);
  EXPECT_EQ(d.timeout_seconds, 30u);
  EXPECT_EQ(d.max_concurrency, 4u);
  EXPECT_EQ(d.circuit.consecutive_transport_failures, 2u);
  EXPECT_EQ(d.circuit.window_seconds, 60u);
  EXPECT_EQ(d.circuit.min_attempts, 5u);
  EXPECT_EQ(d.circuit.failure_rate_percent, 80u);
  EXPECT_EQ(d.circuit.open_seconds, 2u);
  EXPECT_EQ(d.circuit.max_open_seconds, 30u);
  EXPECT_EQ(d.circuit.trial_requests, 1u);
}

TEST(ConfigTest, YamlPatternsUseStrictJsonTyping) {
  Config c = valid(R"(
rules:
  - name: r
    event_pattern:
      detail:
        a: [yes, on, "300", 300, 1.0e2, ~, null, true, "true", 0.30000000000000001]
)");
  EXPECT_EQ(c.rules[0].event_pattern,
            R"({"detail":{"a":["yes","on","300",300,1.0e2,null,null,true,"true",0.30000000000000001]}})");
}

TEST(ConfigTest, PatternAsJsonStringIsTakenVerbatim) {
  Config c = valid(R"(
rules:
  - name: r
    event_pattern: '{"source": ["a"]}'
)");
  EXPECT_EQ(c.rules[0].event_pattern, R"({"source": ["a"]})");
}

TEST(ConfigTest, EveryProblemIsReportedWithLineAndColumn) {
  auto errors = errors_of(R"(server:
  listen: nowhere
rules:
  - name: r1
    bus: nosuch
    event_pattern: {detail: {a: 5}}
    targets:
      - id: t
        destination: missing
    extra: 1
)");
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(errors[0].format(), "sy.yaml:2:11: server.listen must be HOST:PORT, got 'nowhere'");
  EXPECT_EQ(errors[1].line, 5);
  EXPECT_NE(errors[1].message.find("bus 'nosuch'"), std::string::npos);
  EXPECT_EQ(errors[2].line, 6);
  EXPECT_NE(errors[2].message.find("\"a\" must be an object or an array"), std::string::npos);
  EXPECT_EQ(errors[3].line, 9);
  EXPECT_NE(errors[3].message.find("api destination 'missing'"), std::string::npos);
  EXPECT_EQ(errors[4].format(), "sy.yaml:10:5: unknown key 'extra' in rules[0]");
}

TEST(ConfigTest, MissingRequiredKeys) {
  auto errors = errors_of("api_destinations:\n  - name: d\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "missing required key 'endpoint' in api_destinations[0]");
  EXPECT_EQ(errors[0].line, 2);
}

TEST(ConfigTest, PathParameterCountMustMatchTheEndpoint) {
  auto errors = errors_of(R"(
api_destinations:
  - name: d
    endpoint: http://h/a/*/b/*
rules:
  - name: r
    event_pattern: {source: [x]}
    targets: [{id: t, destination: d, http_parameters: {path_parameter_values: [one]}}]
)");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("gives 1 path parameter values but the endpoint of 'd' has 2"), std::string::npos);
}

TEST(ConfigTest, LimitsAndRanges) {
  auto errors = errors_of(R"(
api_destinations:
  - {name: d, endpoint: "ftp://x", method: TRACE, rate_limit_per_second: 0}
rules:
  - name: r
    event_pattern: {source: [x]}
    targets:
      - {id: t1, destination: d, retry_policy: {maximum_retry_attempts: 186}}
      - {id: t2, destination: d, retry_policy: {maximum_event_age_seconds: 59}}
      - {id: t3, destination: d}
      - {id: t4, destination: d}
      - {id: t5, destination: d}
      - {id: t5, destination: d}
)");
  std::string all;
  for (const auto& e : errors) all += e.format() + "\n";
  EXPECT_NE(all.find("must be an http:// or https:// URL"), std::string::npos) << all;
  EXPECT_NE(all.find("method of api destination 'd'"), std::string::npos) << all;
  EXPECT_NE(all.find("'rate_limit_per_second' in api_destinations[0] must be between 1"), std::string::npos) << all;
  EXPECT_NE(all.find("'maximum_retry_attempts'"), std::string::npos) << all;
  EXPECT_NE(all.find("'maximum_event_age_seconds'"), std::string::npos) << all;
  EXPECT_NE(all.find("at most 5 per rule"), std::string::npos) << all;
  EXPECT_NE(all.find("duplicate target id 't5'"), std::string::npos) << all;
}

TEST(ConfigTest, SecretsFromTheEnvironmentNeverAppearInErrors) {
  setenv("SY_TEST_KEY", "s3cr3t", 1);
  Config c = valid(R"(
connections:
  - name: c
    auth: {type: api_key, header: x-api-key, value: "${env:SY_TEST_KEY}"}
  - name: b
    auth: {type: basic, username: user, password: pass}
)");
  ASSERT_EQ(c.connections.size(), 2u);
  EXPECT_EQ(c.connections[0].headers[0], (std::pair<std::string, std::string>{"x-api-key", "s3cr3t"}));
  EXPECT_EQ(c.connections[1].headers[0].second, "Basic dXNlcjpwYXNz");
  auto errors = errors_of(R"(
connections:
  - name: c
    auth: {type: api_key, header: x-api-key, value: "${env:SY_TEST_UNSET_VAR}"}
)");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("SY_TEST_UNSET_VAR"), std::string::npos);
}

TEST(ConfigTest, OAuthClientCredentialsConnection) {
  setenv("SY_TEST_CLIENT_SECRET", "cs", 1);
  Config c = valid(R"(
connections:
  - name: o
    auth:
      type: oauth_client_credentials
      authorization_endpoint: https://auth.example/token
      client_id: id
      client_secret: ${env:SY_TEST_CLIENT_SECRET}
      client_auth_method: client_secret_post
      oauth_http_parameters:
        body_parameters: {audience: api, scope: write}
        header_parameters: [{key: x-tenant, value: t1}]
)");
  ASSERT_EQ(c.connections.size(), 1u);
  ASSERT_TRUE(c.connections[0].oauth);
  const OAuthConfig& o = *c.connections[0].oauth;
  EXPECT_EQ(o.authorization_endpoint, "https://auth.example/token");
  EXPECT_EQ(o.http_method, "POST");
  EXPECT_EQ(o.client_secret, "cs");
  EXPECT_TRUE(o.credentials_in_body);
  EXPECT_EQ(o.body_parameters.size(), 2u);
  EXPECT_EQ(o.header_parameters.at(0).first, "x-tenant");
  EXPECT_TRUE(c.connections[0].headers.empty());

  auto errors = errors_of(R"(
connections:
  - name: o
    auth:
      type: oauth_client_credentials
      authorization_endpoint: ftp://auth.example/token
      http_method: DELETE
      client_id: "a:b"
      client_auth_method: magic
      scopes: [x]
)");
  std::vector<std::string> got;
  for (const auto& e : errors) got.push_back(e.format());
  const std::vector<std::string> want{
      "sy.yaml:5:7: missing required key 'client_secret' in connections[0].auth",
      "sy.yaml:6:31: authorization_endpoint in connections[0].auth must be an http:// or https:// URL",
      "sy.yaml:7:20: http_method in connections[0].auth must be GET, POST or PUT, not 'DELETE'",
      "sy.yaml:8:18: client_id in connections[0].auth must not contain ':' or control characters",
      "sy.yaml:9:27: client_auth_method in connections[0].auth must be client_secret_basic or client_secret_post, "
      "not 'magic'",
      "sy.yaml:10:7: unknown key 'scopes' in connections[0].auth"};
  EXPECT_EQ(got, want);
}

TEST(ConfigTest, ServerOperationsKeys) {
  setenv("SY_TEST_ADMIN_TOKEN", "0123456789abcdef-token", 1);
  Config c = valid(R"(
server: {admin_token: "${env:SY_TEST_ADMIN_TOKEN}", shutdown_timeout_seconds: 3, log_level: warn}
)");
  EXPECT_EQ(c.server.admin_token, "0123456789abcdef-token");
  EXPECT_EQ(c.server.shutdown_timeout_seconds, 3);
  EXPECT_EQ(c.server.log_level, "warn");
  std::vector<std::string> got;
  for (const auto& e : errors_of("server:\n  admin_token: short\n  log_level: loud\n  shutdown_timeout_seconds: -1\n"))
    got.push_back(e.format());
  ASSERT_EQ(got.size(), 3u) << ::testing::PrintToString(got);
  EXPECT_EQ(got[0], "sy.yaml:2:16: server.admin_token must be at least 16 characters long");
  EXPECT_EQ(got[1], "sy.yaml:3:14: server.log_level must be debug, info, warn or error, not 'loud'");
  EXPECT_EQ(got[2].rfind("sy.yaml:4:29: ", 0), 0u) << got[2];
}

TEST(ConfigTest, YamlSyntaxErrorsHaveALocation) {
  auto errors = errors_of("rules: [\n  {name: r\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_GE(errors[0].line, 2);
}

TEST(ConfigTest, UnreadableFile) {
  Config c;
  std::vector<ConfigError> errors;
  EXPECT_FALSE(load_file("/nonexistent/sy.yaml", &c, &errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].format(), "/nonexistent/sy.yaml:1:1: cannot read the configuration file");
}

TEST(ConfigTest, CountPathWildcards) {
  EXPECT_EQ(count_path_wildcards("http://h/a/*/b/*"), 2u);
  EXPECT_EQ(count_path_wildcards("http://h/a?x=*"), 0u);
  EXPECT_EQ(count_path_wildcards("http://h"), 0u);
}

}  // namespace
}  // namespace switchyard::config

namespace switchyard::config {
namespace {

TEST(ConfigTest, TargetInputSettings) {
  Config c = valid(R"(
api_destinations: [{name: d, endpoint: "http://127.0.0.1:1/"}]
rules:
  - name: r
    event_pattern: {source: [x]}
    targets:
      - {id: a, destination: d, input: '{"k": 1}'}
      - {id: b, destination: d, input: {k: 1.50}}
      - {id: c, destination: d, input_path: $.detail}
      - id: e
        destination: d
        input_transformer:
          input_paths_map: {order: $.detail.id}
          input_template: '{"order": <order>}'
)");
  const auto& t = c.rules[0].targets;
  EXPECT_EQ(t[0].input.kind, rules::TargetInput::Kind::kConstant);
  EXPECT_EQ(t[0].input.input, R"({"k": 1})");
  EXPECT_EQ(t[1].input.input, R"({"k":1.50})");
  EXPECT_EQ(t[2].input.input_path, "$.detail");
  EXPECT_EQ(t[3].input.kind, rules::TargetInput::Kind::kTransformer);
  EXPECT_EQ(t[3].input.paths_map[0], (std::pair<std::string, std::string>{"order", "$.detail.id"}));
}

TEST(ConfigTest, InvalidTargetInputsNameTheTargetAndTheProblem) {
  auto errors = errors_of(R"(
api_destinations: [{name: d, endpoint: "http://127.0.0.1:1/"}]
rules:
  - name: r
    event_pattern: {source: [x]}
    targets:
      - {id: both, destination: d, input: '{}', input_path: $.detail}
      - id: ph
        destination: d
        input_transformer:
          input_paths_map: {a: $.x}
          input_template: '{"v": <b>}'
)");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].line, 7);
  EXPECT_EQ(errors[0].message, "Only one of Input, InputPath, or InputTransformer must be provided for target both.");
  EXPECT_EQ(errors[1].line, 12);
  EXPECT_EQ(errors[1].message, "InputTemplate for target ph contains invalid placeholder b.");
}

}  // namespace
}  // namespace switchyard::config
