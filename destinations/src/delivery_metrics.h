#pragma once

// Delivery's metric families and one destination's instruments in them.
// Every destination's series exist (at 0) from the moment it is known.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

namespace switchyard::destinations {

struct DestinationInstruments {
  prometheus::Counter* invocations = nullptr;
  prometheus::Counter* delivered = nullptr;
  prometheus::Counter* failed = nullptr;
  prometheus::Counter* retried = nullptr;
  prometheus::Counter* dead_lettered = nullptr;
  prometheus::Counter* outcome_write_failures = nullptr;
  prometheus::Gauge* queued = nullptr;
  prometheus::Gauge* backlog = nullptr;
  prometheus::Gauge* oldest_age = nullptr;
  prometheus::Gauge* dlq_depth = nullptr;
  prometheus::Gauge* circuit = nullptr;
  prometheus::Counter* circuit_openings = nullptr;
  prometheus::Gauge* concurrency_limit = nullptr;
  prometheus::Histogram* latency = nullptr;
};

class DeliveryMetrics {
 public:
  explicit DeliveryMetrics(prometheus::Registry& registry);
  DestinationInstruments for_destination(const std::string& name);
  prometheus::Family<prometheus::Counter>& token_requests() { return token_requests_; }

 private:
  prometheus::Family<prometheus::Counter>& invocations_;
  prometheus::Family<prometheus::Counter>& delivered_;
  prometheus::Family<prometheus::Counter>& failed_;
  prometheus::Family<prometheus::Counter>& retried_;
  prometheus::Family<prometheus::Counter>& dead_lettered_;
  prometheus::Family<prometheus::Counter>& outcome_write_failures_;
  prometheus::Family<prometheus::Gauge>& queued_;
  prometheus::Family<prometheus::Gauge>& backlog_;
  prometheus::Family<prometheus::Gauge>& oldest_age_;
  prometheus::Family<prometheus::Gauge>& dlq_depth_;
  prometheus::Family<prometheus::Gauge>& circuit_;
  prometheus::Family<prometheus::Counter>& circuit_openings_;
  prometheus::Family<prometheus::Gauge>& concurrency_limit_;
  prometheus::Family<prometheus::Counter>& token_requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
};

}  // namespace switchyard::destinations
