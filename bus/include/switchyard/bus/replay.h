#pragma once

// Archive replays (EventBridge's StartReplay): archived events whose time
// lies in a window go through matching and delivery again, carrying
// "replay-name". One background thread runs every active replay, chunk by
// chunk; each chunk's deliveries and the replay's progress are stored in one
// atomic write, so a replay resumes exactly where it stopped after a restart.
// The same thread removes archived events past their retention.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "switchyard/bus/routing.h"
#include "switchyard/core/clock.h"

namespace prometheus {
class Registry;
}
namespace switchyard::storage {
class Store;
}
namespace switchyard::destinations {
class Dispatcher;
}

namespace switchyard::bus {

struct ReplayRequest {
  std::string name;
  std::string archive;
  int64_t start_ms = 0;  // event time window [start, end)
  int64_t end_ms = 0;
  std::vector<std::string> rules;  // empty: every rule of the archive's bus
  std::string description;
};

struct ReplayStatus {
  std::string name, archive, bus, description;
  int64_t start_ms = 0, end_ms = 0;
  std::vector<std::string> rules;
  std::string state;         // STARTING RUNNING CANCELLING CANCELLED COMPLETED FAILED
  std::string state_reason;  // why it failed
  uint64_t events_total = 0;
  uint64_t events_replayed = 0;
  int64_t last_replayed_s = 0;  // event time of the last replayed event; 0: none yet
  int64_t started_ms = 0, ended_ms = 0;
  std::string cursor;  // archive position of the last replayed event
};

// An API answer: 0 http_status means success.
struct ReplayAnswer {
  int http_status = 0;
  std::string code, message;
  ReplayStatus status;
};

std::string replay_json(const ReplayStatus& s);  // the admin API's view (no cursor)

class Replayer {
 public:
  struct Options {
    size_t chunk = 1000;                    // events per atomic step
    int64_t retention_interval_ms = 60000;  // how often expired archive events are removed
    uint32_t max_events_per_second = 0;     // replays together read at most this many; 0: no limit
    // Cluster mode: every node reads and writes the same replays through
    // the store (each answer reads them again), and only the node for
    // which `may_run` says yes advances them and sets archive retention.
    bool shared = false;
    std::function<bool()> may_run{};  // empty: this process runs them
  };

  // Replay times and retention run on `clock` (its wall time for ages and
  // timestamps, its monotonic time for the retention interval).
  Replayer(Options options, storage::Store& store, destinations::Dispatcher& dispatcher, prometheus::Registry& registry,
           core::Clock& clock = core::system_clock());
  ~Replayer();
  Replayer(const Replayer&) = delete;
  Replayer& operator=(const Replayer&) = delete;

  void set_routing(std::shared_ptr<const Routing> routing);
  void start();  // loads stored replays and resumes the active ones
  void stop();

  ReplayAnswer start_replay(const ReplayRequest& request);
  ReplayAnswer cancel(const std::string& name);
  std::vector<ReplayStatus> list() const;
  std::optional<ReplayStatus> get(const std::string& name) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::bus
