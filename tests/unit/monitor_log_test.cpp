#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "monitor/framing.h"
#include "monitor/json_log.h"
#include "monitor/run.h"

using namespace berth::monitor;

namespace {
std::string js(std::string_view s) {
  std::string out;
  appendJsonString(out, s);
  return out;
}
}  // namespace

TEST(MonitorJsonLog, EscapesLikeDocker) {
  EXPECT_EQ(js("one\n"), R"("one\n")");
  EXPECT_EQ(js("a\"b\\c\r\t"), R"("a\"b\\c\r\t")");
  EXPECT_EQ(js(std::string("\x00\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\x7f\"");
  EXPECT_EQ(js("<a>&"), R"("\u003ca\u003e\u0026")");
  EXPECT_EQ(js("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"), "\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(js("\xe2\x80\xa8x\xe2\x80\xa9"), R"("\u2028x\u2029")");
}

TEST(MonitorJsonLog, InvalidUtf8BecomesReplacementPerByte) {
  EXPECT_EQ(js("a\xff" "b"), R"("a\ufffdb")");
  EXPECT_EQ(js("\xc3"), R"("\ufffd")");                 // truncated sequence
  EXPECT_EQ(js("\xe2\x82"), R"("\ufffd\ufffd")");       // truncated 3-byte: each byte
  EXPECT_EQ(js("\xc0\xaf"), R"("\ufffd\ufffd")");       // overlong
  EXPECT_EQ(js("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");  // surrogate
  EXPECT_EQ(js("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");  // > U+10FFFF
}

TEST(MonitorJsonLog, TimeIsGoRfc3339Nano) {
  EXPECT_EQ(formatGoRfc3339Nano(1795906800112130484LL), "2026-11-28T23:00:00.112130484Z");
  EXPECT_EQ(formatGoRfc3339Nano(1795906800100000000LL), "2026-11-28T23:00:00.1Z");
  EXPECT_EQ(formatGoRfc3339Nano(1795906800000000000LL), "2026-11-28T23:00:00Z");
}

TEST(MonitorJsonLog, LineFormat) {
  EXPECT_EQ(encodeLogLine("one\n", "stdout", 1795906800112130484LL),
            "{\"log\":\"one\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-28T23:00:00.112130484Z\"}\n");
}

TEST(MonitorJsonLog, SplitsLinesAndKeepsPartials) {
  std::string pending;
  std::vector<std::string> lines;
  auto emit = [&](std::string_view l) { lines.emplace_back(l); };
  splitLines(pending, "a\nb", 16, emit);
  EXPECT_EQ(lines, (std::vector<std::string>{"a\n"}));
  EXPECT_EQ(pending, "b");
  splitLines(pending, "c\n\nd", 16, emit);
  EXPECT_EQ(lines, (std::vector<std::string>{"a\n", "bc\n", "\n"}));
  EXPECT_EQ(pending, "d");
  // a long line is cut at maxLine without a newline
  lines.clear();
  pending.clear();
  splitLines(pending, std::string(10, 'x') + "\n", 4, emit);
  EXPECT_EQ(lines, (std::vector<std::string>{"xxxx", "xxxx", "xx\n"}));
  EXPECT_EQ(pending, "");
  splitLines(pending, "", 4, emit);
  EXPECT_EQ(lines.size(), 3u);
  lines.clear();
  splitLines(pending, "xx\n", 4, emit);  // pending "" + "xx\n"
  EXPECT_EQ(lines, (std::vector<std::string>{"xx\n"}));
}

TEST(MonitorJsonLog, WriterWritesLinesAndFlushesPartial) {
  char tmpl[] = "/tmp/berth-log-XXXXXX";
  ASSERT_TRUE(mkdtemp(tmpl));
  std::string path = std::string(tmpl) + "/c-json.log";
  {
    auto w = JsonLogWriter::open(path, 0, 1);
    ASSERT_TRUE(w);
    w->write(0, "hello\nwor", 1795906800000000000LL);
    w->write(1, "err\n", 1795906800000000000LL);
    w->write(0, "ld", 1795906800000000000LL);
    w->flush(1795906800000000000LL);
  }
  FILE* f = fopen(path.c_str(), "r");
  ASSERT_TRUE(f);
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  std::string got(buf, n);
  EXPECT_EQ(got,
            "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-28T23:00:00Z\"}\n"
            "{\"log\":\"err\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-28T23:00:00Z\"}\n"
            "{\"log\":\"world\",\"stream\":\"stdout\",\"time\":\"2026-11-28T23:00:00Z\"}\n");
  std::string cmd = std::string("rm -rf ") + tmpl;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

TEST(MonitorJsonLog, Rotates) {
  char tmpl[] = "/tmp/berth-log-XXXXXX";
  ASSERT_TRUE(mkdtemp(tmpl));
  std::string path = std::string(tmpl) + "/c-json.log";
  {
    auto w = JsonLogWriter::open(path, 250, 3);
    ASSERT_TRUE(w);
    for (int i = 0; i < 10; i++) w->write(0, "0123456789012345678901234567890123456789\n", 1795906800000000000LL);
  }
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_LE(st.st_size, 250);
  EXPECT_EQ(stat((path + ".1").c_str(), &st), 0);
  EXPECT_EQ(stat((path + ".2").c_str(), &st), 0);
  EXPECT_NE(stat((path + ".3").c_str(), &st), 0);
  std::string cmd = std::string("rm -rf ") + tmpl;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

TEST(MonitorFraming, EncodeDecodeRoundTrip) {
  std::string wire = encodeMessage(MsgType::Started, encodeInt32(1234));
  wire += encodeMessage(MsgType::StartError, encodeStartError(Stage::Exec, ENOENT, "exec: \"x\": executable file not found in $PATH"));
  wire += encodeMessage(MsgType::Resize, encodeResize(24, 80));
  wire += encodeMessage(MsgType::StdinClose, "");
  FrameDecoder d;
  // byte by byte: partial headers and payloads
  std::vector<Message> got;
  for (char c : wire) {
    d.feed(std::string_view(&c, 1));
    while (auto m = d.next()) got.push_back(*m);
  }
  ASSERT_EQ(got.size(), 4u);
  int32_t pid;
  ASSERT_TRUE(decodeInt32(got[0].payload, pid));
  EXPECT_EQ(pid, 1234);
  Stage st;
  int32_t err;
  std::string msg;
  ASSERT_TRUE(decodeStartError(got[1].payload, st, err, msg));
  EXPECT_EQ(st, Stage::Exec);
  EXPECT_EQ(err, ENOENT);
  EXPECT_NE(msg.find("executable file not found"), std::string::npos);
  uint16_t rows, cols;
  ASSERT_TRUE(decodeResize(got[2].payload, rows, cols));
  EXPECT_EQ(rows, 24);
  EXPECT_EQ(cols, 80);
  EXPECT_EQ(got[3].type, MsgType::StdinClose);
  EXPECT_TRUE(got[3].payload.empty());
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(MonitorFraming, HeaderLayoutAndLimits) {
  std::string h = encodeHeader(MsgType::Stdout, 5);
  ASSERT_EQ(h.size(), 8u);
  EXPECT_EQ(uint8_t(h[0]), 66);
  EXPECT_EQ(h[1], 0);
  uint32_t len;
  memcpy(&len, h.data() + 4, 4);
  EXPECT_EQ(len, 5u);
  FrameDecoder d;
  d.feed(encodeHeader(MsgType::Stdin, kMaxPayload + 1));
  EXPECT_FALSE(d.next());
  EXPECT_TRUE(d.invalid());
  std::string big;
  appendChunked(big, MsgType::Stdout, std::string(kMaxPayload + 10, 'x'));
  FrameDecoder d2;
  d2.feed(big);
  auto a = d2.next(), b = d2.next();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->payload.size(), kMaxPayload);
  EXPECT_EQ(b->payload.size(), 10u);
}

TEST(MonitorExit, ExitJson) {
  EXPECT_EQ(exitJson(3 << 8, false, 10, 20, 42),
            R"({"ExitCode":3,"Signal":0,"OOMKilled":false,"StartedAt":10,"FinishedAt":20,"Pid":42})");
  EXPECT_EQ(exitJson(9, true, 1, 2, 7),
            R"({"ExitCode":137,"Signal":9,"OOMKilled":true,"StartedAt":1,"FinishedAt":2,"Pid":7})");
}

// The local driver's format: JSON lines, rotated files gzipped as PATH.N.gz.
TEST(MonitorJsonLog, RotatesCompressed) {
  char tmpl[] = "/tmp/berth-log-XXXXXX";
  ASSERT_TRUE(mkdtemp(tmpl));
  std::string path = std::string(tmpl) + "/local-logs/container.log";
  {
    auto w = JsonLogWriter::open(path, 250, 3, true);
    ASSERT_TRUE(w);
    for (int i = 0; i < 10; i++)
      w->write(0, "line " + std::to_string(i) + " 01234567890123456789012345678901234\n", 1795906800000000000LL);
  }
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(stat((path + ".1.gz").c_str(), &st), 0);
  EXPECT_EQ(stat((path + ".2.gz").c_str(), &st), 0);
  EXPECT_NE(stat((path + ".3.gz").c_str(), &st), 0);
  EXPECT_NE(stat((path + ".1").c_str(), &st), 0);  // no uncompressed leftovers
  // .1.gz holds the lines just before the live file's, as JSON lines.
  std::string cmd = "zcat " + path + ".1.gz | grep -c '\"stream\":\"stdout\"' > " + tmpl + "/n";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  cmd = "zcat " + path + ".1.gz | tail -n1 | grep -q 'line 7 '";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  cmd = std::string("rm -rf ") + tmpl;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}
