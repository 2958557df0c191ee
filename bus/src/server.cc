#include "switchyard/bus/server.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast.hpp>
#include <charconv>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "admin_api.h"
#include "fd_limit.h"
#include "http_framing.h"
#include "http_message.h"
#include "ingest_api.h"
#include "switchyard/bus/auth.h"
#include "switchyard/bus/ingest.h"
#include "switchyard/bus/replay.h"
#include "switchyard/bus/subscribers.h"
#include "switchyard/core/crypto.h"
#include "switchyard/core/json_limits.h"
#include "switchyard/core/log.h"
#include "switchyard/core/mutex.h"
#include "switchyard/core/time.h"
#include "switchyard/core/uuid.h"
#include "switchyard/destinations/dispatcher.h"
#include "switchyard/rules/matcher.h"
#include "switchyard/storage/store.h"

namespace switchyard::bus {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;  // NOLINT(readability-identifier-naming): asio's own name

namespace {

constexpr size_t kHeaderLimit = 16 * 1024;

// HOST:PORT as the config validated it; "localhost" is 127.0.0.1.
core::Result<tcp::endpoint> parse_endpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  unsigned long port = 0;
  try {
    port = std::stoul(text.substr(colon + 1));
  } catch (const std::exception&) {
    ec = asio::error::invalid_argument;
  }
  if (ec || colon == std::string::npos || port > 65535)
    return core::Status::invalid_argument("'" + text + "' is not an IP address and port");
  return tcp::endpoint(addr, static_cast<unsigned short>(port));
}

std::string format_endpoint(const tcp::endpoint& ep) {
  const auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions options, storage::Store& store, destinations::Dispatcher& dispatcher,
       std::shared_ptr<prometheus::Registry> registry)
      : options_(std::move(options)),
        store_(store),
        dispatcher_(dispatcher),
        registry_(std::move(registry)),
        ingest_acceptor_(ioc_),
        admin_acceptor_(ioc_),
        http_requests_(prometheus::BuildCounter()
                           .Name("switchyard_http_requests_total")
                           .Help("HTTP requests answered, by listener (ingest, admin) and status code")
                           .Register(*registry_)),
        http_seconds_(prometheus::BuildHistogram()
                          .Name("switchyard_http_request_seconds")
                          .Help("Time from a request read to its answer written, by listener")
                          .Register(*registry_)),
        http_connections_(prometheus::BuildGauge()
                              .Name("switchyard_http_connections")
                              .Help("Open HTTP connections, by listener")
                              .Register(*registry_)),
        ingest_open_(http_connections_.Add({{"listener", "ingest"}})),
        admin_open_(http_connections_.Add({{"listener", "admin"}})),
        accept_errors_(prometheus::BuildCounter()
                           .Name("switchyard_http_accept_errors_total")
                           .Help("Connections that could not be accepted (no file descriptor), retried with backoff")
                           .Register(*registry_)
                           .Add({})) {
    const prometheus::Histogram::BucketBoundaries buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                          0.05,   0.1,   0.25,   0.5,   1,    2.5};
    ingest_seconds_ = &http_seconds_.Add({{"listener", "ingest"}}, buckets);
    admin_seconds_ = &http_seconds_.Add({{"listener", "admin"}}, buckets);
    pipeline_.set_on_logged([this] {
      core::MutexLock lock(mu_);
      if (subscribers_) subscribers_->notify();
    });
  }

  ~Impl() { stop(); }

  void set_routing(std::shared_ptr<const Routing> routing) {
    core::MutexLock lock(mu_);
    routing_ = std::move(routing);
  }

  void set_reload_handler(ReloadHandler handler) {
    core::MutexLock lock(mu_);
    reload_ = std::move(handler);
  }

  void set_replayer(Replayer* replayer) {
    core::MutexLock lock(mu_);
    replayer_ = replayer;
  }

  void set_subscribers(Subscribers* subscribers) {
    core::MutexLock lock(mu_);
    subscribers_ = subscribers;
  }

  void set_cluster_view(ClusterView view) {
    core::MutexLock lock(mu_);
    cluster_view_ = std::move(view);
  }

  std::shared_ptr<const Routing> routing() const {
    core::MutexLock lock(mu_);
    return routing_;
  }

  core::Status start() {
    std::string error;
    const size_t file_limit = raise_open_file_limit();
    if (options_.max_connections == 0) options_.max_connections = default_max_connections(file_limit);
    if (options_.max_connections * 2 + 256 > file_limit)
      core::log::warn("server.max_connections leaves too few file descriptors",
                      {{"max_connections", std::to_string(options_.max_connections)},
                       {"open_file_limit", std::to_string(file_limit)}});
    core::log::info("connection limits", {{"max_connections", std::to_string(options_.max_connections)},
                                          {"open_file_limit", std::to_string(file_limit)}});
    if (auto st = bind(ingest_acceptor_, options_.listen); !st) return st;
    if (auto st = bind(admin_acceptor_, options_.admin_listen); !st) return st;
    asio::co_spawn(ioc_, accept_loop(ingest_acceptor_, false), asio::detached);
    asio::co_spawn(ioc_, accept_loop(admin_acceptor_, true), asio::detached);
    // One I/O thread more than may do CPU work at once (cpu_work).
    for (int i = 0; i < std::max(1, options_.threads) + 1; ++i) threads_.emplace_back([this] { ioc_.run(); });
    return core::Status::ok();
  }

  void stop(int64_t drain_ms = 10000) {
    if (threads_.empty()) return;
    draining_ = true;  // answers from now on close their connection
    asio::post(ioc_, [this] {
      boost::system::error_code ec;
      ingest_acceptor_.close(ec);
      admin_acceptor_.close(ec);
    });
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(drain_ms);
    while (busy_.load() > 0 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (busy_.load() > 0)
      core::log::warn("shutdown: requests still running after the drain time are cut off",
                      {{"requests", std::to_string(busy_.load())}});
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    cpu_.stop();
  }

  std::string ingest_address() const { return ingest_address_; }
  std::string admin_address() const { return admin_address_; }

 private:
  core::Status bind(tcp::acceptor& acceptor, const std::string& address) {
    const auto parsed = parse_endpoint(address);
    if (!parsed) return parsed.status();
    const tcp::endpoint ep = *parsed;
    boost::system::error_code ec;
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return core::Status::unavailable("cannot listen on " + address + ": " + ec.message());
    (&acceptor == &ingest_acceptor_ ? ingest_address_ : admin_address_) = format_endpoint(acceptor.local_endpoint());
    return core::Status::ok();
  }

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, bool admin) {
    auto& open = admin ? admin_connections_ : ingest_connections_;
    // An accept that fails (EMFILE, ENFILE, ENOBUFS: no descriptor for the
    // connection) leaves it queued; trying again at once would spin a core.
    // Wait, doubling from 5 ms to 1 s, and say so at most once a minute.
    auto backoff = std::chrono::milliseconds(5);
    std::chrono::steady_clock::time_point last_warning{};
    asio::steady_timer pause(acceptor.get_executor());
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc_), asio::as_tuple(asio::use_awaitable));
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {
        accept_errors_.Increment();
        const auto now = std::chrono::steady_clock::now();
        if (now - last_warning > std::chrono::minutes(1)) {
          last_warning = now;
          core::log::warn("cannot accept connections; retrying with backoff",
                          {{"listener", admin ? "admin" : "ingest"},
                           {"error", ec.message()},
                           {"open_connections", std::to_string(open.load())}});
        }
        pause.expires_after(backoff);
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
        backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
        continue;
      }
      backoff = std::chrono::milliseconds(5);
      auto ex = socket.get_executor();
      if (open.load() >= options_.max_connections) {
        asio::co_spawn(ex, refuse(std::move(socket)), asio::detached);
        continue;
      }
      asio::co_spawn(ex, session(std::move(socket), admin), asio::detached);
    }
  }

  // Over the connection cap: a short 503 and close, without reading.
  static asio::awaitable<void> refuse(tcp::socket socket) {
    static const std::string kBusy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
        "Retry-After: 1\r\nContent-Length: 81\r\n\r\n"
        "{\"code\":\"TooManyConnections\",\"message\":\"Too many open connections; retry later.\"}";
    co_await asio::async_write(socket, asio::buffer(kBusy), asio::as_tuple(asio::use_awaitable));
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
  }

  asio::awaitable<void> session(tcp::socket socket, bool admin) {
    auto& open = admin ? admin_connections_ : ingest_connections_;
    ++open;
    prometheus::Gauge& open_gauge = admin ? admin_open_ : ingest_open_;
    open_gauge.Increment();
    struct Release {
      std::atomic<size_t>& n;
      prometheus::Gauge& g;
      ~Release() {
        --n;
        g.Decrement();
      }
    } release{open, open_gauge};
    const auto read_timeout = std::chrono::seconds(options_.read_timeout_seconds);
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(options_.max_body_bytes);
      parser.header_limit(kHeaderLimit);
      stream.expires_after(read_timeout);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
      if (ec == http::error::body_limit || ec == http::error::header_limit) {
        Request req = parser.get();
        Response res = ec == http::error::body_limit
                           ? error_response(req, http::status::payload_too_large, "PayloadTooLarge",
                                            "The request body is larger than " +
                                                std::to_string(options_.max_body_bytes) + " bytes.")
                           : error_response(req, http::status::request_header_fields_too_large, "HeadersTooLarge",
                                            "The request headers are too large.");
        res.keep_alive(false);
        stream.expires_after(read_timeout);
        co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
        break;
      }
      std::optional<FramingError> bad;
      if (ec)
        bad = framing_error(ec);
      else
        bad = unsupported_version(parser.get().version());
      if (bad) {
        // Not HTTP/1.1 as it should be: say so, then close (the rest of the
        // stream cannot be trusted to start a request).
        Request req;
        req.version(11);
        Response res = error_response(req, static_cast<http::status>(bad->status),
                                      bad->status == 505 ? "HttpVersionNotSupported" : "BadRequest", bad->message);
        res.keep_alive(false);
        stream.expires_after(read_timeout);
        co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
        requests_counter(admin, static_cast<unsigned>(bad->status)).Increment();
        break;
      }
      if (ec) break;
      // From here until the answer is written the request counts as busy:
      // a graceful stop waits for it.
      ++busy_;
      struct Busy {
        std::atomic<int>& n;
        ~Busy() { --n; }
      } busy{busy_};
      const auto started = std::chrono::steady_clock::now();
      Request req = parser.release();
      req.set("x-request-id", request_id(req["x-request-id"]));
      // Not a conditional expression: GCC 12 miscompiles co_await inside one.
      Response res;
      // No exception leaves a handler: whatever fails is a JSON answer.
      std::string failure;
      try {
        if (core::json_nesting_depth(req.body(), core::kMaxBodyDepth) > core::kMaxBodyDepth) {
          res = too_deep(req, admin);
        } else if (admin && is_test_event_pattern(req)) {
          co_await cpu_.run([&] { res = admin_api_.handle(req); });
        } else if (admin) {
          res = admin_api_.handle(req);
        } else {
          res = co_await ingest_api_.handle(req);
        }
      } catch (const std::exception& e) {
        failure = e.what();
      } catch (...) {
        failure = "unknown exception";
      }
      if (!failure.empty()) {
        core::log::error("request failed", {{"request_id", std::string(req["x-request-id"])},
                                            {"target", std::string(req.target())},
                                            {"error", failure}});
        res = error_response(req, http::status::internal_server_error, "InternalError",
                             "The request could not be handled; nothing was accepted by it.");
        res.keep_alive(false);
      }
      if (draining_) res.keep_alive(false);
      const bool keep_alive = res.keep_alive();
      stream.expires_after(read_timeout);
      auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
      requests_counter(admin, res.result_int()).Increment();
      (admin ? admin_seconds_ : ingest_seconds_)
          ->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      if (wec || !keep_alive) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  // The request counter of a listener and status code, looked up in the
  // family (a label map, a hash and a lock) once, then kept.
  prometheus::Counter& requests_counter(bool admin, unsigned code) {
    auto lookup = [&]() -> prometheus::Counter& {
      return http_requests_.Add({{"listener", admin ? "admin" : "ingest"}, {"code", std::to_string(code)}});
    };
    if (code >= kCodes) return lookup();
    std::atomic<prometheus::Counter*>& slot = request_counters_[admin ? 1 : 0][code];
    if (prometheus::Counter* c = slot.load(std::memory_order_acquire)) return *c;
    prometheus::Counter& c = lookup();
    slot.store(&c, std::memory_order_release);
    return c;
  }

  static bool is_test_event_pattern(const Request& req) {
    const auto parts = segments(req.target());
    return req.method() == http::verb::post && parts.size() == 2 && parts[0] == "admin" &&
           parts[1] == "test-event-pattern";
  }

  // Every route refuses a body nested deeper than EventBridge allows before
  // anything that recurses reads it.
  static Response too_deep(const Request& req, bool admin) {
    const std::string message =
        "The request body nests JSON deeper than " + std::to_string(core::kMaxBodyDepth) + " levels.";
    const auto parts = segments(req.target());
    if (!admin && parts.empty() && req.method() == http::verb::post)
      return aws_response(req, http::status::bad_request, aws_error_body("ValidationException", message));
    return error_response(req, http::status::bad_request, "ValidationException", message);
  }

  ServerOptions options_;
  storage::Store& store_;
  destinations::Dispatcher& dispatcher_;
  std::shared_ptr<prometheus::Registry> registry_;

  asio::io_context ioc_;
  // Matching, rendering and TestEventPattern: ioc_'s threads must always
  // answer /healthz and /metrics.
  CpuWork cpu_{options_.threads};
  tcp::acceptor ingest_acceptor_;
  tcp::acceptor admin_acceptor_;
  std::string ingest_address_, admin_address_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> ingest_connections_{0}, admin_connections_{0};
  std::atomic<int> busy_{0};  // requests read and not yet answered
  std::atomic<bool> draining_{false};

  prometheus::Family<prometheus::Counter>& http_requests_;
  static constexpr unsigned kCodes = 600;
  std::array<std::array<std::atomic<prometheus::Counter*>, kCodes>, 2> request_counters_{};
  prometheus::Family<prometheus::Histogram>& http_seconds_;
  prometheus::Family<prometheus::Gauge>& http_connections_;
  prometheus::Gauge& ingest_open_;
  prometheus::Gauge& admin_open_;
  prometheus::Counter& accept_errors_;
  prometheus::Histogram* ingest_seconds_ = nullptr;
  prometheus::Histogram* admin_seconds_ = nullptr;

  mutable core::Mutex mu_;
  std::shared_ptr<const Routing> routing_ SY_GUARDED_BY(mu_);
  ReloadHandler reload_ SY_GUARDED_BY(mu_);
  Replayer* replayer_ SY_GUARDED_BY(mu_) = nullptr;
  Subscribers* subscribers_ SY_GUARDED_BY(mu_) = nullptr;
  ClusterView cluster_view_ SY_GUARDED_BY(mu_);

  Pipeline pipeline_{store_, dispatcher_};
  DedupGate dedup_{store_, *registry_};
  IngestApi ingest_api_{IngestApiDeps{.options = {.max_put_events_bytes = options_.max_put_events_bytes},
                                      .routing = [this] { return routing(); },
                                      .pipeline = pipeline_,
                                      .cpu = cpu_,
                                      .dedup = dedup_}};
  AdminApi admin_api_{AdminApiDeps{.admin_token = options_.admin_token,
                                   .store = store_,
                                   .dispatcher = dispatcher_,
                                   .registry = *registry_,
                                   .routing = [this] { return routing(); },
                                   .reload =
                                       [this] {
                                         core::MutexLock lock(mu_);
                                         return reload_;
                                       },
                                   .replayer =
                                       [this] {
                                         core::MutexLock lock(mu_);
                                         return replayer_;
                                       },
                                   .subscribers =
                                       [this] {
                                         core::MutexLock lock(mu_);
                                         return subscribers_;
                                       },
                                   .cluster =
                                       [this] {
                                         core::MutexLock lock(mu_);
                                         return cluster_view_;
                                       }}};
};

Server::Server(ServerOptions options, storage::Store& store, destinations::Dispatcher& dispatcher,
               std::shared_ptr<prometheus::Registry> registry)
    : impl_(std::make_unique<Impl>(std::move(options), store, dispatcher, std::move(registry))) {}
Server::~Server() = default;
void Server::set_routing(std::shared_ptr<const Routing> routing) { impl_->set_routing(std::move(routing)); }
core::Status Server::start() { return impl_->start(); }
void Server::set_reload_handler(ReloadHandler handler) { impl_->set_reload_handler(std::move(handler)); }
void Server::set_replayer(Replayer* replayer) { impl_->set_replayer(replayer); }
void Server::set_subscribers(Subscribers* subscribers) { impl_->set_subscribers(subscribers); }
void Server::set_cluster_view(ClusterView view) { impl_->set_cluster_view(std::move(view)); }
void Server::stop(int64_t drain_ms) { impl_->stop(drain_ms); }
std::string Server::ingest_address() const { return impl_->ingest_address(); }
std::string Server::admin_address() const { return impl_->admin_address(); }

}  // namespace switchyard::bus
