#pragma once

// The store's metrics: commit groups, their duration, refused batches, free
// space and the reserve.

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>

namespace switchyard::storage {

struct StoreMetrics {
  prometheus::Histogram* commit_seconds;
  prometheus::Counter* batches;
  prometheus::Counter* refused_full;
  prometheus::Counter* refused_error;
  prometheus::Gauge* free_bytes = nullptr;  // the embedded store's disk only
  prometheus::Gauge* min_free_bytes = nullptr;

  // None without a registry. `disk`: the gauges of the local disk's free
  // space too (not in cluster mode, where the streams' limits apply).
  static std::unique_ptr<StoreMetrics> make(prometheus::Registry* registry, bool disk = true);
};

}  // namespace switchyard::storage
