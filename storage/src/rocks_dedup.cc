// Publish deduplication in the embedded store. A key's record is written
// in the same RocksDB write as the event that took it (rocks_commit.cc),
// so a restart finds exactly the keys of stored events. Between a claim
// and that write the key is held in memory: a second request with it is
// told to retry (kBusy), and a claim whose batch is not stored is given
// back. Expired records are dropped by a compaction filter, so keys that
// never come back cost nothing to clean up.

#include <rocksdb/compaction_filter.h>

#include "rocks_store.h"
#include "switchyard/core/time.h"

namespace switchyard::storage {

using core::Result;
using core::Status;

namespace {

class ExpiredDedupFilter final : public rocksdb::CompactionFilter {
 public:
  bool Filter(int /*level*/, const rocksdb::Slice& /*key*/, const rocksdb::Slice& value, std::string* /*new_value*/,
              bool* /*value_changed*/) const override {
    DedupRecord r;
    return !decode_dedup(value, &r) || r.expires_ms < core::now_ms();
  }
  const char* Name() const override { return "switchyard.ExpiredDedup"; }
};

}  // namespace

const rocksdb::CompactionFilter* dedup_compaction_filter() {
  static const ExpiredDedupFilter kFilter;
  return &kFilter;
}

Result<DedupClaim> RocksStore::claim_dedup(const std::string& key, const std::string& event_id, int64_t now_ms,
                                           int64_t window_ms) {
  {  // Held first, so that no other request with the key gets past here...
    core::MutexLock lock(dedup_mu_);
    if (!dedup_pending_.emplace(key, event_id).second) return DedupClaim::of(DedupClaim::Kind::kBusy);
  }
  // ... while the read runs without the lock (ingest threads claim at once).
  std::string value;
  const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_[kDedup], key, &value);
  DedupRecord held;
  const bool taken = s.ok() && decode_dedup(value, &held) && now_ms - held.ingested_ms < window_ms;
  if (!s.ok() && !s.IsNotFound()) {
    release_dedup(key, event_id, now_ms);
    return from_rocks(s, "read a deduplication key");
  }
  // A clock set back (ingested in the "future") keeps the key as well.
  if (taken) {
    release_dedup(key, event_id, now_ms);
    return DedupClaim::of(DedupClaim::Kind::kDuplicate, std::move(held.event_id), held.ingested_ms);
  }
  return DedupClaim::of(DedupClaim::Kind::kNew);
}

void RocksStore::release_dedup(const std::string& key, const std::string& event_id, int64_t /*ingested_ms*/) {
  core::MutexLock lock(dedup_mu_);
  if (auto it = dedup_pending_.find(key); it != dedup_pending_.end() && it->second == event_id)
    dedup_pending_.erase(it);
}

void RocksStore::settle_dedup(const IngestBatch& batch) {
  if (batch.dedup.empty()) return;
  core::MutexLock lock(dedup_mu_);
  for (const auto& r : batch.dedup)
    if (auto it = dedup_pending_.find(r.key); it != dedup_pending_.end() && it->second == r.event_id)
      dedup_pending_.erase(it);
}

}  // namespace switchyard::storage
