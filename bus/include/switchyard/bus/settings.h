#pragma once

// What the bus needs of a bus, a webhook route and an archive, in its own
// types: ingest, signatures and routing take these, never the config's, so
// the config's shape can change without them (build_routing translates).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace switchyard::bus {

using Params = std::vector<std::pair<std::string, std::string>>;

// A SigV4 access key (the secret is one).
struct AccessKey {
  std::string id;
  std::string secret;
};

struct BusSettings {
  std::string name;
  std::string account = "000000000000";    // the envelope's `account`
  std::string region = "us-east-1";        // the envelope's `region`
  std::vector<std::string> ingest_tokens;  // bearer tokens for the JSON and webhook routes (secrets)
  std::vector<AccessKey> access_keys;      // SigV4 keys for PutEvents (secrets)
  int64_t dedup_window_ms = 300'000;       // publish deduplication window
  bool dedup_content_based = false;        // entries without an id: their content's hash is one
  // The bus keeps a log of its events (it has subscribers, or a retention):
  // for retention_days (1-365), or with 0 until every subscriber passed them.
  bool logged = false;
  uint32_t retention_days = 0;
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

struct WebhookSettings {
  std::string name;
  std::string bus = "default";
  std::string source;
  std::string detail_type;         // constant detail-type, or
  std::string detail_type_header;  // the request header that carries it
  bool verified = false;           // false: no signature check
  WebhookVerify verify;
  std::string deduplicate_by = "auto";  // auto | none | header:<name> | body:<member>
};

// Events of `bus` matching `event_pattern` (all when empty) are kept for
// `retention_days` (0: forever).
struct ArchiveSettings {
  std::string name;
  std::string bus = "default";
  std::string event_pattern;  // JSON text
  uint32_t retention_days = 0;
  std::string description;
};

}  // namespace switchyard::bus
