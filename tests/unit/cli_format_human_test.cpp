#include <gtest/gtest.h>

#include "cli/format/human.h"

using namespace berth::cli::format;
using berth::parseGoDuration;

TEST(CliFormatHuman, HumanSizeDockerPrecision3) {
  EXPECT_EQ(humanSize(0), "0B");
  EXPECT_EQ(humanSize(999), "999B");
  EXPECT_EQ(humanSize(1000), "1kB");
  EXPECT_EQ(humanSize(1982333), "1.98MB");
  EXPECT_EQ(humanSize(4261613), "4.26MB");
  EXPECT_EQ(humanSize(12345), "12.3kB");
  EXPECT_EQ(humanSize(1000000000), "1GB");
  EXPECT_EQ(humanSize(77800000), "77.8MB");
  EXPECT_EQ(humanSize(1024), "1.02kB");
  EXPECT_EQ(humanSize(999999), "1e+03kB");  // Go's %.3g of 999.999
}

TEST(CliFormatHuman, GoUnitsHumanSize4) {
  // go-units size_test.go
  EXPECT_EQ(humanSize4(1000), "1kB");
  EXPECT_EQ(humanSize4(1024), "1.024kB");
  EXPECT_EQ(humanSize4(1000000), "1MB");
  EXPECT_EQ(humanSize4(1048576), "1.049MB");
  EXPECT_EQ(humanSize4(2 * 1000.0 * 1000), "2MB");
  EXPECT_EQ(humanSize4(3.42 * 1000 * 1000 * 1000), "3.42GB");
  EXPECT_EQ(humanSize4(5.372 * 1e12), "5.372TB");
  EXPECT_EQ(humanSize4(2.22 * 1e15), "2.22PB");
  EXPECT_EQ(humanSize4(1e18), "1EB");
  EXPECT_EQ(humanSize4(1e30), "1e+06YB");
  EXPECT_EQ(humanSizeWithPrecision(1982333, 3), "1.98MB");
}

TEST(CliFormatHuman, BytesSize) {
  EXPECT_EQ(bytesSize(1024), "1KiB");
  EXPECT_EQ(bytesSize(1024 * 1024), "1MiB");
  EXPECT_EQ(bytesSize(1048576), "1MiB");
  EXPECT_EQ(bytesSize(2 * 1024.0 * 1024), "2MiB");
  EXPECT_EQ(bytesSize(3.42 * 1024 * 1024 * 1024), "3.42GiB");
  EXPECT_EQ(bytesSize(5.372 * 1024.0 * 1024 * 1024 * 1024), "5.372TiB");
  EXPECT_EQ(bytesSize(1536), "1.5KiB");
  EXPECT_EQ(bytesSize(0), "0B");
}

TEST(CliFormatHuman, FromHumanSize) {
  EXPECT_EQ(*fromHumanSize("32"), 32);
  EXPECT_EQ(*fromHumanSize("32b"), 32);
  EXPECT_EQ(*fromHumanSize("32K"), 32000);
  EXPECT_EQ(*fromHumanSize("32kb"), 32000);
  EXPECT_EQ(*fromHumanSize("32 Kb"), 32000);
  EXPECT_EQ(*fromHumanSize("32.5kB"), 32500);
  EXPECT_EQ(*fromHumanSize("32Mb"), 32000000);
  EXPECT_EQ(*fromHumanSize("32Gb"), 32000000000);
  EXPECT_FALSE(fromHumanSize(""));
  EXPECT_FALSE(fromHumanSize("hello"));
  EXPECT_FALSE(fromHumanSize("-32"));
  EXPECT_FALSE(fromHumanSize(" 32 "));
  EXPECT_EQ(fromHumanSize("hello").error().message, "invalid size: 'hello'");
  EXPECT_EQ(*ramInBytes("32kb"), 32768);
  EXPECT_EQ(*ramInBytes("32m"), 33554432);
  EXPECT_EQ(*ramInBytes("1.5g"), 1610612736);
  EXPECT_EQ(*ramInBytes("64MiB"), 67108864);
}

TEST(CliFormatHuman, HumanDurationGoUnitsTable) {
  const int64_t s = 1000000000LL, m = 60 * s, h = 60 * m, day = 24 * h, week = 7 * day, month = 30 * day,
                year = 365 * day;
  EXPECT_EQ(humanDurationNanos(450000000), "Less than a second");
  EXPECT_EQ(humanDurationNanos(1 * s), "1 second");
  EXPECT_EQ(humanDurationNanos(45 * s), "45 seconds");
  EXPECT_EQ(humanDurationNanos(47 * s), "47 seconds");
  EXPECT_EQ(humanDurationNanos(59 * s), "59 seconds");
  EXPECT_EQ(humanDurationNanos(60 * s), "About a minute");
  EXPECT_EQ(humanDurationNanos(90 * s), "About a minute");
  EXPECT_EQ(humanDurationNanos(3 * m), "3 minutes");
  EXPECT_EQ(humanDurationNanos(35 * m + 40 * s), "35 minutes");
  EXPECT_EQ(humanDurationNanos(59 * m), "59 minutes");
  EXPECT_EQ(humanDurationNanos(1 * h), "About an hour");
  EXPECT_EQ(humanDurationNanos(1 * h + 29 * m), "About an hour");
  EXPECT_EQ(humanDurationNanos(1 * h + 31 * m), "2 hours");
  EXPECT_EQ(humanDurationNanos(3 * h + 29 * m), "3 hours");
  EXPECT_EQ(humanDurationNanos(3 * h + 31 * m), "4 hours");
  EXPECT_EQ(humanDurationNanos(24 * h), "24 hours");
  EXPECT_EQ(humanDurationNanos(1 * day + 12 * h), "36 hours");
  EXPECT_EQ(humanDurationNanos(2 * day), "2 days");
  EXPECT_EQ(humanDurationNanos(13 * day + 5 * h), "13 days");
  EXPECT_EQ(humanDurationNanos(2 * week), "2 weeks");
  EXPECT_EQ(humanDurationNanos(2 * week + 4 * day), "2 weeks");
  EXPECT_EQ(humanDurationNanos(4 * week + 3 * day), "4 weeks");
  EXPECT_EQ(humanDurationNanos(1 * month), "4 weeks");
  EXPECT_EQ(humanDurationNanos(1 * month + 2 * week), "6 weeks");
  EXPECT_EQ(humanDurationNanos(2 * month), "2 months");
  EXPECT_EQ(humanDurationNanos(3 * month + 1 * week), "3 months");
  EXPECT_EQ(humanDurationNanos(13 * month), "13 months");
  EXPECT_EQ(humanDurationNanos(24 * month), "24 months");
  EXPECT_EQ(humanDurationNanos(24 * month + 2 * week), "2 years");
  EXPECT_EQ(humanDurationNanos(3 * year + 2 * month), "3 years");
  EXPECT_EQ(humanDurationNanos(-5 * s), "Less than a second");
  EXPECT_EQ(humanDuration(47), "47 seconds");
  EXPECT_EQ(humanDuration(0), "Less than a second");
}

TEST(CliFormatHuman, TimeAgo) {
  EXPECT_EQ(timeAgo(1795900800, 1795900808), "8 seconds ago");
  EXPECT_EQ(timeAgo(1795900800, 1795900800 + 14 * 86400), "2 weeks ago");
  EXPECT_EQ(timeAgo(1795900800, 1795900800 + 3600), "About an hour ago");
}

TEST(CliFormatHuman, TruncateId) {
  EXPECT_EQ(truncateId("sha256:ce76fd92d2c8a1b2c3d4e5f6"), "ce76fd92d2c8");
  EXPECT_EQ(truncateId("5181709d33f1aaaaaaaaaaaaaaaa"), "5181709d33f1");
  EXPECT_EQ(truncateId("abc"), "abc");
  EXPECT_EQ(truncateId(""), "");
}

TEST(CliFormatHuman, Ellipsis) {
  // docker formatter tests
  EXPECT_EQ(ellipsis("t🐳ststring", 0), "");
  EXPECT_EQ(ellipsis("t🐳ststring", 1), "t");
  EXPECT_EQ(ellipsis("t🐳ststring", 2), "t…");
  EXPECT_EQ(ellipsis("t🐳ststring", 6), "t🐳st…");
  EXPECT_EQ(ellipsis("t🐳ststring", 20), "t🐳ststring");
  EXPECT_EQ(ellipsis("你好世界teststring", 0), "");
  EXPECT_EQ(ellipsis("你好世界teststring", 1), "你");
  EXPECT_EQ(ellipsis("你好世界teststring", 3), "你…");
  EXPECT_EQ(ellipsis("你好世界teststring", 6), "你好…");
  EXPECT_EQ(ellipsis("你好世界teststring", 20), "你好世界teststring");
  EXPECT_EQ(ellipsis("teststring", 0), "");
  EXPECT_EQ(ellipsis("teststring", 1), "t");
  EXPECT_EQ(ellipsis("teststring", 3), "te…");
  EXPECT_EQ(ellipsis("teststring", 10), "teststring");
  EXPECT_EQ(ellipsis("", 5), "");
  EXPECT_EQ(displayWidth("你好ab"), 6);
}

TEST(CliFormatHuman, PsCommand) {
  EXPECT_EQ(psCommand("sleep 1000"), "\"sleep 1000\"");
  EXPECT_EQ(psCommand("sh -c 'echo hello world; sleep 100'"), "\"sh -c 'echo hello w…\"");
  EXPECT_EQ(psCommand("sh -c 'echo hello world; sleep 100'", true), "\"sh -c 'echo hello world; sleep 100'\"");
  EXPECT_EQ(psCommand("echo \"hi\""), "\"echo \\\"hi\\\"\"");
  EXPECT_EQ(psCommand(""), "\"\"");
}

TEST(CliFormatHuman, ParseGoDuration) {
  const int64_t s = 1000000000LL;
  EXPECT_EQ(*parseGoDuration("10m"), 600 * s);
  EXPECT_EQ(*parseGoDuration("1h30m"), 5400 * s);
  EXPECT_EQ(*parseGoDuration("1.5s"), 1500000000LL);
  EXPECT_EQ(*parseGoDuration("300ms"), 300000000LL);
  EXPECT_EQ(*parseGoDuration("-2h45m"), -(2 * 3600 + 45 * 60) * s);
  EXPECT_EQ(*parseGoDuration("0"), 0);
  EXPECT_EQ(*parseGoDuration("+5s"), 5 * s);
  EXPECT_EQ(*parseGoDuration("1us"), 1000);
  EXPECT_EQ(*parseGoDuration("1µs"), 1000);
  EXPECT_EQ(*parseGoDuration("2ns"), 2);
  EXPECT_EQ(*parseGoDuration(".5m"), 30 * s);
  EXPECT_EQ(*parseGoDuration("1h1m1s"), 3661 * s);
  EXPECT_EQ(parseGoDuration("").error().message, "time: invalid duration \"\"");
  EXPECT_EQ(parseGoDuration("10").error().message, "time: missing unit in duration \"10\"");
  EXPECT_EQ(parseGoDuration("10x").error().message, "time: unknown unit \"x\" in duration \"10x\"");
  EXPECT_FALSE(parseGoDuration("abc"));
  EXPECT_FALSE(parseGoDuration("."));
  EXPECT_FALSE(parseGoDuration("1d"));
  EXPECT_FALSE(parseGoDuration("9999999999999h"));
}

TEST(CliFormatHuman, FormatGoDuration) {
  const int64_t s = 1000000000LL;
  EXPECT_EQ(formatGoDuration(0), "0s");
  EXPECT_EQ(formatGoDuration(600 * s), "10m0s");
  EXPECT_EQ(formatGoDuration(5400 * s), "1h30m0s");
  EXPECT_EQ(formatGoDuration(1500000000LL), "1.5s");
  EXPECT_EQ(formatGoDuration(300000000LL), "300ms");
  EXPECT_EQ(formatGoDuration(1), "1ns");
  EXPECT_EQ(formatGoDuration(1100), "1.1µs");
  EXPECT_EQ(formatGoDuration(2200000), "2.2ms");
  EXPECT_EQ(formatGoDuration(-90 * s), "-1m30s");
  EXPECT_EQ(formatGoDuration(3600 * s), "1h0m0s");
  EXPECT_EQ(formatGoDuration(30 * s), "30s");
}

TEST(CliFormatHuman, GetTimestampDurations) {
  const int64_t now = 1700000000LL * 1000000000LL + 500000000LL;
  EXPECT_EQ(*getTimestamp("10m", now), "1699999400");
  EXPECT_EQ(*getTimestamp("1h30m", now), "1699994600");
  EXPECT_EQ(*getTimestamp("0s", now), "1700000000");
}

TEST(CliFormatHuman, GetTimestampDates) {
  const int64_t now = 1700000000LL * 1000000000LL;
  EXPECT_EQ(*getTimestamp("2024-01-02", now), "1704153600.000000000");
  EXPECT_EQ(*getTimestamp("2024-01-02T03:04:05Z", now), "1704164645.000000000");
  EXPECT_EQ(*getTimestamp("2024-01-02T03:04:05.5Z", now), "1704164645.500000000");
  EXPECT_EQ(*getTimestamp("2024-01-02T03:04:05.123456789Z", now), "1704164645.123456789");
  EXPECT_EQ(*getTimestamp("2024-01-02T03:04:05+01:00", now), "1704161045.000000000");
  EXPECT_EQ(*getTimestamp("2024-01-02T03:04:05-01:00", now), "1704168245.000000000");
  EXPECT_EQ(*getTimestamp("2024-01-02T03", now), "1704164400.000000000");
  EXPECT_EQ(*getTimestamp("2024-01-02T03:04", now), "1704164640.000000000");
  EXPECT_EQ(*getTimestamp("2024-01-02T03:04:05", now), "1704164645.000000000");
  // local forms use the given offset (UTC+2 here)
  EXPECT_EQ(*getTimestamp("2024-01-02T03:04:05", now, 7200), "1704157445.000000000");
  EXPECT_EQ(*getTimestamp("2024-01-02Z", now), "1704153600.000000000");
}

TEST(CliFormatHuman, GetTimestampUnixAndErrors) {
  const int64_t now = 1700000000LL * 1000000000LL;
  EXPECT_EQ(*getTimestamp("1700000000", now), "1700000000");
  EXPECT_EQ(*getTimestamp("1700000000.123", now), "1700000000.123");
  EXPECT_EQ(*getTimestamp("0", now), "0");
  EXPECT_FALSE(getTimestamp("2024-13-01", now));
  EXPECT_FALSE(getTimestamp("2024-02-30", now));
  EXPECT_FALSE(getTimestamp("2024-01-02T25:00:00Z", now));
  auto bad = getTimestamp("yesterday", now);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "failed to parse value as time or duration: \"yesterday\"");
}
