#pragma once

// One partition's lease, for cluster mode: at most one node holds it, so at
// most one node sends for the partition's destinations and their quotas
// stay exact (../shared/spec/cluster.md §3.4). The lease is a key in a
// JetStream key-value bucket whose TTL is the lease's life: the node whose
// create succeeded holds it; it renews by compare-and-set on the revision
// it last wrote; a node that stops renewing loses it when the key expires.
//
// Self-fencing: a holder may start a send only until `ttl - fence_margin`
// after it *sent* its last successful renewal (monotonic time), so a node
// that was paused (SIGSTOP, a long GC-like stall, a partition from NATS)
// stops acting before any other node can have taken over.

#include <cstdint>
#include <string>

#include "switchyard/core/clock.h"
#include "switchyard/core/status.h"
#include "switchyard/storage/jetstream.h"

namespace switchyard::cluster {

struct LeaseOptions {
  std::string bucket{};  // its TTL must be `ttl_ms`
  std::string key{};     // e.g. "part.7"
  std::string holder{};  // this node's id, the value written
  int64_t ttl_ms = 6000;
  int64_t fence_margin_ms = 2000;
};

class Lease {
 public:
  Lease(storage::jetstream::JetStream& js, LeaseOptions options, core::Clock& clock);

  // Takes the lease when nobody holds it: true when this node holds it now.
  core::Result<bool> try_acquire();
  // Extends it. kFailedPrecondition when it was lost (another node holds
  // it, or it expired and was taken); kUnavailable when NATS did not answer
  // (the lease may still be held: renew again, and may_act() tells whether
  // to keep sending meanwhile).
  core::Status renew();
  // Gives it up at once (the key is deleted), so another node can take it.
  core::Status release();

  bool held() const { return held_; }
  // Whether a send may start now: held, and fenced by the last renewal.
  bool may_act() const;
  // The revision the lease was acquired at: a new holder has a higher one.
  uint64_t epoch() const { return epoch_; }
  // Monotonic time from which no send may start (0 when not held).
  int64_t fence_at_ms() const { return held_ ? renewed_at_ms_ + options_.ttl_ms - options_.fence_margin_ms : 0; }

 private:
  storage::jetstream::JetStream& js_;
  LeaseOptions options_;
  core::Clock& clock_;
  bool held_ = false;
  uint64_t epoch_ = 0;
  uint64_t revision_ = 0;      // the last revision this node wrote
  int64_t renewed_at_ms_ = 0;  // monotonic: when that write was sent
};

}  // namespace switchyard::cluster
