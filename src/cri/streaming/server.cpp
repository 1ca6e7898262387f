#include "cri/streaming/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

#include "common/log.h"
#include "common/number.h"
#include "cri/streaming/http_head.h"
#include "cri/streaming/remotecommand.h"
#include "cri/streaming/sessions.h"
#include "cri/streaming/websocket.h"

namespace berth::cri::streaming {

namespace {

constexpr int kHeadTimeoutMs = 10000;

bool sendAll(int fd, std::string_view b) {
  while (!b.empty()) {
    ssize_t n = ::send(fd, b.data(), b.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    b.remove_prefix(size_t(n));
  }
  return true;
}

}  // namespace

Server::Server(ServerConfig config, Backend& backend)
    : config_(std::move(config)), backend_(backend), cache_(config_.tokenTtl) {}

Server::~Server() { stop(); }

Result<> Server::start() {
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool v6 = config_.address.find(':') != std::string::npos;
  if (!v6) {
    if (fd >= 0) ::close(fd);
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  }
  if (fd < 0) return sysError(errno, "streaming server socket");
  listenFd_.reset(fd);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (v6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(uint16_t(config_.port));
    if (::inet_pton(AF_INET6, config_.address.c_str(), &a.sin6_addr) != 1)
      return errorf(Code::InvalidArgument, "invalid stream address {}", config_.address);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0)
      return sysError(errno, "bind streaming server to [{}]:{}", config_.address, config_.port);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(config_.port));
    if (::inet_pton(AF_INET, config_.address.c_str(), &a.sin_addr) != 1)
      return errorf(Code::InvalidArgument, "invalid stream address {}", config_.address);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0)
      return sysError(errno, "bind streaming server to {}:{}", config_.address, config_.port);
  }
  if (::listen(fd, 128) < 0) return sysError(errno, "listen on the streaming server");
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  port_ = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                   : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  acceptThread_ = std::thread([this] { acceptLoop(); });
  return {};
}

bool Server::stop(std::chrono::milliseconds grace) {
  if (!stopping_.exchange(true)) {
    if (listenFd_) ::shutdown(listenFd_.get(), SHUT_RDWR);
    if (acceptThread_.joinable()) acceptThread_.join();
  }
  std::unique_lock lk(mu_);
  for (int fd : conns_) ::shutdown(fd, SHUT_RDWR);
  if (grace == std::chrono::milliseconds::max()) {
    cv_.wait(lk, [&] { return running_ == 0; });
    return true;
  }
  return cv_.wait_for(lk, grace, [&] { return running_ == 0; });
}

std::string Server::baseUrl() const {
  bool v6 = config_.address.find(':') != std::string::npos;
  return v6 ? fmt::format("http://[{}]:{}", config_.address, port_) : fmt::format("http://{}:{}", config_.address, port_);
}

Result<std::string> Server::getExec(const ExecSpec& spec) {
  if (spec.containerId.empty()) return makeError(Code::InvalidArgument, "missing required container_id");
  if (spec.tty && spec.stderrWanted) return makeError(Code::InvalidArgument, "tty and stderr cannot both be true");
  if (!spec.stdinWanted && !spec.stdoutWanted && !spec.stderrWanted)
    return makeError(Code::InvalidArgument, "one of stdin, stdout, or stderr must be set");
  TRY_ASSIGN(std::string token, cache_.insert(spec));
  return baseUrl() + "/exec/" + token;
}

Result<std::string> Server::getAttach(const AttachSpec& spec) {
  if (spec.containerId.empty()) return makeError(Code::InvalidArgument, "missing required container_id");
  if (spec.tty && spec.stderrWanted) return makeError(Code::InvalidArgument, "tty and stderr cannot both be true");
  if (!spec.stdinWanted && !spec.stdoutWanted && !spec.stderrWanted)
    return makeError(Code::InvalidArgument, "one of stdin, stdout, and stderr must be set");
  TRY_ASSIGN(std::string token, cache_.insert(spec));
  return baseUrl() + "/attach/" + token;
}

Result<std::string> Server::getPortForward(const PortForwardSpec& spec) {
  if (spec.podSandboxId.empty()) return makeError(Code::InvalidArgument, "missing required pod_sandbox_id");
  TRY_ASSIGN(std::string token, cache_.insert(spec));
  return baseUrl() + "/portforward/" + token;
}

void Server::acceptLoop() {
  for (;;) {
    int fd = ::accept4(listenFd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) {
        if (errno == EMFILE || errno == ENFILE) ::usleep(100000);
        continue;
      }
      return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    {
      std::lock_guard lk(mu_);
      if (stopping_) {
        ::close(fd);
        return;
      }
      conns_.insert(fd);
      running_++;
    }
    std::thread([this, fd] {
      serveConnection(fd);
      std::lock_guard lk(mu_);
      running_--;
      cv_.notify_all();
    }).detach();
  }
}

void Server::serveConnection(int fd) {
  // Forget the fd before it is closed (its number may be reused at once).
  auto forget = [&] {
    std::lock_guard lk(mu_);
    conns_.erase(fd);
  };
  auto reject = [&](int code, std::string_view body,
                    const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    sendAll(fd, plainResponse(code, body, headers));
    forget();
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
  };
  std::string buf;
  std::optional<size_t> end;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kHeadTimeoutMs);
  while (!(end = findHeadEnd(buf))) {
    if (buf.size() > kMaxRequestHead) return reject(431, "request header too large\n");
    int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
                       .count());
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, left) <= 0) {
      forget();
      ::close(fd);
      return;
    }
    char tmp[4096];
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) {
      forget();
      ::close(fd);
      return;
    }
    buf.append(tmp, size_t(n));
  }
  auto head = parseRequestHead(std::string_view(buf).substr(0, *end));
  if (!head) return reject(400, head.error().message + "\n");
  std::string leftover = buf.substr(*end);
  if (head->method != "GET" && head->method != "POST") return reject(405, "405 method not allowed\n");

  std::string_view path = head->path;
  std::string kind, token;
  for (std::string_view k : {"exec", "attach", "portforward"}) {
    std::string prefix = "/" + std::string(k) + "/";
    if (path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix &&
        path.find('/', prefix.size()) == std::string_view::npos) {
      kind = std::string(k);
      token = std::string(path.substr(prefix.size()));
    }
  }
  if (kind.empty()) return reject(404, "404 page not found\n");
  auto req = cache_.consume(token);
  if (!req) return reject(404, "404 page not found\n");
  bool isPf = kind == "portforward";
  if ((kind == "exec" && !std::holds_alternative<ExecSpec>(*req)) ||
      (kind == "attach" && !std::holds_alternative<AttachSpec>(*req)) ||
      (isPf && !std::holds_alternative<PortForwardSpec>(*req)))
    return reject(404, "404 page not found\n");

  detail::CommandRequest cmd;
  if (auto* e = std::get_if<ExecSpec>(&*req)) {
    cmd.isExec = true;
    cmd.exec = *e;
  } else if (auto* a = std::get_if<AttachSpec>(&*req)) {
    cmd.isExec = false;
    cmd.attach = *a;
  }

  if (head->upgradeTo("websocket")) {
    std::string key = head->get("Sec-WebSocket-Key");
    if (key.empty()) return reject(400, "missing Sec-WebSocket-Key\n");
    std::string version = head->get("Sec-WebSocket-Version");
    if (version != "13")
      return reject(400, "unsupported websocket version\n", {{"Sec-WebSocket-Version", "13"}});
    auto offered = splitProtocols(head->all("Sec-WebSocket-Protocol"));
    auto proto = isPf ? negotiateWsPortForward(offered) : negotiateWsRemoteCommand(offered);
    if (!proto) {
      std::string list;
      for (auto& o : offered) list += (list.empty() ? "" : " ") + o;
      return reject(403, fmt::format("requested protocol(s) are not supported: [{}]\n", list));
    }
    PortForwardSpec pf;
    if (isPf) {
      pf = std::get<PortForwardSpec>(*req);
      if (pf.ports.empty()) {
        // kubelet's CRI server takes the ports of the PortForwardRequest;
        // a request without any falls back to the "ports" query parameter.
        for (auto& v : head->queryValues("ports"))
          for (auto& item : splitProtocols({v})) {
            auto n = parseNumber<uint16_t>(item);
            if (!n || *n < 1) return reject(400, fmt::format("unable to parse \"{}\" as a port\n", item));
            pf.ports.push_back(*n);
          }
      }
    }
    std::string resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
    resp += "Sec-WebSocket-Accept: " + ws::acceptKey(key) + "\r\n";
    if (!proto->name.empty()) resp += "Sec-WebSocket-Protocol: " + proto->name + "\r\n";
    resp += "\r\n";
    if (!sendAll(fd, resp)) {
      forget();
      ::close(fd);
      return;
    }
    if (isPf) detail::serveWsPortForward(fd, std::move(leftover), *proto, pf, backend_);
    else detail::serveWsCommand(fd, std::move(leftover), *proto, cmd, backend_);
    forget();
    ::close(fd);
    return;
  }

  // SPDY/3.1: protocol negotiation (httpstream.Handshake), then the upgrade.
  auto clientProtocols = splitProtocols(head->all("X-Stream-Protocol-Version"));
  if (clientProtocols.empty())
    return reject(400, "unable to upgrade: X-Stream-Protocol-Version is required\n");
  std::vector<std::string> server =
      isPf ? std::vector<std::string>{std::string(kPortForwardProtocolV1)} : supportedRemoteCommandProtocols();
  std::string chosen = negotiate(clientProtocols, server);
  if (chosen.empty()) {
    std::vector<std::pair<std::string, std::string>> hs;
    for (auto& s : server) hs.emplace_back("X-Accepted-Stream-Protocol-Versions", s);
    std::string c, s;
    for (auto& x : clientProtocols) c += (c.empty() ? "" : " ") + x;
    for (auto& x : server) s += (s.empty() ? "" : " ") + x;
    return reject(403,
                  fmt::format("unable to upgrade: unable to negotiate protocol: client supports [{}], server accepts [{}]\n",
                              c, s),
                  hs);
  }
  if (!head->upgradeTo("SPDY/3.1")) return reject(400, "unable to upgrade: missing upgrade headers in request\n");
  std::string resp = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n";
  resp += "X-Stream-Protocol-Version: " + chosen + "\r\n\r\n";
  if (!sendAll(fd, resp)) {
    forget();
    ::close(fd);
    return;
  }
  if (isPf)
    detail::serveSpdyPortForward(fd, std::move(leftover), std::get<PortForwardSpec>(*req), backend_);
  else
    detail::serveSpdyCommand(fd, std::move(leftover), *protocolFromName(chosen), cmd, backend_,
                             config_.streamCreationTimeout);
  forget();
  ::close(fd);
}

}  // namespace berth::cri::streaming
