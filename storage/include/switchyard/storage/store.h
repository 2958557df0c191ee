#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "switchyard/core/event.h"
#include "switchyard/core/status.h"
#include "switchyard/core/task.h"

namespace prometheus {
class Registry;
}

namespace switchyard::storage {

struct Options {
  // Directory of the RocksDB store; created when missing.
  std::string path = "./data";
  // true: every commit group is fsynced before any request in it is
  // acknowledged (survives power loss). false: written to the OS before the
  // acknowledgement (survives kill -9 of the process, not a power loss).
  bool sync = false;
  // Ingest stops (every batch fails, nothing is written) while the store's
  // file system has less than this free, and resumes by itself when space
  // is back. The reserve keeps room for delivery bookkeeping and compaction,
  // and keeps RocksDB from ever hitting a full disk. 0 disables the check.
  uint64_t min_free_bytes = 128ull << 20;
  // Where the store's metrics (commit groups and their duration, refused
  // writes, free space) are registered; none when null.
  prometheus::Registry* registry = nullptr;
};

// Everything one ingest request stores, written atomically: the accepted
// events and the deliveries their matches produced.
struct IngestBatch {
  std::vector<core::Event> events;
  std::vector<core::DeliveryTask> tasks;
  // (archive name, index into events): events kept in an archive too.
  std::vector<std::pair<std::string, size_t>> archived;
  // Small records written in the same atomic write (replay progress).
  std::vector<std::pair<std::string, std::string>> meta;
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
};

// The durable store: events, pending deliveries (ordered by due time) and the
// dead-letter queue, in one RocksDB database with a column family each.
//
// Thread safety: every method may be called from any thread. Ingest writes go
// through one committer thread that groups concurrent batches into a single
// RocksDB write (one fsync per group when `sync` is on).
class Store {
 public:
  virtual ~Store() = default;

  // Opens (creating when needed) the store at options.path. On failure returns
  // null and sets *error.
  static std::unique_ptr<Store> open(const Options& options, std::string* error);

  // Queues an ingest batch. `done` runs on the committer thread once the batch
  // is durable (or failed); nothing of a failed batch is stored.
  virtual void append(std::shared_ptr<const IngestBatch> batch, std::function<void(core::Status)> done) = 0;

  // Delivery outcomes. These are not fsynced: losing one in a machine crash
  // only causes one more attempt, which at-least-once delivery allows.
  // `previous_due_ms` is the due time the task is stored under.
  // False while the disk has less than Options::min_free_bytes free: then
  // every write (ingest, delivery outcomes, DLQ, archives, replays, pause
  // state) is refused with an error and nothing is written, so RocksDB never
  // meets a full disk. It turns true again by itself once space is freed.
  virtual bool writable() = 0;

  virtual core::Status finish_task(const core::DeliveryTask& task) = 0;
  virtual core::Status finish_tasks(const std::vector<core::DeliveryTask>& tasks) = 0;  // one write
  virtual core::Status reschedule_task(int64_t previous_due_ms, const core::DeliveryTask& task) = 0;
  virtual core::Status dead_letter(const DeadLetter& record) = 0;

  // Calls fn for every pending delivery in due-time order (recovery).
  virtual core::Status scan_tasks(const std::function<void(core::DeliveryTask&&)>& fn) = 0;
  virtual uint64_t count_tasks() = 0;
  virtual uint64_t count_tasks(const std::string& destination) = 0;

  // Destinations that have stored deliveries.
  virtual std::vector<std::string> task_destinations() = 0;
  // Up to `limit` stored deliveries of one destination in due order,
  // leaving out those whose id `skip` accepts (already in memory). The scan
  // starts after the key `*cursor` holds (from the first when it is empty)
  // and leaves `*cursor` at the last key it visited, so paging through a
  // backlog never walks again over what earlier pages passed, nor over the
  // deletions that delivering them left behind.
  // A page also ends once the stored records it took reach `max_bytes`
  // (it always takes at least one).
  virtual std::vector<core::DeliveryTask> load_tasks(const std::string& destination, size_t limit,
                                                     const std::function<bool(const std::string&)>& skip,
                                                     std::string* cursor, size_t max_bytes = SIZE_MAX) = 0;

  // Dead letters of one destination, oldest first, at most `limit`.
  virtual std::vector<DeadLetter> list_dead_letters(const std::string& destination, size_t limit) = 0;
  // Removes up to `limit` dead letters of `destination`, oldest first, and
  // re-queues their tasks (attempts reset, due now, a fresh age budget) in
  // one atomic write. Returns the re-queued tasks.
  virtual std::vector<core::DeliveryTask> redrive(const std::string& destination, size_t limit, int64_t now_ms) = 0;
  virtual uint64_t count_dead_letters(const std::string& destination) = 0;
  // Deletes every dead letter of `destination`; `*purged` counts them.
  virtual core::Status purge_dead_letters(const std::string& destination, uint64_t* purged) = 0;

  // The stored envelope of one event, or "" when it is not (or no longer) stored.
  virtual std::string event_envelope(int64_t ingested_ms, const std::string& event_id) = 0;

  // Destinations an operator paused; kept across restarts.
  virtual core::Status set_paused(const std::string& destination, bool paused) = 0;
  virtual std::vector<std::string> paused_destinations() = 0;

  // Events stored between [from_ms, to_ms) of ingestion time, as
  // {"bus":..., "ingested_ms":..., "event": <envelope>} JSON text.
  virtual core::Status scan_events(int64_t from_ms, int64_t to_ms,
                                   const std::function<bool(const std::string&)>& fn) = 0;

  // Archives: events are kept per archive in event-time order.
  // Reads up to `limit` events of `archive` whose time is in [from_s, to_s),
  // starting after `after_key` ("" for the start).
  virtual std::vector<ArchivedEvent> read_archive(const std::string& archive, int64_t from_s, int64_t to_s,
                                                  const std::string& after_key, size_t limit) = 0;
  virtual uint64_t count_archive(const std::string& archive, int64_t from_s, int64_t to_s) = 0;
  virtual ArchiveStats archive_stats(const std::string& archive) = 0;
  // Deletes up to `limit` events of `archive` archived before `cutoff_ms`;
  // returns how many it deleted.
  // `*cursor` works as in load_tasks: chunk after chunk, each starts where
  // the last ended instead of walking over the deletions of the ones before.
  virtual uint64_t expire_archive(const std::string& archive, int64_t cutoff_ms, size_t limit, std::string* cursor) = 0;

  // Small records in the default column family, by key prefix (replays).
  virtual core::Status put_meta(const std::string& key, const std::string& value) = 0;
  virtual std::vector<std::pair<std::string, std::string>> list_meta(const std::string& prefix) = 0;
};

}  // namespace switchyard::storage
