// The CRI log format berth-monitor writes for CRI containers (--log-driver
// cri-log) and the reopen that kubelet's rotation needs.
#include <gtest/gtest.h>

#include <unistd.h>

#include <string>

#include "common/util.h"
#include "monitor/json_log.h"

using namespace berth;
using namespace berth::monitor;

namespace {

constexpr int64_t kT = 1795906800112130484LL;  // 2026-11-28T23:00:00.112130484Z

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/berth-crilog-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { (void)removeAll(path); }
};

std::vector<std::string> linesOf(const std::string& path) {
  auto text = readFile(path);
  if (!text) return {};
  auto v = split(*text, '\n');
  if (!v.empty() && v.back().empty()) v.pop_back();
  return v;
}

}  // namespace

TEST(MonitorCriLog, LineFormat) {
  EXPECT_EQ(encodeCriLine("hello\n", "stdout", kT), "2026-11-28T23:00:00.112130484Z stdout F hello\n");
  EXPECT_EQ(encodeCriLine("dos\r\n", "stderr", kT), "2026-11-28T23:00:00.112130484Z stderr F dos\n");
  EXPECT_EQ(encodeCriLine("\n", "stdout", kT), "2026-11-28T23:00:00.112130484Z stdout F \n");
  // a piece of a longer line, and the unterminated end of a stream
  EXPECT_EQ(encodeCriLine("part", "stdout", kT), "2026-11-28T23:00:00.112130484Z stdout P part\n");
  EXPECT_EQ(encodeCriLine("tail", "stdout", kT, true), "2026-11-28T23:00:00.112130484Z stdout F tail\n");
  // trailing zeros of the fraction are trimmed as Go's RFC3339Nano does
  EXPECT_EQ(encodeCriLine("x\n", "stdout", 1795906800100000000LL), "2026-11-28T23:00:00.1Z stdout F x\n");
}

TEST(MonitorCriLog, WriterSplitsLongLinesIntoPartials) {
  TempDir d;
  std::string path = d.path + "/0.log";
  auto w = JsonLogWriter::open(path, 0, 1, false, LogFormat::Cri);
  ASSERT_TRUE(w) << w.error().message;
  std::string big(JsonLogWriter::kMaxLine + 10, 'a');
  w->write(0, "one\ntw", kT);
  w->write(1, "err\n", kT);
  w->write(0, "o\n" + big + "\nend", kT);
  w->flush(kT);
  auto lines = linesOf(path);
  ASSERT_EQ(lines.size(), 6u);
  const std::string ts = "2026-11-28T23:00:00.112130484Z ";
  EXPECT_EQ(lines[0], ts + "stdout F one");
  EXPECT_EQ(lines[1], ts + "stderr F err");
  EXPECT_EQ(lines[2], ts + "stdout F two");
  EXPECT_EQ(lines[3], ts + "stdout P " + std::string(JsonLogWriter::kMaxLine, 'a'));
  EXPECT_EQ(lines[4], ts + "stdout F " + std::string(10, 'a'));
  EXPECT_EQ(lines[5], ts + "stdout F end");
}

TEST(MonitorCriLog, ReopenFollowsARename) {
  TempDir d;
  std::string path = d.path + "/0.log";
  auto w = JsonLogWriter::open(path, 0, 1, false, LogFormat::Cri);
  ASSERT_TRUE(w);
  w->write(0, "before\n", kT);
  ASSERT_EQ(::rename(path.c_str(), (path + ".1").c_str()), 0);
  w->write(0, "still old\n", kT);  // until reopened, the renamed file gets the lines
  ASSERT_TRUE(w->reopen());
  w->write(0, "after\n", kT);
  auto old = linesOf(path + ".1"), fresh = linesOf(path);
  ASSERT_EQ(old.size(), 2u);
  EXPECT_NE(old[1].find("F still old"), std::string::npos);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_NE(fresh[0].find("stdout F after"), std::string::npos);
}

TEST(MonitorCriLog, ReopenFailureKeepsTheOldFile) {
  TempDir d;
  std::string dir = d.path + "/logs";
  ASSERT_TRUE(mkdirAll(dir));
  std::string path = dir + "/0.log";
  auto w = JsonLogWriter::open(path, 0, 1, false, LogFormat::Cri);
  ASSERT_TRUE(w);
  ASSERT_EQ(::rename(dir.c_str(), (d.path + "/moved").c_str()), 0);
  auto r = w->reopen();  // the directory is gone: the open fails
  EXPECT_FALSE(r);
  w->write(0, "kept\n", kT);
  auto lines = linesOf(d.path + "/moved/0.log");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("F kept"), std::string::npos);
}
