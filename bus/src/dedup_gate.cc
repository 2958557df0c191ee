#include "dedup_gate.h"

#include <map>
#include <string>
#include <utility>

#include "switchyard/core/log.h"

namespace switchyard::bus {

namespace asio = boost::asio;
using storage::DedupClaim;

DedupGate::DedupGate(storage::PublishDedup& store, prometheus::Registry& registry)
    : store_(store),
      deduplicated_(prometheus::BuildCounter()
                        .Name("switchyard_events_deduplicated_total")
                        .Help("Entries acknowledged as DEDUPLICATED: their deduplication id was accepted within the "
                              "bus's window, so nothing was stored again")
                        .Register(registry)) {}

DedupGate::~DedupGate() {
  pool_.stop();
  pool_.join();
}

asio::awaitable<void> DedupGate::claim(const Routing& routing, ParsedRequest& parsed,
                                       std::vector<storage::DedupRecord>* records) {
  if (parsed.dedup_ids.empty() || parsed.dedup_ids.size() != parsed.events.size()) co_return;
  const auto home = co_await asio::this_coro::executor;
  const bool away = store_.dedup_claims_wait();
  if (away) co_await asio::post(asio::bind_executor(pool_, asio::use_awaitable));
  std::vector<core::Event> kept;
  std::vector<std::string> kept_ids, kept_groups;
  std::vector<RawData> kept_raw;
  const bool grouped = parsed.group_ids.size() == parsed.events.size();
  const bool raw = parsed.raw.size() == parsed.events.size();
  std::map<std::string, std::string> in_request;  // key -> the event of this request that took it
  auto deduplicated = [this](EntryResult& r, const std::string& bus, std::string first) {
    r.event_id = std::move(first);
    r.success_code = "DEDUPLICATED";
    deduplicated_.Add({{"bus", bus}}).Increment();
  };
  size_t next = 0;
  for (auto& r : parsed.results) {
    if (!r.ok()) continue;
    const size_t i = next++;
    core::Event& e = parsed.events[i];
    const std::string& id = parsed.dedup_ids[i];
    std::string group = grouped ? parsed.group_ids[i] : std::string();
    auto keep = [&] {
      kept.push_back(std::move(e));
      kept_ids.push_back(id);
      kept_groups.push_back(std::move(group));
      if (raw) kept_raw.push_back(std::move(parsed.raw[i]));
    };
    if (id.empty()) {
      keep();
      continue;
    }
    const BusSettings& bus = routing.buses.at(e.bus).bus;
    const std::string key = dedup_key(e.bus, group, id);
    if (auto same = in_request.find(key); same != in_request.end()) {  // stored once, with the first
      deduplicated(r, e.bus, same->second);
      continue;
    }
    auto claimed = store_.claim_dedup(key, e.id, e.ingested_ms, bus.dedup_window_ms);
    if (!claimed) {
      core::log::warn("cannot check a deduplication id", {{"bus", e.bus}, {"error", claimed.status().message()}});
      r = {"", "InternalException", "The deduplication id could not be checked now; retry.", ""};
      continue;
    }
    switch (claimed->kind) {
      case DedupClaim::Kind::kDuplicate: deduplicated(r, e.bus, std::move(claimed->event_id)); continue;
      case DedupClaim::Kind::kBusy:
        r = {"", "ConcurrentModificationException",
             "Another request with deduplication id " + id + " is being stored now; retry.", ""};
        continue;
      case DedupClaim::Kind::kResume:
        e.id = claimed->event_id;
        e.ingested_ms = claimed->ingested_ms;
        break;
      case DedupClaim::Kind::kNew: break;
    }
    r.event_id = e.id;
    r.success_code = "PUBLISHED";
    in_request.emplace(key, e.id);
    records->push_back({.key = key,
                        .event_id = e.id,
                        .ingested_ms = e.ingested_ms,
                        .expires_ms = e.ingested_ms + bus.dedup_window_ms});
    keep();
  }
  parsed.events = std::move(kept);
  parsed.dedup_ids = std::move(kept_ids);  // still one per event: the bus logs keep them
  if (grouped) parsed.group_ids = std::move(kept_groups);
  if (raw) parsed.raw = std::move(kept_raw);
  if (away) co_await asio::post(home, asio::use_awaitable);
}

void DedupGate::release(const std::vector<storage::DedupRecord>& records) {
  for (const auto& r : records) store_.release_dedup(r.key, r.event_id, r.ingested_ms);
}

}  // namespace switchyard::bus
