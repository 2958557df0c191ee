// The RocksDB store's delivery queue and dead-letter queue.

#include <algorithm>
#include <utility>

#include "records.h"
#include "rocks_store.h"
#include "switchyard/core/log.h"

namespace switchyard::storage {

using core::Result;
using core::Status;

Status RocksStore::finish_task(const core::DeliveryTask& task) {
  rocksdb::WriteBatch wb;
  wb.Delete(cfs_[kTasks], task_key(task));
  if (!task.group_key.empty()) wb.Put(cfs_[kDefault], task.group_key, group_record("done", task));
  return write(wb, "delete task");
}

Status RocksStore::finish_tasks(const std::vector<core::DeliveryTask>& tasks) {
  rocksdb::WriteBatch wb;
  for (const auto& t : tasks) {
    wb.Delete(cfs_[kTasks], task_key(t));
    if (!t.group_key.empty()) wb.Put(cfs_[kDefault], t.group_key, group_record("done", t));
  }
  return write(wb, "delete tasks");
}

Status RocksStore::reschedule_task(int64_t previous_due_ms, const core::DeliveryTask& task) {
  rocksdb::WriteBatch wb;
  wb.Delete(cfs_[kTasks], task_key(task, previous_due_ms));
  wb.Put(cfs_[kTasks], task_key(task), encode_task(task));
  return write(wb, "reschedule task");
}

Status RocksStore::dead_letter(const DeadLetter& record) {
  rocksdb::WriteBatch wb;
  wb.Delete(cfs_[kTasks], task_key(record.task));
  if (!record.task.group_key.empty()) wb.Put(cfs_[kDefault], record.task.group_key, group_record("dead", record.task));
  if (record.task.dead_letter) {
    DeadLetter kept = record;  // with its event: the event's own record expires after 25 h
    if (kept.event_envelope.empty())
      kept.event_envelope = event_envelope(record.task.ingested_ms, record.task.event_id).value_or("");
    wb.Put(cfs_[kDlq], dlq_key(kept), encode_dead_letter(kept));
  }
  return write(wb, "dead-letter task");
}

// A task that cannot be read is skipped and logged (by key size only: the
// key holds the destination's name, never a secret, but the value may), so
// one damaged record does not stop a destination's whole backlog.
Status RocksStore::scan_tasks(const std::function<void(core::DeliveryTask&&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kTasks]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto task = decode_task(it->value().ToStringView());
    if (!task) {
      core::log::error("skipping undecodable delivery task", {{"key_bytes", std::to_string(it->key().size())}});
      continue;
    }
    // The key is authoritative for the due time the task is stored under.
    task->due_ms = get_be64(it->key(), it->key().ToStringView().find('\0') + 1);
    fn(std::move(*task));
  }
  return from_rocks(it->status(), "scan tasks");
}

Result<uint64_t> RocksStore::count_tasks() { return count(cfs_[kTasks], "", "count tasks"); }

Result<uint64_t> RocksStore::count_tasks(const std::string& destination) {
  return count(cfs_[kTasks], destination_prefix(destination), "count tasks");
}

Result<std::vector<std::string>> RocksStore::task_destinations() {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kTasks]));
  for (it->SeekToFirst(); it->Valid();) {
    const std::string_view key = it->key().ToStringView();
    const size_t zero = key.find('\0');
    if (zero == std::string_view::npos) break;
    out.emplace_back(key.substr(0, zero));
    it->Seek(destination_end(out.back()));  // the next destination
  }
  if (Status st = from_rocks(it->status(), "list destinations with tasks"); !st) return st;
  return out;
}

Result<std::vector<core::DeliveryTask>> RocksStore::load_tasks(const std::string& destination, size_t limit,
                                                               const std::function<bool(const std::string&)>& skip,
                                                               std::string* cursor, size_t max_bytes) {
  std::vector<core::DeliveryTask> out;
  const std::string prefix = destination_prefix(destination);
  Bounded bounded(*db_, cfs_[kTasks], destination_end(destination));
  auto& it = bounded.it;
  seek_after(*it, prefix, *cursor);
  size_t bytes = 0;
  for (; it->Valid() && out.size() < limit && (out.empty() || bytes < max_bytes); it->Next()) {
    cursor->assign(it->key().data(), it->key().size());
    const std::string id = it->key().ToString().substr(prefix.size() + 8);
    if (skip(id)) continue;
    auto task = decode_task(it->value().ToStringView());
    if (!task) {
      core::log::error("skipping undecodable delivery task", {{"destination", destination}});
      continue;
    }
    task->due_ms = get_be64(it->key(), prefix.size());
    bytes += it->value().size();
    out.push_back(std::move(*task));
  }
  if (Status st = from_rocks(it->status(), "load tasks"); !st) return st;
  return out;
}

Result<std::vector<DeadLetter>> RocksStore::list_dead_letters(const std::string& destination, size_t limit) {
  std::vector<DeadLetter> out;
  const std::string prefix = destination_prefix(destination);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kDlq]));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Next()) {
    auto d = decode_dead_letter(it->value().ToStringView());
    if (!d) {
      core::log::error("skipping undecodable dead letter", {{"destination", destination}});
      continue;
    }
    d->key = it->key().ToString();
    out.push_back(std::move(*d));
  }
  if (Status st = from_rocks(it->status(), "read dead letters"); !st) return st;
  return out;
}

Result<std::vector<core::DeliveryTask>> RocksStore::redrive(const std::string& destination, size_t limit,
                                                            int64_t now_ms) {
  auto letters = list_dead_letters(destination, limit);
  if (!letters) return letters.status();
  std::vector<core::DeliveryTask> tasks;
  if (letters->empty()) return tasks;
  rocksdb::WriteBatch wb;
  for (auto& d : *letters) {
    wb.Delete(cfs_[kDlq], d.key);
    core::DeliveryTask t = d.task;
    t.attempts = 0;
    t.due_ms = now_ms;
    t.age_from_ms = now_ms;  // a redriven delivery gets a fresh age budget
    t.last_error.clear();
    t.last_status = 0;
    wb.Put(cfs_[kTasks], task_key(t), encode_task(t));
    tasks.push_back(std::move(t));
  }
  if (Status st = write(wb, "redrive dead letters"); !st) return st;
  return tasks;
}

Result<uint64_t> RocksStore::count_dead_letters(const std::string& destination) {
  return count(cfs_[kDlq], destination_prefix(destination), "count dead letters");
}

// In writes of up to 10,000, each starting after the last key deleted.
Status RocksStore::purge_dead_letters(const std::string& destination, uint64_t* purged) {
  *purged = 0;
  std::string cursor;
  for (;;) {
    Bounded bounded(*db_, cfs_[kDlq], destination_end(destination));
    auto& it = bounded.it;
    seek_after(*it, destination_prefix(destination), cursor);
    rocksdb::WriteBatch wb;
    uint64_t n = 0;
    for (; it->Valid() && n < 10000; it->Next(), ++n) {
      wb.Delete(cfs_[kDlq], it->key());
      cursor.assign(it->key().data(), it->key().size());
    }
    if (!it->status().ok()) return from_rocks(it->status(), "read dead letters");
    if (n == 0) return Status::ok();
    if (Status st = write(wb, "delete dead letters", options_.sync); !st) return st;
    *purged += n;
  }
}

}  // namespace switchyard::storage
