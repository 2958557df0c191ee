#include "switchyard/rules/matcher.h"

#include <gtest/gtest.h>

namespace switchyard::rules {
namespace {

bool matches(const std::string& pattern, const std::string& event) {
  MatcherBuilder b;
  const core::Status added = b.add(pattern);
  EXPECT_TRUE(added) << added.message();
  auto m = b.build();
  std::vector<uint32_t> ids;
  const core::Status matched = m->match(event, ids);
  EXPECT_TRUE(matched) << matched.message();
  return !ids.empty();
}

struct Case {
  const char* pattern;
  const char* event;
  bool expected;
};

class ExactMatchTest : public ::testing::TestWithParam<Case> {};

TEST_P(ExactMatchTest, GivesTheExpectedAnswer) {
  const Case& c = GetParam();
  EXPECT_EQ(matches(c.pattern, c.event), c.expected) << c.pattern << " vs " << c.event;
}

INSTANTIATE_TEST_SUITE_P(Spec, ExactMatchTest,
                         ::testing::Values(Case{R"({"source":["shop"]})", R"({"source":"shop"})", true},
                                           Case{R"({"source":["shop"]})", R"({"source":"Shop"})", false},
                                           Case{R"({"source":["a","shop"]})", R"({"source":"shop"})",
                                                true},  // array = OR
                                           Case{R"({"source":["shop"],"detail-type":["x"]})",
                                                R"({"source":"shop","detail-type":"y"})", false},  // AND
                                           Case{R"({"detail":{"n":[300]}})", R"({"detail":{"n":300.0}})", true},
                                           Case{R"({"detail":{"n":[300]}})", R"({"detail":{"n":"300"}})", false},
                                           Case{R"({"detail":{"n":["300"]}})", R"({"detail":{"n":300}})", false},
                                           Case{R"({"detail":{"b":[true]}})", R"({"detail":{"b":"true"}})", false},
                                           Case{R"({"detail":{"b":[true]}})", R"({"detail":{"b":true}})", true},
                                           Case{R"({"detail":{"v":[null]}})", R"({"detail":{"v":null}})", true},
                                           Case{R"({"detail":{"v":[null]}})", R"({"detail":{}})", false},
                                           Case{R"({"detail":{"v":[null]}})", R"({"detail":{"v":""}})", false},
                                           Case{R"({"detail":{"v":[""]}})", R"({"detail":{"v":""}})", true},
                                           Case{R"({"resources":["arn:x:i-b188560f"]})",
                                                R"({"resources":["arn:asg","arn:x:i-b188560f"]})", true},
                                           Case{R"({"resources":[null]})", R"({"resources":[]})", false},
                                           Case{R"({"a":{"b":["x"]}})", R"({"a":[{"b":"x"},{"b":"y"}]})", true},
                                           Case{R"({"a":["x"]})", R"({"a":[["x"]]})", true},
                                           Case{R"({"detail":{"a":[1]}})", R"({"detail":"{\"a\":1}"})", false},
                                           Case{R"({"detail":{"x":["y"]}})", R"({"detail":{"x":{"y":1}}})", false}));

TEST(MatcherTest, ReturnsEveryMatchingIdInOrder) {
  MatcherBuilder b;
  ASSERT_TRUE(b.add(R"({"source":["a"]})"));
  ASSERT_TRUE(b.add(R"({"source":["b"]})"));
  ASSERT_TRUE(b.add(R"({"detail-type":["t"]})"));
  auto m = b.build();
  EXPECT_EQ(m->size(), 3u);
  std::vector<uint32_t> ids;
  ASSERT_TRUE(m->match(R"({"source":"a","detail-type":"t"})", ids));
  EXPECT_EQ(ids, (std::vector<uint32_t>{0, 2}));
}

TEST(MatcherTest, RejectsEventsThatAreNotObjects) {
  MatcherBuilder b;
  ASSERT_TRUE(b.add(R"({"source":["a"]})"));
  auto m = b.build();
  std::vector<uint32_t> ids{7};
  EXPECT_FALSE(m->match("[1]", ids));
  EXPECT_TRUE(ids.empty());
  const core::Status st = m->match("{", ids);
  EXPECT_FALSE(st);
  EXPECT_FALSE(st.message().empty());
}

TEST(ValidationTest, InvalidPatternsAreRefusedWithEventBridgeReasons) {
  EXPECT_EQ(validate_pattern(R"([1])").message(), "Filter is not an object");
  EXPECT_EQ(validate_pattern(R"({})").message(), "Empty objects are not allowed");
  EXPECT_EQ(validate_pattern(R"({"a":{}})").message(), "Empty objects are not allowed");
  EXPECT_EQ(validate_pattern(R"({"a":42})").message(), "\"a\" must be an object or an array");
  EXPECT_EQ(validate_pattern(R"({"a":"x"})").message(), "\"a\" must be an object or an array");
  EXPECT_EQ(validate_pattern(R"({"a":[]})").message(), "Empty arrays are not allowed");
  EXPECT_EQ(validate_pattern(R"({"a":[["x"]]})").message(), "Match value must be String, number, true, false, or null");
  EXPECT_FALSE(validate_pattern("this is not json"));
  EXPECT_TRUE(validate_pattern(R"({"a":["x", 1, null, true]})"));
}

// Issue 12.3: the array-consistency check is polynomial. The old search
// backtracked over every combination (1000^3 here) and held a thread for
// many seconds; the answer must come, and be right, on any event shape.
TEST(MatcherTest, ArrayConsistencyOnHostileEventsIsAnsweredCorrectly) {
  MatcherBuilder b;
  ASSERT_TRUE(b.add(R"({"detail":{"o":{"a":["v"],"b":["v"],"c":["v"],"z":["v"]}}})"));
  auto m = b.build();
  std::string many;
  for (int i = 0; i < 1000; ++i) many += std::string(i ? "," : "") + "\"v\"";
  const std::string element = "{\"a\":[" + many + "],\"b\":[" + many + "],\"c\":[" + many + "]}";
  std::vector<uint32_t> ids;
  // z sits in another element of o than a, b and c: no match.
  ASSERT_TRUE(m->match(R"({"detail":{"o":[)" + element + R"(,{"z":"v"}]}})", ids));
  EXPECT_TRUE(ids.empty());
  // With z in the same element it matches.
  const std::string with_z = element.substr(0, element.size() - 1) + ",\"z\":\"v\"}";
  ASSERT_TRUE(m->match(R"({"detail":{"o":[)" + element + "," + with_z + "]}}", ids));
  EXPECT_EQ(ids, std::vector<uint32_t>{0});
}

// Issue 12.7: what ingest accepts (a detail of 1000 levels) is matched.
TEST(MatcherTest, ADetailAsDeepAsIngestAcceptsIsMatched) {
  MatcherBuilder b;
  ASSERT_TRUE(b.add(R"({"source":["a"]})"));
  auto m = b.build();
  std::string detail;
  for (int i = 0; i < 999; ++i) detail += "{\"a\":";
  detail += "[1]";  // the 1000th level
  for (int i = 0; i < 999; ++i) detail += "}";
  std::vector<uint32_t> ids;
  ASSERT_TRUE(m->match(R"({"source":"a","detail":)" + detail + "}", ids));
  EXPECT_EQ(ids, std::vector<uint32_t>{0});
}

}  // namespace
}  // namespace switchyard::rules
