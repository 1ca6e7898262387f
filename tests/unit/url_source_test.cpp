// image::openUrl over loopback (a one-shot HTTP server thread) and the lazy
// libcurl loader under it.

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "common/fd.h"
#include "fake_http.h"
#include "image/service.h"
#include "image/url_source.h"
#include "store/database.h"

using namespace berth;

namespace {

// Listens on 127.0.0.1:<ephemeral>, answers one request with `response`.
class OneShotServer {
 public:
  explicit OneShotServer(std::string response) : response_(std::move(response)) {
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_.get(), 1), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      UniqueFd c(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!c) return;
      char buf[4096];
      std::string req;
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c.get(), buf, sizeof buf);
        if (n <= 0) return;
        req.append(buf, size_t(n));
      }
      size_t off = 0;
      while (off < response_.size()) {
        ssize_t n = ::write(c.get(), response_.data() + off, response_.size() - off);
        if (n <= 0) return;
        off += size_t(n);
      }
    });
  }
  ~OneShotServer() {
    ::shutdown(fd_.get(), SHUT_RDWR);
    thread_.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

 private:
  std::string response_;
  UniqueFd fd_;
  int port_ = 0;
  std::thread thread_;
};

std::string readAll(BodyReader& r) {
  std::string out;
  char buf[1000];
  for (;;) {
    auto n = r.read(buf, sizeof buf);
    EXPECT_TRUE(n) << n.error().message;
    if (!n || *n == 0) return out;
    out.append(buf, *n);
  }
}

}  // namespace

TEST(CurlLazy, LoadsLibcurlOnFirstUse) {
  CURL* c = curl_easy_init();
  ASSERT_NE(c, nullptr);
  EXPECT_STREQ(curl_easy_strerror(CURLE_OK), "No error");
  curl_easy_cleanup(c);
}

TEST(UrlSource, StreamsTheWholeBody) {
  std::string body;
  for (int i = 0; i < 20000; i++) body += std::to_string(i) + ",";
  OneShotServer srv("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nConnection: close\r\n\r\n" + body);
  auto r = image::openUrl(srv.url("/x.tar"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(readAll(**r), body);
}

TEST(UrlSource, HttpErrorStatusIsAnError) {
  OneShotServer srv("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found");
  auto r = image::openUrl(srv.url("/missing.tar"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "failed to GET " + srv.url("/missing.tar") + " with status 404 Not Found");
}

TEST(UrlSource, TruncatedBodyIsAnError) {
  OneShotServer srv("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\nonly a little");
  // A short body can end before openUrl returns: the error comes from there
  // or from a later read, never as a clean end of the body.
  std::string msg;
  if (auto r = image::openUrl(srv.url("/short.tar")); !r) {
    msg = r.error().message;
  } else {
    char buf[4096];
    Result<size_t> n;
    do n = (*r)->read(buf, sizeof buf);
    while (n && *n > 0);
    ASSERT_FALSE(n);
    msg = n.error().message;
  }
  EXPECT_NE(msg.find("Get \"" + srv.url("/short.tar") + "\""), std::string::npos) << msg;
}

TEST(UrlSource, RefusedConnectionNamesTheUrl) {
  auto r = image::openUrl("http://127.0.0.1:9/none.tar");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("Get \"http://127.0.0.1:9/none.tar\": ", 0), 0u) << r.error().message;
}

TEST(UrlSource, OnlyHttpAndHttps) {
  auto r = image::openUrl("ftp://127.0.0.1/x.tar");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::InvalidArgument);
}

// The image service fetches a URL source itself (docker import URL).
TEST(UrlSource, ImageServiceImportsFromAUrl) {
  fakehttp::TempDir dir;
  auto db = std::move(*store::Database::open(dir / "berth.db"));
  auto svc = image::makeImageService(*db, dir.path(), [](const std::string&) { return std::vector<image::ImageUser>{}; });
  std::string tar = fakehttp::TarBuilder().file("bin/sh", "sh", 0755).str("gzip");
  OneShotServer srv("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(tar.size()) +
                    "\r\nConnection: close\r\n\r\n" + tar);
  auto id = svc->importImage(image::ImportSource::fromUrl(srv.url("/rootfs.tar.gz")), "fromurl:v1", {}, "");
  ASSERT_TRUE(id) << id.error().message;
  auto rec = svc->resolve("fromurl:v1");
  ASSERT_TRUE(rec) << rec.error().message;
  EXPECT_EQ(rec->id, *id);
  EXPECT_EQ(rec->config["history"][0]["comment"], "Imported from " + srv.url("/rootfs.tar.gz"));

  OneShotServer missing("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  auto r = svc->importImage(image::ImportSource::fromUrl(missing.url("/gone.tar")), "", {}, "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "failed to GET " + missing.url("/gone.tar") + " with status 404 Not Found");
  r = svc->importImage(image::ImportSource::fromUrl("http://127.0.0.1:9/none.tar"), "", {}, "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("Get \"http://127.0.0.1:9/none.tar\": ", 0), 0u) << r.error().message;
  // The tag and changes are checked before anything is fetched.
  r = svc->importImage(image::ImportSource::fromUrl("http://127.0.0.1:9/none.tar"), "UPPER", {}, "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::InvalidArgument);
}
