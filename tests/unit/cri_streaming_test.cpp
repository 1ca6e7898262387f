// The CRI streaming server: SPDY/3.1 and WebSocket framing, the
// remotecommand documents, the token cache, and whole sessions over
// loopback TCP against a fake backend (SPDY and WebSocket clients written
// here on the same framing code, checked against fixed byte strings).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/number.h"
#include "cri/streaming/container_backend.h"
#include "cri/streaming/http_head.h"
#include "cri/streaming/remotecommand.h"
#include "cri/streaming/request_cache.h"
#include "cri/streaming/server.h"
#include "cri/streaming/spdy.h"
#include "cri/streaming/websocket.h"

using namespace berth;
using namespace berth::cri::streaming;
using nlohmann::json;

// ---- SPDY framing ------------------------------------------------------

TEST(CriSpdy, DictionaryIsTheSpdy3One) {
  auto d = spdy::dictionary();
  ASSERT_EQ(d.size(), 1423u);
  EXPECT_EQ(d.substr(0, 11), std::string_view("\0\0\0\7options", 11));
  EXPECT_EQ(d.substr(d.size() - 7), ",enq=0.");
}

TEST(CriSpdy, HeaderBlockRoundTripLowercasesNames) {
  spdy::Headers h = {{"StreamType", "stdout"}, {"port", "8080"}, {"multi", std::string("a\0b", 3)}};
  std::string block = spdy::encodeHeaderBlock(h);
  // count 3, then len "streamtype" (10) ...
  EXPECT_EQ(block.substr(0, 8), std::string("\0\0\0\3\0\0\0\x0a", 8));
  EXPECT_EQ(block.substr(8, 10), "streamtype");
  auto back = spdy::decodeHeaderBlock(block);
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[0].first, "streamtype");
  EXPECT_EQ(spdy::headerValue(*back, "STREAMTYPE"), "stdout");
  EXPECT_EQ((*back)[2].second, std::string("a\0b", 3));
}

TEST(CriSpdy, HeaderBlockRejectsTruncationAndHugeCounts) {
  std::string block = spdy::encodeHeaderBlock({{"a", "b"}});
  EXPECT_FALSE(spdy::decodeHeaderBlock(block.substr(0, block.size() - 1)));
  EXPECT_FALSE(spdy::decodeHeaderBlock(std::string("\xff\xff\xff\xff", 4)));
  EXPECT_FALSE(spdy::decodeHeaderBlock("ab"));
  // a zero-length name
  EXPECT_FALSE(spdy::decodeHeaderBlock(std::string("\0\0\0\1\0\0\0\0\0\0\0\0", 12)));
}

TEST(CriSpdy, CompressionSharesOneStreamPerDirection) {
  spdy::HeaderCompressor c;
  spdy::HeaderDecompressor d;
  for (int i = 0; i < 5; i++) {
    spdy::Headers h = {{"streamtype", i % 2 ? "stdout" : "stderr"}, {"requestid", std::to_string(i)}};
    auto z = c.compress(h);
    ASSERT_TRUE(z);
    auto back = d.decompress(*z);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, h);
  }
}

TEST(CriSpdy, CompressedBlockNeedsTheDictionary) {
  // An independent inflater: plain zlib with the dictionary given on
  // Z_NEED_DICT. The stream header must name the SPDY/3 dictionary (its
  // adler32), else a real peer's inflate fails.
  spdy::HeaderCompressor c;
  auto z = c.compress({{"streamtype", "error"}});
  ASSERT_TRUE(z);
  z_stream s{};
  ASSERT_EQ(inflateInit(&s), Z_OK);
  std::string out(4096, '\0');
  s.next_in = reinterpret_cast<Bytef*>(z->data());
  s.avail_in = uInt(z->size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = uInt(out.size());
  ASSERT_EQ(inflate(&s, Z_SYNC_FLUSH), Z_NEED_DICT);
  EXPECT_EQ(s.adler, adler32(1, reinterpret_cast<const Bytef*>(spdy::dictionary().data()),
                             uInt(spdy::dictionary().size())));
  ASSERT_EQ(inflateSetDictionary(&s, reinterpret_cast<const Bytef*>(spdy::dictionary().data()),
                                 uInt(spdy::dictionary().size())),
            Z_OK);
  int rc = inflate(&s, Z_SYNC_FLUSH);
  EXPECT_TRUE(rc == Z_OK || rc == Z_BUF_ERROR);
  out.resize(out.size() - s.avail_out);
  inflateEnd(&s);
  EXPECT_EQ(out, spdy::encodeHeaderBlock({{"streamtype", "error"}}));
}

TEST(CriSpdy, ControlFramesHaveTheWireLayout) {
  EXPECT_EQ(spdy::encodePing(7), std::string("\x80\x03\x00\x06\x00\x00\x00\x04\x00\x00\x00\x07", 12));
  EXPECT_EQ(spdy::encodeRstStream(5, spdy::kRstRefusedStream),
            std::string("\x80\x03\x00\x03\x00\x00\x00\x08\x00\x00\x00\x05\x00\x00\x00\x03", 16));
  EXPECT_EQ(spdy::encodeGoAway(3, 0),
            std::string("\x80\x03\x00\x07\x00\x00\x00\x08\x00\x00\x00\x03\x00\x00\x00\x00", 16));
  EXPECT_EQ(spdy::encodeData(1, "hi", true), std::string("\x00\x00\x00\x01\x01\x00\x00\x02hi", 10));
}

TEST(CriSpdy, DecoderReassemblesFramesFedByteByByte) {
  spdy::HeaderCompressor c;
  std::string wire;
  wire += *spdy::encodeSynStream(c, 1, 0, 2, {{"streamtype", "stdin"}}, 0);
  wire += spdy::encodeData(1, "hello", false);
  wire += spdy::encodeData(1, "", true);
  wire += spdy::encodePing(9);
  wire += spdy::encodeWindowUpdate(1, 1000);
  wire += spdy::encodeSettings({{4, 100}});
  wire += *spdy::encodeSynReply(c, 3, {}, false);
  wire += spdy::encodeGoAway(3, 0);
  spdy::FrameDecoder d;
  std::vector<spdy::Frame> frames;
  for (char ch : wire) {
    d.feed(std::string_view(&ch, 1));
    for (;;) {
      auto f = d.next();
      ASSERT_TRUE(f) << f.error().message;
      if (!*f) break;
      frames.push_back(std::move(**f));
    }
  }
  ASSERT_EQ(frames.size(), 8u);
  EXPECT_EQ(frames[0].type, spdy::Type::SynStream);
  EXPECT_EQ(frames[0].streamId, 1u);
  EXPECT_EQ(frames[0].priority, 2);
  EXPECT_EQ(spdy::headerValue(frames[0].headers, "streamtype"), "stdin");
  EXPECT_EQ(frames[1].data, "hello");
  EXPECT_FALSE(frames[1].fin());
  EXPECT_TRUE(frames[2].fin());
  EXPECT_EQ(frames[3].pingId, 9u);
  EXPECT_EQ(frames[4].deltaWindow, 1000u);
  ASSERT_EQ(frames[5].settings.size(), 1u);
  EXPECT_EQ(frames[5].settings[0].second, 100u);
  EXPECT_EQ(frames[6].type, spdy::Type::SynReply);
  EXPECT_EQ(frames[6].streamId, 3u);
  EXPECT_EQ(frames[7].lastGoodStreamId, 3u);
}

TEST(CriSpdy, DecoderRejectsCorruptHeaderBlocksAndShortFrames) {
  spdy::FrameDecoder d;
  // SYN_STREAM with a 12-byte body whose "compressed" block is garbage.
  d.feed(std::string("\x80\x03\x00\x01\x00\x00\x00\x0c\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00zz", 20));
  EXPECT_FALSE(d.next());
  spdy::FrameDecoder d2;
  d2.feed(std::string("\x80\x03\x00\x06\x00\x00\x00\x02\x00\x00", 10));  // PING with 2 bytes
  EXPECT_FALSE(d2.next());
  spdy::FrameDecoder d3;  // another version: skipped, not an error
  d3.feed(std::string("\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01", 12));
  auto f = d3.next();
  ASSERT_TRUE(f);
  ASSERT_TRUE(*f);
  EXPECT_EQ((*f)->pingId, 0u);
}

// ---- WebSocket ---------------------------------------------------------

TEST(CriWebSocket, AcceptKeyMatchesRfc6455Example) {
  EXPECT_EQ(ws::acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(CriWebSocket, FramesRoundTripAtEveryLengthForm) {
  for (size_t n : {size_t(0), size_t(125), size_t(126), size_t(65535), size_t(65536)}) {
    std::string payload(n, 'x');
    if (n) payload[n - 1] = 'y';
    std::string f = ws::encodeFrame(ws::kBinary, payload, 0x01020304u);
    ws::Decoder d(true);
    d.feed(f);
    auto m = d.next();
    ASSERT_TRUE(m);
    ASSERT_TRUE(*m);
    EXPECT_EQ((*m)->opcode, ws::kBinary);
    EXPECT_EQ((*m)->payload, payload) << n;
  }
  // an unmasked server frame: 0x82, length, payload
  EXPECT_EQ(ws::encodeFrame(ws::kBinary, "\x01hi"), std::string("\x82\x03\x01hi", 5));
}

TEST(CriWebSocket, FragmentsJoinAndControlFramesInterleave) {
  std::string wire = ws::encodeFrame(ws::kText, "ab", 7u, false) + ws::encodeFrame(ws::kPing, "p", 7u) +
                     ws::encodeFrame(ws::kContinuation, "cd", 7u, true);
  ws::Decoder d(true);
  d.feed(wire);
  auto m1 = d.next();
  ASSERT_TRUE(m1 && *m1);
  EXPECT_EQ((*m1)->opcode, ws::kPing);
  auto m2 = d.next();
  ASSERT_TRUE(m2 && *m2);
  EXPECT_EQ((*m2)->opcode, ws::kText);
  EXPECT_EQ((*m2)->payload, "abcd");
}

TEST(CriWebSocket, ProtocolErrorsAreRefused) {
  ws::Decoder unmasked(true);
  unmasked.feed(ws::encodeFrame(ws::kBinary, "x"));
  EXPECT_FALSE(unmasked.next());
  ws::Decoder longPing(true);
  longPing.feed(ws::encodeFrame(ws::kPing, std::string(126, 'p'), 1u));
  EXPECT_FALSE(longPing.next());
  ws::Decoder orphan(true);
  orphan.feed(ws::encodeFrame(ws::kContinuation, "x", 1u));
  EXPECT_FALSE(orphan.next());
  ws::Decoder reserved(false);
  reserved.feed(std::string("\xc2\x00", 2));
  EXPECT_FALSE(reserved.next());
}

TEST(CriWebSocket, ChannelCodecs) {
  EXPECT_EQ(ws::encodeChannel(true, 1, "out"), std::string("\x01out", 4));
  EXPECT_EQ(ws::encodeChannel(false, 1, "foo\n"), "1Zm9vCg==");
  auto b = ws::decodeChannel(false, "0Zm9vCg==");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->channel, 0);
  EXPECT_EQ(b->data, "foo\n");
  EXPECT_FALSE(ws::decodeChannel(false, "0!!!"));
  EXPECT_FALSE(ws::decodeChannel(true, ""));
}

// ---- remotecommand -----------------------------------------------------

TEST(CriRemoteCommand, StatusDocuments) {
  EXPECT_EQ(statusDocument({}), R"({"metadata":{},"status":"Success"})");
  CommandResult r{CommandResult::ExitCode, 3, "error executing command [sh -c exit 3], exit code 3"};
  json j = json::parse(statusDocument(r));
  EXPECT_EQ(j["status"], "Failure");
  EXPECT_EQ(j["reason"], "NonZeroExitCode");
  EXPECT_EQ(j["details"]["causes"][0]["reason"], "ExitCode");
  EXPECT_EQ(j["details"]["causes"][0]["message"], "3");
  EXPECT_EQ(j["message"], "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3");
  EXPECT_EQ(exitCodeFromStatus(statusDocument(r)), 3);
  EXPECT_EQ(exitCodeFromStatus(statusDocument({})), 0);
  CommandResult bad{CommandResult::Internal, 0, "boom"};
  json k = json::parse(statusDocument(bad));
  EXPECT_EQ(k["reason"], "InternalError");
  EXPECT_EQ(k["code"], 500);
  EXPECT_EQ(exitCodeFromStatus(statusDocument(bad)), std::nullopt);
  EXPECT_EQ(exitCodeFromStatus("not json"), std::nullopt);
  EXPECT_EQ(legacyStatusText({}), "");
  EXPECT_EQ(legacyStatusText(bad), "Internal error occurred: boom");
}

TEST(CriRemoteCommand, NegotiationFollowsTheClientOrder) {
  auto client = splitProtocols({"v4.channel.k8s.io, v3.channel.k8s.io", "channel.k8s.io"});
  ASSERT_EQ(client.size(), 3u);
  EXPECT_EQ(negotiate(client, supportedRemoteCommandProtocols()), "v4.channel.k8s.io");
  EXPECT_EQ(negotiate({"v9.channel.k8s.io"}, supportedRemoteCommandProtocols()), "");
  EXPECT_EQ(protocolFromName("v5.channel.k8s.io"), Protocol::V5);
  EXPECT_EQ(negotiateWsRemoteCommand({})->name, "");
  EXPECT_TRUE(negotiateWsRemoteCommand({"v5.channel.k8s.io"})->closeSignal);
  EXPECT_FALSE(negotiateWsRemoteCommand({"base64.channel.k8s.io"})->binary);
  EXPECT_FALSE(negotiateWsRemoteCommand({"x"}));
  EXPECT_FALSE(negotiateWsPortForward({"v5.channel.k8s.io"}));
  EXPECT_TRUE(negotiateWsPortForward({"v4.channel.k8s.io"}));
}

TEST(CriRemoteCommand, ResizeStreamOfJsonObjects) {
  ResizeDecoder d;
  auto a = d.feed(R"({"Width":80,"Height":24})" "\n" R"({"width":1)");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].width, 80);
  EXPECT_EQ(a[0].height, 24);
  auto b = d.feed(R"(00,"height":50})");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].width, 100);
  EXPECT_EQ(b[0].height, 50);
  EXPECT_TRUE(d.feed("garbage").empty());
  EXPECT_TRUE(d.bad());
  EXPECT_TRUE(d.feed(R"({"Width":1,"Height":1})").empty());
}

// ---- HTTP head, token cache, stdcopy -----------------------------------

TEST(CriStreamingHttp, RequestHead) {
  std::string raw =
      "POST /portforward/abc?ports=80,443&ports=8080&x=%41 HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n"
      "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: a\r\nX-Stream-Protocol-Version: b\r\n\r\nrest";
  auto end = findHeadEnd(raw);
  ASSERT_TRUE(end);
  EXPECT_EQ(raw.substr(*end), "rest");
  auto h = parseRequestHead(std::string_view(raw).substr(0, *end));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->method, "POST");
  EXPECT_EQ(h->path, "/portforward/abc");
  EXPECT_EQ(h->queryValues("ports"), (std::vector<std::string>{"80,443", "8080"}));
  EXPECT_EQ(h->queryValues("x"), std::vector<std::string>{"A"});
  EXPECT_EQ(h->all("x-stream-protocol-version").size(), 2u);
  EXPECT_TRUE(h->upgradeTo("spdy/3.1"));
  EXPECT_FALSE(h->upgradeTo("websocket"));
  EXPECT_FALSE(parseRequestHead("GET\r\n\r\n"));
  EXPECT_FALSE(parseRequestHead("GET / HTTP/1.1\r\nno colon\r\n\r\n"));
  EXPECT_FALSE(findHeadEnd("GET / HTTP/1.1\r\n"));
}

TEST(CriStreamingCache, TokensAreSingleUseAndExpire) {
  auto now = std::chrono::steady_clock::now();
  RequestCache c(std::chrono::minutes(1), [&] { return now; });
  auto t = c.insert(ExecSpec{"c1", {"ls"}, false, false, true, false});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->size(), 11u);  // 8 random bytes, base64url without padding
  EXPECT_EQ(t->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  auto r = c.consume(*t);
  ASSERT_TRUE(r);
  EXPECT_EQ(std::get<ExecSpec>(*r).containerId, "c1");
  EXPECT_FALSE(c.consume(*t));
  auto t2 = c.insert(AttachSpec{"c2"});
  ASSERT_TRUE(t2);
  now += std::chrono::seconds(61);
  EXPECT_FALSE(c.consume(*t2));
  EXPECT_EQ(c.size(), 0u);
  for (size_t i = 0; i < RequestCache::kMaxInFlight; i++) ASSERT_TRUE(c.insert(PortForwardSpec{"p"}));
  auto over = c.insert(PortForwardSpec{"p"});
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Code::Unavailable);
  now += std::chrono::seconds(61);
  EXPECT_TRUE(c.insert(PortForwardSpec{"p"}));
}

TEST(CriStreamingDemux, SplitsFramesCutAnywhere) {
  std::string wire = std::string("\x01\0\0\0\0\0\0\x03out", 11) + std::string("\x02\0\0\0\0\0\0\x03" "err", 11);
  StdcopyDemuxer d;
  std::string out, err;
  for (char ch : wire)
    d.feed(
        std::string_view(&ch, 1), [&](std::string_view p) { out += p; return true; },
        [&](std::string_view p) { err += p; return true; });
  EXPECT_EQ(out, "out");
  EXPECT_EQ(err, "err");
}

// ---- whole sessions over loopback against a fake backend ---------------

namespace {

// exec: cmd[0] "echo" copies stdin to stdout until EOF and writes "E" to
// stderr; "exit N" returns N; "fail" errors; "resize" waits for a resize
// and prints WxH. attach prints "attached". dialPort connects on loopback.
class FakeBackend : public Backend {
 public:
  Result<int> exec(const ExecSpec& spec, CommandStreams& s) override {
    lastExec = spec;
    execs++;
    if (spec.cmd.at(0) == "fail") return makeError(Code::Internal, "no such binary");
    if (spec.cmd.at(0) == "exit") return *parseNumber<int>(spec.cmd.at(1));
    if (spec.cmd.at(0) == "block") {  // until release (stdin ending does not stop it)
      std::unique_lock lk(blockMu);
      blockCv.wait(lk, [&] { return released; });
      return 0;
    }
    if (spec.cmd.at(0) == "resize") {
      std::mutex mu;
      std::condition_variable cv;
      std::optional<TermSize> got;
      s.setResizeHandler([&](TermSize t) {
        std::lock_guard lk(mu);
        got = t;
        cv.notify_all();
      });
      std::unique_lock lk(mu);
      cv.wait_for(lk, std::chrono::seconds(5), [&] { return got.has_value(); });
      lk.unlock();
      s.setResizeHandler(nullptr);
      if (got) s.writeStdout(std::to_string(got->width) + "x" + std::to_string(got->height));
      return 0;
    }
    char buf[1024];
    ssize_t n;
    while ((n = s.readStdin(buf, sizeof buf)) > 0) s.writeStdout(std::string_view(buf, size_t(n)));
    s.writeStderr("E");
    return 0;
  }
  Result<> attach(const AttachSpec&, CommandStreams& s) override {
    s.writeStdout("attached");
    return {};
  }
  Result<UniqueFd> dialPort(const std::string&, int port) override { return dialInNetns("", port); }
  ExecSpec lastExec;
  std::atomic<int> execs{0};
  std::mutex blockMu;
  std::condition_variable blockCv;
  bool released = false;
  void release() {
    std::lock_guard lk(blockMu);
    released = true;
    blockCv.notify_all();
  }
};

UniqueFd connectTo(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  timeval tv{10, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

void sendAllTo(int fd, std::string_view b) {
  while (!b.empty()) {
    ssize_t n = ::send(fd, b.data(), b.size(), MSG_NOSIGNAL);
    ASSERT_GT(n, 0);
    b.remove_prefix(size_t(n));
  }
}

std::string pathOf(const std::string& url) { return url.substr(url.find('/', 7)); }

// Sends the request; returns (status line + headers, bytes after them).
std::pair<std::string, std::string> request(int fd, const std::string& head) {
  sendAllTo(fd, head);
  std::string buf;
  char tmp[4096];
  while (buf.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) break;
    buf.append(tmp, size_t(n));
  }
  size_t e = buf.find("\r\n\r\n");
  if (e == std::string::npos) return {buf, ""};
  return {buf.substr(0, e + 4), buf.substr(e + 4)};
}

// The client half of a SPDY session.
struct SpdyClient {
  UniqueFd fd;
  spdy::HeaderCompressor comp;
  spdy::FrameDecoder dec;
  std::map<uint32_t, std::string> data;
  std::map<uint32_t, bool> fin;
  std::set<uint32_t> replied;
  bool goaway = false;

  void open(uint32_t id, spdy::Headers h) { sendAllTo(fd.get(), *spdy::encodeSynStream(comp, id, 0, 0, h, 0)); }
  void send(uint32_t id, std::string_view d, bool f) { sendAllTo(fd.get(), spdy::encodeData(id, d, f)); }
  // Reads frames until pred() holds or the connection ends.
  bool pump(const std::function<bool()>& pred) {
    char buf[65536];
    while (!pred()) {
      ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
      if (n <= 0) return pred();
      dec.feed(std::string_view(buf, size_t(n)));
      for (;;) {
        auto f = dec.next();
        if (!f || !*f) break;
        auto& fr = **f;
        if (fr.type == spdy::Type::SynReply) replied.insert(fr.streamId);
        if (fr.type == spdy::Type::Data) {
          data[fr.streamId] += fr.data;
          if (fr.fin()) fin[fr.streamId] = true;
        }
        if (fr.type == spdy::Type::GoAway) goaway = true;
      }
    }
    return true;
  }
};

std::string spdyUpgrade(const std::string& path, const std::string& protocols) {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
         "X-Stream-Protocol-Version: " + protocols + "\r\n\r\n";
}

std::string wsUpgrade(const std::string& path, const std::string& protocol) {
  return "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
         "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
         (protocol.empty() ? "" : "Sec-WebSocket-Protocol: " + protocol + "\r\n") + "\r\n";
}

class CriStreamingServer : public ::testing::Test {
 protected:
  void SetUp() override {
    server = std::make_unique<Server>(ServerConfig{}, backend);
    ASSERT_TRUE(server->start());
  }
  FakeBackend backend;
  std::unique_ptr<Server> server;
};

}  // namespace

TEST_F(CriStreamingServer, ValidatesRequestsAsKubelet) {
  EXPECT_EQ(server->getExec(ExecSpec{"", {"ls"}, false, false, true, false}).error().message,
            "missing required container_id");
  EXPECT_EQ(server->getExec(ExecSpec{"c", {"ls"}, true, false, true, true}).error().message,
            "tty and stderr cannot both be true");
  EXPECT_EQ(server->getAttach(AttachSpec{"c"}).error().message, "one of stdin, stdout, and stderr must be set");
  EXPECT_EQ(server->getPortForward(PortForwardSpec{}).error().code, Code::InvalidArgument);
  auto url = server->getExec(ExecSpec{"c", {"ls"}, false, false, true, false});
  ASSERT_TRUE(url);
  EXPECT_EQ(url->rfind(server->baseUrl() + "/exec/", 0), 0u);
}

TEST_F(CriStreamingServer, UnknownTokensAndBadHandshakesAreRefused) {
  {
    UniqueFd fd = connectTo(server->port());
    auto [head, rest] = request(fd.get(), spdyUpgrade("/exec/nope", "v4.channel.k8s.io"));
    EXPECT_EQ(head.rfind("HTTP/1.1 404", 0), 0u) << head;
  }
  {
    auto url = server->getExec(ExecSpec{"c", {"ls"}, false, false, true, false});
    UniqueFd fd = connectTo(server->port());
    auto [head, rest] = request(fd.get(), spdyUpgrade(pathOf(*url), "v9.channel.k8s.io"));
    EXPECT_EQ(head.rfind("HTTP/1.1 403", 0), 0u) << head;
    EXPECT_NE(head.find("X-Accepted-Stream-Protocol-Versions: v5.channel.k8s.io"), std::string::npos);
    // the token is used up even by a failed handshake
    UniqueFd fd2 = connectTo(server->port());
    auto [head2, rest2] = request(fd2.get(), spdyUpgrade(pathOf(*url), "v4.channel.k8s.io"));
    EXPECT_EQ(head2.rfind("HTTP/1.1 404", 0), 0u) << head2;
  }
  {
    auto url = server->getAttach(AttachSpec{"c", false, false, true, false});
    UniqueFd fd = connectTo(server->port());
    auto [head, rest] = request(fd.get(), "GET " + pathOf(*url) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(head.rfind("HTTP/1.1 400", 0), 0u) << head;
  }
  {
    // an exec token on the attach path
    auto url = server->getExec(ExecSpec{"c", {"ls"}, false, false, true, false});
    std::string p = pathOf(*url);
    p.replace(0, 5, "/attach");
    UniqueFd fd = connectTo(server->port());
    auto [head, rest] = request(fd.get(), spdyUpgrade(p, "v4.channel.k8s.io"));
    EXPECT_EQ(head.rfind("HTTP/1.1 404", 0), 0u) << head;
  }
}

TEST_F(CriStreamingServer, SpdyExecStreamsStdinStdoutStderrAndStatus) {
  auto url = server->getExec(ExecSpec{"c1", {"echo"}, false, true, true, true});
  ASSERT_TRUE(url);
  SpdyClient c{connectTo(server->port())};
  auto [head, rest] = request(c.fd.get(), spdyUpgrade(pathOf(*url), "v4.channel.k8s.io, v3.channel.k8s.io"));
  ASSERT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
  EXPECT_NE(head.find("X-Stream-Protocol-Version: v4.channel.k8s.io"), std::string::npos);
  c.dec.feed(rest);
  c.open(1, {{"streamType", "error"}});
  c.open(3, {{"streamType", "stdin"}});
  c.open(5, {{"streamType", "stdout"}});
  c.open(7, {{"streamType", "stderr"}});
  ASSERT_TRUE(c.pump([&] { return c.replied.size() == 4; }));
  c.send(3, "hello ", false);
  c.send(3, "world", true);
  ASSERT_TRUE(c.pump([&] { return c.fin[1] && c.fin[5] && c.fin[7]; }));
  EXPECT_EQ(c.data[5], "hello world");
  EXPECT_EQ(c.data[7], "E");
  EXPECT_EQ(c.data[1], R"({"metadata":{},"status":"Success"})");
  ASSERT_TRUE(c.pump([&] { return c.goaway; }));
  EXPECT_EQ(backend.lastExec.containerId, "c1");
}

TEST_F(CriStreamingServer, SpdyExecReportsExitCodesAndErrors) {
  for (auto [cmd, want] : std::vector<std::pair<std::vector<std::string>, std::optional<int>>>{
           {{"exit", "3"}, 3}, {{"fail"}, std::nullopt}}) {
    auto url = server->getExec(ExecSpec{"c1", cmd, false, false, true, false});
    SpdyClient c{connectTo(server->port())};
    auto [head, rest] = request(c.fd.get(), spdyUpgrade(pathOf(*url), "v5.channel.k8s.io"));
    ASSERT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
    c.dec.feed(rest);
    c.open(1, {{"streamtype", "error"}});
    c.open(3, {{"streamtype", "stdout"}});
    ASSERT_TRUE(c.pump([&] { return c.fin[1]; }));
    EXPECT_EQ(exitCodeFromStatus(c.data[1]), want) << c.data[1];
    if (!want) EXPECT_NE(c.data[1].find("no such binary"), std::string::npos);
  }
  // v2: plain text errors, nothing on success
  auto url = server->getExec(ExecSpec{"c1", {"exit", "2"}, false, false, true, false});
  SpdyClient c{connectTo(server->port())};
  auto [head, rest] = request(c.fd.get(), spdyUpgrade(pathOf(*url), "v2.channel.k8s.io"));
  c.dec.feed(rest);
  c.open(1, {{"streamtype", "error"}});
  c.open(3, {{"streamtype", "stdout"}});
  ASSERT_TRUE(c.pump([&] { return c.fin[1]; }));
  EXPECT_EQ(c.data[1], "command terminated with non-zero exit code: error executing command [exit 2], exit code 2");
}

TEST_F(CriStreamingServer, SpdyTtyResizeReachesTheBackend) {
  auto url = server->getExec(ExecSpec{"c1", {"resize"}, true, true, true, false});
  SpdyClient c{connectTo(server->port())};
  auto [head, rest] = request(c.fd.get(), spdyUpgrade(pathOf(*url), "v4.channel.k8s.io"));
  c.dec.feed(rest);
  c.open(1, {{"streamtype", "error"}});
  c.open(3, {{"streamtype", "stdin"}});
  c.open(5, {{"streamtype", "stdout"}});
  c.open(7, {{"streamtype", "resize"}});
  ASSERT_TRUE(c.pump([&] { return c.replied.size() == 4; }));
  c.send(7, R"({"Width":120,"Height":40})", false);
  ASSERT_TRUE(c.pump([&] { return c.fin[5]; }));
  EXPECT_EQ(c.data[5], "120x40");
}

TEST_F(CriStreamingServer, SpdyPortForwardPairsStreamsByRequestId) {
  // a one-shot echo server on loopback
  UniqueFd lfd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(lfd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(lfd.get(), 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(lfd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  std::thread echo([&] {
    UniqueFd c(::accept(lfd.get(), nullptr, nullptr));
    char b[256];
    ssize_t n;
    while ((n = ::read(c.get(), b, sizeof b)) > 0) (void)!::write(c.get(), b, size_t(n));
  });
  auto url = server->getPortForward(PortForwardSpec{"pod1", {}});
  SpdyClient c{connectTo(server->port())};
  auto [head, rest] = request(c.fd.get(), spdyUpgrade(pathOf(*url), "portforward.k8s.io"));
  ASSERT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
  c.dec.feed(rest);
  std::string p = std::to_string(port);
  c.open(1, {{"streamtype", "error"}, {"port", p}, {"requestid", "0"}});
  c.open(3, {{"streamtype", "data"}, {"port", p}, {"requestid", "0"}});
  c.open(5, {{"streamtype", "data"}, {"port", "0"}, {"requestid", "1"}});  // refused: port 0
  ASSERT_TRUE(c.pump([&] { return c.replied.size() == 2; }));
  c.send(3, "ping", false);
  ASSERT_TRUE(c.pump([&] { return c.data[3] == "ping"; }));
  c.send(3, "", true);
  ASSERT_TRUE(c.pump([&] { return c.fin[3] && c.fin[1]; }));
  EXPECT_EQ(c.data[1], "");
  echo.join();
  // a port nothing listens on: the error stream says so
  lfd.reset();
  auto url2 = server->getPortForward(PortForwardSpec{"pod1", {}});
  SpdyClient c2{connectTo(server->port())};
  auto [head2, rest2] = request(c2.fd.get(), spdyUpgrade(pathOf(*url2), "portforward.k8s.io"));
  c2.dec.feed(rest2);
  c2.open(1, {{"streamtype", "error"}, {"port", p}, {"requestid", "7"}});
  c2.open(3, {{"streamtype", "data"}, {"port", p}, {"requestid", "7"}});
  ASSERT_TRUE(c2.pump([&] { return c2.fin[1]; }));
  json err = json::parse(c2.data[1]);
  EXPECT_TRUE(err["closeConnection"].get<bool>());
  EXPECT_NE(err["message"].get<std::string>().find("error forwarding port " + p + " to pod pod1"), std::string::npos);
}

namespace {

// Reads server messages until pred() holds or the connection closes.
struct WsClient {
  UniqueFd fd;
  ws::Decoder dec{false};
  std::vector<ws::Message> msgs;
  bool closed = false;
  void send(uint8_t opcode, std::string_view p) { sendAllTo(fd.get(), ws::encodeFrame(opcode, p, 0x11223344u)); }
  bool pump(const std::function<bool()>& pred) {
    char buf[65536];
    while (!pred()) {
      for (;;) {
        auto m = dec.next();
        if (!m || !*m) break;
        if ((*m)->opcode == ws::kClose) closed = true;
        msgs.push_back(std::move(**m));
      }
      if (pred()) return true;
      ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
      if (n <= 0) return pred();
      dec.feed(std::string_view(buf, size_t(n)));
    }
    return true;
  }
  std::string channel(uint8_t ch) const {
    std::string s;
    for (auto& m : msgs)
      if (m.opcode == ws::kBinary && !m.payload.empty() && uint8_t(m.payload[0]) == ch) s += m.payload.substr(1);
    return s;
  }
};

}  // namespace

TEST_F(CriStreamingServer, WebSocketV5ExecWithCloseSignal) {
  auto url = server->getExec(ExecSpec{"c1", {"echo"}, false, true, true, true});
  WsClient c{connectTo(server->port())};
  auto [head, rest] = request(c.fd.get(), wsUpgrade(pathOf(*url), "v5.channel.k8s.io"));
  ASSERT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
  EXPECT_NE(head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos);
  EXPECT_NE(head.find("Sec-WebSocket-Protocol: v5.channel.k8s.io"), std::string::npos);
  c.dec.feed(rest);
  // the first message: empty, on stdout (the lowest writable channel)
  ASSERT_TRUE(c.pump([&] { return !c.msgs.empty(); }));
  EXPECT_EQ(c.msgs[0].payload, std::string("\x01", 1));
  c.send(ws::kBinary, std::string("\x00" "abc", 4));
  c.send(ws::kBinary, std::string("\xff\x00", 2));  // close stdin
  ASSERT_TRUE(c.pump([&] { return c.closed; }));
  EXPECT_EQ(c.channel(1), "abc");
  EXPECT_EQ(c.channel(2), "E");
  EXPECT_EQ(exitCodeFromStatus(c.channel(3)), 0);
}

TEST_F(CriStreamingServer, WebSocketBase64AttachAndRefusedProtocol) {
  auto url = server->getAttach(AttachSpec{"c1", false, false, true, false});
  WsClient c{connectTo(server->port())};
  auto [head, rest] = request(c.fd.get(), wsUpgrade(pathOf(*url), "base64.channel.k8s.io"));
  ASSERT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
  c.dec.feed(rest);
  ASSERT_TRUE(c.pump([&] { return c.closed; }));
  std::string out;
  for (auto& m : c.msgs)
    if (m.opcode == ws::kText && !m.payload.empty() && m.payload[0] == '1')
      out += ws::decodeChannel(false, m.payload)->data;
  EXPECT_EQ(out, "attached");

  auto url2 = server->getAttach(AttachSpec{"c1", false, false, true, false});
  UniqueFd fd = connectTo(server->port());
  auto [head2, rest2] = request(fd.get(), wsUpgrade(pathOf(*url2), "v9.channel.k8s.io"));
  EXPECT_EQ(head2.rfind("HTTP/1.1 403", 0), 0u) << head2;
}

TEST_F(CriStreamingServer, WebSocketPortForwardAnnouncesPortsAndRelays) {
  UniqueFd lfd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(lfd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(lfd.get(), 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(lfd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  std::thread srv([&] {
    UniqueFd c(::accept(lfd.get(), nullptr, nullptr));
    char b[16];
    ssize_t n = ::read(c.get(), b, sizeof b);
    if (n > 0) (void)!::write(c.get(), "got:", 4), (void)!::write(c.get(), b, size_t(n));
  });
  auto url = server->getPortForward(PortForwardSpec{"pod1", {port}});
  WsClient c{connectTo(server->port())};
  auto [head, rest] = request(c.fd.get(), wsUpgrade(pathOf(*url), "v4.channel.k8s.io"));
  ASSERT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
  c.dec.feed(rest);
  ASSERT_TRUE(c.pump([&] { return c.msgs.size() >= 2; }));
  std::string le = {char(port & 0xff), char(port >> 8)};
  EXPECT_EQ(c.msgs[0].payload, std::string(1, '\0') + le);
  EXPECT_EQ(c.msgs[1].payload, std::string(1, '\1') + le);
  c.send(ws::kBinary, std::string("\x00" "hi", 3));
  ASSERT_TRUE(c.pump([&] { return c.closed; }));
  EXPECT_EQ(c.channel(0), le + "got:hi");
  srv.join();
}

TEST(CriStreamingServerLimits, SpdyStreamsNotOpenedInTimeCloseTheConnection) {
  FakeBackend backend;
  ServerConfig cfg;
  cfg.streamCreationTimeout = std::chrono::milliseconds(200);
  Server server(cfg, backend);
  ASSERT_TRUE(server.start());
  auto url = server.getExec(ExecSpec{"c1", {"echo"}, false, false, true, false});
  SpdyClient c{connectTo(server.port())};
  auto [head, rest] = request(c.fd.get(), spdyUpgrade(pathOf(*url), "v4.channel.k8s.io"));
  ASSERT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
  c.dec.feed(rest);
  c.open(1, {{"streamtype", "error"}});  // stdout never comes
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(c.pump([] { return false; }));  // ends when the server closes
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(backend.execs.load(), 0);
}

TEST(CriStreamingServerLimits, StopReportsSessionsThatOutliveTheGrace) {
  FakeBackend backend;
  Server server(ServerConfig{}, backend);
  ASSERT_TRUE(server.start());
  auto url = server.getExec(ExecSpec{"c1", {"block"}, false, false, true, false});
  SpdyClient c{connectTo(server.port())};
  auto [head, rest] = request(c.fd.get(), spdyUpgrade(pathOf(*url), "v4.channel.k8s.io"));
  c.dec.feed(rest);
  c.open(1, {{"streamtype", "error"}});
  c.open(3, {{"streamtype", "stdout"}});
  ASSERT_TRUE(c.pump([&] { return c.replied.size() == 2; }));
  for (int i = 0; i < 200 && backend.execs.load() == 0; i++) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(backend.execs.load(), 1);
  EXPECT_FALSE(server.stop(std::chrono::milliseconds(100)));
  backend.release();
  EXPECT_TRUE(server.stop(std::chrono::milliseconds(5000)));
}
