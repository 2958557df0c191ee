// The OAuth token cache on a ManualClock: when tokens are requested, kept,
// refreshed, dropped and retried, with no network and no waiting.

#include "token_cache.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <string>
#include <vector>

namespace switchyard::destinations {
namespace {

class TokenCacheTest : public ::testing::Test {
 protected:
  TokenCacheTest()
      : requests_(prometheus::BuildCounter().Name("t").Help("t").Register(registry_)),
        cache_(
            clock_, [this](const std::string& c, const TokenRequest& r) { sent_.push_back(c + " " + r.url); },
            requests_) {
    config_.connection = "auth";
    config_.endpoint = "http://127.0.0.1:9/token";
    config_.client_id = "id";
    config_.client_secret = "secret";
  }

  static std::string token_body(int expires_in) {
    return R"({"access_token":"abc","token_type":"Bearer","expires_in":)" + std::to_string(expires_in) + "}";
  }

  TokenCache::Readiness ready() {
    int64_t retry_at = -1;
    const auto r = cache_.ready(config_, &retry_at);
    retry_at_ = retry_at;
    return r;
  }

  core::ManualClock clock_;
  prometheus::Registry registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  std::vector<std::string> sent_;
  TokenCache cache_;
  OAuthClientCredentials config_;
  int64_t retry_at_ = -1;
};

TEST_F(TokenCacheTest, AuthorizeAsksOnceAndTheAnswerMakesTheConnectionReady) {
  EXPECT_EQ(cache_.view("auth").state, "AUTHORIZING");
  cache_.authorize(config_);
  cache_.authorize(config_);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0], "auth http://127.0.0.1:9/token");
  EXPECT_EQ(ready(), TokenCache::Readiness::kFetching);
  EXPECT_EQ(sent_.size(), 1u) << "no second request while one is in flight";
  cache_.answered("auth", 200, "", token_body(3600));
  EXPECT_EQ(ready(), TokenCache::Readiness::kReady);
  EXPECT_EQ(cache_.authorization(config_), "Bearer abc");
  EXPECT_EQ(cache_.generation(config_), 1u);
  EXPECT_TRUE(cache_.view("auth").usable);
  EXPECT_EQ(cache_.view("auth").state, "AUTHORIZED");
  EXPECT_EQ(requests_.Add({{"connection", "auth"}, {"outcome", "ok"}}).Value(), 1);
}

TEST_F(TokenCacheTest, ATokenIsRefreshedAMinuteBeforeItExpires) {
  cache_.authorize(config_);
  cache_.answered("auth", 200, "", token_body(3600));
  clock_.advance(3600'000 - 60'001);
  EXPECT_EQ(ready(), TokenCache::Readiness::kReady);
  EXPECT_EQ(sent_.size(), 1u);
  clock_.advance(2);
  EXPECT_EQ(ready(), TokenCache::Readiness::kFetching);
  EXPECT_EQ(sent_.size(), 2u);
  cache_.answered("auth", 200, "", token_body(3600));
  EXPECT_EQ(ready(), TokenCache::Readiness::kReady);
  EXPECT_EQ(cache_.generation(config_), 2u);
}

TEST_F(TokenCacheTest, FailedRequestsDeauthorizeAndAreRetriedWithDoublingBackoff) {
  cache_.authorize(config_);
  cache_.answered("auth", 500, "", R"({"error":"server_error"})");
  EXPECT_EQ(ready(), TokenCache::Readiness::kDeauthorized);
  EXPECT_EQ(retry_at_, clock_.mono_ms() + 1000);
  EXPECT_EQ(cache_.view("auth").state, "DEAUTHORIZED");
  EXPECT_NE(cache_.view("auth").error.find("server_error"), std::string::npos) << cache_.view("auth").error;
  EXPECT_NE(cache_.last_error(config_).find("500"), std::string::npos) << cache_.last_error(config_);
  clock_.advance(999);
  EXPECT_EQ(ready(), TokenCache::Readiness::kDeauthorized);
  EXPECT_EQ(sent_.size(), 1u);
  clock_.advance(1);
  EXPECT_EQ(ready(), TokenCache::Readiness::kFetching);
  ASSERT_EQ(sent_.size(), 2u);
  cache_.answered("auth", 0, "Connection refused", "");
  EXPECT_EQ(ready(), TokenCache::Readiness::kDeauthorized);
  EXPECT_EQ(retry_at_, clock_.mono_ms() + 2000);
  EXPECT_NE(cache_.last_error(config_).find("could not be reached: Connection refused"), std::string::npos);
  EXPECT_EQ(requests_.Add({{"connection", "auth"}, {"outcome", "error"}}).Value(), 2);
  EXPECT_EQ(cache_.view("auth").error.find("secret"), std::string::npos);
}

TEST_F(TokenCacheTest, ARefusedTokenIsDroppedOnlyIfItIsTheCurrentOne) {
  cache_.authorize(config_);
  cache_.answered("auth", 200, "", token_body(3600));
  cache_.refused("auth", 0);  // an older token: nothing changes
  EXPECT_EQ(ready(), TokenCache::Readiness::kReady);
  cache_.refused("auth", 1);
  EXPECT_EQ(ready(), TokenCache::Readiness::kFetching);
  EXPECT_EQ(sent_.size(), 2u);
}

TEST_F(TokenCacheTest, AChangedConnectionStartsOver) {
  cache_.authorize(config_);
  cache_.answered("auth", 200, "", token_body(3600));
  config_.client_secret = "rotated";
  EXPECT_EQ(ready(), TokenCache::Readiness::kFetching);
  EXPECT_EQ(sent_.size(), 2u);
  EXPECT_EQ(cache_.generation(config_), 0u);
}

TEST_F(TokenCacheTest, ATokenWithoutExpiryIsKept) {
  cache_.authorize(config_);
  cache_.answered("auth", 200, "", R"({"access_token":"abc","token_type":"Bearer"})");
  clock_.advance(int64_t{365} * 86'400'000);
  EXPECT_EQ(ready(), TokenCache::Readiness::kReady);
  EXPECT_EQ(sent_.size(), 1u);
}

}  // namespace
}  // namespace switchyard::destinations
