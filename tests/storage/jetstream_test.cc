// The JetStream client against real nats-server processes on loopback
// (tests/testing/nats_cluster.h): a 3-node cluster with R3 streams, as
// cluster mode runs it. Publishes are acknowledged only once stored,
// repeated ids are stored once, acknowledged messages survive the loss of
// the stream's leader, and key-value writes compare and set.

#include "switchyard/storage/jetstream.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <nats/nats.h>

#include "testing/nats_cluster.h"

namespace switchyard::storage::jetstream {
namespace {

using namespace std::chrono_literals;

class JetStreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new ::switchyard::testing::NatsCluster(3); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  // Connects, retrying while the cluster elects its first leaders.
  std::unique_ptr<JetStream> connect() {
    auto js = JetStream::connect({.urls = cluster_->urls(), .name = "test"});
    EXPECT_TRUE(js) << js.status().message();
    return js ? std::move(*js) : nullptr;
  }

  // Creates a stream, retrying until the cluster has a meta leader.
  static void ensure(JetStream& js, const StreamSpec& spec) {
    core::Status st = core::Status::ok();
    for (int i = 0; i < 100; ++i) {
      st = js.ensure_stream(spec);
      if (st) return;
      std::this_thread::sleep_for(200ms);
    }
    FAIL() << st.message();
  }

  static ::switchyard::testing::NatsCluster* cluster_;
};

::switchyard::testing::NatsCluster* JetStreamTest::cluster_ = nullptr;

TEST_F(JetStreamTest, PublishesAreAcknowledgedAndARepeatedIdIsStoredOnce) {
  auto js = connect();
  ASSERT_TRUE(js);
  ensure(*js, {.name = "T1", .subjects = {"t1.>"}, .replicas = 3});
  for (int i = 0; i < 50; ++i) {
    auto p = js->publish("t1.a", "event " + std::to_string(i), "id-" + std::to_string(i), 10000);
    ASSERT_TRUE(p) << p.status().message();
    EXPECT_FALSE(p->duplicate);
    EXPECT_EQ(p->sequence, static_cast<uint64_t>(i + 1));
  }
  auto again = js->publish("t1.a", "event 7 again", "id-7", 10000);
  ASSERT_TRUE(again) << again.status().message();
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(*js->stream_messages("T1"), 50u);
  // Nothing answers for a subject no stream takes: not acknowledged.
  auto nowhere = js->publish("nowhere.x", "x", "id-x", 600);
  EXPECT_EQ(nowhere.status().code(), core::Code::kUnavailable);
}

TEST_F(JetStreamTest, AcknowledgedMessagesSurviveTheStreamLeaderKilledUnderLoad) {
  auto js = connect();
  ASSERT_TRUE(js);
  ensure(*js, {.name = "T2", .subjects = {"t2.>"}, .replicas = 3});
  int acknowledged = 0;
  int killed = -1;
  for (int i = 0; i < 300; ++i) {
    if (i == 100) {  // kill -9 the server leading the stream: publishes wait out the election
      auto leader = js->stream_leader("T2");
      ASSERT_TRUE(leader) << leader.status().message();
      killed = std::stoi(leader->substr(1));  // "n<i>"
      cluster_->kill(killed);
    }
    auto p = js->publish("t2.a", "event " + std::to_string(i), "t2-" + std::to_string(i), 15000);
    ASSERT_TRUE(p) << "publish " << i << ": " << p.status().message();
    ++acknowledged;
  }
  EXPECT_EQ(acknowledged, 300);
  auto leader = js->stream_leader("T2");
  ASSERT_TRUE(leader) << leader.status().message();
  EXPECT_NE(*leader, "n" + std::to_string(killed));
  cluster_->start(killed);
  uint64_t stored = 0;
  for (int i = 0; i < 50 && stored != 300; ++i) {
    auto n = js->stream_messages("T2");
    if (n) stored = *n;
    if (stored != 300) std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(stored, 300u);  // every acknowledged message, once
}

TEST_F(JetStreamTest, KeyValueWritesCompareAndSet) {
  auto js = connect();
  ASSERT_TRUE(js);
  core::Status st = core::Status::ok();
  for (int i = 0; i < 100 && !(st = js->ensure_bucket("leases", 3)); ++i) std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(st) << st.message();
  // While the bucket's replicas elect a leader a write times out; a create
  // that timed out may have landed, which a retry then finds.
  core::Result<uint64_t> first = core::Status::unavailable("not tried");
  for (int i = 0; i < 100 && first.status().code() == core::Code::kUnavailable; ++i) {
    first = js->kv_create("leases", "part.1", "node-a");
    if (first.status().code() == core::Code::kFailedPrecondition) {
      auto landed = js->kv_get("leases", "part.1");
      ASSERT_TRUE(landed && landed->value == "node-a");
      first = landed->revision;
    }
    if (first.status().code() == core::Code::kUnavailable) std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(first) << first.status().message();
  auto taken = js->kv_create("leases", "part.1", "node-b");
  EXPECT_EQ(taken.status().code(), core::Code::kFailedPrecondition);
  auto renewed = js->kv_update("leases", "part.1", "node-a", *first);
  ASSERT_TRUE(renewed) << renewed.status().message();
  auto stale = js->kv_update("leases", "part.1", "node-b", *first);  // the revision moved on
  EXPECT_EQ(stale.status().code(), core::Code::kFailedPrecondition);
  auto got = js->kv_get("leases", "part.1");
  ASSERT_TRUE(got) << got.status().message();
  EXPECT_EQ(got->value, "node-a");
  EXPECT_EQ(got->revision, *renewed);
  EXPECT_EQ(js->kv_get("leases", "part.2").status().code(), core::Code::kNotFound);
  // The leader's copy: the same newest revision; a delete marker is no value.
  auto led = js->kv_get_from_leader("leases", "part.1");
  ASSERT_TRUE(led) << led.status().message();
  EXPECT_EQ(led->value, "node-a");
  EXPECT_EQ(led->revision, *renewed);
  ASSERT_TRUE(js->kv_delete("leases", "part.1"));
  EXPECT_EQ(js->kv_get_from_leader("leases", "part.1").status().code(), core::Code::kNotFound);
  EXPECT_EQ(js->kv_get_from_leader("leases", "part.2").status().code(), core::Code::kNotFound);
}

// JetStream answers every refused key-value write the same way to the
// client; only "wrong last sequence" says the key moved. Any other refusal
// (here the bucket's size limit; in production a stream without a
// leader yet) must not read as "somebody else holds it", or a lease holder
// would give up a partition nobody took.
TEST_F(JetStreamTest, OnlyAMovedKeyIsReportedAsOne) {
  auto js = connect();
  ASSERT_TRUE(js);
  natsConnection* nc = nullptr;
  ASSERT_EQ(natsConnection_ConnectTo(&nc, cluster_->url(0).c_str()), NATS_OK);
  jsCtx* jc = nullptr;
  ASSERT_EQ(natsConnection_JetStream(&jc, nc, nullptr), NATS_OK);
  kvConfig cfg;
  kvConfig_Init(&cfg);
  cfg.Bucket = "tiny";
  cfg.Replicas = 3;
  cfg.MaxValueSize = 100;  // the whole message: headers count
  kvStore* kv = nullptr;
  natsStatus s = NATS_ERR;
  for (int i = 0; i < 100 && (s = js_CreateKeyValue(&kv, jc, &cfg)) != NATS_OK; ++i) std::this_thread::sleep_for(200ms);
  ASSERT_EQ(s, NATS_OK);
  kvStore_Destroy(kv);
  jsCtx_Destroy(jc);
  natsConnection_Destroy(nc);
  ASSERT_TRUE(js->ensure_bucket("tiny", 3));
  core::Result<uint64_t> first = core::Status::unavailable("not tried");
  for (int i = 0; i < 100 && !first; ++i)
    if (!(first = js->kv_create("tiny", "k", "short"))) std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(first) << first.status().message();
  auto too_long = js->kv_update("tiny", "k", std::string(200, 'x'), *first);
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.status().code(), core::Code::kFailedPrecondition) << too_long.status().message();
  EXPECT_NE(too_long.status().message().find("maximum"), std::string::npos) << too_long.status().message();
  auto too_long_new = js->kv_create("tiny", "other", std::string(200, 'x'));
  EXPECT_NE(too_long_new.status().code(), core::Code::kFailedPrecondition) << too_long_new.status().message();
  EXPECT_EQ(js->kv_update("tiny", "k", "short", *first + 100).status().code(), core::Code::kFailedPrecondition);
}

}  // namespace
}  // namespace switchyard::storage::jetstream
