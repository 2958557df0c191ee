#include "switchyard/storage/store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_manager.h>
#include <rocksdb/utilities/options_util.h>
#include <rocksdb/write_batch.h>
#include <sys/statvfs.h>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "switchyard/core/log.h"

namespace switchyard::storage {
namespace {

using core::Status;

// Column families; the default one holds small operator state (paused destinations).
// archive: name \0 be64(event time, s) id -> the event, as in `events`.
// archive_expiry: name \0 be64(ingested ms) id -> the archive key (retention).
enum Cf : size_t { kDefault = 0, kEvents = 1, kTasks = 2, kDlq = 3, kArchive = 4, kArchiveExpiry = 5, kCfCount = 6 };
const char* const kCfNames[kCfCount] = {"default", "events", "tasks", "dlq", "archive", "archive_expiry"};

void put_be64(std::string& out, int64_t v) {
  const uint64_t u = static_cast<uint64_t>(v);
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((u >> (8 * i)) & 0xFF));
}

int64_t get_be64(const rocksdb::Slice& s, size_t offset) {
  uint64_t u = 0;
  for (size_t i = 0; i < 8; ++i) u = (u << 8) | static_cast<unsigned char>(s.data()[offset + i]);
  return static_cast<int64_t>(u);
}

std::string event_key(const core::Event& e) {
  std::string k;
  put_be64(k, e.ingested_ms);
  k += e.id;
  return k;
}

// Tasks are keyed destination \0 due-time id: each destination's backlog is
// one contiguous range in due order, so it can be paged in on its own.
std::string task_prefix(const std::string& destination) { return destination + '\0'; }

std::string task_key(const core::DeliveryTask& t, int64_t due_ms) {
  std::string k = task_prefix(t.destination);
  put_be64(k, due_ms);
  k += t.id;
  return k;
}
std::string task_key(const core::DeliveryTask& t) { return task_key(t, t.due_ms); }

std::string dlq_prefix(const std::string& destination) { return destination + '\0'; }
// Just past every task or dlq key of `destination` (its prefix ends in '\0').
std::string destination_end(const std::string& destination) { return destination + '\x01'; }

std::string dlq_key(const DeadLetter& d) {
  std::string k = dlq_prefix(d.task.destination);
  put_be64(k, d.dead_ms);
  k += d.task.id;
  return k;
}

std::string encode_event(const core::Event& e) {
  std::string out = R"({"bus":)";
  out += nlohmann::json(e.bus).dump();
  out += R"(,"ingested_ms":)";
  out += std::to_string(e.ingested_ms);
  if (!e.trace_header.empty()) {
    out += R"(,"trace_header":)";
    out += nlohmann::json(e.trace_header).dump();
  }
  out += R"(,"event":)";
  out += core::envelope_json(e);
  out += '}';
  return out;
}

std::string archive_prefix(const std::string& archive) { return archive + '\0'; }

std::string archive_key(const std::string& archive, int64_t time_s, const std::string& id) {
  std::string k = archive_prefix(archive);
  put_be64(k, time_s);
  k += id;
  return k;
}

// prefix of `archive`, then a big-endian time: the bound of a time range.
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

// The envelope inside an encode_event() value, byte for byte: it follows
// "event": and ends before the closing brace. Earlier members are escaped
// strings and numbers, so the marker cannot occur inside them.
std::string_view envelope_of(std::string_view value) {
  static constexpr std::string_view kMarker = R"(,"event":)";
  const auto at = value.find(kMarker);
  if (at == std::string_view::npos || value.size() < at + kMarker.size() + 1) return {};
  return value.substr(at + kMarker.size(), value.size() - at - kMarker.size() - 1);
}

std::string encode_dead_letter(const DeadLetter& d) {
  nlohmann::json j = {
      {"task", nlohmann::json::parse(core::encode_task(d.task))},
      {"error_code", d.error_code},
      {"error_message", d.error_message},
      {"exhausted_condition", d.exhausted_condition},
      {"dead_ms", d.dead_ms},
  };
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<DeadLetter> decode_dead_letter(const rocksdb::Slice& key, const rocksdb::Slice& value) {
  auto j = nlohmann::json::parse(value.ToStringView(), nullptr, false);
  if (!j.is_object() || !j.contains("task")) return std::nullopt;
  auto task = core::decode_task(j["task"].dump());
  if (!task) return std::nullopt;
  DeadLetter d;
  d.task = std::move(*task);
  d.error_code = j.value("error_code", "");
  d.error_message = j.value("error_message", "");
  d.exhausted_condition = j.value("exhausted_condition", "");
  d.dead_ms = j.value("dead_ms", int64_t{0});
  d.key = key.ToString();
  return d;
}

Status from_rocks(const rocksdb::Status& s, const char* what) {
  if (s.ok()) return Status::ok();
  return Status::error(std::string(what) + ": " + s.ToString());
}

// An iterator over one column family that stops before `upper`.
struct Bounded {
  Bounded(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* cf, std::string upper_key)
      : upper(std::move(upper_key)), slice(upper) {
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &slice;
    it.reset(db.NewIterator(ro, cf));
  }
  Bounded(const Bounded&) = delete;  // the read options point at `slice`
  Bounded& operator=(const Bounded&) = delete;
  std::string upper;
  rocksdb::Slice slice;
  std::unique_ptr<rocksdb::Iterator> it;
};

// Positions `it` at the first key after `cursor`, or at `first` when there is
// no cursor yet: paging on from where the last page ended never walks again
// over what it passed (nor over the deletions left behind there).
void seek_after(rocksdb::Iterator& it, const std::string& first, const std::string& cursor) {
  if (cursor.empty()) {
    it.Seek(first);
    return;
  }
  it.Seek(cursor);
  if (it.Valid() && it.key() == rocksdb::Slice(cursor)) it.Next();
}

class RocksStore final : public Store {
 public:
  RocksStore(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> cfs, const Options& options)
      : db_(db), cfs_(std::move(cfs)), options_(options), committer_([this] { commit_loop(); }) {
    load_archive_stats();
    if (metrics_) metrics_->min_free_bytes->Set(static_cast<double>(options_.min_free_bytes));
    (void)check_free_space();
    watcher_ = std::thread([this] { watch_free_space(); });
  }

  ~RocksStore() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    watch_cv_.notify_all();
    committer_.join();
    watcher_.join();
    for (auto* cf : cfs_) db_->DestroyColumnFamilyHandle(cf);
    db_->Close();
    delete db_;
  }

  void append(std::shared_ptr<const IngestBatch> batch, std::function<void(Status)> done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stopping_) {
        queue_.push_back({std::move(batch), std::move(done)});
        cv_.notify_one();
        return;
      }
    }
    done(Status::error("store is shutting down"));
  }

  Status finish_task(const core::DeliveryTask& task) override {
    rocksdb::WriteBatch wb;
    wb.Delete(cfs_[kTasks], task_key(task));
    return write(wb, "delete task");
  }

  Status finish_tasks(const std::vector<core::DeliveryTask>& tasks) override {
    rocksdb::WriteBatch wb;
    for (const auto& t : tasks) wb.Delete(cfs_[kTasks], task_key(t));
    return write(wb, "delete tasks");
  }

  Status reschedule_task(int64_t previous_due_ms, const core::DeliveryTask& task) override {
    rocksdb::WriteBatch wb;
    wb.Delete(cfs_[kTasks], task_key(task, previous_due_ms));
    wb.Put(cfs_[kTasks], task_key(task), core::encode_task(task));
    return write(wb, "reschedule task");
  }

  Status dead_letter(const DeadLetter& record) override {
    rocksdb::WriteBatch wb;
    wb.Delete(cfs_[kTasks], task_key(record.task));
    if (record.task.dead_letter) wb.Put(cfs_[kDlq], dlq_key(record), encode_dead_letter(record));
    return write(wb, "dead-letter task");
  }

  Status scan_tasks(const std::function<void(core::DeliveryTask&&)>& fn) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kTasks]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto task = core::decode_task(it->value().ToStringView());
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

  uint64_t count_tasks() override { return count(cfs_[kTasks], ""); }
  uint64_t count_tasks(const std::string& destination) override {
    return count(cfs_[kTasks], task_prefix(destination));
  }

  std::vector<std::string> task_destinations() override {
    std::vector<std::string> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kTasks]));
    for (it->SeekToFirst(); it->Valid();) {
      const std::string_view key = it->key().ToStringView();
      const size_t zero = key.find('\0');
      if (zero == std::string_view::npos) break;
      out.emplace_back(key.substr(0, zero));
      it->Seek(destination_end(out.back()));  // the next destination
    }
    return out;
  }

  std::vector<core::DeliveryTask> load_tasks(const std::string& destination, size_t limit,
                                             const std::function<bool(const std::string&)>& skip, std::string* cursor,
                                             size_t max_bytes) override {
    std::vector<core::DeliveryTask> out;
    const std::string prefix = task_prefix(destination);
    Bounded bounded(*db_, cfs_[kTasks], destination_end(destination));
    auto& it = bounded.it;
    seek_after(*it, prefix, *cursor);
    size_t bytes = 0;
    for (; it->Valid() && out.size() < limit && (out.empty() || bytes < max_bytes); it->Next()) {
      cursor->assign(it->key().data(), it->key().size());
      const std::string id = it->key().ToString().substr(prefix.size() + 8);
      if (skip(id)) continue;
      auto task = core::decode_task(it->value().ToStringView());
      if (!task) continue;
      task->due_ms = get_be64(it->key(), prefix.size());
      bytes += it->value().size();
      out.push_back(std::move(*task));
    }
    return out;
  }

  std::vector<DeadLetter> list_dead_letters(const std::string& destination, size_t limit) override {
    std::vector<DeadLetter> out;
    const std::string prefix = dlq_prefix(destination);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kDlq]));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Next()) {
      if (auto d = decode_dead_letter(it->key(), it->value())) out.push_back(std::move(*d));
    }
    return out;
  }

  std::vector<core::DeliveryTask> redrive(const std::string& destination, size_t limit, int64_t now_ms) override {
    std::vector<core::DeliveryTask> tasks;
    auto letters = list_dead_letters(destination, limit);
    if (letters.empty()) return tasks;
    rocksdb::WriteBatch wb;
    for (auto& d : letters) {
      wb.Delete(cfs_[kDlq], d.key);
      core::DeliveryTask t = d.task;
      t.attempts = 0;
      t.due_ms = now_ms;
      t.age_from_ms = now_ms;  // a redriven delivery gets a fresh age budget
      t.last_error.clear();
      t.last_status = 0;
      wb.Put(cfs_[kTasks], task_key(t), core::encode_task(t));
      tasks.push_back(std::move(t));
    }
    if (!write(wb, "redrive dead letters")) tasks.clear();
    return tasks;
  }

  std::string event_envelope(int64_t ingested_ms, const std::string& event_id) override {
    core::Event key_of;
    key_of.ingested_ms = ingested_ms;
    key_of.id = event_id;
    std::string value;
    if (!db_->Get(rocksdb::ReadOptions(), cfs_[kEvents], event_key(key_of), &value).ok()) return "";
    auto j = nlohmann::json::parse(value, nullptr, false);
    if (!j.is_object() || !j.contains("event")) return "";
    return j["event"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  Status set_paused(const std::string& destination, bool paused) override {
    const std::string key = "paused/" + destination;
    rocksdb::WriteBatch wb;
    if (paused)
      wb.Put(cfs_[kDefault], key, "1");
    else
      wb.Delete(cfs_[kDefault], key);
    return write(wb, "pause destination");
  }

  std::vector<std::string> paused_destinations() override {
    std::vector<std::string> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kDefault]));
    for (it->Seek("paused/"); it->Valid() && it->key().starts_with("paused/"); it->Next())
      out.push_back(it->key().ToString().substr(7));
    return out;
  }

  uint64_t count_dead_letters(const std::string& destination) override {
    return count(cfs_[kDlq], dlq_prefix(destination));
  }

  // In writes of up to 10,000, each starting after the last key deleted.
  Status purge_dead_letters(const std::string& destination, uint64_t* purged) override {
    *purged = 0;
    std::string cursor;
    for (;;) {
      Bounded bounded(*db_, cfs_[kDlq], destination_end(destination));
      auto& it = bounded.it;
      seek_after(*it, dlq_prefix(destination), cursor);
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

  Status scan_events(int64_t from_ms, int64_t to_ms, const std::function<bool(const std::string&)>& fn) override {
    std::string start;
    put_be64(start, from_ms);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kEvents]));
    for (it->Seek(start); it->Valid(); it->Next()) {
      if (it->key().size() < 8 || get_be64(it->key(), 0) >= to_ms) break;
      if (!fn(it->value().ToString())) break;
    }
    return from_rocks(it->status(), "scan events");
  }

 private:
  struct Pending {
    std::shared_ptr<const IngestBatch> batch;
    std::function<void(Status)> done;
  };

  std::vector<ArchivedEvent> read_archive(const std::string& archive, int64_t from_s, int64_t to_s,
                                          const std::string& after_key, size_t limit) override {
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
      // The members before the envelope: bus, ingested_ms, trace_header.
      const auto j =
          nlohmann::json::parse(std::string(value.substr(0, value.find(R"(,"event":)"))) + "}", nullptr, false);
      if (j.is_object()) {
        e.bus = j.value("bus", "");
        e.ingested_ms = j.value("ingested_ms", int64_t{0});
        e.trace_header = j.value("trace_header", "");
      }
      out.push_back(std::move(e));
    }
    return out;
  }

  uint64_t count_archive(const std::string& archive, int64_t from_s, int64_t to_s) override {
    Bounded bounded(*db_, cfs_[kArchive], archive_bound(archive, to_s));
    uint64_t n = 0;
    for (bounded.it->Seek(archive_bound(archive, from_s)); bounded.it->Valid(); bounded.it->Next()) ++n;
    return n;
  }

  ArchiveStats archive_stats(const std::string& archive) override {
    std::lock_guard<std::mutex> lock(stats_mu_);
    auto it = archive_stats_.find(archive);
    return it == archive_stats_.end() ? ArchiveStats{} : it->second;
  }

  uint64_t expire_archive(const std::string& archive, int64_t cutoff_ms, size_t limit, std::string* cursor) override {
    if (full_) return 0;  // nothing to scan for: deletions write too, and wait for space
    const std::string prefix = archive_prefix(archive);
    Bounded bounded(*db_, cfs_[kArchiveExpiry], archive_bound(archive, cutoff_ms));
    rocksdb::Iterator* it = bounded.it.get();
    rocksdb::WriteBatch wb;
    uint64_t n = 0, bytes = 0;
    seek_after(*it, prefix, *cursor);
    for (; it->Valid() && n < limit; it->Next(), ++n) {
      cursor->assign(it->key().data(), it->key().size());
      std::string value;
      if (db_->Get(rocksdb::ReadOptions(), cfs_[kArchive], it->value(), &value).ok())
        bytes += envelope_of(value).size();
      wb.Delete(cfs_[kArchive], it->value());
      wb.Delete(cfs_[kArchiveExpiry], it->key());
    }
    if (n == 0) return 0;
    if (!write(wb, "expire archived events")) return 0;
    std::lock_guard<std::mutex> lock(stats_mu_);
    ArchiveStats& s = archive_stats_[archive];
    s.events -= std::min(s.events, n);
    s.bytes -= std::min(s.bytes, bytes);
    return n;
  }

  Status put_meta(const std::string& key, const std::string& value) override {
    rocksdb::WriteBatch wb;
    wb.Put(cfs_[kDefault], key, value);
    return write(wb, "store a record", options_.sync);
  }

  std::vector<std::pair<std::string, std::string>> list_meta(const std::string& prefix) override {
    std::vector<std::pair<std::string, std::string>> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kDefault]));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next())
      out.emplace_back(it->key().ToString(), it->value().ToString());
    return out;
  }

  // Counts every archive's events and bytes once, at open.
  void load_archive_stats() {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kArchive]));
    std::lock_guard<std::mutex> lock(stats_mu_);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string_view key = it->key().ToStringView();
      ArchiveStats& s = archive_stats_[std::string(key.substr(0, key.find('\0')))];
      ++s.events;
      s.bytes += envelope_of(it->value().ToStringView()).size();
    }
  }

  uint64_t count(rocksdb::ColumnFamilyHandle* cf, const std::string& prefix) {
    uint64_t n = 0;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++n;
    return n;
  }

  // The committer: takes every batch queued since the last write and stores
  // them with a single RocksDB write (and a single fsync when sync is on).
  void commit_loop() {
    std::deque<Pending> group;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty() && stopping_) return;
        group.swap(queue_);
      }
      if (Status full = check_free_space(); !full) {
        if (metrics_) metrics_->refused_full->Increment(static_cast<double>(group.size()));
        for (auto& p : group) p.done(full);
        group.clear();
        continue;
      }
      const auto started = std::chrono::steady_clock::now();
      rocksdb::WriteBatch wb;
      std::vector<std::pair<std::string, uint64_t>> pending_stats;  // (archive, bytes) added by this write
      for (const auto& p : group) {
        for (const auto& e : p.batch->events) wb.Put(cfs_[kEvents], event_key(e), encode_event(e));
        for (const auto& t : p.batch->tasks) wb.Put(cfs_[kTasks], task_key(t), core::encode_task(t));
        for (const auto& [archive, index] : p.batch->archived) {
          const core::Event& e = p.batch->events.at(index);
          const std::string key = archive_key(archive, e.time, e.id);
          const std::string value = encode_event(e);
          wb.Put(cfs_[kArchive], key, value);
          wb.Put(cfs_[kArchiveExpiry], archive_expiry_key(archive, e), key);
          pending_stats.emplace_back(archive, envelope_of(value).size());
        }
        for (const auto& [k, v] : p.batch->meta) wb.Put(cfs_[kDefault], k, v);
      }
      rocksdb::WriteOptions wo;
      wo.sync = options_.sync;
      const Status st = from_rocks(db_->Write(wo, &wb), "store events");
      if (!st) core::log::error("ingest commit failed", {{"error", st.message()}});
      if (st && !pending_stats.empty()) {
        std::lock_guard<std::mutex> lock(stats_mu_);
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
      for (auto& p : group) p.done(st);
      group.clear();
    }
  }

  // Every write path stops while free space is under the reserve, not only
  // ingest: RocksDB must never meet a full disk (Debian's 7.8 build aborts on
  // an assertion when it writes again after a failed WAL write, and then
  // cannot open until space is added). The watcher keeps `full_` current
  // every 500 ms; ingest also checks before each commit group.
  bool writable() override { return !full_; }

  // Every write but ingest's commit groups (which check the disk themselves
  // before each group) goes through here, and none reaches RocksDB while
  // the disk is under the reserve.
  Status write(rocksdb::WriteBatch& wb, const char* what, bool sync = false) {
    if (full_)
      return Status::error(std::string(what) + ": storage is full: under storage.min_free_mb (" +
                           std::to_string(options_.min_free_bytes >> 20) +
                           " MB) free; writes resume once space is freed");
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    return from_rocks(db_->Write(wo, &wb), what);
  }

  void watch_free_space() {
    std::unique_lock<std::mutex> lock(watch_mu_);
    while (!watch_cv_.wait_for(lock, std::chrono::milliseconds(500), [this] {
      std::lock_guard<std::mutex> l(mu_);
      return stopping_;
    })) {
      lock.unlock();
      (void)check_free_space();
      lock.lock();
    }
  }

  Status check_free_space() {
    std::lock_guard<std::mutex> lock(space_mu_);
    if (options_.min_free_bytes == 0) return Status::ok();
    struct statvfs st;
    if (statvfs(options_.path.c_str(), &st) != 0) return Status::ok();
    const uint64_t free_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
    if (metrics_) metrics_->free_bytes->Set(static_cast<double>(free_bytes));
    const bool full = free_bytes < options_.min_free_bytes;
    full_ = full;
    if (full != reported_full_) {
      reported_full_ = full;
      if (full) {
        core::log::error("storage is full: ingest refused until space is freed",
                         {{"free_mb", std::to_string(free_bytes >> 20)},
                          {"reserve_mb", std::to_string(options_.min_free_bytes >> 20)}});
      } else {
        core::log::info("storage has space again: ingest resumed", {{"free_mb", std::to_string(free_bytes >> 20)}});
      }
    }
    if (!full) return Status::ok();
    return Status::error("storage is full: " + std::to_string(free_bytes >> 20) + " MB free, " +
                         std::to_string(options_.min_free_bytes >> 20) + " MB reserved");
  }

  rocksdb::DB* db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  Options options_;
  bool reported_full_ = false;  // GUARDED_BY(space_mu_)
  std::mutex stats_mu_;
  std::map<std::string, ArchiveStats> archive_stats_;  // GUARDED_BY(stats_mu_)

  struct Metrics {
    prometheus::Histogram* commit_seconds;
    prometheus::Counter* batches;
    prometheus::Counter* refused_full;
    prometheus::Counter* refused_error;
    prometheus::Gauge* free_bytes;
    prometheus::Gauge* min_free_bytes;
  };
  static std::unique_ptr<Metrics> make_metrics(prometheus::Registry* r) {
    if (!r) return nullptr;
    auto m = std::make_unique<Metrics>();
    m->commit_seconds = &prometheus::BuildHistogram()
                             .Name("switchyard_storage_commit_seconds")
                             .Help("Duration of one ingest commit group (one RocksDB write, fsync included with sync)")
                             .Register(*r)
                             .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                                              0.005, 0.01, 0.025, 0.05, 0.1, 0.25});
    m->batches = &prometheus::BuildCounter()
                      .Name("switchyard_storage_batches_committed_total")
                      .Help("Ingest requests' batches written (several per commit group)")
                      .Register(*r)
                      .Add({});
    auto& refused = prometheus::BuildCounter()
                        .Name("switchyard_storage_refused_batches_total")
                        .Help("Ingest batches not stored, by reason (full: under storage.min_free_mb; error)")
                        .Register(*r);
    m->refused_full = &refused.Add({{"reason", "full"}});
    m->refused_error = &refused.Add({{"reason", "error"}});
    m->free_bytes = &prometheus::BuildGauge()
                         .Name("switchyard_storage_free_bytes")
                         .Help("Free space on the store's file system, as last checked")
                         .Register(*r)
                         .Add({});
    m->min_free_bytes = &prometheus::BuildGauge()
                             .Name("switchyard_storage_min_free_bytes")
                             .Help("storage.min_free_mb in bytes: under it the store stops writing")
                             .Register(*r)
                             .Add({});
    return m;
  }
  std::unique_ptr<Metrics> metrics_ = make_metrics(options_.registry);

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;      // GUARDED_BY(mu_)
  bool stopping_ = false;          // GUARDED_BY(mu_)
  std::atomic<bool> full_{false};  // free space under the reserve: every write refused
  std::mutex space_mu_;            // serializes check_free_space
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  std::thread committer_;
  std::thread watcher_;
};

}  // namespace

std::unique_ptr<Store> Store::open(const Options& options, std::string* error) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  // Compactions that would leave less than the reserve free are not started.
  db_options.sst_file_manager.reset(rocksdb::NewSstFileManager(rocksdb::Env::Default()));
  db_options.sst_file_manager->SetCompactionBufferSize(options.min_free_bytes);
  rocksdb::ColumnFamilyOptions cf_options;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kCfNames) descriptors.emplace_back(name, cf_options);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &db);
  if (!s.ok()) {
    *error = "cannot open store at " + options.path + ": " + s.ToString();
    return nullptr;
  }
  return std::make_unique<RocksStore>(db, std::move(handles), options);
}

}  // namespace switchyard::storage
