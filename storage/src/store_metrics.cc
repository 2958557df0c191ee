#include "store_metrics.h"

namespace switchyard::storage {

std::unique_ptr<StoreMetrics> StoreMetrics::make(prometheus::Registry* r, bool disk) {
  if (!r) return nullptr;
  auto m = std::make_unique<StoreMetrics>();
  m->commit_seconds = &prometheus::BuildHistogram()
                           .Name("switchyard_storage_commit_seconds")
                           .Help(
                               "Duration of one ingest commit group (one RocksDB write, fsync included with sync; "
                               "cluster mode: one request's publishes until all are acknowledged)")
                           .Register(*r)
                           .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                                            0.005, 0.01, 0.025, 0.05, 0.1, 0.25});
  m->batches = &prometheus::BuildCounter()
                    .Name("switchyard_storage_batches_committed_total")
                    .Help("Ingest requests' batches stored (several per commit group)")
                    .Register(*r)
                    .Add({});
  auto& refused = prometheus::BuildCounter()
                      .Name("switchyard_storage_refused_batches_total")
                      .Help(
                          "Ingest batches not stored, by reason (full: under storage.min_free_mb, or a full stream "
                          "in cluster mode; error)")
                      .Register(*r);
  m->refused_full = &refused.Add({{"reason", "full"}});
  m->refused_error = &refused.Add({{"reason", "error"}});
  if (!disk) return m;
  m->free_bytes = &prometheus::BuildGauge()
                       .Name("switchyard_storage_free_bytes")
                       .Help("Free space on the store's file system, as last checked")
                       .Register(*r)
                       .Add({});
  m->min_free_bytes = &prometheus::BuildGauge()
                           .Name("switchyard_storage_min_free_bytes")
                           .Help("storage.min_free_mb in bytes: under it the store stops writing")
                           .Register(*r)
                           .Add({});
  return m;
}

}  // namespace switchyard::storage
