// The committer: one thread takes every ingest batch queued since its last
// write and stores them with a single RocksDB write (and a single fsync when
// storage.sync is on). A batch's `done` runs once it is durable or failed.

#include <chrono>
#include <utility>

#include "records.h"
#include "rocks_store.h"
#include "switchyard/core/log.h"

namespace switchyard::storage {

using core::Status;

void RocksStore::commit_loop() {
  std::deque<Pending> group;
  for (;;) {
    {
      core::MutexWaitLock lock(mu_);
      while (!stopping_ && queue_.empty()) cv_.wait(lock.native());
      if (queue_.empty() && stopping_) return;
      group.swap(queue_);
    }
    commit_group(group);
    group.clear();
  }
}

void RocksStore::commit_group(std::deque<Pending>& group) {
  if (Status full = guard_.check(); !full) {
    if (metrics_) metrics_->refused_full->Increment(static_cast<double>(group.size()));
    for (auto& p : group) {
      settle_dedup(*p.batch);
      p.done(full);
    }
    return;
  }
  const auto started = std::chrono::steady_clock::now();
  rocksdb::WriteBatch wb;
  std::vector<std::pair<std::string, uint64_t>> pending_stats;  // (archive, bytes) added by this write
  std::vector<std::string> records;  // each event's record, serialized once for the log and its archives
  for (const auto& p : group) {
    records.clear();
    const auto& envelopes = p.batch->envelopes;
    for (size_t i = 0; i < p.batch->events.size(); ++i) {
      const core::Event& e = p.batch->events[i];
      records.push_back(encode_event_record(e, i < envelopes.size() ? &envelopes[i] : nullptr));
      wb.Put(cfs_[kEvents], event_key(e.ingested_ms, e.id), records.back());
    }
    for (const auto& t : p.batch->tasks) wb.Put(cfs_[kTasks], task_key(t), encode_task(t));
    for (const auto& [archive, index] : p.batch->archived) {
      const core::Event& e = p.batch->events.at(index);
      const std::string key = archive_key(archive, e.time, e.id);
      const std::string& value = records.at(index);
      wb.Put(cfs_[kArchive], key, value);
      wb.Put(cfs_[kArchiveExpiry], archive_expiry_key(archive, e), key);
      pending_stats.emplace_back(archive, envelope_of(value).size());
    }
    for (const auto& [k, v] : p.batch->meta) wb.Put(cfs_[kDefault], k, v);
    for (const auto& r : p.batch->dedup) wb.Put(cfs_[kDedup], r.key, encode_dedup(r));
  }
  const auto log_before = add_log_entries(group, wb);
  if (!log_before) {
    for (auto& p : group) {
      settle_dedup(*p.batch);
      p.done(log_before.status());
    }
    return;
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  const Status st = from_rocks(db_->Write(wo, &wb), "store events");
  if (!st) {
    core::log::error("ingest commit failed", {{"error", st.message()}});
    core::MutexLock lock(log_mu_);
    for (const auto& [bus, next] : *log_before) log_next_[bus] = next;
  }
  if (st && !pending_stats.empty()) {
    core::MutexLock lock(stats_mu_);
    for (const auto& [archive, bytes] : pending_stats) {
      ++archive_stats_[archive].events;
      archive_stats_[archive].bytes += bytes;
    }
  }
  if (metrics_) {
    metrics_->commit_seconds->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    metrics_->batches->Increment(static_cast<double>(group.size()));
    if (!st) metrics_->refused_error->Increment(static_cast<double>(group.size()));
  }
  for (auto& p : group) {
    settle_dedup(*p.batch);
    p.done(st);
  }
}

}  // namespace switchyard::storage
