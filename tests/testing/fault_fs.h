#pragma once

// A RocksDB FileSystem that can lose power, after LevelDB's fault-injection
// tests: it remembers how much of each file was synced, and after crash()
// nothing more reaches the disk; drop_unsynced() then cuts every file back
// to what was synced, as the disk would hold it after a power loss. Files
// are real files in a temporary directory.

#include <rocksdb/file_system.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace switchyard::testing {

class FaultFs : public rocksdb::FileSystemWrapper {
 public:
  FaultFs() : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FaultFs"; }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r, rocksdb::IODebugContext* d) override {
    auto s = target()->NewWritableFile(f, o, r, d);
    if (s.ok()) {
      track(f, 0);
      *r = std::make_unique<File>(std::move(*r), this, f);
    }
    return s;
  }

  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* d) override {
    uint64_t size = 0;
    (void)target()->GetFileSize(f, rocksdb::IOOptions(), &size, d);
    auto s = target()->ReopenWritableFile(f, o, r, d);
    if (s.ok()) {
      track(f, size);
      *r = std::make_unique<File>(std::move(*r), this, f);
    }
    return s;
  }

  rocksdb::IOStatus RenameFile(const std::string& from, const std::string& to, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* d) override {
    if (dead()) return rocksdb::IOStatus::IOError("the machine is off");
    auto s = target()->RenameFile(from, to, o, d);
    std::lock_guard<std::mutex> lock(mu_);
    if (s.ok() && files_.count(from)) {
      files_[to] = files_[from];
      files_.erase(from);
    }
    return s;
  }

  rocksdb::IOStatus DeleteFile(const std::string& f, const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
    if (dead()) return rocksdb::IOStatus::IOError("the machine is off");
    auto s = target()->DeleteFile(f, o, d);
    std::lock_guard<std::mutex> lock(mu_);
    files_.erase(f);
    return s;
  }

  // The power goes: from now on writes and syncs are lost.
  void crash() {
    std::lock_guard<std::mutex> lock(mu_);
    dead_ = true;
  }

  // Once the store is closed: every file back to its synced length.
  // Returns how many bytes were dropped.
  uint64_t drop_unsynced() {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t dropped = 0;
    for (const auto& [path, f] : files_) {
      if (f.written <= f.synced) continue;
      dropped += f.written - f.synced;
      if (::truncate(path.c_str(), static_cast<off_t>(f.synced)) != 0) return UINT64_MAX;
    }
    files_.clear();
    dead_ = false;
    return dropped;
  }

 private:
  struct State {
    uint64_t written = 0;  // bytes appended (reached the OS)
    uint64_t synced = 0;   // bytes a sync made durable
  };

  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> t, FaultFs* fs, std::string path)
        : rocksdb::FSWritableFileOwnerWrapper(std::move(t)), fs_(fs), path_(std::move(path)) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* d) override {
      if (fs_->dead()) return rocksdb::IOStatus::OK();  // lost
      fs_->appended(path_, data.size());
      return target()->Append(data, o, d);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo&, rocksdb::IODebugContext* d) override {
      return Append(data, o, d);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
      if (fs_->dead()) return rocksdb::IOStatus::OK();
      auto s = target()->Sync(o, d);
      if (s.ok()) fs_->synced(path_);
      return s;
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
      if (fs_->dead()) return rocksdb::IOStatus::OK();
      auto s = target()->Fsync(o, d);
      if (s.ok()) fs_->synced(path_);
      return s;
    }
    rocksdb::IOStatus RangeSync(uint64_t, uint64_t, const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
      return rocksdb::IOStatus::OK();  // a hint only: promises nothing, so counts for nothing
    }

   private:
    FaultFs* fs_;
    std::string path_;
  };

  bool dead() {
    std::lock_guard<std::mutex> lock(mu_);
    return dead_;
  }
  void track(const std::string& path, uint64_t size) {
    std::lock_guard<std::mutex> lock(mu_);
    files_[path] = State{size, size};
  }
  void appended(const std::string& path, uint64_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    files_[path].written += n;
  }
  void synced(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    files_[path].synced = files_[path].written;
  }

  std::mutex mu_;
  bool dead_ = false;
  std::map<std::string, State> files_;
};

}  // namespace switchyard::testing
