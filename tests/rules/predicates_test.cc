// The matcher's building blocks, against event-ruler's own numbers.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "predicates.h"

namespace switchyard::rules::internal {
namespace {

// Issue 12.17: comparable numbers are those whose text equals Java's
// Double.toString of the parsed double. Java writes Double.MIN_VALUE as
// 4.9E-324 and 2 * MIN_VALUE as 9.9E-324, where the shortest round-trip texts
// are 5e-324 and 1e-323.
TEST(NumberTest, ComparableFollowsJavasDoubleToString) {
  for (const char* yes : {"4.9e-324", "4.9E-324", "-4.9e-324", "9.9e-324", "1.5e-323", "0.1", "0.10", "1e2", "100",
                          "5000000000", "1.5e308", "2.2250738585072014E-308", "1e23", "1.0E23", "0", "-0.0"})
    EXPECT_TRUE(parse_number(yes).comparable) << yes;
  for (const char* no : {"5e-324", "-5e-324", "1e-323", "0.30000000000000001", "1.0000000000000001",
                         "12345678901234567890", "1e400", "4.94e-324"})
    EXPECT_FALSE(parse_number(no).comparable) << no;
}

Wildcard wildcard(const char* text) {
  Wildcard w;
  std::string error;
  EXPECT_TRUE(w.parse(text, &error)) << error;
  return w;
}

int complexity(std::vector<const char*> texts) {
  std::vector<Wildcard> ws;
  for (const char* t : texts) ws.push_back(wildcard(t));
  std::vector<const Wildcard*> ptrs;
  for (const auto& w : ws) ptrs.push_back(&w);
  return wildcard_complexity(ptrs, 100);
}

// Issue 12.18: the score event-ruler's MachineComplexityEvaluator gives (the
// most prefixes of one field's wildcard values that match one input), with
// the scores recorded for patterns AWS accepted (7, 3) and refused (11).
TEST(WildcardComplexityTest, ScoresAsEventRulerDoes) {
  EXPECT_EQ(complexity({"*"}), 1);
  EXPECT_EQ(complexity({"abc"}), 1);
  EXPECT_EQ(complexity({"*ab"}), 2);
  EXPECT_EQ(complexity({"*aa"}), 3);
  EXPECT_EQ(complexity({"a*b"}), 2);
  EXPECT_EQ(complexity({"aa*"}), 2);
  EXPECT_EQ(complexity({"a*bbb"}), 4);
  EXPECT_EQ(complexity({"*ab*ad"}), 4);
  EXPECT_EQ(complexity({"a*b*bb"}), 5);
  EXPECT_EQ(complexity({"*a*a*a*a*a*a*a*a*"}), 17);
  EXPECT_EQ(complexity({"a*aaa", "aa*aa"}), 7);
  EXPECT_EQ(complexity({"ab*cd", "ab*wx", "ab*yz"}), 6);
  EXPECT_EQ(complexity({"abc*", "abcde*"}), 3);
  EXPECT_EQ(complexity({"*:*:*:*:*:event-bus/*"}), 11);
  EXPECT_EQ(complexity({"/Users/*/dir/dir/dir/dir/dir/doc.txt"}), 7);
  EXPECT_EQ(complexity({"arn:aws:events:us-east-1:*:event-bus/*"}), 3);
  EXPECT_EQ(complexity({"co*x*le.billing", "com.examp*le.s*hop.eu"}), 7);
}

}  // namespace
}  // namespace switchyard::rules::internal
