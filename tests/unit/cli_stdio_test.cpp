#include <gtest/gtest.h>

#include "cli/stdio.h"

namespace berth::cli {
namespace {

std::string frame(int stream, const std::string& payload) {
  std::string h(8, '\0');
  h[0] = char(stream);
  uint32_t n = uint32_t(payload.size());
  h[4] = char(n >> 24);
  h[5] = char(n >> 16);
  h[6] = char(n >> 8);
  h[7] = char(n);
  return h + payload;
}

TEST(CliStdio, DemuxSplitsStreamsAcrossArbitraryChunks) {
  std::string all = frame(1, "out\n") + frame(2, "err\n") + frame(1, "") + frame(3, "sys\n") + frame(1, "x");
  for (size_t step : {size_t(1), size_t(3), size_t(7), all.size()}) {
    std::string out, err;
    FrameDemuxer d([&](int s, std::string_view p) { (s == 2 ? err : out).append(p); });
    for (size_t i = 0; i < all.size(); i += step) d.feed(std::string_view(all).substr(i, step));
    EXPECT_EQ(out, "out\nx") << step;
    EXPECT_EQ(err, "err\nsys\n") << step;
    EXPECT_TRUE(d.idle());
  }
}

TEST(CliStdio, ParseDetachKeys) {
  auto k = parseDetachKeys("ctrl-p,ctrl-q");
  ASSERT_TRUE(k);
  EXPECT_EQ(*k, (std::vector<uint8_t>{16, 17}));
  k = parseDetachKeys("a,ctrl-@,ctrl-[,ctrl-_");
  ASSERT_TRUE(k);
  EXPECT_EQ(*k, (std::vector<uint8_t>{'a', 0, 27, 31}));
  EXPECT_FALSE(parseDetachKeys("ctrl-1"));
  EXPECT_FALSE(parseDetachKeys("bogus"));
}

TEST(CliStdio, DetachDetector) {
  DetachDetector d({16, 17});
  EXPECT_EQ(d.feed("ab"), "ab");
  EXPECT_EQ(d.feed("\x10"), "");  // held
  EXPECT_EQ(d.feed("x"), "\x10x");  // released on mismatch
  EXPECT_FALSE(d.detached());
  EXPECT_EQ(d.feed("c\x10\x10"), "c\x10");
  EXPECT_EQ(d.feed("\x11rest"), "");
  EXPECT_TRUE(d.detached());
}

TEST(CliStdio, SignalNames) {
  EXPECT_EQ(signalName(SIGINT), "INT");
  EXPECT_EQ(signalName(SIGTERM), "TERM");
  EXPECT_EQ(signalName(SIGWINCH), "WINCH");
}

}  // namespace
}  // namespace berth::cli
