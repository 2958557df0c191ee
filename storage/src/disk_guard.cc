#include "disk_guard.h"

#include <sys/statvfs.h>

#include <chrono>
#include <utility>

#include "switchyard/core/log.h"

namespace switchyard::storage {

DiskGuard::DiskGuard(std::string path, uint64_t min_free_bytes, StoreMetrics* metrics)
    : path_(std::move(path)), min_free_bytes_(min_free_bytes), metrics_(metrics) {
  if (metrics_) metrics_->min_free_bytes->Set(static_cast<double>(min_free_bytes_));
  (void)check();
  watcher_ = std::thread([this] { watch(); });
}

DiskGuard::~DiskGuard() {
  {
    core::MutexLock lock(watch_mu_);
    stopping_ = true;
  }
  watch_cv_.notify_all();
  watcher_.join();
}

void DiskGuard::watch() {
  core::MutexWaitLock lock(watch_mu_);
  auto next = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (!stopping_) {
    if (watch_cv_.wait_until(lock.native(), next) != std::cv_status::timeout) continue;
    lock.native().unlock();  // check() takes its own lock
    (void)check();
    lock.native().lock();
    next = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  }
}

core::Status DiskGuard::refusal(const char* what) const {
  return core::Status::resource_exhausted(std::string(what) + ": storage is full: under storage.min_free_mb (" +
                                          std::to_string(min_free_bytes_ >> 20) +
                                          " MB) free; writes resume once space is freed");
}

core::Status DiskGuard::check() {
  core::MutexLock lock(check_mu_);
  if (min_free_bytes_ == 0) return core::Status::ok();
  struct statvfs st;
  if (statvfs(path_.c_str(), &st) != 0) return core::Status::ok();
  const uint64_t free_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  if (metrics_) metrics_->free_bytes->Set(static_cast<double>(free_bytes));
  const bool full = free_bytes < min_free_bytes_;
  full_ = full;
  if (full != reported_full_) {
    reported_full_ = full;
    if (full) {
      core::log::error(
          "storage is full: ingest refused until space is freed",
          {{"free_mb", std::to_string(free_bytes >> 20)}, {"reserve_mb", std::to_string(min_free_bytes_ >> 20)}});
    } else {
      core::log::info("storage has space again: ingest resumed", {{"free_mb", std::to_string(free_bytes >> 20)}});
    }
  }
  if (!full) return core::Status::ok();
  return core::Status::resource_exhausted("storage is full: " + std::to_string(free_bytes >> 20) + " MB free, " +
                                          std::to_string(min_free_bytes_ >> 20) + " MB reserved");
}

}  // namespace switchyard::storage
