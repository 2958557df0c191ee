#pragma once

// Which node delivers for which destination (../shared/spec/cluster.md
// §3.4). Destinations hash into `partitions`; each partition has one owner
// at a time, holding its lease (lease.h). Every node keeps a record in a
// key-value bucket, with a heartbeat every second; a node is live while its
// last heartbeat is under 3 s old. The live nodes share the partitions: a
// node below its fair share takes partitions whose lease expired or was
// released, any node takes one that stayed free for two passes (so a dead
// node's partitions never wait for the others to notice it died), and a
// node above its share releases one at a time while a live node is below
// it, gracefully (sends stop, requests in flight finish, what it fetched is
// handed back, then the lease is deleted).
//
// A send may start only while the partition is held and its fence has not
// passed (the dispatcher asks may_send() right before every send), and not
// before `takeover_delay_ms` after the partition was taken, so that the old
// owner's last second of sends and the new owner's first never share a
// one-second window at the receiver.

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "switchyard/cluster/lease.h"
#include "switchyard/core/clock.h"
#include "switchyard/core/mutex.h"
#include "switchyard/storage/jetstream.h"
#include "switchyard/storage/jetstream_store.h"

namespace prometheus {
class Registry;
}
namespace switchyard::destinations {
class Dispatcher;
}

namespace switchyard::cluster {

inline constexpr uint32_t kMaxPartitions = 1024;

struct MembershipOptions {
  std::string node_id{};
  std::string record{};  // JSON object this node publishes about itself (addresses)
  uint32_t partitions = 32;
  int replicas = 3;
  int64_t lease_ttl_ms = 6000;
  int64_t fence_margin_ms = 2000;
  int64_t renew_every_ms = 1500;
  int64_t node_ttl_ms = 15000;  // a dead node's record is gone after this
  int64_t heartbeat_ms = 1000;
  int64_t live_within_ms = 3000;  // a node whose heartbeat is older is not counted
  int64_t takeover_delay_ms = 1250;
  int64_t in_flight_drain_ms = 5000;  // a graceful release waits this long for requests in flight
};

// A destination this node may deliver for, and how many of its deliveries
// it keeps fetched at once (32 + 2 x quota, at most 1000).
struct OwnedDestination {
  std::string name;
  size_t window = 0;
};

struct PartitionView {
  uint32_t partition = 0;
  std::string owner;  // node id; empty when nobody holds it
  uint64_t epoch = 0;
};

class Membership {
 public:
  Membership(storage::jetstream::JetStream& js, storage::JetStreamStore& store, destinations::Dispatcher& dispatcher,
             MembershipOptions options, prometheus::Registry& registry, core::Clock& clock = core::system_clock());
  ~Membership();
  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;

  // Creates the buckets, checks the partition count every node must share,
  // writes this node's record and starts taking partitions.
  core::Status start();
  // Releases every partition gracefully.
  void stop();

  // The configured destinations (at start and after each reload).
  void set_destinations(std::vector<OwnedDestination> destinations);

  // Whether a send to `destination` may start now on this node.
  bool may_send(const std::string& destination) const;
  // Whether this node holds partition `p` now (and may act for it). The
  // holder of partition 0 also runs the cluster's replays and archive
  // retention: one node at a time, as a partition's owner.
  bool holds(uint32_t p) const;

  // Live node ids (this one included) and who holds each partition.
  core::Result<std::vector<std::string>> nodes();
  std::vector<PartitionView> partitions();
  // Each configured destination's owner (node id; "" while nobody holds its
  // partition), from one read of the leases.
  std::map<std::string, std::string> owners();
  size_t owned() const { return owned_.load(); }

 private:
  void run();
  void heartbeat();
  void renew_all();
  void renew_if_due();
  void rebalance();
  void acquired(uint32_t p);
  // Has the store fetch the destinations of partition `p`: all of them, or
  // only those not adopted yet.
  void adopt(uint32_t p, bool all);
  // `fenced_already`: its sends were stopped over 150 ms ago (a stop fences
  // every partition first and waits once).
  void lost(uint32_t p, bool graceful, bool fenced_already = false);
  std::vector<OwnedDestination> destinations_of(uint32_t p);
  void apply_pauses();

  storage::jetstream::JetStream& js_;
  storage::JetStreamStore& store_;
  destinations::Dispatcher& dispatcher_;
  MembershipOptions options_;
  core::Clock& clock_;
  struct Metrics;
  std::unique_ptr<Metrics> metrics_;

  std::vector<std::unique_ptr<Lease>> leases_;                     // by partition; the thread's
  std::array<std::atomic<int64_t>, kMaxPartitions> send_from_{};   // monotonic ms; 0: not held
  std::array<std::atomic<int64_t>, kMaxPartitions> send_until_{};  // the fence
  std::atomic<size_t> owned_{0};
  int64_t last_heartbeat_ms_ = 0;
  int64_t last_renewal_ms_ = 0;
  int64_t last_release_ms_ = 0;
  int64_t last_pauses_ms_ = 0;
  size_t live_nodes_ = 1;
  size_t fewest_owned_ = 0;            // partitions held by the live node that holds fewest
  std::set<uint32_t> free_last_pass_;  // partitions nobody held at the last pass
  std::set<std::string> adopted_;      // destinations the store fetches for this node

  mutable core::Mutex mu_;
  std::vector<OwnedDestination> destinations_ SY_GUARDED_BY(mu_);
  bool destinations_changed_ SY_GUARDED_BY(mu_) = false;

  std::mutex wake_mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace switchyard::cluster
