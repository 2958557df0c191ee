#pragma once

// The JetStream store's state, shared by its files:
//   js_store.cc          opening, ingest publishes, the worker queues
//   js_store_deliveries.cc  adopted destinations: fetching, holding, the
//                        outcomes (ack, retry copy, dead letter)
//   js_store_state.cc    the DLQ's reads, redrive and purge, pauses
//   js_store_archives.cc archives (a stream each) and small records
//   js_store_dedup.cc    publish deduplication keys
//   js_store_log.cc      bus logs (a stream each)

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "store_metrics.h"
#include "switchyard/core/mutex.h"
#include "switchyard/storage/jetstream_store.h"

namespace switchyard::storage {

inline constexpr const char* kEventStream = "SY_EVENTS";
inline constexpr const char* kWorkStream = "SY_WORK";
inline constexpr const char* kRetryStream = "SY_RETRY";
inline constexpr const char* kDeadLetterStream = "SY_DLQ";
inline constexpr const char* kStateBucket = "sy_state";
inline constexpr const char* kDedupBucket = "sy_dedup";
inline constexpr int64_t kDedupKeptMs = 86'400'000;  // the longest deduplication window

// Jobs run in order on worker threads.
class JobQueue {
 public:
  explicit JobQueue(int threads);
  ~JobQueue();
  void push(std::function<void()> job);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

class JsStore final : public JetStreamStore {
 public:
  JsStore(jetstream::JetStream& js, const JetStreamStoreOptions& options);
  ~JsStore() override;

  bool writable() override { return js_.connected(); }
  bool delivers_appended_here() const override { return false; }
  // Connected, and the work stream answered within the last checks (a
  // background thread asks it every second: without a quorum it cannot).
  core::Status readiness() override;

  // IngestLog
  void append(std::shared_ptr<const IngestBatch> batch, std::function<void(core::Status)> done) override;
  core::Result<std::string> event_envelope(int64_t ingested_ms, const std::string& event_id) override;
  // SY_EVENTS's maximum age does it.
  core::Status expire_events(int64_t) override { return core::Status::ok(); }
  core::Status scan_events(int64_t from_ms, int64_t to_ms, const std::function<bool(const std::string&)>& fn) override;

  // PublishDedup
  core::Result<DedupClaim> claim_dedup(const std::string& key, const std::string& event_id, int64_t now_ms,
                                       int64_t window_ms) override;
  void release_dedup(const std::string& key, const std::string& event_id, int64_t ingested_ms) override;
  bool dedup_claims_wait() const override { return true; }

  // DeliveryQueue
  core::Status finish_task(const core::DeliveryTask& task) override;
  core::Status finish_tasks(const std::vector<core::DeliveryTask>& tasks) override;
  core::Status reschedule_task(int64_t previous_due_ms, const core::DeliveryTask& task) override;
  core::Status scan_tasks(const std::function<void(core::DeliveryTask&&)>& fn) override;
  core::Result<uint64_t> count_tasks() override;
  core::Result<uint64_t> count_tasks(const std::string& destination) override;
  core::Result<std::vector<std::string>> task_destinations() override;
  core::Result<std::vector<core::DeliveryTask>> load_tasks(const std::string& destination, size_t limit,
                                                           const std::function<bool(const std::string&)>& skip,
                                                           std::string* cursor, size_t max_bytes) override;

  // DeadLetters
  core::Status dead_letter(const DeadLetter& record) override;
  core::Result<std::vector<DeadLetter>> list_dead_letters(const std::string& destination, size_t limit) override;
  core::Result<std::vector<core::DeliveryTask>> redrive(const std::string& destination, size_t limit,
                                                        int64_t now_ms) override;
  core::Result<uint64_t> count_dead_letters(const std::string& destination) override;
  core::Status purge_dead_letters(const std::string& destination, uint64_t* purged) override;

  // Archives
  core::Result<std::vector<ArchivedEvent>> read_archive(const std::string& archive, int64_t from_s, int64_t to_s,
                                                        const std::string& after_key, size_t limit) override;
  core::Result<uint64_t> count_archive(const std::string& archive, int64_t from_s, int64_t to_s) override;
  ArchiveStats archive_stats(const std::string& archive) override;
  core::Result<uint64_t> expire_archive(const std::string& archive, int64_t cutoff_ms, size_t limit,
                                        std::string* cursor) override;
  core::Status set_archive_retention(const std::string& archive, uint32_t retention_days) override;

  // BusLog
  core::Result<std::vector<LogEntry>> read_log(const std::string& bus, uint64_t from, size_t limit) override;
  core::Result<LogBounds> log_bounds(const std::string& bus) override;
  core::Result<uint64_t> log_position_at(const std::string& bus, int64_t time_ms) override;
  core::Status trim_log(const std::string& bus, uint64_t position) override;
  core::Result<uint64_t> expire_log(const std::string& bus, int64_t cutoff_ms, uint32_t retention_days) override;

  // SmallState
  core::Status set_paused(const std::string& destination, bool paused) override;
  core::Result<std::vector<std::string>> paused_destinations() override;
  core::Status put_meta(const std::string& key, const std::string& value) override;
  core::Result<std::vector<std::pair<std::string, std::string>>> list_meta(const std::string& prefix) override;
  core::Status delete_meta(const std::string& key) override;

  // JetStreamStore
  core::Status ensure_destination(const std::string& destination) override;
  core::Status adopt(const std::string& destination, size_t window) override;
  void drop(const std::string& destination, bool graceful) override;
  void drop(const std::vector<std::string>& destinations, bool graceful) override;
  void set_fetch_listener(std::function<void(const std::string&, uint64_t)> on_fetched) override;
  uint64_t waiting(const std::string& destination) const override;
  core::Result<std::map<std::string, uint64_t>> dead_letter_counts(
      const std::vector<std::string>& destinations) override;

  core::Status provision();
  core::Status provision_dedup();
  // Marks the batch's deduplication keys done, once all of it is stored.
  core::Status complete_dedup(const IngestBatch& batch);

 private:
  // Where a held delivery is stored: the SY_WORK message it was fetched
  // as, or (once it waits for a retry) its copy in SY_RETRY.
  struct Source {
    // nats.c acknowledges through the subscription a message came from: it
    // lives as long as any message fetched through it (declared first, so
    // destroyed after the message).
    std::shared_ptr<jetstream::PullConsumer> consumer;
    jetstream::Message work;
    uint64_t retry_sequence = 0;
  };
  struct Held {
    core::DeliveryTask task;
    std::shared_ptr<Source> source;
    int64_t touched_ms = 0;  // monotonic: fetched, or last told "in progress"
    uint64_t order = 0;      // arrival order, for load_tasks
  };
  struct Adopted {
    size_t window = 0;
    std::unordered_map<std::string, Held> held;  // by delivery id
    std::atomic<bool> stop{false};
    std::thread fetcher;
  };

  void fetch_loop(const std::string& destination, Adopted* a);
  void take_fetched(const std::string& destination, Adopted* a,
                    const std::shared_ptr<jetstream::PullConsumer>& consumer, std::vector<jetstream::Message> messages);
  core::Status load_retries(const std::string& destination, Adopted* a);
  // Removes the held delivery and returns where it is stored (null when
  // this node does not hold it).
  std::shared_ptr<Source> release(const core::DeliveryTask& task);
  // Acknowledges the work message or deletes the retry copy.
  void settle(const std::shared_ptr<Source>& source);
  prometheus::Counter& redelivered(const std::string& destination);
  void set_pending(const std::string& destination, uint64_t n);
  // Archives: the stream exists (created without an age limit when the
  // retention pass has not made it yet); the batch's archived events of one
  // archive, published in order.
  core::Status ensure_archive(const std::string& archive);
  void publish_archived(const std::shared_ptr<const IngestBatch>& batch, const std::string& archive,
                        const std::vector<size_t>& events, const std::function<void(const core::Status&)>& finished);
  core::Result<std::map<int64_t, std::pair<std::string, uint64_t>>> archive_hours(const std::string& archive);
  // Bus logs: the stream exists; the batch's entries of one bus, published
  // in order, their positions (stream sequences) put in log_positions.
  core::Status ensure_log(const std::string& bus);
  void publish_logged(const std::shared_ptr<const IngestBatch>& batch, const std::vector<size_t>& entries,
                      const std::function<void(const core::Status&)>& finished);

  jetstream::JetStream& js_;
  JetStreamStoreOptions options_;
  void check_health();

  std::atomic<bool> stream_answers_{true};
  std::atomic<bool> stopping_{false};
  std::mutex health_mu_;
  std::condition_variable health_cv_;
  std::thread health_;
  prometheus::Family<prometheus::Counter>* redelivered_ = nullptr;
  prometheus::Family<prometheus::Gauge>* pending_ = nullptr;
  std::unique_ptr<StoreMetrics> metrics_;  // the storage_* metrics single-node mode has, but the disk's

  mutable core::Mutex mu_;
  std::map<std::string, std::unique_ptr<Adopted>> adopted_ SY_GUARDED_BY(mu_);
  std::function<void(const std::string&, uint64_t)> on_fetched_ SY_GUARDED_BY(mu_);
  uint64_t next_order_ SY_GUARDED_BY(mu_) = 0;
  mutable core::Mutex waiting_mu_;  // a leaf: nothing else is locked under it
  std::map<std::string, uint64_t> waiting_ SY_GUARDED_BY(waiting_mu_);
  std::set<std::string> archives_ SY_GUARDED_BY(mu_);             // streams known to exist
  std::map<std::string, uint32_t> retention_ SY_GUARDED_BY(mu_);  // as last set
  std::set<std::string> logs_ SY_GUARDED_BY(mu_);                 // bus log streams known to exist
  std::map<std::string, uint32_t> log_retention_ SY_GUARDED_BY(mu_);

  // Last, so destroyed first: their threads finish the jobs queued while
  // everything those jobs use is still there.
  JobQueue publishers_;
  JobQueue outcomes_;  // one thread: a delivery's outcomes are written in order
};

}  // namespace switchyard::storage
