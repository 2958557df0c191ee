#pragma once

// The RocksDB layout: column families and how each one's keys are built.
// Keys hold big-endian times so that RocksDB's byte order is time order.

#include <rocksdb/db.h>
#include <rocksdb/slice.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "switchyard/core/event.h"
#include "switchyard/core/task.h"
#include "switchyard/storage/roles.h"

namespace switchyard::storage {

// Column families; the default one holds small operator state (paused
// destinations, replay progress).
//   events:          be64(ingested ms) id -> the event record
//   tasks:           destination \0 be64(due ms) id -> the task
//   dlq:             destination \0 be64(dead ms) id -> the dead letter
//   archive:         name \0 be64(event time, s) id -> the event record
//   archive_expiry:  name \0 be64(ingested ms) id -> the archive key (retention)
//   dedup:           key hash -> be64(expires ms) be64(ingested ms) event id
//   log:             bus \0 be64(position) -> the log entry (CBOR)
// and in the default one, per bus log, "log_next/<bus>" -> its next position.
enum Cf : size_t {
  kDefault = 0,
  kEvents = 1,
  kTasks = 2,
  kDlq = 3,
  kArchive = 4,
  kArchiveExpiry = 5,
  kDedup = 6,
  kLog = 7,
  kCfCount = 8
};
extern const char* const kCfNames[kCfCount];

void put_be64(std::string& out, int64_t v);
int64_t get_be64(const rocksdb::Slice& s, size_t offset);

std::string event_key(int64_t ingested_ms, const std::string& id);

std::string encode_dedup(const DedupRecord& r);
// false when `value` is not a dedup record.
bool decode_dedup(const rocksdb::Slice& value, DedupRecord* out);

// Each destination's tasks (and dead letters) are one contiguous range, in
// due (death) order, so a backlog can be paged in on its own.
std::string destination_prefix(const std::string& destination);
// Just past every task or dlq key of `destination` (its prefix ends in '\0').
std::string destination_end(const std::string& destination);
std::string task_key(const core::DeliveryTask& t, int64_t due_ms);
inline std::string task_key(const core::DeliveryTask& t) { return task_key(t, t.due_ms); }
std::string dlq_key(const DeadLetter& d);

std::string archive_prefix(const std::string& archive);
std::string archive_key(const std::string& archive, int64_t time_s, const std::string& id);
// The prefix of `archive`, then a big-endian time: the bound of a time range.
std::string archive_bound(const std::string& archive, int64_t t);
std::string archive_expiry_key(const std::string& archive, const core::Event& e);

std::string log_key(const std::string& bus, uint64_t position);
std::string log_next_key(const std::string& bus);

// An iterator over one column family that stops before `upper`.
struct Bounded {
  Bounded(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* cf, std::string upper_key);
  Bounded(const Bounded&) = delete;  // the read options point at `slice`
  Bounded& operator=(const Bounded&) = delete;
  std::string upper;
  rocksdb::Slice slice;
  std::unique_ptr<rocksdb::Iterator> it;
};

// Positions `it` at the first key after `cursor`, or at `first` when there
// is no cursor yet: paging on from where the last page ended never walks
// again over what it passed (nor over the deletions left behind there).
void seek_after(rocksdb::Iterator& it, const std::string& first, const std::string& cursor);

}  // namespace switchyard::storage
