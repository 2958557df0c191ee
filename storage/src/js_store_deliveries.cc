// The JetStream store's adopted destinations: a fetch thread per
// destination keeps up to its window of deliveries held, the dispatcher
// pages them in through load_tasks, and each outcome settles the stored
// copy: success acknowledges it, a retry replaces it with a copy in
// SY_RETRY, a final failure moves it to SY_DLQ.

#include <algorithm>
#include <chrono>
#include <utility>

#include "js_store.h"
#include "records.h"
#include "switchyard/core/log.h"
#include "switchyard/storage/js_subjects.h"

namespace switchyard::storage {

using core::Status;

namespace {

constexpr int64_t kInProgressAfterMs = 5000;
constexpr int kRebindAfterFailures = 8;  // held longer: tell the server it is still being worked on

int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string consumer_name(const std::string& destination) { return "wk_" + jetstream::subject_token(destination); }

}  // namespace

Status JsStore::ensure_destination(const std::string& destination) {
  return js_.ensure_consumer({.stream = kWorkStream,
                              .durable = consumer_name(destination),
                              .filter_subject = jetstream::work_subject(destination),
                              .replicas = options_.replicas,
                              .ack_wait_ms = options_.ack_wait_ms});
}

void JsStore::set_fetch_listener(std::function<void(const std::string&, uint64_t)> on_fetched) {
  core::MutexLock lock(mu_);
  on_fetched_ = std::move(on_fetched);
}

Status JsStore::adopt(const std::string& destination, size_t window) {
  Adopted* a = nullptr;
  {
    core::MutexLock lock(mu_);
    auto& slot = adopted_[destination];
    if (slot) {
      slot->window = window;
      return Status::ok();
    }
    slot = std::make_unique<Adopted>();
    slot->window = window;
    a = slot.get();
  }
  if (auto st = load_retries(destination, a); !st) {
    drop(destination, true);
    return st;
  }
  a->fetcher = std::thread([this, destination, a] { fetch_loop(destination, a); });
  return Status::ok();
}

void JsStore::drop(const std::string& destination, bool graceful) {
  drop(std::vector<std::string>{destination}, graceful);
}

void JsStore::drop(const std::vector<std::string>& destinations, bool graceful) {
  std::vector<std::unique_ptr<Adopted>> gone;
  {
    core::MutexLock lock(mu_);
    for (const auto& d : destinations) {
      auto it = adopted_.find(d);
      if (it == adopted_.end()) continue;
      it->second->stop = true;  // every fetch ends within its wait
      gone.push_back(std::move(it->second));
      adopted_.erase(it);
    }
  }
  for (const auto& d : destinations) {  // another node counts them now
    core::MutexLock lock(waiting_mu_);
    waiting_.erase(d);
  }
  for (auto& a : gone) {
    if (a->fetcher.joinable()) a->fetcher.join();
    if (!graceful) continue;
    core::MutexLock lock(mu_);  // an outcome in progress may still change a source
    for (auto& [id, h] : a->held)
      if (h.source->work) h.source->work.nak();
  }
}

// The retry copies a previous owner left: of two copies of one delivery
// the one with more attempts is kept (attempt and age limits stay exact),
// the other deleted.
Status JsStore::load_retries(const std::string& destination, Adopted* a) {
  std::map<std::string, std::pair<core::DeliveryTask, uint64_t>> found;
  std::vector<uint64_t> superseded;
  auto st = js_.read_subject(kRetryStream, jetstream::retry_subject(destination), [&](jetstream::Message& m) {
    auto task = decode_task(m.data());
    if (!task) {
      core::log::error("an undecodable retry copy is left in SY_RETRY",
                       {{"destination", destination}, {"sequence", std::to_string(m.stream_sequence())}});
      return true;
    }
    auto it = found.find(task->id);
    if (it == found.end()) {
      std::string id = task->id;
      found.emplace(std::move(id), std::make_pair(std::move(*task), m.stream_sequence()));
    } else if (task->attempts > it->second.first.attempts) {
      superseded.push_back(it->second.second);
      it->second = {std::move(*task), m.stream_sequence()};
    } else {
      superseded.push_back(m.stream_sequence());
    }
    return true;
  });
  if (!st) return st;
  for (uint64_t seq : superseded) outcomes_.push([this, seq] { (void)js_.delete_message(kRetryStream, seq); });
  uint64_t n = 0;
  {
    core::MutexLock lock(mu_);
    for (auto& [id, entry] : found) {
      auto source = std::make_shared<Source>();
      source->retry_sequence = entry.second;
      a->held[id] = Held{std::move(entry.first), std::move(source), mono_ms(), next_order_++};
      ++n;
    }
  }
  std::function<void(const std::string&, uint64_t)> notify;
  {
    core::MutexLock lock(mu_);
    notify = on_fetched_;
  }
  if (n > 0 && notify) notify(destination, n);
  return Status::ok();
}

void JsStore::fetch_loop(const std::string& destination, Adopted* a) {
  std::shared_ptr<jetstream::PullConsumer> consumer;
  int64_t failing_since = 0;
  int64_t pending_read_ms = 0;
  int fetch_failures = 0;
  while (!a->stop) {
    if (!consumer) {
      auto bound = js_.bind(kWorkStream, consumer_name(destination), jetstream::work_subject(destination));
      if (!bound && ensure_destination(destination))  // its creation may have failed at start (a busy server)
        bound = js_.bind(kWorkStream, consumer_name(destination), jetstream::work_subject(destination));
      if (!bound) {
        if (failing_since == 0) {
          failing_since = mono_ms();
          core::log::warn("cannot fetch deliveries yet; retrying",
                          {{"destination", destination}, {"error", bound.status().message()}});
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        continue;
      }
      consumer = std::move(*bound);
      failing_since = 0;
    }
    size_t room = 0;
    {
      core::MutexLock lock(mu_);
      room = a->held.size() < a->window ? a->window - a->held.size() : 0;
      // Held long (waiting for quota, an open circuit): still worked on.
      const int64_t now = mono_ms();
      for (auto& [id, h] : a->held)
        if (h.source->work && now - h.touched_ms > kInProgressAfterMs) {
          h.source->work.in_progress();
          h.touched_ms = now;
        }
    }
    if (room == 0) {  // the window is full: the lag is read from the consumer, once a second
      if (const int64_t now = mono_ms(); now - pending_read_ms >= 1000) {
        pending_read_ms = now;
        if (auto n = js_.consumer_pending(kWorkStream, consumer_name(destination)); n) set_pending(destination, *n);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    auto batch = consumer->fetch(static_cast<int>(std::min<size_t>(room, 256)), 500);
    if (!batch) {
      // Failing for a while (its leader moved, the connection was replaced):
      // bind again.
      if (++fetch_failures >= kRebindAfterFailures) {
        consumer.reset();
        fetch_failures = 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      continue;
    }
    fetch_failures = 0;
    set_pending(destination, batch->empty() ? 0 : batch->back().num_pending());
    if (!batch->empty()) take_fetched(destination, a, consumer, std::move(*batch));
  }
}

void JsStore::take_fetched(const std::string& destination, Adopted* a,
                           const std::shared_ptr<jetstream::PullConsumer>& consumer,
                           std::vector<jetstream::Message> messages) {
  uint64_t added = 0;
  std::function<void(const std::string&, uint64_t)> notify;
  {
    core::MutexLock lock(mu_);
    notify = on_fetched_;
    for (auto& m : messages) {
      if (m.num_delivered() > 1) redelivered(destination).Increment();
      auto task = decode_task(m.data());
      if (!task) {
        core::log::error("an undecodable delivery in SY_WORK is set aside",
                         {{"destination", destination}, {"sequence", std::to_string(m.stream_sequence())}});
        m.nak(60000);
        continue;
      }
      auto it = a->held.find(task->id);
      if (it != a->held.end()) {
        if (it->second.source->work) {
          it->second.source->work = std::move(m);  // delivered again: the newest delivery is the one to ack
          it->second.source->consumer = consumer;
        } else {
          m.ack();  // a retry copy with more attempts supersedes it
        }
        continue;
      }
      auto source = std::make_shared<Source>();
      source->consumer = consumer;
      source->work = std::move(m);
      std::string id = task->id;
      a->held.emplace(std::move(id), Held{std::move(*task), std::move(source), mono_ms(), next_order_++});
      ++added;
    }
  }
  if (added > 0 && notify) notify(destination, added);
}

void JsStore::set_pending(const std::string& destination, uint64_t n) {
  {
    core::MutexLock lock(waiting_mu_);
    waiting_[destination] = n;
  }
  if (pending_ != nullptr) pending_->Add({{"destination", destination}}).Set(static_cast<double>(n));
}

uint64_t JsStore::waiting(const std::string& destination) const {
  core::MutexLock lock(waiting_mu_);
  auto it = waiting_.find(destination);
  return it == waiting_.end() ? 0 : it->second;
}

prometheus::Counter& JsStore::redelivered(const std::string& destination) {
  static prometheus::Counter unregistered;
  if (redelivered_ == nullptr) return unregistered;
  return redelivered_->Add({{"destination", destination}});
}

std::shared_ptr<JsStore::Source> JsStore::release(const core::DeliveryTask& task) {
  core::MutexLock lock(mu_);
  auto a = adopted_.find(task.destination);
  if (a == adopted_.end()) return nullptr;
  auto it = a->second->held.find(task.id);
  if (it == a->second->held.end()) return nullptr;
  auto source = std::move(it->second.source);
  a->second->held.erase(it);
  return source;
}

void JsStore::settle(const std::shared_ptr<Source>& source) {
  if (source->work) {
    source->work.ack();
  } else if (source->retry_sequence != 0) {
    if (auto st = js_.delete_message(kRetryStream, source->retry_sequence); !st)
      core::log::warn("cannot delete a delivered retry copy; it is delivered again after a failover",
                      {{"error", st.message()}});
  }
}

Status JsStore::finish_task(const core::DeliveryTask& task) {
  auto source = release(task);
  if (!source) return Status::ok();
  outcomes_.push([this, source, key = task.group_key, record = group_record("done", task)] {
    // A FIFO group's record first: if it cannot be written the delivery
    // stays stored (and comes again) rather than its group staying blocked.
    if (!key.empty())
      if (auto st = put_meta(key, record); !st) {
        core::log::warn("cannot record a FIFO delivery's end; it comes again", {{"error", st.message()}});
        return;
      }
    settle(source);
  });
  return Status::ok();
}

Status JsStore::finish_tasks(const std::vector<core::DeliveryTask>& tasks) {
  for (const auto& t : tasks) (void)finish_task(t);
  return Status::ok();
}

// The retry copy is stored before the earlier copy is let go, so a crash
// in between leaves two copies (the one with more attempts wins), never
// none.
Status JsStore::reschedule_task(int64_t, const core::DeliveryTask& task) {
  std::shared_ptr<Source> source;
  {
    core::MutexLock lock(mu_);
    auto a = adopted_.find(task.destination);
    if (a == adopted_.end()) return Status::ok();  // no longer this node's
    auto it = a->second->held.find(task.id);
    if (it == a->second->held.end()) return Status::ok();
    it->second.task = task;
    source = it->second.source;
  }
  outcomes_.push([this, source, task] {
    auto copy = js_.publish(jetstream::retry_subject(task.destination), encode_task(task),
                            task.id + ":a" + std::to_string(task.attempts), options_.publish_timeout_ms);
    if (!copy) {
      core::log::warn("cannot store a retry; the delivery keeps its earlier stored copy",
                      {{"destination", task.destination}, {"webhook_id", task.id}, {"error", copy.status().message()}});
      return;
    }
    std::shared_ptr<Source> previous;
    {  // the fetch thread may swap in a redelivered message meanwhile
      core::MutexLock lock(mu_);
      previous = std::make_shared<Source>(std::move(*source));
      *source = Source{};
      source->retry_sequence = copy->sequence;
    }
    settle(previous);
  });
  return Status::ok();
}

Status JsStore::scan_tasks(const std::function<void(core::DeliveryTask&&)>&) {
  return Status::ok();  // deliveries reach memory through adopt() and load_tasks
}

core::Result<uint64_t> JsStore::count_tasks() {
  core::MutexLock lock(mu_);
  uint64_t n = 0;
  for (const auto& [name, a] : adopted_) n += a->held.size();
  return n;
}

core::Result<uint64_t> JsStore::count_tasks(const std::string& destination) {
  core::MutexLock lock(mu_);
  auto it = adopted_.find(destination);
  return it == adopted_.end() ? 0 : it->second->held.size();
}

core::Result<std::vector<std::string>> JsStore::task_destinations() {
  core::MutexLock lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, a] : adopted_) out.push_back(name);
  return out;
}

// What is held and not yet in the dispatcher's memory, oldest first. There
// is no disk position to resume from: `cursor` is left empty.
core::Result<std::vector<core::DeliveryTask>> JsStore::load_tasks(const std::string& destination, size_t limit,
                                                                  const std::function<bool(const std::string&)>& skip,
                                                                  std::string* cursor, size_t max_bytes) {
  if (cursor != nullptr) cursor->clear();
  std::vector<const Held*> candidates;
  std::vector<core::DeliveryTask> out;
  core::MutexLock lock(mu_);
  auto it = adopted_.find(destination);
  if (it == adopted_.end()) return out;
  for (const auto& [id, h] : it->second->held)
    if (!skip(id)) candidates.push_back(&h);
  std::sort(candidates.begin(), candidates.end(), [](const Held* a, const Held* b) { return a->order < b->order; });
  size_t bytes = 0;
  for (const Held* h : candidates) {
    if (out.size() >= limit || (!out.empty() && bytes >= max_bytes)) break;
    bytes += core::task_memory_bytes(h->task);
    out.push_back(h->task);
  }
  return out;
}

// The dead letter is stored before the delivery's copy is let go.
Status JsStore::dead_letter(const DeadLetter& record) {
  auto source = release(record.task);
  if (!source) return Status::ok();
  outcomes_.push([this, source, record] {
    if (record.task.dead_letter) {
      DeadLetter kept = record;  // with its event: SY_EVENTS keeps it 25 h, the DLQ until redriven
      if (kept.event_envelope.empty())
        kept.event_envelope = event_envelope(record.task.ingested_ms, record.task.event_id).value_or("");
      auto stored =
          js_.publish(jetstream::dead_letter_subject(record.task.destination), encode_dead_letter(kept),
                      record.task.id + ":dlq:" + std::to_string(record.task.attempts), options_.publish_timeout_ms);
      if (!stored) {
        core::log::warn("cannot store a dead letter; the delivery comes back after a failover",
                        {{"destination", record.task.destination},
                         {"webhook_id", record.task.id},
                         {"error", stored.status().message()}});
        return;
      }
    }
    if (!record.task.group_key.empty())
      if (auto st = put_meta(record.task.group_key, group_record("dead", record.task)); !st) {
        core::log::warn("cannot record a FIFO delivery's end; it comes again", {{"error", st.message()}});
        return;
      }
    settle(source);
  });
  return Status::ok();
}

}  // namespace switchyard::storage
