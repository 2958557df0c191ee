#pragma once

// The dispatcher's state, shared by the files that each do one of its jobs:
//   dispatcher.cc     the public API: lifecycle, submit, pause, DLQ redrive
//   scheduler.cc      the delivery thread: due times, quotas, circuits,
//                     OAuth readiness, starting and finishing attempts
//   outcomes.cc       what an attempt's outcome does: retry, dead letter,
//                     the store write that records it
//   delivery_stats.cc the admin view and the per-destination gauges
// The parts with state of their own live in their own files: the rate
// window, the circuit breaker, the token cache, the memory pager, the curl
// transport and the metric families.

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "circuit.h"
#include "concurrency_limit.h"
#include "delivery_metrics.h"
#include "due_heap.h"
#include "memory_pager.h"
#include "rate_window.h"
#include "ready_queue.h"
#include "switchyard/core/clock.h"
#include "switchyard/core/mutex.h"
#include "switchyard/destinations/dispatcher.h"
#include "switchyard/storage/store.h"
#include "token_cache.h"
#include "transport.h"

namespace switchyard::destinations {

class Dispatcher::Impl {
 public:
  Impl(Options options, storage::Store& store, prometheus::Registry& registry, core::Clock& clock,
       std::unique_ptr<core::Random> random);
  ~Impl();

  void set_destinations(std::vector<Destination> destinations);
  core::Status set_paused(const std::string& name, bool paused);
  void start();
  void stop();
  core::Result<uint64_t> redrive(const std::string& name, size_t limit);
  core::Status purge_dead_letters(const std::string& name, uint64_t* purged);
  void submit(std::vector<core::DeliveryTask> tasks);
  std::vector<DestinationStats> stats() const;
  uint64_t passes() const { return passes_.load(); }
  void stored_elsewhere(const std::string& name, uint64_t count);
  void forget(const std::string& name);
  void apply_paused(std::set<std::string> paused);
  void apply_dead_letter_counts(std::map<std::string, uint64_t> counts);

 private:
  // What a transfer in flight is for: a delivery, or a connection's token.
  struct Call {
    core::DeliveryTask task;
    std::string token_for;          // a token request for this connection (task unused)
    std::string oauth_connection;   // a delivery authorized by this connection's token
    uint64_t token_generation = 0;  // the OAuth token the request carried
    int64_t started_ms = 0;
    RateWindow::Slot rate_slot;     // the quota slot this delivery used
    bool trial = false;             // a half-open circuit's trial
    uint32_t in_flight_before = 0;  // the destination's requests in flight when it started
  };

  struct DestState {
    ReadyQueue ready;  // due: first attempts and retries, taking turns
    uint32_t in_flight = 0;
    uint64_t waiting = 0;  // in the due-time heap
    RateWindow window;     // on the monotonic clock
    CircuitBreaker breaker;
    ConcurrencyLimit limit;  // the in-flight limit, following the receiver
    bool adaptive = true;    // the destination's adaptive_concurrency, as last configured
    DestinationInstruments m;
    uint64_t dlq_count = 0;
    uint64_t circuit_openings = 0;
    Holding holding;      // what of its backlog is in memory
    uint64_t stored = 0;  // deliveries stored (memory and disk): counted at creation, then kept here
    bool warned_missing = false;
    bool paused = false;
    // Deliveries per second over the last 10 complete seconds: (second, count).
    std::deque<std::pair<int64_t, uint32_t>> recent;
  };

  // dispatcher.cc
  DestState& state(const std::string& name);
  static uint64_t count_or_zero(const core::Result<uint64_t>& n, const char* what, const std::string& name);
  void dead_letters_removed(const std::string& name, uint64_t count);

  // scheduler.cc
  void admit(core::DeliveryTask&& t);
  void enqueue(core::DeliveryTask&& t);
  void refill();
  void drop_destination(const std::string& name);
  void take_inbox(std::shared_ptr<const std::map<std::string, Destination>>* dests, std::set<std::string>* paused);
  void run();
  void start_attempts(const std::map<std::string, Destination>* dests, const std::set<std::string>& paused, int64_t now,
                      int64_t* wake_at);
  void warn_missing(const std::string& name, DestState& s);
  bool oauth_ready(const OAuthClientCredentials& c, DestState& s, int64_t now, int64_t* wake_at);
  void send_token_request(const std::string& connection, const TokenRequest& req);
  void begin(const Destination& d, DestState& s, core::DeliveryTask&& task, int64_t now, RateWindow::Slot slot,
             bool trial);
  void finish(HttpResult&& r);

  // outcomes.cc
  void fail_attempt(core::DeliveryTask&& task, const Outcome& outcome, DestState& s, int64_t now);
  void flush_finished();
  void track_circuit(DestState& s, const std::string& name, const Outcome& outcome, bool trial, bool first,
                     bool absorbed);
  void fail_for_good(core::DeliveryTask& task, const std::string& code, const std::string& message,
                     const std::string& exhausted, DestState& s);
  static bool record(const core::Status& st, const char* what, DestState& s);

  // delivery_stats.cc
  void publish_stats();

  Options options_;
  storage::Store& store_;
  core::Clock& clock_;
  std::unique_ptr<core::Random> random_;
  DeliveryMetrics metrics_;
  HttpTransport transport_;
  TokenCache tokens_;
  MemoryPager pager_;
  int clock_watch_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> passes_{0};

  mutable core::Mutex mu_;
  std::vector<core::DeliveryTask> inbox_ SY_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> dlq_counts_ SY_GUARDED_BY(mu_);  // apply_dead_letter_counts, not taken yet
  std::shared_ptr<const std::map<std::string, Destination>> destinations_ SY_GUARDED_BY(mu_);
  std::set<std::string> paused_ SY_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, uint64_t>> dlq_removed_ SY_GUARDED_BY(mu_);
  std::vector<std::string> recover_ SY_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, uint64_t>> stored_elsewhere_ SY_GUARDED_BY(mu_);
  std::vector<std::string> forget_ SY_GUARDED_BY(mu_);

  // Owned by the delivery thread.
  DueHeap heap_;
  std::map<std::string, DestState> dest_;
  std::unordered_map<uint64_t, Call> calls_;  // by transfer id
  int64_t age_published_ms_ = 0;
  std::vector<core::DeliveryTask> finished_;  // delivered this pass, to delete together
  std::string next_turn_;                     // destination that starts the next pass
  std::shared_ptr<const std::map<std::string, Destination>> dests_seen_;
  int64_t stats_published_ms_ = 0;
  std::map<std::string, uint64_t> delivered_count_, dead_count_;

  mutable core::Mutex stats_mu_;
  std::map<std::string, DestinationStats> stats_ SY_GUARDED_BY(stats_mu_);
};

}  // namespace switchyard::destinations
