#include "switchyard/cluster/membership.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "switchyard/core/log.h"
#include "switchyard/destinations/dispatcher.h"
#include "switchyard/storage/js_subjects.h"

namespace switchyard::cluster {

namespace {

constexpr const char* kLeaseBucket = "sy_leases";
constexpr const char* kNodeBucket = "sy_nodes";
constexpr const char* kStateBucket = "sy_state";
constexpr const char* kPartitionsKey = "cluster.partitions";
constexpr int64_t kTickMs = 250;
constexpr int64_t kPausesMs = 1000;
constexpr int64_t kReleaseEveryMs = 2000;
constexpr int64_t kStatsRefreshMs = 150;

std::string lease_key(uint32_t p) { return "part." + std::to_string(p); }

}  // namespace

struct Membership::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : owned(prometheus::BuildGauge()
                  .Name("switchyard_cluster_partitions_owned")
                  .Help("Partitions this node owns (delivers for) now")
                  .Register(r)
                  .Add({})),
        events(prometheus::BuildCounter()
                   .Name("switchyard_cluster_lease_events_total")
                   .Help("Partition ownership changes on this node: acquired, released (handed over), lost "
                         "(taken over after this node missed its renewals)")
                   .Register(r)),
        acquired(events.Add({{"event", "acquired"}})),
        released(events.Add({{"event", "released"}})),
        lost(events.Add({{"event", "lost"}})) {}
  prometheus::Gauge& owned;
  prometheus::Family<prometheus::Counter>& events;
  prometheus::Counter& acquired;
  prometheus::Counter& released;
  prometheus::Counter& lost;
};

Membership::Membership(storage::jetstream::JetStream& js, storage::JetStreamStore& store,
                       destinations::Dispatcher& dispatcher, MembershipOptions options, prometheus::Registry& registry,
                       core::Clock& clock)
    : js_(js),
      store_(store),
      dispatcher_(dispatcher),
      options_(std::move(options)),
      clock_(clock),
      metrics_(std::make_unique<Metrics>(registry)) {
  options_.partitions = std::clamp<uint32_t>(options_.partitions, 1, kMaxPartitions);
  for (uint32_t p = 0; p < options_.partitions; ++p)
    leases_.push_back(std::make_unique<Lease>(js_,
                                              LeaseOptions{.bucket = kLeaseBucket,
                                                           .key = lease_key(p),
                                                           .holder = options_.node_id,
                                                           .ttl_ms = options_.lease_ttl_ms,
                                                           .fence_margin_ms = options_.fence_margin_ms},
                                              clock_));
}

Membership::~Membership() { stop(); }

core::Status Membership::start() {
  if (auto st = js_.ensure_bucket(kLeaseBucket, options_.replicas, options_.lease_ttl_ms); !st) return st;
  if (auto st = js_.ensure_bucket(kNodeBucket, options_.replicas, options_.node_ttl_ms); !st) return st;
  if (auto st = js_.ensure_bucket(kStateBucket, options_.replicas); !st) return st;
  // Every node must hash destinations alike: the first node stores the
  // partition count, the others must have the same.
  const std::string mine = std::to_string(options_.partitions);
  auto created = js_.kv_create(kStateBucket, kPartitionsKey, mine);
  if (!created && created.status().code() != core::Code::kFailedPrecondition) return created.status();
  if (!created) {
    auto stored = js_.kv_get(kStateBucket, kPartitionsKey);
    if (!stored) return stored.status();
    if (stored->value != mine)
      return core::Status::failed_precondition("cluster.partitions is " + mine + " here but " + stored->value +
                                               " in the running cluster; every node must have the same value");
  }
  heartbeat();
  thread_ = std::thread([this] { run(); });
  return core::Status::ok();
}

void Membership::stop() {
  {
    std::lock_guard lock(wake_mu_);
    if (stopping_ || !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  // Handed over when NATS can be told; else the leases expire by themselves
  // (a stop never waits on a cluster that does not answer).
  const bool reachable = js_.connected();
  for (uint32_t p = 0; p < options_.partitions; ++p) {  // every send stops, then one refresh wait for all
    send_until_[p].store(0, std::memory_order_release);
    send_from_[p].store(0, std::memory_order_release);
  }
  if (reachable) std::this_thread::sleep_for(std::chrono::milliseconds(kStatsRefreshMs));
  for (uint32_t p = 0; p < options_.partitions; ++p)
    if (leases_[p]->held()) lost(p, reachable, /*fenced_already=*/true);
  if (reachable) (void)js_.kv_delete(kNodeBucket, options_.node_id);
}

void Membership::set_destinations(std::vector<OwnedDestination> destinations) {
  {
    core::MutexLock lock(mu_);
    destinations_ = std::move(destinations);
    destinations_changed_ = true;
  }
  wake_.notify_all();
}

bool Membership::may_send(const std::string& destination) const {
  return holds(storage::jetstream::partition_of(destination, options_.partitions));
}

bool Membership::holds(uint32_t p) const {
  if (p >= options_.partitions) return false;
  const int64_t from = send_from_[p].load(std::memory_order_acquire);
  const int64_t now = clock_.mono_ms();
  return from != 0 && now >= from && now < send_until_[p].load(std::memory_order_acquire);
}

std::vector<OwnedDestination> Membership::destinations_of(uint32_t p) {
  core::MutexLock lock(mu_);
  std::vector<OwnedDestination> out;
  for (const auto& d : destinations_)
    if (storage::jetstream::partition_of(d.name, options_.partitions) == p) out.push_back(d);
  return out;
}

void Membership::run() {
  for (;;) {
    {
      std::unique_lock lock(wake_mu_);
      if (stopping_) return;
    }
    const int64_t now = clock_.mono_ms();
    // Every step may wait on JetStream (a request timeout while a stream
    // elects): renewals that fall due meanwhile go first.
    if (now - last_heartbeat_ms_ >= options_.heartbeat_ms) heartbeat();
    renew_if_due();
    rebalance();
    renew_if_due();
    bool changed = false;
    {
      core::MutexLock lock(mu_);
      changed = std::exchange(destinations_changed_, false);
    }
    // Every destination of an owned partition is fetched: those whose
    // adoption failed (JetStream electing a leader) are tried again each
    // pass, and after a reload all are (new ones, new windows).
    for (uint32_t p = 0; p < options_.partitions; ++p)
      if (leases_[p]->held()) adopt(p, changed);
    if (now - last_pauses_ms_ >= kPausesMs) apply_pauses();
    std::unique_lock lock(wake_mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(kTickMs), [this] { return stopping_; });
  }
}

// Writes this node's record with its heartbeat, then counts the live nodes
// and how many partitions the least loaded of them holds.
void Membership::heartbeat() {
  last_heartbeat_ms_ = clock_.mono_ms();
  const int64_t wall = clock_.wall_ms();
  const std::string value = "{\"beat_ms\":" + std::to_string(wall) + ",\"node\":" + options_.record + "}";
  if (auto st = js_.kv_put(kNodeBucket, options_.node_id, value); !st) {
    core::log::warn("cannot write this node's record", {{"error", st.status().message()}});
    return;
  }
  auto live = nodes();
  if (!live) return;
  live_nodes_ = std::max<size_t>(1, live->size());
  std::map<std::string, size_t> held;
  for (const auto& id : *live) held[id] = 0;
  for (const auto& p : partitions())
    if (auto it = held.find(p.owner); it != held.end()) ++it->second;
  fewest_owned_ = options_.partitions;
  for (const auto& [id, n] : held) fewest_owned_ = std::min(fewest_owned_, n);
}

void Membership::renew_if_due() {
  if (clock_.mono_ms() - last_renewal_ms_ >= options_.renew_every_ms) renew_all();
}

void Membership::renew_all() {
  last_renewal_ms_ = clock_.mono_ms();
  for (uint32_t p = 0; p < options_.partitions; ++p) {
    Lease& lease = *leases_[p];
    if (!lease.held()) continue;
    const core::Status st = lease.renew();
    if (st) {
      send_until_[p].store(lease.fence_at_ms(), std::memory_order_release);
    } else if (st.code() == core::Code::kFailedPrecondition) {
      core::log::warn(
          "partition lost: another node holds it now",
          {{"partition", std::to_string(p)}, {"epoch", std::to_string(lease.epoch())}, {"error", st.message()}});
      metrics_->lost.Increment();
      lost(p, false);
    } else {  // NATS did not answer: the fence stops sends until a renewal succeeds
      core::log::debug("cannot renew a partition's lease yet",
                       {{"partition", std::to_string(p)}, {"error", st.message()}});
    }
  }
}

void Membership::rebalance() {
  const size_t share = (options_.partitions + live_nodes_ - 1) / live_nodes_;
  size_t held = 0;
  for (const auto& l : leases_) held += l->held() ? 1 : 0;
  auto taken = js_.kv_keys(kLeaseBucket);
  if (!taken) return;
  const std::set<std::string> busy(taken->begin(), taken->end());
  std::set<uint32_t> free_now;
  for (uint32_t p = 0; p < options_.partitions; ++p)
    if (!leases_[p]->held() && !busy.count(lease_key(p))) free_now.insert(p);
  // Nodes start looking at different partitions, so they rarely race.
  const uint32_t first = storage::jetstream::partition_of(options_.node_id, options_.partitions);
  for (uint32_t i = 0; i < options_.partitions; ++i) {
    const uint32_t p = (first + i) % options_.partitions;
    if (!free_now.count(p) || (held >= share && !free_last_pass_.count(p))) continue;
    auto got = leases_[p]->try_acquire();
    if (got && *got) {
      acquired(p);
      ++held;
      free_now.erase(p);
    }
  }
  free_last_pass_ = std::move(free_now);
  // Above the share while a live node is below it: hand over what that
  // node lacks (at most the excess), then wait for the counts to settle.
  if (held > share && fewest_owned_ < share && live_nodes_ > 1 &&
      clock_.mono_ms() - last_release_ms_ >= kReleaseEveryMs) {
    last_release_ms_ = clock_.mono_ms();
    size_t give = std::min(held - share, share - fewest_owned_);
    for (uint32_t p = options_.partitions; p-- > 0 && give > 0;)
      if (leases_[p]->held()) {
        core::log::info("partition released to rebalance",
                        {{"partition", std::to_string(p)}, {"live_nodes", std::to_string(live_nodes_)}});
        lost(p, true);
        --give;
      }
    fewest_owned_ = share;  // until the next heartbeat counts again
  }
}

void Membership::adopt(uint32_t p, bool all) {
  for (const auto& d : destinations_of(p)) {
    // An adoption waits on JetStream too: a node busy adopting must not let
    // its own leases expire.
    renew_if_due();
    if (!leases_[p]->held()) return;
    if (!all && adopted_.count(d.name)) continue;
    if (auto st = store_.adopt(d.name, d.window); st) {
      adopted_.insert(d.name);
    } else {
      adopted_.erase(d.name);
      core::log::warn("cannot fetch a destination's deliveries yet; retrying",
                      {{"destination", d.name}, {"error", st.message()}});
    }
  }
}

void Membership::acquired(uint32_t p) {
  const Lease& lease = *leases_[p];
  send_until_[p].store(lease.fence_at_ms(), std::memory_order_release);
  send_from_[p].store(clock_.mono_ms() + options_.takeover_delay_ms, std::memory_order_release);
  adopt(p, true);
  ++owned_;
  metrics_->acquired.Increment();
  metrics_->owned.Set(static_cast<double>(owned_.load()));
  core::log::info("partition acquired", {{"partition", std::to_string(p)}, {"epoch", std::to_string(lease.epoch())}});
}

// Sends stop at once. Gracefully (a release), requests in flight may finish
// and record their outcome before the fetched deliveries are handed back
// and the lease deleted; when the lease was lost, everything held is let go
// and comes back to the new owner after the ack wait.
void Membership::lost(uint32_t p, bool graceful, bool fenced_already) {
  send_until_[p].store(0, std::memory_order_release);
  send_from_[p].store(0, std::memory_order_release);
  const auto dests = destinations_of(p);
  if (graceful) {
    // The dispatcher's view is refreshed at least every 100 ms: read it only
    // once a refresh after the fence is sure, so that a send started just
    // before the fence is seen in flight.
    if (!fenced_already) std::this_thread::sleep_for(std::chrono::milliseconds(kStatsRefreshMs));
    const int64_t until = clock_.mono_ms() + options_.in_flight_drain_ms;
    for (;;) {
      uint32_t in_flight = 0;
      for (const auto& s : dispatcher_.stats())
        for (const auto& d : dests)
          if (s.name == d.name) in_flight += s.in_flight;
      if (in_flight == 0 || clock_.mono_ms() >= until) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::vector<std::string> names;
  for (const auto& d : dests) {
    names.push_back(d.name);
    adopted_.erase(d.name);
  }
  store_.drop(names, graceful);
  for (const auto& name : names) dispatcher_.forget(name);
  if (graceful) {
    if (auto st = leases_[p]->release(); !st)
      core::log::warn("cannot delete a released lease; it expires by itself", {{"error", st.message()}});
    metrics_->released.Increment();
  } else {
    (void)leases_[p]->release();  // it is no longer ours: forget it without deleting
  }
  if (owned_ > 0) --owned_;
  metrics_->owned.Set(static_cast<double>(owned_.load()));
}

void Membership::apply_pauses() {
  last_pauses_ms_ = clock_.mono_ms();
  auto paused = store_.paused_destinations();
  if (paused) dispatcher_.apply_paused(std::set<std::string>(paused->begin(), paused->end()));
  // The DLQ is shared: every node shows its depth as stored (one read).
  std::vector<std::string> names;
  {
    core::MutexLock lock(mu_);
    for (const auto& d : destinations_) names.push_back(d.name);
  }
  if (auto counts = store_.dead_letter_counts(names); counts) dispatcher_.apply_dead_letter_counts(std::move(*counts));
}

core::Result<std::vector<std::string>> Membership::nodes() {
  auto keys = js_.kv_keys(kNodeBucket);
  if (!keys) return keys.status();
  std::vector<std::string> live;
  const int64_t now = clock_.wall_ms();
  for (const auto& id : *keys) {
    auto record = js_.kv_get(kNodeBucket, id);
    if (!record) continue;
    const auto at = record->value.find("\"beat_ms\":");
    if (at == std::string::npos) continue;
    const int64_t beat = std::strtoll(record->value.c_str() + at + 10, nullptr, 10);
    if (now - beat <= options_.live_within_ms) live.push_back(id);
  }
  return live;
}

std::map<std::string, std::string> Membership::owners() {
  const std::vector<PartitionView> parts = partitions();
  std::map<std::string, std::string> out;
  core::MutexLock lock(mu_);
  for (const auto& d : destinations_)
    out[d.name] = parts[storage::jetstream::partition_of(d.name, options_.partitions)].owner;
  return out;
}

std::vector<PartitionView> Membership::partitions() {
  std::vector<PartitionView> out;
  for (uint32_t p = 0; p < options_.partitions; ++p) {
    PartitionView v;
    v.partition = p;
    if (auto e = js_.kv_get(kLeaseBucket, lease_key(p)); e) {
      v.owner = e->value;
      v.epoch = e->revision;
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace switchyard::cluster
