#pragma once

// A mutex the compiler checks: with clang, -Wthread-safety proves that every
// member marked SY_GUARDED_BY(mu_) is touched only with mu_ held (the style
// test tests/thread_safety_check.sh runs it on every file that uses these).
// Other compilers see plain std::mutex and no annotations.

#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define SY_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define SY_THREAD_ANNOTATION(x)
#endif

#define SY_CAPABILITY(x) SY_THREAD_ANNOTATION(capability(x))
#define SY_SCOPED_CAPABILITY SY_THREAD_ANNOTATION(scoped_lockable)
#define SY_GUARDED_BY(x) SY_THREAD_ANNOTATION(guarded_by(x))
#define SY_PT_GUARDED_BY(x) SY_THREAD_ANNOTATION(pt_guarded_by(x))
#define SY_REQUIRES(...) SY_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define SY_EXCLUDES(...) SY_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define SY_ACQUIRE(...) SY_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define SY_RELEASE(...) SY_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define SY_NO_THREAD_SAFETY_ANALYSIS SY_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace switchyard::core {

class SY_CAPABILITY("mutex") Mutex {
 public:
  void lock() SY_ACQUIRE() { mu_.lock(); }
  void unlock() SY_RELEASE() { mu_.unlock(); }
  // For condition variables: the std::mutex underneath.
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope, as std::lock_guard does.
class SY_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) SY_ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() SY_RELEASE() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

// Holds a Mutex and can wait on a condition variable with it, as
// std::unique_lock does (the analysis sees it held throughout).
class SY_SCOPED_CAPABILITY MutexWaitLock {
 public:
  explicit MutexWaitLock(Mutex& mu) SY_ACQUIRE(mu) : lock_(mu.native()) {}
  ~MutexWaitLock() SY_RELEASE() {}
  std::unique_lock<std::mutex>& native() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace switchyard::core
