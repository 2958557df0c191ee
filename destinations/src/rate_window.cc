#include "rate_window.h"

#include <algorithm>

namespace switchyard::destinations {

void RateWindow::set_limit(uint32_t limit) {
  if (limit == 0) limit = 1;
  if (limit == ring_.size()) return;
  std::vector<Entry> next(limit);
  const size_t keep = std::min<size_t>(limit, ring_.size());
  for (size_t i = 0; i < keep; ++i)  // the newest `keep`, oldest first, at the end of the new ring
    next[limit - keep + i] = ring_[(head_ + ring_.size() - keep + i) % ring_.size()];
  ring_ = std::move(next);
  head_ = 0;
  ++ring_id_;
}

int64_t RateWindow::next_allowed() const { return ring_[head_].counted_from() + 1000; }

RateWindow::Slot RateWindow::record(int64_t now) {
  const Slot slot{ring_id_, head_, now};
  ring_[head_] = Entry{now, kUnanswered};
  head_ = (head_ + 1) % ring_.size();
  return slot;
}

void RateWindow::answered(const Slot& slot, int64_t now) {
  if (slot.ring != ring_id_) return;  // the limit changed since
  Entry& e = ring_[slot.index];
  if (e.sent_ms != slot.sent_ms || e.answered_ms != kUnanswered) return;  // the slot was reused since
  e.answered_ms = std::min(now, e.sent_ms + kAnswerWait);
}

}  // namespace switchyard::destinations
