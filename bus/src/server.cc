#include "switchyard/bus/server.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

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
#include "switchyard/bus/auth.h"
#include "switchyard/bus/ingest.h"
#include "switchyard/bus/replay.h"
#include "switchyard/core/crypto.h"
#include "switchyard/core/json_limits.h"
#include "switchyard/core/log.h"
#include "switchyard/core/time.h"
#include "switchyard/core/uuid.h"
#include "switchyard/destinations/dispatcher.h"
#include "switchyard/rules/matcher.h"
#include "switchyard/storage/store.h"

namespace switchyard::bus {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kHeaderLimit = 16 * 1024;

bool parse_endpoint(const std::string& text, tcp::endpoint* out, std::string* error) {
  const auto colon = text.rfind(':');
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) {
    *error = "'" + text + "' is not an IP address and port";
    return false;
  }
  *out = tcp::endpoint(addr, static_cast<unsigned short>(std::stoul(text.substr(colon + 1))));
  return true;
}

std::string format_endpoint(const tcp::endpoint& ep) {
  const auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

// Awaits Store::append, resuming on the caller's executor.
template <class Token>
auto async_append(storage::Store& store, std::shared_ptr<const storage::IngestBatch> batch, Token&& token) {
  return asio::async_initiate<Token, void(core::Status)>(
      [&store](auto handler, std::shared_ptr<const storage::IngestBatch> b) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto ex = asio::get_associated_executor(*shared);
        store.append(std::move(b), [shared, ex](core::Status st) {
          asio::post(ex, [shared, st = std::move(st)]() mutable { (*shared)(std::move(st)); });
        });
      },
      token, std::move(batch));
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
  }

  ~Impl() { stop(); }

  void set_routing(std::shared_ptr<const Routing> routing) {
    std::lock_guard<std::mutex> lock(mu_);
    routing_ = std::move(routing);
  }

  void set_reload_handler(ReloadHandler handler) {
    std::lock_guard<std::mutex> lock(mu_);
    reload_ = std::move(handler);
  }

  void set_replayer(Replayer* replayer) {
    std::lock_guard<std::mutex> lock(mu_);
    replayer_ = replayer;
  }

  std::shared_ptr<const Routing> routing() const {
    std::lock_guard<std::mutex> lock(mu_);
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
    work_.stop();
    work_.join();
  }

  std::string ingest_address() const { return ingest_address_; }
  std::string admin_address() const { return admin_address_; }

 private:
  core::Status bind(tcp::acceptor& acceptor, const std::string& address) {
    tcp::endpoint ep;
    std::string error;
    if (!parse_endpoint(address, &ep, &error)) return core::Status::invalid_argument(error);
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
    const auto kReadTimeout = std::chrono::seconds(options_.read_timeout_seconds);
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(options_.max_body_bytes);
      parser.header_limit(kHeaderLimit);
      stream.expires_after(kReadTimeout);
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
        stream.expires_after(kReadTimeout);
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
        stream.expires_after(kReadTimeout);
        co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
        http_requests_.Add({{"listener", admin ? "admin" : "ingest"}, {"code", std::to_string(bad->status)}})
            .Increment();
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
          co_await cpu_work([&] { res = admin_api_.handle(req); });
        } else if (admin) {
          res = admin_api_.handle(req);
        } else {
          res = co_await handle_ingest(req);
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
      stream.expires_after(kReadTimeout);
      auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
      http_requests_.Add({{"listener", admin ? "admin" : "ingest"}, {"code", std::to_string(res.result_int())}})
          .Increment();
      (admin ? admin_seconds_ : ingest_seconds_)
          ->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      if (wec || !keep_alive) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<Response> handle_ingest(const Request& req) {
    const auto parts = segments(req.target());
    if (parts.empty() && req.method() == http::verb::post) co_return co_await handle_aws(req);
    if (parts.empty() || parts[0] == "healthz" || parts[0] == "readyz") {
      if (req.method() != http::verb::get && req.method() != http::verb::head)
        co_return error_response(req, http::status::method_not_allowed, "MethodNotAllowed", "Use GET.");
      if (!parts.empty() && parts[0] == "readyz" && !routing())
        co_return error_response(req, http::status::service_unavailable, "NotReady", "No configuration loaded.");
      if (parts.empty()) co_return error_response(req, http::status::not_found, "NotFound", "No route for GET /.");
      co_return json_response(req, http::status::ok,
                              parts[0] == "healthz" ? R"({"status":"ok"})" : R"({"status":"ready"})");
    }
    const bool events_route = parts.size() == 3 && parts[0] == "buses" && parts[2] == "events";
    const bool webhook_route = parts.size() == 2 && parts[0] == "webhooks";
    if (!events_route && !webhook_route) co_return no_route(req);
    if (req.method() != http::verb::post)
      co_return error_response(req, http::status::method_not_allowed, "MethodNotAllowed", "Use POST.");

    const auto routing_snapshot = routing();
    if (!routing_snapshot)
      co_return error_response(req, http::status::service_unavailable, "NotReady", "No configuration loaded.");
    const int64_t now = core::now_ms();
    ParsedRequest parsed;
    if (events_route) {
      auto it = routing_snapshot->buses.find(std::string(parts[1]));
      if (it == routing_snapshot->buses.end())
        co_return error_response(req, http::status::not_found, "ResourceNotFoundException",
                                 "Event bus " + std::string(parts[1]) + " does not exist.");
      if (!it->second.bus.ingest_tokens.empty() &&
          !bearer_allowed(req[http::field::authorization], it->second.bus.ingest_tokens))
        co_return unauthorized(req, "A valid bearer token for bus " + it->second.bus.name + " is required.");
      parsed = parse_bus_events(req.body(), it->second.bus, now, options_.max_put_events_bytes);
    } else {
      auto it = routing_snapshot->webhooks.find(std::string(parts[1]));
      if (it == routing_snapshot->webhooks.end())
        co_return error_response(req, http::status::not_found, "ResourceNotFoundException",
                                 "Webhook " + std::string(parts[1]) + " does not exist.");
      const auto& hook = it->second;
      const auto& hook_bus = routing_snapshot->buses.at(hook.bus).bus;
      if (!hook_bus.ingest_tokens.empty() && !bearer_allowed(req[http::field::authorization], hook_bus.ingest_tokens))
        co_return unauthorized(req, "A valid bearer token for bus " + hook_bus.name + " is required.");
      if (hook.verified) {
        const std::string why = verify_webhook(
            hook.verify, [&req](std::string_view name) { return req[name]; }, req.body(), now / 1000);
        if (!why.empty()) {
          core::log::warn("webhook signature refused", {{"webhook", hook.name}, {"reason", why}});
          co_return unauthorized(req, "Signature verification failed: " + why + ".");
        }
      }
      std::string_view header;
      if (!hook.detail_type_header.empty()) header = req[hook.detail_type_header];
      parsed = parse_webhook(req.body(), hook, routing_snapshot->buses.at(hook.bus).bus, header, now,
                             options_.max_put_events_bytes);
    }
    if (parsed.error.http_status != 0)
      co_return error_response(req, static_cast<http::status>(parsed.error.http_status), parsed.error.code,
                               parsed.error.message);
    if (std::string why = co_await commit(*routing_snapshot, parsed, req["x-request-id"]); !why.empty())
      co_return error_response(req, http::status::service_unavailable, "ServiceUnavailable",
                               "The events could not be stored (" + why + "); nothing was accepted. Retry later.");
    co_return json_response(req, http::status::ok, put_events_response(parsed.results));
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

  // CPU work of a request (matching, rendering, TestEventPattern). /healthz
  // and /metrics must be answered whatever events cost, so at most
  // `threads` requests do such work on the I/O threads at once, and there is
  // one I/O thread more than that: one is always free to read and answer.
  // Beyond that the work runs on the work pool, and the request resumes on
  // its connection's strand. Inline is the common case: handing every
  // request to another thread and back cost a quarter of single-event
  // ingest throughput.
  template <class F>
  asio::awaitable<void> cpu_work(F&& f) {
    if (inline_cpu_.fetch_add(1) < std::max(1, options_.threads)) {
      struct Leave {
        std::atomic<int>& n;
        ~Leave() { --n; }
      } leave{inline_cpu_};
      f();
      co_return;
    }
    --inline_cpu_;
    const auto home = co_await asio::this_coro::executor;
    co_await asio::post(asio::bind_executor(work_, asio::use_awaitable));
    std::exception_ptr failed;
    try {
      f();
    } catch (...) {
      failed = std::current_exception();
    }
    co_await asio::post(home, asio::use_awaitable);
    if (failed) std::rethrow_exception(failed);
  }

  // Matches and renders the accepted events, stores them with their
  // deliveries in one write, then hands the deliveries to the dispatcher.
  // Returns "" on success, else why nothing was stored.
  asio::awaitable<std::string> commit(const Routing& routing, ParsedRequest& parsed, std::string_view request) {
    if (parsed.events.empty()) co_return "";
    auto batch = std::make_shared<storage::IngestBatch>();
    co_await cpu_work([&] {  // matching and rendering
      for (size_t i = 0; i < parsed.events.size(); ++i) {
        const core::Event& e = parsed.events[i];
        const BusRoute& bus = routing.buses.at(e.bus);
        const std::string envelope = core::envelope_json(e);
        route_event(bus, e, envelope, batch->tasks);
        for (auto& archive : archives_for(bus, envelope)) batch->archived.emplace_back(std::move(archive), i);
      }
    });
    for (auto& t : batch->tasks) t.request_id = request;
    batch->events = std::move(parsed.events);
    const core::Status st = co_await async_append(store_, batch, asio::use_awaitable);
    if (!st) co_return st.message();
    for (const auto& e : batch->events) routing.buses.at(e.bus).ingested->Increment();
    if (core::log::enabled(core::log::Level::debug)) {
      std::string ids;
      for (const auto& e : batch->events) ids += (ids.empty() ? "" : ",") + e.id;
      core::log::debug("events stored", {{"request_id", std::string(request)},
                                         {"event_ids", ids},
                                         {"deliveries", std::to_string(batch->tasks.size())}});
    }
    dispatcher_.submit(std::move(batch->tasks));
    co_return "";
  }

  // Who may put each entry of a PutEvents request: a bus with access_keys
  // takes entries signed (SigV4) with one of its keys, a bus with
  // ingest_tokens entries whose request carries one of its bearer tokens
  // (either, when it has both), any other bus any entry. Entries refused
  // fail alone with AccessDeniedException; when every entry is for a
  // keyed bus and none is allowed, the signature's own error refuses the
  // request, as AWS does. Returns the request-level error body, if any.
  static std::optional<std::string> check_signature(const Request& req, const Routing& routing, ParsedRequest& parsed,
                                                    int64_t now_s) {
    auto guarded = [&](const core::Event& e) {
      const auto& bus = routing.buses.at(e.bus).bus;
      return !bus.access_keys.empty() || !bus.ingest_tokens.empty();
    };
    if (std::none_of(parsed.events.begin(), parsed.events.end(), guarded)) return std::nullopt;
    std::vector<AccessKey> keys;
    for (const auto& [_, b] : routing.buses)
      keys.insert(keys.end(), b.bus.access_keys.begin(), b.bus.access_keys.end());
    const std::string_view target = req.target();
    const auto q = target.find('?');
    const SigV4Result sig =
        keys.empty()
            ? SigV4Result{}
            : verify_sigv4(
                  req.method_string(), target.substr(0, q), q == std::string_view::npos ? "" : target.substr(q + 1),
                  [&req](std::string_view name) { return req[name]; }, req.body(), keys, now_s);
    const std::string_view authorization = req[http::field::authorization];
    auto allowed_on = [&](const config::BusConfig& bus) {
      if (bus.access_keys.empty() && bus.ingest_tokens.empty()) return true;
      if (sig.kind == SigV4Result::Kind::kValid &&
          std::any_of(bus.access_keys.begin(), bus.access_keys.end(),
                      [&](const AccessKey& k) { return k.id == sig.access_key_id; }))
        return true;
      return !bus.ingest_tokens.empty() && bearer_allowed(authorization, bus.ingest_tokens);
    };
    if (sig.kind == SigV4Result::Kind::kInvalid &&
        std::all_of(parsed.events.begin(), parsed.events.end(), [&](const core::Event& e) {
          const auto& bus = routing.buses.at(e.bus).bus;
          return !bus.access_keys.empty() && !allowed_on(bus);
        }))
      return aws_error_body(sig.error_type, sig.message);
    std::vector<core::Event> allowed;
    size_t next = 0;
    for (auto& r : parsed.results) {
      if (!r.ok()) continue;
      core::Event& e = parsed.events[next++];
      if (allowed_on(routing.buses.at(e.bus).bus)) {
        allowed.push_back(std::move(e));
      } else {
        r = {"", "AccessDeniedException", "User is not authorized to put events on event bus " + e.bus + "."};
      }
    }
    parsed.events = std::move(allowed);
    return std::nullopt;
  }

  // POST / : the EventBridge API (AWS JSON 1.1), selected by X-Amz-Target.
  asio::awaitable<Response> handle_aws(const Request& req) {
    const std::string_view target = req["X-Amz-Target"];
    const auto routing_snapshot = routing();
    if (!routing_snapshot)
      co_return aws_response(req, http::status::service_unavailable,
                             aws_error_body("ServiceUnavailableException", "No configuration loaded."));
    if (target == "AWSEvents.PutEvents") {
      const Routing* r = routing_snapshot.get();
      BusLookup lookup = [](const void* ctx, std::string_view name) -> const config::BusConfig* {
        const auto* routing = static_cast<const Routing*>(ctx);
        auto it = routing->buses.find(std::string(name));
        return it == routing->buses.end() ? nullptr : &it->second.bus;
      };
      const int64_t now = core::now_ms();
      ParsedRequest parsed = parse_put_events(req.body(), lookup, r, now, options_.max_put_events_bytes);
      if (parsed.error.http_status == 0) {
        if (auto denied = check_signature(req, *r, parsed, now / 1000))
          co_return aws_response(req, http::status::forbidden, *denied);
      }
      if (parsed.error.http_status != 0)
        co_return aws_response(req, static_cast<http::status>(parsed.error.http_status),
                               aws_error_body(parsed.error.code, parsed.error.message));
      if (std::string why = co_await commit(*r, parsed, req["x-request-id"]); !why.empty())
        co_return aws_response(
            req, http::status::service_unavailable,
            aws_error_body("ServiceUnavailableException",
                           "The events could not be stored (" + why + "); nothing was accepted. Retry later."));
      co_return aws_response(req, http::status::ok, put_events_response(parsed.results));
    }
    if (target == "AWSEvents.TestEventPattern") {
      const auto body = nlohmann::json::parse(req.body(), nullptr, false);
      if (!body.is_object() || !body.value("EventPattern", nlohmann::json()).is_string() ||
          !body.value("Event", nlohmann::json()).is_string())
        co_return aws_response(req, http::status::bad_request,
                               aws_error_body("ValidationException", "EventPattern and Event are required strings."));
      std::string error;
      int result = 0;
      co_await cpu_work([&] {
        result = rules::test_event_pattern(body["EventPattern"].get<std::string>(), body["Event"].get<std::string>(),
                                           &error);
      });
      if (result == -1)
        co_return aws_response(req, http::status::bad_request, aws_error_body("InvalidEventPatternException", error));
      if (result == -2)
        co_return aws_response(req, http::status::bad_request,
                               aws_error_body("ValidationException", "Parameter Event is not valid."));
      co_return aws_response(req, http::status::ok, result ? R"({"Result":true})" : R"({"Result":false})");
    }
    co_return aws_response(req, http::status::bad_request,
                           aws_error_body("UnknownOperationException",
                                          target.empty() ? "The X-Amz-Target header is missing."
                                                         : "Operation " + std::string(target) + " is not supported."));
  }

  ServerOptions options_;
  storage::Store& store_;
  destinations::Dispatcher& dispatcher_;
  std::shared_ptr<prometheus::Registry> registry_;

  asio::io_context ioc_;
  // Matching, rendering and TestEventPattern beyond what cpu_work lets run
  // on ioc_'s threads, which must always answer /healthz and /metrics.
  asio::thread_pool work_{static_cast<size_t>(std::max(1, options_.threads))};
  std::atomic<int> inline_cpu_{0};  // requests doing CPU work on an I/O thread now
  tcp::acceptor ingest_acceptor_;
  tcp::acceptor admin_acceptor_;
  std::string ingest_address_, admin_address_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> ingest_connections_{0}, admin_connections_{0};
  std::atomic<int> busy_{0};  // requests read and not yet answered
  std::atomic<bool> draining_{false};

  prometheus::Family<prometheus::Counter>& http_requests_;
  prometheus::Family<prometheus::Histogram>& http_seconds_;
  prometheus::Family<prometheus::Gauge>& http_connections_;
  prometheus::Gauge& ingest_open_;
  prometheus::Gauge& admin_open_;
  prometheus::Counter& accept_errors_;
  prometheus::Histogram* ingest_seconds_ = nullptr;
  prometheus::Histogram* admin_seconds_ = nullptr;

  mutable std::mutex mu_;
  std::shared_ptr<const Routing> routing_;  // GUARDED_BY(mu_)
  ReloadHandler reload_;                    // GUARDED_BY(mu_)
  Replayer* replayer_ = nullptr;            // GUARDED_BY(mu_)

  AdminApi admin_api_{AdminApiDeps{options_.admin_token, store_, dispatcher_, *registry_, [this] { return routing(); },
                                   [this] {
                                     std::lock_guard<std::mutex> lock(mu_);
                                     return reload_;
                                   },
                                   [this] {
                                     std::lock_guard<std::mutex> lock(mu_);
                                     return replayer_;
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
void Server::stop(int64_t drain_ms) { impl_->stop(drain_ms); }
std::string Server::ingest_address() const { return impl_->ingest_address(); }
std::string Server::admin_address() const { return impl_->admin_address(); }

}  // namespace switchyard::bus
