// The transport on several lanes of each kind (HTTP/1.1 and curl) against
// a real receiver on loopback: every call's result comes back once with its
// own id, answers and failures are told apart, wakeup() ends a wait,
// abandon_all() drops what is in flight.

#include "transport.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "testing/http_receiver.h"

namespace switchyard::destinations {
namespace {

using namespace std::chrono_literals;

// Collects results until `n` arrived or 10 s passed.
// Parameter: whether plain http:// goes to the HTTP/1.1 lanes (else curl's).
class HttpTransportTest : public ::testing::TestWithParam<bool> {
 protected:
};

std::vector<HttpResult> collect(HttpTransport& t, size_t n) {
  std::vector<HttpResult> all;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (all.size() < n && std::chrono::steady_clock::now() < deadline) {
    for (auto& r : t.perform()) all.push_back(std::move(r));
    t.wait(50);
  }
  return all;
}

TEST_P(HttpTransportTest, EveryCallOverEveryLaneEndsOnceWithItsOwnAnswer) {
  ::switchyard::testing::HttpReceiver rx([](const ::switchyard::testing::ReceivedRequest& req) {
    ::switchyard::testing::Reply reply;
    reply.status = std::stoi(req.headers.at("x-status"));
    if (reply.status == 429) reply.headers["Retry-After"] = "7";
    reply.body = "body of " + req.body;
    return reply;
  });
  HttpTransport t(8, 5000, 3, GetParam());
  std::map<uint64_t, int> expected;  // id -> status
  for (int i = 0; i < 60; ++i) {
    HttpCall call;
    call.url = rx.url("/in");
    const int status = i % 3 == 0 ? 200 : (i % 3 == 1 ? 503 : 429);
    call.headers = {"X-Status: " + std::to_string(status)};
    call.body = std::to_string(i);
    expected[t.start(std::move(call))] = status;
  }
  EXPECT_EQ(t.in_flight(), 60u);
  const auto results = collect(t, 60);
  ASSERT_EQ(results.size(), 60u);
  std::set<uint64_t> seen;
  for (const auto& r : results) {
    ASSERT_TRUE(expected.count(r.id)) << r.id;
    EXPECT_TRUE(seen.insert(r.id).second) << "twice: " << r.id;
    EXPECT_EQ(r.status, expected[r.id]);
    EXPECT_EQ(r.failure, TransportFailure::kNone);
    EXPECT_EQ(r.response_head.rfind("body of ", 0), 0u) << r.response_head;
    EXPECT_EQ(r.retry_after, r.status == 429 ? "7" : "");
  }
  EXPECT_EQ(t.in_flight(), 0u);
  EXPECT_EQ(rx.wait_for(60, 1s).size(), 60u);
}

TEST_P(HttpTransportTest, ARefusedConnectionAndATimeoutAreFailuresNotAnswers) {
  ::switchyard::testing::HttpReceiver slow([](const ::switchyard::testing::ReceivedRequest&) {
    std::this_thread::sleep_for(600ms);
    return ::switchyard::testing::Reply{};
  });
  unsigned short dead_port = 0;
  {
    ::switchyard::testing::HttpReceiver gone;
    dead_port = static_cast<unsigned short>(std::stoi(gone.url("").substr(std::string("http://127.0.0.1:").size())));
  }
  HttpTransport t(4, 5000, 2, GetParam());
  HttpCall refused;
  refused.url = "http://127.0.0.1:" + std::to_string(dead_port) + "/";
  const uint64_t refused_id = t.start(std::move(refused));
  HttpCall late;
  late.url = slow.url("/");
  late.timeout_ms = 200;
  const uint64_t late_id = t.start(std::move(late));
  const auto results = collect(t, 2);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    EXPECT_EQ(r.status, 0);
    EXPECT_FALSE(r.error.empty());
    EXPECT_TRUE(r.id == refused_id || r.id == late_id) << r.id;
    EXPECT_EQ(r.failure, r.id == refused_id ? TransportFailure::kConnection : TransportFailure::kTimeout);
  }
}

TEST_P(HttpTransportTest, WakeupEndsAWaitEarly) {
  HttpTransport t(4, 5000, 2, GetParam());
  std::thread waker([&] {
    std::this_thread::sleep_for(100ms);
    t.wakeup();
  });
  const auto start = std::chrono::steady_clock::now();
  t.wait(10000);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  waker.join();
}

TEST_P(HttpTransportTest, AbandonedTransfersNeverReturn) {
  ::switchyard::testing::HttpReceiver slow([](const ::switchyard::testing::ReceivedRequest&) {
    std::this_thread::sleep_for(300ms);
    return ::switchyard::testing::Reply{};
  });
  HttpTransport t(4, 5000, 2, GetParam());
  for (int i = 0; i < 4; ++i) {
    HttpCall call;
    call.url = slow.url("/");
    t.start(std::move(call));
  }
  t.wait(50);  // handed to the lanes and sent
  t.abandon_all();
  EXPECT_EQ(t.in_flight(), 0u);
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(t.perform().empty());
  // The transport still works after it.
  ::switchyard::testing::HttpReceiver fast;
  HttpCall call;
  call.url = fast.url("/");
  const uint64_t id = t.start(std::move(call));
  const auto results = collect(t, 1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].id, id);
  EXPECT_EQ(results[0].status, 200);
}

INSTANTIATE_TEST_SUITE_P(Lanes, HttpTransportTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Http1" : "Curl"; });

}  // namespace
}  // namespace switchyard::destinations
