// The JetStream store: opening it (streams and buckets), ingest publishes
// acknowledged by a quorum, and the worker queues.

#include "js_store.h"

#include <prometheus/registry.h>

#include <chrono>
#include <map>
#include <utility>
#include <vector>

#include "records.h"
#include "switchyard/core/log.h"
#include "switchyard/storage/js_subjects.h"

namespace switchyard::storage {

using core::Status;

JobQueue::JobQueue(int threads) {
  for (int i = 0; i < threads; ++i)
    threads_.emplace_back([this] {
      for (;;) {
        std::function<void()> job;
        {
          std::unique_lock lock(mu_);
          cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
          if (jobs_.empty()) return;  // stopping, and everything queued ran
          job = std::move(jobs_.front());
          jobs_.pop_front();
        }
        job();
      }
    });
}

JobQueue::~JobQueue() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void JobQueue::push(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

JsStore::JsStore(jetstream::JetStream& js, const JetStreamStoreOptions& options)
    : js_(js),
      options_(options),
      metrics_(StoreMetrics::make(options.registry, /*disk=*/false)),
      publishers_(std::max(1, options.publisher_threads)),
      outcomes_(1) {
  if (options_.registry != nullptr)
    redelivered_ = &prometheus::BuildCounter()
                        .Name("switchyard_cluster_redelivered_total")
                        .Help(
                            "Deliveries fetched again after a node failed or was too slow to record them: "
                            "possible duplicates at the receiver")
                        .Register(*options_.registry);
  if (options_.registry != nullptr)
    pending_ = &prometheus::BuildGauge()
                    .Name("switchyard_cluster_work_pending")
                    .Help(
                        "Deliveries waiting in the work stream for a destination this node owns, beyond those "
                        "it has fetched: the owner's lag")
                    .Register(*options_.registry);
}

void JsStore::check_health() {
  std::unique_lock lock(health_mu_);
  while (!stopping_) {
    lock.unlock();
    // A stream leader cut off from its followers keeps answering reads for
    // several seconds before it steps down (nats-server's lost-quorum
    // check): a write, which needs a quorum, tells at once.
    const bool answers =
        static_cast<bool>(js_.stream_leader(kWorkStream)) &&
        static_cast<bool>(js_.kv_put(kStateBucket, "health." + jetstream::subject_token(options_.node_id),
                                     std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                        std::chrono::system_clock::now().time_since_epoch())
                                                        .count())));
    if (answers != stream_answers_.exchange(answers))
      core::log::warn(answers ? "the work stream answers again" : "the work stream does not answer (no quorum?)", {});
    lock.lock();
    health_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_.load(); });
  }
}

Status JsStore::readiness() {
  if (!js_.connected()) return Status::unavailable("not connected to NATS");
  if (!stream_answers_) return Status::unavailable("JetStream's work stream does not answer (no quorum)");
  return Status::ok();
}

JsStore::~JsStore() {
  {
    std::lock_guard lock(health_mu_);
    stopping_ = true;
  }
  health_cv_.notify_all();
  if (health_.joinable()) health_.join();
  std::vector<std::string> names;
  {
    core::MutexLock lock(mu_);
    for (const auto& [name, a] : adopted_) names.push_back(name);
  }
  for (const auto& name : names) drop(name, true);
}

Status JsStore::provision() {
  using jetstream::StreamSpec;
  const StreamSpec streams[] = {
      {.name = kEventStream,
       .subjects = {"sy.ev.>"},
       .replicas = options_.replicas,
       .max_age_ms = options_.events_max_age_ms,
       .duplicates_ms = options_.duplicates_ms},
      {.name = kWorkStream,
       .subjects = {"sy.wk.>"},
       .replicas = options_.replicas,
       .work_queue = true,
       .max_bytes = options_.work_max_bytes,
       .duplicates_ms = options_.duplicates_ms},
      {.name = kRetryStream,
       .subjects = {"sy.rt.>"},
       .replicas = options_.replicas,
       .max_bytes = options_.retry_max_bytes,
       .duplicates_ms = options_.duplicates_ms},
      {.name = kDeadLetterStream,
       .subjects = {"sy.dlq.>"},
       .replicas = options_.replicas,
       .max_bytes = options_.dlq_max_bytes,
       .duplicates_ms = options_.duplicates_ms},
  };
  for (const auto& spec : streams)
    if (auto st = js_.ensure_stream(spec); !st) return st;
  health_ = std::thread([this] { check_health(); });
  if (auto st = provision_dedup(); !st) return st;
  return js_.ensure_bucket(kStateBucket, options_.replicas);
}

core::Result<std::unique_ptr<JetStreamStore>> JetStreamStore::open(jetstream::JetStream& js,
                                                                   const JetStreamStoreOptions& options) {
  auto store = std::make_unique<JsStore>(js, options);
  if (auto st = store->provision(); !st) return st;
  return std::unique_ptr<JetStreamStore>(std::move(store));
}

JetStreamStore::~JetStreamStore() = default;

// Each matched delivery is one message on its destination's subject, its
// webhook-id the Msg-Id (a request sent again within the dedup window
// stores nothing twice). The request is acknowledged once every publish
// is: destinations in parallel on the publisher threads. A request whose
// publishes partly failed is answered 503, and what was stored of it is
// delivered: a 503 here means "not acknowledged", as the README says.
//
// Archive copies go to their archive's stream the same way, and a batch's
// deduplication keys (js_store_dedup.cc) and small records (a replay's
// progress) are written last, once everything
// else of it is stored: a step that fails is repeated, and the Msg-Ids make
// the repetition store nothing twice.
void JsStore::append(std::shared_ptr<const IngestBatch> batch, std::function<void(Status)> done) {
  if (batch->tasks.empty() && batch->events.empty() && batch->meta.empty() && batch->dedup.empty() &&
      batch->log.empty()) {
    done(Status::ok());
    return;
  }
  struct Pending {
    std::atomic<size_t> left;
    core::Mutex mu;
    Status failed SY_GUARDED_BY(mu);
    std::function<void(Status)> done;
  };
  // One job per destination, publishing its deliveries in the batch's
  // order (which is the order its owner fetches them in).
  std::map<std::string, std::vector<size_t>> by_destination;
  for (size_t i = 0; i < batch->tasks.size(); ++i) by_destination[batch->tasks[i].destination].push_back(i);
  std::map<std::string, std::vector<size_t>> by_archive;
  for (const auto& [archive, i] : batch->archived) by_archive[archive].push_back(i);
  std::map<std::string, std::vector<size_t>> by_log;
  for (size_t i = 0; i < batch->log.size(); ++i) by_log[batch->log[i].bus].push_back(i);
  batch->log_positions.assign(batch->log.size(), 0);  // each job fills in its own entries'
  auto pending = std::make_shared<Pending>();
  pending->left = by_destination.size() + batch->events.size() + by_archive.size() + by_log.size() + 1;
  pending->done = [this, batch, done = std::move(done), started = std::chrono::steady_clock::now()](Status st) {
    if (st) st = complete_dedup(*batch);
    for (const auto& [key, value] : batch->meta) {
      if (!st) break;
      st = put_meta(key, value);
    }
    if (metrics_) {
      if (st) {
        metrics_->batches->Increment();
        metrics_->commit_seconds->Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      } else {
        (st.code() == core::Code::kResourceExhausted ? metrics_->refused_full : metrics_->refused_error)->Increment();
      }
    }
    done(std::move(st));
  };
  auto finished = [pending](const Status& failed) {
    if (!failed) {
      core::MutexLock lock(pending->mu);
      if (pending->failed) pending->failed = failed;
    }
    if (pending->left.fetch_sub(1) == 1) {
      Status st;
      {
        core::MutexLock lock(pending->mu);
        st = pending->failed;
      }
      pending->done(std::move(st));
    }
  };
  // Each event's record, for lookups and dead letters' bodies.
  for (size_t i = 0; i < batch->events.size(); ++i)
    publishers_.push([this, batch, finished, i] {
      const core::Event& e = batch->events[i];
      const std::string record = encode_event_record(e, i < batch->envelopes.size() ? &batch->envelopes[i] : nullptr);
      auto published = js_.publish(jetstream::event_subject(e.id), record, "ev:" + e.id, options_.publish_timeout_ms);
      finished(published ? Status::ok() : published.status());
    });
  for (auto& [destination, indexes] : by_destination)
    publishers_.push([this, batch, finished, indexes = std::move(indexes)] {
      Status failed;
      for (size_t i : indexes) {
        const core::DeliveryTask& t = batch->tasks[i];
        auto published =
            js_.publish(jetstream::work_subject(t.destination), encode_task(t), t.id, options_.publish_timeout_ms);
        if (!published) {
          failed = published.status();
          break;
        }
      }
      finished(failed);
    });
  for (auto& [archive, indexes] : by_archive)
    publishers_.push([this, batch, finished, name = archive, indexes = std::move(indexes)] {
      publish_archived(batch, name, indexes, finished);
    });
  for (auto& [bus, indexes] : by_log)
    publishers_.push(
        [this, batch, finished, indexes = std::move(indexes)] { publish_logged(batch, indexes, finished); });
  finished(Status::ok());  // the count's extra one: a batch of small records only has no job
}

core::Result<std::string> JsStore::event_envelope(int64_t, const std::string& event_id) {
  auto record = js_.last_message(kEventStream, jetstream::event_subject(event_id));
  if (!record) {
    if (record.status().code() == core::Code::kNotFound)
      return Status::not_found("event " + event_id + " is not stored (or older than 25 hours)");
    return record.status();
  }
  return std::string(envelope_of(*record));
}

Status JsStore::scan_events(int64_t, int64_t, const std::function<bool(const std::string&)>&) {
  return Status::failed_precondition("reading stored events is not available in cluster mode");
}

}  // namespace switchyard::storage
