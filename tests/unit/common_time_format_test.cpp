// formatRfc3339Nano (common/util.h) computes the UTC calendar date by
// arithmetic; it must print exactly what gmtime_r + strftime print.

#include <gtest/gtest.h>
#include <time.h>

#include <random>

#include "common/util.h"

using namespace berth;

namespace {

std::string viaGmtime(int64_t ns) {
  time_t sec = time_t(ns / 1000000000);
  tm t;
  gmtime_r(&sec, &t);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  snprintf(buf + n, sizeof buf - n, ".%09ldZ", long(ns % 1000000000));
  return buf;
}

}  // namespace

TEST(CommonTimeFormat, MatchesGmtime) {
  const int64_t kSec = 1000000000;
  for (int64_t sec : {int64_t(1), int64_t(86399), int64_t(86400), int64_t(951782400) /* 2000-02-29 */,
                      int64_t(951868799), int64_t(4107542400) /* 2100-03-01 */, int64_t(2147483647),
                      int64_t(1709164800) /* 2024-02-29 */, int64_t(9214646399) /* 2261-12-31 */})
    EXPECT_EQ(formatRfc3339Nano(sec * kSec + 123), viaGmtime(sec * kSec + 123)) << sec;
  std::mt19937_64 rng(42);
  for (int i = 0; i < 100000; i++) {
    int64_t ns = int64_t(rng() % uint64_t(9214646399LL * kSec)) + 1;  // int64 nanoseconds end in 2262
    ASSERT_EQ(formatRfc3339Nano(ns), viaGmtime(ns)) << ns;
  }
  EXPECT_EQ(formatRfc3339Nano(0), "0001-01-01T00:00:00Z");
  EXPECT_EQ(formatRfc3339Nano(1), "1970-01-01T00:00:00.000000001Z");
}

TEST(CommonTimeFormat, RoundTripsThroughTheParser) {
  int64_t ns = 1733320000123456789LL;
  auto back = parseRfc3339(formatRfc3339Nano(ns));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, ns);
}
