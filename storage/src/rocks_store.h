#pragma once

// The RocksDB store: every role in one database, a column family each
// (keys.h). Its methods are spread by role:
//   rocks_store.cc       open, lifecycle, the guarded write, events, small state
//   rocks_deliveries.cc  the delivery queue and the dead letters
//   rocks_archives.cc    archives and their retention
//   rocks_commit.cc      the committer: ingest batches grouped into one write
//   rocks_dedup.cc       publish deduplication keys
//   rocks_log.cc         bus logs: positions, reads, retention

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/write_batch.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "disk_guard.h"
#include "keys.h"
#include "store_metrics.h"
#include "switchyard/core/mutex.h"
#include "switchyard/storage/store.h"

namespace switchyard::storage {

class RocksStore final : public Store {
 public:
  // `owned_env` (an in-memory Env) lives as long as the store.
  RocksStore(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> cfs, const Options& options,
             std::unique_ptr<rocksdb::Env> owned_env);
  ~RocksStore() override;

  bool writable() override { return guard_.writable(); }

  // IngestLog
  void append(std::shared_ptr<const IngestBatch> batch, std::function<void(core::Status)> done) override;
  core::Result<std::string> event_envelope(int64_t ingested_ms, const std::string& event_id) override;
  core::Status expire_events(int64_t cutoff_ms) override;
  core::Status scan_events(int64_t from_ms, int64_t to_ms, const std::function<bool(const std::string&)>& fn) override;

  // PublishDedup
  core::Result<DedupClaim> claim_dedup(const std::string& key, const std::string& event_id, int64_t now_ms,
                                       int64_t window_ms) override;
  void release_dedup(const std::string& key, const std::string& event_id, int64_t ingested_ms) override;
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

 private:
  struct Pending {
    std::shared_ptr<const IngestBatch> batch;
    std::function<void(core::Status)> done;
  };

  // Every write but ingest's commit groups (which check the disk themselves
  // before each group) goes through here, and none reaches RocksDB while
  // the disk is under the reserve.
  core::Status write(rocksdb::WriteBatch& wb, const char* what, bool sync = false);
  core::Result<uint64_t> count(rocksdb::ColumnFamilyHandle* cf, const std::string& prefix, const char* what);
  void load_archive_stats();
  void commit_loop();
  void commit_group(std::deque<Pending>& group);
  // Gives the batches' log entries their positions and adds them, with
  // each bus's next position, to `wb` (the committer's write). Returns the
  // positions before, to put back if the write fails.
  core::Result<std::map<std::string, uint64_t>> add_log_entries(std::deque<Pending>& group, rocksdb::WriteBatch& wb);
  // The next position of `bus`'s log, read once from the store.
  core::Result<uint64_t> log_next(const std::string& bus) SY_REQUIRES(log_mu_);
  // Lets go of the in-memory claims of a batch once it is written (or not).
  void settle_dedup(const IngestBatch& batch);

  std::unique_ptr<rocksdb::Env> owned_env_;
  rocksdb::DB* db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  Options options_;
  std::unique_ptr<StoreMetrics> metrics_;
  DiskGuard guard_;

  core::Mutex stats_mu_;
  std::map<std::string, ArchiveStats> archive_stats_ SY_GUARDED_BY(stats_mu_);

  core::Mutex log_mu_;
  std::map<std::string, uint64_t> log_next_ SY_GUARDED_BY(log_mu_);  // bus -> the position its next entry gets

  core::Mutex dedup_mu_;
  std::map<std::string, std::string> dedup_pending_ SY_GUARDED_BY(dedup_mu_);  // key -> claiming event id
  core::Mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_ SY_GUARDED_BY(mu_);
  bool stopping_ SY_GUARDED_BY(mu_) = false;
  std::thread committer_;
};

// Drops expired records of the dedup column family (rocks_dedup.cc).
const rocksdb::CompactionFilter* dedup_compaction_filter();

// rocksdb::Status in the error vocabulary, with what was being done.
core::Status from_rocks(const rocksdb::Status& s, const char* what);

}  // namespace switchyard::storage
