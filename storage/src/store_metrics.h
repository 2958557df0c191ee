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
  prometheus::Gauge* free_bytes;
  prometheus::Gauge* min_free_bytes;

  // None without a registry.
  static std::unique_ptr<StoreMetrics> make(prometheus::Registry* registry);
};

}  // namespace switchyard::storage
