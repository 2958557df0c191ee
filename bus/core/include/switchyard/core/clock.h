#pragma once

// Time and randomness are passed in, as Envoy passes a TimeSource: parts
// that wait, expire or back off take a Clock (and a Random), so their tests
// run on a ManualClock in microseconds instead of sleeping.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <random>

#include "switchyard/core/mutex.h"

namespace switchyard::core {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch: timestamps, due times, retention.
  virtual int64_t wall_ms() const = 0;
  // Milliseconds on a clock that never steps back: intervals (quotas,
  // probes, token retries). Its origin means nothing.
  virtual int64_t mono_ms() const = 0;
  // `wake` is called whenever the clock jumps (a ManualClock advanced), so a
  // loop that sleeps until a deadline looks again. A real clock never jumps;
  // its watchers are never called. Returns a handle for unwatch().
  virtual int watch(std::function<void()> wake);
  virtual void unwatch(int handle);
};

// The machine's clocks (std::chrono's system and steady clocks).
Clock& system_clock();

// A clock that moves only when told to; both of its times move together.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t wall_ms = 1'700'000'000'000, int64_t mono_ms = 1'000'000);
  int64_t wall_ms() const override;
  int64_t mono_ms() const override;
  // Moves both clocks forward and wakes every watcher.
  void advance(int64_t ms);
  // Steps the wall clock alone (as an operator or NTP may); mono stays.
  void set_wall_ms(int64_t wall_ms);
  int watch(std::function<void()> wake) override;
  void unwatch(int handle) override;

 private:
  void wake_all();
  mutable core::Mutex mu_;
  int64_t wall_ms_ SY_GUARDED_BY(mu_);
  int64_t mono_ms_ SY_GUARDED_BY(mu_);
  core::Mutex watch_mu_;
  int next_handle_ SY_GUARDED_BY(watch_mu_) = 1;
  std::map<int, std::function<void()>> watchers_ SY_GUARDED_BY(watch_mu_);
};

// A source of random numbers for jitter. Not for secrets or ids: those come
// from the operating system (core/crypto.h, core/uuid.h).
class Random {
 public:
  virtual ~Random() = default;
  // A number uniformly drawn from [0, bound].
  virtual uint64_t uniform(uint64_t bound) = 0;
};

// std::mt19937_64, seeded from std::random_device unless a seed is given.
class SeededRandom final : public Random {
 public:
  SeededRandom();
  explicit SeededRandom(uint64_t seed) : engine_(seed) {}
  uint64_t uniform(uint64_t bound) override;

 private:
  std::mt19937_64 engine_;
};

}  // namespace switchyard::core
