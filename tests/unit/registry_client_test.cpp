// registry::Client against a tiny HTTP server on 127.0.0.1 (port 0) that
// misbehaves on purpose: a blob download cut short is retried and resumed
// with Range; a server that ignores Range still yields the right bytes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <curl/curl.h>
#include <gtest/gtest.h>

#include "common/sha256.h"
#include "registry/client.h"

using namespace berth;

namespace {

class FlakyServer {
 public:
  // honourRange=false: always answer 200 with the whole blob.
  FlakyServer(std::string blob, bool honourRange) : blob_(std::move(blob)), honourRange_(honourRange) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~FlakyServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  int blobRequests() const { return blobRequests_; }
  std::vector<std::string> ranges;

 private:
  void loop() {
    while (!stop_) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      handle(c);
      ::close(c);
    }
  }
  void send(int c, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::write(c, s.data() + off, s.size() - off);
      if (n <= 0) return;
      off += size_t(n);
    }
  }
  void handle(int c) {
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return;
      req.append(buf, size_t(n));
    }
    if (req.rfind("GET /v2/ ", 0) == 0) {
      send(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
      return;
    }
    int k = blobRequests_++;
    size_t from = 0;
    if (auto r = req.find("Range: bytes="); r != std::string::npos) {
      ranges.push_back(req.substr(r + 13, req.find("\r\n", r) - r - 13));
      from = std::stoul(ranges.back());
    }
    if (k == 0) {
      // Promise everything, send a third, hang up.
      send(c, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(blob_.size()) + "\r\nConnection: close\r\n\r\n" +
                  blob_.substr(0, blob_.size() / 3));
      return;
    }
    if (honourRange_ && from > 0) {
      send(c, "HTTP/1.1 206 Partial Content\r\nContent-Length: " + std::to_string(blob_.size() - from) +
                  "\r\nConnection: close\r\n\r\n" + blob_.substr(from));
    } else {
      send(c, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(blob_.size()) + "\r\nConnection: close\r\n\r\n" +
                  blob_);
    }
  }
  std::string blob_;
  bool honourRange_;
  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> blobRequests_{0};
  std::thread thread_;
};

std::string testBlob() {
  std::string b;
  for (uint64_t i = 0; i < 300000; i++) b += char('a' + (i * 7919) % 26);
  return b;
}

void fetch(FlakyServer& srv, const std::string& blob) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::string domain = "127.0.0.1:" + std::to_string(srv.port());
  registry::Client client(domain, {}, true, "http://" + domain);
  std::string got;
  int64_t lastProgress = 0;
  auto r = client.getBlob(
      "x/y", sha256Digest(blob),
      [&](const char* d, size_t n) -> Result<> {
        got.append(d, n);
        return {};
      },
      [&](int64_t cur) { lastProgress = cur; });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(got.size(), blob.size());
  EXPECT_TRUE(got == blob);
  EXPECT_EQ(lastProgress, int64_t(blob.size()));
  EXPECT_EQ(srv.blobRequests(), 2);
}

}  // namespace

TEST(RegistryClient, CutDownloadIsResumedWithRange) {
  std::string blob = testBlob();
  FlakyServer srv(blob, true);
  fetch(srv, blob);
  ASSERT_EQ(srv.ranges.size(), 1u);
  EXPECT_EQ(srv.ranges[0], std::to_string(blob.size() / 3) + "-");
}

TEST(RegistryClient, ServerIgnoringRangeStillGivesTheRightBytes) {
  std::string blob = testBlob();
  FlakyServer srv(blob, false);
  fetch(srv, blob);
}
