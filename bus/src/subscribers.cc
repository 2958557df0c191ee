#include "switchyard/bus/subscribers.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "pipeline.h"
#include "subscriber_delivery.h"
#include "switchyard/core/log.h"
#include "switchyard/core/mutex.h"
#include "switchyard/core/time.h"
#include "switchyard/destinations/dispatcher.h"
#include "switchyard/storage/store.h"

namespace switchyard::bus {

namespace {

constexpr const char* kMetaPrefix = "subscriber/";

// A subscriber's stored progress.
struct Progress {
  uint64_t position = 1;   // the next log position it reads
  uint64_t live_from = 1;  // positions below it were published before the subscriber existed
  bool running = true;
  bool ended = false;  // read past its end point
  uint64_t delivered = 0;
  int64_t created_ms = 0;
};

std::string key_of(const std::string& bus, const std::string& name) { return kMetaPrefix + bus + "/" + name; }

std::string encode(const Progress& p) {
  return nlohmann::json{{"position", p.position}, {"live_from", p.live_from}, {"running", p.running},
                        {"ended", p.ended},       {"delivered", p.delivered}, {"created_ms", p.created_ms}}
      .dump();
}

std::optional<Progress> decode(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    Progress p;
    p.position = j.at("position").get<uint64_t>();
    p.live_from = j.at("live_from").get<uint64_t>();
    p.running = j.at("running").get<bool>();
    p.ended = j.value("ended", false);
    p.delivered = j.value("delivered", uint64_t{0});
    p.created_ms = j.value("created_ms", int64_t{0});
    return p;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::string subscriber_json(const SubscriberStatus& s) {
  nlohmann::json j = {{"bus", s.bus},
                      {"name", s.name},
                      {"type", s.type},
                      {"target", s.target},
                      {"state", s.state},
                      {"starting_position", s.starting_position},
                      {"position", s.position},
                      {"log_first_position", s.log_first},
                      {"log_next_position", s.log_next},
                      {"backlog", s.log_next > s.position ? s.log_next - s.position : 0},
                      {"delivered", s.delivered}};
  if (s.created_ms) j["created"] = core::format_time_ms(s.created_ms);
  return j.dump();
}

class Subscribers::Impl {
 public:
  Impl(Options options, storage::Store& store, destinations::Dispatcher& dispatcher, prometheus::Registry& registry,
       core::Clock& clock)
      : options_(std::move(options)),
        clock_(clock),
        store_(store),
        pipeline_(store, dispatcher),
        lag_(prometheus::BuildGauge()
                 .Name("switchyard_subscriber_backlog_events")
                 .Help("Log entries a subscriber has not read yet (its bus's next position minus its own)")
                 .Register(registry)),
        expired_(prometheus::BuildCounter()
                     .Name("switchyard_bus_log_expired_events_total")
                     .Help("Bus log entries removed past the bus's retention, by bus")
                     .Register(registry)) {}

  ~Impl() { stop(); }

  void set_routing(std::shared_ptr<const Routing> routing) {
    {
      core::MutexLock lock(mu_);
      routing_ = std::move(routing);
    }
    cv_.notify_all();
  }

  void start() {
    core::MutexLock lock(mu_);
    if (thread_.joinable()) return;
    stopping_ = false;
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

  void notify() {
    {
      core::MutexLock lock(mu_);
      poked_ = true;
    }
    cv_.notify_all();
  }

  std::vector<SubscriberStatus> list() {
    std::shared_ptr<const Routing> routing;
    std::map<std::string, Progress> progress;
    {
      core::MutexLock lock(mu_);
      routing = routing_;
      progress = progress_;
    }
    std::vector<SubscriberStatus> out;
    if (!routing) return out;
    if (!may_run()) {  // another node runs them: what it stored
      if (auto stored = read_stored()) progress = std::move(*stored);
    }
    for (const auto& s : routing->subscribers) {
      SubscriberStatus st;
      st.bus = s.bus;
      st.name = s.name;
      st.type = s.fifo ? "FIFO" : "UNORDERED";
      st.target = s.target.bus.empty() ? "api-destination/" + s.target.destination : "event-bus/" + s.target.bus;
      st.starting_position = s.starting_position;
      auto it = progress.find(key_of(s.bus, s.name));
      if (it == progress.end()) {
        st.state = "STARTING";
      } else {
        const Progress& p = it->second;
        st.state = p.ended ? "ENDED" : p.running ? "RUNNING" : "STOPPED";
        st.position = p.position;
        st.delivered = p.delivered;
        st.created_ms = p.created_ms;
      }
      if (auto bounds = store_.log_bounds(s.bus)) {
        st.log_first = bounds->first;
        st.log_next = bounds->next;
      }
      out.push_back(std::move(st));
    }
    return out;
  }

 private:
  bool may_run() const { return !options_.may_run || options_.may_run(); }

  std::optional<std::map<std::string, Progress>> read_stored() {
    auto stored = store_.list_meta(kMetaPrefix);
    if (!stored) {
      core::log::warn("cannot read the subscribers' progress", {{"error", stored.status().message()}});
      return std::nullopt;
    }
    std::map<std::string, Progress> out;
    for (const auto& [key, value] : *stored) {
      if (auto p = decode(value))
        out[key] = *p;
      else
        core::log::error("a subscriber's stored progress is unreadable; it starts again", {{"key", key}});
    }
    return out;
  }

  // Waits up to `ms` or until notified; false once stopping.
  bool pause(int64_t ms) {
    core::MutexWaitLock lock(mu_);
    if (!stopping_ && !poked_) cv_.wait_for(lock.native(), std::chrono::milliseconds(ms));
    poked_ = false;
    return !stopping_;
  }

  void run() {
    int64_t next_retention = INT64_MIN;  // on the monotonic clock
    bool loaded = false;
    for (;;) {
      std::shared_ptr<const Routing> routing;
      {
        core::MutexLock lock(mu_);
        if (stopping_) return;
        routing = routing_;
      }
      if (!routing || !may_run()) {  // another node runs them: take over from the store when this one does
        loaded = false;
        next_retention = INT64_MIN;
        if (!pause(1000)) return;
        continue;
      }
      if (!loaded) {
        auto stored = read_stored();
        if (!stored) {
          if (!pause(1000)) return;
          continue;
        }
        core::MutexLock lock(mu_);
        progress_ = std::move(*stored);
        loaded = true;
      }
      reconcile(*routing);
      if (const int64_t mono = clock_.mono_ms(); mono >= next_retention) {
        retention(*routing);
        next_retention = mono + options_.retention_interval_ms;
      }
      size_t did = 0;
      for (const auto& s : routing->subscribers) did += step(*routing, s);
      if (did == 0 && !pause(options_.idle_poll_ms)) return;
    }
  }

  void persist(const std::string& key, const Progress& p) {
    if (auto st = store_.put_meta(key, encode(p)); !st)
      core::log::error("cannot store a subscriber's progress", {{"subscriber", key}, {"error", st.message()}});
  }

  // New subscribers get their starting position; STOPPED and RUNNING in
  // the config take effect.
  void reconcile(const Routing& routing) {
    for (const auto& s : routing.subscribers) {
      const std::string key = key_of(s.bus, s.name);
      std::optional<Progress> known;
      {
        core::MutexLock lock(mu_);
        if (auto it = progress_.find(key); it != progress_.end()) known = it->second;
      }
      if (known && known->running == s.running) continue;
      auto bounds = store_.log_bounds(s.bus);
      if (!bounds) {
        core::log::warn("cannot read a bus log", {{"bus", s.bus}, {"error", bounds.status().message()}});
        continue;
      }
      Progress p;
      if (!known) {
        // LATEST counts from when the configuration naming it was taken,
        // not from when this thread (in cluster mode, maybe on another
        // node, seconds later) first sees it: nothing published meanwhile
        // is missed.
        auto latest = store_.log_position_at(s.bus, routing.built_ms);
        if (!latest) {
          core::log::warn("cannot read a bus log", {{"bus", s.bus}, {"error", latest.status().message()}});
          continue;
        }
        p.live_from = *latest;
        p.position = *latest;
        if (s.starting_position == "HORIZON") {
          p.position = bounds->first;
        } else if (s.starting_position == "TIMESTAMP") {
          auto at = store_.log_position_at(s.bus, s.start_ms);
          if (!at) {
            core::log::warn("cannot find a subscriber's starting point",
                            {{"subscriber", s.name}, {"error", at.status().message()}});
            continue;
          }
          p.position = *at;
        }
        p.running = s.running;
        p.created_ms = clock_.wall_ms();
        core::log::info("subscriber created", {{"bus", s.bus},
                                               {"subscriber", s.name},
                                               {"starting_position", s.starting_position},
                                               {"position", std::to_string(p.position)}});
      } else {
        p = *known;
        p.running = s.running;
        if (s.running && s.resume_latest) p.position = std::max(p.position, bounds->next);
        core::log::info(s.running ? "subscriber resumed" : "subscriber stopped",
                        {{"bus", s.bus}, {"subscriber", s.name}, {"position", std::to_string(p.position)}});
      }
      persist(key, p);
      core::MutexLock lock(mu_);
      progress_[key] = p;
    }
  }

  // Puts the entry on the subscriber's target bus: an envelope goes
  // through that bus's rules and into its log, other data into its log.
  static void forward(const Routing& routing, const SubscriberRoute& s, const storage::LogEntry& e,
                      storage::IngestBatch& batch) {
    auto it = routing.buses.find(s.target.bus);
    if (it == routing.buses.end()) return;  // validated: never
    const BusRoute& to = it->second;
    if (std::find(e.via.begin(), e.via.end(), to.bus.name) != e.via.end()) {
      if (to.loops) to.loops->Increment();
      return;
    }
    std::vector<std::string> via = e.via;
    via.push_back(e.bus);
    if (to.forwarded) to.forwarded->Increment();
    if (e.content_type == kEnvelopeContentType) {
      if (auto event = event_of_envelope(e.data, e.bus, e.ingested_ms)) {
        event->trace_header = e.trace_header;
        Pipeline::route(to, *event, e.data, 0, batch, {.archive = false, .routing = &routing, .via = &via});
        return;
      }
    }
    if (!to.bus.logged) return;
    storage::LogEntry copy = e;
    copy.bus = to.bus.name;
    copy.via = std::move(via);
    batch.log.push_back(std::move(copy));
  }

  // One chunk of one subscriber; returns how many log entries it passed.
  size_t step(const Routing& routing, const SubscriberRoute& s) {
    const std::string key = key_of(s.bus, s.name);
    Progress p;
    {
      core::MutexLock lock(mu_);
      auto it = progress_.find(key);
      if (it == progress_.end()) return 0;
      p = it->second;
    }
    if (!p.running || p.ended) return 0;
    auto read = store_.read_log(s.bus, p.position, options_.chunk);
    if (!read) {
      core::log::warn("a subscriber cannot read its bus's log; retrying",
                      {{"subscriber", s.name}, {"error", read.status().message()}});
      pause(1000);
      return 0;
    }
    if (read->empty()) return 0;
    auto batch = std::make_shared<storage::IngestBatch>();
    const int64_t now = clock_.wall_ms();
    size_t passed = 0;
    for (const storage::LogEntry& e : *read) {
      if (s.end_ms > 0 && e.ingested_ms >= s.end_ms) {
        p.ended = true;
        core::log::info("subscriber reached its end point", {{"bus", s.bus}, {"subscriber", s.name}});
        break;
      }
      ++passed;
      p.position = e.position + 1;
      const std::string system =
          system_metadata_json(e, e.position < p.live_from ? DeliveryType::kReplay : DeliveryType::kLive);
      if (!passes_filters(s, e, system)) {
        if (s.filtered) s.filtered->Increment();
        continue;
      }
      if (s.matched) s.matched->Increment();
      ++p.delivered;
      if (!s.target.bus.empty())
        forward(routing, s, e, *batch);
      else
        batch->tasks.push_back(subscriber_task(s, e, system, now));
    }
    batch->meta.emplace_back(key, encode(p));
    std::promise<core::Status> done;
    pipeline_.commit(batch, [&done](core::Status st) { done.set_value(std::move(st)); });
    if (auto st = done.get_future().get(); !st) {
      core::log::warn("a subscriber's step was not stored; retrying",
                      {{"subscriber", s.name}, {"error", st.message()}});
      pause(1000);
      return 0;
    }
    if (!batch->log.empty()) notify();  // it put events on a bus that has subscribers too
    {
      core::MutexLock lock(mu_);
      progress_[key] = p;
    }
    if (auto bounds = store_.log_bounds(s.bus))
      lag_.Add({{"bus", s.bus}, {"subscriber", s.name}})
          .Set(static_cast<double>(bounds->next > p.position ? bounds->next - p.position : 0));
    return std::max<size_t>(passed, p.ended ? 1 : 0);
  }

  // Entries older than a bus's retention go; on a bus that keeps them only
  // as long as needed (retention 0), those every subscriber has passed.
  void retention(const Routing& routing) {
    const int64_t now = clock_.wall_ms();
    for (const auto& [name, bus] : routing.buses) {
      if (!bus.bus.logged) continue;
      const uint32_t days = bus.bus.retention_days;
      auto removed = store_.expire_log(name, days > 0 ? now - int64_t{days} * 86'400'000 : 0, days);
      if (!removed) {
        core::log::warn("cannot expire a bus log", {{"bus", name}, {"error", removed.status().message()}});
        continue;
      }
      if (*removed) {
        expired_.Add({{"bus", name}}).Increment(static_cast<double>(*removed));
        core::log::info("expired bus log entries removed", {{"bus", name}, {"count", std::to_string(*removed)}});
      }
      if (days > 0) continue;
      auto bounds = store_.log_bounds(name);
      if (!bounds) continue;
      uint64_t needed = bounds->next;
      bool all_placed = true;
      {
        core::MutexLock lock(mu_);
        for (const auto& s : routing.subscribers) {
          if (s.bus != name) continue;
          auto it = progress_.find(key_of(s.bus, s.name));
          if (it == progress_.end()) {
            all_placed = false;
            break;
          }
          needed = std::min(needed, it->second.position);
        }
      }
      if (!all_placed || needed <= bounds->first) continue;
      if (auto st = store_.trim_log(name, needed); !st)
        core::log::warn("cannot trim a bus log", {{"bus", name}, {"error", st.message()}});
    }
  }

  Options options_;
  core::Clock& clock_;
  storage::Store& store_;
  Pipeline pipeline_;  // store -> deliver, as HTTP ingest does
  prometheus::Family<prometheus::Gauge>& lag_;
  prometheus::Family<prometheus::Counter>& expired_;

  mutable core::Mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const Routing> routing_ SY_GUARDED_BY(mu_);
  std::map<std::string, Progress> progress_ SY_GUARDED_BY(mu_);  // by key_of(bus, name)
  bool poked_ SY_GUARDED_BY(mu_) = false;
  bool stopping_ SY_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

Subscribers::Subscribers(Options options, storage::Store& store, destinations::Dispatcher& dispatcher,
                         prometheus::Registry& registry, core::Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(options), store, dispatcher, registry, clock)) {}
Subscribers::~Subscribers() = default;
void Subscribers::set_routing(std::shared_ptr<const Routing> routing) { impl_->set_routing(std::move(routing)); }
void Subscribers::start() { impl_->start(); }
void Subscribers::stop() { impl_->stop(); }
void Subscribers::notify() { impl_->notify(); }
std::vector<SubscriberStatus> Subscribers::list() const { return impl_->list(); }

}  // namespace switchyard::bus
