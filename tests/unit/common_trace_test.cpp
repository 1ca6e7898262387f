#include "common/trace.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "common/util.h"

using namespace berth;
using trace::Span;

namespace {

struct TraceOn : ::testing::Test {
  void SetUp() override { trace::enable("berthd"); }
  void TearDown() override { trace::disable(); }
};

}  // namespace

TEST(Trace, OffRecordsNothing) {
  trace::disable();
  EXPECT_FALSE(trace::on());
  EXPECT_EQ(trace::enabledAt(), 0);
  trace::record("ab", "create", 1, 2);
  { trace::Scope s("ab", "start"); }
  trace::add("ab", {Span{"", "monitor", "clone", 3, 4}});
  trace::enable("berthd");
  EXPECT_TRUE(trace::take("ab").empty());
  trace::disable();
}

TEST_F(TraceOn, RecordsUnderKeyInOrderAndTakeRemoves) {
  trace::record("ab", "create", 10, 20);
  trace::record("cd", "other", 5, 6);
  trace::record("ab", "start", 30, 25);  // end before start: clamped
  auto v = trace::take("ab");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], (Span{"ab", "berthd", "create", 10, 20}));
  EXPECT_EQ(v[1], (Span{"ab", "berthd", "start", 30, 30}));
  EXPECT_TRUE(trace::take("ab").empty());
  EXPECT_EQ(trace::peek("cd").size(), 1u);
  EXPECT_EQ(trace::peek("cd").size(), 1u);
}

TEST_F(TraceOn, ScopeMeasuresOnTheMonotonicClock) {
  int64_t before = trace::now();
  EXPECT_GT(trace::enabledAt(), 0);
  EXPECT_LE(trace::enabledAt(), before);
  { trace::Scope s("", "cli parse"); }
  int64_t after = trace::now();
  auto v = trace::take("");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].name, "cli parse");
  EXPECT_GE(v[0].start, before);
  EXPECT_LE(v[0].end, after);
  EXPECT_LE(v[0].start, v[0].end);
}

TEST_F(TraceOn, PhasesFollowEachOtherAndTakeAPrefix) {
  trace::Phases phase("ph");
  int64_t begun = phase.last();
  phase("one");
  phase("two");
  trace::Phases warm("ph", "warm: ", "start: ");
  warm("start: spec");
  warm("spawn");
  auto v = trace::take("ph");
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].name, "one");
  EXPECT_EQ(v[0].start, begun);
  EXPECT_EQ(v[1].name, "two");
  EXPECT_EQ(v[1].start, v[0].end);  // each phase starts where the last ended
  EXPECT_EQ(v[1].end, phase.last());
  EXPECT_EQ(v[2].name, "warm: spec");
  EXPECT_EQ(v[3].name, "warm: spawn");
  EXPECT_EQ(v[3].start, v[2].end);
}

TEST(Trace, PhasesOffRecordNothing) {
  trace::disable();
  trace::Phases phase("off");
  phase("one");
  EXPECT_EQ(phase.last(), 0);
  trace::enable("berthd");
  EXPECT_TRUE(trace::take("off").empty());
  trace::disable();
}

TEST_F(TraceOn, BoundsKeysAndSpans) {
  for (size_t i = 0; i < trace::kMaxSpans + 5; i++) trace::record("aa", "x", int64_t(i), int64_t(i));
  EXPECT_EQ(trace::peek("aa").size(), trace::kMaxSpans);
  for (size_t i = 0; i < trace::kMaxKeys; i++) trace::record(fmt::format("{:x}", i + 0x1000), "x", 1, 2);
  EXPECT_TRUE(trace::peek("aa").empty());  // the oldest key went first
  EXPECT_EQ(trace::peek("10ff").size(), 1u);
}

TEST_F(TraceOn, AddKeepsTheOtherProcessName) {
  trace::add("ab", {Span{"zz", "monitor", "clone", 3, 4}});
  auto v = trace::take("ab");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0], (Span{"ab", "monitor", "clone", 3, 4}));
}

TEST(Trace, LinesRoundTrip) {
  std::vector<Span> in = {{"", "cli", "POST /containers/{id}/start", 1, 2}, {"0a9f", "init", "mounts and pivot_root", 100, 250}};
  std::string text = trace::toLines(in);
  EXPECT_EQ(text.substr(0, text.find('\n')), R"({"k":"","p":"cli","n":"POST /containers/{id}/start","s":1,"e":2})");
  auto out = trace::parseLines(text + "\n");
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(*out, in);
}

TEST(Trace, ParseRefusesBadLines) {
  for (std::string_view bad : {
           R"({"k":"","p":"cli","n":"x","s":1})",                   // no end
           R"({"k":"","p":"cli","n":"x","s":2,"e":1})",             // end before start
           R"({"k":"","p":"Cli","n":"x","s":1,"e":2})",             // not our process name
           "{\"k\":\"\",\"p\":\"cli\",\"n\":\"a\tb\",\"s\":1,\"e\":2}",  // control character
           R"({"k":"zz","p":"cli","n":"x","s":1,"e":2})",           // key not hex
           R"({"k":"","p":"cli","n":"x\"","s":1,"e":2})",           // quote in name
           R"({"k":"","p":"cli","n":"x","s":-1,"e":2})",            // negative
           R"({"k":"","p":"cli","n":"x","s":1,"e":2} )",            // trailing bytes
           R"({"p":"cli","k":"","n":"x","s":1,"e":2})",             // other order
       }) {
    auto r = trace::parseLines(std::string(R"({"k":"","p":"cli","n":"ok","s":1,"e":2})") + "\n" + std::string(bad));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Code::InvalidArgument);
    EXPECT_NE(r.error().message.find("trace line 2"), std::string::npos) << r.error().message;
  }
}

TEST(Trace, MergeOrdersByStartEnclosingFirst) {
  std::vector<Span> in = {
      {"", "monitor", "clone", 50, 60},
      {"", "cli", "cli total", 0, 100},
      {"", "berthd", "start", 40, 90},
      {"", "cli", "cli parse", 0, 5},
      {"", "init", "exec", 70, 70},
  };
  auto m = trace::merge(in);
  std::vector<std::string> names;
  for (auto& s : m) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"cli total", "cli parse", "start", "clone", "exec"}));
}

TEST(Trace, FormatOffsetsFromTheEarliest) {
  EXPECT_EQ(trace::format({}), "");
  auto text = trace::format({{"", "cli", "cli parse", 1'000'000, 1'500'000}, {"", "berthd", "create", 3'000'000, 5'250'000}});
  EXPECT_NE(text.find("cli      cli parse                        0.000     0.500"), std::string::npos) << text;
  EXPECT_NE(text.find("berthd   create                           2.000     2.250"), std::string::npos) << text;
}

TEST_F(TraceOn, AppendToWritesEverySpan) {
  char tmpl[] = "/tmp/berth-trace-test.XXXXXX";
  int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  ASSERT_TRUE(trace::appendTo(tmpl));
  trace::record("ab", "create", 1, 2);
  trace::add("ab", {Span{"", "monitor", "clone", 3, 4}});
  auto text = readFile(tmpl);
  ::unlink(tmpl);
  ASSERT_TRUE(text);
  auto spans = trace::parseLines(*text);
  ASSERT_TRUE(spans) << spans.error().message;
  EXPECT_EQ(*spans, (std::vector<Span>{{"ab", "berthd", "create", 1, 2}, {"ab", "monitor", "clone", 3, 4}}));
  EXPECT_FALSE(trace::appendTo("/nonexistent-dir/x/trace.jsonl"));
}
