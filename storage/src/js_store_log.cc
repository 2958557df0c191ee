// Bus logs in cluster mode: a stream per bus, SY_LOG_<tok(bus)>, subject
// sy.log.<tok>. A position is the stream sequence, which JetStream gives
// in publish order and never reuses; the stream's maximum age is the bus's
// retention, so JetStream removes old entries by itself.

#include <utility>

#include "js_store.h"
#include "records.h"
#include "switchyard/storage/js_subjects.h"

namespace switchyard::storage {

using core::Result;
using core::Status;

namespace {

std::string log_stream(const std::string& bus) { return "SY_LOG_" + jetstream::subject_token(bus); }

}  // namespace

Status JsStore::ensure_log(const std::string& bus) {
  {
    core::MutexLock lock(mu_);
    if (logs_.count(bus)) return Status::ok();
  }
  // Created without an age limit when the retention pass has not run yet;
  // that pass (expire_log) sets it.
  auto st = js_.ensure_stream({.name = log_stream(bus),
                               .subjects = {jetstream::log_subject(bus)},
                               .replicas = options_.replicas,
                               .duplicates_ms = options_.duplicates_ms},
                              /*update=*/false);
  if (!st) return st.with_context("the log of bus " + bus);
  core::MutexLock lock(mu_);
  logs_.insert(bus);
  return Status::ok();
}

void JsStore::publish_logged(const std::shared_ptr<const IngestBatch>& batch, const std::vector<size_t>& entries,
                             const std::function<void(const Status&)>& finished) {
  const std::string& bus = batch->log.at(entries.front()).bus;
  if (auto st = ensure_log(bus); !st) {
    finished(st);
    return;
  }
  for (size_t i : entries) {
    const LogEntry& e = batch->log[i];
    // The same message id on a retry: a publish that was stored but not
    // acknowledged is answered with its first position, not stored twice.
    auto published = js_.publish(jetstream::log_subject(bus), encode_log_entry(e), "log:" + bus + ":" + e.event_id,
                                 options_.publish_timeout_ms);
    if (!published) {
      finished(published.status());
      return;
    }
    batch->log_positions[i] = published->sequence;
  }
  finished(Status::ok());
}

Result<std::vector<LogEntry>> JsStore::read_log(const std::string& bus, uint64_t from, size_t limit) {
  std::vector<LogEntry> out;
  auto bounds = log_bounds(bus);
  if (!bounds) return bounds.status();
  if (from >= bounds->next || limit == 0) return out;
  Status failed;
  auto st = js_.read_subject(
      log_stream(bus), jetstream::log_subject(bus),
      [&](jetstream::Message& m) {
        auto entry = decode_log_entry(m.data());
        if (!entry) {
          failed =
              entry.status().with_context("bus " + bus + "'s log, position " + std::to_string(m.stream_sequence()));
          return false;
        }
        entry->position = m.stream_sequence();
        out.push_back(std::move(*entry));
        return out.size() < limit;
      },
      std::max<uint64_t>(from, 1));
  if (!st) return st;
  if (!failed) return failed;
  return out;
}

Result<LogBounds> JsStore::log_bounds(const std::string& bus) {
  auto state = js_.stream_state(log_stream(bus));
  if (!state) {
    if (state.status().code() == core::Code::kNotFound) return LogBounds{};
    return state.status().with_context("the log of bus " + bus);
  }
  const uint64_t next = state->last_sequence + 1;
  return LogBounds{.first = state->messages == 0 ? next : std::max<uint64_t>(state->first_sequence, 1), .next = next};
}

Result<uint64_t> JsStore::log_position_at(const std::string& bus, int64_t time_ms) {
  auto bounds = log_bounds(bus);
  if (!bounds) return bounds.status();
  if (bounds->first >= bounds->next) return bounds->next;
  auto first = js_.first_sequence_since(log_stream(bus), jetstream::log_subject(bus), time_ms);
  if (!first) return first.status();
  return *first == 0 ? bounds->next : *first;
}

Status JsStore::trim_log(const std::string& bus, uint64_t position) {
  auto bounds = log_bounds(bus);
  if (!bounds) return bounds.status();
  if (position <= bounds->first) return Status::ok();
  return js_.purge_before(log_stream(bus), position);
}

// JetStream removes entries past the stream's maximum age itself: this sets
// that age (once per change) and removes nothing.
Result<uint64_t> JsStore::expire_log(const std::string& bus, int64_t /*cutoff_ms*/, uint32_t retention_days) {
  {
    core::MutexLock lock(mu_);
    auto it = log_retention_.find(bus);
    if (it != log_retention_.end() && it->second == retention_days) return 0;
  }
  const int64_t max_age_ms = int64_t{retention_days} * 86'400'000;
  auto st =
      js_.ensure_stream({.name = log_stream(bus),
                         .subjects = {jetstream::log_subject(bus)},
                         .replicas = options_.replicas,
                         .max_age_ms = max_age_ms,
                         .duplicates_ms = std::min(options_.duplicates_ms, max_age_ms > 0 ? max_age_ms : INT64_MAX)});
  if (!st) return st.with_context("the log of bus " + bus);
  core::MutexLock lock(mu_);
  log_retention_[bus] = retention_days;
  logs_.insert(bus);
  return 0;
}

}  // namespace switchyard::storage
