// First attempts and retries take turns; a half-open circuit's trials take
// fresh deliveries first.
#include "ready_queue.h"

#include <gtest/gtest.h>

namespace switchyard::destinations {
namespace {

core::DeliveryTask task(const std::string& id, uint32_t attempts) {
  core::DeliveryTask t;
  t.id = id;
  t.attempts = attempts;
  return t;
}

TEST(ReadyQueueTest, RetriesNeverHoldTheHead) {
  ReadyQueue q;
  for (int i = 0; i < 5; ++i) q.push(task("retry" + std::to_string(i), 3));
  q.push(task("fresh0", 0));
  q.push(task("fresh1", 0));
  EXPECT_EQ(q.size(), 7u);
  EXPECT_EQ(q.retries(), 5u);
  std::vector<std::string> order;
  while (!q.empty()) order.push_back(q.pop().id);
  EXPECT_EQ(order, (std::vector<std::string>{"fresh0", "retry0", "fresh1", "retry1", "retry2", "retry3", "retry4"}));
}

TEST(ReadyQueueTest, TrialsPreferFreshDeliveries) {
  ReadyQueue q;
  q.push(task("retry", 1));
  q.push(task("fresh", 0));
  EXPECT_EQ(q.front(true).id, "fresh");
  EXPECT_EQ(q.pop(true).id, "fresh");
  EXPECT_EQ(q.pop(true).id, "retry");  // none fresh left
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace switchyard::destinations
