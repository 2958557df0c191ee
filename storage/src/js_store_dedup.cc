// Publish deduplication in cluster mode: one key-value entry per key in the
// bucket sy_dedup (kept 24 hours, the longest window), shared by every node.
// A claim creates the entry as pending ("P"), and the batch that stores the
// event turns it done ("D") once every publish of it is acknowledged. A
// request that fails part way leaves it failed ("F"), or pending when even
// that write fails: the next request with the key then stores its event as
// that event (same id, same time, so the same Msg-Ids), and JetStream keeps
// whatever the first one stored from being stored twice. Values are
// "<state>|<ingested ms>|<event id>".

#include <charconv>

#include "js_store.h"

namespace switchyard::storage {

using core::Result;
using core::Status;

namespace {

struct DedupHolder {
  char state = 0;
  int64_t ingested_ms = 0;
  std::string event_id;
};

std::string held_value(char state, int64_t ingested_ms, const std::string& event_id) {
  return std::string(1, state) + "|" + std::to_string(ingested_ms) + "|" + event_id;
}

bool parse_held(const std::string& v, DedupHolder* out) {
  if (v.size() < 4 || v[1] != '|') return false;
  const size_t bar = v.find('|', 2);
  if (bar == std::string::npos) return false;
  const auto [end, ec] = std::from_chars(v.data() + 2, v.data() + bar, out->ingested_ms);
  if (ec != std::errc() || end != v.data() + bar) return false;
  out->state = v[0];
  out->event_id = v.substr(bar + 1);
  return true;
}

}  // namespace

Status JsStore::provision_dedup() { return js_.ensure_bucket(kDedupBucket, options_.replicas, kDedupKeptMs); }

Result<DedupClaim> JsStore::claim_dedup(const std::string& key, const std::string& event_id, int64_t now_ms,
                                        int64_t window_ms) {
  const std::string mine = held_value('P', now_ms, event_id);
  // A pending claim older than this belongs to a request that died or gave
  // up: it has been answered (or its client has) long since.
  const int64_t stale_ms = 2 * options_.publish_timeout_ms + 2000;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto created = js_.kv_create(kDedupBucket, key, mine);
    if (created) return DedupClaim::of(DedupClaim::Kind::kNew);
    if (created.status().code() != core::Code::kFailedPrecondition) return created.status();
    auto current = js_.kv_get_from_leader(kDedupBucket, key);
    if (current.status().code() == core::Code::kNotFound) continue;  // expired meanwhile
    if (!current) return current.status();
    DedupHolder held;
    if (!parse_held(current->value, &held)) held.state = 'D';  // unreadable: taken over as expired
    const int64_t age = now_ms - held.ingested_ms;
    DedupClaim claim = DedupClaim::of(DedupClaim::Kind::kNew);
    std::string value = mine;
    if (held.state == 'D' && age < window_ms && !held.event_id.empty()) {
      return DedupClaim::of(DedupClaim::Kind::kDuplicate, held.event_id, held.ingested_ms);
    } else if (held.state == 'P' && age < stale_ms) {
      return DedupClaim::of(DedupClaim::Kind::kBusy);
    } else if ((held.state == 'P' || held.state == 'F') && age < options_.duplicates_ms) {
      // Stored as that event: what of it JetStream already holds is not stored again.
      claim = DedupClaim::of(DedupClaim::Kind::kResume, held.event_id, held.ingested_ms);
      value = held_value('P', held.ingested_ms, held.event_id);
    }
    auto updated = js_.kv_update(kDedupBucket, key, value, current->revision);
    if (updated) return claim;
    if (updated.status().code() != core::Code::kFailedPrecondition) return updated.status();
  }
  return DedupClaim::of(DedupClaim::Kind::kBusy);  // contended: the client tries again
}

void JsStore::release_dedup(const std::string& key, const std::string& event_id, int64_t ingested_ms) {
  // Best effort: a claim left pending becomes resumable once stale.
  (void)js_.kv_put(kDedupBucket, key, held_value('F', ingested_ms, event_id));
}

Status JsStore::complete_dedup(const IngestBatch& batch) {
  for (const auto& r : batch.dedup)
    if (auto put = js_.kv_put(kDedupBucket, r.key, held_value('D', r.ingested_ms, r.event_id)); !put)
      return put.status();
  return Status::ok();
}

}  // namespace switchyard::storage
