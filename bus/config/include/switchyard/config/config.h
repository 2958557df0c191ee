#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "switchyard/core/task.h"
#include "switchyard/rules/transformer.h"

namespace switchyard::config {

// One problem in a configuration file, printed as FILE:LINE:COL: message.
struct ConfigError {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string message;
  std::string format() const;
};

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";        // ingest listener; port 0 picks a free one
  std::string admin_listen = "127.0.0.1:8081";  // admin listener (metrics, admin API)
  size_t max_body_bytes = 4 * 1024 * 1024;      // largest request body accepted
  size_t max_put_events_bytes = 1048576;        // EventBridge's entry-size limit (1 MB since 2026-01-29)
  int threads = 2;                              // I/O threads
  size_t max_connections = 0;                 // open connections per listener (0: from the file limit); more get a 503
  int read_timeout_seconds = 30;              // a request must arrive within this
  std::string admin_token;                    // secret; empty: the admin API is open
  int shutdown_timeout_seconds = 10;          // SIGTERM: how long running requests may finish
  std::string log_level = "info";             // debug | info | warn | error
  uint32_t replay_max_events_per_second = 0;  // replays' reading pace; 0: as fast as the store allows
};

struct StorageConfig {
  std::string path = "./data";
  bool sync = false;
  uint64_t min_free_mb = 128;  // ingest pauses (503) below this much free disk
};

// Cluster mode (README "Running a cluster"): present, the node keeps every
// durable byte on NATS JetStream instead of the embedded RocksDB store.
struct ClusterConfig {
  bool enabled = false;
  std::string node_id;                // unique per node, [A-Za-z0-9_-]{1,32}; default: the host name
  std::vector<std::string> servers;   // nats://host:port
  std::string user, password, token;  // optional NATS credentials (secrets: ${env:} / ${file:})
  int replicas = 3;                   // of every stream and bucket; 1 only with allow_single_replica
  bool allow_single_replica = false;
  uint32_t partitions = 32;  // stored at first boot; every node must have the same
  int64_t lease_ttl_ms = 6000;
  int64_t publish_timeout_ms = 10000;
};

// AWS credentials a bus accepts on PutEvents (SigV4). Without any, any
// signature (or none) is accepted.
struct AccessKey {
  std::string id;
  std::string secret;
};

struct BusConfig {
  std::string name;
  std::string account = "000000000000";    // the envelope's `account`
  std::string region = "us-east-1";        // the envelope's `region`
  std::vector<std::string> ingest_tokens;  // bearer tokens for the JSON and webhook routes (secrets)
  std::vector<AccessKey> access_keys;      // SigV4 keys for PutEvents (secrets)
  // Publish deduplication (eventbridge-v2.md §5): an entry whose
  // deduplication id was accepted within the window is acknowledged, not
  // stored again. content_based: entries without an id use a hash of their
  // content as one.
  int64_t dedup_window_seconds = 300;
  bool dedup_content_based = false;
  // Retention (eventbridge-v2.md §1.2): the bus keeps its events as a log
  // with positions for this many days (1-365), or with 0 only until every
  // subscriber has passed them. -1 (not given): a log is kept, as with 0,
  // only when the bus has subscribers.
  int32_t retention_days = -1;
};

// How a webhook route checks its sender's signature.
struct WebhookVerify {
  std::string scheme;  // github-sha256 | stripe | standard-webhooks | hmac-sha256
  std::string secret;
  std::string header;               // hmac-sha256: the header carrying the signature
  std::string encoding = "hex";     // hmac-sha256: hex | base64
  std::string prefix;               // hmac-sha256: text before the signature, e.g. "sha256="
  int64_t tolerance_seconds = 300;  // stripe, standard-webhooks: timestamp tolerance
};

using Params = std::vector<std::pair<std::string, std::string>>;

// auth.type oauth_client_credentials: EventBridge's OAuthParameters.
struct OAuthConfig {
  std::string authorization_endpoint;
  std::string http_method = "POST";                                    // GET | POST | PUT
  std::string client_id, client_secret;                                // secrets
  bool credentials_in_body = false;                                    // client_auth_method: client_secret_post
  Params header_parameters, query_string_parameters, body_parameters;  // oauth_http_parameters
};

struct ConnectionConfig {
  std::string name;
  std::string auth_type;  // api_key | basic | oauth_client_credentials
  std::optional<OAuthConfig> oauth;
  // Resolved request headers the auth adds (values are secrets).
  std::vector<std::pair<std::string, std::string>> headers;
  // invocation_http_parameters; these win over a target's on the same key.
  Params header_parameters, query_string_parameters, body_parameters;
};

struct ApiDestinationConfig {
  std::string name;
  std::string connection;  // optional
  std::string endpoint;
  std::string method = "POST";
  uint32_t rate_limit_per_second = 300;
  std::string signing_key;           // Standard Webhooks key bytes (secret); empty: unsigned
  uint32_t timeout_seconds = 5;      // each request's limit (EventBridge's); 1-300
  uint32_t max_concurrency = 32;     // requests in flight at once; 1-1000
  bool adaptive_concurrency = true;  // the in-flight limit follows the receiver, up to max_concurrency
  // What a request carries: the target's input as it is ("eventbridge"), or
  // that input as a CloudEvent ("cloudevents-binary": ce-* headers;
  // "cloudevents-structured": an application/cloudevents+json body).
  std::string payload_format = "eventbridge";
  // When the destination's circuit opens and how it tries again (README,
  // "Circuit breaker"); the defaults are the README's.
  struct Circuit {
    uint32_t consecutive_transport_failures = 5;
    uint32_t window_seconds = 10;
    uint32_t min_attempts = 20;
    uint32_t failure_rate_percent = 50;
    uint32_t open_seconds = 1;
    uint32_t max_open_seconds = 5;
    uint32_t trial_requests = 3;
  } circuit;
};

struct TargetConfig {
  std::string id;
  std::string destination;                         // an API destination, or
  std::string bus;                                 // another event bus: the event is put on it as it is
  std::vector<std::string> path_parameter_values;  // each may be a JSONPath ("$.detail.id")
  Params header_parameters;                        // values may be JSONPaths
  Params query_string_parameters;                  // keys and values may be JSONPaths
  core::RetryPolicy retry_policy;
  bool dead_letter = true;
  rules::TargetInput input;  // whole event unless input, input_path or input_transformer is set
};

struct RuleConfig {
  std::string name;
  std::string bus = "default";
  std::string event_pattern;  // JSON text, number literals kept as written
  bool enabled = true;
  std::vector<TargetConfig> targets;
};

struct WebhookConfig {
  std::string name;
  std::string bus = "default";
  std::string source;
  std::string detail_type;         // constant detail-type, or
  std::string detail_type_header;  // the request header that carries it
  bool verified = false;           // false: no signature check
  WebhookVerify verify;
  // Where the sender's delivery id (the deduplication id) is: "auto"
  // (webhook-id, X-GitHub-Delivery, Stripe's event id), "none",
  // "header:<name>" or "body:<top-level member>".
  std::string deduplicate_by = "auto";
};

// An archive (EventBridge's CreateArchive): events of `bus` matching
// `event_pattern` (all when empty) are kept for `retention_days` (0: forever).
struct ArchiveConfig {
  std::string name;
  std::string bus = "default";
  std::string event_pattern;  // JSON text; "" archives every event of the bus
  uint32_t retention_days = 0;
  std::string description;
};

// A subscriber of a bus's log (eventbridge-v2.md §1.3): filters, a
// transform and exactly one target, reading the log from its own position.
struct SubscriberConfig {
  std::string name;
  std::string bus = "default";
  bool fifo = false;  // type FIFO: in publish order within each event group
  // FIFO: where an event's group is, a JSONPath into the event
  // ("$.detail.orderId"); empty: the publish's EventGroupId.
  std::string group_by;
  // Filters by scope (JSON patterns; "" when the scope has none), ANDed.
  std::string data_pattern, metadata_pattern, system_metadata_pattern;
  // RAW (the published data as it is), WITH_METADATA ({Data, Metadata,
  // SystemMetadata}), or INPUT: the target's classic input settings.
  std::string transform = "RAW";
  TargetConfig target;         // its id is the subscriber's name
  bool running = true;         // state RUNNING | STOPPED
  bool resume_latest = false;  // resume_position LATEST: a restart skips the backlog
  // Where a new subscriber starts: LATEST, HORIZON (the oldest retained
  // event) or TIMESTAMP (start_ms); it stops once past end_ms (0: never).
  std::string starting_position = "LATEST";
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  bool park_on_exhausted = false;  // FIFO: a group whose event ran out of retries waits for an operator
};

struct Config {
  std::string file;
  ServerConfig server;
  StorageConfig storage;
  ClusterConfig cluster;
  std::vector<BusConfig> buses;  // always contains "default"
  std::vector<ConnectionConfig> connections;
  std::vector<ApiDestinationConfig> api_destinations;
  std::vector<RuleConfig> rules;
  std::vector<WebhookConfig> webhooks;
  std::vector<ArchiveConfig> archives;
  std::vector<SubscriberConfig> subscribers;
};

// Reads and validates a configuration file. Returns true when it is valid;
// otherwise fills `errors` with every problem found, in file order.
bool load_file(const std::string& path, Config* out, std::vector<ConfigError>* errors);

// The same for text already in memory; `file` names it in errors.
bool load_text(const std::string& text, const std::string& file, Config* out, std::vector<ConfigError>* errors);

// The number of '*' path wildcards in an endpoint URL.
size_t count_path_wildcards(const std::string& endpoint);

}  // namespace switchyard::config
