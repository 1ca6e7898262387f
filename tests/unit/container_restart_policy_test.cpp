#include <gtest/gtest.h>

#include "container/restart_policy.h"

namespace berth::container {
namespace {

using json = nlohmann::json;
using Kind = RestartPolicy::Kind;

constexpr int64_t kSec = 1'000'000'000;

RestartPolicy policy(const char* name, int max = 0) {
  auto p = RestartPolicy::fromJson({{"Name", name}, {"MaximumRetryCount", max}});
  EXPECT_TRUE(p.has_value());
  return p ? *p : RestartPolicy{};
}

TEST(RestartPolicyTest, ParsesDockerNames) {
  EXPECT_EQ(policy("").kind, Kind::No);
  EXPECT_EQ(policy("no").kind, Kind::No);
  EXPECT_EQ(policy("always").kind, Kind::Always);
  EXPECT_EQ(policy("unless-stopped").kind, Kind::UnlessStopped);
  auto p = policy("on-failure", 3);
  EXPECT_EQ(p.kind, Kind::OnFailure);
  EXPECT_EQ(p.maxRetry, 3);
  EXPECT_EQ(RestartPolicy::fromJson(nullptr)->kind, Kind::No);
}

TEST(RestartPolicyTest, RejectsBadPolicies) {
  auto bad = RestartPolicy::fromJson({{"Name", "sometimes"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Code::InvalidArgument);
  EXPECT_NE(bad.error().message.find("unknown policy 'sometimes'"), std::string::npos);
  auto count = RestartPolicy::fromJson({{"Name", "always"}, {"MaximumRetryCount", 2}});
  ASSERT_FALSE(count);
  EXPECT_NE(count.error().message.find("only be used with 'on-failure'"), std::string::npos);
  EXPECT_FALSE(RestartPolicy::fromJson({{"Name", "on-failure"}, {"MaximumRetryCount", -1}}));
}

TEST(RestartBackoffTest, DoublesFrom100msAndCapsAtOneMinute) {
  RestartBackoff b;
  auto p = policy("always");
  std::vector<int64_t> delays;
  for (int i = 0; i < 12; i++) {
    auto d = b.onExit(p, 1, i, false, false, kSec / 10);
    ASSERT_TRUE(d.restart);
    delays.push_back(d.delayMs);
  }
  EXPECT_EQ(delays[0], 100);
  EXPECT_EQ(delays[1], 200);
  EXPECT_EQ(delays[2], 400);
  EXPECT_EQ(delays[9], 51200);
  EXPECT_EQ(delays[10], 60000);
  EXPECT_EQ(delays[11], 60000);
}

TEST(RestartBackoffTest, ResetsAfterTenSecondsUp) {
  RestartBackoff b;
  auto p = policy("always");
  b.onExit(p, 0, 0, false, false, kSec);
  b.onExit(p, 0, 1, false, false, kSec);
  EXPECT_EQ(b.onExit(p, 0, 2, false, false, kSec).delayMs, 400);
  EXPECT_EQ(b.onExit(p, 0, 3, false, false, 10 * kSec).delayMs, 100);
  EXPECT_EQ(b.onExit(p, 0, 4, false, false, 9 * kSec).delayMs, 200);
  b.reset();
  EXPECT_EQ(b.onExit(p, 0, 0, false, false, 0).delayMs, 100);
}

TEST(RestartBackoffTest, PolicySemantics) {
  RestartBackoff b;
  EXPECT_FALSE(b.onExit(policy("no"), 1, 0, false, false, 0).restart);
  EXPECT_TRUE(b.onExit(policy("always"), 0, 0, false, false, 0).restart);
  // a manual stop is never undone, whatever the policy
  EXPECT_FALSE(b.onExit(policy("always"), 137, 0, true, true, 0).restart);
  EXPECT_FALSE(b.onExit(policy("unless-stopped"), 1, 0, false, true, 0).restart);
  // a kill with another signal: always keeps going, unless-stopped gives up
  EXPECT_TRUE(b.onExit(policy("always"), 1, 0, true, false, 0).restart);
  EXPECT_FALSE(b.onExit(policy("unless-stopped"), 1, 0, true, false, 0).restart);
  EXPECT_TRUE(b.onExit(policy("unless-stopped"), 0, 0, false, false, 0).restart);
  // on-failure: non-zero exits only, within the retry budget
  EXPECT_FALSE(b.onExit(policy("on-failure"), 0, 0, false, false, 0).restart);
  EXPECT_TRUE(b.onExit(policy("on-failure"), 3, 50, false, false, 0).restart);
  EXPECT_TRUE(b.onExit(policy("on-failure", 2), 3, 1, false, false, 0).restart);
  EXPECT_FALSE(b.onExit(policy("on-failure", 2), 3, 2, false, false, 0).restart);
}

TEST(RestartPolicyTest, DaemonStart) {
  EXPECT_FALSE(restartOnDaemonStart(policy("no"), 1, 0, false));
  EXPECT_TRUE(restartOnDaemonStart(policy("always"), 0, 0, true));
  EXPECT_TRUE(restartOnDaemonStart(policy("unless-stopped"), 0, 0, false));
  EXPECT_FALSE(restartOnDaemonStart(policy("unless-stopped"), 0, 0, true));
  EXPECT_TRUE(restartOnDaemonStart(policy("on-failure"), 1, 0, false));
  EXPECT_FALSE(restartOnDaemonStart(policy("on-failure"), 0, 0, false));
  EXPECT_FALSE(restartOnDaemonStart(policy("on-failure", 1), 1, 1, false));
}

}  // namespace
}  // namespace berth::container

#include "container/log_opts.h"

namespace berth::container {
namespace {

TEST(JsonFileLogOpts, Limits) {
  auto none = jsonFileLimits({{"Type", "json-file"}, {"Config", json::object()}});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->maxSize, 0);
  EXPECT_EQ(none->maxFiles, 1);
  auto lim = jsonFileLimits({{"Type", "json-file"}, {"Config", {{"max-size", "10k"}, {"max-file", "3"}}}});
  ASSERT_TRUE(lim);
  EXPECT_EQ(lim->maxSize, 10240);
  EXPECT_EQ(lim->maxFiles, 3);
  EXPECT_EQ(jsonFileLimits({{"Config", {{"max-size", "2m"}}}})->maxSize, 2 * 1024 * 1024);
  EXPECT_EQ(jsonFileLimits({{"Config", {{"max-size", "1.5k"}}}})->maxSize, 1536);
  EXPECT_EQ(jsonFileLimits({{"Config", {{"max-size", "100"}}}})->maxSize, 100);
}

TEST(JsonFileLogOpts, Errors) {
  auto bad = jsonFileLimits({{"Config", {{"max-size", "ten"}}}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Code::InvalidArgument);
  EXPECT_FALSE(jsonFileLimits({{"Config", {{"max-file", "0"}, {"max-size", "1k"}}}}));
  EXPECT_FALSE(jsonFileLimits({{"Config", {{"max-file", "x"}}}}));
  EXPECT_FALSE(jsonFileLimits({{"Config", {{"max-file", "3"}}}}));
  auto opt = jsonFileLimits({{"Config", {{"bogus", "1"}}}});
  ASSERT_FALSE(opt);
  EXPECT_EQ(opt.error().message, "unknown log opt 'bogus' for json-file log driver");
  EXPECT_FALSE(jsonFileLimits({{"Type", "syslog"}}));
  EXPECT_TRUE(jsonFileLimits({{"Config", {{"tag", "x"}, {"labels", "a"}}}}));
}

TEST(JsonFileLogOpts, RotatedFilesOldestFirst) {
  EXPECT_EQ(rotatedLogFiles("/l", 1), (std::vector<std::string>{"/l"}));
  EXPECT_EQ(rotatedLogFiles("/l", 3), (std::vector<std::string>{"/l.2", "/l.1", "/l"}));
}

}  // namespace
}  // namespace berth::container
