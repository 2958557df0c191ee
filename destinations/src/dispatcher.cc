#include "switchyard/destinations/dispatcher.h"

#include <utility>

#include "dispatcher_impl.h"
#include "switchyard/core/log.h"

namespace switchyard::destinations {

Dispatcher::Impl::Impl(Options options, storage::Store& store, prometheus::Registry& registry, core::Clock& clock,
                       std::unique_ptr<core::Random> random)
    : options_(options),
      store_(store),
      clock_(clock),
      random_(random ? std::move(random) : std::make_unique<core::SeededRandom>()),
      metrics_(registry),
      transport_(options_.max_in_flight_total, options_.request_timeout_ms, options_.transport_threads),
      tokens_(
          clock, [this](const std::string& c, const TokenRequest& r) { send_token_request(c, r); },
          metrics_.token_requests()),
      pager_(MemoryLimits{.per_destination = options_.max_in_memory_per_destination,
                          .bytes_per_destination = options_.max_in_memory_bytes_per_destination,
                          .bytes_total = options_.max_in_memory_bytes_total}) {
  clock_watch_ = clock_.watch([this] { transport_.wakeup(); });
}

Dispatcher::Impl::~Impl() {
  stop();
  clock_.unwatch(clock_watch_);
}

void Dispatcher::Impl::set_destinations(std::vector<Destination> destinations) {
  auto map = std::make_shared<std::map<std::string, Destination>>();
  for (auto& d : destinations) (*map)[d.name] = std::move(d);
  {
    core::MutexLock lock(mu_);
    destinations_ = std::move(map);
  }
  transport_.wakeup();
}

core::Status Dispatcher::Impl::set_paused(const std::string& name, bool paused) {
  if (auto st = store_.set_paused(name, paused); !st) return st;
  {
    core::MutexLock lock(mu_);
    if (paused)
      paused_.insert(name);
    else
      paused_.erase(name);
  }
  transport_.wakeup();
  core::log::info(paused ? "destination paused" : "destination resumed", {{"destination", name}});
  return core::Status::ok();
}

void Dispatcher::Impl::start() {
  if (thread_.joinable()) return;
  {
    auto paused = store_.paused_destinations();
    if (!paused) core::log::error("cannot read paused destinations", {{"error", paused.status().message()}});
    core::MutexLock lock(mu_);
    if (paused)
      for (auto& p : *paused) paused_.insert(p);
  }
  // Recovery: every destination with stored deliveries pages them in from
  // disk, like any backlog. Every destination's series exist (at 0) from
  // the start, and their backlogs are counted before any new delivery.
  auto stored = store_.task_destinations();
  if (!stored) core::log::error("cannot list stored deliveries", {{"error", stored.status().message()}});
  {
    core::MutexLock lock(mu_);
    if (stored) recover_ = *stored;
    if (destinations_)
      for (const auto& [name, d] : *destinations_) state(name);
  }
  if (stored)
    for (const auto& name : *stored) state(name);
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Dispatcher::Impl::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  transport_.wakeup();
  thread_.join();
}

core::Result<uint64_t> Dispatcher::Impl::redrive(const std::string& name, size_t limit) {
  auto tasks = store_.redrive(name, limit, clock_.wall_ms());
  if (!tasks) return tasks.status();
  const uint64_t n = tasks->size();
  if (n > 0) {
    // Cluster mode: the store put them back on the destination's queue in
    // JetStream, and its owner (maybe another node) fetches them.
    if (store_.delivers_appended_here()) submit(std::move(*tasks));
    dead_letters_removed(name, n);
  }
  return n;
}

core::Status Dispatcher::Impl::purge_dead_letters(const std::string& name, uint64_t* purged) {
  *purged = 0;
  const core::Status st = store_.purge_dead_letters(name, purged);
  if (*purged > 0) dead_letters_removed(name, *purged);
  return st;
}

void Dispatcher::Impl::submit(std::vector<core::DeliveryTask> tasks) {
  if (tasks.empty()) return;
  bool was_empty = false;
  {
    core::MutexLock lock(mu_);
    was_empty = inbox_.empty();
    for (auto& t : tasks) inbox_.push_back(std::move(t));
  }
  // A non-empty inbox has a wakeup on its way already: the delivery thread
  // takes the whole inbox at once. One wakeup per pass, not per request.
  if (was_empty) transport_.wakeup();
}

void Dispatcher::Impl::stored_elsewhere(const std::string& name, uint64_t count) {
  {
    core::MutexLock lock(mu_);
    stored_elsewhere_.emplace_back(name, count);
  }
  transport_.wakeup();
}

void Dispatcher::Impl::forget(const std::string& name) {
  {
    core::MutexLock lock(mu_);
    forget_.push_back(name);
  }
  transport_.wakeup();
}

void Dispatcher::Impl::apply_paused(std::set<std::string> paused) {
  {
    core::MutexLock lock(mu_);
    if (paused == paused_) return;
    paused_ = std::move(paused);
  }
  transport_.wakeup();
}

void Dispatcher::Impl::apply_dead_letter_counts(std::map<std::string, uint64_t> counts) {
  core::MutexLock lock(mu_);
  dlq_counts_ = std::move(counts);  // taken with the next pass's inbox
}

// `count` dead letters of `name` left the DLQ: the depth gauge drops.
void Dispatcher::Impl::dead_letters_removed(const std::string& name, uint64_t count) {
  {
    core::MutexLock lock(mu_);
    dlq_removed_.emplace_back(name, count);
  }
  transport_.wakeup();
}

Dispatcher::Impl::DestState& Dispatcher::Impl::state(const std::string& name) {
  auto it = dest_.find(name);
  if (it != dest_.end()) return it->second;
  DestState& s = dest_[name];
  s.m = metrics_.for_destination(name);
  s.stored = count_or_zero(store_.count_tasks(name), "count stored deliveries", name);
  s.m.backlog->Set(static_cast<double>(s.stored));
  s.dlq_count = count_or_zero(store_.count_dead_letters(name), "count dead letters", name);
  s.m.dlq_depth->Set(static_cast<double>(s.dlq_count));
  return s;
}

uint64_t Dispatcher::Impl::count_or_zero(const core::Result<uint64_t>& n, const char* what, const std::string& name) {
  if (n) return *n;
  core::log::error("cannot read the store", {{"what", what}, {"destination", name}, {"error", n.status().message()}});
  return 0;
}

Dispatcher::Dispatcher(Options options, storage::Store& store, prometheus::Registry& registry, core::Clock& clock,
                       std::unique_ptr<core::Random> random)
    : impl_(std::make_unique<Impl>(options, store, registry, clock, std::move(random))) {}
Dispatcher::~Dispatcher() = default;
void Dispatcher::set_destinations(std::vector<Destination> d) { impl_->set_destinations(std::move(d)); }
void Dispatcher::start() { impl_->start(); }
void Dispatcher::stop() { impl_->stop(); }
void Dispatcher::submit(std::vector<core::DeliveryTask> tasks) { impl_->submit(std::move(tasks)); }
std::vector<DestinationStats> Dispatcher::stats() const { return impl_->stats(); }
uint64_t Dispatcher::passes() const { return impl_->passes(); }
core::Status Dispatcher::pause(const std::string& d) { return impl_->set_paused(d, true); }
core::Status Dispatcher::resume(const std::string& d) { return impl_->set_paused(d, false); }
void Dispatcher::stored_elsewhere(const std::string& d, uint64_t count) { impl_->stored_elsewhere(d, count); }
void Dispatcher::forget(const std::string& d) { impl_->forget(d); }
void Dispatcher::apply_paused(std::set<std::string> paused) { impl_->apply_paused(std::move(paused)); }
void Dispatcher::apply_dead_letter_counts(std::map<std::string, uint64_t> counts) {
  impl_->apply_dead_letter_counts(std::move(counts));
}
core::Result<uint64_t> Dispatcher::redrive(const std::string& d, size_t limit) { return impl_->redrive(d, limit); }
core::Status Dispatcher::purge_dead_letters(const std::string& d, uint64_t* purged) {
  return impl_->purge_dead_letters(d, purged);
}

}  // namespace switchyard::destinations
