#include "http1_lane.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/optional.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "plain_url.h"
#include "switchyard/core/ascii.h"

namespace switchyard::destinations {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;  // NOLINT(readability-identifier-naming): asio's own name
using Clock = std::chrono::steady_clock;

// A response body of which the first `keep` bytes are kept; the rest is
// read and dropped.
struct HeadBody {
  struct value_type {  // NOLINT(readability-identifier-naming): Beast's Body concept names it
    std::string head;
    size_t keep = 512;
  };
  class reader {  // NOLINT(readability-identifier-naming): Beast's Body concept names it
   public:
    template <bool IsRequest, class Fields>
    reader(http::header<IsRequest, Fields>&, value_type& v) : v_(v) {}
    void init(const boost::optional<std::uint64_t>&, beast::error_code& ec) { ec = {}; }
    template <class Buffers>
    size_t put(const Buffers& buffers, beast::error_code& ec) {
      ec = {};
      size_t n = 0;
      for (const auto b : beast::buffers_range_ref(buffers)) {
        const size_t room = v_.keep > v_.head.size() ? v_.keep - v_.head.size() : 0;
        v_.head.append(static_cast<const char*>(b.data()), std::min(room, b.size()));
        n += b.size();
      }
      return n;
    }
    void finish(beast::error_code& ec) { ec = {}; }

   private:
    value_type& v_;
  };
};

struct Connection {
  explicit Connection(asio::io_context& ioc) : stream(ioc) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::string key;      // host:port
  bool reused = false;  // has answered a request before
};

// The request as written: head and body in one buffer.
std::string wire_request(const HttpCall& call, const PlainUrl& url) {
  std::string out;
  out.reserve(256 + call.body.size());
  out += call.method;
  out += ' ';
  out += url.target;
  out += " HTTP/1.1\r\n";
  bool host = false, accept = false;
  for (const auto& line : call.headers) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string_view name(line.data(), colon);
    std::string_view value(line);
    value.remove_prefix(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    if (value.empty() || core::iequals(name, "Content-Length") || core::iequals(name, "Transfer-Encoding")) continue;
    host = host || core::iequals(name, "Host");
    accept = accept || core::iequals(name, "Accept");
    out.append(name);
    out += ": ";
    out.append(value);
    out += "\r\n";
  }
  if (!host) out += "Host: " + url.host_header + "\r\n";
  if (!accept) out += "Accept: */*\r\n";
  const bool with_body = call.method != "GET" && call.method != "HEAD";
  if (with_body) out += "Content-Length: " + std::to_string(call.body.size()) + "\r\n";
  out += "\r\n";
  if (with_body) out += call.body;
  return out;
}

}  // namespace

struct Http1Lane::State {
  // One call from start to result.
  struct Exchange {
    uint64_t id = 0;
    HttpCall call;
    PlainUrl url;
    std::string key;
    std::string wire;
    Clock::time_point deadline;
    std::unique_ptr<Connection> conn;
    std::optional<http::response_parser<HeadBody>> parser;
    bool retried = false;
    bool finished = false;  // its result is given (a resolve may still answer after a timeout)
    uint64_t epoch = 0;
  };
  using ExchangePtr = std::shared_ptr<Exchange>;

  State(uint32_t max_connections, int64_t request_timeout_ms, Sink sink)
      : max_connections(std::max<uint32_t>(max_connections, 1)),
        request_timeout_ms(request_timeout_ms),
        sink(std::move(sink)),
        guard(asio::make_work_guard(ioc)),
        resolver(ioc) {}

  const uint32_t max_connections;
  const int64_t request_timeout_ms;
  Sink sink;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  tcp::resolver resolver;

  // Owned by the lane's thread.
  uint64_t epoch = 0;  // abandon_all() calls: exchanges of an earlier epoch end silently
  uint32_t open = 0;   // connections open or opening
  size_t idle_count = 0;
  bool serving = false;  // in serve_waiting()
  std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle;
  std::unordered_map<uint64_t, ExchangePtr> active;
  std::deque<ExchangePtr> waiting;  // for a connection, at the cap
  // Resolved names by host:port, kept 60 s as curl keeps them: a host
  // name is not looked up again for every new connection.
  struct Resolved {
    std::vector<tcp::endpoint> endpoints;
    Clock::time_point until;
  };
  std::unordered_map<std::string, Resolved> resolved;
  std::vector<HttpResult> ended;  // given to the sink once the ready handlers ran

  std::thread thread;

  void start(uint64_t id, HttpCall&& call) {
    auto ex = std::make_shared<Exchange>();
    ex->id = id;
    ex->url = *parse_plain_url(call.url);  // the transport sends only URLs that parse
    ex->key = ex->url.host + ":" + std::to_string(ex->url.port);
    ex->wire = wire_request(call, ex->url);
    ex->call = std::move(call);
    const int64_t timeout = ex->call.timeout_ms > 0 ? ex->call.timeout_ms : request_timeout_ms;
    ex->deadline = Clock::now() + std::chrono::milliseconds(timeout);
    ex->epoch = epoch;
    active.emplace(id, ex);
    assign(ex);
  }

  // A kept-alive connection to the exchange's host, a new one, or a place
  // in line.
  void assign(const ExchangePtr& ex) {
    if (auto it = idle.find(ex->key); it != idle.end() && !it->second.empty()) {
      ex->conn = std::move(it->second.back());
      it->second.pop_back();
      --idle_count;
      send(ex);
      return;
    }
    if (open >= max_connections) {
      for (auto& [key, conns] : idle)  // make room: close a connection idle to another host
        if (!conns.empty()) {
          conns.pop_back();
          --idle_count;
          --open;
          break;
        }
    }
    if (open >= max_connections) {
      waiting.push_back(ex);
      return;
    }
    ++open;
    connect(ex);
  }

  void connect(const ExchangePtr& ex) {
    ex->conn = std::make_unique<Connection>(ioc);
    ex->conn->key = ex->key;
    ex->conn->stream.expires_at(ex->deadline);
    beast::error_code ec;
    const auto address = asio::ip::make_address(ex->url.host, ec);
    if (!ec) {
      ex->conn->stream.async_connect(tcp::endpoint(address, ex->url.port),
                                     [this, ex](beast::error_code ec) { connected(ex, ec); });
      return;
    }
    if (auto it = resolved.find(ex->key); it != resolved.end() && Clock::now() < it->second.until) {
      connect_to(ex, it->second.endpoints);
      return;
    }
    // A lookup has no deadline of its own: the call's timeout ends the
    // exchange, and the late answer is dropped.
    auto timer = std::make_shared<asio::steady_timer>(ioc, ex->deadline);
    timer->async_wait([this, ex](beast::error_code ec) {
      if (ec || ex->epoch != epoch || ex->finished) return;
      --open;
      ex->conn.reset();
      timed_out(ex);
    });
    resolver.async_resolve(ex->url.host, std::to_string(ex->url.port),
                           [this, ex, timer](beast::error_code ec, const tcp::resolver::results_type& results) {
                             timer->cancel();
                             if (ex->epoch != epoch || ex->finished) return;
                             if (ec || results.empty()) {
                               --open;
                               fail(ex, TransportFailure::kUnresolvedHost, "Could not resolve host: " + ex->url.host);
                               return;
                             }
                             Resolved& r = resolved[ex->key];
                             r.endpoints.assign(results.begin(), results.end());
                             r.until = Clock::now() + std::chrono::seconds(60);
                             connect_to(ex, r.endpoints);
                           });
  }

  void connect_to(const ExchangePtr& ex, const std::vector<tcp::endpoint>& endpoints) {
    ex->conn->stream.async_connect(endpoints,
                                   [this, ex](beast::error_code ec, const tcp::endpoint&) { connected(ex, ec); });
  }

  void connected(const ExchangePtr& ex, beast::error_code ec) {
    if (ex->epoch != epoch) return;
    if (ec) {
      --open;
      if (ec == beast::error::timeout) {
        timed_out(ex);
        return;
      }
      fail(ex, TransportFailure::kConnection,
           "Failed to connect to " + ex->url.host + " port " + std::to_string(ex->url.port) + ": " + ec.message());
      return;
    }
    send(ex);
  }

  void send(const ExchangePtr& ex) {
    ex->conn->stream.expires_at(ex->deadline);
    asio::async_write(ex->conn->stream, asio::buffer(ex->wire), [this, ex](beast::error_code ec, size_t) {
      if (ex->epoch != epoch) return;
      if (ec) {
        broken(ex, ec, "Send failure: ");
        return;
      }
      read(ex);
    });
  }

  void read(const ExchangePtr& ex) {
    ex->parser.emplace();
    ex->parser->body_limit(boost::none);
    ex->parser->header_limit(64 * 1024);
    ex->parser->get().body().keep = ex->call.keep_response_bytes;
    if (ex->call.method == "HEAD") ex->parser->skip(true);
    http::async_read(ex->conn->stream, ex->conn->buffer, *ex->parser, [this, ex](beast::error_code ec, size_t) {
      if (ex->epoch != epoch) return;
      if (ec) {
        broken(ex, ec, "Recv failure: ");
        return;
      }
      const unsigned status = ex->parser->get().result_int();
      if (status >= 100 && status < 200 && status != 101) {  // an interim answer: the real one follows
        read(ex);
        return;
      }
      answered(ex);
    });
  }

  // The connection failed under a request: once more on a new connection
  // when a kept-alive one was closed before answering anything.
  void broken(const ExchangePtr& ex, beast::error_code ec, const char* what) {
    const bool nothing_back = !ex->parser || !ex->parser->got_some();
    const bool stale = ex->conn->reused && nothing_back && !ex->retried && ec != beast::error::timeout;
    ex->conn.reset();
    --open;
    if (ec == beast::error::timeout) {
      timed_out(ex);
      return;
    }
    if (stale) {
      ex->retried = true;
      ex->parser.reset();
      assign(ex);
      return;
    }
    fail(ex, TransportFailure::kConnection, what + ec.message());
  }

  void answered(const ExchangePtr& ex) {
    auto& response = ex->parser->get();
    HttpResult r;
    r.id = ex->id;
    r.status = static_cast<long>(response.result_int());
    if (auto it = response.find(http::field::retry_after); it != response.end())
      r.retry_after = std::string(it->value());
    r.response_head = std::move(response.body().head);
    if (ex->parser->keep_alive()) {
      ex->conn->reused = true;
      idle[ex->key].push_back(std::move(ex->conn));
      ++idle_count;
    } else {
      ex->conn.reset();
      --open;
    }
    finish(ex, std::move(r));
  }

  void timed_out(const ExchangePtr& ex) {
    const int64_t timeout = ex->call.timeout_ms > 0 ? ex->call.timeout_ms : request_timeout_ms;
    fail(ex, TransportFailure::kTimeout, "Operation timed out after " + std::to_string(timeout) + " milliseconds");
  }

  void fail(const ExchangePtr& ex, TransportFailure failure, std::string error) {
    HttpResult r;
    r.id = ex->id;
    r.failure = failure;
    r.error = std::move(error);
    finish(ex, std::move(r));
  }

  void finish(const ExchangePtr& ex, HttpResult&& r) {
    ex->finished = true;
    active.erase(ex->id);
    if (ended.empty()) asio::post(ioc, [this] { flush(); });
    ended.push_back(std::move(r));
    serve_waiting();
  }

  // Calls waiting for a connection take the room (or the kept-alive
  // connection) a finished one left, in their order.
  void serve_waiting() {
    if (serving) return;
    serving = true;
    for (size_t n = waiting.size(); n > 0 && !waiting.empty(); --n) {
      if (open >= max_connections && idle_count == 0) break;
      ExchangePtr ex = std::move(waiting.front());
      waiting.pop_front();
      if (Clock::now() >= ex->deadline)
        timed_out(ex);
      else
        assign(ex);  // back in line if there is still no room for it
    }
    serving = false;
  }

  void flush() {
    if (ended.empty()) return;
    std::vector<HttpResult> batch;
    batch.swap(ended);
    sink(std::move(batch));
  }

  void drop_all() {
    ++epoch;
    beast::error_code ec;
    for (auto& [id, ex] : active)
      if (ex->conn) ex->conn->stream.socket().close(ec);
    active.clear();
    waiting.clear();
    idle.clear();
    idle_count = 0;
    ended.clear();
    resolver.cancel();
    open = 0;
  }
};

Http1Lane::Http1Lane(uint32_t max_connections, int64_t request_timeout_ms, Sink sink)
    : state_(std::make_unique<State>(max_connections, request_timeout_ms, std::move(sink))) {
  state_->thread = std::thread([s = state_.get()] { s->ioc.run(); });
}

Http1Lane::~Http1Lane() {
  abandon_all();
  state_->guard.reset();
  state_->ioc.stop();
  state_->thread.join();
}

void Http1Lane::post(std::vector<std::pair<uint64_t, HttpCall>>&& calls) {
  asio::post(state_->ioc, [s = state_.get(), calls = std::move(calls)]() mutable {
    for (auto& [id, call] : calls) s->start(id, std::move(call));
  });
}

void Http1Lane::abandon_all() {
  std::promise<void> done;
  asio::post(state_->ioc, [&] {
    state_->drop_all();
    done.set_value();
  });
  done.get_future().wait();
}

}  // namespace switchyard::destinations
