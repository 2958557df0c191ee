#pragma once

// Subscribers (eventbridge-v2.md §1.3, §6): each reads its bus's log from
// its own position, keeps the events its filters take, renders each one's
// delivery and stores those deliveries with its new position in one atomic
// write, so a restart neither skips nor repeats an event. One background
// thread runs every subscriber, a chunk at a time; the same thread applies
// the buses' retention.
//
// Where a new subscriber starts: LATEST (events published from now on),
// HORIZON (the oldest event the log holds) or a time; with an end point it
// stops once past it. STOPPED keeps its position; RUNNING again continues
// from there (LAST_PROCESSED) or from the log's end (LATEST). Events
// published before the subscriber existed are delivered as REPLAY, the rest
// as LIVE.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "switchyard/bus/routing.h"
#include "switchyard/core/clock.h"
#include "switchyard/core/task.h"

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

struct SubscriberStatus {
  std::string bus, name, type, target;
  std::string state;  // RUNNING | STOPPED | ENDED (past its end point) | STARTING (not placed yet)
  std::string starting_position;
  uint64_t position = 0;  // the next log position it reads
  uint64_t log_first = 0, log_next = 0;
  uint64_t delivered = 0;  // events it has handed to delivery (or put on its target bus)
  int64_t created_ms = 0;
  // FIFO (as the node running it knows them; another node shows the parked ones only).
  size_t groups = 0;                       // groups with something in flight or waiting
  size_t groups_blocked = 0;               // ... with events waiting behind an unfinished or parked one
  int64_t oldest_blocked_ms = 0;           // how long the longest of those has waited
  std::vector<std::string> parked_groups;  // waiting for an operator (at most 100)
  size_t waiting = 0;                      // events read and waiting their group's turn
};

// An admin answer: 0 http_status means done.
struct ReleaseAnswer {
  int http_status = 0;
  std::string code, message;
};

std::string subscriber_json(const SubscriberStatus& s);  // the admin API's view

class Subscribers {
 public:
  struct Options {
    size_t chunk = 500;                     // log entries per atomic step
    size_t max_pending_bytes = 64u << 20;   // FIFO: events read ahead and waiting their group's turn, per subscriber
    int64_t idle_poll_ms = 50;              // how often an idle runner looks at the logs again
    int64_t retention_interval_ms = 60000;  // how often old log entries are removed
    // Cluster mode: only the node for which `may_run` says yes runs them;
    // every node reads their state from the store.
    std::function<bool()> may_run{};  // empty: this process runs them
    // Cluster mode: a FIFO subscriber runs where its destination's
    // deliveries are made (that node's dispatcher tells it when each ends).
    std::function<bool(const std::string& destination)> may_run_target{};  // empty: this process
  };

  Subscribers(Options options, storage::Store& store, destinations::Dispatcher& dispatcher,
              prometheus::Registry& registry, core::Clock& clock = core::system_clock());
  ~Subscribers();
  Subscribers(const Subscribers&) = delete;
  Subscribers& operator=(const Subscribers&) = delete;

  void set_routing(std::shared_ptr<const Routing> routing);
  void start();
  void stop();
  // New entries were appended to a log: look now rather than at the next poll.
  void notify();
  // Every configured subscriber with its stored progress.
  std::vector<SubscriberStatus> list() const;
  // A FIFO delivery left the queue (the dispatcher's on_settled).
  void settled(const core::DeliveryTask& task, bool dead);
  // Lets a parked FIFO group go on.
  ReleaseAnswer release(const std::string& bus, const std::string& name, const std::string& group);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::bus
