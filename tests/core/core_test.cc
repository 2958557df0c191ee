#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "switchyard/core/event.h"
#include "switchyard/core/json_text.h"
#include "switchyard/core/task.h"
#include "switchyard/core/time.h"
#include "switchyard/core/uuid.h"

#include <sys/wait.h>
#include <unistd.h>

namespace switchyard::core {
namespace {

TEST(EventTest, EnvelopeHasEventBridgeMemberOrder) {
  Event e;
  e.id = "0f5c2a4e-5b7d-4b19-9f7e-2d6f1b0c9a11";
  e.detail_type = "OrderPlaced";
  e.source = "com.example.shop";
  e.account = "111122223333";
  e.time = 1740824130;
  e.region = "eu-west-1";
  e.resources = {"urn:example:order/42"};
  e.detail = R"({"orderId":42})";
  EXPECT_EQ(envelope_json(e),
            R"({"version":"0","id":"0f5c2a4e-5b7d-4b19-9f7e-2d6f1b0c9a11","detail-type":"OrderPlaced",)"
            R"("source":"com.example.shop","account":"111122223333","time":"2025-03-01T10:15:30Z",)"
            R"("region":"eu-west-1","resources":["urn:example:order/42"],"detail":{"orderId":42}})");
}

TEST(EventTest, ReplayNameSitsBetweenRegionAndResources) {
  Event e;
  e.replay_name = "r1";
  const std::string s = envelope_json(e);
  EXPECT_NE(s.find(R"("region":"","replay-name":"r1","resources":[])"), std::string::npos) << s;
}

TEST(EventTest, StringsAreEscaped) {
  Event e;
  e.source = "a\"b\\c\n";
  const auto j = nlohmann::json::parse(envelope_json(e));
  EXPECT_EQ(j["source"], "a\"b\\c\n");
  EXPECT_EQ(j["resources"], nlohmann::json::array());
  EXPECT_EQ(j["detail"], nlohmann::json::object());
}

TEST(TimeTest, FormatsUtcSeconds) {
  EXPECT_EQ(format_time(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_time(1740824130), "2025-03-01T10:15:30Z");
  EXPECT_EQ(format_time(951782400), "2000-02-29T00:00:00Z");
  EXPECT_EQ(format_time_ms(1740824130123), "2025-03-01T10:15:30.123Z");
}

TEST(TimeTest, ParsesRfc3339WithOffsetsAndFractions) {
  EXPECT_EQ(parse_time_ms("2025-03-01T10:15:30Z"), 1740824130000);
  EXPECT_EQ(parse_time_ms("2025-03-01T12:15:30+02:00"), 1740824130000);
  EXPECT_EQ(parse_time_ms("2025-03-01T10:15:30.5Z"), 1740824130500);
  EXPECT_EQ(parse_time_ms("2025-03-01T05:15:30.123-05:00"), 1740824130123);
}

TEST(TimeTest, RejectsMalformedTimestamps) {
  for (const char* bad : {"", "2025-03-01", "2025-13-01T00:00:00Z", "2025-02-30T00:00:00Z", "2025-03-01T10:15:30",
                          "2025-03-01T10:15:30Zjunk", "2025-03-01T25:00:00Z", "yesterday"})
    EXPECT_FALSE(parse_time_ms(bad).has_value()) << bad;
}

TEST(UuidTest, IsVersion4AndUnique) {
  const std::regex re("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = uuid_v4();
    ASSERT_TRUE(std::regex_match(id, re)) << id;
    ASSERT_TRUE(seen.insert(id).second) << "duplicate " << id;
  }
}

// A forked child draws fresh random bytes: with a seeded PRNG (the old
// std::mt19937_64) parent and child went on with the same ids.
TEST(UuidTest, AForkedChildDoesNotRepeatItsParentsIds) {
  (void)uuid_v4();  // the parent's source is initialised before the fork
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string id = uuid_v4();
    _exit(write(fds[1], id.data(), id.size()) == static_cast<ssize_t>(id.size()) ? 0 : 1);
  }
  close(fds[1]);
  const std::string mine = uuid_v4();
  char buf[36];
  ASSERT_EQ(read(fds[0], buf, sizeof(buf)), 36);
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_NE(std::string(buf, 36), mine);
}

// The hand-written JSON string is byte for byte what nlohmann::json writes,
// the fast path (printable ASCII) and the rest alike.
TEST(JsonTextTest, StringsAreWrittenAsNlohmannWritesThem) {
  for (const std::string& s : {std::string(""), std::string("plain id-1_2.3:4"), std::string("quote \" and \\ slash /"),
                               std::string("tab\tnew\nline\x01\x1f\x7f"), std::string("caf\xc3\xa9 \xe2\x82\xac"),
                               std::string("bad \xff\xfe utf-8"), std::string("nul \0 inside", 13)}) {
    std::string mine;
    append_json_string(mine, s);
    EXPECT_EQ(mine, nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) << s;
  }
}

}  // namespace
}  // namespace switchyard::core
