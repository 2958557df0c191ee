#include "switchyard/core/clock.h"

#include <chrono>
#include <utility>

namespace switchyard::core {
namespace {

class SystemClock final : public Clock {
 public:
  int64_t wall_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t mono_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

int Clock::watch(std::function<void()>) { return 0; }
void Clock::unwatch(int) {}

Clock& system_clock() {
  static SystemClock clock;
  return clock;
}

ManualClock::ManualClock(int64_t wall_ms, int64_t mono_ms) : wall_ms_(wall_ms), mono_ms_(mono_ms) {}

int64_t ManualClock::wall_ms() const {
  core::MutexLock lock(mu_);
  return wall_ms_;
}

int64_t ManualClock::mono_ms() const {
  core::MutexLock lock(mu_);
  return mono_ms_;
}

void ManualClock::advance(int64_t ms) {
  {
    core::MutexLock lock(mu_);
    wall_ms_ += ms;
    mono_ms_ += ms;
  }
  wake_all();
}

void ManualClock::set_wall_ms(int64_t wall_ms) {
  {
    core::MutexLock lock(mu_);
    wall_ms_ = wall_ms;
  }
  wake_all();
}

int ManualClock::watch(std::function<void()> wake) {
  core::MutexLock lock(watch_mu_);
  const int handle = next_handle_++;
  watchers_.emplace(handle, std::move(wake));
  return handle;
}

void ManualClock::unwatch(int handle) {
  core::MutexLock lock(watch_mu_);
  watchers_.erase(handle);
}

// Watchers are called under watch_mu_, so one that unwatches (its owner
// going away) is never called afterwards. A watcher must not watch.
void ManualClock::wake_all() {
  core::MutexLock lock(watch_mu_);
  for (const auto& [_, w] : watchers_) w();
}

SeededRandom::SeededRandom() : engine_(std::random_device{}()) {}

uint64_t SeededRandom::uniform(uint64_t bound) { return std::uniform_int_distribution<uint64_t>(0, bound)(engine_); }

}  // namespace switchyard::core
