#include "switchyard/bus/auth.h"

#include <gtest/gtest.h>

#include <map>

namespace switchyard::bus {
namespace {

HeaderLookup headers(std::map<std::string, std::string> h) {
  return [h = std::move(h)](std::string_view name) -> std::string_view {
    for (const auto& [k, v] : h)
      if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          }))
        return v;
    return {};
  };
}

WebhookVerify scheme(const std::string& name, const std::string& secret) {
  WebhookVerify v;
  v.scheme = name;
  v.secret = secret;
  return v;
}

const std::string kBody = R"({"action":"opened"})";

TEST(CryptoTest, KnownVectors) {
  // RFC 4231 test case 2.
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  std::string out;
  ASSERT_TRUE(base64_decode(base64_encode("any carnal pleas"), &out));
  EXPECT_EQ(out, "any carnal pleas");
  EXPECT_EQ(base64_encode("ab"), "YWI=");
  EXPECT_FALSE(base64_decode("abc", &out));
}

TEST(WebhookVerifyTest, GitHub) {
  const auto v = scheme("github-sha256", "It's a Secret to Everybody");
  // GitHub's documented example: "Hello, World!" with that secret.
  EXPECT_EQ(
      verify_webhook(
          v,
          headers({{"X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}}),
          "Hello, World!", 0)
          .message(),
      "");
  const std::string good = "sha256=" + to_hex(hmac_sha256(v.secret, kBody));
  EXPECT_EQ(verify_webhook(v, headers({{"X-Hub-Signature-256", good}}), kBody, 0).message(), "");
  EXPECT_NE(verify_webhook(v, headers({{"X-Hub-Signature-256", good}}), kBody + " ", 0).message(), "");
  EXPECT_NE(verify_webhook(v, headers({}), kBody, 0).message(), "");
  EXPECT_NE(verify_webhook(v, headers({{"X-Hub-Signature-256", good.substr(7)}}), kBody, 0).message(), "");
}

TEST(WebhookVerifyTest, StripeWithTimestampTolerance) {
  const auto v = scheme("stripe", "whsec_test");
  const int64_t t = 1700000000;
  const std::string sig = to_hex(hmac_sha256(v.secret, std::to_string(t) + "." + kBody));
  const std::string header = "t=" + std::to_string(t) + ",v1=deadbeef,v1=" + sig;
  EXPECT_EQ(verify_webhook(v, headers({{"Stripe-Signature", header}}), kBody, t + 299).message(), "");
  EXPECT_NE(verify_webhook(v, headers({{"Stripe-Signature", header}}), kBody, t + 301).message(), "");
  EXPECT_NE(
      verify_webhook(v, headers({{"Stripe-Signature", "t=" + std::to_string(t) + ",v1=deadbeef"}}), kBody, t).message(),
      "");
  EXPECT_NE(verify_webhook(v, headers({{"Stripe-Signature", "v1=" + sig}}), kBody, t).message(), "");
  EXPECT_NE(verify_webhook(v, headers({}), kBody, t).message(), "");
}

TEST(WebhookVerifyTest, StandardWebhooks) {
  const std::string key = "0123456789abcdef0123456789abcdef";
  const auto v = scheme("standard-webhooks", "whsec_" + base64_encode(key));
  const std::string id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
  const int64_t t = 1674087231;
  const std::string sig = base64_encode(hmac_sha256(key, id + "." + std::to_string(t) + "." + kBody));
  auto h = [&](const std::string& s) {
    return headers({{"webhook-id", id}, {"webhook-timestamp", std::to_string(t)}, {"webhook-signature", s}});
  };
  EXPECT_EQ(verify_webhook(v, h("v1,bogus v1," + sig), kBody, t).message(), "");
  EXPECT_NE(verify_webhook(v, h("v1," + sig), kBody, t + 1000).message(), "");
  EXPECT_NE(verify_webhook(v, h("v1,bogus"), kBody, t).message(), "");
  EXPECT_NE(verify_webhook(v, h("v2," + sig), kBody, t).message(), "");
}

TEST(WebhookVerifyTest, GenericHmacHexAndBase64) {
  auto v = scheme("hmac-sha256", "s3cret");
  v.header = "X-Signature";
  v.prefix = "sha256=";
  EXPECT_EQ(verify_webhook(v, headers({{"X-Signature", "sha256=" + to_hex(hmac_sha256("s3cret", kBody))}}), kBody, 0)
                .message(),
            "");
  EXPECT_NE(verify_webhook(v, headers({{"X-Signature", to_hex(hmac_sha256("s3cret", kBody))}}), kBody, 0).message(),
            "");
  v.prefix.clear();
  v.encoding = "base64";
  EXPECT_EQ(
      verify_webhook(v, headers({{"X-Signature", base64_encode(hmac_sha256("s3cret", kBody))}}), kBody, 0).message(),
      "");
  const std::string reason = verify_webhook(v, headers({{"X-Signature", "nope"}}), kBody, 0).message();
  EXPECT_NE(reason, "");
  EXPECT_EQ(reason.find("s3cret"), std::string::npos) << "secrets never appear in messages";
}

TEST(BearerTest, TokensAreCheckedExactly) {
  const std::vector<std::string> tokens{"t0ken-a", "t0ken-b"};
  EXPECT_TRUE(bearer_allowed("Bearer t0ken-b", tokens));
  EXPECT_TRUE(bearer_allowed("bearer t0ken-a", tokens));
  EXPECT_FALSE(bearer_allowed("Bearer t0ken", tokens));
  EXPECT_FALSE(bearer_allowed("Basic t0ken-a", tokens));
  EXPECT_FALSE(bearer_allowed("", tokens));
}

// AWS's documented SigV4 example (IAM ListUsers, 2015-08-30).
TEST(SigV4Test, AwsDocumentedExample) {
  const std::vector<AccessKey> keys{{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}};
  auto h = headers({{"Authorization",
                     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
                     "SignedHeaders=content-type;host;x-amz-date, "
                     "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"},
                    {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                    {"Host", "iam.amazonaws.com"},
                    {"X-Amz-Date", "20150830T123600Z"}});
  const int64_t signed_at = 1440938160;
  auto r = verify_sigv4("GET", "/", "Action=ListUsers&Version=2010-05-08", h, "", keys, signed_at + 60);
  EXPECT_EQ(r.kind, SigV4Result::Kind::kValid) << r.message;
  EXPECT_EQ(r.access_key_id, "AKIDEXAMPLE");
  r = verify_sigv4("GET", "/", "Action=ListUsers&Version=2010-05-09", h, "", keys, signed_at);
  EXPECT_EQ(r.error_type, "InvalidSignatureException");
  r = verify_sigv4("GET", "/", "Action=ListUsers&Version=2010-05-08", h, "", keys, signed_at + 3600);
  EXPECT_EQ(r.error_type, "InvalidSignatureException");  // expired
  r = verify_sigv4("GET", "/", "Action=ListUsers&Version=2010-05-08", h, "", {{"OTHER", "x"}}, signed_at);
  EXPECT_EQ(r.error_type, "UnrecognizedClientException");
  r = verify_sigv4("GET", "/", "", headers({}), "", keys, signed_at);
  EXPECT_EQ(r.kind, SigV4Result::Kind::kUnsigned);
}

}  // namespace
}  // namespace switchyard::bus
