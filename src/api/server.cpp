#include "api/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <linux/sockios.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "api/request_target.h"
#include "common/fd.h"
#include "common/log.h"
#include "common/number.h"
#include "common/thread_cache.h"
#include "common/trace.h"
#include "common/util.h"

namespace berth::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

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
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

std::string commonHeaders() {
  return fmt::format(
      "Api-Version: {}\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: Docker/{} (linux)\r\n",
      kApiVersion, kServerVersion);
}

int64_t monoMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// poll() one fd for events until deadlineMs (monotonic ms; 0 = no deadline).
// 1 ready, 0 timed out, -1 error.
int waitFd(int fd, short events, int64_t deadlineMs) {
  for (;;) {
    int timeout = -1;
    if (deadlineMs > 0) {
      int64_t left = deadlineMs - monoMs();
      if (left <= 0) return 0;
      timeout = int(std::min<int64_t>(left, std::numeric_limits<int>::max()));
    }
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, timeout);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    return r == 0 ? 0 : 1;
  }
}

constexpr ssize_t kTimedOut = -2;

// A container's full id: 64 lowercase hex digits (a trace key).
bool isFullId(std::string_view s) {
  if (s.size() != 64) return false;
  for (char ch : s)
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return false;
  return true;
}

// One connection: a socket, plain or TLS. Reads and writes may come from two
// threads at once (a hijacked stream); a TLS connection serialises them on
// a mutex around each non-blocking SSL call and waits in poll() unlocked.
struct Conn {
  UniqueFd fd;
  SSL* ssl = nullptr;
  std::mutex sslMu;
  beast::flat_buffer buf;
  int64_t deadlineMs = 0;  // for reads of the request head; 0 = none
  // The start timeline (only while trace::on()): when the connection was
  // accepted (0 once its first request began), and spans of its requests
  // that had no container id yet (the ping): they go under the next id a
  // request on this connection records (traceSpan).
  struct PendingSpan {
    std::string name;
    int64_t start, end;
  };
  int64_t traceAcceptedAt = 0;
  int64_t traceThreadAt = 0;
  std::vector<PendingSpan> tracePending;

  explicit Conn(UniqueFd f) : fd(std::move(f)) {}
  ~Conn() {
    if (ssl) SSL_free(ssl);
  }
  int raw() const { return fd.get(); }

  // TLS: the handshake, bounded by deadlineMs. False when it failed.
  bool startTls(SSL_CTX* ctx) {
    ssl = SSL_new(ctx);
    if (!ssl) return false;
    int fl = ::fcntl(raw(), F_GETFL);
    ::fcntl(raw(), F_SETFL, fl | O_NONBLOCK);
    SSL_set_fd(ssl, raw());
    for (;;) {
      int r = SSL_accept(ssl);
      if (r == 1) return true;
      int e = SSL_get_error(ssl, r);
      int w = e == SSL_ERROR_WANT_READ ? waitFd(raw(), POLLIN, deadlineMs)
              : e == SSL_ERROR_WANT_WRITE ? waitFd(raw(), POLLOUT, deadlineMs)
                                          : -1;
      if (w <= 0) {
        log::debug("TLS handshake failed: {}", w == 0 ? "timed out" : tlsErrorText());
        return false;
      }
    }
  }

  // Bytes already received but not yet handed out (TLS records, parser buffer).
  bool hasPending() {
    if (buf.size() > 0) return true;
    if (!ssl) return false;
    std::lock_guard lk(sslMu);
    return SSL_has_pending(ssl) == 1;
  }

  // Up to n bytes: >0 read, 0 EOF, -1 error, kTimedOut past deadlineMs.
  ssize_t readSome(void* out, size_t n) {
    if (!ssl) {
      if (deadlineMs > 0) {
        int w = waitFd(raw(), POLLIN, deadlineMs);
        if (w == 0) return kTimedOut;
        if (w < 0) return -1;
      }
      for (;;) {
        ssize_t r = ::recv(raw(), out, n, 0);
        if (r < 0 && errno == EINTR) continue;
        return r;
      }
    }
    for (;;) {
      int r, e;
      {
        std::lock_guard lk(sslMu);
        r = SSL_read(ssl, out, int(std::min<size_t>(n, 1 << 30)));
        e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl, r);
      }
      if (r > 0) return r;
      if (e == SSL_ERROR_ZERO_RETURN) return 0;
      int w = e == SSL_ERROR_WANT_READ ? waitFd(raw(), POLLIN, deadlineMs)
              : e == SSL_ERROR_WANT_WRITE ? waitFd(raw(), POLLOUT, deadlineMs)
                                          : -1;
      if (w == 0) return kTimedOut;
      if (w < 0) return e == SSL_ERROR_SYSCALL || e == SSL_ERROR_SSL ? 0 : -1;
    }
  }

  bool writeAll(std::string_view data) {
    if (!ssl) {
      while (!data.empty()) {
        ssize_t n = ::send(raw(), data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EINTR) continue;
          return false;
        }
        data.remove_prefix(size_t(n));
      }
      return true;
    }
    while (!data.empty()) {
      int r, e;
      {
        std::lock_guard lk(sslMu);
        r = SSL_write(ssl, data.data(), int(std::min<size_t>(data.size(), 1 << 30)));
        e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl, r);
      }
      if (r > 0) {
        data.remove_prefix(size_t(r));
        continue;
      }
      int w = e == SSL_ERROR_WANT_WRITE ? waitFd(raw(), POLLOUT, 0)
              : e == SSL_ERROR_WANT_READ ? waitFd(raw(), POLLIN, 0)
                                         : -1;
      if (w <= 0) return false;
    }
    return true;
  }

  // Ends the stream: TLS close_notify (best effort), then shutdown both ways.
  // Waits (at most maxMs) until the peer of a unix socket has read what was
  // sent (SIOCOUTQ: bytes still queued for it). Other sockets return at once.
  void waitPeerRead(int maxMs) {
    if (ssl) return;
    int domain = 0;
    socklen_t len = sizeof domain;
    if (::getsockopt(raw(), SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_UNIX) return;
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(maxMs);
    for (;;) {
      int queued = 0;
      if (::ioctl(raw(), SIOCOUTQ, &queued) != 0 || queued <= 0) return;
      if (std::chrono::steady_clock::now() >= end) return;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

  void shutdownBoth() {
    if (ssl) {
      std::lock_guard lk(sslMu);
      SSL_shutdown(ssl);
    }
    ::shutdown(raw(), SHUT_RDWR);
  }
};

// Records a span of connection c under key, with the connection's pending
// spans; keeps it pending (at most 16, the oldest dropped) while key is "".
void traceSpan(Conn& c, std::string_view key, std::string name, int64_t start, int64_t end) {
  if (key.empty()) {
    if (c.tracePending.size() >= 16) c.tracePending.erase(c.tracePending.begin());
    c.tracePending.push_back(Conn::PendingSpan{std::move(name), start, end});
    return;
  }
  for (auto& p : c.tracePending) trace::record(key, p.name, p.start, p.end);
  c.tracePending.clear();
  trace::record(key, name, start, end);
}

// Beast's SyncReadStream over a Conn.
class ConnStream {
 public:
  explicit ConnStream(Conn& c) : c_(c) {}
  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers, beast::error_code& ec) {
    auto it = asio::buffer_sequence_begin(buffers);
    auto end = asio::buffer_sequence_end(buffers);
    for (; it != end; ++it) {
      asio::mutable_buffer b(*it);
      if (b.size() == 0) continue;
      ssize_t n = c_.readSome(b.data(), b.size());
      if (n > 0) {
        ec = {};
        return size_t(n);
      }
      if (n == 0) ec = asio::error::eof;
      else if (n == kTimedOut) ec = beast::error::timeout;
      else ec = asio::error::connection_reset;
      return 0;
    }
    ec = {};
    return 0;
  }
  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers) {
    beast::error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

 private:
  Conn& c_;
};

class SocketBody : public BodyReader {
 public:
  SocketBody(Conn& c, bhttp::request_parser<bhttp::buffer_body>& p) : c_(c), p_(p) {}
  // Parser steps over chunk framing without producing bytes: loop until
  // some body bytes arrive or the body ends.
  Result<size_t> read(char* out, size_t n) override {
    ConnStream stream(c_);
    // Beast reads at most the buffer's free capacity: without room the
    // socket is read 512 bytes at a time (a 100 MB build context took
    // 200,000 reads).
    if (c_.buf.capacity() - c_.buf.size() < (1 << 16)) (void)c_.buf.prepare(1 << 16);
    while (!p_.is_done()) {
      p_.get().body().data = out;
      p_.get().body().size = n;
      beast::error_code ec;
      bhttp::read_some(stream, c_.buf, p_, ec);
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
    return c_.readSome(out, n);
  }
  // The first write waits until a unix-socket client has read the response
  // head: clients that read the head through a buffered reader and then
  // switch to the raw socket (docker-py, Python's http.client) lose stream
  // bytes that arrived with the head (attach?logs=1 writes the replay at once).
  bool write(std::string_view d) override {
    if (!wroteOnce_) {
      wroteOnce_ = true;
      c_.waitPeerRead(1000);
    }
    return c_.writeAll(d);
  }
  void close() override {
    if (closed_) return;
    closed_ = true;
    c_.shutdownBoth();
  }
  // Shutting this fd down ends the stream (service_io uses it so); with TLS
  // the fd also tells poll() nothing about buffered records, hence -1 then.
  int readFd() const override { return c_.buf.size() > 0 ? -1 : c_.raw(); }

 private:
  Conn& c_;
  bool closed_ = false;
  bool wroteOnce_ = false;
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
    if (!c_.writeAll(frame)) failed_ = true;
    return !failed_;
  }
  bool clientGone() override {
    if (failed_) return true;
    pollfd p{c_.raw(), POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) > 0) {
      if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
      char ch;
      ssize_t n = ::recv(c_.raw(), &ch, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0) return true;
    }
    return false;
  }
  void finish() {
    if (done_) return;
    done_ = true;
    if (!failed_) c_.writeAll("0\r\n\r\n");
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

  // The request's span (only while tracing): from traceStart (its first
  // byte) to its response head written, recorded under req's traceKey as
  // "api: METHOD ROUTE".
  void traceFrom(const Request& req, int64_t traceStart) {
    traceReq_ = &req;
    traceStart_ = traceStart;
  }

  void json(int status, const nlohmann::json& body) override {
    send(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", "application/json");
  }
  void empty(int status) override {
    started_ = true;
    std::string h = head(status);
    if (status != 204 && status != 304) h += "Content-Length: 0\r\n";
    h += "\r\n";
    ok_ = c_.writeAll(h);
    headWritten();
  }
  void text(int status, std::string_view body, std::string_view ct) override { send(status, body, ct); }
  void setHeader(std::string k, std::string v) override { extra_ += k + ": " + v + "\r\n"; }
  std::unique_ptr<StreamWriter> stream(int status, std::string_view ct) override {
    started_ = true;
    streamed_ = true;
    std::string h = head(status);
    if (!ct.empty()) h += fmt::format("Content-Type: {}\r\n", ct);
    h += "Transfer-Encoding: chunked\r\n\r\n";
    ok_ = c_.writeAll(h);
    headWritten();
    return std::make_unique<SocketStream>(c_);
  }
  std::unique_ptr<RawStream> hijack(std::string_view contentType) override {
    started_ = true;
    hijacked_ = true;
    std::string h;
    if (upgrade_) {
      h = fmt::format("HTTP/1.1 101 UPGRADED\r\nContent-Type: {}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n",
                      contentType) +
          commonHeaders() + "\r\n";
    } else {
      h = fmt::format("HTTP/1.1 200 OK\r\nContent-Type: {}\r\n", contentType) + commonHeaders() + "\r\n";
    }
    ok_ = c_.writeAll(h);
    headWritten();
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
    ok_ = c_.writeAll(h);
    headWritten();
  }
  void headWritten() {
    if (!traceStart_) return;
    std::string name =
        fmt::format("api: {} {}", traceReq_->method, traceReq_->route.empty() ? "(no route)" : traceReq_->route);
    traceSpan(c_, traceReq_->traceKey, std::move(name), traceStart_, trace::now());
    traceStart_ = 0;
  }

  Conn& c_;
  bool head_, upgrade_, keepAlive_;
  bool started_ = false, hijacked_ = false, streamed_ = false, ok_ = true;
  std::string extra_;
  const Request* traceReq_ = nullptr;
  int64_t traceStart_ = 0;
};

// A response written before any request could be parsed (431, 400, 503),
// then the connection is closed. What the client still sends is read and
// dropped for a moment (at most 1 s and 4 MiB) first: closing a TCP socket
// with unread bytes sends a reset that can destroy the answer in flight.
void answerAndClose(Conn& c, int status, std::string_view message) {
  std::string body = nlohmann::json{{"message", message}}.dump() + "\n";
  if (!c.writeAll(fmt::format("HTTP/1.1 {} {}\r\n{}Content-Type: application/json\r\nContent-Length: {}\r\n"
                              "Connection: close\r\n\r\n{}",
                              status, statusText(status), commonHeaders(), body.size(), body)))
    return;
  if (c.ssl) {
    std::lock_guard lk(c.sslMu);
    SSL_shutdown(c.ssl);
  }
  ::shutdown(c.raw(), SHUT_WR);
  int64_t deadline = monoMs() + 1000;
  char sink[16384];
  for (size_t total = 0; total < (4u << 20);) {
    if (waitFd(c.raw(), POLLIN, deadline) <= 0) break;
    ssize_t n = ::recv(c.raw(), sink, sizeof sink, MSG_DONTWAIT);
    if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) break;
    if (n > 0) total += size_t(n);
  }
}

}  // namespace

struct Server::Impl {
  struct Listener {
    UniqueFd fd;
    std::shared_ptr<TlsContext> tls;
    std::string name;
    bool unixPath = false;
  };

  const Router& router;
  ServerLimits limits;
  std::vector<Listener> listeners;
  UniqueFd wake{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  std::atomic<bool> stopping{false};
  std::atomic<int> active{0};
  std::atomic<int64_t> lastActivity{0};
  std::atomic<int> rejecting{0};
  std::mutex connMu;
  std::condition_variable connCv;
  std::set<Conn*> conns;  // open connections (guarded by connMu)
  // The connections' threads: a connection the docker CLI opens (three per
  // `run`) is served by a waiting thread rather than a new one.
  ThreadCache threads;
  // Idle keep-alive connections held without a thread: run()'s poll loop
  // watches them and hands each back to a new thread when its next request
  // starts, or closes it at its idle deadline (guarded by connMu).
  struct Parked {
    std::unique_ptr<Conn> conn;
    int64_t deadlineMs;
  };
  std::vector<Parked> parked;
  // How long a connection thread waits for the next request itself before
  // it parks the connection: most clients send it within this.
  static constexpr int64_t kParkAfterMs = 50;

  Impl(const Router& r, ServerLimits l) : router(r), limits(l) {}

  int openCount() {
    std::lock_guard lk(connMu);
    return int(conns.size());
  }

  // Reads and answers requests until the connection closes, idles out or is
  // hijacked, or (park set) waits past kParkAfterMs for its next request:
  // then the caller parks it, with c.deadlineMs its idle deadline.
  void serve(Conn& c, bool& park) {
    park = false;
    for (;;) {
      // Idle: wait for the first byte of the next request.
      if (!c.hasPending()) {
        int64_t idleEnd = monoMs() + limits.idleTimeoutMs;
        int w = waitFd(c.raw(), POLLIN, std::min(idleEnd, monoMs() + kParkAfterMs));
        if (w < 0 || stopping) return;
        if (w == 0) {
          if (monoMs() >= idleEnd) return;
          c.deadlineMs = idleEnd;
          park = true;
          return;
        }
      }
      const int64_t tFirst = trace::on() ? trace::now() : 0;
      if (tFirst && c.traceAcceptedAt) {
        traceSpan(c, "", "api: connection, thread to first byte", c.traceThreadAt, tFirst);
        c.traceAcceptedAt = 0;
      }
      c.deadlineMs = monoMs() + limits.headerTimeoutMs;
      bhttp::request_parser<bhttp::buffer_body> parser;
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      parser.header_limit(std::uint32_t(std::min<size_t>(limits.maxHeaderBytes, std::numeric_limits<std::uint32_t>::max())));
      beast::error_code ec;
      ConnStream stream(c);
      bool fieldTooLarge = false;
      try {
        bhttp::read_header(stream, c.buf, parser, ec);
      } catch (const std::length_error&) {
        // Beast stores a header field in at most 64 KiB - 1 bytes and throws
        // past that, whatever header_limit says.
        fieldTooLarge = true;
      }
      c.deadlineMs = 0;
      if (fieldTooLarge || ec == bhttp::error::header_limit) {
        answerAndClose(c, 431, fieldTooLarge ? "request header field too large: one field may hold at most 65535 bytes"
                                             : fmt::format("request header fields too large: the limit is {} bytes "
                                                           "(api-max-header-bytes)",
                                                           limits.maxHeaderBytes));
        return;
      }
      if (ec == beast::error::timeout || ec == asio::error::eof || ec == bhttp::error::end_of_stream ||
          ec == asio::error::connection_reset || ec == bhttp::error::partial_message)
        return;  // slow, gone or cut short: close without an answer, as Go's server does
      if (ec) {
        answerAndClose(c, 400, fmt::format("malformed HTTP request: {}", ec.message()));
        return;
      }
      auto& msg = parser.get();
      std::string_view target(msg.target().data(), msg.target().size());
      size_t pathLen = std::min(target.find('?'), target.size());
      if (pathLen > kMaxPathBytes) {
        answerAndClose(c, 414, fmt::format("request path too long: {} bytes, the limit is {}", pathLen, kMaxPathBytes));
        return;
      }
      Request req;
      req.maxJsonBody = limits.maxJsonBodyBytes;
      req.method = std::string(msg.method_string());
      bool targetClean = parseTarget(target, req);
      for (auto& f : msg) req.headers[toLower(std::string_view(f.name_string().data(), f.name_string().size()))] =
          std::string(f.value());
      SocketBody body(c, parser);
      req.body = &body;
      active++;
      ScopeExit activity([this] {
        lastActivity = nowNanos();
        active--;
      });
      bool keepAlive = msg.keep_alive();
      std::string conn = toLower(req.header("connection"));
      bool upgrade = conn.find("upgrade") != std::string::npos && !req.header("upgrade").empty();
      SocketResponse res(c, req.method == "HEAD", upgrade, keepAlive);

      if (!targetClean) {
        res.error(Error{Code::InvalidArgument, 0, "invalid request: the path or a query parameter holds a NUL byte (%00)"});
        body.drain();
        if (!keepAlive) return;
        continue;
      }
      if (!req.apiVersion.empty()) {
        int v = apiVersionNumber(req.apiVersion);
        if (v > apiVersionNumber(kApiVersion)) {
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
      if (tFirst) {
        res.traceFrom(req, tFirst);
        if (h && req.path.starts_with("/containers/") && !req.params.empty() && isFullId(req.params[0]))
          req.traceKey = req.params[0];
      }
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
      if (!keepAlive) return;
    }
  }

  // One connection's thread: TLS handshake, then serving (serveOrPark).
  // c is already in conns.
  void connection(std::unique_ptr<Conn> c, SSL_CTX* tls) {
    if (c->traceAcceptedAt) {
      c->traceThreadAt = trace::now();
      traceSpan(*c, "", "api: connection, accept to thread", c->traceAcceptedAt, c->traceThreadAt);
    }
    try {
      c->deadlineMs = monoMs() + limits.headerTimeoutMs;
      if (tls && !c->startTls(tls)) return close(std::move(c));
      // A handshake is activity: the idle trim (berthd's housekeeping) then
      // also returns what handshakes touched and freed.
      if (tls) lastActivity = nowNanos();
      c->deadlineMs = 0;
    } catch (const std::exception& e) {
      log::error("connection: {}", e.what());
      return close(std::move(c));
    }
    serveOrPark(std::move(c));
  }

  // Serves c on this thread; when it idles, parks it (the thread ends, its
  // stack pages go back) instead of keeping a thread per idle connection.
  void serveOrPark(std::unique_ptr<Conn> c) {
    bool park = false;
    try {
      serve(*c, park);
    } catch (const std::exception& e) {
      log::error("connection: {}", e.what());
      park = false;
    } catch (...) {
      log::error("connection: unknown exception");
      park = false;
    }
    if (park && !stopping) {
      std::lock_guard lk(connMu);
      if (!stopping) {
        int64_t deadline = c->deadlineMs;
        parked.push_back(Parked{std::move(c), deadline});
        uint64_t one = 1;
        (void)!::write(wake.get(), &one, sizeof one);
        return;
      }
    }
    close(std::move(c));
  }

  // Ends a connection: shuts it down and unregisters it.
  void close(std::unique_ptr<Conn> c) {
    c->shutdownBoth();
    std::lock_guard lk(connMu);
    conns.erase(c.get());
    c.reset();
    connCv.notify_all();
  }

  // Past maxConnections: a short-lived thread reads the request head (a
  // client that sent a request reads the answer before the close) and
  // answers 503. Past as many again, the connection is closed at once.
  void reject(std::unique_ptr<Conn> c, SSL_CTX* tls) {
    if (rejecting.fetch_add(1) >= std::max(limits.maxConnections, 16)) {
      rejecting--;
      return;
    }
    std::thread([this, c = std::move(c), tls]() mutable {
      ScopeExit done([this] { rejecting--; });
      try {
        c->deadlineMs = monoMs() + 2000;
        if (tls && !c->startTls(tls)) return;
        bhttp::request_parser<bhttp::empty_body> parser;
        parser.header_limit(64 * 1024);
        beast::error_code ec;
        ConnStream stream(*c);
        bhttp::read_header(stream, c->buf, parser, ec);
        answerAndClose(*c, 503,
                       fmt::format("too many connections: berthd serves at most {} at once (api-max-connections); "
                                   "try again later",
                                   limits.maxConnections));
        c->shutdownBoth();
      } catch (...) {
      }
    }).detach();
  }
};

Server::Server(const Router& router, ServerLimits limits) : impl_(std::make_unique<Impl>(router, limits)) {}

Server::~Server() {
  stop();
  // Connection threads hold a pointer to impl_: give them a moment to end
  // (stop() shut their sockets down).
  std::unique_lock lk(impl_->connMu);
  impl_->connCv.wait_for(lk, std::chrono::seconds(5), [&] { return impl_->conns.empty(); });
}

Result<> Server::listenUnix(const std::string& path, std::optional<gid_t> gid) {
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) TRY(mkdirAll(path.substr(0, slash), 0755));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return errorf(Code::InvalidArgument, "socket path too long: {}", path);
  memcpy(addr.sun_path, path.data(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sysError(errno, "socket");
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return sysError(errno, "listen on {}", path);
  if (::listen(fd.get(), 1024) != 0) return sysError(errno, "listen on {}", path);
  ::chmod(path.c_str(), 0660);
  if (gid && ::chown(path.c_str(), 0, *gid) != 0) log::warn("chown {}: {}", path, strerror(errno));
  impl_->listeners.push_back(Impl::Listener{std::move(fd), nullptr, path, true});
  return {};
}

Result<int> Server::listenTcp(const std::string& hostPort, std::shared_ptr<TlsContext> tls) {
  auto colon = hostPort.rfind(':');
  if (colon == std::string::npos) return errorf(Code::InvalidArgument, "invalid tcp address {:?}: missing port", hostPort);
  std::string host = hostPort.substr(0, colon), port = hostPort.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return errorf(Code::InvalidArgument, "invalid tcp address {:?}: {}", hostPort, gai_strerror(rc));
  ScopeExit freeRes([res] { ::freeaddrinfo(res); });
  UniqueFd fd(::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sysError(errno, "socket");
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), res->ai_addr, res->ai_addrlen) != 0) return sysError(errno, "listen tcp {}", hostPort);
  if (::listen(fd.get(), 1024) != 0) return sysError(errno, "listen tcp {}", hostPort);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len);
  int boundPort = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                              : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  impl_->listeners.push_back(Impl::Listener{std::move(fd), std::move(tls), hostPort, false});
  return boundPort;
}

void Server::run() {
  auto& im = *impl_;
  std::vector<pollfd> pfds;
  const size_t fixed = im.listeners.size() + 1;  // the listeners, then wake, then parked connections
  while (!im.stopping) {
    pfds.clear();
    for (auto& l : im.listeners) pfds.push_back(pollfd{l.fd.get(), POLLIN, 0});
    pfds.push_back(pollfd{im.wake.get(), POLLIN, 0});
    int timeout = -1;
    {
      std::lock_guard lk(im.connMu);
      int64_t now = monoMs();
      for (auto& p : im.parked) {
        pfds.push_back(pollfd{p.conn->raw(), POLLIN, 0});
        int64_t left = std::max<int64_t>(0, p.deadlineMs - now);
        if (timeout < 0 || left < timeout) timeout = int(std::min<int64_t>(left, 60000));
      }
    }
    int r = ::poll(pfds.data(), pfds.size(), timeout);
    if (r < 0) {
      if (errno == EINTR) continue;
      log::error("poll listeners: {}", strerror(errno));
      usleep(10000);
      continue;
    }
    if (im.stopping) break;
    if (pfds[fixed - 1].revents & POLLIN) {
      uint64_t n;
      (void)!::read(im.wake.get(), &n, sizeof n);
    }
    // Parked connections: a request starting gets a thread again; one past
    // its idle deadline is closed. parked[i] is pfds[fixed + i]: only this
    // thread removes from parked, others only append.
    {
      std::vector<std::unique_ptr<Conn>> resume, expired;
      {
        std::lock_guard lk(im.connMu);
        int64_t now = monoMs();
        size_t watched = pfds.size() - fixed;
        std::vector<Impl::Parked> keep;
        for (size_t i = 0; i < im.parked.size(); i++) {
          auto& p = im.parked[i];
          bool ready = i < watched && (pfds[fixed + i].revents & (POLLIN | POLLHUP | POLLERR));
          if (ready) resume.push_back(std::move(p.conn));
          else if (now >= p.deadlineMs) expired.push_back(std::move(p.conn));
          else keep.push_back(std::move(p));
        }
        im.parked = std::move(keep);
      }
      for (auto& c : expired) im.close(std::move(c));
      for (auto& c : resume) {
        c->deadlineMs = 0;
        im.threads.run([this, h = std::make_shared<std::unique_ptr<Conn>>(std::move(c))] {
          impl_->serveOrPark(std::move(*h));
        });
      }
    }
    for (size_t i = 0; i < im.listeners.size(); i++) {
      if (!(pfds[i].revents & POLLIN)) continue;
      auto& l = im.listeners[i];
      UniqueFd fd(::accept4(l.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!fd) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
          log::error("accept on {}: {}", l.name, strerror(errno));
          usleep(10000);
        }
        continue;
      }
      if (!l.unixPath) {
        int one = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      }
      auto c = std::make_unique<Conn>(std::move(fd));
      if (trace::on()) c->traceAcceptedAt = trace::now();
      SSL_CTX* tls = l.tls ? l.tls->get() : nullptr;
      if (im.openCount() >= im.limits.maxConnections) {
        im.reject(std::move(c), tls);
        continue;
      }
      // Registered before the thread starts, so the count is exact for the next accept.
      {
        std::lock_guard lk(im.connMu);
        im.conns.insert(c.get());
      }
      im.threads.run([this, h = std::make_shared<std::unique_ptr<Conn>>(std::move(c)), tls] {
        impl_->connection(std::move(*h), tls);
      });
    }
  }
  // stopping: the parked connections end here
  std::vector<std::unique_ptr<Conn>> rest;
  {
    std::lock_guard lk(im.connMu);
    for (auto& p : im.parked) rest.push_back(std::move(p.conn));
    im.parked.clear();
  }
  for (auto& c : rest) im.close(std::move(c));
}

int Server::activeRequests() const { return impl_->active; }
int64_t Server::lastActivity() const { return impl_->lastActivity; }
int Server::openConnections() const { return impl_->openCount(); }

void Server::stop() {
  impl_->stopping = true;
  uint64_t one = 1;
  (void)!::write(impl_->wake.get(), &one, sizeof one);
  std::lock_guard lk(impl_->connMu);
  for (Conn* c : impl_->conns) ::shutdown(c->raw(), SHUT_RDWR);
}

}  // namespace berth::api
