// The RocksDB store's archives: events by archive in event-time order, their
// sizes, and retention (an expiry index by ingestion time).

#include <algorithm>
#include <utility>

#include "records.h"
#include "rocks_store.h"

namespace switchyard::storage {

using core::Result;
using core::Status;

Result<std::vector<ArchivedEvent>> RocksStore::read_archive(const std::string& archive, int64_t from_s, int64_t to_s,
                                                            const std::string& after_key, size_t limit) {
  std::vector<ArchivedEvent> out;
  const std::string prefix = archive_prefix(archive);
  const std::string start = archive_bound(archive, from_s);
  Bounded bounded(*db_, cfs_[kArchive], archive_bound(archive, to_s));
  rocksdb::Iterator* it = bounded.it.get();
  if (after_key.empty() || after_key < start) {
    it->Seek(start);
  } else {
    it->Seek(after_key);
    if (it->Valid() && it->key() == rocksdb::Slice(after_key)) it->Next();
  }
  for (; it->Valid() && out.size() < limit; it->Next()) {
    const std::string_view key = it->key().ToStringView();
    const std::string_view value = it->value().ToStringView();
    ArchivedEvent e;
    e.key = std::string(key);
    e.time_s = get_be64(it->key(), prefix.size());
    e.id = std::string(key.substr(prefix.size() + 8));
    e.envelope = std::string(envelope_of(value));
    auto header = decode_event_header(value);
    if (!header) return header.status().with_context("archive " + archive + ", event " + e.id);
    e.bus = std::move(header->bus);
    e.ingested_ms = header->ingested_ms;
    e.trace_header = std::move(header->trace_header);
    out.push_back(std::move(e));
  }
  if (Status st = from_rocks(it->status(), "read archive"); !st) return st;
  return out;
}

Result<uint64_t> RocksStore::count_archive(const std::string& archive, int64_t from_s, int64_t to_s) {
  Bounded bounded(*db_, cfs_[kArchive], archive_bound(archive, to_s));
  uint64_t n = 0;
  for (bounded.it->Seek(archive_bound(archive, from_s)); bounded.it->Valid(); bounded.it->Next()) ++n;
  if (Status st = from_rocks(bounded.it->status(), "count archive"); !st) return st;
  return n;
}

ArchiveStats RocksStore::archive_stats(const std::string& archive) {
  core::MutexLock lock(stats_mu_);
  auto it = archive_stats_.find(archive);
  return it == archive_stats_.end() ? ArchiveStats{} : it->second;
}

Result<uint64_t> RocksStore::expire_archive(const std::string& archive, int64_t cutoff_ms, size_t limit,
                                            std::string* cursor) {
  if (!guard_.writable()) return guard_.refusal("expire archived events");  // deletions write too
  const std::string prefix = archive_prefix(archive);
  Bounded bounded(*db_, cfs_[kArchiveExpiry], archive_bound(archive, cutoff_ms));
  rocksdb::Iterator* it = bounded.it.get();
  rocksdb::WriteBatch wb;
  uint64_t n = 0, bytes = 0;
  seek_after(*it, prefix, *cursor);
  for (; it->Valid() && n < limit; it->Next(), ++n) {
    cursor->assign(it->key().data(), it->key().size());
    std::string value;
    if (db_->Get(rocksdb::ReadOptions(), cfs_[kArchive], it->value(), &value).ok()) bytes += envelope_of(value).size();
    wb.Delete(cfs_[kArchive], it->value());
    wb.Delete(cfs_[kArchiveExpiry], it->key());
  }
  if (Status st = from_rocks(it->status(), "read the archive expiry index"); !st) return st;
  if (n == 0) return uint64_t{0};
  if (Status st = write(wb, "expire archived events"); !st) return st;
  core::MutexLock lock(stats_mu_);
  ArchiveStats& s = archive_stats_[archive];
  s.events -= std::min(s.events, n);
  s.bytes -= std::min(s.bytes, bytes);
  return n;
}

// Counts every archive's events and bytes once, at open.
void RocksStore::load_archive_stats() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kArchive]));
  core::MutexLock lock(stats_mu_);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    ArchiveStats& s = archive_stats_[std::string(key.substr(0, key.find('\0')))];
    ++s.events;
    s.bytes += envelope_of(it->value().ToStringView()).size();
  }
}

}  // namespace switchyard::storage
