#include "cli/client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/number.h"
#include "common/trace.h"
#include "common/util.h"

extern char** environ;

namespace berth::cli {

namespace {

constexpr size_t kReadChunk = 64 * 1024;
const char* kUserAgent = "berth-cli/0.1 (linux)";

std::string sslErrorText() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out = buf;
  }
  return out;
}

bool isIpLiteral(const std::string& h) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, h.c_str(), &a4) == 1 || inet_pton(AF_INET6, h.c_str(), &a6) == 1;
}

std::string buildHead(std::string_view method, std::string_view target,
                      const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string req;
  req.reserve(256);
  req.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: api.moby.localhost\r\n");
  req.append("User-Agent: ").append(kUserAgent).append("\r\n");
  for (auto& [k, v] : headers) req.append(k).append(": ").append(v).append("\r\n");
  req.append("\r\n");
  return req;
}

}  // namespace

Result<std::vector<std::string>> sshCommandFor(const std::string& url) {
  std::string rest = url.substr(6);  // after "ssh://"
  if (auto h = rest.find('#'); h != std::string::npos)
    return errorf(Code::InvalidArgument, "fragments are not allowed: {:?}", rest.substr(h + 1));
  if (auto q = rest.find('?'); q != std::string::npos)
    return errorf(Code::InvalidArgument, "query parameters are not allowed: {:?}", rest.substr(q + 1));
  std::string path;
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    path = rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  std::string user;
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    user = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (user.find(':') != std::string::npos)
      return makeError(Code::InvalidArgument, "plain-text password is not supported");
  }
  std::string host = rest, port;
  if (startsWith(rest, "[")) {
    auto close = rest.find(']');
    if (close == std::string::npos) return errorf(Code::InvalidArgument, "missing ']' in host");
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return errorf(Code::InvalidArgument, "invalid port after host");
      port = rest.substr(close + 2);
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return makeError(Code::InvalidArgument, "hostname is empty");
  if (!port.empty() && !parseNumber<uint16_t>(port))
    return errorf(Code::InvalidArgument, "invalid port {:?} after host", port);
  std::vector<std::string> argv = {"ssh", "-o", "ConnectTimeout=30", "-T"};
  if (!user.empty()) argv.insert(argv.end(), {"-l", user});
  if (!port.empty()) argv.insert(argv.end(), {"-p", port});
  argv.insert(argv.end(), {"--", host, "berth"});
  bool hasPath = path.find_first_not_of('/') != std::string::npos;
  if (hasPath) argv.push_back("--host=unix://" + path);
  argv.insert(argv.end(), {"system", "dial-stdio"});
  return argv;
}

// ---------------------------------------------------------------- Connection

Result<std::unique_ptr<Connection>> Connection::dial(const std::string& socketPath) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sysError(errno, "socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socketPath.size() >= sizeof addr.sun_path)
    return errorf(Code::InvalidArgument, "socket path too long: {}", socketPath);
  std::memcpy(addr.sun_path, socketPath.data(), socketPath.size());
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return sysError(errno, "connect {}", socketPath);
  return std::unique_ptr<Connection>(new Connection(std::move(fd)));
}

Result<> Connection::send(std::string_view method, std::string_view target,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          std::string_view body) {
  std::string req = buildHead(method, target, headers);
  req.append(body);
  return writeFull(req.data(), req.size());
}

Result<> Connection::sendChunkedFromFd(std::string_view method, std::string_view target,
                                       const std::vector<std::pair<std::string, std::string>>& headers,
                                       int fd) {
  std::string head = buildHead(method, target, headers);
  TRY(writeFull(head.data(), head.size()));
  // Larger chunks than responses use: a build context or an image tar is
  // large, and each chunk costs a read, a framing and a write.
  std::string buf(4 * kReadChunk, '\0');
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return sysError(errno, "read input");
    }
    if (n == 0) break;
    std::string chunk = fmt::format("{:x}\r\n", n);
    chunk.append(buf.data(), size_t(n)).append("\r\n");
    TRY(writeFull(chunk.data(), chunk.size()));
  }
  static const char kEnd[] = "0\r\n\r\n";
  return writeFull(kEnd, sizeof kEnd - 1);
}

Result<size_t> Connection::fill() {
  if (rpos_ > 0 && rpos_ == rbuf_.size()) {
    rbuf_.clear();
    rpos_ = 0;
  }
  size_t old = rbuf_.size();
  rbuf_.resize(old + kReadChunk);
  for (;;) {
    ssize_t n = readSome(rbuf_.data() + old, kReadChunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      rbuf_.resize(old);
      return sysError(e, "read from daemon");
    }
    rbuf_.resize(old + size_t(n));
    return size_t(n);
  }
}

Result<std::optional<std::string>> Connection::readLineRaw() {
  for (;;) {
    size_t nl = rbuf_.find('\n', rpos_);
    if (nl != std::string::npos) {
      std::string line = rbuf_.substr(rpos_, nl - rpos_);
      rpos_ = nl + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    TRY_ASSIGN(size_t n, fill());
    if (n == 0) return std::nullopt;
  }
}

Result<HttpResponse> Connection::readHead(bool headRequest) {
  HttpResponse r;
  auto line = readLineRaw();
  // The command transport (ssh) ended before answering: say why.
  if (child_ > 0 && (!line || !*line)) return errorf(Code::Unavailable, "error during connect: {}", commandFailure());
  TRY_ASSIGN(auto status, std::move(line));
  if (!status) return makeError(Code::Unavailable, "daemon closed the connection");
  // "HTTP/1.1 200 OK"
  auto sp = status->find(' ');
  if (sp == std::string::npos || !startsWith(*status, "HTTP/"))
    return errorf(Code::Internal, "malformed HTTP status line: {}", *status);
  auto sp2 = status->find(' ', sp + 1);
  r.status = numberOr<int>(std::string_view(*status).substr(sp + 1, sp2 == std::string::npos ? std::string::npos : sp2 - sp - 1), 0);
  if (sp2 != std::string::npos) r.reason = status->substr(sp2 + 1);
  for (;;) {
    TRY_ASSIGN(auto line, readLineRaw());
    if (!line) return makeError(Code::Unavailable, "daemon closed the connection in headers");
    if (line->empty()) break;
    auto colon = line->find(':');
    if (colon == std::string::npos) continue;
    r.headers[toLower(line->substr(0, colon))] = trim(line->substr(colon + 1));
  }
  reusable_ = toLower(r.header("connection")) != "close";
  bodyDone_ = false;
  if (headRequest || r.status == 101 || r.status == 204 || r.status == 304 ||
      (r.status >= 100 && r.status < 200)) {
    mode_ = BodyMode::None;
    bodyDone_ = true;
  } else if (toLower(r.header("transfer-encoding")).find("chunked") != std::string::npos) {
    mode_ = BodyMode::Chunked;
    remaining_ = 0;
  } else if (!r.header("content-length").empty()) {
    mode_ = BodyMode::Length;
    auto length = parseNumber<uint64_t>(trim(r.header("content-length")));
    if (!length) return errorf(Code::Internal, "malformed Content-Length: {}", r.header("content-length"));
    remaining_ = *length;
    bodyDone_ = remaining_ == 0;
  } else {
    mode_ = BodyMode::Close;
    reusable_ = false;
  }
  return r;
}

Result<size_t> Connection::readBody(char* buf, size_t n) {
  if (bodyDone_ || n == 0) return 0;
  switch (mode_) {
    case BodyMode::None: return 0;
    case BodyMode::Length:
    case BodyMode::Close: {
      if (rpos_ == rbuf_.size()) {
        TRY_ASSIGN(size_t got, fill());
        if (got == 0) {
          bodyDone_ = true;
          if (mode_ == BodyMode::Length)
            return makeError(Code::Unavailable, "unexpected EOF in response body");
          return 0;
        }
      }
      size_t take = std::min(n, rbuf_.size() - rpos_);
      if (mode_ == BodyMode::Length) take = std::min<uint64_t>(take, remaining_);
      std::memcpy(buf, rbuf_.data() + rpos_, take);
      rpos_ += take;
      if (mode_ == BodyMode::Length) {
        remaining_ -= take;
        if (remaining_ == 0) bodyDone_ = true;
      }
      return take;
    }
    case BodyMode::Chunked: {
      while (remaining_ == 0) {
        TRY_ASSIGN(auto line, readLineRaw());
        if (!line) {
          bodyDone_ = true;
          return makeError(Code::Unavailable, "unexpected EOF in chunked body");
        }
        if (line->empty()) continue;  // CRLF after previous chunk data
        // "1a2b" or "1a2b;ext=v" (chunk extensions are ignored)
        auto size = parseNumber<uint64_t>(trim(std::string_view(*line).substr(0, line->find(';'))), 16);
        if (!size) {
          bodyDone_ = true;
          return errorf(Code::Unavailable, "malformed chunk size: {}", *line);
        }
        remaining_ = *size;
        if (remaining_ == 0) {
          // trailers until an empty line
          for (;;) {
            TRY_ASSIGN(auto t, readLineRaw());
            if (!t || t->empty()) break;
          }
          bodyDone_ = true;
          return 0;
        }
      }
      if (rpos_ == rbuf_.size()) {
        TRY_ASSIGN(size_t got, fill());
        if (got == 0) {
          bodyDone_ = true;
          return makeError(Code::Unavailable, "unexpected EOF in chunked body");
        }
      }
      size_t take = std::min<uint64_t>({n, rbuf_.size() - rpos_, remaining_});
      std::memcpy(buf, rbuf_.data() + rpos_, take);
      rpos_ += take;
      remaining_ -= take;
      return take;
    }
  }
  return 0;
}

Result<std::string> Connection::readAllBody() {
  std::string out;
  char buf[16384];
  for (;;) {
    TRY_ASSIGN(size_t n, readBody(buf, sizeof buf));
    if (n == 0) break;
    out.append(buf, n);
  }
  return out;
}

Result<std::optional<std::string>> Connection::readBodyLine() {
  for (;;) {
    auto nl = lineBuf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = lineBuf_.substr(0, nl);
      lineBuf_.erase(0, nl + 1);
      return line;
    }
    char buf[8192];
    TRY_ASSIGN(size_t n, readBody(buf, sizeof buf));
    if (n == 0) {
      if (lineBuf_.empty()) return std::nullopt;
      std::string line = std::move(lineBuf_);
      lineBuf_.clear();
      return line;
    }
    lineBuf_.append(buf, n);
  }
}

Result<size_t> Connection::readRaw(char* buf, size_t n) {
  if (rpos_ < rbuf_.size()) {
    size_t take = std::min(n, rbuf_.size() - rpos_);
    std::memcpy(buf, rbuf_.data() + rpos_, take);
    rpos_ += take;
    return take;
  }
  for (;;) {
    ssize_t got = readSome(buf, n);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      if (errno == ECONNRESET) return 0;
      return sysError(errno, "read from daemon");
    }
    return size_t(got);
  }
}

Result<> Connection::writeAll(std::string_view data) { return writeFull(data.data(), data.size()); }

void Connection::closeWrite() {
  if (ssl_) SSL_shutdown(ssl_);  // close_notify: the daemon reads EOF, the stream stays readable
  else ::shutdown(fd_.get(), SHUT_WR);
}

Connection::~Connection() {
  if (ssl_) SSL_free(ssl_);
  if (child_ > 0) {
    fd_.reset();  // the command sees EOF on stdin
    ::kill(child_, SIGTERM);
    while (::waitpid(child_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

Result<std::unique_ptr<Connection>> Connection::dialCommand(const std::vector<std::string>& argv) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return sysError(errno, "socketpair");
  UniqueFd mine(sv[0]), theirs(sv[1]);
  int ep[2];
  if (::pipe2(ep, O_CLOEXEC) != 0) return sysError(errno, "pipe");
  UniqueFd errR(ep[0]), errW(ep[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, theirs.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, theirs.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, errW.get(), 2);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  std::string line;
  for (auto& a : argv) line += (line.empty() ? "" : " ") + a;
  if (rc != 0)
    return std::unexpected(Error{Code::Unavailable, rc, fmt::format("exec: {:?}: {}", argv[0], strerror(rc))});
  ::fcntl(errR.get(), F_SETFL, O_NONBLOCK);
  std::unique_ptr<Connection> c(new Connection(std::move(mine)));
  c->child_ = pid;
  c->childErr_ = std::move(errR);
  c->childArgv_ = std::move(line);
  return c;
}

std::string Connection::commandFailure() {
  int status = 0;
  std::string exitText = "is still running";
  // The stream ended: the command is exiting; give it a moment to finish.
  for (int i = 0; i < 100; ++i) {
    pid_t r = ::waitpid(child_, &status, WNOHANG);
    if (r == child_) {
      child_ = -1;
      exitText = WIFEXITED(status) ? fmt::format("has exited with exit status {}", WEXITSTATUS(status))
                                   : fmt::format("was killed by signal {}", WTERMSIG(status));
      break;
    }
    ::usleep(10000);
  }
  std::string errText;
  char buf[4096];
  for (ssize_t n; (n = ::read(childErr_.get(), buf, sizeof buf)) > 0;) errText.append(buf, size_t(n));
  return fmt::format("command [{}] {}, make sure the URL is valid, and berth is installed on the remote host: "
                     "stderr={}",
                     childArgv_, exitText, trim(errText));
}

bool Connection::hasBuffered() const { return rpos_ < rbuf_.size() || (ssl_ && SSL_pending(ssl_) > 0); }

Result<> Connection::writeFull(const char* p, size_t n) {
  while (n > 0) {
    ssize_t w;
    if (ssl_) {
      int r = SSL_write(ssl_, p, int(std::min<size_t>(n, 1 << 30)));
      if (r <= 0) return errorf(Code::Unavailable, "write to daemon: TLS: {}", sslErrorText());
      w = r;
    } else {
      w = ::send(fd_.get(), p, n, MSG_NOSIGNAL);
    }
    if (w < 0) {
      if (errno == EINTR) continue;
      if (child_ > 0) return errorf(Code::Unavailable, "error during connect: {}", commandFailure());
      return sysError(errno, "write to daemon");
    }
    p += w;
    n -= size_t(w);
  }
  return {};
}

ssize_t Connection::readSome(char* buf, size_t n) {
  if (!ssl_) return ::read(fd_.get(), buf, n);
  int r = SSL_read(ssl_, buf, int(std::min<size_t>(n, 1 << 30)));
  if (r > 0) return r;
  int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL) return 0;  // close_notify, or the peer just closed
  errno = EPROTO;
  return -1;
}

Result<std::unique_ptr<Connection>> Connection::dialTcp(const std::string& hostPort, SSL_CTX* ctx) {
  auto colon = hostPort.rfind(':');
  if (colon == std::string::npos) return errorf(Code::InvalidArgument, "invalid tcp address {}", hostPort);
  std::string host = hostPort.substr(0, colon), port = hostPort.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return errorf(Code::Unavailable, "dial tcp {}: {}", hostPort, gai_strerror(rc));
  UniqueFd fd;
  int err = 0;
  for (addrinfo* a = res; a; a = a->ai_next) {
    fd = UniqueFd(::socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) continue;
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) break;
    err = errno;
    fd.reset();
  }
  ::freeaddrinfo(res);
  if (!fd) return std::unexpected(Error{Code::Unavailable, err, fmt::format("dial tcp {}: {}", hostPort, strerror(err))});
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::unique_ptr<Connection> c(new Connection(std::move(fd)));
  if (!ctx) return c;
  c->ssl_ = SSL_new(ctx);
  if (!c->ssl_) return errorf(Code::Unavailable, "TLS: {}", sslErrorText());
  SSL_set_fd(c->ssl_, c->fd_.get());
  if (isIpLiteral(host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl_), host.c_str());
  } else {
    SSL_set1_host(c->ssl_, host.c_str());
    SSL_set_tlsext_host_name(c->ssl_, host.c_str());
  }
  if (SSL_connect(c->ssl_) != 1) {
    long v = SSL_get_verify_result(c->ssl_);
    std::string why = v != X509_V_OK ? std::string("tls: failed to verify certificate: ") + X509_verify_cert_error_string(v)
                                     : "tls: " + sslErrorText();
    return errorf(Code::Unavailable, "{}", why);
  }
  return c;
}

// ---------------------------------------------------------------- helpers

std::string daemonMessage(const HttpResponse& r, std::string_view method, std::string_view path) {
  if (r.body.empty() || trim(r.body).empty())
    return fmt::format(
        "request returned {} for API route and version {}, check if the server supports the "
        "requested API version",
        r.reason.empty() ? std::to_string(r.status) : r.reason, path);
  if (r.header("content-type").find("json") != std::string::npos) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("message") && j["message"].is_string())
      return j["message"].get<std::string>();
  }
  return trim(r.body);
}

Error daemonError(const HttpResponse& r, std::string_view method, std::string_view path) {
  Error e{codeForStatus(r.status), 0, "Error response from daemon: " + daemonMessage(r, method, path)};
  if (r.header("content-type").find("json") == std::string::npos) return e;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return e;
  if (auto it = j.find("errno"); it != j.end() && it->is_number_integer()) e.err = it->get<int>();
  if (auto it = j.find("stage"); it != j.end() && it->is_number_integer()) e.stage = it->get<int>();
  return e;
}

std::string urlEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(char(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Query& Query::add(std::string_view key, std::string_view value) {
  if (!s_.empty()) s_.push_back('&');
  s_ += urlEncode(key);
  s_.push_back('=');
  s_ += urlEncode(value);
  return *this;
}

// ---------------------------------------------------------------- Client

Result<Client> Client::create(const std::string& host, const TlsClientOptions& tls) {
  std::string path = host;
  if (startsWith(host, "tcp://")) {
    std::string addr = host.substr(6);
    if (auto slash = addr.find('/'); slash != std::string::npos) addr = addr.substr(0, slash);
    bool hasPort = startsWith(addr, "[") ? addr.find("]:") != std::string::npos : addr.find(':') != std::string::npos;
    if (addr.empty()) addr = "localhost";
    if (!hasPort) addr += tls.tls ? ":2376" : ":2375";
    if (!tls.tls) return Client(host, "", addr);
    // Not reading openssl.cnf (as the docker CLI, Go's TLS, does not): a
    // few ms of parsing on every TLS command.
    OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr);
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) return errorf(Code::Unavailable, "TLS is not available: libssl.so.3 could not be loaded");
    Client c(host, "", addr, ctx);  // owns ctx from here
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (tls.verify && tls.caFile.empty()) {
      SSL_CTX_set_default_verify_paths(ctx);  // a context without ca.pem: the system's roots
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    } else if (tls.verify) {
      if (SSL_CTX_load_verify_locations(ctx, tls.caFile.c_str(), nullptr) != 1)
        return errorf(Code::InvalidArgument, "could not read CA certificate {:?}: {}", tls.caFile, sslErrorText());
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    } else {
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    }
    if (!tls.certFile.empty() && !tls.keyFile.empty() && access(tls.certFile.c_str(), R_OK) == 0 &&
        access(tls.keyFile.c_str(), R_OK) == 0) {
      if (SSL_CTX_use_certificate_chain_file(ctx, tls.certFile.c_str()) != 1 ||
          SSL_CTX_use_PrivateKey_file(ctx, tls.keyFile.c_str(), SSL_FILETYPE_PEM) != 1)
        return errorf(Code::InvalidArgument, "could not load X509 key pair: {}", sslErrorText());
    }
    return c;
  }
  if (startsWith(host, "ssh://")) {
    auto argv = sshCommandFor(host);
    if (!argv) return errorf(Code::InvalidArgument, "ssh host connection is not valid: {}", argv.error().message);
    Client c(host, "");
    c.sshArgv_ = std::move(*argv);
    return c;
  }
  if (startsWith(host, "unix://")) {
    path = host.substr(7);
  } else if (host.find("://") != std::string::npos) {
    return errorf(Code::InvalidArgument, "unsupported host {}: berth speaks unix://, tcp:// and ssh://", host);
  }
  if (path.empty()) return errorf(Code::InvalidArgument, "invalid host {}", host);
  return Client(host, path);
}

Client::~Client() {
  conn_.reset();
  if (tls_) SSL_CTX_free(tls_);
}

Client::Client(Client&& o) noexcept
    : host_(std::move(o.host_)),
      socketPath_(std::move(o.socketPath_)),
      tcpAddr_(std::move(o.tcpAddr_)),
      sshArgv_(std::move(o.sshArgv_)),
      tls_(std::exchange(o.tls_, nullptr)),
      prefix_(std::move(o.prefix_)),
      conn_(std::move(o.conn_)) {}

Result<std::unique_ptr<Connection>> Client::dial() {
  if (!sshArgv_.empty()) return Connection::dialCommand(sshArgv_);
  if (!tcpAddr_.empty()) {
    auto c = Connection::dialTcp(tcpAddr_, tls_);
    if (!c) {
      if (c.error().message.starts_with("tls:"))
        return errorf(Code::Unavailable, "error during connect: {}", c.error().message);
      return errorf(Code::Unavailable, "Cannot connect to the berth daemon at {}. Is the berth daemon running?", host_);
    }
    return c;
  }
  auto c = Connection::dial(socketPath_);
  if (!c)
    return errorf(Code::Unavailable,
                  "Cannot connect to the berth daemon at {}. Is the berth daemon running?", host_);
  return c;
}

std::vector<std::pair<std::string, std::string>> Client::baseHeaders(std::string_view contentType,
                                                                     bool hasBody) const {
  std::vector<std::pair<std::string, std::string>> h;
  if (!contentType.empty()) h.emplace_back("Content-Type", std::string(contentType));
  (void)hasBody;
  return h;
}

namespace {

// A round trip's phase name: method and path, a 64-hex id as {id}, no query.
std::string traceName(std::string_view method, std::string_view path, std::string_view what) {
  std::string p(path.substr(0, path.find('?')));
  for (size_t i = 0; i + 64 <= p.size(); i++) {
    size_t n = 0;
    while (n < 64 && std::isxdigit(static_cast<unsigned char>(p[i + n])) && !std::isupper(static_cast<unsigned char>(p[i + n]))) n++;
    if (n == 64) p.replace(i, 64, "{id}");
  }
  return fmt::format("{} {}{}", method, p, what);
}

// Records a round trip's span at scope exit; nothing (no clock read) when
// tracing is off.
struct CallTrace {
  std::string_view method, path, what;
  int64_t start = trace::on() ? trace::now() : 0;
  ~CallTrace() {
    if (start) trace::record("", traceName(method, path, what), start, trace::now());
  }
};

}  // namespace

Result<HttpResponse> Client::call(std::string_view method, const std::string& path,
                                  std::string_view body, std::string_view contentType) {
  CallTrace traced{method, path, ""};
  auto headers = baseHeaders(contentType.empty() && !body.empty() ? "application/json" : contentType,
                             !body.empty());
  headers.emplace_back("Content-Length", std::to_string(body.size()));
  std::string tgt = target(path);
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = !conn_;
    if (!conn_) {
      TRY_ASSIGN(conn_, dial());
    }
    auto sent = conn_->send(method, tgt, headers, body);
    Result<HttpResponse> r = sent ? conn_->readHead(method == "HEAD")
                                  : Result<HttpResponse>(std::unexpected(sent.error()));
    if (!r) {
      conn_.reset();
      if (!fresh) continue;  // a stale keep-alive connection: retry once
      return std::unexpected(r.error());
    }
    auto body2 = conn_->readAllBody();
    if (!body2) {
      conn_.reset();
      return std::unexpected(body2.error());
    }
    r->body = std::move(*body2);
    if (!conn_->reusable()) conn_.reset();
    return r;
  }
  return makeError(Code::Unavailable, "daemon closed the connection");
}

Result<HttpResponse> Client::callOk(std::string_view method, const std::string& path,
                                    std::string_view body, std::string_view contentType) {
  TRY_ASSIGN(HttpResponse r, call(method, path, body, contentType));
  if ((r.status >= 200 && r.status < 300) || r.status == 304) return r;
  return std::unexpected(daemonError(r, method, target(path)));
}

Result<std::pair<std::unique_ptr<Connection>, HttpResponse>> Client::stream(
    std::string_view method, const std::string& path, std::string_view body,
    std::string_view contentType, const std::vector<std::pair<std::string, std::string>>& extra) {
  CallTrace traced{method, path, " (head)"};
  TRY_ASSIGN(auto conn, dial());
  auto headers = baseHeaders(contentType.empty() && !body.empty() ? "application/json" : contentType,
                             !body.empty());
  headers.emplace_back("Content-Length", std::to_string(body.size()));
  for (auto& h : extra) headers.push_back(h);
  TRY(conn->send(method, target(path), headers, body));
  TRY_ASSIGN(HttpResponse r, conn->readHead());
  return std::make_pair(std::move(conn), std::move(r));
}

Result<std::pair<std::unique_ptr<Connection>, HttpResponse>> Client::upload(
    std::string_view method, const std::string& path, int fd, std::string_view contentType) {
  TRY_ASSIGN(auto conn, dial());
  auto headers = baseHeaders(contentType, true);
  headers.emplace_back("Transfer-Encoding", "chunked");
  TRY(conn->sendChunkedFromFd(method, target(path), headers, fd));
  TRY_ASSIGN(HttpResponse r, conn->readHead());
  return std::make_pair(std::move(conn), std::move(r));
}

Result<std::unique_ptr<Connection>> Client::hijack(std::string_view method, const std::string& path,
                                                   std::string_view body, std::string_view contentType) {
  CallTrace traced{method, path, " (hijack)"};
  TRY_ASSIGN(auto conn, dial());
  auto headers = baseHeaders(contentType, !body.empty());
  headers.emplace_back("Content-Length", std::to_string(body.size()));
  headers.emplace_back("Connection", "Upgrade");
  headers.emplace_back("Upgrade", "tcp");
  TRY(conn->send(method, target(path), headers, body));
  TRY_ASSIGN(HttpResponse r, conn->readHead());
  if (r.status == 101) return conn;
  if (r.status >= 200 && r.status < 300) return conn;  // raw stream without upgrade (dockerd does this)
  auto b = conn->readAllBody();
  if (b) r.body = std::move(*b);
  return std::unexpected(daemonError(r, method, target(path)));
}

}  // namespace berth::cli
