#include "delivery_metrics.h"

#include <map>

namespace switchyard::destinations {

DeliveryMetrics::DeliveryMetrics(prometheus::Registry& r)
    : invocations_(prometheus::BuildCounter()
                       .Name("switchyard_invocations_total")
                       .Help("HTTP attempts made to API destinations")
                       .Register(r)),
      delivered_(prometheus::BuildCounter()
                     .Name("switchyard_deliveries_delivered_total")
                     .Help("Deliveries that got a 2xx answer")
                     .Register(r)),
      failed_(prometheus::BuildCounter()
                  .Name("switchyard_deliveries_failed_total")
                  .Help("Deliveries that failed for good (retries exhausted or not retryable)")
                  .Register(r)),
      retried_(prometheus::BuildCounter()
                   .Name("switchyard_delivery_retries_total")
                   .Help("Failed attempts that were scheduled for another try")
                   .Register(r)),
      dead_lettered_(prometheus::BuildCounter()
                         .Name("switchyard_deliveries_dead_lettered_total")
                         .Help("Deliveries moved to the dead-letter queue")
                         .Register(r)),
      outcome_write_failures_(prometheus::BuildCounter()
                                  .Name("switchyard_delivery_outcome_write_failures_total")
                                  .Help("Delivery outcomes (delivered, retry, dead letter) the store could not record; "
                                        "the delivery stays stored and is attempted again")
                                  .Register(r)),
      queued_(prometheus::BuildGauge()
                  .Name("switchyard_delivery_queue_depth")
                  .Help("Deliveries waiting per destination: in memory (cluster mode: and in the work stream for "
                        "this owner)")
                  .Register(r)),
      backlog_(prometheus::BuildGauge()
                   .Name("switchyard_delivery_backlog")
                   .Help("Deliveries stored per destination and not yet delivered or dead-lettered (memory and disk)")
                   .Register(r)),
      oldest_age_(prometheus::BuildGauge()
                      .Name("switchyard_delivery_oldest_pending_age_seconds")
                      .Help("Age of the oldest event waiting for delivery per destination (0: none)")
                      .Register(r)),
      dlq_depth_(prometheus::BuildGauge()
                     .Name("switchyard_dlq_depth")
                     .Help("Dead-lettered deliveries kept per destination")
                     .Register(r)),
      circuit_(prometheus::BuildGauge()
                   .Name("switchyard_destination_circuit_open")
                   .Help("1 while a destination's circuit is open")
                   .Register(r)),
      circuit_openings_(prometheus::BuildCounter()
                            .Name("switchyard_destination_circuit_openings_total")
                            .Help("Times a destination's circuit opened (its endpoint failing, not a few events)")
                            .Register(r)),
      concurrency_limit_(prometheus::BuildGauge()
                             .Name("switchyard_destination_concurrency_limit")
                             .Help("Requests a destination may have in flight now (adaptive, up to max_concurrency)")
                             .Register(r)),
      token_requests_(prometheus::BuildCounter()
                          .Name("switchyard_oauth_token_requests_total")
                          .Help("OAuth token requests per connection and outcome (ok, error)")
                          .Register(r)),
      latency_(prometheus::BuildHistogram()
                   .Name("switchyard_delivery_attempt_seconds")
                   .Help("Duration of HTTP delivery attempts")
                   .Register(r)) {}

DestinationInstruments DeliveryMetrics::for_destination(const std::string& name) {
  const std::map<std::string, std::string> labels{{"destination", name}};
  DestinationInstruments m;
  m.invocations = &invocations_.Add(labels);
  m.delivered = &delivered_.Add(labels);
  m.failed = &failed_.Add(labels);
  m.retried = &retried_.Add(labels);
  m.dead_lettered = &dead_lettered_.Add(labels);
  m.outcome_write_failures = &outcome_write_failures_.Add(labels);
  m.queued = &queued_.Add(labels);
  m.backlog = &backlog_.Add(labels);
  m.oldest_age = &oldest_age_.Add(labels);
  m.dlq_depth = &dlq_depth_.Add(labels);
  m.circuit = &circuit_.Add(labels);
  m.circuit_openings = &circuit_openings_.Add(labels);
  m.concurrency_limit = &concurrency_limit_.Add(labels);
  m.latency = &latency_.Add(
      labels, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  return m;
}

}  // namespace switchyard::destinations
