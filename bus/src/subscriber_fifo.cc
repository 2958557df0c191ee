#include "subscriber_fifo.h"

#include <prometheus/counter.h>

#include <algorithm>
#include <future>
#include <utility>

#include "subscriber_delivery.h"
#include "switchyard/core/log.h"
#include "switchyard/rules/transformer.h"

namespace switchyard::bus {

bool FifoSubscriber::load(const SubscriberRoute& s, const Progress& p) {
  const std::string prefix = group_prefix(s.bus, s.name);
  auto stored = store_.list_meta(prefix);
  if (!stored) {
    core::log::warn("a FIFO subscriber cannot read its groups; retrying",
                    {{"subscriber", s.name}, {"error", stored.status().message()}});
    return false;
  }
  groups_.clear();
  pending_bytes_ = pending_events_ = 0;
  const int64_t now = clock_.wall_ms();
  for (const auto& [key, value] : *stored) {
    if (key.rfind(prefix, 0) != 0) continue;
    auto record = decode_group(value);
    if (!record) {
      core::log::error("a FIFO group's record is unreadable; the group starts afresh", {{"key", key}});
      continue;
    }
    Group& g = groups_[key.substr(prefix.size())];
    g.last = record->position;
    g.busy = record->state == "busy";
    g.parked = record->state == "dead" && s.park_on_exhausted;
    g.since_ms = now;
  }
  read_ = p.position;
  loaded_ = true;
  return true;
}

std::string FifoSubscriber::group_of(const SubscriberRoute& s, const storage::LogEntry& e) const {
  if (!s.group_by.empty() && is_json_content(e.content_type)) {
    auto v = rules::resolve_dynamic_value(std::string_view(e.data), s.group_by);
    if (v) return *v;
  }
  return e.group_id;  // "" (one group for every event without one) when the publish had none
}

void FifoSubscriber::settled(const SubscriberRoute& s, const std::string& group, uint64_t position, bool dead) {
  auto it = groups_.find(group);
  if (it == groups_.end() || it->second.last != position) return;  // an earlier delivery's late word
  Group& g = it->second;
  g.busy = false;
  // The store wrote this with the delivery's end; written again here, after
  // this thread's own write of "busy" has surely landed: JetStream's
  // writes of the two are not ordered, and a "busy" left last would hold
  // the group after a restart.
  if (auto st = store_.put_meta(group_prefix(s.bus, s.name) + group, encode_group({dead ? "dead" : "done", position}));
      !st)
    core::log::warn("cannot record a FIFO delivery's end", {{"subscriber", s.name}, {"error", st.message()}});
  if (dead && s.park_on_exhausted) {
    g.parked = true;
    g.since_ms = clock_.wall_ms();
    core::log::warn("FIFO group parked: its event ran out of retries; release it to go on",
                    {{"subscriber", s.name}, {"group", group}, {"position", std::to_string(position)}});
  }
}

void FifoSubscriber::check_released(const SubscriberRoute& s, int64_t mono_ms) {
  if (mono_ms - released_checked_ms_ < 250) return;
  if (std::none_of(groups_.begin(), groups_.end(), [](const auto& g) { return g.second.parked; })) return;
  released_checked_ms_ = mono_ms;
  const std::string prefix = group_prefix(s.bus, s.name);
  auto stored = store_.list_meta(prefix);
  if (!stored) return;  // looked up again at the next check
  for (const auto& [key, value] : *stored) {
    auto it = groups_.find(key.substr(prefix.size()));
    if (it == groups_.end() || !it->second.parked) continue;
    if (auto record = decode_group(value); record && record->state == "released") {
      it->second.parked = false;
      core::log::info("FIFO group released", {{"subscriber", s.name}, {"group", it->first}});
    }
  }
}

void FifoSubscriber::hand_over(const SubscriberRoute& s, const std::string& name, Group& g, const storage::LogEntry& e,
                               Progress& p, storage::IngestBatch& batch) {
  ++p.delivered;
  const int64_t now = clock_.wall_ms();
  core::DeliveryTask task = subscriber_task(
      s, e, system_metadata_json(e, e.position < p.live_from ? DeliveryType::kReplay : DeliveryType::kLive), now);
  task.group_key = group_prefix(s.bus, s.name) + name;
  task.group_position = e.position;
  batch.meta.emplace_back(task.group_key, encode_group({"busy", e.position}));
  batch.tasks.push_back(std::move(task));
  g.last = e.position;
  g.busy = true;
  g.since_ms = now;
}

size_t FifoSubscriber::step(const Routing& /*routing*/, const SubscriberRoute& s, Progress& p) {
  auto batch = std::make_shared<storage::IngestBatch>();
  size_t work = 0;
  // Groups whose turn came: their next waiting event goes.
  for (auto& [name, g] : groups_) {
    if (g.busy || g.parked || g.pending.empty()) continue;
    storage::LogEntry e = std::move(g.pending.front());
    g.pending.pop_front();
    pending_bytes_ -= e.data.size();
    --pending_events_;
    hand_over(s, name, g, e, p, *batch);
    ++work;
  }
  // Read on while memory allows.
  if (!p.ended && pending_bytes_ < max_pending_bytes_) {
    auto read = store_.read_log(s.bus, read_, chunk_);
    if (!read) {
      core::log::warn("a subscriber cannot read its bus's log; retrying",
                      {{"subscriber", s.name}, {"error", read.status().message()}});
    } else {
      for (storage::LogEntry& e : *read) {
        if (s.end_ms > 0 && e.ingested_ms >= s.end_ms) {
          p.ended = true;
          core::log::info("subscriber reached its end point", {{"bus", s.bus}, {"subscriber", s.name}});
          break;
        }
        ++work;
        read_ = e.position + 1;
        const std::string system =
            system_metadata_json(e, e.position < p.live_from ? DeliveryType::kReplay : DeliveryType::kLive);
        if (!passes_filters(s, e, system)) {
          if (s.filtered) s.filtered->Increment();
          continue;
        }
        const std::string name = group_of(s, e);
        Group& g = groups_[name];
        if (e.position <= g.last) continue;  // handed over before a restart
        if (s.matched) s.matched->Increment();
        if (!g.busy && !g.parked && g.pending.empty()) {
          hand_over(s, name, g, e, p, *batch);
        } else {
          pending_bytes_ += e.data.size();
          ++pending_events_;
          g.pending.push_back(std::move(e));
        }
      }
    }
  }
  // The stored position: the first event read and not handed over.
  uint64_t low = read_;
  for (const auto& [_, g] : groups_)
    if (!g.pending.empty()) low = std::min(low, g.pending.front().position);
  if (work == 0 && low == p.position) return 0;
  p.position = low;
  batch->meta.emplace_back(progress_key(s.bus, s.name), encode_progress(p));
  std::promise<core::Status> done;
  pipeline_.commit(batch, [&done](core::Status st) { done.set_value(std::move(st)); });
  if (auto st = done.get_future().get(); !st) {
    core::log::warn("a FIFO subscriber's step was not stored; it reads again from its stored position",
                    {{"subscriber", s.name}, {"error", st.message()}});
    loaded_ = false;
    return 0;
  }
  // A group with nothing in flight or waiting, whose last event lies before
  // the stored position, is needed neither here nor after a restart.
  for (auto it = groups_.begin(); it != groups_.end();) {
    const Group& g = it->second;
    if (g.busy || g.parked || !g.pending.empty() || g.last >= low) {
      ++it;
      continue;
    }
    if (g.last > 0)
      if (auto st = store_.delete_meta(group_prefix(s.bus, s.name) + it->first); !st)
        core::log::warn("cannot remove a finished FIFO group's record", {{"error", st.message()}});
    it = groups_.erase(it);
  }
  return std::max<size_t>(work, 1);
}

FifoSubscriber::Stats FifoSubscriber::stats() const {
  Stats st;
  const int64_t now = clock_.wall_ms();
  st.groups = groups_.size();
  st.pending = pending_events_;
  for (const auto& [name, g] : groups_) {
    if (g.parked && st.parked.size() < 100) st.parked.push_back(name);
    if (g.parked || (g.busy && !g.pending.empty())) {
      ++st.blocked;
      st.oldest_blocked_ms = std::max(st.oldest_blocked_ms, now - g.since_ms);
    }
  }
  return st;
}

}  // namespace switchyard::bus
