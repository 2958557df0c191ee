// What a delivery attempt's outcome does: a retry is rescheduled, a final
// failure dead-lettered, a success deleted; each is recorded in the store
// before the delivery leaves memory.

#include <utility>

#include "dispatcher_impl.h"
#include "switchyard/core/log.h"

namespace switchyard::destinations {

// `task.attempts` already counts the attempt that failed.
void Dispatcher::Impl::fail_attempt(core::DeliveryTask&& task, const Outcome& outcome, DestState& s, int64_t now) {
  task.last_error = outcome.message;
  const RetryDecision d =
      decide_retry(task, outcome, now, backoff_delay_ms(task.attempts - 1, options_.backoff, *random_));
  if (d.retry) {
    const int64_t previous_due = task.due_ms;
    task.due_ms = d.due_ms;
    record(store_.reschedule_task(previous_due, task), "reschedule delivery", s);
    s.m.retried->Increment();
    core::log::info("delivery attempt failed; will retry", {{"request_id", task.request_id},
                                                            {"event_id", task.event_id},
                                                            {"destination", task.destination},
                                                            {"webhook_id", task.id},
                                                            {"attempt", std::to_string(task.attempts)},
                                                            {"error", outcome.message},
                                                            {"retry_in_ms", std::to_string(d.due_ms - now)}});
    enqueue(std::move(task));
    return;
  }
  fail_for_good(task, outcome.error_code, outcome.message, d.exhausted_condition, s);
}

void Dispatcher::Impl::flush_finished() {
  if (finished_.empty()) return;
  const core::Status st = store_.finish_tasks(finished_);
  for (const auto& t : finished_) {
    DestState& s = state(t.destination);
    if (!record(st, "finish deliveries", s)) {
      s.holding.on_disk = true;  // still stored: paged in again
      continue;
    }
    if (s.stored > 0) --s.stored;
    if (!t.group_key.empty() && options_.on_settled) options_.on_settled(t, false);
  }
  finished_.clear();
}

// Consecutive failures open the circuit: retryable ones, and any attempt
// the receiver did not answer (an unresolvable host goes to the DLQ at
// once, but shows the target is not up either). Any answer that shows the
// target is up (success, or a permanent 4xx) closes it.
void Dispatcher::Impl::track_circuit(DestState& s, const std::string& name, const Outcome& outcome, bool trial,
                                     bool first, bool absorbed) {
  using Signal = CircuitBreaker::Signal;
  const Signal signal = !outcome.answered                                     ? Signal::kTransportFailure
                        : outcome.verdict == Verdict::kRetryable && !absorbed ? Signal::kServerFailure
                                                                              : Signal::kSuccess;
  const int64_t mono = clock_.mono_ms();
  switch (s.breaker.ended(signal, mono, trial, first)) {
    case CircuitBreaker::Change::kOpened:
      s.m.circuit->Set(1);
      s.m.circuit_openings->Increment();
      ++s.circuit_openings;
      core::log::warn("circuit opened: the endpoint is failing; trial requests only until it answers",
                      {{"destination", name},
                       {"consecutive_transport_failures", std::to_string(s.breaker.consecutive_failures())},
                       {"failure_rate_percent", std::to_string(s.breaker.failure_rate(mono))}});
      break;
    case CircuitBreaker::Change::kClosed:
      s.m.circuit->Set(0);
      core::log::info("circuit closed: destination answers again", {{"destination", name}});
      break;
    case CircuitBreaker::Change::kNone: break;
  }
}

void Dispatcher::Impl::fail_for_good(core::DeliveryTask& task, const std::string& code, const std::string& message,
                                     const std::string& exhausted, DestState& s) {
  storage::DeadLetter dl;
  dl.task = task;
  dl.task.last_error = message;
  dl.error_code = code;
  dl.error_message = message;
  dl.exhausted_condition = exhausted;
  dl.dead_ms = clock_.wall_ms();
  if (!record(store_.dead_letter(dl), "dead-letter delivery", s)) {
    s.holding.on_disk = true;  // still a stored delivery
  } else {
    if (s.stored > 0) --s.stored;
    if (!task.group_key.empty() && options_.on_settled) options_.on_settled(task, true);
  }
  pager_.forget(s.holding, task.id);
  s.m.failed->Increment();
  if (task.dead_letter) {
    s.m.dead_lettered->Increment();
    ++dead_count_[task.destination];
    s.m.dlq_depth->Set(static_cast<double>(++s.dlq_count));
  }
  core::log::warn("delivery failed for good", {{"request_id", task.request_id},
                                               {"destination", task.destination},
                                               {"event_id", task.event_id},
                                               {"webhook_id", task.id},
                                               {"rule", task.rule},
                                               {"error_code", code},
                                               {"error", message},
                                               {"attempts", std::to_string(task.attempts)}});
}

// Counts and logs an outcome the store could not record (its disk under
// the reserve, say). The delivery's record stays stored as it was, so it
// is sent again later: at least once, never lost.
bool Dispatcher::Impl::record(const core::Status& st, const char* what, DestState& s) {
  if (st) return true;
  s.m.outcome_write_failures->Increment();
  core::log::error("cannot store a delivery outcome", {{"what", what}, {"error", st.message()}});
  return false;
}

}  // namespace switchyard::destinations
