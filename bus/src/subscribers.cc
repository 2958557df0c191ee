#include "switchyard/bus/subscribers.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include "pipeline.h"
#include "subscriber_delivery.h"
#include "subscriber_fifo.h"
#include "subscriber_progress.h"
#include "subscriber_retention.h"
#include "switchyard/core/log.h"
#include "switchyard/core/mutex.h"
#include "switchyard/core/time.h"
#include "switchyard/destinations/dispatcher.h"
#include "switchyard/storage/store.h"

namespace switchyard::bus {

class Subscribers::Impl {
  // A FIFO delivery that left the queue, as the dispatcher told it.
  struct Settled {
    std::string key;  // the task's group_key
    uint64_t position = 0;
    bool dead = false;
  };

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
                     .Register(registry)),
        blocked_(prometheus::BuildGauge()
                     .Name("switchyard_subscriber_groups_blocked")
                     .Help("FIFO groups with events waiting behind an unfinished or parked delivery")
                     .Register(registry)),
        oldest_blocked_(prometheus::BuildGauge()
                            .Name("switchyard_subscriber_oldest_blocked_seconds")
                            .Help("How long the longest-blocked FIFO group of a subscriber has waited")
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
    std::map<std::string, FifoSubscriber::Stats> fifo;
    {
      core::MutexLock lock(mu_);
      routing = routing_;
      progress = progress_;
      fifo = fifo_stats_;
    }
    std::vector<SubscriberStatus> out;
    if (!routing) return out;
    std::optional<std::map<std::string, Progress>> stored;  // read once, for those another node runs
    for (const auto& s : routing->subscribers) {
      SubscriberStatus st;
      st.bus = s.bus;
      st.name = s.name;
      st.type = s.fifo ? "FIFO" : "UNORDERED";
      st.target = s.target.bus.empty() ? "api-destination/" + s.target.destination : "event-bus/" + s.target.bus;
      st.starting_position = s.starting_position;
      const std::string key = progress_key(s.bus, s.name);
      const Progress* found = nullptr;
      if (auto it = progress.find(key); it != progress.end()) {
        found = &it->second;
      } else {
        if (!stored) stored = read_stored();
        if (stored)
          if (auto in_store = stored->find(key); in_store != stored->end()) found = &in_store->second;
      }
      if (!found) {
        st.state = "STARTING";
      } else {
        const Progress& p = *found;
        st.state = p.ended ? "ENDED" : p.running ? "RUNNING" : "STOPPED";
        st.position = p.position;
        st.delivered = p.delivered;
        st.created_ms = p.created_ms;
      }
      if (auto f = fifo.find(key); f != fifo.end()) {
        st.groups = f->second.groups;
        st.groups_blocked = f->second.blocked;
        st.oldest_blocked_ms = f->second.oldest_blocked_ms;
        st.parked_groups = f->second.parked;
        st.waiting = f->second.pending;
      } else if (s.fifo && s.park_on_exhausted) {  // run elsewhere: the parked groups are in the store
        st.parked_groups = parked_in_store(s);
      }
      if (auto bounds = store_.log_bounds(s.bus)) {
        st.log_first = bounds->first;
        st.log_next = bounds->next;
      }
      out.push_back(std::move(st));
    }
    return out;
  }

  void settled(const core::DeliveryTask& task, bool dead) {
    {
      core::MutexLock lock(mu_);
      settled_.push_back({task.group_key, task.group_position, dead});
      poked_ = true;
    }
    cv_.notify_all();
  }

  // An operator releases a parked group: its record says so (whichever
  // node runs the subscriber reads it), and this node's runner looks now.
  ReleaseAnswer release(const std::string& bus, const std::string& name, const std::string& group) {
    std::shared_ptr<const Routing> routing;
    {
      core::MutexLock lock(mu_);
      routing = routing_;
    }
    const SubscriberRoute* s = nullptr;
    if (routing)
      for (const auto& r : routing->subscribers)
        if (r.bus == bus && r.name == name) s = &r;
    if (!s) return {404, "ResourceNotFoundException", "Subscriber " + name + " on bus " + bus + " does not exist."};
    if (!s->fifo || !s->park_on_exhausted)
      return {400, "InvalidInputException",
              "Subscriber " + name + " does not park groups (type FIFO with on_exhausted: park)."};
    const std::string key = group_prefix(bus, name) + group;
    auto stored = store_.list_meta(key);
    if (!stored)
      return {503, "ServiceUnavailable", "The group's record cannot be read now: " + stored.status().message()};
    std::optional<GroupRecord> record;
    for (const auto& [k, v] : *stored)
      if (k == key) record = decode_group(v);
    if (!record || record->state != "dead")
      return {409, "InvalidStateException", "Group " + group + " of subscriber " + name + " is not parked."};
    if (auto st = store_.put_meta(key, encode_group({"released", record->position})); !st)
      return {503, "ServiceUnavailable", "The release cannot be stored now: " + st.message()};
    notify();
    return {};
  }

 private:
  bool may_run() const { return !options_.may_run || options_.may_run(); }

  std::optional<std::map<std::string, Progress>> read_stored() {
    auto stored = store_.list_meta(kProgressPrefix);
    if (!stored) {
      core::log::warn("cannot read the subscribers' progress", {{"error", stored.status().message()}});
      return std::nullopt;
    }
    std::map<std::string, Progress> out;
    for (const auto& [key, value] : *stored) {
      if (auto p = decode_progress(value))
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

  // Whether this node runs `s` now: a FIFO subscriber where its
  // destination's deliveries are (the dispatcher there tells it when each
  // delivery ends), any other where the node running replays is.
  bool mine(const SubscriberRoute& s) const {
    if (s.fifo && !s.target.destination.empty() && options_.may_run_target)
      return options_.may_run_target(s.target.destination);
    return may_run();
  }

  void run() {
    int64_t next_retention = INT64_MIN;  // on the monotonic clock
    for (;;) {
      std::shared_ptr<const Routing> routing;
      std::vector<Settled> settled;
      {
        core::MutexLock lock(mu_);
        if (stopping_) return;
        routing = routing_;
        settled.swap(settled_);
      }
      if (!routing) {
        if (!pause(1000)) return;
        continue;
      }
      size_t did = 0;
      for (const auto& s : routing->subscribers) {
        const std::string key = progress_key(s.bus, s.name);
        if (!mine(s)) {  // another node's now (or again): what this one knew goes
          forget(key);
          continue;
        }
        if (!known_.count(key)) {
          if (!load_progress(key)) continue;
          known_.insert(key);
        }
        reconcile(routing->built_ms, s);
        if (s.fifo && !s.target.destination.empty())
          did += fifo_step(*routing, s, settled);
        else
          did += step(*routing, s);
      }
      if (may_run()) {
        if (const int64_t mono = clock_.mono_ms(); mono >= next_retention) {
          if (auto stored = read_stored())  // FIFO subscribers may run on other nodes: their stored positions
            apply_retention(*routing, store_, *stored, clock_.wall_ms(), expired_);
          next_retention = mono + options_.retention_interval_ms;
        }
      } else {
        next_retention = INT64_MIN;  // due at once when this node takes over
      }
      if (did == 0 && !pause(options_.idle_poll_ms)) return;
    }
  }

  std::optional<Progress> progress_of(const std::string& key) {
    core::MutexLock lock(mu_);
    auto it = progress_.find(key);
    if (it == progress_.end()) return std::nullopt;
    return it->second;
  }

  void forget(const std::string& key) {
    known_.erase(key);
    fifo_.erase(key);
    core::MutexLock lock(mu_);
    progress_.erase(key);
    fifo_stats_.erase(key);
  }

  // Reads one subscriber's stored progress (none yet is fine).
  bool load_progress(const std::string& key) {
    auto stored = store_.list_meta(key);
    if (!stored) {
      core::log::warn("cannot read a subscriber's progress",
                      {{"subscriber", key}, {"error", stored.status().message()}});
      return false;
    }
    for (const auto& [k, v] : *stored) {
      if (k != key) continue;  // another subscriber's name that starts with this one's
      if (auto p = decode_progress(v)) {
        core::MutexLock lock(mu_);
        progress_[key] = *p;
      } else {
        core::log::error("a subscriber's stored progress is unreadable; it starts again", {{"key", key}});
      }
    }
    return true;
  }

  size_t fifo_step(const Routing& routing, const SubscriberRoute& s, const std::vector<Settled>& settled) {
    const std::string key = progress_key(s.bus, s.name);
    auto known = progress_of(key);
    if (!known) return 0;
    Progress p = *known;
    auto& f = fifo_[key];
    if (!f) f = std::make_unique<FifoSubscriber>(store_, pipeline_, clock_, options_.chunk, options_.max_pending_bytes);
    if (!f->loaded() && !f->load(s, p)) return 0;
    const std::string prefix = group_prefix(s.bus, s.name);
    for (const auto& done : settled)
      if (done.key.rfind(prefix, 0) == 0) f->settled(s, done.key.substr(prefix.size()), done.position, done.dead);
    f->check_released(s, clock_.mono_ms());
    size_t did = 0;
    if (p.running) {
      did = f->step(routing, s, p);
      if (did > 0) {
        core::MutexLock lock(mu_);
        progress_[key] = p;
      }
    }
    const FifoSubscriber::Stats stats = f->stats();
    blocked_.Add({{"bus", s.bus}, {"subscriber", s.name}}).Set(static_cast<double>(stats.blocked));
    oldest_blocked_.Add({{"bus", s.bus}, {"subscriber", s.name}})
        .Set(static_cast<double>(stats.oldest_blocked_ms) / 1000);
    core::MutexLock lock(mu_);
    fifo_stats_[key] = stats;
    return did;
  }

  std::vector<std::string> parked_in_store(const SubscriberRoute& s) {
    std::vector<std::string> out;
    const std::string prefix = group_prefix(s.bus, s.name);
    if (auto stored = store_.list_meta(prefix))
      for (const auto& [k, v] : *stored)
        if (auto g = decode_group(v); g && g->state == "dead" && out.size() < 100)
          out.push_back(k.substr(prefix.size()));
    return out;
  }

  void persist(const std::string& key, const Progress& p) {
    if (auto st = store_.put_meta(key, encode_progress(p)); !st)
      core::log::error("cannot store a subscriber's progress", {{"subscriber", key}, {"error", st.message()}});
  }

  // A new subscriber gets its starting position; STOPPED and RUNNING in the
  // config take effect.
  void reconcile(int64_t built_ms, const SubscriberRoute& s) {
    {
      const std::string key = progress_key(s.bus, s.name);
      const std::optional<Progress> known = progress_of(key);
      if (known && known->running == s.running) return;
      auto bounds = store_.log_bounds(s.bus);
      if (!bounds) {
        core::log::warn("cannot read a bus log", {{"bus", s.bus}, {"error", bounds.status().message()}});
        return;
      }
      Progress p;
      if (!known) {
        // LATEST counts from when the configuration naming it was taken,
        // not from when this thread (in cluster mode, maybe on another
        // node, seconds later) first sees it: nothing published meanwhile
        // is missed.
        auto latest = store_.log_position_at(s.bus, built_ms);
        if (!latest) {
          core::log::warn("cannot read a bus log", {{"bus", s.bus}, {"error", latest.status().message()}});
          return;
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
            return;
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

  // One chunk of one subscriber; returns how many log entries it passed.
  size_t step(const Routing& routing, const SubscriberRoute& s) {
    const std::string key = progress_key(s.bus, s.name);
    auto known = progress_of(key);
    if (!known) return 0;
    Progress p = *known;
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
        forward_to_bus(routing, s, e, *batch);
      else
        batch->tasks.push_back(subscriber_task(s, e, system, now));
    }
    batch->meta.emplace_back(key, encode_progress(p));
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

  Options options_;
  core::Clock& clock_;
  storage::Store& store_;
  Pipeline pipeline_;  // store -> deliver, as HTTP ingest does
  prometheus::Family<prometheus::Gauge>& lag_;
  prometheus::Family<prometheus::Counter>& expired_;
  prometheus::Family<prometheus::Gauge>& blocked_;
  prometheus::Family<prometheus::Gauge>& oldest_blocked_;

  mutable core::Mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const Routing> routing_ SY_GUARDED_BY(mu_);
  std::map<std::string, Progress> progress_ SY_GUARDED_BY(mu_);  // by progress_key(bus, name)
  std::map<std::string, FifoSubscriber::Stats> fifo_stats_ SY_GUARDED_BY(mu_);
  std::vector<Settled> settled_ SY_GUARDED_BY(mu_);  // from the dispatcher, for the runner
  // The runner thread's own.
  std::set<std::string> known_;  // subscribers whose progress this node read (it runs them)
  std::map<std::string, std::unique_ptr<FifoSubscriber>> fifo_;
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
void Subscribers::settled(const core::DeliveryTask& task, bool dead) { impl_->settled(task, dead); }
ReleaseAnswer Subscribers::release(const std::string& bus, const std::string& name, const std::string& group) {
  return impl_->release(bus, name, group);
}

}  // namespace switchyard::bus
