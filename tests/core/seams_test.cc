// The seams every part shares: the error vocabulary, the clocks and the
// random source, and ASCII case.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "switchyard/core/ascii.h"
#include "switchyard/core/clock.h"
#include "switchyard/core/status.h"

namespace switchyard::core {
namespace {

TEST(StatusTest, ACodeAndAMessage) {
  EXPECT_TRUE(Status::ok());
  EXPECT_EQ(Status::ok().to_string(), "OK");
  const Status s = Status::not_found("event e1 is not stored");
  EXPECT_FALSE(s);
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.to_string(), "NOT_FOUND: event e1 is not stored");
  EXPECT_EQ(s.with_context("list dead letters").message(), "list dead letters: event e1 is not stored");
  EXPECT_EQ(s.with_context("x").code(), Code::kNotFound);
  EXPECT_TRUE(Status::ok().with_context("x"));
  EXPECT_EQ(code_name(Code::kResourceExhausted), "RESOURCE_EXHAUSTED");
}

TEST(ResultTest, AValueOrTheFailure) {
  Result<int> good = 7;
  ASSERT_TRUE(good);
  EXPECT_EQ(*good, 7);
  EXPECT_EQ(good.value_or(1), 7);
  Result<int> bad = Status::io_error("disk");
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.status().code(), Code::kIoError);
  EXPECT_EQ(bad.value_or(1), 1);
  Result<std::unique_ptr<int>> moved = std::make_unique<int>(3);
  std::unique_ptr<int> p = std::move(*moved);
  EXPECT_EQ(*p, 3);
}

TEST(ClockTest, AManualClockMovesOnlyWhenToldAndWakesItsWatchers) {
  ManualClock clock(1000, 50);
  EXPECT_EQ(clock.wall_ms(), 1000);
  EXPECT_EQ(clock.mono_ms(), 50);
  std::atomic<int> woken{0};
  const int handle = clock.watch([&] { ++woken; });
  clock.advance(10);
  EXPECT_EQ(clock.wall_ms(), 1010);
  EXPECT_EQ(clock.mono_ms(), 60);
  EXPECT_EQ(woken.load(), 1);
  clock.set_wall_ms(5);  // stepped back: the monotonic clock does not follow
  EXPECT_EQ(clock.wall_ms(), 5);
  EXPECT_EQ(clock.mono_ms(), 60);
  EXPECT_EQ(woken.load(), 2);
  clock.unwatch(handle);
  clock.advance(1);
  EXPECT_EQ(woken.load(), 2);
}

TEST(ClockTest, TheSystemClockMovesForward) {
  Clock& c = system_clock();
  const int64_t a = c.mono_ms();
  EXPECT_GE(c.mono_ms(), a);
  EXPECT_GT(c.wall_ms(), 1'600'000'000'000);
}

TEST(RandomTest, SeededDrawsRepeatAndStayInBounds) {
  SeededRandom a(42), b(42);
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.uniform(10);
    EXPECT_EQ(x, b.uniform(10));
    EXPECT_LE(x, 10u);
  }
  EXPECT_EQ(a.uniform(0), 0u);
}

TEST(AsciiTest, CaseIsFoldedForAToZOnly) {
  EXPECT_TRUE(iequals("Content-Type", "content-TYPE"));
  EXPECT_FALSE(iequals("Content-Type", "Content-Typ"));
  EXPECT_FALSE(iequals("\xc3\x89", "\xc3\xa9"));  // É and é: not ASCII, not folded
  EXPECT_EQ(ascii_lower("Bearer ÄB"), "bearer Äb");
  std::string out = "longer than the input";
  ascii_lower("AB", &out);
  EXPECT_EQ(out, "ab");
}

}  // namespace
}  // namespace switchyard::core
