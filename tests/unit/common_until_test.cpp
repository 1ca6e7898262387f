#include "common/until.h"

#include <gtest/gtest.h>

using namespace berth;

namespace {
constexpr int64_t kSec = 1'000'000'000;
}

TEST(GoDuration, GoSyntax) {
  EXPECT_EQ(*parseGoDuration("1h30m"), 5400 * kSec);
  EXPECT_EQ(*parseGoDuration("1.5s"), 1500'000'000);
  EXPECT_EQ(*parseGoDuration("300ms"), 300'000'000);
  EXPECT_EQ(*parseGoDuration("-2m"), -120 * kSec);
  EXPECT_EQ(*parseGoDuration("0"), 0);
  EXPECT_EQ(parseGoDuration("10").error().message, "time: missing unit in duration \"10\"");
  EXPECT_EQ(parseGoDuration("1d").error().message, "time: unknown unit \"d\" in duration \"1d\"");
  EXPECT_FALSE(parseGoDuration(""));
}

TEST(Until, DurationsTimestampsAndDates) {
  const int64_t now = 1'700'000'000 * kSec;
  EXPECT_EQ(*parseUntil("10m", now), now - 600 * kSec);
  EXPECT_EQ(*parseUntil("250ms", now), now - 250'000'000);
  // digits alone are unix seconds, as Docker's GetTimestamp reads them
  EXPECT_EQ(*parseUntil("1600000000", now), 1'600'000'000 * kSec);
  EXPECT_EQ(*parseUntil("1600000000.5", now), 1'600'000'000 * kSec + 500'000'000);
  EXPECT_EQ(*parseUntil("2023-11-14T22:13:20Z", now), now);
  auto bad = parseUntil("yesterday", now);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Code::InvalidArgument);
}
