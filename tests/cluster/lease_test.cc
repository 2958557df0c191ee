// Partition leases on a real nats-server (tests/testing/nats_cluster.h):
// one holder at a time, takeover once a silent holder's lease expires,
// release handing over at once, and self-fencing before expiry.

#include "switchyard/cluster/lease.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "testing/nats_cluster.h"

namespace switchyard::cluster {
namespace {

using namespace std::chrono_literals;
namespace js = storage::jetstream;

constexpr int64_t kTtlMs = 1500;

class LeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = js::JetStream::connect({.urls = nats_.urls(), .name = "lease-test"});
    ASSERT_TRUE(c) << c.status().message();
    js_ = std::move(*c);
    core::Status st = core::Status::ok();
    for (int i = 0; i < 100 && !(st = js_->ensure_bucket("leases", 1, kTtlMs)); ++i) std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(st) << st.message();
  }

  LeaseOptions options(const std::string& holder) {
    return {.bucket = "leases", .key = "part.1", .holder = holder, .ttl_ms = kTtlMs, .fence_margin_ms = 500};
  }

  ::switchyard::testing::NatsCluster nats_{1};
  std::unique_ptr<js::JetStream> js_;
};

TEST_F(LeaseTest, OneHolderAtATimeAndASilentHolderIsReplacedAfterExpiry) {
  Lease a(*js_, options("node-a"), core::system_clock());
  Lease b(*js_, options("node-b"), core::system_clock());
  ASSERT_EQ(a.try_acquire().value_or(false), true);
  EXPECT_TRUE(a.may_act());
  EXPECT_EQ(b.try_acquire().value_or(true), false);
  ASSERT_TRUE(a.renew());
  EXPECT_EQ(b.try_acquire().value_or(true), false);
  // a goes silent (a killed node): b takes over once the lease expires.
  const auto silent = std::chrono::steady_clock::now();
  bool taken = false;
  while (!taken && std::chrono::steady_clock::now() - silent < 10s) {
    taken = b.try_acquire().value_or(false);
    if (!taken) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(taken);
  EXPECT_GE(std::chrono::steady_clock::now() - silent, 1000ms);  // not before the TTL ran out
  EXPECT_GT(b.epoch(), a.epoch());
  EXPECT_FALSE(a.may_act());  // fenced well before b could take over
  EXPECT_EQ(a.renew().code(), core::Code::kFailedPrecondition);
  EXPECT_FALSE(a.held());
  EXPECT_TRUE(b.may_act());
}

TEST_F(LeaseTest, ARenewalStoredWhoseAnswerWasLostKeepsTheLease) {
  Lease a(*js_, options("node-a"), core::system_clock());
  ASSERT_EQ(a.try_acquire().value_or(false), true);
  // What a lost answer leaves behind: the key moved on, still with a's name.
  auto entry = js_->kv_get("leases", "part.1");
  ASSERT_TRUE(entry);
  ASSERT_TRUE(js_->kv_update("leases", "part.1", "node-a", entry->revision));
  ASSERT_TRUE(a.renew());
  EXPECT_TRUE(a.held());
  EXPECT_TRUE(a.may_act());
  // Another holder's name is never taken for this node's.
  entry = js_->kv_get("leases", "part.1");
  ASSERT_TRUE(js_->kv_update("leases", "part.1", "node-b", entry->revision));
  EXPECT_EQ(a.renew().code(), core::Code::kFailedPrecondition);
  EXPECT_FALSE(a.held());
  ASSERT_TRUE(js_->kv_delete("leases", "part.1"));
}

TEST_F(LeaseTest, AReleasedLeaseIsTakenAtOnce) {
  Lease a(*js_, options("node-a"), core::system_clock());
  Lease b(*js_, options("node-b"), core::system_clock());
  ASSERT_EQ(a.try_acquire().value_or(false), true);
  ASSERT_TRUE(a.release());
  EXPECT_FALSE(a.may_act());
  EXPECT_EQ(b.try_acquire().value_or(false), true);
}

TEST_F(LeaseTest, AHolderStopsActingBeforeItsLeaseCanExpire) {
  core::ManualClock clock;
  Lease a(*js_, options("node-a"), clock);
  ASSERT_EQ(a.try_acquire().value_or(false), true);
  clock.advance(kTtlMs - 500 - 1);  // a stall: no renewal
  EXPECT_TRUE(a.may_act());
  clock.advance(1);
  EXPECT_FALSE(a.may_act());  // ttl - margin after the last renewal was sent
  ASSERT_TRUE(a.renew());     // nobody took it meanwhile: acting again
  EXPECT_TRUE(a.may_act());
}

}  // namespace
}  // namespace switchyard::cluster
