// The admin view of each destination (stats()) and its gauges, published
// by the delivery thread.

#include <algorithm>

#include "dispatcher_impl.h"

namespace switchyard::destinations {

// Every configured destination, and any other that still has deliveries.
std::vector<DestinationStats> Dispatcher::Impl::stats() const {
  std::map<std::string, DestinationStats> all;
  {
    core::MutexLock lock(mu_);
    if (destinations_)
      for (const auto& [name, _] : *destinations_) all[name].name = name;
    for (const auto& p : paused_) all[p].name = p;
    for (auto& [name, st] : all) st.paused = paused_.count(name) != 0;
  }
  core::MutexLock lock(stats_mu_);
  for (const auto& [name, st] : stats_) {
    const bool paused = all[name].paused;
    all[name] = st;
    all[name].paused = paused;
  }
  for (auto& [name, st] : all)
    if (!stats_.count(name)) st.dlq_depth = store_.count_dead_letters(name).value_or(0);
  std::vector<DestinationStats> out;
  for (auto& [_, st] : all) out.push_back(std::move(st));
  return out;
}

void Dispatcher::Impl::publish_stats() {
  core::MutexLock lock(stats_mu_);
  // The oldest pending delivery's age: once a second (it looks at every
  // delivery held in memory, which are the earliest due).
  const int64_t now = clock_.wall_ms();
  const bool refresh_age = now - age_published_ms_ >= 1000;
  if (refresh_age) age_published_ms_ = now;
  const int64_t sec = now / 1000;
  for (auto& [name, s] : dest_) {
    DestinationStats& out = stats_[name];
    out.name = name;
    out.paused = s.paused;
    out.circuit_open = s.breaker.open();
    out.circuit_openings = s.circuit_openings;
    out.concurrency_limit = s.limit.limit();
    out.backlog_on_disk = s.holding.on_disk;
    out.dlq_depth = s.dlq_count;
    const uint64_t beyond = options_.stored_beyond ? options_.stored_beyond(name) : 0;
    out.queued = s.ready.size() + s.waiting + beyond;
    out.in_flight = s.in_flight;
    out.delivered = delivered_count_[name];
    out.dead_lettered = dead_count_[name];
    while (!s.recent.empty() && s.recent.front().first < sec - 10) s.recent.pop_front();
    uint64_t last10 = 0;
    for (const auto& [at, n] : s.recent)
      if (at < sec) last10 += n;
    out.delivery_rate_per_second = static_cast<double>(last10) / 10.0;
    s.m.queued->Set(static_cast<double>(out.queued));
    out.backlog = s.stored + beyond;
    s.m.backlog->Set(static_cast<double>(out.backlog));
    if (refresh_age) {
      const int64_t oldest = s.holding.oldest_ingested_ms();
      out.oldest_pending_age_seconds = oldest == 0 ? 0 : std::max<int64_t>(0, now - oldest) / 1000.0;
      s.m.oldest_age->Set(out.oldest_pending_age_seconds);
    }
  }
  if (!dests_seen_) return;
  for (const auto& [name, d] : *dests_seen_) {
    DestinationStats& out = stats_[name];
    out.name = name;
    if (!d.oauth) {
      out.active = true;
      out.connection_state.clear();
      out.connection_error.clear();
      continue;
    }
    const TokenCache::View v = tokens_.view(d.oauth->connection);
    out.active = v.usable;
    out.connection_state = v.state;
    out.connection_error = v.error;
  }
}

}  // namespace switchyard::destinations
