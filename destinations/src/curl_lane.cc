#include "curl_lane.h"

#include <algorithm>
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
  thread_ = std::thread([this] { run(); });
}

CurlLane::~CurlLane() {
  stopping_ = true;
  curl_multi_wakeup(multi_);
  thread_.join();
  drop_all();
  for (CURL* easy : idle_) curl_easy_cleanup(easy);
  curl_multi_cleanup(multi_);
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
  curl_multi_wakeup(multi_);
}

void CurlLane::abandon_all() {
  core::MutexWaitLock lock(mu_);
  const uint64_t mine = ++abandon_asked_;
  curl_multi_wakeup(multi_);
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
    int running = 0;
    curl_multi_perform(multi_, &running);
    collect(&done);
    if (!done.empty()) {
      sink_(std::move(done));
      done.clear();
    }
    curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
  }
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
