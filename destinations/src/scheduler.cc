// The delivery thread: takes new deliveries, moves due ones to their
// destination's ready queue, and starts attempts as quotas, circuits,
// in-flight caps and OAuth tokens allow; finishes them as answers arrive.

#include <algorithm>
#include <utility>

#include "dispatcher_impl.h"
#include "request.h"
#include "switchyard/core/log.h"

namespace switchyard::destinations {
namespace {

constexpr size_t kMaxResponseKept = 512;         // bytes of a response body kept for error messages
constexpr size_t kMaxTokenResponse = 64 * 1024;  // an OAuth token answer is read whole up to this

}  // namespace

// A task new to memory: held if its destination has room, else left on
// disk (it is stored) to be paged in later.
void Dispatcher::Impl::admit(core::DeliveryTask&& t) {
  DestState& s = state(t.destination);
  if (s.holding.holds(t.id) || !pager_.admit(s.holding, t)) return;
  enqueue(std::move(t));
}

// A task already held (a retry) goes back to the due-time heap.
void Dispatcher::Impl::enqueue(core::DeliveryTask&& t) {
  DestState& s = state(t.destination);
  ++s.waiting;
  heap_.push(std::move(t));
}

void Dispatcher::Impl::refill() {
  for (auto& [name, s] : dest_) {
    auto page = pager_.refill(name, s.holding, store_);
    if (!page) {
      core::log::error("cannot page in stored deliveries", {{"destination", name}, {"error", page.status().message()}});
      continue;
    }
    for (auto& t : *page) enqueue(std::move(t));
  }
}

// Takes what other threads handed over: new deliveries, DLQ changes,
// the destinations and pause state.
void Dispatcher::Impl::take_inbox(std::shared_ptr<const std::map<std::string, Destination>>* dests,
                                  std::set<std::string>* paused) {
  std::vector<core::DeliveryTask> incoming;
  core::MutexLock lock(mu_);
  incoming.swap(inbox_);
  *dests = destinations_;
  *paused = paused_;
  for (const auto& [name, n] : dlq_removed_) {
    DestState& s = state(name);
    s.dlq_count = s.dlq_count > n ? s.dlq_count - n : 0;
    s.m.dlq_depth->Set(static_cast<double>(s.dlq_count));
  }
  dlq_removed_.clear();
  for (const auto& [name, n] : dlq_counts_) {
    DestState& s = state(name);
    s.dlq_count = n;
    s.m.dlq_depth->Set(static_cast<double>(n));
  }
  dlq_counts_.clear();
  // Each task handed over is a new stored delivery; a destination seen for
  // the first time counts its stored ones (this batch included).
  std::set<std::string> counted_now;
  for (auto& t : incoming) {
    if (!dest_.count(t.destination)) counted_now.insert(t.destination);
    DestState& s = state(t.destination);
    if (!counted_now.count(t.destination)) ++s.stored;
    admit(std::move(t));
  }
  for (const auto& name : recover_) state(name).holding.on_disk = true;
  recover_.clear();
  for (const auto& name : forget_) drop_destination(name);
  forget_.clear();
  for (const auto& [name, n] : stored_elsewhere_) {
    DestState& s = state(name);
    s.stored += n;
    s.holding.on_disk = true;
  }
  stored_elsewhere_.clear();
}

// Cluster mode: another node delivers for `name` now. What is in memory
// goes without a store write; attempts in flight finish and record their
// outcome (the store ignores what it no longer holds).
void Dispatcher::Impl::drop_destination(const std::string& name) {
  auto it = dest_.find(name);
  if (it == dest_.end()) return;
  DestState& s = it->second;
  heap_.remove_destination(name);
  s.ready.clear();
  s.waiting = 0;
  std::vector<std::string> ids;
  for (const auto& [id, held] : s.holding.known) ids.push_back(id);
  for (const auto& id : ids) pager_.forget(s.holding, id);
  s.holding = Holding{};
  s.stored = 0;
  s.m.backlog->Set(0);
}

void Dispatcher::Impl::run() {
  while (!stopping_) {
    std::shared_ptr<const std::map<std::string, Destination>> dests;
    std::set<std::string> paused;
    take_inbox(&dests, &paused);
    int64_t now = clock_.wall_ms();
    if (dests != dests_seen_) {  // new configuration: authorize new OAuth connections right away
      dests_seen_ = dests;
      if (dests)
        for (const auto& [name, d] : *dests) {
          state(name);  // its series exist from now on
          if (d.oauth) tokens_.authorize(*d.oauth);
        }
    }
    refill();
    while (!heap_.empty() && heap_.top().due_ms <= now) {
      core::DeliveryTask t = heap_.take();
      DestState& s = state(t.destination);
      --s.waiting;
      s.ready.push(std::move(t));
    }
    int64_t wake_at = heap_.empty() ? now + 1000 : std::min(heap_.top().due_ms, now + 1000);
    start_attempts(dests.get(), paused, now, &wake_at);
    bool completed = false;
    for (HttpResult& r : transport_.perform()) {
      finish(std::move(r));
      completed = true;
    }
    flush_finished();
    // While transfers complete back to back, the admin view is refreshed
    // every 100 ms; it is always current once the loop goes idle.
    if (!completed || now - stats_published_ms_ >= 100) {
      publish_stats();
      stats_published_ms_ = now;
    }
    ++passes_;
    if (completed) continue;
    now = clock_.wall_ms();
    transport_.wait(static_cast<int>(std::clamp<int64_t>(wake_at - now, 0, 1000)));
  }
  // Abandon transfers in flight: their tasks are still stored and will be
  // retried after the next start.
  transport_.abandon_all();
  calls_.clear();
}

// Starts the attempts that may start now. Destinations take turns from a
// rotating start, so that when the global cap on requests in flight is
// reached none is starved.
void Dispatcher::Impl::start_attempts(const std::map<std::string, Destination>* dests,
                                      const std::set<std::string>& paused, int64_t now, int64_t* wake_at) {
  const size_t max_total = std::max<uint32_t>(options_.max_in_flight_total, 1);
  // While the store cannot write (its disk under the reserve), no new
  // attempt starts: its outcome could not be recorded. Delivery resumes
  // by itself once space is back; everything waits stored.
  const bool writable = store_.writable();
  if (!writable) *wake_at = std::min(*wake_at, now + 500);
  const int64_t mono = clock_.mono_ms();
  auto first = dest_.lower_bound(next_turn_);
  for (size_t visited = 0, n = writable ? dest_.size() : 0; visited < n; ++visited, ++first) {
    if (first == dest_.end()) first = dest_.begin();
    if (transport_.in_flight() >= max_total) {
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
    if (!(s.breaker.options() == d->circuit)) s.breaker.set_options(d->circuit);
    s.limit.set_max(d->max_concurrency);
    s.adaptive = d->adaptive_concurrency;
    const uint32_t cap = d->adaptive_concurrency ? s.limit.limit() : d->max_concurrency;
    if (d->oauth && !oauth_ready(*d->oauth, s, now, wake_at)) continue;
    while (!s.ready.empty() && s.in_flight < cap && transport_.in_flight() < max_total) {
      // Cluster mode: asked right before every send, so a node whose lease
      // is fenced (paused, cut off from NATS) sends nothing more.
      if (options_.may_send && !options_.may_send(name)) {
        *wake_at = std::min(*wake_at, now + 250);
        break;
      }
      // A half-open circuit's trials go to fresh deliveries first: a retry
      // may be a poison event, which says nothing about the endpoint.
      const bool trial = s.breaker.half_open();
      if (!s.ready.front(trial).render_error.empty()) {  // nothing to send: no rate token used
        core::DeliveryTask t = s.ready.pop(trial);
        fail_for_good(t, t.render_error_code, t.render_error, "", s);
        continue;
      }
      int64_t probe_at = mono;
      if (!s.breaker.may_send(mono, &probe_at)) {  // open, or its trials in flight: wait
        if (probe_at > mono) *wake_at = std::min(*wake_at, now + (probe_at - mono));
        break;
      }
      if (!s.window.allowed(mono)) {
        *wake_at = std::min(*wake_at, now + (s.window.next_allowed() - mono));
        break;
      }
      const bool is_trial = s.breaker.sent(mono);
      const RateWindow::Slot slot = s.window.record(mono);
      begin(*d, s, s.ready.pop(is_trial), now, slot, is_trial);
    }
  }
}

// Tasks whose destination is not configured (removed by a reload) stay
// stored and wait in their queue until it comes back.
void Dispatcher::Impl::warn_missing(const std::string& name, DestState& s) {
  if (s.warned_missing) return;
  core::log::warn("deliveries wait for a destination that is not configured",
                  {{"destination", name}, {"count", std::to_string(s.ready.size())}});
  s.warned_missing = true;
}

// A destination whose connection has no usable token waits while one is
// fetched; when the authorization endpoint has failed, its due deliveries
// fail an attempt (NO_PERMISSIONS) and follow their retry policy, as
// EventBridge does with a deauthorized connection.
bool Dispatcher::Impl::oauth_ready(const OAuthClientCredentials& c, DestState& s, int64_t now, int64_t* wake_at) {
  int64_t retry_at = 0;
  switch (tokens_.ready(c, &retry_at)) {
    case TokenCache::Readiness::kReady: return true;
    case TokenCache::Readiness::kFetching: return false;  // its answer wakes the loop
    case TokenCache::Readiness::kDeauthorized: break;
  }
  *wake_at = std::min(*wake_at, now + (retry_at - clock_.mono_ms()));
  Outcome outcome;
  outcome.verdict = Verdict::kRetryable;
  outcome.error_code = "NO_PERMISSIONS";
  outcome.message = "no OAuth token for connection '" + c.connection + "': " + tokens_.last_error(c);
  while (!s.ready.empty()) {
    core::DeliveryTask t = s.ready.pop();
    ++t.attempts;
    t.last_status = 0;
    fail_attempt(std::move(t), outcome, s, now);
  }
  return false;
}

void Dispatcher::Impl::send_token_request(const std::string& connection, const TokenRequest& req) {
  HttpCall call;
  call.method = req.method;
  call.url = req.url;
  call.body = req.body;
  call.keep_response_bytes = kMaxTokenResponse;
  for (const auto& [k, v] : req.headers) call.headers.push_back(k + ": " + v);
  call.headers.emplace_back("User-Agent: Amazon/EventBridge/ApiDestinations");
  call.headers.emplace_back("Expect:");
  Call c;
  c.token_for = connection;
  c.started_ms = clock_.wall_ms();
  calls_.emplace(transport_.start(std::move(call)), std::move(c));
}

void Dispatcher::Impl::begin(const Destination& d, DestState& s, core::DeliveryTask&& task, int64_t now,
                             RateWindow::Slot slot, bool trial) {
  Call c;
  c.task = std::move(task);
  c.started_ms = now;
  c.rate_slot = slot;
  c.trial = trial;
  c.in_flight_before = s.in_flight;
  const std::string* authorization = d.oauth ? &tokens_.authorization(*d.oauth) : nullptr;
  OutgoingRequest request;
  RequestProblem problem;
  if (!build_request(d, c.task, now, authorization, &request, &problem)) {
    s.window.answered(slot, clock_.mono_ms());  // nothing was sent
    s.breaker.unsent();
    fail_for_good(c.task, problem.code, problem.message, "", s);
    return;
  }
  if (d.oauth) {
    c.oauth_connection = d.oauth->connection;
    c.token_generation = tokens_.generation(*d.oauth);
  }
  HttpCall call;
  call.method = d.method;
  call.url = std::move(request.url);
  call.headers = std::move(request.headers);
  call.body = std::move(request.body);
  call.keep_response_bytes = kMaxResponseKept;
  call.timeout_ms = d.timeout_ms;
  ++s.in_flight;
  s.m.invocations->Increment();
  calls_.emplace(transport_.start(std::move(call)), std::move(c));
}

void Dispatcher::Impl::finish(HttpResult&& r) {
  auto it = calls_.find(r.id);
  if (it == calls_.end()) return;
  Call c = std::move(it->second);
  calls_.erase(it);
  if (!c.token_for.empty()) {
    tokens_.answered(c.token_for, r.status, r.error, r.response_head);
    return;
  }
  if ((r.status == 401 || r.status == 407) && !c.oauth_connection.empty())
    tokens_.refused(c.oauth_connection, c.token_generation);  // the next attempt fetches a new one

  DestState& s = state(c.task.destination);
  --s.in_flight;
  const int64_t now = clock_.wall_ms();
  s.window.answered(c.rate_slot, clock_.mono_ms());
  s.m.latency->Observe(static_cast<double>(now - c.started_ms) / 1000.0);
  const Outcome outcome = classify(r.status, r.failure, r.error, r.retry_after, now / 1000);
  // A 429 while the adaptive limit can still shrink is the receiver asking
  // for fewer requests at once: the limit answers it, not the circuit. At
  // the floor (or with a fixed limit) it counts as a failure like a 5xx.
  const bool absorbed = r.status == 429 && s.adaptive && s.limit.limit() > 1;
  // The receiver asking for less: 429, 503, or no answer in time.
  s.limit.ended(r.status == 429 || r.status == 503 || r.failure == TransportFailure::kTimeout, now - c.started_ms,
                c.in_flight_before);
  s.m.concurrency_limit->Set(static_cast<double>(s.limit.limit()));
  core::DeliveryTask& task = c.task;
  ++task.attempts;
  task.last_status = static_cast<int>(r.status);

  track_circuit(s, task.destination, outcome, c.trial, task.attempts == 1, absorbed);
  if (!s.holding.holds(task.id)) {
    // Forgotten while in flight (cluster mode: the destination moved to
    // another node, which delivers it again). Success is still recorded:
    // it keeps the duplicate from being sent once more when it can.
    if (outcome.verdict == Verdict::kDelivered) finished_.push_back(std::move(task));
    return;
  }
  if (outcome.verdict == Verdict::kDelivered) {
    pager_.forget(s.holding, task.id);
    s.m.delivered->Increment();
    ++delivered_count_[task.destination];
    if (const int64_t sec = now / 1000; !s.recent.empty() && s.recent.back().first == sec)
      ++s.recent.back().second;
    else
      s.recent.emplace_back(sec, 1);
    if (core::log::enabled(core::log::Level::kDebug))
      core::log::debug("delivered", {{"request_id", task.request_id},
                                     {"event_id", task.event_id},
                                     {"destination", task.destination},
                                     {"webhook_id", task.id},
                                     {"attempt", std::to_string(task.attempts)},
                                     {"status", std::to_string(task.last_status)},
                                     {"ms", std::to_string(now - c.started_ms)}});
    finished_.push_back(std::move(task));  // deleted from the store in one write per pass
    return;
  }
  fail_attempt(std::move(task), outcome, s, now);
}

}  // namespace switchyard::destinations
