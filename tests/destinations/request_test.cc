// The request builder on its own: pure functions of destination, delivery
// and time, checked line by line.
#include <gtest/gtest.h>

#include "switchyard/core/ascii.h"

#include <algorithm>
#include <string>
#include <vector>

#include "request.h"
#include "switchyard/core/crypto.h"

namespace switchyard::destinations {
namespace {

core::DeliveryTask task() {
  core::DeliveryTask t;
  t.id = "msg_1_r_t";
  t.body = R"({"a":1})";
  return t;
}

Destination destination(std::string endpoint) {
  Destination d;
  d.name = "d";
  d.endpoint = std::move(endpoint);
  return d;
}

bool has(const OutgoingRequest& r, const std::string& line) {
  return std::find(r.headers.begin(), r.headers.end(), line) != r.headers.end();
}

struct UrlCase {
  const char* endpoint;
  std::vector<std::string> path;
  Params target_query, connection_query;
  const char* want;  // "" when it cannot be sent
};

class RequestUrlTest : public ::testing::TestWithParam<UrlCase> {};

TEST_P(RequestUrlTest, BuildsTheUrl) {
  const UrlCase& c = GetParam();
  Destination d = destination(c.endpoint);
  d.query_parameters = c.connection_query;
  core::DeliveryTask t = task();
  t.path_params = c.path;
  t.query = c.target_query;
  OutgoingRequest r;
  RequestProblem p;
  const bool ok = build_request(d, t, 0, nullptr, &r, &p);
  if (std::string(c.want).empty()) {
    EXPECT_FALSE(ok);
    EXPECT_EQ(p.code, "INVALID_PARAMETER");
  } else {
    ASSERT_TRUE(ok) << p.message;
    EXPECT_EQ(r.url, c.want);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, RequestUrlTest,
    ::testing::Values(
        UrlCase{"http://h/x", {}, {}, {}, "http://h/x"},
        UrlCase{"http://h/o/*/i/*", {"a b", "c/d"}, {}, {}, "http://h/o/a%20b/i/c%2Fd"},
        UrlCase{"http://h/o/*", {}, {}, {}, ""}, UrlCase{"http://h/o/*/*", {"one"}, {}, {}, ""},
        UrlCase{"http://h/x?fixed=1", {}, {{"a", "1"}, {"b", "2"}}, {{"b", "3"}}, "http://h/x?fixed=1&a=1&b=3"},
        UrlCase{"http://h/x", {}, {{"q", "a&b=c"}}, {}, "http://h/x?q=a%26b%3Dc"},
        UrlCase{"http://h/x", {}, {{"B", "1"}}, {{"b", "2"}}, "http://h/x?B=1&b=2"}));  // query keys keep their case

TEST(RequestTest, HeadersInOrderWithTheConnectionWinningWithoutCase) {
  Destination d = destination("http://h/x");
  d.header_parameters = {{"X-Tenant", "acme"}, {"content-type", "application/vnd.x+json"}};
  d.headers = {{"x-api-key", "k3y"}};
  core::DeliveryTask t = task();
  t.headers = {{"x-tenant", "from-target"}, {"X-Other", "o"}};
  t.trace_header = "Root=1-abc";
  OutgoingRequest r;
  RequestProblem p;
  ASSERT_TRUE(build_request(d, t, 1767225600123, nullptr, &r, &p)) << p.message;
  EXPECT_EQ(r.headers,
            (std::vector<std::string>{"Content-Type: application/vnd.x+json", "x-tenant: acme", "X-Other: o",
                                      "User-Agent: Amazon/EventBridge/ApiDestinations", "Range: bytes=0-1048575",
                                      "webhook-id: msg_1_r_t", "webhook-timestamp: 1767225600",
                                      "X-Amzn-Trace-Id: Root=1-abc", "x-api-key: k3y", "Expect:"}));
  EXPECT_EQ(r.body, R"({"a":1})");
}

TEST(RequestTest, StandardWebhooksSignatureAndOAuthToken) {
  Destination d = destination("http://h/x");
  d.signing_key = "raw-key";
  const std::string token = "Bearer t0ken";
  OutgoingRequest r;
  RequestProblem p;
  ASSERT_TRUE(build_request(d, task(), 1000 * 1700000000LL, &token, &r, &p));
  const std::string sig =
      core::base64_encode(core::hmac_sha256("raw-key", std::string("msg_1_r_t.1700000000.") + R"({"a":1})"));
  EXPECT_TRUE(has(r, "webhook-signature: v1," + sig));
  EXPECT_TRUE(has(r, "Authorization: Bearer t0ken"));
}

TEST(RequestTest, BodyParametersMergeIntoJsonObjectsOnlyAndGetHasNoBody) {
  Destination d = destination("http://h/x");
  d.body_parameters = {{"origin", "switchyard"}, {"a", "over"}};
  OutgoingRequest r;
  RequestProblem p;
  ASSERT_TRUE(build_request(d, task(), 0, nullptr, &r, &p));
  EXPECT_EQ(r.body, R"({"a":"over","origin":"switchyard"})");
  core::DeliveryTask text = task();
  text.body = "\"plain text\"";
  ASSERT_TRUE(build_request(d, text, 0, nullptr, &r, &p));
  EXPECT_EQ(r.body, "\"plain text\"");
  d.method = "GET";
  ASSERT_TRUE(build_request(d, task(), 0, nullptr, &r, &p));
  EXPECT_EQ(r.body, "");
}

// Issue 12.2: no value from the event, the config or a token endpoint may
// carry a control character into a header; the message names the header,
// never the value.
TEST(RequestTest, EveryControlCharacterInAnyHeaderValueIsRefusedUnsent) {
  for (int c = 0; c < 32; ++c) {
    if (c == '\t') continue;
    const std::string bad = std::string("sec") + static_cast<char>(c) + "ret";
    for (int where = 0; where < 5; ++where) {
      Destination d = destination("http://h/x");
      core::DeliveryTask t = task();
      std::string token = "Bearer ok";
      if (where == 0) t.headers = {{"x-dyn", bad}};
      if (where == 1) d.header_parameters = {{"x-static", bad}};
      if (where == 2) t.trace_header = bad;
      if (where == 3) d.headers = {{"x-api-key", bad}};
      if (where == 4) token = "Bearer " + bad;
      OutgoingRequest r;
      RequestProblem p;
      EXPECT_FALSE(build_request(d, t, 0, &token, &r, &p)) << c << " at " << where;
      EXPECT_EQ(p.code, "INVALID_PARAMETER");
      EXPECT_EQ(p.message.find(bad), std::string::npos);
    }
  }
}

TEST(RequestTest, HeaderNamesCompareWithoutCase) {
  EXPECT_TRUE(core::iequals("Content-Type", "content-TYPE"));
  EXPECT_FALSE(core::iequals("Content-Type", "Content-Typ"));
  EXPECT_EQ(merge_parameters({{"A", "1"}}, {{"a", "2"}}, true), (Params{{"A", "2"}}));
  EXPECT_EQ(merge_parameters({{"A", "1"}}, {{"a", "2"}}, false), (Params{{"A", "1"}, {"a", "2"}}));
}

}  // namespace
}  // namespace switchyard::destinations
