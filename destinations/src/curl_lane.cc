#include "curl_lane.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string_view>

#include "switchyard/core/ascii.h"

namespace switchyard::destinations {
namespace {

TransportFailure transport_failure(CURLcode result) {
  switch (result) {
    case CURLE_OK: return TransportFailure::kNone;
    case CURLE_OPERATION_TIMEDOUT: return TransportFailure::kTimeout;
    case CURLE_COULDNT_RESOLVE_HOST: return TransportFailure::kUnresolvedHost;
    default: return TransportFailure::kConnection;
  }
}

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void wake(int fd) {
  const uint64_t one = 1;
  (void)!write(fd, &one, sizeof one);
}

}  // namespace

struct CurlLane::Transfer {
  uint64_t id = 0;
  HttpCall call;  // curl reads its url, headers and body while the transfer runs
  curl_slist* headers = nullptr;
  std::string response_head;
  std::string retry_after;
  char error[CURL_ERROR_SIZE] = {0};

  ~Transfer() { curl_slist_free_all(headers); }

  static size_t on_body(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t len = size * n;
    const size_t keep = t->call.keep_response_bytes;
    if (t->response_head.size() < keep) t->response_head.append(data, std::min(len, keep - t->response_head.size()));
    return len;
  }

  static size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t len = size * n;
    std::string_view line(data, len);
    constexpr std::string_view kName = "retry-after:";
    if (line.size() > kName.size() && core::iequals(line.substr(0, kName.size()), kName)) {
      line.remove_prefix(kName.size());
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
      t->retry_after = std::string(line);
    }
    return len;
  }
};

CurlLane::CurlLane(uint32_t max_connections, int64_t request_timeout_ms, Sink sink)
    : request_timeout_ms_(request_timeout_ms), sink_(std::move(sink)) {
  static std::once_flag curl_once;
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  multi_ = curl_multi_init();
  // Beyond this many connections curl queues transfers instead of opening
  // more (many destinations may share one host).
  const long pool = static_cast<long>(std::max<uint32_t>(max_connections, 1));
  curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, pool);
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, pool);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlLane::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlLane::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  thread_ = std::thread([this] { run(); });
}

CurlLane::~CurlLane() {
  stopping_ = true;
  wake(wake_fd_);
  thread_.join();
  drop_all();
  for (CURL* easy : idle_) curl_easy_cleanup(easy);
  curl_multi_cleanup(multi_);
  close(wake_fd_);
  close(epoll_fd_);
}

void CurlLane::post(std::vector<std::pair<uint64_t, HttpCall>>&& calls) {
  {
    core::MutexLock lock(mu_);
    if (inbox_.empty()) {
      inbox_ = std::move(calls);
    } else {
      for (auto& c : calls) inbox_.push_back(std::move(c));
    }
  }
  wake(wake_fd_);
}

void CurlLane::abandon_all() {
  core::MutexWaitLock lock(mu_);
  const uint64_t mine = ++abandon_asked_;
  wake(wake_fd_);
  abandoned_cv_.wait(lock.native(), [&]() SY_NO_THREAD_SAFETY_ANALYSIS { return abandon_done_ >= mine; });
}

void CurlLane::run() {
  std::vector<std::pair<uint64_t, HttpCall>> incoming;
  std::vector<HttpResult> done;
  while (!stopping_) {
    uint64_t abandon = 0;
    {
      core::MutexLock lock(mu_);
      incoming.swap(inbox_);
      if (abandon_asked_ != abandon_done_) abandon = abandon_asked_;
    }
    if (abandon != 0) {
      drop_all();
      incoming.clear();
      core::MutexLock lock(mu_);
      inbox_.clear();
      abandon_done_ = abandon;
      abandoned_cv_.notify_all();
      continue;
    }
    for (auto& [id, call] : incoming) start(id, std::move(call));
    incoming.clear();
    if (timer_at_ms_ >= 0 && timer_at_ms_ <= steady_ms()) {
      timer_at_ms_ = -1;
      act(CURL_SOCKET_TIMEOUT, 0);
    }
    collect(&done);
    if (!done.empty()) {
      sink_(std::move(done));
      done.clear();
    }
    int timeout = 1000;
    if (timer_at_ms_ >= 0) timeout = static_cast<int>(std::clamp<int64_t>(timer_at_ms_ - steady_ms(), 0, 1000));
    epoll_event events[64];
    const int n = epoll_wait(epoll_fd_, events, 64, timeout);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == wake_fd_) {
        uint64_t count = 0;
        (void)!read(wake_fd_, &count, sizeof count);
        continue;
      }
      int what = 0;
      if (events[i].events & EPOLLIN) what |= CURL_CSELECT_IN;
      if (events[i].events & EPOLLOUT) what |= CURL_CSELECT_OUT;
      if (events[i].events & (EPOLLERR | EPOLLHUP)) what |= CURL_CSELECT_ERR;
      act(events[i].data.fd, what);
    }
  }
}

void CurlLane::act(curl_socket_t fd, int events) {
  int running = 0;
  curl_multi_socket_action(multi_, fd, events, &running);
}

// curl says which sockets to watch for what; the lane's epoll set follows.
int CurlLane::on_socket(CURL*, curl_socket_t fd, int what, void* lane, void* socket_data) {
  auto* self = static_cast<CurlLane*>(lane);
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(self->epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    curl_multi_assign(self->multi_, fd, nullptr);
    return 0;
  }
  epoll_event ev{};
  ev.data.fd = fd;
  if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
  if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
  if (socket_data == nullptr) {  // new to the set
    epoll_ctl(self->epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    curl_multi_assign(self->multi_, fd, self);
  } else {
    epoll_ctl(self->epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
  }
  return 0;
}

// curl asks to be called back after `timeout_ms` (0: at once, -1: never).
int CurlLane::on_timer(CURLM*, long timeout_ms, void* lane) {
  auto* self = static_cast<CurlLane*>(lane);
  self->timer_at_ms_ = timeout_ms < 0 ? -1 : steady_ms() + timeout_ms;
  return 0;
}

void CurlLane::start(uint64_t id, HttpCall&& call) {
  CURL* easy = nullptr;
  if (idle_.empty()) {
    easy = curl_easy_init();
  } else {
    easy = idle_.back();
    idle_.pop_back();
  }
  auto t = std::make_unique<Transfer>();
  t->id = id;
  t->call = std::move(call);
  for (const auto& line : t->call.headers) t->headers = curl_slist_append(t->headers, line.c_str());
  const std::string& method = t->call.method;
  curl_easy_setopt(easy, CURLOPT_URL, t->call.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(t->call.timeout_ms > 0 ? t->call.timeout_ms : request_timeout_ms_));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "gzip,deflate");
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error);
  if (method == "GET") {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, t->call.body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->call.body.size()));
    if (method != "POST") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  curl_multi_add_handle(multi_, easy);
  transfers_.emplace(easy, std::move(t));
}

void CurlLane::collect(std::vector<HttpResult>* done) {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    const CURLcode result = msg->data.result;
    auto it = transfers_.find(easy);
    if (it == transfers_.end()) continue;
    std::unique_ptr<Transfer> t = std::move(it->second);
    transfers_.erase(it);
    HttpResult r;
    r.id = t->id;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r.status);
    r.failure = transport_failure(result);
    if (result != CURLE_OK) r.error = t->error[0] ? t->error : curl_easy_strerror(result);
    r.retry_after = std::move(t->retry_after);
    r.response_head = std::move(t->response_head);
    curl_multi_remove_handle(multi_, easy);
    curl_easy_reset(easy);  // kept for the next request; connections live in the multi's pool
    idle_.push_back(easy);
    done->push_back(std::move(r));
  }
}

void CurlLane::drop_all() {
  for (auto& [easy, transfer] : transfers_) {
    curl_multi_remove_handle(multi_, easy);
    curl_easy_cleanup(easy);
  }
  transfers_.clear();
}

}  // namespace switchyard::destinations
