#include <gtest/gtest.h>

#include "container/health.h"
#include "container/log_opts.h"

using namespace berth::container;
using json = nlohmann::json;

namespace {
constexpr int64_t kS = 1000000000;
ProbeResult probe(int64_t at, int code, std::string out = "") { return {at, at + 1, code, std::move(out)}; }
}  // namespace

TEST(ContainerHealth, ConfigDefaultsAndCommands) {
  auto c = healthConfigOf({{"Test", {"CMD-SHELL", "curl -f x"}}});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->argv, (std::vector<std::string>{"/bin/sh", "-c", "curl -f x"}));
  EXPECT_EQ(c->intervalNs, 30 * kS);
  EXPECT_EQ(c->timeoutNs, 30 * kS);
  EXPECT_EQ(c->startPeriodNs, 0);
  EXPECT_EQ(c->startIntervalNs, 5 * kS);
  EXPECT_EQ(c->retries, 3);
  auto d = healthConfigOf({{"Test", {"CMD", "true", "x"}}, {"Interval", 200000000}, {"Retries", 1}});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->argv, (std::vector<std::string>{"true", "x"}));
  EXPECT_EQ(d->intervalNs, 200000000);
  EXPECT_EQ(d->retries, 1);
  EXPECT_FALSE(healthConfigOf({{"Test", {"NONE"}}}));
  EXPECT_FALSE(healthConfigOf({{"Test", json::array()}}));
  EXPECT_FALSE(healthConfigOf(json(nullptr)));
  EXPECT_FALSE(healthConfigOf({{"Test", {"BOGUS", "x"}}}));
  EXPECT_FALSE(healthConfigOf({{"Test", {"CMD"}}}));
}

TEST(ContainerHealth, MergeOverImage) {
  json image = {{"Test", {"CMD-SHELL", "true"}}, {"Interval", 5}, {"Retries", 2}};
  EXPECT_EQ(mergeHealthcheck(nullptr, image), image);
  json m = mergeHealthcheck({{"Timeout", 7}}, image);
  EXPECT_EQ(m["Test"], image["Test"]);
  EXPECT_EQ(m["Interval"], 5);
  EXPECT_EQ(m["Timeout"], 7);
  EXPECT_EQ(m["Retries"], 2);
  json none = mergeHealthcheck({{"Test", {"NONE"}}}, image);
  EXPECT_FALSE(healthConfigOf(none));
  EXPECT_TRUE(mergeHealthcheck(nullptr, nullptr).is_null());
}

TEST(ContainerHealth, StateMachine) {
  auto cfg = *healthConfigOf({{"Test", {"CMD", "x"}}, {"Retries", 2}});
  Health h;
  EXPECT_EQ(h.status, "starting");
  EXPECT_FALSE(h.record(cfg, probe(1 * kS, 1), 0));  // one failure: still starting
  EXPECT_EQ(h.failingStreak, 1);
  EXPECT_TRUE(h.record(cfg, probe(2 * kS, 0), 0));
  EXPECT_EQ(h.status, "healthy");
  EXPECT_EQ(h.failingStreak, 0);
  EXPECT_FALSE(h.record(cfg, probe(3 * kS, 1), 0));
  EXPECT_EQ(h.status, "healthy");
  EXPECT_TRUE(h.record(cfg, probe(4 * kS, -1), 0));  // a timeout counts as a failure
  EXPECT_EQ(h.status, "unhealthy");
  EXPECT_EQ(h.failingStreak, 2);
  EXPECT_FALSE(h.record(cfg, probe(5 * kS, 2), 0));
  EXPECT_EQ(h.failingStreak, 3);
  EXPECT_EQ(h.log.size(), 5u);
  EXPECT_FALSE(h.record(cfg, probe(6 * kS, 1), 0));
  EXPECT_EQ(h.log.size(), 5u);  // the last 5 only
  EXPECT_EQ(h.log.front().start, 2 * kS);
}

TEST(ContainerHealth, StartPeriodDoesNotCountWhileStarting) {
  auto cfg = *healthConfigOf({{"Test", {"CMD", "x"}}, {"Retries", 1}, {"StartPeriod", 10 * kS},
                              {"Interval", 3 * kS}, {"StartInterval", 1 * kS}});
  Health h;
  int64_t started = 100 * kS;
  EXPECT_EQ(h.nextDelayNs(cfg, started, started), 1 * kS);  // start interval inside the period
  EXPECT_FALSE(h.record(cfg, probe(started + 2 * kS, 1), started));
  EXPECT_EQ(h.status, "starting");
  EXPECT_EQ(h.failingStreak, 0);
  EXPECT_TRUE(h.record(cfg, probe(started + 11 * kS, 1), started));  // after it: counts
  EXPECT_EQ(h.status, "unhealthy");
  EXPECT_EQ(h.nextDelayNs(cfg, started, started + 11 * kS), 3 * kS);
}

TEST(ContainerHealth, OutputCutAndRecordRoundTrip) {
  auto cfg = *healthConfigOf({{"Test", {"CMD", "x"}}});
  Health h;
  h.record(cfg, probe(kS, 0, std::string(5000, 'a')), 0);
  EXPECT_EQ(h.log.back().output.size(), kHealthMaxOutput);
  Health back = Health::fromRecord(h.toRecord());
  EXPECT_EQ(back.status, "healthy");
  EXPECT_EQ(back.log.size(), 1u);
  json doc = h.toJson();
  EXPECT_EQ(doc["Status"], "healthy");
  EXPECT_EQ(doc["FailingStreak"], 0);
  EXPECT_EQ(doc["Log"][0]["ExitCode"], 0);
  EXPECT_TRUE(doc["Log"][0]["Start"].is_string());
  EXPECT_EQ(healthTimeoutMessage(300000000), "Health check exceeded timeout (300ms)");
  EXPECT_EQ(healthTimeoutMessage(30 * kS), "Health check exceeded timeout (30s)");
  EXPECT_EQ(healthTimeoutMessage(90 * kS + 500000000), "Health check exceeded timeout (1m30.5s)");
}

TEST(ContainerLogOpts, LocalAndNoneDrivers) {
  auto local = jsonFileLimits({{"Type", "local"}, {"Config", json::object()}});
  ASSERT_TRUE(local);
  EXPECT_EQ(local->driver, "local");
  EXPECT_EQ(local->maxSize, 20 * 1024 * 1024);
  EXPECT_EQ(local->maxFiles, 5);
  EXPECT_TRUE(local->compress);
  auto l2 = jsonFileLimits({{"Type", "local"}, {"Config", {{"max-size", "1k"}, {"max-file", "2"}, {"compress", "false"}}}});
  ASSERT_TRUE(l2);
  EXPECT_EQ(l2->maxSize, 1024);
  EXPECT_EQ(l2->maxFiles, 2);
  EXPECT_FALSE(l2->compress);
  auto bad = jsonFileLimits({{"Type", "local"}, {"Config", {{"labels", "x"}}}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "unknown log opt 'labels' for local log driver");
  EXPECT_FALSE(jsonFileLimits({{"Type", "local"}, {"Config", {{"max-file", "0"}}}}));
  EXPECT_FALSE(jsonFileLimits({{"Type", "local"}, {"Config", {{"compress", "maybe"}}}}));
  EXPECT_EQ(jsonFileLimits({{"Type", "none"}})->driver, "none");
  auto sys = jsonFileLimits({{"Type", "syslog"}});
  ASSERT_FALSE(sys);
  EXPECT_EQ(sys.error().message, "logger: no log driver named 'syslog' is registered");
  EXPECT_EQ(rotatedLogFiles("/l", 3, true), (std::vector<std::string>{"/l.2.gz", "/l.1.gz", "/l"}));
}

TEST(ContainerLogOpts, MergeDaemonDefaults) {
  std::map<std::string, std::string> opts = {{"max-size", "1m"}};
  auto m = mergeLogConfig(json::object(), "local", opts);
  EXPECT_EQ(m["Type"], "local");
  EXPECT_EQ(m["Config"]["max-size"], "1m");
  auto other = mergeLogConfig({{"Type", "json-file"}}, "local", opts);
  EXPECT_EQ(other["Type"], "json-file");
  EXPECT_TRUE(other["Config"].empty());  // defaults only for the default driver
  auto own = mergeLogConfig({{"Type", "local"}, {"Config", {{"max-size", "2m"}}}}, "local", opts);
  EXPECT_EQ(own["Config"]["max-size"], "2m");
  EXPECT_EQ(mergeLogConfig(nullptr, "", {})["Type"], "json-file");
}
