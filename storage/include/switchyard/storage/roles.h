#pragma once

// The store's roles. Each part of Switchyard depends on the role it uses:
// ingest on the IngestLog, delivery on the DeliveryQueue and DeadLetters,
// replays and retention on Archives, pause state and replay progress on
// SmallState. A backend (RocksDB today, JetStream in cluster mode, memory
// in unit tests) implements all of them as one Store (store.h).
//
// Every method may be called from any thread. A read that fails returns
// the failure (a Result), never an empty answer that looks like "none".

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "switchyard/core/event.h"
#include "switchyard/core/status.h"
#include "switchyard/core/task.h"

namespace switchyard::storage {

// A publish-deduplication key taken by an event (eventbridge-v2.md §5),
// recorded with the event: `key` names `event_id` until `expires_ms`.
struct DedupRecord {
  std::string key;  // the scope's hash (64 hex digits): bus, group, id
  std::string event_id;
  int64_t ingested_ms = 0;
  int64_t expires_ms = 0;
};

// How long accepted events are kept (IngestLog::expire_events).
inline constexpr int64_t kEventsKeptMs = 25 * 3600 * 1000LL;

// One entry of a bus's log (eventbridge-v2.md §1, §3): an accepted event as
// subscribers read it, in publish order, at a position.
struct LogEntry {
  std::string bus;
  std::string event_id;
  int64_t ingested_ms = 0;
  // application/eventbridge+json for an envelope (classic publishes,
  // webhooks, v2 PutEvents); otherwise the v2 PutRawEvents content type.
  std::string content_type = "application/eventbridge+json";
  std::string data;                                           // the envelope, or the raw bytes
  std::vector<std::pair<std::string, std::string>> metadata;  // PutRawEvents' Metadata
  std::string group_id;                                       // SystemMetadata.EventGroupId ("" without one)
  std::string dedup_id;             // the deduplication id the publish carried ("" without one)
  std::string source, detail_type;  // aws:Source, aws:DetailType (envelopes only)
  std::string trace_header;
  std::vector<std::string> via;  // buses it was put on before this one (event-bus targets' loop guard)
  uint64_t position = 0;         // given by the store: read_log fills it in

  bool operator==(const LogEntry&) const = default;
};

// Everything one ingest request stores, written atomically: the accepted
// events and the deliveries their matches produced.
struct IngestBatch {
  std::vector<core::Event> events;
  // envelopes[i] is core::envelope_json(events[i]) when the caller already
  // made it (ingest does, to match the event): the store then keeps those
  // bytes instead of serializing the event again. Empty: the store makes them.
  std::vector<std::string> envelopes;
  std::vector<core::DeliveryTask> tasks;
  // (archive name, index into events): events kept in an archive too.
  std::vector<std::pair<std::string, size_t>> archived;
  // Small records written in the same atomic write (replay progress).
  std::vector<std::pair<std::string, std::string>> meta;
  // The deduplication keys its events claimed (PublishDedup::claim_dedup).
  std::vector<DedupRecord> dedup;
  // Entries appended to their buses' logs (BusLog), in this order.
  std::vector<LogEntry> log;
  // Filled in by the store before `done` runs, once the batch is stored:
  // log[i]'s position. An output on an otherwise read-only batch.
  mutable std::vector<uint64_t> log_positions;
};

// An archived event as a replay reads it.
struct ArchivedEvent {
  std::string key;  // position in the archive; a replay resumes after it
  std::string id;
  std::string bus;
  int64_t time_s = 0;       // the event's `time`
  int64_t ingested_ms = 0;  // when it was first accepted
  std::string trace_header;
  std::string envelope;  // the stored envelope, byte for byte

  bool operator==(const ArchivedEvent&) const = default;
};

struct ArchiveStats {
  uint64_t events = 0;
  uint64_t bytes = 0;  // of the stored envelopes
};

// A dead-lettered delivery with EventBridge's DLQ attributes.
struct DeadLetter {
  core::DeliveryTask task;
  std::string error_code;  // ERROR_FROM_TARGET, TIMEOUT, ...
  std::string error_message;
  std::string exhausted_condition;  // MaximumRetryAttempts | MaximumEventAgeInSeconds | ""
  int64_t dead_ms = 0;
  std::string key;  // storage key, filled by list_dead_letters
  // The original event's envelope, kept with the dead letter (the store
  // adds it when it stores the record: accepted events themselves are kept
  // 25 hours, dead letters until they are redriven or purged). Empty when
  // the event was gone already, and in records of earlier versions.
  std::string event_envelope;
};

// Whether the store accepts writes. False while its disk has less than
// Options::min_free_bytes free: every write (ingest, delivery outcomes, DLQ,
// archives, replays, pause state) is then refused with kResourceExhausted
// and nothing is written. It turns true again by itself once space is freed.
class Writability {
 public:
  virtual ~Writability() = default;
  virtual bool writable() = 0;
};

// Accepted events, stored before they are acknowledged.
class IngestLog : public virtual Writability {
 public:
  // Queues an ingest batch. `done` runs on the committer thread once the
  // batch is durable (or failed); nothing of a failed batch is stored.
  virtual void append(std::shared_ptr<const IngestBatch> batch, std::function<void(core::Status)> done) = 0;
  // Whether the deliveries of an appended batch (and those a redrive puts
  // back) go to this process's dispatcher once stored (true), or reach
  // their destination's owner through the store itself (cluster mode).
  virtual bool delivers_appended_here() const { return true; }
  // Whether the log can take events now, for /readyz (cluster mode: the
  // connection to NATS is up). The embedded store is always ready.
  virtual core::Status readiness() { return core::Status::ok(); }
  // Accepted events are kept kEventsKeptMs (EventBridge's longest event
  // age, 24 h, and an hour more): enough for every delivery and retry of
  // them. Removes those accepted before `cutoff_ms` (JetStream's stream
  // does it by itself).
  virtual core::Status expire_events(int64_t cutoff_ms) = 0;
  // The stored envelope of one event; kNotFound when it is not (or no
  // longer) stored.
  virtual core::Result<std::string> event_envelope(int64_t ingested_ms, const std::string& event_id) = 0;
  // Events stored between [from_ms, to_ms) of ingestion time, as
  // {"bus":..., "ingested_ms":..., "event": <envelope>} JSON text; `fn`
  // returns false to stop.
  virtual core::Status scan_events(int64_t from_ms, int64_t to_ms,
                                   const std::function<bool(const std::string&)>& fn) = 0;
};

// Pending deliveries, per destination in due-time order. Outcomes are not
// fsynced: losing one in a machine crash only causes one more attempt,
// which at-least-once delivery allows.
class DeliveryQueue : public virtual Writability {
 public:
  virtual core::Status finish_task(const core::DeliveryTask& task) = 0;
  virtual core::Status finish_tasks(const std::vector<core::DeliveryTask>& tasks) = 0;  // one write
  // `previous_due_ms` is the due time the task is stored under.
  virtual core::Status reschedule_task(int64_t previous_due_ms, const core::DeliveryTask& task) = 0;
  // Calls fn for every pending delivery in due-time order per destination.
  virtual core::Status scan_tasks(const std::function<void(core::DeliveryTask&&)>& fn) = 0;
  virtual core::Result<uint64_t> count_tasks() = 0;
  virtual core::Result<uint64_t> count_tasks(const std::string& destination) = 0;
  // Destinations that have stored deliveries.
  virtual core::Result<std::vector<std::string>> task_destinations() = 0;
  // Up to `limit` stored deliveries of one destination in due order,
  // leaving out those whose id `skip` accepts (already in memory). The scan
  // starts after the key `*cursor` holds (from the first when it is empty)
  // and leaves `*cursor` at the last key it visited, so paging through a
  // backlog never walks again over what earlier pages passed, nor over the
  // deletions that delivering them left behind. A page also ends once the
  // stored records it took reach `max_bytes` (it always takes at least one).
  virtual core::Result<std::vector<core::DeliveryTask>> load_tasks(const std::string& destination, size_t limit,
                                                                   const std::function<bool(const std::string&)>& skip,
                                                                   std::string* cursor,
                                                                   size_t max_bytes = SIZE_MAX) = 0;
};

// The dead-letter queue, per destination in the order deliveries died.
class DeadLetters : public virtual Writability {
 public:
  // Removes the delivery from the queue and, when the task keeps dead
  // letters, stores it as one: one atomic write.
  virtual core::Status dead_letter(const DeadLetter& record) = 0;
  // Dead letters of one destination, oldest first, at most `limit`.
  virtual core::Result<std::vector<DeadLetter>> list_dead_letters(const std::string& destination, size_t limit) = 0;
  // Removes up to `limit` dead letters of `destination`, oldest first, and
  // re-queues their tasks (attempts reset, due now, a fresh age budget) in
  // one atomic write. Returns the re-queued tasks.
  virtual core::Result<std::vector<core::DeliveryTask>> redrive(const std::string& destination, size_t limit,
                                                                int64_t now_ms) = 0;
  virtual core::Result<uint64_t> count_dead_letters(const std::string& destination) = 0;
  // Deletes every dead letter of `destination`; `*purged` counts those
  // deleted, also when a later write fails.
  virtual core::Status purge_dead_letters(const std::string& destination, uint64_t* purged) = 0;
};

// Archives: events kept per archive in event-time order (written by ingest,
// in its batch).
class Archives : public virtual Writability {
 public:
  // Up to `limit` events of `archive` whose time is in [from_s, to_s),
  // starting after `after_key` ("" for the start).
  virtual core::Result<std::vector<ArchivedEvent>> read_archive(const std::string& archive, int64_t from_s,
                                                                int64_t to_s, const std::string& after_key,
                                                                size_t limit) = 0;
  virtual core::Result<uint64_t> count_archive(const std::string& archive, int64_t from_s, int64_t to_s) = 0;
  virtual ArchiveStats archive_stats(const std::string& archive) = 0;
  // Deletes up to `limit` events of `archive` archived before `cutoff_ms`
  // and returns how many. `*cursor` works as in load_tasks: chunk after
  // chunk, each starts where the last ended.
  virtual core::Result<uint64_t> expire_archive(const std::string& archive, int64_t cutoff_ms, size_t limit,
                                                std::string* cursor) = 0;
  // The archive's retention (0: kept until the archive is removed), for a
  // store that removes old events by itself (cluster mode's streams have a
  // maximum age); the embedded store removes them in expire_archive.
  virtual core::Status set_archive_retention(const std::string& /*archive*/, uint32_t /*retention_days*/) {
    return core::Status::ok();
  }
};

// A bus log's extent: positions [first, next) are held; next is what the
// next append gets. Positions start at 1 and only grow, also across
// restarts and after everything was removed.
struct LogBounds {
  uint64_t first = 1;
  uint64_t next = 1;
  bool operator==(const LogBounds&) const = default;
};

// The logs of buses that keep their events (eventbridge-v2.md: retention and
// positions). Entries are appended by ingest, in its batch (IngestBatch::log).
class BusLog : public virtual Writability {
 public:
  // Up to `limit` entries of `bus` from position `from` on, oldest first.
  virtual core::Result<std::vector<LogEntry>> read_log(const std::string& bus, uint64_t from, size_t limit) = 0;
  virtual core::Result<LogBounds> log_bounds(const std::string& bus) = 0;
  // The position of the first entry ingested at or after `time_ms`
  // (bounds.next when there is none).
  virtual core::Result<uint64_t> log_position_at(const std::string& bus, int64_t time_ms) = 0;
  // Removes the entries before `position` (what every subscriber passed,
  // on a bus that keeps events only as long as they are needed).
  virtual core::Status trim_log(const std::string& bus, uint64_t position) = 0;
  // Removes entries ingested before `cutoff_ms` and returns how many (the
  // embedded store); a store whose log removes them by itself sets its
  // maximum age from `retention_days` instead and returns 0.
  virtual core::Result<uint64_t> expire_log(const std::string& bus, int64_t cutoff_ms, uint32_t retention_days) = 0;
};

// Small operator state: paused destinations, replay progress.
// What a deduplication key holds when an event claims it.
struct DedupClaim {
  enum class Kind {
    kNew,        // the key is this event's now; store it with the batch's `dedup`
    kDuplicate,  // an event accepted within the window holds it: `event_id`
    kBusy,       // another request with the key is being stored right now
    kResume,     // an earlier request with the key failed part way: store
                 // this event as that one (`event_id`, `ingested_ms`), so
                 // whatever of it was stored is not stored twice
  };
  Kind kind = Kind::kNew;
  std::string event_id;
  int64_t ingested_ms = 0;
  static DedupClaim of(Kind kind, std::string event_id = {}, int64_t ingested_ms = 0) {
    DedupClaim c;
    c.kind = kind;
    c.event_id = std::move(event_id);
    c.ingested_ms = ingested_ms;
    return c;
  }
};

// Publish deduplication: a key names the first event accepted with it for
// a window, across restarts (and nodes, in cluster mode). A claim is
// completed by the ingest batch that carries its DedupRecord, or given
// back with release_dedup when that batch is not stored.
class PublishDedup {
 public:
  virtual ~PublishDedup() = default;
  virtual core::Result<DedupClaim> claim_dedup(const std::string& key, const std::string& event_id, int64_t now_ms,
                                               int64_t window_ms) = 0;
  // After a failed (or never attempted) append of the claim's batch.
  virtual void release_dedup(const std::string& key, const std::string& event_id, int64_t ingested_ms) = 0;
  // Whether a claim may wait on the network (cluster mode): it is then made
  // off the I/O threads. The embedded store's claims are a local read.
  virtual bool dedup_claims_wait() const { return false; }
};

class SmallState : public virtual Writability {
 public:
  // Destinations an operator paused; kept across restarts.
  virtual core::Status set_paused(const std::string& destination, bool paused) = 0;
  virtual core::Result<std::vector<std::string>> paused_destinations() = 0;
  // Records by key prefix (replays); put_meta is synced when storage.sync is.
  virtual core::Status put_meta(const std::string& key, const std::string& value) = 0;
  virtual core::Result<std::vector<std::pair<std::string, std::string>>> list_meta(const std::string& prefix) = 0;
  virtual core::Status delete_meta(const std::string& key) = 0;
};

}  // namespace switchyard::storage
