#include "switchyard/core/uuid.h"

#include <openssl/rand.h>
#include <pthread.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace switchyard::core {

namespace {

// Bumped in every forked child (pthread_atfork), so that a pool filled
// before the fork is refilled: a getpid() per id was a system call per id.
std::atomic<uint64_t> fork_generation{0};

void count_fork() { fork_generation.fetch_add(1, std::memory_order_relaxed); }

uint64_t current_generation() {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(nullptr, nullptr, &count_fork); });
  return fork_generation.load(std::memory_order_relaxed);
}

// Random bytes from OpenSSL's CSPRNG, drawn a page at a time per thread so
// that an id costs a copy, not a call into OpenSSL. Event ids and webhook-ids
// must not be predictable: a receiver may use them as idempotency keys.
class RandomPool {
 public:
  void take(unsigned char* out, size_t n) {
    // A forked child must not hand out its parent's remaining bytes.
    if (used_ + n > pool_.size() || generation_ != current_generation()) refill();
    std::memcpy(out, pool_.data() + used_, n);
    // Bytes handed out are wiped, so a later leak of this memory tells nothing.
    std::memset(pool_.data() + used_, 0, n);
    used_ += n;
  }

 private:
  void refill() {
    if (RAND_bytes(pool_.data(), static_cast<int>(pool_.size())) != 1)
      throw std::runtime_error("the system random source failed (RAND_bytes)");
    used_ = 0;
    generation_ = current_generation();
  }
  std::array<unsigned char, 4096> pool_{};
  size_t used_ = sizeof(pool_);
  uint64_t generation_ = 0;
};

}  // namespace

std::string uuid_v4() {
  thread_local RandomPool pool;
  unsigned char b[16];
  pool.take(b, sizeof(b));
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0xF];
  }
  return out;
}

}  // namespace switchyard::core
