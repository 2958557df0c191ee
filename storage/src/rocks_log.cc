// Bus logs in the embedded store: one range of the log column family per
// bus, keyed by position. The committer gives positions (one thread, so they
// follow commit order) and stores each bus's next position in the same
// write, so positions never repeat, also once every entry was removed.

#include <charconv>
#include <utility>

#include "records.h"
#include "rocks_store.h"

namespace switchyard::storage {

using core::Result;
using core::Status;

namespace {

// Ingestion times follow positions closely but not exactly (requests stamp
// them before they queue for the committer): a search by time treats them
// as ordered, which is off by at most the few milliseconds of that queue.
template <typename TimeAt>
Result<uint64_t> search_time(uint64_t lo, uint64_t hi, int64_t time_ms, const TimeAt& time_at) {
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    auto t = time_at(mid);
    if (!t) return t.status();
    if (*t < time_ms)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

}  // namespace

Result<uint64_t> RocksStore::log_next(const std::string& bus) {
  if (auto it = log_next_.find(bus); it != log_next_.end()) return it->second;
  std::string value;
  const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_[kDefault], log_next_key(bus), &value);
  uint64_t next = 1;
  if (!s.IsNotFound()) {
    if (Status st = from_rocks(s, "read a bus log's position"); !st) return st;
    if (std::from_chars(value.data(), value.data() + value.size(), next).ec != std::errc() || next == 0)
      return Status::corruption("the stored next position of bus " + bus + "'s log is not a number");
  }
  log_next_[bus] = next;
  return next;
}

Result<std::map<std::string, uint64_t>> RocksStore::add_log_entries(std::deque<Pending>& group,
                                                                    rocksdb::WriteBatch& wb) {
  std::map<std::string, uint64_t> before;
  core::MutexLock lock(log_mu_);
  for (auto& p : group) {
    const IngestBatch& batch = *p.batch;
    if (batch.log.empty()) continue;
    batch.log_positions.clear();
    for (const LogEntry& e : batch.log) {
      auto next = log_next(e.bus);
      if (!next) {
        for (const auto& [bus, n] : before) log_next_[bus] = n;
        return next.status();
      }
      before.emplace(e.bus, *next);
      wb.Put(cfs_[kLog], log_key(e.bus, *next), encode_log_entry(e));
      batch.log_positions.push_back(*next);
      log_next_[e.bus] = *next + 1;
    }
  }
  for (const auto& [bus, _] : before) wb.Put(cfs_[kDefault], log_next_key(bus), std::to_string(log_next_[bus]));
  return before;
}

Result<std::vector<LogEntry>> RocksStore::read_log(const std::string& bus, uint64_t from, size_t limit) {
  std::vector<LogEntry> out;
  Bounded b(*db_, cfs_[kLog], bus + '\x01');
  for (b.it->Seek(log_key(bus, from)); b.it->Valid() && out.size() < limit; b.it->Next()) {
    const rocksdb::Slice key = b.it->key();
    auto entry = decode_log_entry(std::string_view(b.it->value().data(), b.it->value().size()));
    if (!entry) return entry.status().with_context("bus " + bus + "'s log");
    entry->position = static_cast<uint64_t>(get_be64(key, key.size() - 8));
    out.push_back(std::move(*entry));
  }
  if (Status st = from_rocks(b.it->status(), "read a bus log"); !st) return st;
  return out;
}

Result<LogBounds> RocksStore::log_bounds(const std::string& bus) {
  LogBounds bounds;
  {
    core::MutexLock lock(log_mu_);
    auto next = log_next(bus);
    if (!next) return next.status();
    bounds.next = *next;
  }
  Bounded b(*db_, cfs_[kLog], bus + '\x01');
  b.it->Seek(bus + '\0');
  if (Status st = from_rocks(b.it->status(), "read a bus log"); !st) return st;
  bounds.first = b.it->Valid() ? static_cast<uint64_t>(get_be64(b.it->key(), b.it->key().size() - 8)) : bounds.next;
  return bounds;
}

Result<uint64_t> RocksStore::log_position_at(const std::string& bus, int64_t time_ms) {
  auto bounds = log_bounds(bus);
  if (!bounds) return bounds.status();
  return search_time(bounds->first, bounds->next, time_ms, [&](uint64_t position) -> Result<int64_t> {
    auto read = read_log(bus, position, 1);  // the entry at `position`, or the next one held
    if (!read) return read.status();
    return read->empty() ? INT64_MAX : read->front().ingested_ms;
  });
}

Status RocksStore::trim_log(const std::string& bus, uint64_t position) {
  if (position <= 1) return Status::ok();
  rocksdb::WriteBatch wb;
  wb.DeleteRange(cfs_[kLog], log_key(bus, 0), log_key(bus, position));
  return write(wb, "trim a bus log");
}

Result<uint64_t> RocksStore::expire_log(const std::string& bus, int64_t cutoff_ms, uint32_t /*retention_days*/) {
  auto bounds = log_bounds(bus);
  if (!bounds) return bounds.status();
  auto until = log_position_at(bus, cutoff_ms);
  if (!until) return until.status();
  if (*until <= bounds->first) return 0;
  if (Status st = trim_log(bus, *until); !st) return st;
  return *until - bounds->first;
}

}  // namespace switchyard::storage
