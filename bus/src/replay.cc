#include "switchyard/bus/replay.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "pipeline.h"
#include "replay_record.h"
#include "switchyard/core/crypto.h"
#include "switchyard/core/log.h"
#include "switchyard/core/mutex.h"
#include "switchyard/core/time.h"
#include "switchyard/destinations/dispatcher.h"
#include "switchyard/storage/store.h"

namespace switchyard::bus {

namespace {

constexpr const char* kMetaPrefix = "replay/";
// Shared mode: a cancellation on any node is a record of its own, so that
// it never races the running node's progress writes.
constexpr const char* kCancelPrefix = "replay-cancel/";
constexpr size_t kMaxActive = 10;  // EventBridge: 10 active replays per account and region

bool active(const std::string& state) { return state == "STARTING" || state == "RUNNING" || state == "CANCELLING"; }

// Whole seconds t with start_ms <= t*1000 < end_ms are [ceil(start/1000), ceil(end/1000)).
int64_t ceil_s(int64_t ms) { return ms >= 0 ? (ms + 999) / 1000 : -((-ms) / 1000); }

}  // namespace

class Replayer::Impl {
 public:
  Impl(Options options, storage::Store& store, destinations::Dispatcher& dispatcher, prometheus::Registry& registry,
       core::Clock& clock)
      : options_(options),
        clock_(clock),
        store_(store),
        dispatcher_(dispatcher),
        replayed_(prometheus::BuildCounter()
                      .Name("switchyard_replayed_events_total")
                      .Help("Archived events sent through matching again by replays, by archive")
                      .Register(registry)),
        expired_(prometheus::BuildCounter()
                     .Name("switchyard_archive_expired_events_total")
                     .Help("Archived events removed after their archive's retention, by archive")
                     .Register(registry)),
        archive_events_(prometheus::BuildGauge()
                            .Name("switchyard_archive_events")
                            .Help("Events kept per archive")
                            .Register(registry)),
        archive_bytes_(prometheus::BuildGauge()
                           .Name("switchyard_archive_bytes")
                           .Help("Bytes of event envelopes kept per archive")
                           .Register(registry)) {
    clock_watch_ = clock_.watch([this] { cv_.notify_all(); });  // a test's clock moved: look again
  }

  ~Impl() {
    stop();
    clock_.unwatch(clock_watch_);
  }

  void set_routing(std::shared_ptr<const Routing> routing) {
    {
      core::MutexLock lock(mu_);
      routing_ = std::move(routing);
    }
    cv_.notify_all();
  }

  void start() {
    {
      auto stored = store_.list_meta(kMetaPrefix);
      if (!stored) core::log::error("cannot read the stored replays", {{"error", stored.status().message()}});
      core::MutexLock lock(mu_);
      for (const auto& [key, value] : stored.value_or({})) {
        auto s = decode_replay(value);
        if (!s) core::log::error("skipping a stored replay", {{"key", key}, {"error", s.status().message()}});
        if (s) {
          if (active(s->state))
            core::log::info(
                "replay resumes",
                {{"replay", s->name}, {"state", s->state}, {"events_replayed", std::to_string(s->events_replayed)}});
          replays_[s->name] = std::move(*s);
        }
      }
    }
    thread_ = std::thread([this] { run(); });
  }

  void stop() {
    {
      core::MutexLock lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  ReplayAnswer start_replay(const ReplayRequest& r) {
    ReplayAnswer a;
    auto fail = [&a](int status, std::string code, std::string message) {
      a.http_status = status;
      a.code = std::move(code);
      a.message = std::move(message);
      return a;
    };
    static const std::regex kName(R"([\.\-_A-Za-z0-9]{1,64})");
    if (!std::regex_match(r.name, kName))
      return fail(
          400, "ValidationException",
          "Parameter ReplayName is not valid. Reason: 1 to 64 characters of letters, digits, '.', '-' and '_'.");
    if (r.start_ms >= r.end_ms)
      return fail(400, "ValidationException",
                  "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.");
    if (!refresh()) return fail(503, "ServiceUnavailable", "The stored replays cannot be read now.");
    core::MutexLock lock(mu_);
    if (!routing_) return fail(503, "ServiceUnavailable", "No configuration loaded.");
    auto archive = routing_->archives.find(r.archive);
    if (archive == routing_->archives.end())
      return fail(400, "ValidationException",
                  "Parameter EventSourceArn is not valid. Reason: Archive " + r.archive + " does not exist.");
    const BusRoute& bus = routing_->buses.at(archive->second.bus);
    for (const auto& rule : r.rules)
      if (std::none_of(bus.rules.begin(), bus.rules.end(), [&](const RuleRoute& rr) { return rr.name == rule; }))
        return fail(400, "ValidationException",
                    "Parameter Destination.FilterArns is not valid. Reason: Rule " + rule +
                        " does not exist on event bus " + bus.bus.name + ".");
    if (replays_.count(r.name))
      return fail(409, "ResourceAlreadyExistsException", "Replay " + r.name + " already exists.");
    if (std::count_if(replays_.begin(), replays_.end(), [](const auto& p) { return active(p.second.state); }) >=
        static_cast<long>(kMaxActive))
      return fail(400, "LimitExceededException",
                  "The requested resource exceeds the maximum number allowed (" + std::to_string(kMaxActive) +
                      " active replays).");
    ReplayStatus s;
    s.name = r.name;
    s.archive = r.archive;
    s.bus = bus.bus.name;
    s.description = r.description;
    s.start_ms = r.start_ms;
    s.end_ms = r.end_ms;
    s.rules = r.rules;
    s.state = "STARTING";
    s.started_ms = clock_.wall_ms();
    if (auto st = store_.put_meta(kMetaPrefix + s.name, encode_replay(s)); !st)
      return fail(503, "ServiceUnavailable", "The replay could not be stored: " + st.message());
    replays_[s.name] = s;
    core::log::info("replay started", {{"replay", s.name},
                                       {"archive", s.archive},
                                       {"start_time", core::format_time_ms(s.start_ms)},
                                       {"end_time", core::format_time_ms(s.end_ms)}});
    cv_.notify_all();
    a.status = s;
    return a;
  }

  ReplayAnswer cancel(const std::string& name) {
    ReplayAnswer a;
    if (!refresh()) {
      a.http_status = 503;
      a.code = "ServiceUnavailable";
      a.message = "The stored replays cannot be read now.";
      return a;
    }
    core::MutexLock lock(mu_);
    auto it = replays_.find(name);
    if (it == replays_.end()) {
      a.http_status = 404;
      a.code = "ResourceNotFoundException";
      a.message = "Replay " + name + " does not exist.";
      return a;
    }
    ReplayStatus& s = it->second;
    if (s.state != "STARTING" && s.state != "RUNNING") {
      a.http_status = 400;
      a.code = "IllegalStatusException";
      a.message = "Replay " + name + " is " + s.state + " and cannot be cancelled.";
      a.status = s;
      return a;
    }
    if (options_.shared) {
      if (auto st = store_.put_meta(kCancelPrefix + name, "1"); !st) {
        a.http_status = 503;
        a.code = "ServiceUnavailable";
        a.message = "The cancellation could not be stored: " + st.message();
        return a;
      }
      s.state = "CANCELLING";
    } else {
      s.state = "CANCELLING";
      persist(s);
    }
    cv_.notify_all();
    a.status = s;
    return a;
  }

  std::vector<ReplayStatus> list() {
    refresh();  // on failure: as last read
    core::MutexLock lock(mu_);
    std::vector<ReplayStatus> out;
    for (const auto& [_, s] : replays_) out.push_back(s);
    return out;
  }

  std::optional<ReplayStatus> get(const std::string& name) {
    refresh();
    core::MutexLock lock(mu_);
    auto it = replays_.find(name);
    if (it == replays_.end()) return std::nullopt;
    return it->second;
  }

 private:
  // Shared mode: reads every replay again from the store (another node may
  // have started, advanced or cancelled one). False when it cannot.
  bool refresh() {
    if (!options_.shared) return true;
    auto stored = store_.list_meta(kMetaPrefix);
    auto cancelled = store_.list_meta(kCancelPrefix);
    if (!stored || !cancelled) {
      core::log::warn("cannot read the stored replays",
                      {{"error", (!stored ? stored.status() : cancelled.status()).message()}});
      return false;
    }
    std::set<std::string> cancel;
    for (const auto& [key, value] : *cancelled) cancel.insert(key.substr(std::string_view(kCancelPrefix).size()));
    std::map<std::string, ReplayStatus> read;
    for (const auto& [key, value] : *stored) {
      auto s = decode_replay(value);
      if (!s) continue;  // logged at start
      if (cancel.count(s->name) && (s->state == "STARTING" || s->state == "RUNNING")) s->state = "CANCELLING";
      read[s->name] = std::move(*s);
    }
    core::MutexLock lock(mu_);
    replays_ = std::move(read);
    return true;
  }

  bool may_run() const { return !options_.may_run || options_.may_run(); }

  void run() {
    int64_t next_retention = INT64_MIN;  // an interval: on the monotonic clock
    for (;;) {
      if (!may_run()) {  // another node runs them: look again in a second
        std::shared_ptr<const Routing> routing;
        {
          core::MutexWaitLock lock(mu_);
          if (!stopping_) cv_.wait_for(lock.native(), std::chrono::milliseconds(1000));
          if (stopping_) return;
          routing = routing_;
        }
        if (routing) publish_archive_gauges(*routing);
        next_retention = INT64_MIN;  // due at once when this node takes over
        continue;
      }
      refresh();
      std::shared_ptr<const Routing> routing;
      std::string next;  // the active replay to advance
      {
        core::MutexWaitLock lock(mu_);
        // A wake-up that finds nothing to do goes round the loop again.
        if (!stopping_ && !has_work()) cv_.wait_for(lock.native(), std::chrono::milliseconds(1000));
        if (stopping_) return;
        routing = routing_;
        // Round-robin over active replays, one chunk each: the first active
        // one after the last served, else the first active one.
        std::string first;
        for (const auto& [name, s] : replays_) {
          if (!active(s.state)) continue;
          if (first.empty()) first = name;
          if (next.empty() && name > last_turn_) next = name;
        }
        if (next.empty()) next = first;
        if (!next.empty()) last_turn_ = next;
      }
      // The interval counts from when this pass began: a clock that moves
      // while it runs (a test's) makes the next one due, not postponed.
      if (const int64_t mono = clock_.mono_ms(); mono >= next_retention && routing) {
        expire(*routing, clock_.wall_ms());
        next_retention = mono + options_.retention_interval_ms;
      }
      if (routing) publish_archive_gauges(*routing);
      if (next.empty() || !routing) continue;
      const size_t n = step(*routing, next);
      if (n > 0 && options_.max_events_per_second > 0) {
        core::MutexWaitLock lock(mu_);
        const auto until = std::chrono::steady_clock::now() +
                           std::chrono::milliseconds(int64_t(n) * 1000 / options_.max_events_per_second);
        while (!stopping_ && cv_.wait_until(lock.native(), until) != std::cv_status::timeout) {
        }
      }
    }
  }

  bool has_work() const SY_REQUIRES(mu_) {
    return std::any_of(replays_.begin(), replays_.end(), [](const auto& p) { return active(p.second.state); });
  }

  void finish(const std::string& name, const std::string& state, const std::string& reason) {
    core::MutexLock lock(mu_);
    ReplayStatus& s = replays_.at(name);
    s.state = state;
    s.state_reason = reason;
    s.ended_ms = clock_.wall_ms();
    persist(s);
    core::log::info("replay ended", {{"replay", name},
                                     {"state", state},
                                     {"events_replayed", std::to_string(s.events_replayed)},
                                     {"events_total", std::to_string(s.events_total)}});
    if (!reason.empty()) core::log::warn("replay failed", {{"replay", name}, {"reason", reason}});
  }

  // The archive could not be read: the replay waits a second and tries the
  // same step again (its cursor has not moved).
  static size_t read_failed(const std::string& name, const core::Status& st) {
    core::log::warn("replay cannot read its archive; retrying", {{"replay", name}, {"error", st.message()}});
    std::this_thread::sleep_for(std::chrono::seconds(1));
    return 0;
  }

  // One step of one replay: count the window (STARTING), replay one chunk
  // (RUNNING), or settle a cancellation.
  // Returns how many events it replayed.
  size_t step(const Routing& routing, const std::string& name) {
    ReplayStatus s;
    {
      core::MutexLock lock(mu_);
      s = replays_.at(name);
    }
    if (s.state == "CANCELLING") {
      finish(name, "CANCELLED", "");
      return 0;
    }
    auto archive = routing.archives.find(s.archive);
    if (archive == routing.archives.end() || !routing.buses.count(archive->second.bus)) {
      finish(name, "FAILED", "archive " + s.archive + " is no longer configured");
      return 0;
    }
    const BusRoute& bus = routing.buses.at(archive->second.bus);
    const int64_t from_s = ceil_s(s.start_ms), to_s = ceil_s(s.end_ms);
    if (s.state == "STARTING") {
      const auto total = store_.count_archive(s.archive, from_s, to_s);
      if (!total) return read_failed(name, total.status());
      core::MutexLock lock(mu_);
      ReplayStatus& live = replays_.at(name);
      live.events_total = *total;
      if (live.state == "STARTING") live.state = "RUNNING";
      persist(live);
      return 0;
    }
    size_t chunk = options_.chunk;
    if (options_.max_events_per_second > 0)  // small steps, so the pace is even
      chunk = std::clamp<size_t>(options_.max_events_per_second / 10, 1, options_.chunk);
    const auto read = store_.read_archive(s.archive, from_s, to_s, s.cursor, chunk);
    if (!read) return read_failed(name, read.status());
    const std::vector<storage::ArchivedEvent>& events = *read;
    if (events.empty()) {
      finish(name, "COMPLETED", "");
      return 0;
    }

    const std::set<std::string> only(s.rules.begin(), s.rules.end());
    auto batch = std::make_shared<storage::IngestBatch>();
    const int64_t now = clock_.wall_ms();
    for (const auto& a : events) {
      core::Event e;
      e.id = a.id;
      e.bus = bus.bus.name;
      e.time = a.time_s;
      e.ingested_ms = a.ingested_ms;
      e.trace_header = a.trace_header;
      e.replay_name = name;
      const size_t first = batch->tasks.size();
      Pipeline::route(
          bus, e, with_replay_name(a.envelope, name), 0, *batch,
          {.only_rules = s.rules.empty() ? nullptr : &only, .archive = false, .routing = &routing, .log = false});
      for (size_t i = first; i < batch->tasks.size(); ++i) {
        core::DeliveryTask& t = batch->tasks[i];
        t.id += "_" + name;  // a new delivery: its own webhook-id
        t.due_ms = now;
        t.age_from_ms = now;  // the retry policy's age counts from the replay
      }
    }
    ReplayStatus progressed;
    {
      core::MutexLock lock(mu_);
      ReplayStatus& live = replays_.at(name);
      progressed = live;  // a cancellation meanwhile stays recorded
    }
    progressed.cursor = events.back().key;
    progressed.events_replayed += events.size();
    progressed.last_replayed_s = std::max(progressed.last_replayed_s, events.back().time_s);
    batch->meta.emplace_back(kMetaPrefix + name, encode_replay(progressed));
    std::promise<core::Status> done;
    pipeline_.commit(batch, [&done](core::Status st) { done.set_value(std::move(st)); });
    if (auto st = done.get_future().get(); !st) {
      core::log::warn("replay step not stored; retrying", {{"replay", name}, {"error", st.message()}});
      std::this_thread::sleep_for(std::chrono::seconds(1));
      return 0;
    }
    {
      core::MutexLock lock(mu_);
      ReplayStatus& live = replays_.at(name);
      live.cursor = progressed.cursor;
      live.events_replayed = progressed.events_replayed;
      live.last_replayed_s = progressed.last_replayed_s;
      if (live.state == "CANCELLING") persist(live);
    }
    replayed_.Add({{"archive", s.archive}}).Increment(static_cast<double>(events.size()));
    return events.size();
  }

  // Removes accepted events older than 25 hours (one range deletion), and
  // archived events past their retention a bounded chunk at a time, so
  // that ingest (which shares the store) never waits long.
  void expire(const Routing& routing, int64_t now) {
    constexpr size_t kChunk = 5000;
    // Accepted events themselves (the archives keep their own copies).
    if (auto st = store_.expire_events(now - storage::kEventsKeptMs); !st)
      core::log::warn("cannot remove accepted events past 25 hours", {{"error", st.message()}});
    for (const auto& [name, a] : routing.archives) {
      if (auto st = store_.set_archive_retention(name, a.retention_days); !st)
        core::log::warn("cannot set an archive's retention", {{"archive", name}, {"error", st.message()}});
      if (a.retention_days > 0) {
        const int64_t cutoff = now - int64_t{a.retention_days} * 86'400'000;
        uint64_t removed = 0;
        std::string cursor;
        for (;;) {
          const auto n = store_.expire_archive(name, cutoff, kChunk, &cursor);
          if (!n) {  // tried again at the next interval
            core::log::warn("cannot expire archived events", {{"archive", name}, {"error", n.status().message()}});
            break;
          }
          removed += *n;
          if (*n < kChunk || stopping_now()) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        if (removed) {
          expired_.Add({{"archive", name}}).Increment(static_cast<double>(removed));
          core::log::info("expired archived events removed", {{"archive", name}, {"count", std::to_string(removed)}});
        }
      }
    }
  }

  // The archive gauges follow ingest within a second (the store keeps the
  // counts in memory), not only at each retention pass.
  void publish_archive_gauges(const Routing& routing) {
    for (const auto& [name, a] : routing.archives) {
      const auto stats = store_.archive_stats(name);
      archive_events_.Add({{"archive", name}}).Set(static_cast<double>(stats.events));
      archive_bytes_.Add({{"archive", name}}).Set(static_cast<double>(stats.bytes));
    }
  }

  void persist(const ReplayStatus& s) {
    if (auto st = store_.put_meta(kMetaPrefix + s.name, encode_replay(s)); !st)
      core::log::error("cannot store a replay's state", {{"replay", s.name}, {"error", st.message()}});
  }

  bool stopping_now() {
    core::MutexLock lock(mu_);
    return stopping_;
  }

  Options options_;
  core::Clock& clock_;
  int clock_watch_ = 0;
  storage::Store& store_;
  destinations::Dispatcher& dispatcher_;
  Pipeline pipeline_{store_, dispatcher_};  // route -> store -> deliver, as HTTP ingest does
  prometheus::Family<prometheus::Counter>& replayed_;
  prometheus::Family<prometheus::Counter>& expired_;
  prometheus::Family<prometheus::Gauge>& archive_events_;
  prometheus::Family<prometheus::Gauge>& archive_bytes_;

  mutable core::Mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const Routing> routing_ SY_GUARDED_BY(mu_);
  std::map<std::string, ReplayStatus> replays_ SY_GUARDED_BY(mu_);
  std::string last_turn_ SY_GUARDED_BY(mu_);
  bool stopping_ SY_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

Replayer::Replayer(Options options, storage::Store& store, destinations::Dispatcher& dispatcher,
                   prometheus::Registry& registry, core::Clock& clock)
    : impl_(std::make_unique<Impl>(options, store, dispatcher, registry, clock)) {}
Replayer::~Replayer() = default;
void Replayer::set_routing(std::shared_ptr<const Routing> routing) { impl_->set_routing(std::move(routing)); }
void Replayer::start() { impl_->start(); }
void Replayer::stop() { impl_->stop(); }
ReplayAnswer Replayer::start_replay(const ReplayRequest& request) { return impl_->start_replay(request); }
ReplayAnswer Replayer::cancel(const std::string& name) { return impl_->cancel(name); }
std::vector<ReplayStatus> Replayer::list() const { return impl_->list(); }  // Impl reads the store again
std::optional<ReplayStatus> Replayer::get(const std::string& name) const { return impl_->get(name); }

}  // namespace switchyard::bus
