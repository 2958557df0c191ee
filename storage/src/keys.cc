#include "keys.h"

#include <utility>

namespace switchyard::storage {

const char* const kCfNames[kCfCount] = {"default", "events",         "tasks", "dlq",
                                        "archive", "archive_expiry", "dedup", "log"};

void put_be64(std::string& out, int64_t v) {
  const uint64_t u = static_cast<uint64_t>(v);
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((u >> (8 * i)) & 0xFF));
}

int64_t get_be64(const rocksdb::Slice& s, size_t offset) {
  uint64_t u = 0;
  for (size_t i = 0; i < 8; ++i) u = (u << 8) | static_cast<unsigned char>(s.data()[offset + i]);
  return static_cast<int64_t>(u);
}

std::string event_key(int64_t ingested_ms, const std::string& id) {
  std::string k;
  put_be64(k, ingested_ms);
  k += id;
  return k;
}

std::string log_key(const std::string& bus, uint64_t position) {
  std::string k = bus + '\0';
  put_be64(k, static_cast<int64_t>(position));
  return k;
}

std::string log_next_key(const std::string& bus) { return "log_next/" + bus; }

std::string destination_prefix(const std::string& destination) { return destination + '\0'; }
std::string destination_end(const std::string& destination) { return destination + '\x01'; }

std::string task_key(const core::DeliveryTask& t, int64_t due_ms) {
  std::string k = destination_prefix(t.destination);
  put_be64(k, due_ms);
  k += t.id;
  return k;
}

std::string dlq_key(const DeadLetter& d) {
  std::string k = destination_prefix(d.task.destination);
  put_be64(k, d.dead_ms);
  k += d.task.id;
  return k;
}

std::string archive_prefix(const std::string& archive) { return archive + '\0'; }

std::string archive_key(const std::string& archive, int64_t time_s, const std::string& id) {
  std::string k = archive_prefix(archive);
  put_be64(k, time_s);
  k += id;
  return k;
}

std::string archive_bound(const std::string& archive, int64_t t) {
  std::string k = archive_prefix(archive);
  put_be64(k, t);
  return k;
}

std::string archive_expiry_key(const std::string& archive, const core::Event& e) {
  std::string k = archive_prefix(archive);
  put_be64(k, e.ingested_ms);
  k += e.id;
  return k;
}

Bounded::Bounded(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* cf, std::string upper_key)
    : upper(std::move(upper_key)), slice(upper) {
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &slice;
  it.reset(db.NewIterator(ro, cf));
}

void seek_after(rocksdb::Iterator& it, const std::string& first, const std::string& cursor) {
  if (cursor.empty()) {
    it.Seek(first);
    return;
  }
  it.Seek(cursor);
  if (it.Valid() && it.key() == rocksdb::Slice(cursor)) it.Next();
}

std::string encode_dedup(const DedupRecord& r) {
  std::string out;
  out.reserve(16 + r.event_id.size());
  put_be64(out, r.expires_ms);
  put_be64(out, r.ingested_ms);
  out += r.event_id;
  return out;
}

bool decode_dedup(const rocksdb::Slice& value, DedupRecord* out) {
  if (value.size() < 16) return false;
  out->expires_ms = get_be64(value, 0);
  out->ingested_ms = get_be64(value, 8);
  out->event_id.assign(value.data() + 16, value.size() - 16);
  return true;
}

}  // namespace switchyard::storage
