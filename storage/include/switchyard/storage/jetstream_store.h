#pragma once

// Cluster mode's store: every role of Store (roles.h) over NATS JetStream,
// so the server, the dispatcher and their tests are the same in both modes
// (../shared/spec/cluster.md; README "Running a cluster").
//
// Layout (all streams and buckets with `replicas` replicas):
//   SY_EVENTS limits, sy.ev.<tok(event id)>: every accepted event's record,
//             for lookups and dead letters' bodies, kept 25 hours.
//   SY_WORK   work queue, sy.wk.<tok(destination)>: first attempts. Ingest
//             publishes each matched delivery here, Msg-Id = its webhook-id,
//             and answers 200 once every publish of the request is
//             acknowledged by a quorum.
//   SY_RETRY  limits, sy.rt.<tok>: deliveries waiting for a retry, Msg-Id
//             <webhook-id>:a<attempts>; the copy replaces the one before.
//   SY_DLQ    limits, sy.dlq.<tok>: dead letters.
//   KV sy_state: pause.<tok> = destination, for every paused destination.
//   KV sy_dedup: <key hash> = publish deduplication keys (24 hours).
// A durable consumer wk_<tok> per destination reads SY_WORK. Only the node
// that adopted a destination (its partition's owner) fetches it: the
// deliveries fetched are held here until the dispatcher records their
// outcome, and offered to it through load_tasks.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "switchyard/storage/jetstream.h"
#include "switchyard/storage/store.h"

namespace prometheus {
class Registry;
}

namespace switchyard::storage {

struct JetStreamStoreOptions {
  int replicas = 3;
  // Ingest: how long a request waits for its publishes' acknowledgements
  // (resending through elections) before it is answered 503.
  int64_t publish_timeout_ms = 10000;
  int64_t ack_wait_ms = 15000;  // a fetched delivery not acknowledged comes back after this
  int64_t duplicates_ms = 120000;
  // Accepted events are kept this long for lookups and the DLQ's bodies
  // (EventBridge's longest event age, 24 h, and an hour more).
  int64_t events_max_age_ms = 25 * 3600 * 1000LL;
  int64_t work_max_bytes = -1;  // -1: no limit (the servers' disks are)
  int64_t retry_max_bytes = -1;
  int64_t dlq_max_bytes = -1;
  int publisher_threads = 16;  // ingest publishes waiting for acknowledgements at once
  // This node's id: its readiness probe writes the state bucket's key
  // health.<id> once a second (a write needs a quorum; a read may not).
  std::string node_id = "node";
  prometheus::Registry* registry = nullptr;
};

class JetStreamStore : public Store {
 public:
  // Creates (or updates) the streams and buckets.
  static core::Result<std::unique_ptr<JetStreamStore>> open(jetstream::JetStream& js,
                                                            const JetStreamStoreOptions& options);
  ~JetStreamStore() override;

  // The durable consumer of a destination's deliveries exists (created when
  // missing; done at start and reload for every configured destination).
  virtual core::Status ensure_destination(const std::string& destination) = 0;
  // This node delivers for `destination` from now: its waiting retries are
  // loaded and its deliveries fetched, keeping at most `window` of them
  // held at once. `on_fetched(destination, n)` runs (on a fetch thread)
  // whenever n more are held, for the dispatcher to page them in.
  virtual core::Status adopt(const std::string& destination, size_t window) = 0;
  // It no longer does: fetching stops and what is held is let go. When
  // `graceful`, deliveries not yet recorded are handed back at once (NAK),
  // else they come back to the next owner after the ack wait.
  virtual void drop(const std::string& destination, bool graceful) = 0;
  // The same for several at once (their fetches end together).
  virtual void drop(const std::vector<std::string>& destinations, bool graceful) = 0;
  virtual void set_fetch_listener(std::function<void(const std::string&, uint64_t)> on_fetched) = 0;
  // Deliveries of an adopted destination waiting in the stream beyond the
  // ones this node fetched, as last seen (0 when not adopted here).
  virtual uint64_t waiting(const std::string& destination) const = 0;
  // The DLQ depth of each of `destinations`, from one read of the stream.
  virtual core::Result<std::map<std::string, uint64_t>> dead_letter_counts(
      const std::vector<std::string>& destinations) = 0;
};

}  // namespace switchyard::storage
