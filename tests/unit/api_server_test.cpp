// The HTTP server over a real unix socket in a temp dir: version prefixes,
// chunked request bodies, streamed responses, hijack, errors.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <thread>

#include "api/server.h"
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
    server_ = std::make_unique<Server>(router_);
    ASSERT_TRUE(server_->listenUnix(sock_));
    thread_ = std::thread([this] { server_->run(); });
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
    EXPECT_EQ(write(fd, req.data(), req.size()), ssize_t(req.size()));
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
  EXPECT_NE(r.find("Api-Version: 1.41"), std::string::npos);
  EXPECT_NE(r.find(R"("version":"1.41")"), std::string::npos);
  EXPECT_NE(r.find(R"("a":["1","2"])"), std::string::npos);
  EXPECT_NE(r.find(R"("f":"{\"x\":1} y")"), std::string::npos);
  auto plain = roundTrip("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(plain.find(R"("path":"/echo")"), std::string::npos);
}

TEST_F(ServerTest, TooNewVersionAndUnknownRoute) {
  auto r = roundTrip("GET /v1.50/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(r.find("400 Bad Request"), std::string::npos);
  EXPECT_NE(r.find("client version 1.50 is too new. Maximum supported API version is 1.41"), std::string::npos);
  auto nf = roundTrip("GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(nf.find("404 Not Found"), std::string::npos);
  EXPECT_NE(nf.find(R"({"message":"page not found"})"), std::string::npos);
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
