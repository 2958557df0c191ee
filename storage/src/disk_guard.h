#pragma once

// Keeps RocksDB from ever meeting a full disk: every write path stops while
// free space on the store's file system is under the reserve, not only
// ingest (Debian's RocksDB 7.8 aborts on an assertion when it writes again
// after a failed WAL write, and then cannot open until space is added). A
// watcher thread checks every 500 ms; ingest also checks before each commit
// group.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "store_metrics.h"
#include "switchyard/core/mutex.h"
#include "switchyard/core/status.h"

namespace switchyard::storage {

class DiskGuard {
 public:
  // `min_free_bytes` 0 disables the check (as does an in-memory store).
  DiskGuard(std::string path, uint64_t min_free_bytes, StoreMetrics* metrics);
  ~DiskGuard();
  DiskGuard(const DiskGuard&) = delete;
  DiskGuard& operator=(const DiskGuard&) = delete;

  // Whether free space was above the reserve at the last check.
  bool writable() const { return !full_; }
  // Checks now; kResourceExhausted when under the reserve.
  core::Status check();
  // The refusal a write gets while the disk is under the reserve.
  core::Status refusal(const char* what) const;

 private:
  void watch();

  const std::string path_;
  const uint64_t min_free_bytes_;
  StoreMetrics* metrics_;
  std::atomic<bool> full_{false};
  core::Mutex check_mu_;  // serializes check()
  bool reported_full_ SY_GUARDED_BY(check_mu_) = false;
  core::Mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stopping_ SY_GUARDED_BY(watch_mu_) = false;
  std::thread watcher_;
};

}  // namespace switchyard::storage
