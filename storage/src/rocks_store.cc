#include "rocks_store.h"

#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_manager.h>
#include <rocksdb/table.h>

#include <nlohmann/json.hpp>
#include <utility>

#include "records.h"
#include "switchyard/core/log.h"

namespace switchyard::storage {

using core::Result;
using core::Status;

Status from_rocks(const rocksdb::Status& s, const char* what) {
  if (s.ok()) return Status::ok();
  const std::string message = std::string(what) + ": " + s.ToString();
  if (s.IsCorruption()) return Status::corruption(message);
  if (s.IsNoSpace()) return Status::resource_exhausted(message);
  if (s.IsShutdownInProgress()) return Status::unavailable(message);
  if (s.IsNotFound()) return Status::not_found(message);
  return Status::io_error(message);
}

RocksStore::RocksStore(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> cfs, const Options& options,
                       std::unique_ptr<rocksdb::Env> owned_env)
    : owned_env_(std::move(owned_env)),
      db_(db),
      cfs_(std::move(cfs)),
      options_(options),
      metrics_(StoreMetrics::make(options_.registry)),
      guard_(options_.path, options_.in_memory ? 0 : options_.min_free_bytes, metrics_.get()),
      committer_([this] { commit_loop(); }) {
  load_archive_stats();
}

RocksStore::~RocksStore() {
  {
    core::MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  committer_.join();
  for (auto* cf : cfs_) db_->DestroyColumnFamilyHandle(cf);
  db_->Close();
  delete db_;
}

Status RocksStore::write(rocksdb::WriteBatch& wb, const char* what, bool sync) {
  if (!guard_.writable()) return guard_.refusal(what);
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return from_rocks(db_->Write(wo, &wb), what);
}

Result<uint64_t> RocksStore::count(rocksdb::ColumnFamilyHandle* cf, const std::string& prefix, const char* what) {
  uint64_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++n;
  if (Status st = from_rocks(it->status(), what); !st) return st;
  return n;
}

void RocksStore::append(std::shared_ptr<const IngestBatch> batch, std::function<void(Status)> done) {
  {
    core::MutexLock lock(mu_);
    if (!stopping_) {
      queue_.push_back({std::move(batch), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(Status::unavailable("store is shutting down"));
}

// Event keys begin with their acceptance time: one range deletion removes
// every event accepted before the cutoff.
Status RocksStore::expire_events(int64_t cutoff_ms) {
  if (cutoff_ms <= 0) return Status::ok();
  std::string from, to;
  put_be64(from, 0);
  put_be64(to, cutoff_ms);
  rocksdb::WriteBatch wb;
  wb.DeleteRange(cfs_[kEvents], from, to);
  return write(wb, "expire accepted events");
}

Result<std::string> RocksStore::event_envelope(int64_t ingested_ms, const std::string& event_id) {
  std::string value;
  const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_[kEvents], event_key(ingested_ms, event_id), &value);
  if (s.IsNotFound()) return Status::not_found("event " + event_id + " is not stored");
  if (Status st = from_rocks(s, "read an event"); !st) return st;
  const std::string_view envelope = envelope_of(value);
  if (envelope.empty()) return Status::corruption("the stored record of event " + event_id + " has no envelope");
  return std::string(envelope);
}

Status RocksStore::scan_events(int64_t from_ms, int64_t to_ms, const std::function<bool(const std::string&)>& fn) {
  std::string start;
  put_be64(start, from_ms);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kEvents]));
  for (it->Seek(start); it->Valid(); it->Next()) {
    if (it->key().size() < 8 || get_be64(it->key(), 0) >= to_ms) break;
    if (!fn(it->value().ToString())) break;
  }
  return from_rocks(it->status(), "scan events");
}

Status RocksStore::set_paused(const std::string& destination, bool paused) {
  const std::string key = "paused/" + destination;
  rocksdb::WriteBatch wb;
  if (paused)
    wb.Put(cfs_[kDefault], key, "1");
  else
    wb.Delete(cfs_[kDefault], key);
  return write(wb, "pause destination");
}

Result<std::vector<std::string>> RocksStore::paused_destinations() {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kDefault]));
  for (it->Seek("paused/"); it->Valid() && it->key().starts_with("paused/"); it->Next())
    out.push_back(it->key().ToString().substr(7));
  if (Status st = from_rocks(it->status(), "read paused destinations"); !st) return st;
  return out;
}

Status RocksStore::put_meta(const std::string& key, const std::string& value) {
  rocksdb::WriteBatch wb;
  wb.Put(cfs_[kDefault], key, value);
  return write(wb, "store a record", options_.sync);
}

Status RocksStore::delete_meta(const std::string& key) {
  rocksdb::WriteBatch wb;
  wb.Delete(cfs_[kDefault], key);
  return write(wb, "delete a record");
}

Result<std::vector<std::pair<std::string, std::string>>> RocksStore::list_meta(const std::string& prefix) {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[kDefault]));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next())
    out.emplace_back(it->key().ToString(), it->value().ToString());
  if (Status st = from_rocks(it->status(), "read records"); !st) return st;
  return out;
}

Result<std::unique_ptr<Store>> Store::open(const Options& options) {
  std::unique_ptr<rocksdb::Env> owned_env;
  rocksdb::Env* env = options.env ? options.env : rocksdb::Env::Default();
  if (options.in_memory) {
    owned_env.reset(rocksdb::NewMemEnv(env));
    env = owned_env.get();
  }
  rocksdb::DBOptions db_options;
  db_options.env = env;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  // Compactions that would leave less than the reserve free are not started.
  if (!options.in_memory) {
    db_options.sst_file_manager.reset(rocksdb::NewSstFileManager(env));
    db_options.sst_file_manager->SetCompactionBufferSize(options.min_free_bytes);
  }
  rocksdb::ColumnFamilyOptions cf_options;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kCfNames) descriptors.emplace_back(name, cf_options);
  // Deduplication keys are looked up for every keyed entry and are mostly
  // absent: a Bloom filter answers those without reading table blocks.
  descriptors[kDedup].options.compaction_filter = dedup_compaction_filter();
  rocksdb::BlockBasedTableOptions dedup_table;
  dedup_table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  descriptors[kDedup].options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(dedup_table));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &db);
  if (!s.ok()) return from_rocks(s, ("cannot open store at " + options.path).c_str());
  return std::unique_ptr<Store>(std::make_unique<RocksStore>(db, std::move(handles), options, std::move(owned_env)));
}

}  // namespace switchyard::storage
