#pragma once

// A real HTTP/1.1 receiver on 127.0.0.1 for tests: records every request and
// answers with a status chosen per request by the test.

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace switchyard::testing {

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::chrono::steady_clock::time_point at;  // when it arrived
};

struct Reply {
  int status = 200;
  std::map<std::string, std::string> headers;
  std::string body;
};

class HttpReceiver {
 public:
  using Responder = std::function<Reply(const ReceivedRequest&)>;

  // On `port` when given (a receiver that comes back where a dead one was),
  // else on a free one.
  explicit HttpReceiver(Responder responder = nullptr, unsigned short port = 0)
      : responder_(std::move(responder)), acceptor_(ioc_) {
    namespace asio = boost::asio;
    asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { accept_loop(); });
  }

  ~HttpReceiver() {
    stopping_ = true;
    boost::system::error_code ec;
    {
      // A blocked accept() is not woken by close() from another thread:
      // connect once so that it returns and sees stopping_.
      boost::asio::ip::tcp::socket wake(ioc_);
      wake.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
    }
    thread_.join();
    acceptor_.close(ec);
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto* s : sockets_) s->shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    }
    for (auto& t : sessions_) t.join();
    for (auto* s : sockets_) delete s;
  }

  unsigned short port() const { return port_; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

  // Waits until at least n requests arrived or the timeout passed.
  std::vector<ReceivedRequest> wait_for(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
    return requests_;
  }

  std::vector<ReceivedRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      boost::system::error_code ec;
      auto* socket = new boost::asio::ip::tcp::socket(ioc_);
      acceptor_.accept(*socket, ec);
      if (ec || stopping_) {
        delete socket;
        return;
      }
      std::lock_guard<std::mutex> lock(mu_);
      sockets_.push_back(socket);
      sessions_.emplace_back([this, socket] { serve(socket); });
    }
  }

  void serve(boost::asio::ip::tcp::socket* socket) {
    namespace http = boost::beast::http;
    boost::beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      boost::system::error_code ec;
      http::read(*socket, buffer, req, ec);
      if (ec) break;
      ReceivedRequest r;
      r.method = std::string(req.method_string());
      r.target = std::string(req.target());
      for (const auto& f : req) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers[name] = std::string(f.value());
      }
      r.body = req.body();
      r.at = std::chrono::steady_clock::now();
      Reply reply = responder_ ? responder_(r) : Reply{};
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(r);
      }
      cv_.notify_all();
      http::response<http::string_body> res{static_cast<http::status>(reply.status), req.version()};
      for (const auto& [k, v] : reply.headers) res.set(k, v);
      res.keep_alive(req.keep_alive());
      res.body() = reply.body;
      res.prepare_payload();
      http::write(*socket, res, ec);
      if (ec || !req.keep_alive()) break;
    }
  }

  Responder responder_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ReceivedRequest> requests_;
  std::vector<boost::asio::ip::tcp::socket*> sockets_;
  std::vector<std::thread> sessions_;
};

}  // namespace switchyard::testing
