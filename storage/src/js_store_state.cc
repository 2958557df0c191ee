// The JetStream store's dead-letter reads, redrive and purge, and pause
// state.

#include <utility>

#include "js_store.h"
#include "records.h"
#include "switchyard/storage/js_subjects.h"

namespace switchyard::storage {

using core::Status;

namespace {

constexpr const char* kPausePrefix = "pause.";

}  // namespace

core::Result<std::vector<DeadLetter>> JsStore::list_dead_letters(const std::string& destination, size_t limit) {
  std::vector<DeadLetter> out;
  if (limit == 0) return out;
  Status failed;
  auto st =
      js_.read_subject(kDeadLetterStream, jetstream::dead_letter_subject(destination), [&](jetstream::Message& m) {
        auto d = decode_dead_letter(m.data());
        if (!d) {
          failed = d.status();
          return false;
        }
        d->key = std::to_string(m.stream_sequence());
        out.push_back(std::move(*d));
        return out.size() < limit;
      });
  if (!st) return st;
  if (!failed) return failed;
  return out;
}

core::Result<uint64_t> JsStore::count_dead_letters(const std::string& destination) {
  const std::string subject = jetstream::dead_letter_subject(destination);
  auto counts = js_.subject_counts(kDeadLetterStream, subject);
  if (!counts) return counts.status();
  auto it = counts->find(subject);
  return it == counts->end() ? 0 : it->second;
}

core::Result<std::map<std::string, uint64_t>> JsStore::dead_letter_counts(
    const std::vector<std::string>& destinations) {
  auto counts = js_.subject_counts(kDeadLetterStream, "sy.dlq.>");
  if (!counts) return counts.status();
  std::map<std::string, uint64_t> out;
  for (const auto& d : destinations) {
    auto it = counts->find(jetstream::dead_letter_subject(d));
    out[d] = it == counts->end() ? 0 : it->second;
  }
  return out;
}

// Each dead letter goes back to its destination's work subject (Msg-Id
// <webhook-id>:rd:<its DLQ sequence>, so running a redrive again after a
// failure stores nothing twice), then leaves the DLQ: idempotent, not
// atomic. The owner of the destination fetches them.
core::Result<std::vector<core::DeliveryTask>> JsStore::redrive(const std::string& destination, size_t limit,
                                                               int64_t now_ms) {
  auto letters = list_dead_letters(destination, limit);
  if (!letters) return letters.status();
  std::vector<core::DeliveryTask> out;
  for (auto& d : *letters) {
    core::DeliveryTask t = std::move(d.task);
    t.attempts = 0;
    t.due_ms = now_ms;
    t.age_from_ms = now_ms;  // a redriven delivery gets a fresh age budget
    t.last_error.clear();
    t.last_status = 0;
    auto stored = js_.publish(jetstream::work_subject(destination), encode_task(t), t.id + ":rd:" + d.key,
                              options_.publish_timeout_ms);
    if (!stored) return stored.status();
    if (auto st = js_.delete_message(kDeadLetterStream, std::stoull(d.key)); !st) return st;
    out.push_back(std::move(t));
  }
  return out;
}

Status JsStore::purge_dead_letters(const std::string& destination, uint64_t* purged) {
  *purged = 0;
  auto n = js_.purge_subject(kDeadLetterStream, jetstream::dead_letter_subject(destination));
  if (!n) return n.status();
  *purged = *n;
  return Status::ok();
}

// Every node reads the pauses (the owner of a destination applies them), so
// a pause set on any node holds cluster-wide and across restarts.
Status JsStore::set_paused(const std::string& destination, bool paused) {
  const std::string key = kPausePrefix + jetstream::subject_token(destination);
  if (!paused) return js_.kv_delete(kStateBucket, key);
  auto current = js_.kv_get(kStateBucket, key);
  if (current) return Status::ok();
  if (current.status().code() != core::Code::kNotFound) return current.status();
  auto created = js_.kv_create(kStateBucket, key, destination);
  if (!created && created.status().code() != core::Code::kFailedPrecondition) return created.status();
  return Status::ok();
}

core::Result<std::vector<std::string>> JsStore::paused_destinations() {
  auto keys = js_.kv_keys(kStateBucket);
  if (!keys) return keys.status();
  std::vector<std::string> out;
  for (const auto& k : *keys) {
    if (k.rfind(kPausePrefix, 0) != 0) continue;
    auto entry = js_.kv_get(kStateBucket, k);
    if (entry) {
      out.push_back(entry->value);
    } else if (entry.status().code() != core::Code::kNotFound) {
      return entry.status();
    }
  }
  return out;
}

}  // namespace switchyard::storage
