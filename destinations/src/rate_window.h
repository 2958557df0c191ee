#pragma once

// A destination's quota (rate_limit_per_second) as the receiver counts it.
// Time is passed in (monotonic milliseconds): the window owns no clock.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace switchyard::destinations {

// Sliding one-second window over the last `limit` requests: a request may
// start once the oldest of them reached the receiver at least 1000 ms ago.
// When the receiver saw a request is known only to lie between sending it and
// its answer, so a request counts from its answer, or from kAnswerWait after
// it was sent when the answer takes longer. Counting from the send alone let
// a receiver that accepts a burst of new connections slowly see the next
// second's requests less than a second after the last of the burst; this way
// no one-second window at the receiver holds more than `limit`, at the cost
// of at most kAnswerWait per second of quota for slow receivers. No burst
// above the limit after idle periods either.
class RateWindow {
 public:
  static constexpr int64_t kAnswerWait = 250;

  struct Slot {
    uint64_t ring = 0;  // which ring (a limit change makes a new one)
    size_t index = 0;
    int64_t sent_ms = 0;
  };

  // A new limit applies from the next request, counting the requests of
  // the last second: a reload never opens a burst above either limit.
  void set_limit(uint32_t limit);
  // Whether a request may start at `now`, and from when it may.
  bool allowed(int64_t now) const { return now >= next_allowed(); }
  int64_t next_allowed() const;
  // A request starts at `now`; its slot is passed to answered() later.
  Slot record(int64_t now);
  // Its answer came at `now` (or the attempt ended unsent).
  void answered(const Slot& slot, int64_t now);

 private:
  static constexpr int64_t kUnanswered = INT64_MIN;
  struct Entry {  // 16 bytes: a limit of 1,000,000 keeps 16 MB
    int64_t sent_ms = INT64_MIN / 2;
    int64_t answered_ms = INT64_MIN / 2;
    int64_t counted_from() const { return answered_ms == kUnanswered ? sent_ms + kAnswerWait : answered_ms; }
  };
  std::vector<Entry> ring_;  // the last `limit` requests; head_ is the oldest
  size_t head_ = 0;
  uint64_t ring_id_ = 0;
};

}  // namespace switchyard::destinations
