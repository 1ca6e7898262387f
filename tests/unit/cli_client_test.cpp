// The CLI's HTTP client against a canned server on a temp unix socket.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "cli/client.h"

namespace berth::cli {
namespace {

// Serves one connection: records the request head (and body bytes until the
// client half-closes when `untilEof`), replies with `reply`.
class OneShotServer {
 public:
  OneShotServer(std::string reply, bool untilEof = false) {
    char tmpl[] = "/tmp/berth-cli-test.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/s.sock";
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path_.c_str());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ::listen(fd_, 4);
    th_ = std::thread([this, reply, untilEof] {
      int c = ::accept(fd_, nullptr, nullptr);
      char buf[4096];
      while (request_.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        request_.append(buf, size_t(n));
      }
      ::write(c, reply.data(), reply.size());
      if (untilEof)
        for (;;) {
          ssize_t n = ::read(c, buf, sizeof buf);
          if (n <= 0) break;
          request_.append(buf, size_t(n));
        }
      ::close(c);
    });
  }
  ~OneShotServer() {
    if (th_.joinable()) th_.join();
    ::close(fd_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string host() const { return "unix://" + path_; }
  std::string request() {
    if (th_.joinable()) th_.join();
    return request_;
  }

 private:
  std::string dir_, path_, request_;
  int fd_ = -1;
  std::thread th_;
};

TEST(CliClient, ChunkedJsonResponse) {
  OneShotServer srv(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\n[1,2,\r\n2\r\n3]\r\n0\r\n\r\n");
  auto c = Client::create(srv.host());
  ASSERT_TRUE(c);
  auto r = c->call("GET", "/containers/json?all=1");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "[1,2,3]");
  std::string req = srv.request();
  EXPECT_EQ(req.substr(0, req.find("\r\n")), "GET /v1.41/containers/json?all=1 HTTP/1.1");
  EXPECT_NE(req.find("Host: api.moby.localhost\r\n"), std::string::npos);
}

TEST(CliClient, ErrorStatusBecomesDaemonError) {
  OneShotServer srv(
      "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: 28\r\n\r\n"
      "{\"message\":\"name is in use\"}");
  auto c = Client::create(srv.host());
  ASSERT_TRUE(c);
  auto r = c->callOk("POST", "/containers/create", "{}");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::Conflict);
  EXPECT_EQ(r.error().message, "Error response from daemon: name is in use");
  std::string req = srv.request();
  EXPECT_NE(req.find("Content-Type: application/json\r\nContent-Length: 2\r\n"), std::string::npos);
}

TEST(CliClient, StreamReadsLinesIncrementally) {
  OneShotServer srv(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "c\r\n{\"a\":1}\n{\"b\"\r\n4\r\n:2}\n\r\n0\r\n\r\n");
  auto c = Client::create(srv.host());
  auto s = c->stream("POST", "/images/create?fromImage=x&tag=y");
  ASSERT_TRUE(s);
  auto& conn = *s->first;
  EXPECT_EQ(**conn.readBodyLine(), "{\"a\":1}");
  EXPECT_EQ(**conn.readBodyLine(), "{\"b\":2}");
  EXPECT_FALSE(*conn.readBodyLine());
}

TEST(CliClient, HijackExpects101ThenRawBothWays) {
  std::string frames = std::string("\x01\0\0\0\0\0\0\x03", 8) + "hi\n";
  OneShotServer srv(
      "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\n"
      "Upgrade: tcp\r\n\r\n" + frames,
      /*untilEof=*/true);
  auto c = Client::create(srv.host());
  auto h = c->hijack("POST", "/containers/x/attach?stdin=1&stream=1");
  ASSERT_TRUE(h) << h.error().message;
  ASSERT_TRUE((*h)->writeAll("input"));
  (*h)->closeWrite();
  std::string got;
  char buf[64];
  for (;;) {
    auto n = (*h)->readRaw(buf, sizeof buf);
    ASSERT_TRUE(n);
    if (*n == 0) break;
    got.append(buf, *n);
  }
  EXPECT_EQ(got, frames);
  std::string req = srv.request();
  EXPECT_NE(req.find("Connection: Upgrade\r\nUpgrade: tcp\r\n"), std::string::npos);
  EXPECT_EQ(req.substr(req.size() - 5), "input");
}

TEST(CliClient, ConnectFailureMessage) {
  auto c = Client::create("unix:///nonexistent/berth.sock");
  ASSERT_TRUE(c);
  auto r = c->call("GET", "/version");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::Unavailable);
  EXPECT_EQ(r.error().message,
            "Cannot connect to the berth daemon at unix:///nonexistent/berth.sock. Is the berth daemon running?");
  EXPECT_FALSE(Client::create("ftp://host"));
  EXPECT_TRUE(Client::create("ssh://host"));  // ssh runs only when a request dials
  // tcp:// is served now (plain here); port 9 on loopback has no listener
  auto tcp = Client::create("tcp://127.0.0.1:9");
  ASSERT_TRUE(tcp);
  auto tr = tcp->call("GET", "/version");
  ASSERT_FALSE(tr);
  EXPECT_EQ(tr.error().code, Code::Unavailable);
  EXPECT_EQ(tr.error().message, "Cannot connect to the berth daemon at tcp://127.0.0.1:9. Is the berth daemon running?");
}

}  // namespace
}  // namespace berth::cli
