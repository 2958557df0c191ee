// The JetStream store's archives and small records (replay progress).
//
// Each archive is a stream of its own, SY_AR_<tok(archive)>, with one
// subject per hour of event time (sy.ar.<tok>.<YYYYMMDDHH>); its maximum
// age is the archive's retention, so JetStream removes old events by
// itself. A replay walks the hours of its window in order and, within an
// hour, the archive's order; a position is "<hour start s>/<stream seq>".
// Small records live in the state bucket under "meta.<hex(key)>".

#include <charconv>
#include <ctime>
#include <map>
#include <utility>

#include "js_store.h"
#include "records.h"
#include "switchyard/core/crypto.h"
#include "switchyard/storage/js_subjects.h"

namespace switchyard::storage {

using core::Status;

namespace {

constexpr const char* kMetaPrefix = "meta.";
constexpr int64_t kHourS = 3600;

std::string archive_stream(const std::string& archive) { return "SY_AR_" + jetstream::subject_token(archive); }
std::string archive_filter(const std::string& archive) { return "sy.ar." + jetstream::subject_token(archive) + ".>"; }

// The start of the hour an archive subject names (its last token,
// YYYYMMDDHH; years before 1000 have fewer digits).
std::optional<int64_t> hour_of(const std::string& subject) {
  const auto dot = subject.rfind('.');
  if (dot == std::string::npos || subject.size() - dot - 1 < 7) return std::nullopt;
  const std::string token = subject.substr(dot + 1);
  int year = 0, mdh = 0;
  const char* begin = token.data();
  const char* split = begin + token.size() - 6;
  if (std::from_chars(begin, split, year).ec != std::errc() ||
      std::from_chars(split, begin + token.size(), mdh).ec != std::errc())
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mdh / 10000 - 1;
  tm.tm_mday = mdh / 100 % 100;
  tm.tm_hour = mdh % 100;
  return static_cast<int64_t>(timegm(&tm));
}

struct Position {
  int64_t hour = INT64_MIN;
  uint64_t sequence = 0;
};

std::string encode_position(int64_t hour, uint64_t sequence) {
  return std::to_string(hour) + "/" + std::to_string(sequence);
}

// An empty or unreadable key starts at the beginning.
Position decode_position(const std::string& key) {
  Position p;
  const auto slash = key.find('/');
  if (slash == std::string::npos) return p;
  int64_t hour = 0;
  uint64_t seq = 0;
  if (std::from_chars(key.data(), key.data() + slash, hour).ec != std::errc() ||
      std::from_chars(key.data() + slash + 1, key.data() + key.size(), seq).ec != std::errc())
    return p;
  return {hour, seq};
}

std::string unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    unsigned v = 0;
    std::from_chars(hex.data() + i, hex.data() + i + 2, v, 16);
    out.push_back(static_cast<char>(v));
  }
  return out;
}

}  // namespace

// The hours of an archive that hold events, in time order, with their
// subjects and counts. An archive nothing was stored in yet has none.
core::Result<std::map<int64_t, std::pair<std::string, uint64_t>>> JsStore::archive_hours(const std::string& archive) {
  std::map<int64_t, std::pair<std::string, uint64_t>> hours;
  auto counts = js_.subject_counts(archive_stream(archive), archive_filter(archive));
  if (!counts) {
    if (counts.status().code() == core::Code::kNotFound) return hours;
    return counts.status().with_context("archive " + archive);
  }
  for (auto& [subject, n] : *counts)
    if (auto hour = hour_of(subject)) hours[*hour] = {subject, n};
  return hours;
}

Status JsStore::ensure_archive(const std::string& archive) {
  {
    core::MutexLock lock(mu_);
    if (archives_.count(archive)) return Status::ok();
  }
  // Created without an age limit when the retention pass has not run yet;
  // that pass (set_archive_retention) sets it. Never changed here.
  auto st = js_.ensure_stream({.name = archive_stream(archive),
                               .subjects = {archive_filter(archive)},
                               .replicas = options_.replicas,
                               .duplicates_ms = options_.duplicates_ms},
                              /*update=*/false);
  if (!st) return st.with_context("archive " + archive);
  core::MutexLock lock(mu_);
  archives_.insert(archive);
  return Status::ok();
}

Status JsStore::set_archive_retention(const std::string& archive, uint32_t retention_days) {
  {
    core::MutexLock lock(mu_);
    auto it = retention_.find(archive);
    if (it != retention_.end() && it->second == retention_days) return Status::ok();
  }
  const int64_t max_age_ms = int64_t{retention_days} * 86'400'000;
  auto st =
      js_.ensure_stream({.name = archive_stream(archive),
                         .subjects = {archive_filter(archive)},
                         .replicas = options_.replicas,
                         .max_age_ms = max_age_ms,
                         .duplicates_ms = std::min(options_.duplicates_ms, max_age_ms > 0 ? max_age_ms : INT64_MAX)});
  if (!st) return st.with_context("archive " + archive);
  core::MutexLock lock(mu_);
  retention_[archive] = retention_days;
  archives_.insert(archive);
  return Status::ok();
}

void JsStore::publish_archived(const std::shared_ptr<const IngestBatch>& batch, const std::string& archive,
                               const std::vector<size_t>& events, const std::function<void(const Status&)>& finished) {
  if (auto st = ensure_archive(archive); !st) {
    finished(st);
    return;
  }
  for (size_t i : events) {
    const core::Event& e = batch->events[i];
    const std::string record = encode_archive_record(e, i < batch->envelopes.size() ? &batch->envelopes[i] : nullptr);
    auto published = js_.publish(jetstream::archive_subject(archive, e.time), record, "ar:" + archive + ":" + e.id,
                                 options_.publish_timeout_ms);
    if (!published) {
      finished(published.status());
      return;
    }
  }
  finished(Status::ok());
}

core::Result<std::vector<ArchivedEvent>> JsStore::read_archive(const std::string& archive, int64_t from_s, int64_t to_s,
                                                               const std::string& after_key, size_t limit) {
  std::vector<ArchivedEvent> out;
  auto hours = archive_hours(archive);
  if (!hours) return hours.status();
  const Position after = decode_position(after_key);
  Status failed;
  for (const auto& entry : *hours) {
    const int64_t hour = entry.first;  // a plain variable: the reader below captures it
    const std::pair<std::string, uint64_t>& subject_count = entry.second;
    if (out.size() >= limit) break;
    if (hour + kHourS <= from_s || hour < after.hour) continue;
    if (hour >= to_s) break;
    const uint64_t start = hour == after.hour ? after.sequence + 1 : 0;
    auto st = js_.read_subject(
        archive_stream(archive), subject_count.first,
        [&](jetstream::Message& m) {
          auto header = decode_event_header(m.data());
          if (!header) {
            failed = header.status().with_context("archive " + archive + ", position " +
                                                  encode_position(hour, m.stream_sequence()));
            return false;
          }
          if (header->time_s < from_s || header->time_s >= to_s) return true;
          ArchivedEvent e;
          e.key = encode_position(hour, m.stream_sequence());
          e.id = std::move(header->id);
          e.bus = std::move(header->bus);
          e.time_s = header->time_s;
          e.ingested_ms = header->ingested_ms;
          e.trace_header = std::move(header->trace_header);
          e.envelope = std::string(envelope_of(m.data()));
          out.push_back(std::move(e));
          return out.size() < limit;
        },
        start);
    if (!st) return st;
    if (!failed) return failed;
  }
  return out;
}

core::Result<uint64_t> JsStore::count_archive(const std::string& archive, int64_t from_s, int64_t to_s) {
  auto hours = archive_hours(archive);
  if (!hours) return hours.status();
  uint64_t n = 0;
  for (const auto& [hour, subject_count] : *hours) {
    if (hour + kHourS <= from_s) continue;
    if (hour >= to_s) break;
    if (hour >= from_s && hour + kHourS <= to_s) {  // the whole hour is in the window
      n += subject_count.second;
      continue;
    }
    Status failed;
    auto st = js_.read_subject(archive_stream(archive), subject_count.first, [&](jetstream::Message& m) {
      auto header = decode_event_header(m.data());
      if (!header) {
        failed = header.status().with_context("archive " + archive);
        return false;
      }
      if (header->time_s >= from_s && header->time_s < to_s) ++n;
      return true;
    });
    if (!st) return st;
    if (!failed) return failed;
  }
  return n;
}

ArchiveStats JsStore::archive_stats(const std::string& archive) {
  auto state = js_.stream_state(archive_stream(archive));
  if (!state) return {};
  return {.events = state->messages, .bytes = state->bytes};
}

// JetStream removes what is older than the stream's maximum age itself
// (set_archive_retention): nothing is left to remove here.
core::Result<uint64_t> JsStore::expire_archive(const std::string&, int64_t, size_t, std::string*) { return 0; }

Status JsStore::put_meta(const std::string& key, const std::string& value) {
  auto put = js_.kv_put(kStateBucket, kMetaPrefix + core::to_hex(key), value);
  return put ? Status::ok() : put.status();
}

Status JsStore::delete_meta(const std::string& key) {
  return js_.kv_delete(kStateBucket, kMetaPrefix + core::to_hex(key));
}

core::Result<std::vector<std::pair<std::string, std::string>>> JsStore::list_meta(const std::string& prefix) {
  auto keys = js_.kv_keys(kStateBucket);
  if (!keys) return keys.status();
  std::vector<std::pair<std::string, std::string>> out;
  const std::string hex_prefix = kMetaPrefix + core::to_hex(prefix);
  for (const auto& k : *keys) {
    if (k.rfind(hex_prefix, 0) != 0) continue;
    auto entry = js_.kv_get(kStateBucket, k);
    if (entry) {
      out.emplace_back(unhex(std::string_view(k).substr(std::string_view(kMetaPrefix).size())), entry->value);
    } else if (entry.status().code() != core::Code::kNotFound) {
      return entry.status();
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace switchyard::storage
