#include "dns/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <optional>
#include <unordered_map>

#include "common/fd.h"
#include "common/log.h"
#include "common/number.h"
#include "common/util.h"
#include "dns/message.h"
#include "dns/records.h"
#include "network/dns.h"

namespace berth::dns {

namespace {

constexpr size_t kMaxConns = 64;            // TCP clients at once; more are closed at accept
constexpr int kConnIdleMs = 10000;          // a TCP client with nothing pending is closed after this
constexpr int kMaxPendingPerConn = 16;      // a TCP client's forwarded queries in flight
constexpr size_t kMaxPending = 4096;        // forwarded queries in flight in all
constexpr size_t kMaxConnOut = 256 * 1024;  // answers a TCP client does not read
constexpr int kUdpBurst = 64;               // datagrams read per socket per loop turn

int64_t nowMs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

struct Addr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family() const { return ss.ss_family; }
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&ss); }
};

bool sameAddr(const Addr& a, const Addr& b) {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET) {
    auto& x = reinterpret_cast<const sockaddr_in&>(a.ss);
    auto& y = reinterpret_cast<const sockaddr_in&>(b.ss);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  auto& x = reinterpret_cast<const sockaddr_in6&>(a.ss);
  auto& y = reinterpret_cast<const sockaddr_in6&>(b.ss);
  return x.sin6_port == y.sin6_port && std::memcmp(&x.sin6_addr, &y.sin6_addr, 16) == 0;
}

bool sameHost(const Addr& a, const Addr& b) {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET)
    return reinterpret_cast<const sockaddr_in&>(a.ss).sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in&>(b.ss).sin_addr.s_addr;
  return std::memcmp(&reinterpret_cast<const sockaddr_in6&>(a.ss).sin6_addr,
                     &reinterpret_cast<const sockaddr_in6&>(b.ss).sin6_addr, 16) == 0;
}

// "ip", "ip:port", "[ip6]:port" or a bare IPv6 address.
std::optional<Addr> parseAddr(std::string_view s, uint16_t defPort) {
  std::string host;
  uint16_t port = defPort;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = std::string(s.substr(1, close - 1));
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      auto p = parseNumber<uint16_t>(rest.substr(1));
      if (!p || *p == 0) return std::nullopt;
      port = *p;
    }
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    auto colon = s.find(':');
    host = std::string(s.substr(0, colon));
    auto p = parseNumber<uint16_t>(s.substr(colon + 1));
    if (!p || *p == 0) return std::nullopt;
    port = *p;
  } else {
    host = std::string(s);
  }
  Addr a;
  auto* in4 = reinterpret_cast<sockaddr_in*>(&a.ss);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
  if (::inet_pton(AF_INET, host.c_str(), &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    a.len = sizeof(sockaddr_in);
    return a;
  }
  if (::inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    a.len = sizeof(sockaddr_in6);
    return a;
  }
  return std::nullopt;
}

std::string addrStr(const Addr& a) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (a.family() == AF_INET) {
    auto& x = reinterpret_cast<const sockaddr_in&>(a.ss);
    ::inet_ntop(AF_INET, &x.sin_addr, buf, sizeof buf);
    return fmt::format("{}:{}", buf, ntohs(x.sin_port));
  }
  auto& x = reinterpret_cast<const sockaddr_in6&>(a.ss);
  ::inet_ntop(AF_INET6, &x.sin6_addr, buf, sizeof buf);
  return fmt::format("[{}]:{}", buf, ntohs(x.sin6_port));
}

// What identifies a file's version: a replace (rename) changes the inode, a
// rewrite in place the mtime or size.
struct FileKey {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  int64_t mtimeNs = 0;
  off_t size = 0;
  bool operator==(const FileKey&) const = default;
};

FileKey fileKey(const std::string& path) {
  struct stat st;
  FileKey k;
  if (::stat(path.c_str(), &st) != 0) return k;
  k.exists = true;
  k.dev = st.st_dev;
  k.ino = st.st_ino;
  k.mtimeNs = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  k.size = st.st_size;
  return k;
}

// The nameservers of a resolv.conf, in order.
std::vector<std::string> resolvNameservers(const std::string& path) {
  std::vector<std::string> out;
  auto text = readFile(path);
  if (!text) return out;
  for (auto& line : split(*text, '\n')) {
    std::string t = trim(line);
    if (!startsWith(t, "nameserver")) continue;
    std::string v = trim(std::string_view(t).substr(10));
    if (v.empty() || v.size() == t.size() - 10) continue;  // "nameserverX"
    if (auto sp = v.find_first_of(" \t#;"); sp != std::string::npos) v.resize(sp);
    if (v.find('%') != std::string::npos) continue;  // link-local with a zone: not reachable from here
    out.push_back(v);
  }
  return out;
}

Result<UniqueFd> bindSocket(const Addr& a, bool tcp) {
  UniqueFd fd(::socket(a.family(), (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return sysError(errno, "socket");
  int one = 1;
  // The gateway address may not exist yet (the bridge is configured after
  // berth-dns starts, or again after a host restart): bind it anyway.
  if (::setsockopt(fd.get(), SOL_IP, IP_FREEBIND, &one, sizeof one) != 0)
    return sysError(errno, "IP_FREEBIND");
  if (a.family() == AF_INET6) {
    ::setsockopt(fd.get(), SOL_IPV6, IPV6_FREEBIND, &one, sizeof one);
    ::setsockopt(fd.get(), SOL_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  // TCP only: a restarted berth-dns must rebind despite TIME_WAIT. UDP
  // never shares its port (two resolvers on one address would split queries).
  if (tcp) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), a.sa(), a.len) != 0) return sysError(errno, "bind {}/{}", addrStr(a), tcp ? "tcp" : "udp");
  if (tcp && ::listen(fd.get(), 64) != 0) return sysError(errno, "listen {}", addrStr(a));
  return fd;
}

struct Listener {
  UniqueFd fd;
  bool tcp = false;
  Addr local;
};

// The host part of an address, as inet_ntop writes it ("" for neither family).
std::string hostKey(const Addr& a) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (a.family() == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(a.ss).sin_addr, buf, sizeof buf);
  else if (a.family() == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(a.ss).sin6_addr, buf, sizeof buf);
  return buf;
}

// A known client's view (network::DnsClient): its records and upstreams.
struct ClientView {
  Table table;
  std::vector<Addr> upstreams;  // empty: the network's
  bool ownUpstreams = false;
};

struct Conn {  // a TCP client
  UniqueFd fd;
  std::string peer;  // hostKey of the client
  std::string in, out;
  int64_t lastActive = 0;
  int pending = 0;
  bool readClosed = false;
};

struct Pending {  // a query forwarded upstream, keyed by the id we gave it
  uint16_t clientId = 0;
  std::string query;  // as sent upstream: our id in it
  bool clientTcp = false;
  int udpFd = -1;  // the listener the client's datagram came in on
  Addr client;
  uint64_t connId = 0;
  size_t udpLimit = kMaxUdpPlain;
  std::vector<Addr> ups;  // the upstreams this query goes to (the network's or its client's)
  size_t server = 0;   // index into ups (modulo their number)
  size_t tried = 0;    // attempts made
  int64_t deadline = 0, attemptDeadline = 0;
  bool overTcp = false;
  Addr upstream;     // the server of the current attempt
  UniqueFd tcpFd;    // the TCP attempt's connection
  std::string tcpBuf;  // TCP attempt: the framed query to write, then the framed answer read
  size_t tcpSent = 0;
  bool tcpReading = false;
  std::string truncated;  // a UDP answer with TC, relayed if TCP does not do better
};

class Server {
 public:
  explicit Server(const ServerOptions& o) : opts_(o) {}
  int run();

 private:
  bool loadConfig();
  void maybeReload();
  void setUpstreams();
  void onUdpListener(Listener& l);
  void onAccept(Listener& l);
  void onConn(uint64_t id, short revents);
  void closeConn(uint64_t id);
  void processConnInput(uint64_t id);
  void handleQuery(std::string_view q, int udpFd, const Addr* from, uint64_t connId, const std::string& peer);
  void forward(std::string_view q, size_t udpLimit, int udpFd, const Addr* from, uint64_t connId,
               const std::vector<Addr>& ups);
  std::vector<Addr> resolveUpstreams(const std::vector<std::string>& names, bool fromHost) const;
  void setClients();
  void attempt(uint16_t uid);
  void nextServer(uint16_t uid);
  void onUpstreamUdp(int fd);
  void onUpstreamTcp(uint16_t uid, short revents);
  void upstreamAnswer(uint16_t uid, std::string answer, bool viaTcp);
  void finish(uint16_t uid, std::string answer);
  void expire(int64_t now);
  void replyTo(int udpFd, const Addr* from, uint64_t connId, std::string_view answer);
  void flushConn(Conn& c);
  int upstreamSocket(int family);
  uint16_t newId();

  ServerOptions opts_;
  network::DnsConfig cfg_;
  Table table_;
  FileKey cfgKey_, resolvKey_;
  std::vector<Addr> upstreams_;
  std::unordered_map<std::string, ClientView> clients_;  // by hostKey
  std::vector<Addr> listenAddrs_;
  std::vector<Listener> listeners_;
  UniqueFd up4_, up6_, sigFd_;
  std::map<uint64_t, Conn> conns_;
  uint64_t nextConnId_ = 1;
  std::unordered_map<uint16_t, Pending> pending_;
  uint16_t randPool_[32];
  size_t randLeft_ = 0;
  uint32_t fallbackIds_ = 0;
  char buf_[65536];
};

bool Server::loadConfig() {
  FileKey key = fileKey(opts_.configPath);
  auto cfg = network::readDnsConfig(opts_.configPath);
  if (!cfg) {
    log::error("config: {}", cfg.error().message);
    cfgKey_ = key;  // do not retry an unchanged broken file on every query
    return false;
  }
  cfgKey_ = key;
  if (!listenAddrs_.empty() && cfg->listen != cfg_.listen)
    log::warn("config: listen addresses changed; they apply when berth-dns restarts");
  cfg_ = std::move(*cfg);
  table_ = Table(cfg_);
  setUpstreams();
  setClients();
  log::debug("config: {} records, {} upstreams, {} clients", table_.size(), upstreams_.size(), clients_.size());
  return true;
}

void Server::setUpstreams() {
  std::vector<std::string> names = cfg_.upstreams;
  bool fromHost = names.empty();
  if (fromHost) {
    resolvKey_ = fileKey(opts_.resolvConf);
    names = resolvNameservers(opts_.resolvConf);
  }
  upstreams_ = resolveUpstreams(names, fromHost);
}

void Server::setClients() {
  clients_.clear();
  for (auto& c : cfg_.clients) {
    auto a = parseAddr(c.address, 0);
    if (!a) {
      log::warn("client {}: not an address", c.address);
      continue;
    }
    std::string key = hostKey(*a);
    if (clients_.contains(key)) continue;  // the first entry of an address wins
    ClientView& v = clients_[key];
    network::DnsConfig view;
    view.searchDomains = cfg_.searchDomains;
    view.records = cfg_.records;  // the network's own names first: they win over the others'
    view.records.insert(view.records.end(), c.extraRecords.begin(), c.extraRecords.end());
    v.table = Table(view);
    // Its own servers; none usable (say, only the gateway itself): the network's.
    v.upstreams = resolveUpstreams(c.upstreams, false);
    v.ownUpstreams = !v.upstreams.empty();
  }
}

std::vector<Addr> Server::resolveUpstreams(const std::vector<std::string>& names, bool fromHost) const {
  std::vector<Addr> out;
  for (auto& n : names) {
    auto a = parseAddr(n, 53);
    if (!a) {
      log::warn("upstream {}: not an address", n);
      continue;
    }
    // Never forward to ourselves (the host's resolv.conf may name the gateway).
    bool self = false;
    for (auto& l : listenAddrs_) self = self || (sameHost(*a, l) && (fromHost || sameAddr(*a, l)));
    if (!self) out.push_back(*a);
  }
  return out;
}

void Server::maybeReload() {
  FileKey key = fileKey(opts_.configPath);
  if (key.exists && !(key == cfgKey_)) loadConfig();
  else if (cfg_.upstreams.empty() && !(fileKey(opts_.resolvConf) == resolvKey_)) setUpstreams();
}

uint16_t Server::newId() {
  for (;;) {
    if (randLeft_ == 0) {
      if (::getrandom(randPool_, sizeof randPool_, 0) != sizeof randPool_)
        for (auto& r : randPool_) r = uint16_t(++fallbackIds_ * 40503u);
      randLeft_ = std::size(randPool_);
    }
    uint16_t id = randPool_[--randLeft_];
    if (!pending_.contains(id)) return id;
  }
}

int Server::upstreamSocket(int family) {
  UniqueFd& fd = family == AF_INET ? up4_ : up6_;
  if (!fd) fd.reset(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  return fd.get();
}

void Server::replyTo(int udpFd, const Addr* from, uint64_t connId, std::string_view answer) {
  if (answer.empty()) return;
  if (from) {
    ::sendto(udpFd, answer.data(), answer.size(), MSG_DONTWAIT | MSG_NOSIGNAL, from->sa(), from->len);
    return;
  }
  auto it = conns_.find(connId);
  if (it == conns_.end()) return;  // the client went away meanwhile
  Conn& c = it->second;
  if (c.out.size() > kMaxConnOut) return;  // it does not read: dropped, closed by idleness
  std::string len(2, '\0');
  put16(len, 0, uint16_t(answer.size()));
  c.out += len;
  c.out.append(answer);
  flushConn(c);
}

void Server::flushConn(Conn& c) {
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) return;
    c.out.erase(0, size_t(n));
  }
}

void Server::handleQuery(std::string_view q, int udpFd, const Addr* from, uint64_t connId,
                         const std::string& peer) {
  maybeReload();
  const ClientView* client = nullptr;
  if (auto it = clients_.find(peer); it != clients_.end()) client = &it->second;
  Decision d = decide(client ? client->table : table_, q, from != nullptr);
  if (d.action == Action::Reply) replyTo(udpFd, from, connId, d.reply);
  else if (d.action == Action::Forward)
    forward(q, d.udpLimit, udpFd, from, connId, client && client->ownUpstreams ? client->upstreams : upstreams_);
}

void Server::forward(std::string_view q, size_t udpLimit, int udpFd, const Addr* from, uint64_t connId,
                     const std::vector<Addr>& ups) {
  if (ups.empty() || pending_.size() >= kMaxPending) {
    replyTo(udpFd, from, connId, errorReply(q, kServFail));
    return;
  }
  uint16_t uid = newId();
  Pending& p = pending_[uid];
  p.ups = ups;
  p.clientId = get16(q, 0);
  p.query = std::string(q);
  put16(p.query, 0, uid);
  p.clientTcp = from == nullptr;
  p.udpFd = udpFd;
  if (from) p.client = *from;
  p.connId = connId;
  p.udpLimit = udpLimit;
  p.overTcp = p.clientTcp;
  p.deadline = nowMs() + opts_.deadlineMs;
  if (p.clientTcp) conns_[connId].pending++;
  attempt(uid);
}

// Sends the query to the current server, over UDP or TCP.
void Server::attempt(uint16_t uid) {
  Pending& p = pending_[uid];
  int64_t now = nowMs();
  p.upstream = p.ups[p.server % p.ups.size()];
  p.tried++;
  p.attemptDeadline = std::min(now + opts_.attemptMs, p.deadline);
  p.tcpFd.reset();
  if (!p.overTcp) {
    int fd = upstreamSocket(p.upstream.family());
    bool sent = fd >= 0 && ::sendto(fd, p.query.data(), p.query.size(), MSG_NOSIGNAL, p.upstream.sa(),
                                    p.upstream.len) >= 0;
    if (!sent && p.tried < p.ups.size()) p.attemptDeadline = now;  // the next one at the next turn
    return;
  }
  p.tcpFd.reset(::socket(p.upstream.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  p.tcpBuf.assign(2, '\0');
  put16(p.tcpBuf, 0, uint16_t(p.query.size()));
  p.tcpBuf += p.query;
  p.tcpSent = 0;
  p.tcpReading = false;
  if (!p.tcpFd || (::connect(p.tcpFd.get(), p.upstream.sa(), p.upstream.len) != 0 && errno != EINPROGRESS)) {
    p.tcpFd.reset();
    if (p.tried < p.ups.size()) p.attemptDeadline = now;
  }
}

void Server::nextServer(uint16_t uid) {
  Pending& p = pending_[uid];
  if (nowMs() >= p.deadline || p.ups.empty()) {
    finish(uid, p.truncated.empty() ? errorReply(p.query, kServFail) : p.truncated);
    return;
  }
  p.server++;
  attempt(uid);
}

void Server::finish(uint16_t uid, std::string answer) {
  auto it = pending_.find(uid);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  if (answer.size() >= 2) put16(answer, 0, p.clientId);
  uint64_t connId = p.clientTcp ? p.connId : 0;
  if (p.clientTcp) {
    auto c = conns_.find(p.connId);
    if (c != conns_.end()) c->second.pending--;
    replyTo(-1, nullptr, p.connId, answer);
  } else {
    replyTo(p.udpFd, &p.client, 0, answer);
  }
  pending_.erase(it);
  if (connId) processConnInput(connId);  // queries held back while it had too many in flight
}

// True when `answer` answers `query`'s question (same name in any case, type
// and class), or carries no question but an error code (FORMERR and the
// like). A late answer to an earlier query whose id was reused fails this.
bool answersQuestion(std::string_view query, std::string_view answer, const Header& h) {
  if (h.qdcount == 0) return h.rcode() != kNoError;
  size_t oq = kHeaderSize, oa = kHeaderSize;
  auto nq = readName(query, oq);
  auto na = readName(answer, oa);
  if (!nq || !na || query.size() < oq + 4 || answer.size() < oa + 4) return false;
  return toLower(*nq) == toLower(*na) && query.substr(oq, 4) == answer.substr(oa, 4);
}

void Server::upstreamAnswer(uint16_t uid, std::string answer, bool viaTcp) {
  Pending& p = pending_[uid];
  Header h;
  // Not an answer to this query: wait for the real one.
  if (!parseHeader(answer, h) || !(h.flags & kFlagQr) || !answersQuestion(p.query, answer, h)) return;
  if (!viaTcp && (h.flags & kFlagTc) && !p.clientTcp) {
    // Too big for UDP: ask the same server over TCP; relay the truncated
    // answer if that fails or the full one does not fit the client's size.
    p.truncated = std::move(answer);
    p.overTcp = true;
    p.tried--;
    attempt(uid);
    return;
  }
  if ((h.rcode() == kServFail || h.rcode() == kRefused) && p.tried < p.ups.size() && nowMs() < p.deadline) {
    p.server++;
    attempt(uid);
    return;
  }
  if (viaTcp && !p.clientTcp && answer.size() > p.udpLimit) answer = p.truncated;
  finish(uid, std::move(answer));
}

void Server::onUpstreamUdp(int fd) {
  for (int i = 0; i < kUdpBurst; i++) {
    Addr from;
    from.len = sizeof from.ss;
    ssize_t n = ::recvfrom(fd, buf_, sizeof buf_, MSG_DONTWAIT, from.sa(), &from.len);
    if (n < 0) return;
    if (n < ssize_t(kHeaderSize)) continue;
    std::string answer(buf_, size_t(n));
    auto it = pending_.find(get16(answer, 0));
    // Only from the server asked (a late answer of a previous attempt counts).
    if (it == pending_.end() || it->second.overTcp) continue;
    bool known = false;
    for (auto& u : it->second.ups) known = known || sameAddr(u, from);
    if (!known && !sameAddr(it->second.upstream, from)) continue;
    upstreamAnswer(it->first, std::move(answer), false);
  }
}

void Server::onUpstreamTcp(uint16_t uid, short revents) {
  Pending& p = pending_[uid];
  auto failed = [&] {
    p.tcpFd.reset();
    // The next server at once while some are untried; else wait for this
    // attempt's time (no busy loop over refused connections).
    if (p.tried < p.ups.size()) p.attemptDeadline = nowMs();
  };
  if (!p.tcpReading) {
    if (revents & (POLLERR | POLLHUP)) return failed();
    while (p.tcpSent < p.tcpBuf.size()) {
      ssize_t n = ::send(p.tcpFd.get(), p.tcpBuf.data() + p.tcpSent, p.tcpBuf.size() - p.tcpSent,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) failed();
        return;
      }
      p.tcpSent += size_t(n);
    }
    p.tcpReading = true;
    p.tcpBuf.clear();
    return;
  }
  ssize_t n = ::recv(p.tcpFd.get(), buf_, sizeof buf_, MSG_DONTWAIT);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) failed();
    return;
  }
  if (n == 0) return failed();
  p.tcpBuf.append(buf_, size_t(n));
  if (p.tcpBuf.size() < 2) return;
  size_t len = get16(p.tcpBuf, 0);
  if (p.tcpBuf.size() < 2 + len) return;
  std::string answer = p.tcpBuf.substr(2, len);
  p.tcpFd.reset();
  if (len < kHeaderSize || get16(answer, 0) != uid) return failed();
  upstreamAnswer(uid, std::move(answer), true);
}

void Server::expire(int64_t now) {
  std::vector<uint16_t> due;
  for (auto& [uid, p] : pending_)
    if (now >= p.attemptDeadline) due.push_back(uid);
  for (uint16_t uid : due) {
    auto it = pending_.find(uid);  // finished meanwhile, or its id reused by a newer query
    if (it != pending_.end() && now >= it->second.attemptDeadline) nextServer(uid);
  }
  std::vector<uint64_t> idle;
  for (auto& [id, c] : conns_)
    if (c.pending == 0 && ((c.readClosed && c.out.empty()) || now - c.lastActive > kConnIdleMs)) idle.push_back(id);
  for (uint64_t id : idle) closeConn(id);
}

void Server::onUdpListener(Listener& l) {
  for (int i = 0; i < kUdpBurst; i++) {
    Addr from;
    from.len = sizeof from.ss;
    ssize_t n = ::recvfrom(l.fd.get(), buf_, sizeof buf_, MSG_DONTWAIT, from.sa(), &from.len);
    if (n < 0) return;
    handleQuery(std::string_view(buf_, size_t(n)), l.fd.get(), &from, 0, hostKey(from));
  }
}

void Server::onAccept(Listener& l) {
  for (;;) {
    Addr peer;
    peer.len = sizeof peer.ss;
    UniqueFd fd(::accept4(l.fd.get(), peer.sa(), &peer.len, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) return;
    if (conns_.size() >= kMaxConns) continue;  // closed at once
    Conn& c = conns_[nextConnId_++];
    c.fd = std::move(fd);
    c.peer = hostKey(peer);
    c.lastActive = nowMs();
  }
}

void Server::closeConn(uint64_t id) { conns_.erase(id); }

void Server::onConn(uint64_t id, short revents) {
  Conn& c = conns_[id];
  c.lastActive = nowMs();
  if (revents & (POLLERR | POLLHUP)) return closeConn(id);  // both ways closed: nothing can reach it
  if (revents & POLLOUT) flushConn(c);
  if ((revents & POLLIN) && !c.readClosed) {
    ssize_t n = ::recv(c.fd.get(), buf_, sizeof buf_, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
      c.readClosed = true;
      if (n < 0) return closeConn(id);
    } else if (n > 0) {
      c.in.append(buf_, size_t(n));
    }
  }
  processConnInput(id);
}

// The whole messages a TCP client has sent (2-byte length, then the
// message; RFC 7766), while fewer than kMaxPendingPerConn are in flight.
void Server::processConnInput(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Conn& c = it->second;
  while (c.in.size() >= 2 && c.pending < kMaxPendingPerConn) {
    size_t len = get16(c.in, 0);
    if (len < kHeaderSize) return closeConn(id);  // cannot be a query: give up on this stream
    if (c.in.size() < 2 + len) break;
    std::string q = c.in.substr(2, len);
    c.in.erase(0, 2 + len);
    handleQuery(q, -1, nullptr, id, c.peer);
  }
}

int Server::run() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  sigFd_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!sigFd_) {
    log::error("signalfd: {}", std::strerror(errno));
    return 1;
  }

  auto cfg = network::readDnsConfig(opts_.configPath);
  if (!cfg) {
    log::error("{}", cfg.error().message);
    return 1;
  }
  if (cfg->listen.empty()) {
    log::error("{}: no listen address", opts_.configPath);
    return 1;
  }
  for (auto& s : cfg->listen) {
    auto a = parseAddr(s, 53);
    if (!a) {
      log::error("listen address {}: not an address", s);
      return 1;
    }
    listenAddrs_.push_back(*a);
    for (bool tcp : {false, true}) {
      auto fd = bindSocket(*a, tcp);
      if (!fd) {
        log::error("{}", fd.error().message);
        return 1;
      }
      listeners_.push_back(Listener{std::move(*fd), tcp, *a});
    }
  }
  cfg_.listen = cfg->listen;
  loadConfig();
  if (!opts_.pidFile.empty()) {
    auto w = writeFileAtomic(opts_.pidFile, fmt::format("{}\n", ::getpid()), 0644);
    if (!w) {
      log::error("pid file: {}", w.error().message);
      return 1;
    }
  }
  std::string where;
  for (auto& a : listenAddrs_) where += (where.empty() ? "" : ", ") + addrStr(a);
  log::info("berth-dns for network {} listening on {} (udp, tcp); {} records, {} upstreams", cfg_.networkId, where,
            table_.size(), upstreams_.size());

  enum Kind { kSignal, kListener, kUpstream, kConn, kPendingTcp };
  struct Slot {
    Kind kind;
    uint64_t key;
  };
  std::vector<pollfd> fds;
  std::vector<Slot> slots;
  for (;;) {
    fds.clear();
    slots.clear();
    auto add = [&](int fd, short ev, Kind k, uint64_t key) {
      fds.push_back(pollfd{fd, ev, 0});
      slots.push_back(Slot{k, key});
    };
    add(sigFd_.get(), POLLIN, kSignal, 0);
    for (size_t i = 0; i < listeners_.size(); i++) add(listeners_[i].fd.get(), POLLIN, kListener, i);
    if (up4_) add(up4_.get(), POLLIN, kUpstream, 0);
    if (up6_) add(up6_.get(), POLLIN, kUpstream, 0);
    int64_t now = nowMs();
    int64_t wake = -1;
    for (auto& [id, c] : conns_) {
      short ev = 0;
      if (!c.readClosed && c.pending < kMaxPendingPerConn) ev |= POLLIN;
      if (!c.out.empty()) ev |= POLLOUT;
      add(c.fd.get(), ev, kConn, id);
      int64_t w = c.pending ? -1 : c.lastActive + kConnIdleMs + 1;
      if (c.readClosed && c.out.empty() && !c.pending) w = now;
      if (w >= 0 && (wake < 0 || w < wake)) wake = w;
    }
    for (auto& [uid, p] : pending_) {
      if (p.tcpFd) add(p.tcpFd.get(), p.tcpReading ? POLLIN : POLLOUT, kPendingTcp, uid);
      if (wake < 0 || p.attemptDeadline < wake) wake = p.attemptDeadline;
    }
    int timeout = wake < 0 ? -1 : int(std::max<int64_t>(0, wake - now));
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) {
      log::error("poll: {}", std::strerror(errno));
      return 1;
    }
    for (size_t i = 0; n > 0 && i < fds.size(); i++) {
      if (!fds[i].revents) continue;
      switch (slots[i].kind) {
        case kSignal: {
          signalfd_siginfo si;
          if (::read(sigFd_.get(), &si, sizeof si) == ssize_t(sizeof si)) {
            log::info("signal {}: exiting", si.ssi_signo);
            return 0;
          }
          break;
        }
        case kListener: {
          Listener& l = listeners_[slots[i].key];
          if (l.tcp) onAccept(l);
          else onUdpListener(l);
          break;
        }
        case kUpstream: onUpstreamUdp(fds[i].fd); break;
        case kConn:
          if (conns_.contains(slots[i].key)) onConn(slots[i].key, fds[i].revents);
          break;
        case kPendingTcp: {
          auto it = pending_.find(uint16_t(slots[i].key));
          if (it != pending_.end() && it->second.tcpFd && it->second.tcpFd.get() == fds[i].fd)
            onUpstreamTcp(it->first, fds[i].revents);
          break;
        }
      }
    }
    expire(nowMs());
  }
}

}  // namespace

int runServer(const ServerOptions& opts) {
  // The server holds a 64 KB receive buffer: keep it off the stack.
  auto server = std::make_unique<Server>(opts);
  int rc = server->run();
  if (!opts.pidFile.empty()) {
    auto text = readFile(opts.pidFile);
    if (text && parseNumber<int>(trim(*text)) == int(::getpid())) ::unlink(opts.pidFile.c_str());
  }
  return rc;
}

}  // namespace berth::dns
