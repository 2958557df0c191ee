#pragma once

// The CPU work of a request (matching, rendering, TestEventPattern).
// /healthz and /metrics must be answered whatever events cost, so at most
// `threads` requests do such work on the I/O threads at once, and there is
// one I/O thread more than that: one is always free to read and answer.
// Beyond that the work runs on a pool of its own, and the request resumes
// on its connection's executor. Inline is the common case: handing every
// request to another thread and back cost a quarter of single-event ingest
// throughput.

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <exception>

namespace switchyard::bus {

class CpuWork {
 public:
  explicit CpuWork(int threads) : threads_(std::max(1, threads)), pool_(static_cast<size_t>(threads_)) {}
  ~CpuWork() { pool_.join(); }

  template <class F>
  boost::asio::awaitable<void> run(F&& f) {
    namespace asio = boost::asio;
    if (inline_.fetch_add(1) < threads_) {
      struct Leave {
        std::atomic<int>& n;
        ~Leave() { --n; }
      } leave{inline_};
      f();
      co_return;
    }
    --inline_;
    const auto home = co_await asio::this_coro::executor;
    co_await asio::post(asio::bind_executor(pool_, asio::use_awaitable));
    std::exception_ptr failed;
    try {
      f();
    } catch (...) {
      failed = std::current_exception();
    }
    co_await asio::post(home, asio::use_awaitable);
    if (failed) std::rethrow_exception(failed);
  }

  void stop() {
    pool_.stop();
    pool_.join();
  }

 private:
  const int threads_;
  boost::asio::thread_pool pool_;
  std::atomic<int> inline_{0};  // requests doing CPU work on an I/O thread now
};

}  // namespace switchyard::bus
