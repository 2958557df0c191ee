#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "switchyard/core/clock.h"
#include "switchyard/core/status.h"
#include "switchyard/core/task.h"
#include "switchyard/destinations/destination.h"
#include "switchyard/destinations/oauth.h"
#include "switchyard/destinations/retry.h"

namespace prometheus {
class Registry;
}
namespace switchyard::storage {
class Store;
}

namespace switchyard::destinations {

struct Options {
  // OAuth token requests' limit (a destination's requests have their own,
  // Destination::timeout_ms, as they have their own max_concurrency).
  int64_t request_timeout_ms = 5000;
  // Requests in flight over all destinations, and the connection pool size.
  // Destinations take turns when it is reached, so none is starved.
  uint32_t max_in_flight_total = 256;
  // Threads that carry the HTTP transfers (each its own libcurl multi
  // handle and its share of the connection pool). The delivery thread
  // still decides every send, so quotas and limits stay exact.
  uint32_t transport_threads = 2;
  BackoffOptions backoff;
  // At most this many deliveries of one destination are held in memory; the
  // rest of its backlog stays on disk and is paged in as these complete.
  size_t max_in_memory_per_destination = 10000;
  // ... and at most this many bytes of them (core::task_memory_bytes), and
  // over all destinations at most max_in_memory_bytes_total: large events
  // wait on disk instead of filling memory.
  size_t max_in_memory_bytes_per_destination = 32u << 20;
  size_t max_in_memory_bytes_total = 256u << 20;
  // Cluster mode: whether this node may start a send to `destination` now
  // (it owns the destination's partition and its lease is not fenced).
  // Asked right before every send; a destination refused is asked again
  // within 250 ms. Null: every destination is this node's.
  std::function<bool(const std::string& destination)> may_send;
  // Cluster mode: how many deliveries of `destination` are stored beyond
  // those this node holds (waiting in the work stream for its owner to
  // fetch them); the admin view counts them as queued and in the backlog.
  // Null: none (the embedded store's backlog is all known here).
  std::function<uint64_t(const std::string& destination)> stored_beyond;
  // A FIFO subscriber's delivery (one with a group_key) left the queue:
  // delivered, or dead-lettered (`dead`), and the store recorded it. Runs
  // on the delivery thread; must not block. Null: nobody is told.
  std::function<void(const core::DeliveryTask& task, bool dead)> on_settled;
};

struct DestinationStats {
  std::string name;
  bool paused = false;
  bool circuit_open = false;
  uint64_t circuit_openings = 0;          // times the circuit opened since start
  uint32_t concurrency_limit = 0;         // requests it may have in flight now
  uint64_t queued = 0;                    // waiting in memory (due or not)
  bool backlog_on_disk = false;           // more are stored than memory holds
  uint64_t backlog = 0;                   // stored and not yet delivered or dead-lettered (memory and disk)
  double oldest_pending_age_seconds = 0;  // of the deliveries held in memory; 0 when none
  uint32_t in_flight = 0;
  uint64_t delivered = 0;
  uint64_t dead_lettered = 0;
  uint64_t dlq_depth = 0;
  double delivery_rate_per_second = 0;  // average over the last 10 seconds
  // EventBridge's ApiDestinationState: INACTIVE while an OAuth connection
  // has no usable token. connection_state: AUTHORIZED, AUTHORIZING or
  // DEAUTHORIZED for OAuth connections, empty otherwise.
  bool active = true;
  std::string connection_state;
  std::string connection_error;  // why the last token request failed
};

// Delivers tasks to HTTP API destinations.
//
// Owns one thread that owns the libcurl multi handle, the per-destination
// queues and rate windows; other threads only call submit(),
// set_destinations() and stats(), which are thread-safe. Every outcome is
// written to the store before the task leaves memory: success deletes the
// task, a retry rewrites it with its next due time, a final failure moves it
// to the dead-letter queue.
//
// Lifecycle: construct, set_destinations(), start() (which also recovers the
// tasks the store holds), ..., stop() (or the destructor). Tasks in flight at
// stop() stay in the store and are retried after the next start.
class Dispatcher {
 public:
  // Due times and ages run on `clock`'s wall time, quotas, probes and token
  // retries on its monotonic time; `random` draws the backoff jitter (a
  // seeded std::mt19937_64 when null).
  Dispatcher(Options options, storage::Store& store, prometheus::Registry& registry,
             core::Clock& clock = core::system_clock(), std::unique_ptr<core::Random> random = nullptr);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Replaces the destination set; takes effect on the next attempt. Tasks for
  // a destination that no longer exists stay stored and wait for it.
  void set_destinations(std::vector<Destination> destinations);

  // Loads the stored backlog and starts the delivery thread.
  void start();
  void stop();

  // Hands over tasks that are already durably stored.
  void submit(std::vector<core::DeliveryTask> tasks);

  std::vector<DestinationStats> stats() const;

  // Cluster mode. `count` more deliveries of `destination` were stored by
  // another path than submit() (fetched from JetStream): they are paged
  // in from the store as memory allows.
  void stored_elsewhere(const std::string& destination, uint64_t count);
  // This node no longer delivers for `destination`: its deliveries leave
  // memory without any store write (another node delivers them now).
  void forget(const std::string& destination);
  // The paused destinations as another node set them; nothing is written.
  void apply_paused(std::set<std::string> paused);
  // Cluster mode: each destination's DLQ depth as the shared store holds it
  // (other nodes dead-letter, redrive and purge too); sets the admin view's
  // dlq_depth and the gauge.
  void apply_dead_letter_counts(std::map<std::string, uint64_t> counts);

  // Scheduling passes the delivery thread has made. A pass takes what was
  // handed over, starts what the clock, quotas and circuits allow, and
  // collects finished attempts; tests wait on this instead of sleeping.
  uint64_t passes() const;

  // Stops / restarts sending to a destination; its queue is kept (on disk
  // and in memory) and the state survives restarts.
  core::Status pause(const std::string& destination);
  core::Status resume(const std::string& destination);

  // Puts up to `limit` dead letters of `destination`, oldest first, back on
  // its queue in one write (each keeps its webhook-id; its age counts from
  // now). Returns how many; the DLQ depth gauge follows.
  core::Result<uint64_t> redrive(const std::string& destination, size_t limit);

  // Deletes every dead letter of `destination` (SQS's PurgeQueue), in
  // writes of 10,000; `*purged` counts those deleted even when a write
  // fails part way. The DLQ depth gauge follows.
  core::Status purge_dead_letters(const std::string& destination, uint64_t* purged);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::destinations
