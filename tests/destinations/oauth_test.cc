#include "switchyard/destinations/oauth.h"

#include <gtest/gtest.h>

namespace switchyard::destinations {
namespace {

// The tests below read a failure as text: this adapter gives it so.
bool parse_token_response(long status, const std::string& body, int64_t now, Token* t, std::string* error) {
  auto r = destinations::parse_token_response(status, body, now);
  if (!r) {
    *error = r.status().message();
    return false;
  }
  *t = std::move(*r);
  return true;
}

OAuthClientCredentials creds() {
  OAuthClientCredentials c;
  c.connection = "c";
  c.endpoint = "https://auth.example/token";
  c.client_id = "my id";
  c.client_secret = "s&cret";
  return c;
}

std::string header(const TokenRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "<none>";
}

TEST(OAuthTest, PostSendsAFormWithGrantTypeAndBasicCredentials) {
  auto c = creds();
  c.body = {{"audience", "https://api.example/"}, {"scope", "a b"}};
  c.query = {{"tenant", "t1"}};
  c.headers = {{"x-extra", "1"}};
  const TokenRequest r = build_token_request(c);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://auth.example/token?tenant=t1");
  EXPECT_EQ(r.body, "grant_type=client_credentials&audience=https%3A%2F%2Fapi.example%2F&scope=a%20b");
  EXPECT_EQ(header(r, "Authorization"), "Basic bXkgaWQ6cyZjcmV0");  // base64("my id:s&cret")
  EXPECT_EQ(header(r, "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(header(r, "x-extra"), "1");
}

TEST(OAuthTest, ClientSecretPostPutsTheCredentialsInTheForm) {
  auto c = creds();
  c.credentials_in_body = true;
  c.body = {{"grant_type", "custom"}};  // a body parameter overrides the grant type
  const TokenRequest r = build_token_request(c);
  EXPECT_EQ(r.body, "grant_type=custom&client_id=my%20id&client_secret=s%26cret");
  EXPECT_EQ(header(r, "Authorization"), "<none>");
}

TEST(OAuthTest, GetSendsTheFormInTheQueryString) {
  auto c = creds();
  c.method = "GET";
  c.endpoint = "http://127.0.0.1:1/token?x=1";
  const TokenRequest r = build_token_request(c);
  EXPECT_EQ(r.url, "http://127.0.0.1:1/token?x=1&grant_type=client_credentials");
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(header(r, "Content-Type"), "<none>");
}

TEST(OAuthTest, ParsesTokenAndExpiry) {
  Token t;
  std::string error;
  ASSERT_TRUE(
      parse_token_response(200, R"({"access_token":"abc","token_type":"bearer","expires_in":3600})", 1000, &t, &error));
  EXPECT_EQ(t.authorization, "Bearer abc");
  EXPECT_EQ(t.expires_at_ms, 1000 + 3600 * 1000);
  ASSERT_TRUE(parse_token_response(200, R"({"access_token":"x","token_type":"MAC","expires_in":"60"})", 0, &t, &error));
  EXPECT_EQ(t.authorization, "MAC x");
  EXPECT_EQ(t.expires_at_ms, 60000);
  ASSERT_TRUE(parse_token_response(201, R"({"access_token":"x"})", 0, &t, &error));
  EXPECT_EQ(t.authorization, "Bearer x");
  EXPECT_EQ(t.expires_at_ms, 0);  // no expiry: kept until a 401
}

TEST(OAuthTest, ErrorsSayWhyWithoutEchoingTheBody) {
  Token t;
  std::string error;
  EXPECT_FALSE(parse_token_response(401, R"({"error":"invalid_client","error_description":"bad secret","x":"leak"})", 0,
                                    &t, &error));
  EXPECT_EQ(error, "the authorization endpoint answered 401 (invalid_client: bad secret)");
  EXPECT_FALSE(parse_token_response(500, "secret-bearing html", 0, &t, &error));
  EXPECT_EQ(error, "the authorization endpoint answered 500");
  EXPECT_FALSE(parse_token_response(200, "not json", 0, &t, &error));
  EXPECT_EQ(error, "the authorization endpoint's answer is not a JSON object");
  EXPECT_FALSE(parse_token_response(200, R"({"token_type":"bearer"})", 0, &t, &error));
  EXPECT_EQ(error, "the authorization endpoint's answer has no access_token");
}

TEST(OAuthTest, RefreshWithinSixtySecondsOfExpiryOrHalfAShortLifetime) {
  Token t{"Bearer a", 1000 + 3600 * 1000, 1000};
  EXPECT_FALSE(token_needs_refresh(t, 1000));
  EXPECT_FALSE(token_needs_refresh(t, t.expires_at_ms - 60'001));
  EXPECT_TRUE(token_needs_refresh(t, t.expires_at_ms - 59'999));
  Token short_lived{"Bearer b", 30'000, 0};  // 30 s tokens: refreshed after 15 s, not on every request
  EXPECT_FALSE(token_needs_refresh(short_lived, 14'000));
  EXPECT_TRUE(token_needs_refresh(short_lived, 16'000));
  EXPECT_TRUE(token_needs_refresh(Token{}, 0));
  EXPECT_FALSE(token_needs_refresh(Token{"Bearer c", 0, 0}, 1'000'000'000));
}

}  // namespace
}  // namespace switchyard::destinations
