#pragma once

// Publish deduplication at ingest (eventbridge-v2.md §5, README
// "Deduplication"): before an event is routed, the deduplication id it
// carries is claimed in the store, for its bus's window. The claim decides
// what the entry answers: stored (PUBLISHED), an earlier event's id
// (DEDUPLICATED, nothing stored), or "retry" while another request with the
// id is being stored. The key's record is written with the event, in the
// same batch, so a restart (or another node) knows it.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <boost/asio.hpp>
#include <vector>

#include "switchyard/bus/ingest.h"
#include "switchyard/bus/routing.h"
#include "switchyard/storage/roles.h"

namespace switchyard::bus {

class DedupGate {
 public:
  DedupGate(storage::PublishDedup& store, prometheus::Registry& registry);
  ~DedupGate();

  // Claims the id of every event of `parsed` that has one (parsed.dedup_ids),
  // on a thread of its own when a claim may wait on the network (cluster
  // mode), else right here (the embedded store's claims are a local read).
  // Duplicates and entries refused (busy, or the store failing) leave
  // parsed.events; events that resume a failed request take its id and
  // time. The records to store with the batch are added to `records`.
  boost::asio::awaitable<void> claim(const Routing& routing, ParsedRequest& parsed,
                                     std::vector<storage::DedupRecord>* records);
  // Gives the claims back after their batch was not stored.
  void release(const std::vector<storage::DedupRecord>& records);

 private:
  storage::PublishDedup& store_;
  prometheus::Family<prometheus::Counter>& deduplicated_;
  boost::asio::thread_pool pool_{2};
};

}  // namespace switchyard::bus
