// The HTTP server over a real unix socket in a temp dir: version prefixes,
// chunked request bodies, streamed responses, hijack, errors.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "api/server.h"
#include "common/trace.h"
#include "common/util.h"

using namespace berth;
using namespace berth::api;

namespace {

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bsrv-XXXXXX";
    dir_ = mkdtemp(tmpl);
    sock_ = dir_ + "/s.sock";
    router_.add("GET", "/echo", [](Request& req, ResponseWriter& res) {
      res.json(200, {{"path", req.path}, {"version", req.apiVersion}, {"a", req.qAll("a")}, {"f", req.q("f")}});
    });
    router_.add("POST", "/body", [](Request& req, ResponseWriter& res) {
      auto j = req.jsonBody();
      if (!j) return res.error(j.error());
      res.json(201, {{"got", *j}});
    });
    router_.add("GET", "/stream", [](Request&, ResponseWriter& res) {
      auto s = res.stream(200, "application/json");
      s->writeJsonLine({{"n", 1}});
      s->writeJsonLine({{"n", 2}});
    });
    router_.add("POST", "/hijack", [](Request&, ResponseWriter& res) {
      auto raw = res.hijack();
      char buf[64];
      ssize_t n = raw->read(buf, sizeof buf);
      raw->write("echo:" + std::string(buf, n > 0 ? size_t(n) : 0));
      raw->close();
    });
    server_ = std::make_unique<Server>(router_, limits());
    ASSERT_TRUE(server_->listenUnix(sock_));
    thread_ = std::thread([this] { server_->run(); });
  }
  virtual ServerLimits limits() const { return {}; }
  int connectRaw() {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    strcpy(a.sun_path, sock_.c_str());
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
  }
  void TearDown() override {
    server_->stop();
    thread_.join();
    (void)removeAll(dir_);
  }
  // Sends raw bytes, returns everything until the server closes or `until` is seen.
  std::string roundTrip(const std::string& req, const std::string& until = "") {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    strcpy(a.sun_path, sock_.c_str());
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    (void)!send(fd, req.data(), req.size(), MSG_NOSIGNAL);  // the server may answer and close early
    std::string out;
    char buf[4096];
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, size_t(n));
      if (!until.empty() && out.find(until) != std::string::npos) break;
    }
    close(fd);
    return out;
  }
  std::string dir_, sock_;
  Router router_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

}  // namespace

TEST_F(ServerTest, VersionPrefixAndQuery) {
  auto r = roundTrip("GET /v1.41/echo?a=1&a=2&f=%7B%22x%22%3A1%7D+y HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(r.find("Api-Version: 1.50"), std::string::npos);  // berthd's newest, whatever the request's
  EXPECT_NE(r.find(R"("version":"1.41")"), std::string::npos);
  EXPECT_NE(r.find(R"("a":["1","2"])"), std::string::npos);
  EXPECT_NE(r.find(R"("f":"{\"x\":1} y")"), std::string::npos);
  auto plain = roundTrip("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(plain.find(R"("path":"/echo")"), std::string::npos);
}

TEST_F(ServerTest, TooNewVersionAndUnknownRoute) {
  auto r = roundTrip("GET /v1.51/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(r.find("400 Bad Request"), std::string::npos);
  EXPECT_NE(r.find("client version 1.51 is too new. Maximum supported API version is 1.50"), std::string::npos);
  auto ok = roundTrip("GET /v1.50/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(ok.find("HTTP/1.1 200 OK"), std::string::npos);
  auto nf = roundTrip("GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(nf.find("404 Not Found"), std::string::npos);
  EXPECT_NE(nf.find(R"({"message":"page not found"})"), std::string::npos);
}

// A %00 in the path or the query is refused with 400 before any handler
// sees it (a C path would be cut at the NUL: archive?path=/etc%00/x would
// read /etc); the connection keeps serving.
TEST_F(ServerTest, NulInPathOrQueryIs400) {
  auto r = roundTrip(
      "GET /v1.41/echo?f=/etc%00/passwd HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /echo%00x HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /echo?a%00=1 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /echo?f=ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  size_t n = 0;
  for (size_t p = r.find("400 Bad Request"); p != std::string::npos; p = r.find("400 Bad Request", p + 1)) n++;
  EXPECT_EQ(n, 3u) << r;
  EXPECT_NE(r.find("holds a NUL byte"), std::string::npos) << r;
  EXPECT_NE(r.find(R"("f":"ok")"), std::string::npos) << r;
}

TEST_F(ServerTest, ChunkedBodyAndMalformedJson) {
  auto r = roundTrip(
      "POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "4\r\n{\"k\"\r\n4\r\n:42}\r\n0\r\n\r\n");
  EXPECT_NE(r.find("201 Created"), std::string::npos);
  EXPECT_NE(r.find(R"({"got":{"k":42}})"), std::string::npos) << r;
  auto bad = roundTrip("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{bad!");
  EXPECT_NE(bad.find("400 Bad Request"), std::string::npos) << bad;
  EXPECT_NE(bad.find("\"message\":\"invalid JSON"), std::string::npos);
}

TEST_F(ServerTest, KeepAliveServesSeveralRequests) {
  auto r = roundTrip(
      "HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\nGET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  size_t first = r.find("HTTP/1.1 200");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(r.find("HTTP/1.1 200", first + 1), std::string::npos);
}

TEST_F(ServerTest, StreamIsChunkedPerMessage) {
  auto r = roundTrip("GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(r.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(r.find("8\r\n{\"n\":1}\n\r\n8\r\n{\"n\":2}\n\r\n0\r\n\r\n"), std::string::npos);
}

TEST_F(ServerTest, HijackKeepsBytesSentWithTheHeaders) {
  // Stdin bytes may arrive in the same packet as the request head.
  auto r = roundTrip(
      "POST /hijack HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\nhello",
      "echo:hello");
  EXPECT_NE(r.find("HTTP/1.1 101 UPGRADED"), std::string::npos) << r;
  EXPECT_NE(r.find("Content-Type: application/vnd.docker.raw-stream"), std::string::npos);
  EXPECT_NE(r.find("echo:hello"), std::string::npos);
}

// The probe's crash: one header value of 65,535 bytes made Beast throw
// std::length_error out of the connection thread.
TEST_F(ServerTest, HugeHeaderFieldIs431AndServerStaysUp) {
  auto r = roundTrip("GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(65535, 'a') + "\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 431 Request Header Fields Too Large"), std::string::npos) << r.substr(0, 200);
  auto more = roundTrip("GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2 << 20, 'a') + "\r\n\r\n");
  EXPECT_NE(more.find("HTTP/1.1 431"), std::string::npos) << more.substr(0, 200);
  auto ok = roundTrip("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(ok.find("HTTP/1.1 200 OK"), std::string::npos);
}

TEST_F(ServerTest, LongPathIs414) {
  auto r = roundTrip("GET /containers/" + std::string(32000, 'a') + "/json HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 414 URI Too Long"), std::string::npos) << r.substr(0, 200);
}

TEST_F(ServerTest, GarbageIs400) {
  auto r = roundTrip("NOT HTTP AT ALL\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 400 Bad Request"), std::string::npos) << r;
}

class LimitedServerTest : public ServerTest {
 protected:
  ServerLimits limits() const override {
    ServerLimits l;
    l.maxHeaderBytes = 4096;
    l.maxJsonBodyBytes = 100;
    l.headerTimeoutMs = 300;
    l.idleTimeoutMs = 300;
    l.maxConnections = 3;
    return l;
  }
};

TEST_F(LimitedServerTest, HeaderAndJsonBodyCaps) {
  auto r = roundTrip("GET /echo HTTP/1.1\r\nHost: x\r\nX-A: " + std::string(5000, 'a') + "\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 431"), std::string::npos) << r.substr(0, 200);
  EXPECT_NE(r.find("the limit is 4096 bytes"), std::string::npos);
  std::string body = "{\"k\":\"" + std::string(200, 'x') + "\"}";
  auto big = roundTrip("POST /body HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_NE(big.find("HTTP/1.1 400"), std::string::npos) << big;
  EXPECT_NE(big.find("at most 100 bytes"), std::string::npos) << big;
}

TEST_F(LimitedServerTest, SlowHeaderAndIdleConnectionsAreClosed) {
  // A head that never ends: closed after the header timeout.
  int slow = connectRaw();
  std::string partial = "GET /echo HTTP/1.1\r\nX-";
  ASSERT_EQ(send(slow, partial.data(), partial.size(), MSG_NOSIGNAL), ssize_t(partial.size()));
  char buf[256];
  timeval tv{5, 0};
  setsockopt(slow, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(read(slow, buf, sizeof buf), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  close(slow);
  // A connection that sends nothing: closed after the idle timeout.
  int idle = connectRaw();
  setsockopt(idle, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  EXPECT_EQ(read(idle, buf, sizeof buf), 0);
  close(idle);
}

TEST_F(LimitedServerTest, HijackedStreamsOutliveTheTimeouts) {
  int fd = connectRaw();
  std::string req = "POST /hijack HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n";
  ASSERT_EQ(send(fd, req.data(), req.size(), MSG_NOSIGNAL), ssize_t(req.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(900));  // three idle/header timeouts
  ASSERT_EQ(send(fd, "late", 4, MSG_NOSIGNAL), 4);
  std::string out;
  char buf[512];
  timeval tv{3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, size_t(n));
  close(fd);
  EXPECT_NE(out.find("echo:late"), std::string::npos) << out;
}

TEST_F(LimitedServerTest, ConnectionsPastTheCapAre503) {
  std::vector<int> held;
  for (int i = 0; i < 3; i++) held.push_back(connectRaw());
  for (int i = 0; i < 50 && server_->openConnections() < 3; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto r = roundTrip("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 503 Service Unavailable"), std::string::npos) << r;
  EXPECT_NE(r.find("too many connections"), std::string::npos);
  for (int fd : held) close(fd);
  for (int i = 0; i < 100 && server_->openConnections() > 0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto ok = roundTrip("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(ok.find("HTTP/1.1 200 OK"), std::string::npos);
}

namespace {

// The API server's spans of the start timeline (docs/trace.md): per
// request, from its first byte to its response head, under the container
// id the request is about; a request without one (the ping) waits on its
// connection for the next that has one.
class TracedServerTest : public ServerTest {
 protected:
  static constexpr const char* kId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  void SetUp() override {
    trace::enable("berthd");
    router_.add("GET", "/_ping", [](Request&, ResponseWriter& res) { res.text(200, "OK", "text/plain"); });
    router_.add("POST", "/containers/create", [](Request& req, ResponseWriter& res) {
      req.traceKey = kId;  // as the create handler does with the new id
      res.json(201, {{"Id", kId}});
    });
    router_.add("POST", "/containers/([^/]+)/start", [](Request&, ResponseWriter& res) { res.empty(204); });
    ServerTest::SetUp();
  }
  void TearDown() override {
    ServerTest::TearDown();
    trace::disable();
  }
  // The spans under key once there are at least n (they are recorded just
  // after the head is written, so a client may read it first).
  std::vector<trace::Span> spansOf(const std::string& key, size_t n) {
    for (int i = 0; i < 200 && trace::peek(key).size() < n; i++)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return trace::take(key);
  }
  static std::vector<std::string> names(const std::vector<trace::Span>& spans) {
    std::vector<std::string> out;
    for (auto& s : spans) out.push_back(s.name);
    return out;
  }
};

}  // namespace

TEST_F(TracedServerTest, RequestSpansGoUnderTheContainerId) {
  auto r = roundTrip(
      "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /v1.50/containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
      "POST /v1.50/containers/" + std::string(kId) + "/start HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      "204 No Content");
  ASSERT_NE(r.find("204 No Content"), std::string::npos) << r;
  auto spans = spansOf(kId, 5);
  EXPECT_EQ(names(spans), (std::vector<std::string>{"api: connection, accept to thread",
                                                    "api: connection, thread to first byte", "api: GET /_ping",
                                                    "api: POST /containers/create",
                                                    "api: POST /containers/{id}/start"}));
  for (size_t i = 0; i < spans.size(); i++) {
    EXPECT_EQ(spans[i].process, "berthd");
    EXPECT_LE(spans[i].start, spans[i].end);
    if (i > 0) EXPECT_LE(spans[i - 1].start, spans[i].start) << spans[i].name;
  }
}

// A route's {id} that is not a full id (a name) keys nothing: keys are hex
// ids (trace::parseLines refuses others), and unkeyed spans are dropped with
// their connection.
TEST_F(TracedServerTest, NamesAndUnkeyedRequestsRecordNothing) {
  auto r = roundTrip("POST /containers/web/start HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "204 No Content");
  ASSERT_NE(r.find("204 No Content"), std::string::npos) << r;
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(trace::peek("web").empty());
  EXPECT_TRUE(trace::peek("").empty());
}

TEST_F(ServerTest, NoSpansWhileTracingIsOff) {
  auto r = roundTrip("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_NE(r.find("200 OK"), std::string::npos);
  EXPECT_FALSE(trace::on());
  EXPECT_TRUE(trace::peek("").empty());
}
