#include "api/server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <limits>
#include <thread>

#include "common/fd.h"
#include "common/log.h"
#include "common/number.h"
#include "common/util.h"

namespace berth::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Socket = asio::local::stream_protocol::socket;

namespace {

std::string statusText(int s) {
  switch (s) {
    case 101: return "UPGRADED";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string urlDecode(std::string_view s, bool plusIsSpace) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out.push_back(char(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
      i += 2;
    } else if (plusIsSpace && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(size_t(n));
  }
  return true;
}

std::string commonHeaders() {
  return fmt::format(
      "Api-Version: {}\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: Docker/{} (linux)\r\n",
      kApiVersion, kServerVersion);
}

// One connection's state shared by the body reader and the response writer.
struct Conn {
  Socket sock;
  beast::flat_buffer buf;
  explicit Conn(asio::io_context& io) : sock(io) {}
  int fd() { return sock.native_handle(); }
};

class SocketBody : public BodyReader {
 public:
  SocketBody(Conn& c, bhttp::request_parser<bhttp::buffer_body>& p) : c_(c), p_(p) {}
  // Parser steps over chunk framing without producing bytes: loop until
  // some body bytes arrive or the body ends.
  Result<size_t> read(char* out, size_t n) override {
    // Beast reads at most the buffer's free capacity: without room the
    // socket is read 512 bytes at a time (a 100 MB build context took
    // 200,000 reads).
    if (c_.buf.capacity() - c_.buf.size() < (1 << 16)) (void)c_.buf.prepare(1 << 16);
    while (!p_.is_done()) {
      p_.get().body().data = out;
      p_.get().body().size = n;
      beast::error_code ec;
      bhttp::read_some(c_.sock, c_.buf, p_, ec);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) return errorf(Code::InvalidArgument, "read request body: {}", ec.message());
      size_t got = n - p_.get().body().size;
      if (got > 0) return got;
    }
    return size_t(0);
  }
  void drain() {
    char tmp[16384];
    for (;;) {
      auto r = read(tmp, sizeof tmp);
      if (!r || *r == 0) return;
    }
  }

 private:
  Conn& c_;
  bhttp::request_parser<bhttp::buffer_body>& p_;
};

class SocketRaw : public RawStream {
 public:
  explicit SocketRaw(Conn& c) : c_(c) {}
  ssize_t read(char* out, size_t n) override {
    // Bytes the parser buffered past the request head come first.
    if (c_.buf.size() > 0) {
      size_t k = std::min(n, c_.buf.size());
      memcpy(out, c_.buf.data().data(), k);
      c_.buf.consume(k);
      return ssize_t(k);
    }
    for (;;) {
      ssize_t r = ::recv(c_.fd(), out, n, 0);
      if (r < 0 && errno == EINTR) continue;
      return r;
    }
  }
  bool write(std::string_view d) override { return writeAll(c_.fd(), d); }
  void close() override {
    if (closed_) return;
    closed_ = true;
    ::shutdown(c_.fd(), SHUT_RDWR);
  }
  int readFd() const override { return c_.buf.size() > 0 ? -1 : c_.fd(); }
  bool hasBuffered() const { return c_.buf.size() > 0; }

 private:
  Conn& c_;
  bool closed_ = false;
};

class SocketStream : public StreamWriter {
 public:
  explicit SocketStream(Conn& c) : c_(c) {}
  ~SocketStream() override { finish(); }
  bool write(std::string_view d) override {
    if (failed_) return false;
    if (d.empty()) return true;
    std::string frame = fmt::format("{:x}\r\n", d.size());
    frame.append(d);
    frame.append("\r\n");
    if (!writeAll(c_.fd(), frame)) failed_ = true;
    return !failed_;
  }
  bool clientGone() override {
    if (failed_) return true;
    pollfd p{c_.fd(), POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) > 0) {
      if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
      char ch;
      ssize_t n = ::recv(c_.fd(), &ch, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0) return true;
    }
    return false;
  }
  void finish() {
    if (done_) return;
    done_ = true;
    if (!failed_) writeAll(c_.fd(), "0\r\n\r\n");
  }
  bool failed() const { return failed_; }

 private:
  Conn& c_;
  bool failed_ = false;
  bool done_ = false;
};

class SocketResponse : public ResponseWriter {
 public:
  SocketResponse(Conn& c, bool head, bool upgrade, bool keepAlive)
      : c_(c), head_(head), upgrade_(upgrade), keepAlive_(keepAlive) {}

  void json(int status, const nlohmann::json& body) override {
    send(status, body.dump() + "\n", "application/json");
  }
  void empty(int status) override {
    started_ = true;
    std::string h = head(status);
    if (status != 204 && status != 304) h += "Content-Length: 0\r\n";
    h += "\r\n";
    ok_ = writeAll(c_.fd(), h);
  }
  void text(int status, std::string_view body, std::string_view ct) override { send(status, body, ct); }
  void setHeader(std::string k, std::string v) override { extra_ += k + ": " + v + "\r\n"; }
  std::unique_ptr<StreamWriter> stream(int status, std::string_view ct) override {
    started_ = true;
    streamed_ = true;
    std::string h = head(status);
    if (!ct.empty()) h += fmt::format("Content-Type: {}\r\n", ct);
    h += "Transfer-Encoding: chunked\r\n\r\n";
    ok_ = writeAll(c_.fd(), h);
    return std::make_unique<SocketStream>(c_);
  }
  std::unique_ptr<RawStream> hijack() override {
    started_ = true;
    hijacked_ = true;
    std::string h;
    if (upgrade_) {
      h = "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
          "Connection: Upgrade\r\nUpgrade: tcp\r\n" +
          commonHeaders() + "\r\n";
    } else {
      h = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n" + commonHeaders() + "\r\n";
    }
    ok_ = writeAll(c_.fd(), h);
    return std::make_unique<SocketRaw>(c_);
  }
  bool started() const override { return started_; }

  bool hijacked() const { return hijacked_; }
  bool streamed() const { return streamed_; }
  bool ok() const { return ok_; }

 private:
  std::string head(int status) {
    std::string h = fmt::format("HTTP/1.1 {} {}\r\n", status, statusText(status));
    h += commonHeaders();
    h += "Date: " + httpDate() + "\r\n";
    h += extra_;
    extra_.clear();
    if (!keepAlive_) h += "Connection: close\r\n";
    return h;
  }
  static std::string httpDate() {
    char b[64];
    time_t t = time(nullptr);
    tm g;
    gmtime_r(&t, &g);
    strftime(b, sizeof b, "%a, %d %b %Y %H:%M:%S GMT", &g);
    return b;
  }
  void send(int status, std::string_view body, std::string_view ct) {
    started_ = true;
    std::string h = head(status);
    h += fmt::format("Content-Type: {}\r\nContent-Length: {}\r\n\r\n", ct, body.size());
    if (!head_) h.append(body);
    ok_ = writeAll(c_.fd(), h);
  }

  Conn& c_;
  bool head_, upgrade_, keepAlive_;
  bool started_ = false, hijacked_ = false, streamed_ = false, ok_ = true;
  std::string extra_;
};

// "1.41" -> 141; -1 when malformed.
int versionNumber(std::string_view v) {
  auto dot = v.find('.');
  if (dot == std::string_view::npos) return -1;
  auto major = parseNumber<int>(v.substr(0, dot)), minor = parseNumber<int>(v.substr(dot + 1));
  if (!major || !minor || *major < 0 || *minor < 0) return -1;
  return *major * 100 + *minor;
}

void parseTarget(std::string_view target, Request& req) {
  auto qpos = target.find('?');
  std::string path(urlDecode(target.substr(0, qpos), false));
  if (qpos != std::string_view::npos) {
    for (auto& kv : split(target.substr(qpos + 1), '&')) {
      if (kv.empty()) continue;
      auto eq = kv.find('=');
      std::string k = urlDecode(kv.substr(0, eq), true);
      std::string v = eq == std::string::npos ? "" : urlDecode(std::string_view(kv).substr(eq + 1), true);
      req.query.emplace(std::move(k), std::move(v));
    }
  }
  // /v1.41/containers/json -> apiVersion 1.41, path /containers/json
  if (path.size() > 2 && path[0] == '/' && path[1] == 'v' && isdigit((unsigned char)path[2])) {
    auto slash = path.find('/', 1);
    std::string ver = path.substr(2, slash == std::string::npos ? std::string::npos : slash - 2);
    if (versionNumber(ver) > 0) {
      req.apiVersion = ver;
      path = slash == std::string::npos ? "/" : path.substr(slash);
    }
  }
  req.path = std::move(path);
}

}  // namespace

struct Server::Impl {
  const Router& router;
  asio::io_context io;
  std::unique_ptr<asio::local::stream_protocol::acceptor> acceptor;
  std::atomic<bool> stopping{false};
  std::atomic<int> active{0};
  std::atomic<int64_t> lastActivity{0};
  std::string path;

  explicit Impl(const Router& r) : router(r) {}

  void serve(std::shared_ptr<Conn> c) {
    for (;;) {
      bhttp::request_parser<bhttp::buffer_body> parser;
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      parser.header_limit(1 << 20);
      beast::error_code ec;
      bhttp::read_header(c->sock, c->buf, parser, ec);
      if (ec) return;
      auto& msg = parser.get();
      Request req;
      req.method = std::string(msg.method_string());
      parseTarget(std::string_view(msg.target().data(), msg.target().size()), req);
      for (auto& f : msg) req.headers[toLower(std::string_view(f.name_string().data(), f.name_string().size()))] =
          std::string(f.value());
      SocketBody body(*c, parser);
      req.body = &body;
      active++;
      ScopeExit activity([this] {
        lastActivity = nowNanos();
        active--;
      });
      bool keepAlive = msg.keep_alive();
      std::string conn = toLower(req.header("connection"));
      bool upgrade = conn.find("upgrade") != std::string::npos && !req.header("upgrade").empty();
      SocketResponse res(*c, req.method == "HEAD", upgrade, keepAlive);

      if (!req.apiVersion.empty()) {
        int v = versionNumber(req.apiVersion);
        if (v > versionNumber(kApiVersion)) {
          res.error(Error{Code::InvalidArgument, 0,
                          fmt::format("client version {} is too new. Maximum supported API version is {}",
                                      req.apiVersion, kApiVersion)});
          body.drain();
          if (!keepAlive) return;
          continue;
        }
        if (v < 112) {
          res.error(Error{Code::InvalidArgument, 0,
                          fmt::format("client version {} is too old. Minimum supported API version is {}, "
                                      "please upgrade your client to a newer version",
                                      req.apiVersion, kMinApiVersion)});
          body.drain();
          if (!keepAlive) return;
          continue;
        }
      }
      const Handler* h = router.match(req);
      if (!h) {
        res.error(Error{Code::NotFound, 0, "page not found"});
      } else {
        // Handlers decode every request body into typed values up front
        // (bad input is a 400 from the decoder); an exception here is a bug
        // in berthd: logged, answered 500 "internal error".
        try {
          (*h)(req, res);
        } catch (const std::exception& e) {
          log::error("handler {} {} threw: {}", req.method, req.path, e.what());
          if (!res.started()) res.error(Error{Code::Internal, 0, "internal error"});
        }
        if (!res.started()) res.empty(204);
      }
      if (res.hijacked()) return;  // the handler owned the socket
      if (!res.ok()) return;
      if (!parser.is_done()) body.drain();
      if (!keepAlive || res.streamed()) {
        // A streamed response ended by the handler; close to be safe with
        // clients that read until EOF.
        if (!keepAlive) return;
      }
    }
  }
};

Server::Server(const Router& router) : impl_(std::make_unique<Impl>(router)) {}
Server::~Server() = default;

Result<> Server::listenUnix(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) TRY(mkdirAll(path.substr(0, slash), 0755));
  ::unlink(path.c_str());
  try {
    impl_->acceptor = std::make_unique<asio::local::stream_protocol::acceptor>(
        impl_->io, asio::local::stream_protocol::endpoint(path));
  } catch (const std::exception& e) {
    return errorf(Code::Internal, "listen on {}: {}", path, e.what());
  }
  ::chmod(path.c_str(), 0660);
  // /etc/group read directly: getgrnam() would load NSS modules into an
  // otherwise small daemon.
  if (auto groups = readFile("/etc/group"))
    for (auto& line : split(*groups, '\n')) {
      auto f = split(line, ':');
      if (f.size() >= 3 && f[0] == "berth") {
        auto gid = parseNumber<gid_t>(f[2]);
        if (!gid) {
          log::warn("/etc/group: bad gid for group berth: {}", f[2]);
        } else if (::chown(path.c_str(), 0, *gid) != 0) {
          log::warn("chown {}: {}", path, strerror(errno));
        }
        break;
      }
    }
  impl_->path = path;
  return {};
}

void Server::run() {
  while (!impl_->stopping) {
    auto c = std::make_shared<Conn>(impl_->io);
    beast::error_code ec;
    impl_->acceptor->accept(c->sock, ec);
    if (ec) {
      if (impl_->stopping) break;
      if (ec == asio::error::interrupted) continue;
      log::error("accept: {}", ec.message());
      usleep(10000);
      continue;
    }
    std::thread([this, c] {
      impl_->serve(c);
      beast::error_code ignored;
      c->sock.shutdown(Socket::shutdown_both, ignored);
      c->sock.close(ignored);
    }).detach();
  }
}

int Server::activeRequests() const { return impl_->active; }
int64_t Server::lastActivity() const { return impl_->lastActivity; }

void Server::stop() {
  impl_->stopping = true;
  if (impl_->acceptor) ::shutdown(impl_->acceptor->native_handle(), SHUT_RDWR);
}

}  // namespace berth::api
