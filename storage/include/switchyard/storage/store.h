#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "switchyard/core/status.h"
#include "switchyard/storage/roles.h"

namespace prometheus {
class Registry;
}
namespace rocksdb {
class Env;
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
  // Unit tests: keep the whole store in memory (RocksDB over its in-memory
  // Env; `path` names it there), or run it over a given Env (a
  // fault-injecting one). Neither is for production.
  bool in_memory = false;
  rocksdb::Env* env = nullptr;
};

// The durable store: every role (roles.h) in one backend. Thread safety:
// every method may be called from any thread. Ingest writes go through one
// committer thread that groups concurrent batches into a single write (one
// fsync per group when `sync` is on).
class Store : public IngestLog,
              public PublishDedup,
              public DeliveryQueue,
              public DeadLetters,
              public Archives,
              public BusLog,
              public SmallState {
 public:
  // Opens (creating when needed) the store at options.path.
  static core::Result<std::unique_ptr<Store>> open(const Options& options);

  // Whether any write is accepted now (see Writability).
  bool writable() override = 0;
};

}  // namespace switchyard::storage
