// registry::Client against a fake registry on 127.0.0.1 (port 0): an
// identity token is exchanged for an access token with the OAuth2
// refresh-token grant (POST to the realm), and setApiPath moves every
// request under a hosts.toml entry's API root.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <curl/curl.h>
#include <gtest/gtest.h>

#include "common/sha256.h"
#include "registry/client.h"

using namespace berth;

namespace {

// Serves /<root>/ (401 with a bearer challenge), POST /token (refresh-token
// grant: refresh_token=good-id -> access token "T1"), and
// /<root>/a/b/manifests/1 for "Bearer T1" only. Records request lines.
class TokenRegistry {
 public:
  explicit TokenRegistry(std::string root) : root_(std::move(root)) {
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
  ~TokenRegistry() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> lines() {
    std::lock_guard lk(mu_);
    return lines_;
  }
  std::string tokenBody() {
    std::lock_guard lk(mu_);
    return tokenBody_;
  }
  static std::string manifest() { return R"({"schemaVersion":2})"; }

 private:
  void loop() {
    for (;;) {
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
  void reply(int c, int code, const std::string& body, const std::string& extra = "") {
    send(c, "HTTP/1.1 " + std::to_string(code) + " X\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\nContent-Type: application/json\r\nConnection: close\r\n" + extra + "\r\n" + body);
  }
  void handle(int c) {
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return;
      req.append(buf, size_t(n));
    }
    std::string head = req.substr(0, req.find("\r\n\r\n"));
    std::string body = req.substr(req.find("\r\n\r\n") + 4);
    if (auto cl = head.find("Content-Length: "); cl != std::string::npos) {
      size_t want = std::stoul(head.substr(cl + 16));
      while (body.size() < want) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        body.append(buf, size_t(n));
      }
    }
    std::string line = head.substr(0, head.find("\r\n"));
    {
      std::lock_guard lk(mu_);
      lines_.push_back(line);
    }
    const std::string challenge = "WWW-Authenticate: Bearer realm=\"http://" + addr() +
                                  "/token\",service=\"fake\"\r\n";
    if (line == "GET " + root_ + "/ HTTP/1.1") return reply(c, 401, "{}", challenge);
    if (line == "POST /token HTTP/1.1") {
      {
        std::lock_guard lk(mu_);
        tokenBody_ = body;
      }
      if (body.find("grant_type=refresh_token") != std::string::npos &&
          body.find("refresh_token=good-id") != std::string::npos)
        return reply(c, 200, R"({"access_token":"T1","expires_in":300})");
      return reply(c, 401, R"({"errors":[{"code":"UNAUTHORIZED","message":"bad refresh token"}]})");
    }
    if (line == "GET " + root_ + "/a/b/manifests/1 HTTP/1.1") {
      if (head.find("Authorization: Bearer T1") == std::string::npos) return reply(c, 401, "{}", challenge);
      return reply(c, 200, manifest(), "Docker-Content-Digest: " + sha256Digest(manifest()) + "\r\n");
    }
    reply(c, 404, R"({"errors":[{"code":"NAME_UNKNOWN","message":"nope"}]})");
  }
  std::string root_;
  int fd_ = -1, port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> lines_;
  std::string tokenBody_;
};

}  // namespace

TEST(RegistryClientAuth, IdentityTokenIsARefreshToken) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  TokenRegistry reg("/v2");
  registry::Credentials creds;
  creds.identityToken = "good-id";
  registry::Client client(reg.addr(), creds, true, "http://" + reg.addr());
  auto m = client.getManifest("a/b", "1");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->body, TokenRegistry::manifest());
  std::string form = reg.tokenBody();
  EXPECT_NE(form.find("grant_type=refresh_token"), std::string::npos) << form;
  EXPECT_NE(form.find("service=fake"), std::string::npos) << form;
  EXPECT_NE(form.find("scope=repository%3Aa%2Fb%3Apull"), std::string::npos) << form;

  creds.identityToken = "stale-id";
  registry::Client bad(reg.addr(), creds, true, "http://" + reg.addr());
  auto r = bad.getManifest("a/b", "1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::PermissionDenied);
  EXPECT_NE(r.error().message.find("bad refresh token"), std::string::npos) << r.error().message;
}

TEST(RegistryClientAuth, ApiPathMovesEveryRequest) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  TokenRegistry reg("/mirror/k8s");
  registry::Credentials creds;
  creds.identityToken = "good-id";
  registry::Client client(reg.addr(), creds, true, "http://" + reg.addr());
  client.setApiPath("/mirror/k8s");
  auto m = client.getManifest("a/b", "1");
  ASSERT_TRUE(m) << m.error().message;
  for (auto& l : reg.lines())
    EXPECT_TRUE(l.rfind("GET /mirror/k8s/", 0) == 0 || l.rfind("POST /token", 0) == 0) << l;
  // An unreadable CA file is an error, before any request.
  EXPECT_FALSE(client.addCaFiles({"/nonexistent/ca.pem"}));
}
