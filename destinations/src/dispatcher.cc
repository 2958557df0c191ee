#include "switchyard/destinations/dispatcher.h"

#include <curl/curl.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <queue>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "circuit.h"
#include "rate_window.h"
#include "request.h"
#include "switchyard/core/crypto.h"
#include "switchyard/core/http_header.h"
#include "switchyard/core/log.h"
#include "switchyard/core/time.h"
#include "switchyard/storage/store.h"

namespace switchyard::destinations {
namespace {

constexpr size_t kMaxResponseKept = 512;         // bytes of a response body kept for error messages
constexpr size_t kMaxTokenResponse = 64 * 1024;  // an OAuth token answer is read whole up to this

struct DueOrder {
  bool operator()(const core::DeliveryTask& a, const core::DeliveryTask& b) const { return a.due_ms > b.due_ms; }
};

struct Transfer {
  core::DeliveryTask task;
  std::string token_for;          // a token request for this connection (task unused)
  std::string oauth_connection;   // a delivery authorized by this connection's token
  uint64_t token_generation = 0;  // the OAuth token the request carried
  std::string url;
  std::string body;  // what is sent: the task's body with connection body parameters
  curl_slist* headers = nullptr;
  std::string response_head;  // first bytes of the body
  std::string retry_after;
  char error[CURL_ERROR_SIZE] = {0};
  int64_t started_ms = 0;
  RateWindow::Slot rate_slot;  // the quota slot this delivery used
};

TransportFailure transport_failure(CURLcode result) {
  switch (result) {
    case CURLE_OK: return TransportFailure::none;
    case CURLE_OPERATION_TIMEDOUT: return TransportFailure::timeout;
    case CURLE_COULDNT_RESOLVE_HOST: return TransportFailure::unresolved_host;
    default: return TransportFailure::connection;
  }
}

// Quotas, circuit probes and token retries are intervals: they run on the
// monotonic clock, so a wall clock stepped back does not stall a destination
// for as long as the step. Due times are stored, and stay wall-clock times.
int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  const size_t keep = t->token_for.empty() ? kMaxResponseKept : kMaxTokenResponse;
  if (t->response_head.size() < keep) t->response_head.append(data, std::min(len, keep - t->response_head.size()));
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  std::string_view line(data, len);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    bool same = true;
    for (size_t i = 0; i < kName.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(line[i])) == kName[i];
    if (same) {
      line.remove_prefix(kName.size());
      while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
      t->retry_after = std::string(line);
    }
  }
  return len;
}

}  // namespace

class Dispatcher::Impl {
 public:
  Impl(Options options, storage::Store& store, prometheus::Registry& registry)
      : options_(options),
        store_(store),
        invocations_(prometheus::BuildCounter()
                         .Name("switchyard_invocations_total")
                         .Help("HTTP attempts made to API destinations")
                         .Register(registry)),
        delivered_(prometheus::BuildCounter()
                       .Name("switchyard_deliveries_delivered_total")
                       .Help("Deliveries that got a 2xx answer")
                       .Register(registry)),
        failed_(prometheus::BuildCounter()
                    .Name("switchyard_deliveries_failed_total")
                    .Help("Deliveries that failed for good (retries exhausted or not retryable)")
                    .Register(registry)),
        retried_(prometheus::BuildCounter()
                     .Name("switchyard_delivery_retries_total")
                     .Help("Failed attempts that were scheduled for another try")
                     .Register(registry)),
        dead_lettered_(prometheus::BuildCounter()
                           .Name("switchyard_deliveries_dead_lettered_total")
                           .Help("Deliveries moved to the dead-letter queue")
                           .Register(registry)),
        queued_(prometheus::BuildGauge()
                    .Name("switchyard_delivery_queue_depth")
                    .Help("Deliveries waiting in memory per destination")
                    .Register(registry)),
        backlog_(prometheus::BuildGauge()
                     .Name("switchyard_delivery_backlog")
                     .Help("Deliveries stored per destination and not yet delivered or dead-lettered (memory and disk)")
                     .Register(registry)),
        oldest_age_(prometheus::BuildGauge()
                        .Name("switchyard_delivery_oldest_pending_age_seconds")
                        .Help("Age of the oldest event waiting for delivery per destination (0: none)")
                        .Register(registry)),
        dlq_depth_(prometheus::BuildGauge()
                       .Name("switchyard_dlq_depth")
                       .Help("Dead-lettered deliveries kept per destination")
                       .Register(registry)),
        circuit_(prometheus::BuildGauge()
                     .Name("switchyard_destination_circuit_open")
                     .Help("1 while a destination's circuit is open")
                     .Register(registry)),
        token_requests_(prometheus::BuildCounter()
                            .Name("switchyard_oauth_token_requests_total")
                            .Help("OAuth token requests per connection and outcome (ok, error)")
                            .Register(registry)),
        latency_(prometheus::BuildHistogram()
                     .Name("switchyard_delivery_attempt_seconds")
                     .Help("Duration of HTTP delivery attempts")
                     .Register(registry)),
        rng_(std::random_device{}()) {
    static std::once_flag curl_once;
    std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    multi_ = curl_multi_init();
    // Beyond this many connections curl queues transfers instead of opening
    // more (many destinations may share one host).
    const long pool = static_cast<long>(std::max<uint32_t>(options_.max_in_flight_total, 1));
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, pool);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, pool);
  }

  ~Impl() {
    stop();
    for (CURL* easy : idle_easy_) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi_);
  }

  void set_destinations(std::vector<Destination> destinations) {
    auto map = std::make_shared<std::map<std::string, Destination>>();
    for (auto& d : destinations) (*map)[d.name] = std::move(d);
    std::lock_guard<std::mutex> lock(mu_);
    destinations_ = std::move(map);
    if (multi_) curl_multi_wakeup(multi_);
  }

  core::Status set_paused(const std::string& name, bool paused) {
    if (auto st = store_.set_paused(name, paused); !st) return st;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (paused)
        paused_.insert(name);
      else
        paused_.erase(name);
    }
    curl_multi_wakeup(multi_);
    core::log::info(paused ? "destination paused" : "destination resumed", {{"destination", name}});
    return core::Status::ok();
  }

  void start() {
    if (thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& p : store_.paused_destinations()) paused_.insert(p);
    }
    // Recovery: every destination with stored deliveries pages them in from
    // disk, like any backlog.
    const auto stored = store_.task_destinations();
    if (!stored.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      recover_ = stored;
    }
    // Every destination's series exist (at 0) from the start, and their
    // backlogs are counted before any new delivery can arrive.
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (destinations_)
        for (const auto& [name, d] : *destinations_) state(name);
    }
    for (const auto& name : stored) state(name);
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
  }

  void stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    curl_multi_wakeup(multi_);
    thread_.join();
  }

  uint64_t redrive(const std::string& name, size_t limit) {
    auto tasks = store_.redrive(name, limit, core::now_ms());
    const uint64_t n = tasks.size();
    if (n > 0) {
      submit(std::move(tasks));
      dead_letters_removed(name, n);
    }
    return n;
  }

  core::Status purge_dead_letters(const std::string& name, uint64_t* purged) {
    *purged = 0;
    const core::Status st = store_.purge_dead_letters(name, purged);
    if (*purged > 0) dead_letters_removed(name, *purged);
    return st;
  }

  // `count` dead letters of `name` left the DLQ: the depth gauge drops.
  void dead_letters_removed(const std::string& name, uint64_t count) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      dlq_removed_.emplace_back(name, count);
    }
    curl_multi_wakeup(multi_);
  }

  void submit(std::vector<core::DeliveryTask> tasks) {
    if (tasks.empty()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& t : tasks) inbox_.push_back(std::move(t));
    }
    curl_multi_wakeup(multi_);
  }

  // Every configured destination, and any other that still has deliveries.
  std::vector<DestinationStats> stats() const {
    std::map<std::string, DestinationStats> all;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (destinations_)
        for (const auto& [name, _] : *destinations_) all[name].name = name;
      for (const auto& p : paused_) all[p].name = p;
      for (auto& [name, st] : all) st.paused = paused_.count(name) != 0;
    }
    std::lock_guard<std::mutex> lock(stats_mu_);
    for (const auto& [name, st] : stats_) {
      const bool paused = all[name].paused;
      all[name] = st;
      all[name].paused = paused;
    }
    for (auto& [name, st] : all)
      if (!stats_.count(name)) st.dlq_depth = store_.count_dead_letters(name);
    std::vector<DestinationStats> out;
    for (auto& [_, st] : all) out.push_back(std::move(st));
    return out;
  }

 private:
  // OAuth client credentials: one token per connection.
  struct OAuthState {
    OAuthClientCredentials config;
    Token token;
    uint64_t generation = 0;  // bumped for each new token
    bool fetching = false;
    uint32_t failures = 0;    // consecutive failed token requests
    int64_t retry_at_ms = 0;  // no new token request before this (monotonic), after a failure
    std::string last_error;
  };

  struct DestState {
    std::deque<core::DeliveryTask> ready;
    uint32_t in_flight = 0;
    uint64_t waiting = 0;  // in the due-time heap
    RateWindow window;
    prometheus::Counter* invocations = nullptr;
    prometheus::Counter* delivered = nullptr;
    prometheus::Counter* failed = nullptr;
    prometheus::Counter* retried = nullptr;
    prometheus::Counter* dead_lettered = nullptr;
    prometheus::Gauge* queued = nullptr;
    prometheus::Gauge* dlq_depth = nullptr;
    prometheus::Gauge* circuit = nullptr;
    prometheus::Histogram* latency = nullptr;
    uint64_t dlq_count = 0;
    struct Held {
      size_t bytes;         // core::task_memory_bytes
      int64_t ingested_ms;  // for the age of the oldest pending delivery
    };
    std::unordered_map<std::string, Held> known;  // ids held in memory (waiting, ready, in flight)
    size_t bytes = 0;                             // their bytes
    uint64_t stored = 0;  // deliveries stored (memory and disk): counted at creation, then kept here
    prometheus::Gauge* backlog = nullptr;
    prometheus::Gauge* oldest_age = nullptr;
    bool on_disk = false;     // stored deliveries not in memory may exist
    std::string disk_cursor;  // the stored key the last page ended at
    CircuitBreaker breaker;   // on the monotonic clock
    bool warned_missing = false;
    bool paused = false;
    // Deliveries per second over the last 10 complete seconds: (second, count).
    std::deque<std::pair<int64_t, uint32_t>> recent;
  };

  DestState& state(const std::string& name) {
    auto it = dest_.find(name);
    if (it != dest_.end()) return it->second;
    DestState& s = dest_[name];
    const std::map<std::string, std::string> labels{{"destination", name}};
    s.invocations = &invocations_.Add(labels);
    s.delivered = &delivered_.Add(labels);
    s.failed = &failed_.Add(labels);
    s.retried = &retried_.Add(labels);
    s.dead_lettered = &dead_lettered_.Add(labels);
    s.queued = &queued_.Add(labels);
    s.dlq_depth = &dlq_depth_.Add(labels);
    s.circuit = &circuit_.Add(labels);
    s.breaker = CircuitBreaker(options_.circuit_failure_threshold, options_.circuit_probe_interval_ms);
    s.latency = &latency_.Add(
        labels, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
    s.backlog = &backlog_.Add(labels);
    s.oldest_age = &oldest_age_.Add(labels);
    s.stored = store_.count_tasks(name);
    s.backlog->Set(static_cast<double>(s.stored));
    s.dlq_count = store_.count_dead_letters(name);
    s.dlq_depth->Set(static_cast<double>(s.dlq_count));
    return s;
  }

  // A task new to memory: held if its destination has room, else left on
  // disk (it is stored) to be paged in later.
  void admit(core::DeliveryTask&& t) {
    DestState& s = state(t.destination);
    if (s.known.count(t.id)) return;
    const size_t bytes = core::task_memory_bytes(t);
    const bool room = s.known.empty() || (s.known.size() < options_.max_in_memory_per_destination &&
                                          s.bytes + bytes <= options_.max_in_memory_bytes_per_destination &&
                                          memory_bytes_ + bytes <= options_.max_in_memory_bytes_total);
    if (!room) {
      s.on_disk = true;
      return;
    }
    hold(s, t.id, bytes, t.ingested_ms);
    enqueue(std::move(t));
  }

  // Memory accounting of the deliveries held: hold when one enters memory,
  // forget when it leaves (delivered or dead-lettered).
  void hold(DestState& s, const std::string& id, size_t bytes, int64_t ingested_ms) {
    s.known.emplace(id, DestState::Held{bytes, ingested_ms});
    s.bytes += bytes;
    memory_bytes_ += bytes;
  }
  void forget(DestState& s, const std::string& id) {
    const auto it = s.known.find(id);
    if (it == s.known.end()) return;
    s.bytes -= it->second.bytes;
    memory_bytes_ -= it->second.bytes;
    s.known.erase(it);
  }

  // A task already held (a retry) goes back to the due-time heap.
  void enqueue(core::DeliveryTask&& t) {
    DestState& s = state(t.destination);
    ++s.waiting;
    heap_.push(std::move(t));
  }

  // Pages in stored deliveries of destinations whose memory share is below
  // half. Each page continues after the previous one (the store's cursor),
  // so draining a backlog of millions costs the same per page throughout.
  // Where the pages run out, one pass from the first stored key picks up
  // anything stored behind the cursor meanwhile (a redrive or new event due
  // before a delivery already passed, as when the clock steps back) before
  // the backlog counts as drained.
  void refill() {
    const size_t cap = options_.max_in_memory_per_destination;
    const size_t byte_cap = options_.max_in_memory_bytes_per_destination;
    for (auto& [name, s] : dest_) {
      if (!s.on_disk || s.known.size() > cap / 2 || s.bytes > byte_cap / 2) continue;
      const size_t total_room =
          memory_bytes_ < options_.max_in_memory_bytes_total ? options_.max_in_memory_bytes_total - memory_bytes_ : 0;
      if (total_room == 0 && !s.known.empty()) continue;
      const size_t budget = std::min(byte_cap - s.bytes, total_room);
      const bool from_first = s.disk_cursor.empty();
      size_t want = cap - s.known.size();
      const size_t before = s.bytes;
      size_t got = page_in(name, s, want, budget);
      if (got < want && s.bytes - before < budget && !from_first) {
        s.disk_cursor.clear();
        want -= got;
        got = page_in(name, s, want, budget - (s.bytes - before));
      }
      if (got < want && s.bytes - before < budget) {
        s.on_disk = false;
        s.disk_cursor.clear();
      }
    }
  }

  // Pages in at most `want` stored deliveries of about `budget` bytes (the
  // store counts its records, which are close to what they take here).
  size_t page_in(const std::string& name, DestState& s, size_t want, size_t budget) {
    auto tasks = store_.load_tasks(
        name, want, [&s](const std::string& id) { return s.known.count(id) != 0; }, &s.disk_cursor,
        std::max<size_t>(budget, 1));
    for (auto& t : tasks) {
      hold(s, t.id, core::task_memory_bytes(t), t.ingested_ms);
      enqueue(std::move(t));
    }
    return tasks.size();
  }

  void run() {
    while (!stopping_) {
      std::shared_ptr<const std::map<std::string, Destination>> dests;
      std::set<std::string> paused;
      {
        std::vector<core::DeliveryTask> incoming;
        std::lock_guard<std::mutex> lock(mu_);
        incoming.swap(inbox_);
        dests = destinations_;
        paused = paused_;
        for (const auto& [name, n] : dlq_removed_) {
          DestState& s = state(name);
          s.dlq_count = s.dlq_count > n ? s.dlq_count - n : 0;
          s.dlq_depth->Set(static_cast<double>(s.dlq_count));
        }
        dlq_removed_.clear();
        // Each task handed over is a new stored delivery; a destination seen
        // for the first time counts its stored ones (this batch included).
        std::set<std::string> counted_now;
        for (auto& t : incoming) {
          if (!dest_.count(t.destination)) counted_now.insert(t.destination);
          DestState& s = state(t.destination);
          if (!counted_now.count(t.destination)) ++s.stored;
          admit(std::move(t));
        }
        for (const auto& name : recover_) state(name).on_disk = true;
        recover_.clear();
      }
      int64_t now = core::now_ms();
      const int64_t mono = mono_ms();
      if (dests != dests_seen_) {  // new configuration: authorize new OAuth connections right away
        dests_seen_ = dests;
        if (dests)
          for (const auto& [name, d] : *dests) state(name);  // its series exist from now on
        authorize_connections(*dests, now);
      }
      refill();
      while (!heap_.empty() && heap_.top().due_ms <= now) {
        core::DeliveryTask t = heap_.top();
        heap_.pop();
        DestState& s = state(t.destination);
        --s.waiting;
        s.ready.push_back(std::move(t));
      }
      int64_t wake_at = heap_.empty() ? now + 1000 : std::min(heap_.top().due_ms, now + 1000);
      // Destinations take turns from a rotating start, so that when the
      // global cap on requests in flight is reached none is starved.
      const size_t max_total = std::max<uint32_t>(options_.max_in_flight_total, 1);
      // While the store cannot write (its disk under the reserve), no new
      // attempt starts: its outcome could not be recorded. Delivery resumes
      // by itself once space is back; everything waits stored.
      const bool writable = store_.writable();
      if (!writable) wake_at = std::min(wake_at, now + 500);
      auto first = dest_.lower_bound(next_turn_);
      for (size_t visited = 0, n = writable ? dest_.size() : 0; visited < n; ++visited, ++first) {
        if (first == dest_.end()) first = dest_.begin();
        if (transfers_.size() >= max_total) {
          next_turn_ = first->first;
          break;
        }
        const std::string& name = first->first;
        DestState& s = first->second;
        s.paused = paused.count(name) != 0;
        if (s.ready.empty() || s.paused) continue;
        const Destination* d = nullptr;
        if (dests) {
          auto it = dests->find(name);
          if (it != dests->end()) d = &it->second;
        }
        if (d == nullptr) {
          warn_missing(name, s);
          continue;
        }
        s.warned_missing = false;
        s.window.set_limit(d->rate_limit_per_second);
        if (d->oauth && !oauth_ready(*d->oauth, s, now, &wake_at)) continue;
        while (!s.ready.empty() && s.in_flight < options_.max_in_flight_per_destination &&
               transfers_.size() < max_total) {
          if (!s.ready.front().render_error.empty()) {  // nothing to send: no rate token used
            core::DeliveryTask t = std::move(s.ready.front());
            s.ready.pop_front();
            fail_for_good(t, t.render_error_code, t.render_error, "", s);
            continue;
          }
          int64_t probe_at = mono;
          if (!s.breaker.may_send(mono, &probe_at)) {  // open: one probe per interval, nothing else
            if (probe_at > mono) wake_at = std::min(wake_at, now + (probe_at - mono));
            break;
          }
          if (!s.window.allowed(mono)) {
            wake_at = std::min(wake_at, now + (s.window.next_allowed() - mono));
            break;
          }
          s.breaker.sent(mono);
          const RateWindow::Slot slot = s.window.record(mono);
          core::DeliveryTask t = std::move(s.ready.front());
          s.ready.pop_front();
          begin(*d, s, std::move(t), now, slot);
        }
      }
      int running = 0;
      curl_multi_perform(multi_, &running);
      bool completed = false;
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        finish(msg->easy_handle, msg->data.result);
        completed = true;
      }
      flush_finished();
      // While transfers complete back to back, the admin view is refreshed
      // every 100 ms; it is always current once the loop goes idle.
      if (!completed || now - stats_published_ms_ >= 100) {
        publish_stats();
        stats_published_ms_ = now;
      }
      if (completed) continue;
      now = core::now_ms();
      const int timeout = static_cast<int>(std::clamp<int64_t>(wake_at - now, 0, 1000));
      if (timeout > 0) curl_multi_poll(multi_, nullptr, 0, timeout, nullptr);
    }
    // Abandon transfers in flight: their tasks are still stored and will be
    // retried after the next start.
    for (auto& [easy, transfer] : transfers_) {
      curl_multi_remove_handle(multi_, easy);
      curl_slist_free_all(transfer->headers);
      curl_easy_cleanup(easy);
    }
    transfers_.clear();
  }

  // Tasks whose destination is not configured (removed by a reload) stay
  // stored and wait in their queue until it comes back.
  void warn_missing(const std::string& name, DestState& s) {
    if (s.warned_missing) return;
    core::log::warn("deliveries wait for a destination that is not configured",
                    {{"destination", name}, {"count", std::to_string(s.ready.size())}});
    s.warned_missing = true;
  }

  // OAuth client credentials. A destination whose connection has no usable
  // token waits while one is fetched; when the authorization endpoint has
  // failed, its due deliveries fail an attempt (NO_PERMISSIONS) and follow
  // their retry policy, as EventBridge does with a deauthorized connection.
  OAuthState& oauth_state(const OAuthClientCredentials& c) {
    OAuthState& o = oauth_[c.connection];
    if (!(o.config == c)) {  // new, or changed by a reload: start over
      o = OAuthState{};
      o.config = c;
    }
    return o;
  }

  void authorize_connections(const std::map<std::string, Destination>& dests, int64_t now) {
    for (const auto& [name, d] : dests) {
      if (!d.oauth) continue;
      OAuthState& o = oauth_state(*d.oauth);
      if (o.generation == 0 && !o.fetching && o.failures == 0) fetch_token(o, now);
    }
  }

  bool oauth_ready(const OAuthClientCredentials& c, DestState& s, int64_t now, int64_t* wake_at) {
    OAuthState& o = oauth_state(c);
    if (!token_needs_refresh(o.token, now)) return true;
    const int64_t mono = mono_ms();
    if (!o.fetching && mono >= o.retry_at_ms) fetch_token(o, now);
    if (o.fetching) return false;  // its answer wakes the loop
    *wake_at = std::min(*wake_at, now + (o.retry_at_ms - mono));
    Outcome outcome;
    outcome.verdict = Verdict::retryable;
    outcome.error_code = "NO_PERMISSIONS";
    outcome.message = "no OAuth token for connection '" + c.connection + "': " + o.last_error;
    while (!s.ready.empty()) {
      core::DeliveryTask t = std::move(s.ready.front());
      s.ready.pop_front();
      ++t.attempts;
      t.last_status = 0;
      fail_attempt(std::move(t), outcome, s, now);
    }
    return false;
  }

  // The options every request shares; `t.url`, `t.headers` and `t.body`
  // must be set (and stay put: curl reads them while the transfer runs).
  void setup_transfer(CURL* easy, Transfer& t, const std::string& method) {
    curl_easy_setopt(easy, CURLOPT_URL, t.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout_ms));
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t.headers);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "gzip,deflate");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t.error);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, &t);
    if (method == "GET") {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else if (method == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, t.body.data());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t.body.size()));
      if (method != "POST") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
  }

  void fetch_token(OAuthState& o, int64_t now) {
    const TokenRequest req = build_token_request(o.config);
    CURL* easy = curl_easy_init();
    auto transfer = std::make_unique<Transfer>();
    transfer->token_for = o.config.connection;
    transfer->started_ms = now;
    transfer->url = req.url;
    transfer->body = req.body;
    curl_slist* h = nullptr;
    for (const auto& [k, v] : req.headers) h = curl_slist_append(h, (k + ": " + v).c_str());
    h = curl_slist_append(h, "User-Agent: Amazon/EventBridge/ApiDestinations");
    h = curl_slist_append(h, "Expect:");
    transfer->headers = h;
    setup_transfer(easy, *transfer, req.method);
    o.fetching = true;
    curl_multi_add_handle(multi_, easy);
    transfers_.emplace(easy, std::move(transfer));
  }

  void finish_token(const Transfer& t, long status, CURLcode result, int64_t now) {
    auto it = oauth_.find(t.token_for);
    if (it == oauth_.end()) return;
    OAuthState& o = it->second;
    o.fetching = false;
    std::string error;
    Token token;
    if (result != CURLE_OK) {
      error = std::string("the authorization endpoint could not be reached: ") +
              (t.error[0] ? t.error : curl_easy_strerror(result));
    } else if (parse_token_response(status, t.response_head, now, &token, &error)) {
      o.token = std::move(token);
      ++o.generation;
      o.failures = 0;
      o.retry_at_ms = 0;
      o.last_error.clear();
      token_requests_.Add({{"connection", t.token_for}, {"outcome", "ok"}}).Increment();
      core::log::info("OAuth token obtained",
                      {{"connection", t.token_for},
                       {"expires_in_s", o.token.expires_at_ms ? std::to_string((o.token.expires_at_ms - now) / 1000)
                                                              : std::string("none")}});
      return;
    }
    ++o.failures;
    const int64_t retry_in = std::min<int64_t>(int64_t{1000} << std::min<uint32_t>(o.failures - 1, 6), 60'000);
    o.retry_at_ms = mono_ms() + retry_in;
    o.last_error = error;
    token_requests_.Add({{"connection", t.token_for}, {"outcome", "error"}}).Increment();
    core::log::warn("OAuth token request failed; the connection is deauthorized",
                    {{"connection", t.token_for}, {"error", error}, {"retry_in_ms", std::to_string(retry_in)}});
  }

  void begin(const Destination& d, DestState& s, core::DeliveryTask&& task, int64_t now, RateWindow::Slot slot) {
    CURL* easy = nullptr;
    if (idle_easy_.empty()) {
      easy = curl_easy_init();
    } else {
      easy = idle_easy_.back();
      idle_easy_.pop_back();
    }
    auto transfer = std::make_unique<Transfer>();
    transfer->task = std::move(task);
    transfer->started_ms = now;
    transfer->rate_slot = slot;
    const std::string* authorization = d.oauth ? &oauth_state(*d.oauth).token.authorization : nullptr;
    OutgoingRequest request;
    RequestProblem problem;
    if (!build_request(d, transfer->task, now, authorization, &request, &problem)) {
      s.window.answered(slot, mono_ms());  // nothing was sent
      idle_easy_.push_back(easy);
      fail_for_good(transfer->task, problem.code, problem.message, "", s);
      return;
    }
    curl_slist* h = nullptr;
    for (const auto& line : request.headers) h = curl_slist_append(h, line.c_str());
    transfer->headers = h;
    transfer->url = std::move(request.url);
    transfer->body = std::move(request.body);
    if (d.oauth) {
      transfer->oauth_connection = d.oauth->connection;
      transfer->token_generation = oauth_state(*d.oauth).generation;
    }
    setup_transfer(easy, *transfer, d.method);
    ++s.in_flight;
    s.invocations->Increment();
    curl_multi_add_handle(multi_, easy);
    transfers_.emplace(easy, std::move(transfer));
  }

  void finish(CURL* easy, CURLcode result) {
    auto it = transfers_.find(easy);
    if (it == transfers_.end()) return;
    std::unique_ptr<Transfer> t = std::move(it->second);
    transfers_.erase(it);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(multi_, easy);
    curl_easy_reset(easy);  // kept for the next request; connections live in the multi's pool
    idle_easy_.push_back(easy);
    curl_slist_free_all(t->headers);
    t->headers = nullptr;
    if (!t->token_for.empty()) {
      finish_token(*t, status, result, core::now_ms());
      return;
    }
    if ((status == 401 || status == 407) && !t->oauth_connection.empty()) {
      // The token was refused: drop it so the next attempt fetches a new one.
      auto o = oauth_.find(t->oauth_connection);
      if (o != oauth_.end() && o->second.generation == t->token_generation && !o->second.token.authorization.empty()) {
        o->second.token = Token{};
        core::log::info("OAuth token refused by a destination; fetching a new one",
                        {{"connection", t->oauth_connection}, {"destination", t->task.destination}});
      }
    }

    DestState& s = state(t->task.destination);
    --s.in_flight;
    const int64_t now = core::now_ms();
    s.window.answered(t->rate_slot, mono_ms());
    s.latency->Observe(static_cast<double>(now - t->started_ms) / 1000.0);
    std::string transport_error;
    if (result != CURLE_OK) transport_error = t->error[0] ? t->error : curl_easy_strerror(result);
    const Outcome outcome = classify(status, transport_failure(result), transport_error, t->retry_after, now / 1000);
    core::DeliveryTask& task = t->task;
    ++task.attempts;
    task.last_status = static_cast<int>(status);

    track_circuit(s, task.destination, outcome);
    if (outcome.verdict == Verdict::delivered) {
      forget(s, task.id);
      s.delivered->Increment();
      ++delivered_count_[task.destination];
      if (const int64_t sec = now / 1000; !s.recent.empty() && s.recent.back().first == sec)
        ++s.recent.back().second;
      else
        s.recent.emplace_back(sec, 1);
      if (core::log::enabled(core::log::Level::debug))
        core::log::debug("delivered", {{"request_id", task.request_id},
                                       {"event_id", task.event_id},
                                       {"destination", task.destination},
                                       {"webhook_id", task.id},
                                       {"attempt", std::to_string(task.attempts)},
                                       {"status", std::to_string(task.last_status)},
                                       {"ms", std::to_string(now - t->started_ms)}});
      finished_.push_back(std::move(task));  // deleted from the store in one write per pass
      return;
    }
    fail_attempt(std::move(task), outcome, s, now);
  }

  // `task.attempts` already counts the attempt that failed.
  void fail_attempt(core::DeliveryTask&& task, const Outcome& outcome, DestState& s, int64_t now) {
    task.last_error = outcome.message;
    const RetryDecision d =
        decide_retry(task, outcome, now, backoff_delay_ms(task.attempts - 1, options_.backoff, rng_));
    if (d.retry) {
      const int64_t previous_due = task.due_ms;
      task.due_ms = d.due_ms;
      record(store_.reschedule_task(previous_due, task), "reschedule delivery");
      s.retried->Increment();
      core::log::info("delivery attempt failed; will retry", {{"request_id", task.request_id},
                                                              {"event_id", task.event_id},
                                                              {"destination", task.destination},
                                                              {"webhook_id", task.id},
                                                              {"attempt", std::to_string(task.attempts)},
                                                              {"error", outcome.message},
                                                              {"retry_in_ms", std::to_string(d.due_ms - now)}});
      enqueue(std::move(task));
      return;
    }
    fail_for_good(task, outcome.error_code, outcome.message, d.exhausted_condition, s);
  }

  void flush_finished() {
    if (finished_.empty()) return;
    const bool stored = record(store_.finish_tasks(finished_), "finish deliveries");
    for (const auto& t : finished_) {
      DestState& s = state(t.destination);
      if (!stored)
        s.on_disk = true;  // still stored: paged in again
      else if (s.stored > 0)
        --s.stored;
    }
    finished_.clear();
  }

  // Consecutive failures open the circuit: retryable ones, and any attempt
  // the receiver did not answer (an unresolvable host goes to the DLQ at
  // once, but shows the target is not up either). Any answer that shows the
  // target is up (success, or a permanent 4xx) closes it.
  void track_circuit(DestState& s, const std::string& name, const Outcome& outcome) {
    const bool failed = outcome.verdict == Verdict::retryable || !outcome.answered;
    switch (s.breaker.ended(failed, mono_ms())) {
      case CircuitBreaker::Change::kOpened:
        s.circuit->Set(1);
        core::log::warn(
            "circuit opened: destination failing, probing slowly",
            {{"destination", name}, {"consecutive_failures", std::to_string(s.breaker.consecutive_failures())}});
        break;
      case CircuitBreaker::Change::kClosed:
        s.circuit->Set(0);
        core::log::info("circuit closed: destination answers again", {{"destination", name}});
        break;
      case CircuitBreaker::Change::kNone: break;
    }
  }

  void fail_for_good(core::DeliveryTask& task, const std::string& code, const std::string& message,
                     const std::string& exhausted, DestState& s) {
    storage::DeadLetter dl;
    dl.task = task;
    dl.task.last_error = message;
    dl.error_code = code;
    dl.error_message = message;
    dl.exhausted_condition = exhausted;
    dl.dead_ms = core::now_ms();
    if (!record(store_.dead_letter(dl), "dead-letter delivery"))
      s.on_disk = true;  // still a stored delivery
    else if (s.stored > 0)
      --s.stored;
    forget(s, task.id);
    s.failed->Increment();
    if (task.dead_letter) {
      s.dead_lettered->Increment();
      ++dead_count_[task.destination];
      s.dlq_depth->Set(static_cast<double>(++s.dlq_count));
    }
    core::log::warn("delivery failed for good", {{"request_id", task.request_id},
                                                 {"destination", task.destination},
                                                 {"event_id", task.event_id},
                                                 {"webhook_id", task.id},
                                                 {"rule", task.rule},
                                                 {"error_code", code},
                                                 {"error", message},
                                                 {"attempts", std::to_string(task.attempts)}});
  }

  // Logs an outcome the store could not record (its disk under the reserve,
  // say). The delivery's record stays stored as it was, so it is sent again
  // later: at least once, never lost.
  static bool record(const core::Status& st, const char* what) {
    if (!st) core::log::error("cannot store a delivery outcome", {{"what", what}, {"error", st.message()}});
    return static_cast<bool>(st);
  }

  void publish_stats() {
    std::lock_guard<std::mutex> lock(stats_mu_);
    // The oldest pending delivery's age: once a second (it looks at every
    // delivery held in memory, which are the earliest due).
    const int64_t now_ms = core::now_ms();
    const bool refresh_age = now_ms - age_published_ms_ >= 1000;
    if (refresh_age) age_published_ms_ = now_ms;
    for (auto& [name, s] : dest_) {
      DestinationStats& out = stats_[name];
      out.name = name;
      out.paused = s.paused;
      out.circuit_open = s.breaker.open();
      out.backlog_on_disk = s.on_disk;
      out.dlq_depth = s.dlq_count;
      out.queued = s.ready.size() + s.waiting;
      out.in_flight = s.in_flight;
      out.delivered = delivered_count_[name];
      out.dead_lettered = dead_count_[name];
      const int64_t sec = core::now_ms() / 1000;
      while (!s.recent.empty() && s.recent.front().first < sec - 10) s.recent.pop_front();
      uint64_t last10 = 0;
      for (const auto& [at, n] : s.recent)
        if (at < sec) last10 += n;
      out.delivery_rate_per_second = static_cast<double>(last10) / 10.0;
      s.queued->Set(static_cast<double>(out.queued));
      out.backlog = s.stored;
      s.backlog->Set(static_cast<double>(s.stored));
      if (refresh_age) {
        int64_t oldest = 0;
        for (const auto& [id, held] : s.known)
          if (oldest == 0 || held.ingested_ms < oldest) oldest = held.ingested_ms;
        out.oldest_pending_age_seconds = oldest == 0 ? 0 : std::max<int64_t>(0, now_ms - oldest) / 1000.0;
        s.oldest_age->Set(out.oldest_pending_age_seconds);
      }
    }
    if (!dests_seen_) return;
    const int64_t now = core::now_ms();
    for (const auto& [name, d] : *dests_seen_) {
      DestinationStats& out = stats_[name];
      out.name = name;
      if (!d.oauth) {
        out.active = true;
        out.connection_state.clear();
        out.connection_error.clear();
        continue;
      }
      auto it = oauth_.find(d.oauth->connection);
      const OAuthState* o = it == oauth_.end() ? nullptr : &it->second;
      const bool usable =
          o && !o->token.authorization.empty() && (o->token.expires_at_ms == 0 || o->token.expires_at_ms > now);
      out.active = usable;
      out.connection_state = usable ? "AUTHORIZED" : (o && o->failures > 0 ? "DEAUTHORIZED" : "AUTHORIZING");
      out.connection_error = o && !usable ? o->last_error : "";
    }
  }

  Options options_;
  storage::Store& store_;
  CURLM* multi_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  std::vector<core::DeliveryTask> inbox_;                                   // GUARDED_BY(mu_)
  std::shared_ptr<const std::map<std::string, Destination>> destinations_;  // GUARDED_BY(mu_)
  std::set<std::string> paused_;                                            // GUARDED_BY(mu_)
  std::vector<std::pair<std::string, uint64_t>> dlq_removed_;               // GUARDED_BY(mu_)
  std::vector<std::string> recover_;                                        // GUARDED_BY(mu_)

  // Owned by the delivery thread.
  std::priority_queue<core::DeliveryTask, std::vector<core::DeliveryTask>, DueOrder> heap_;
  std::map<std::string, DestState> dest_;
  size_t memory_bytes_ = 0;  // bytes of the deliveries held in memory, over all destinations
  int64_t age_published_ms_ = 0;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> transfers_;
  std::vector<core::DeliveryTask> finished_;  // delivered this pass, to delete together
  std::vector<CURL*> idle_easy_;              // reusable handles

  std::map<std::string, OAuthState> oauth_;  // by connection
  std::string next_turn_;                    // destination that starts the next pass
  std::shared_ptr<const std::map<std::string, Destination>> dests_seen_;
  int64_t stats_published_ms_ = 0;
  std::map<std::string, uint64_t> delivered_count_, dead_count_;

  prometheus::Family<prometheus::Counter>& invocations_;
  prometheus::Family<prometheus::Counter>& delivered_;
  prometheus::Family<prometheus::Counter>& failed_;
  prometheus::Family<prometheus::Counter>& retried_;
  prometheus::Family<prometheus::Counter>& dead_lettered_;
  prometheus::Family<prometheus::Gauge>& queued_;
  prometheus::Family<prometheus::Gauge>& backlog_;
  prometheus::Family<prometheus::Gauge>& oldest_age_;
  prometheus::Family<prometheus::Gauge>& dlq_depth_;
  prometheus::Family<prometheus::Gauge>& circuit_;
  prometheus::Family<prometheus::Counter>& token_requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  std::mt19937_64 rng_;

  mutable std::mutex stats_mu_;
  std::map<std::string, DestinationStats> stats_;  // GUARDED_BY(stats_mu_)
};

Dispatcher::Dispatcher(Options options, storage::Store& store, prometheus::Registry& registry)
    : impl_(std::make_unique<Impl>(options, store, registry)) {}
Dispatcher::~Dispatcher() = default;
void Dispatcher::set_destinations(std::vector<Destination> d) { impl_->set_destinations(std::move(d)); }
void Dispatcher::start() { impl_->start(); }
void Dispatcher::stop() { impl_->stop(); }
void Dispatcher::submit(std::vector<core::DeliveryTask> tasks) { impl_->submit(std::move(tasks)); }
std::vector<DestinationStats> Dispatcher::stats() const { return impl_->stats(); }
core::Status Dispatcher::pause(const std::string& d) { return impl_->set_paused(d, true); }
core::Status Dispatcher::resume(const std::string& d) { return impl_->set_paused(d, false); }
uint64_t Dispatcher::redrive(const std::string& d, size_t limit) { return impl_->redrive(d, limit); }
core::Status Dispatcher::purge_dead_letters(const std::string& d, uint64_t* purged) {
  return impl_->purge_dead_letters(d, purged);
}

}  // namespace switchyard::destinations
