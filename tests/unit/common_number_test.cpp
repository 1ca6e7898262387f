#include "common/number.h"

#include <cstdint>

#include <gtest/gtest.h>

using namespace berth;

TEST(Number, WholeStringOnly) {
  EXPECT_EQ(parseNumber<int>("42"), 42);
  EXPECT_EQ(parseNumber<int>("-7"), -7);
  EXPECT_EQ(parseNumber<int>("+7"), 7);
  EXPECT_FALSE(parseNumber<int>("42x"));
  EXPECT_FALSE(parseNumber<int>(" 42"));
  EXPECT_FALSE(parseNumber<int>("42 "));
  EXPECT_FALSE(parseNumber<int>(""));
  EXPECT_FALSE(parseNumber<int>("-"));
  EXPECT_FALSE(parseNumber<int>("+"));
  EXPECT_FALSE(parseNumber<int>("+-1"));
  EXPECT_FALSE(parseNumber<int>("0x10"));
  EXPECT_EQ(parseNumber<int>("10", 16), 16);
}

TEST(Number, RangeAndSign) {
  EXPECT_FALSE(parseNumber<uint16_t>("-1"));
  EXPECT_FALSE(parseNumber<uint16_t>("+1"));
  EXPECT_FALSE(parseNumber<uint16_t>("65536"));
  EXPECT_EQ(parseNumber<uint16_t>("65535"), 65535);
  EXPECT_FALSE(parseNumber<int32_t>("2147483648"));
  EXPECT_EQ(parseNumber<int64_t>("-9223372036854775808"), INT64_MIN);
  EXPECT_FALSE(parseNumber<int64_t>("9223372036854775808"));
}

TEST(Number, Floating) {
  EXPECT_DOUBLE_EQ(*parseNumber<double>("0.5"), 0.5);
  EXPECT_DOUBLE_EQ(*parseNumber<double>("-1.25"), -1.25);
  EXPECT_FALSE(parseNumber<double>("1.5x"));
  EXPECT_FALSE(parseNumber<double>("abc"));
}

TEST(Number, ArgAndFallback) {
  auto bad = parseNumberArg<int>("ten", "timeout");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Code::InvalidArgument);
  EXPECT_EQ(bad.error().message, "invalid timeout: \"ten\"");
  EXPECT_EQ(parseNumberArg<int>("10", "timeout").value(), 10);
  EXPECT_EQ(numberOr<int>("x", -1), -1);
  EXPECT_EQ(numberOr<int>("3", -1), 3);
}
