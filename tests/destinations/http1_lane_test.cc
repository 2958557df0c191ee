// What the HTTP/1.1 lane does that a well-behaved receiver never shows: a
// kept-alive connection the server closed, chunked and close-delimited
// answers, a body longer than what is kept, an interim 100 answer, and the
// headers it writes. A scripted server on loopback plays the receiver.

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "plain_url.h"
#include "testing/http_receiver.h"
#include "transport.h"

namespace switchyard::destinations {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Answers each request (GET, no body) with the next scripted reply, and
// closes the connection after a reply marked so.
class ScriptedServer {
 public:
  struct Reply {
    std::string bytes;
    bool close_after = false;
  };
  explicit ScriptedServer(std::deque<Reply> replies) : replies_(std::move(replies)), acceptor_(ioc_) {
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      replies_.clear();
    }
    boost::system::error_code ec;
    tcp::socket wake(ioc_);
    wake.connect(acceptor_.local_endpoint(), ec);  // ends a blocked accept
    wake.close(ec);
    thread_.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
  }
  int connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return connections_;
  }

 private:
  void serve() {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (replies_.empty()) return;
      }
      tcp::socket s(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      if (ec) return;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++connections_;
      }
      asio::streambuf in;
      for (;;) {
        asio::read_until(s, in, "\r\n\r\n", ec);
        if (ec) break;
        in.consume(in.size());
        Reply r;
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (replies_.empty()) return;
          r = replies_.front();
          replies_.pop_front();
        }
        asio::write(s, asio::buffer(r.bytes), ec);
        if (r.close_after || ec) break;
      }
    }
  }

  std::mutex mu_;
  std::deque<Reply> replies_;
  int connections_ = 0;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

HttpResult result_of(HttpTransport& t, HttpCall call) {
  const std::string url = call.url;
  const uint64_t id = t.start(std::move(call));
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    for (auto& r : t.perform())
      if (r.id == id) return r;
    t.wait(20);
  }
  ADD_FAILURE() << "no result for " << url;
  return {};
}

HttpResult call_once(HttpTransport& t, const std::string& url, size_t keep = 512) {
  HttpCall call;
  call.method = "GET";
  call.url = url;
  call.keep_response_bytes = keep;
  return result_of(t, std::move(call));
}

TEST(Http1LaneTest, AKeptAliveConnectionTheServerClosedIsReplacedUnseen) {
  ScriptedServer server({{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", /*close_after=*/true},
                         {"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"}});
  HttpTransport t(4, 5000, 1);
  EXPECT_EQ(call_once(t, server.url("/a")).status, 200);
  std::this_thread::sleep_for(100ms);  // the server has closed the connection the lane keeps
  const HttpResult second = call_once(t, server.url("/b"));
  EXPECT_EQ(second.failure, TransportFailure::kNone) << second.error;
  EXPECT_EQ(second.status, 201);
  EXPECT_EQ(server.connections(), 2);
}

TEST(Http1LaneTest, ChunkedCloseDelimitedAndInterimAnswersAreRead) {
  ScriptedServer server({
      {"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\nRetry-After: "
       "3\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
      {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 3\r\n\r\nyes"},
      {"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n\r\nto the end", /*close_after=*/true},
  });
  HttpTransport t(4, 5000, 1);
  const HttpResult chunked = call_once(t, server.url("/"));
  EXPECT_EQ(chunked.status, 503);
  EXPECT_EQ(chunked.response_head, "hello");
  EXPECT_EQ(chunked.retry_after, "3");
  const HttpResult interim = call_once(t, server.url("/"));
  EXPECT_EQ(interim.status, 202);
  EXPECT_EQ(interim.response_head, "yes");
  const HttpResult to_close = call_once(t, server.url("/"));
  EXPECT_EQ(to_close.status, 500);
  EXPECT_EQ(to_close.response_head, "to the end");
  EXPECT_EQ(server.connections(), 1);  // kept alive until the server said close
}

TEST(Http1LaneTest, ALongBodyKeepsItsHeadAndTheConnectionStaysUsable) {
  const std::string body(100000, 'x');
  ScriptedServer server({{"HTTP/1.1 400 Bad Request\r\nContent-Length: 100000\r\n\r\n" + body},
                         {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"}});
  HttpTransport t(4, 5000, 1);
  const HttpResult first = call_once(t, server.url("/"), 4);
  EXPECT_EQ(first.status, 400);
  EXPECT_EQ(first.response_head, "xxxx");
  EXPECT_EQ(call_once(t, server.url("/")).status, 200);
  EXPECT_EQ(server.connections(), 1);
}

TEST(Http1LaneTest, WritesTheHeadersCurlWouldAndNoEmptyOnes) {
  ::switchyard::testing::HttpReceiver rx;
  HttpTransport t(4, 5000, 1);
  HttpCall call;
  call.method = "PUT";
  call.url = rx.url("/p?q=1#fragment");
  call.headers = {"Content-Type: application/json", "X-A: 1", "Expect:", "X-Empty: ", "Content-Length: 99"};
  call.body = "{}";
  EXPECT_EQ(result_of(t, std::move(call)).status, 200);
  const auto got = rx.wait_for(1, 5s);
  ASSERT_EQ(got.size(), 1u);
  const auto& r = got[0];
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.target, "/p?q=1");
  EXPECT_EQ(r.headers.at("host"), rx.url("").substr(std::string("http://").size()));
  EXPECT_EQ(r.headers.at("accept"), "*/*");
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.headers.at("content-length"), "2");
  EXPECT_EQ(r.headers.at("x-a"), "1");
  EXPECT_EQ(r.headers.count("expect"), 0u);
  EXPECT_EQ(r.headers.count("x-empty"), 0u);
  EXPECT_EQ(r.body, "{}");
}

// A host name is looked up (and the answer kept for the next connection).
TEST(Http1LaneTest, AHostNameIsResolved) {
  ScriptedServer server({{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", true},
                         {"HTTP/1.1 204 No Content\r\n\r\n", true}});
  HttpTransport t(4, 5000, 1);
  const std::string url = server.url("/");
  const std::string by_name = "http://localhost" + url.substr(std::string("http://127.0.0.1").size());
  const HttpResult first = call_once(t, by_name);
  EXPECT_EQ(first.failure, TransportFailure::kNone) << first.error;
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(call_once(t, by_name).status, 204);  // a new connection, from the kept answer
  EXPECT_EQ(server.connections(), 2);
}

TEST(PlainUrlTest, TakesPlainHttpAndLeavesTheRestToCurl) {
  auto u = parse_plain_url("http://example.com/a/b?c=d#e");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->host_header, "example.com");
  EXPECT_EQ(u->target, "/a/b?c=d");
  u = parse_plain_url("HTTP://127.0.0.1:8080");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->host_header, "127.0.0.1:8080");
  EXPECT_EQ(u->target, "/");
  u = parse_plain_url("http://[::1]:9000?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->host_header, "[::1]:9000");
  EXPECT_EQ(u->target, "/?x=1");
  for (const char* other :
       {"https://example.com/", "http://user:pw@example.com/", "http://example.com:0/", "http://example.com:65536/",
        "http://example.com:/", "http://exa mple.com/", "http://example.com/a b", "http:///path", "http://[::1/",
        "ftp://example.com/", "http://example.com/\xc3\xa9"})
    EXPECT_FALSE(parse_plain_url(other)) << other;
}

}  // namespace
}  // namespace switchyard::destinations
