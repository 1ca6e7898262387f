// berth-dns as a process (root): started by network::ensureResolver inside a
// private network namespace made here (so port 53 is free and nothing
// leaks), with a fake upstream DNS server on 127.0.0.1:53 of that namespace.
// Queries go over UDP and TCP to the listen addresses on `lo` of the
// namespace; everything vanishes with the namespace and the temp dir.

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "common/fd.h"
#include "common/util.h"
#include "dns/message.h"
#include "netns_test_util.h"
#include "network/dns.h"
#include "network/ipam.h"
#include "network/netlink.h"

extern char** environ;

using namespace berth;
using namespace berth::dns;
using namespace std::chrono_literals;

namespace {

using testutil::newNetns;

template <class F>
auto inNs(int ns, F f) -> decltype(f()) {
  decltype(f()) r{};
  std::thread t([&] {
    if (::setns(ns, CLONE_NEWNET) == 0) r = f();
  });
  t.join();
  return r;
}

std::string dnsBin() {
  if (const char* env = ::getenv("BERTH_DNS_BIN")) return env;
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "";
  std::string p(self, size_t(n));
  return p.substr(0, p.rfind('/')) + "/berth-dns";
}

sockaddr_storage sockAddr(const std::string& ip, uint16_t port, socklen_t& len) {
  sockaddr_storage ss{};
  auto* in4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, ip.c_str(), &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    len = sizeof *in4;
  } else {
    ::inet_pton(AF_INET6, ip.c_str(), &in6->sin6_addr);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    len = sizeof *in6;
  }
  return ss;
}

int family(const std::string& ip) { return ip.find(':') == std::string::npos ? AF_INET : AF_INET6; }

std::string query(std::string_view name, uint16_t type, uint16_t id) {
  Builder b(id, kFlagRd);
  b.question(name, type);
  return b.take();
}

std::string withEdns(std::string q, uint16_t size) {
  q.push_back('\0');
  q += std::string{0, char(kTypeOpt), char(size >> 8), char(size & 0xff), 0, 0, 0, 0, 0, 0};
  put16(q, 10, 1);
  return q;
}

// The fake upstream: UDP and TCP on 127.0.0.1:53 of the namespace.
//   example.test A  -> 192.0.2.7
//   missing.test    -> NXDOMAIN
//   big.test A      -> over UDP: TC and no answer; over TCP: 40 addresses
//   wrong.test      -> an answer to another question (other.test)
//   anything else   -> REFUSED
class FakeUpstream {
 public:
  // `ip`: where it listens; `base`: the last byte of example.test's first address.
  bool start(int ns, const std::string& ip = "127.0.0.1", uint8_t base = 7) {
    base_ = base;
    socklen_t len;
    auto a = sockAddr(ip, 53, len);
    udp_ = inNs(ns, [&] {
      UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      return fd && ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), len) == 0 ? fd.release() : -1;
    });
    tcp_ = inNs(ns, [&] {
      UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      return fd && ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), len) == 0 && ::listen(fd.get(), 64) == 0
                 ? fd.release()
                 : -1;
    });
    if (udp_ < 0 || tcp_ < 0 || ::pipe2(stop_, O_CLOEXEC) != 0) return false;
    thread_ = std::thread([this] { loop(); });
    return true;
  }
  ~FakeUpstream() {
    if (thread_.joinable()) {
      (void)!::write(stop_[1], "x", 1);
      thread_.join();
    }
    for (int fd : {udp_, tcp_, stop_[0], stop_[1]})
      if (fd >= 0) ::close(fd);
  }
  std::atomic<int> udpQueries{0}, tcpQueries{0};
  std::atomic<uint16_t> lastId{0};

 private:
  std::string answer(std::string_view q, bool tcp) {
    auto m = parse(q);
    if (!m || m->questions.size() != 1) return "";
    lastId = m->header.id;
    const Question& qq = m->questions[0];
    Rcode rc = kRefused;
    int count = 0;
    bool tc = false;
    if (qq.name == "example.test") rc = kNoError, count = qq.type == kTypeA ? 1 : 0;
    else if (qq.name == "missing.test") rc = kNxDomain;
    else if (qq.name == "big.test") rc = kNoError, count = tcp ? 40 : 0, tc = !tcp;
    Builder b(m->header.id, uint16_t(kFlagQr | kFlagRd | kFlagRa | (tc ? kFlagTc : 0) | rc));
    b.question(qq.name == "wrong.test" ? "other.test" : qq.name, qq.type, qq.klass);
    for (int i = 0; i < count; i++)
      b.answerToQuestion(kTypeA, 60, std::string{char(192), 0, 2, char(base_ + i)});
    return b.take();
  }

  void loop() {
    char buf[65536];
    for (;;) {
      pollfd p[3] = {{stop_[0], POLLIN, 0}, {udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
      if (::poll(p, 3, -1) < 0) continue;
      if (p[0].revents) return;
      if (p[1].revents & POLLIN) {
        sockaddr_storage from{};
        socklen_t fl = sizeof from;
        ssize_t n = ::recvfrom(udp_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
        if (n > 0) {
          udpQueries++;
          std::string a = answer(std::string_view(buf, size_t(n)), false);
          if (!a.empty()) ::sendto(udp_, a.data(), a.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
        }
      }
      if (p[2].revents & POLLIN) {
        UniqueFd c(::accept4(tcp_, nullptr, nullptr, SOCK_CLOEXEC));
        if (!c) continue;
        timeval tv{2, 0};
        ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        std::string in;
        while (in.size() < 2 || in.size() < 2 + size_t(get16(in, 0))) {
          ssize_t n = ::recv(c.get(), buf, sizeof buf, 0);
          if (n <= 0) break;
          in.append(buf, size_t(n));
        }
        if (in.size() < 2 || in.size() < 2 + size_t(get16(in, 0))) continue;
        tcpQueries++;
        std::string a = answer(std::string_view(in).substr(2, get16(in, 0)), true);
        std::string framed(2, '\0');
        put16(framed, 0, uint16_t(a.size()));
        framed += a;
        (void)!::send(c.get(), framed.data(), framed.size(), MSG_NOSIGNAL);
      }
    }
  }

  int udp_ = -1, tcp_ = -1;
  uint8_t base_ = 7;
  int stop_[2] = {-1, -1};
  std::thread thread_;
};

class DnsResolver : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    bin_ = dnsBin();
    if (::access(bin_.c_str(), X_OK) != 0) GTEST_SKIP() << "no berth-dns at " << bin_;
    auto ns = newNetns();
    if (!ns) GTEST_SKIP() << "no network namespaces";
    ns_ = std::move(*ns);
    auto rtnl = network::Rtnl::openIn(ns_.get());
    ASSERT_TRUE(rtnl);
    auto lo = rtnl->link("lo");
    ASSERT_TRUE(lo);
    loIndex_ = lo->index;
    ASSERT_TRUE(rtnl->setUp(loIndex_));
    rtnl_.emplace(std::move(*rtnl));
    char tmpl[] = "/tmp/berth-dns-ut.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_TRUE(upstream_.start(ns_.get()));
    id_ = fmt::format("ut{}", ::getpid());
    cfg_.networkId = id_;
    cfg_.listen = {"10.89.0.1", "fd00:89::1"};
    cfg_.upstreams = {"127.0.0.1"};
    cfg_.records = {{"web", {"10.89.0.2"}, {"fd00:89::2"}}, {"db", {"10.89.0.3"}, {}}};
  }
  void TearDown() override {
    if (!dir_.empty()) {
      (void)network::stopResolver(dir_, id_);
      (void)removeAll(dir_);
    }
  }

  Result<> ensure() {
    return inNs(ns_.get(), [&]() -> Result<> { return network::ensureResolver(bin_, dir_, id_); });
  }
  pid_t pid() {
    auto t = readFile(dir_ + "/" + id_ + ".pid");
    return t ? pid_t(std::atoi(t->c_str())) : 0;
  }
  void addListenAddresses() {
    ASSERT_TRUE(rtnl_->addAddress(loIndex_, *network::parsePrefix("10.89.0.1/32")));
    ASSERT_TRUE(rtnl_->addAddress(loIndex_, *network::parsePrefix("fd00:89::1/128")));
  }

  // One exchange over UDP from inside the namespace; "" on timeout.
  // `source`: the client's address (bound first); "" lets the kernel choose.
  std::string udp(const std::string& msg, const std::string& server = "10.89.0.1", int timeoutMs = 4000,
                  const std::string& source = "") {
    UniqueFd fd(inNs(ns_.get(), [&] { return ::socket(family(server), SOCK_DGRAM | SOCK_CLOEXEC, 0); }));
    socklen_t len;
    if (!source.empty()) {
      auto s = sockAddr(source, 0, len);
      if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&s), len) != 0) return "";
    }
    auto a = sockAddr(server, 53, len);
    if (::sendto(fd.get(), msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&a), len) < 0) return "";
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, timeoutMs) != 1) return "";
    char buf[65536];
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, size_t(n)) : "";
  }

  // A connected TCP socket to server:53 in the namespace.
  UniqueFd tcpConnect(const std::string& server = "10.89.0.1", const std::string& source = "") {
    return UniqueFd(inNs(ns_.get(), [&] {
      UniqueFd fd(::socket(family(server), SOCK_STREAM | SOCK_CLOEXEC, 0));
      socklen_t len;
      if (!source.empty()) {
        auto s = sockAddr(source, 0, len);
        if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&s), len) != 0) return -1;
      }
      auto a = sockAddr(server, 53, len);
      timeval tv{4, 0};
      ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      return fd && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), len) == 0 ? fd.release() : -1;
    }));
  }

  std::string tcp(const std::string& msg, const std::string& server = "10.89.0.1", const std::string& source = "") {
    UniqueFd fd = tcpConnect(server, source);
    if (!fd) return "";
    std::string framed(2, '\0');
    put16(framed, 0, uint16_t(msg.size()));
    framed += msg;
    if (::send(fd.get(), framed.data(), framed.size(), MSG_NOSIGNAL) != ssize_t(framed.size())) return "";
    std::string in;
    char buf[65536];
    while (in.size() < 2 || in.size() < 2 + size_t(get16(in, 0))) {
      ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
      if (n <= 0) return "";
      in.append(buf, size_t(n));
    }
    return in.substr(2, get16(in, 0));
  }

  std::string bin_, dir_, id_;
  UniqueFd ns_;
  std::optional<network::Rtnl> rtnl_;
  int loIndex_ = 0;
  FakeUpstream upstream_;
  network::DnsConfig cfg_;
};

Message parsedOrEmpty(const std::string& wire) {
  auto m = parse(wire);
  return m ? *m : Message{};
}

std::string firstIpv4(const Message& m) {
  for (auto& r : m.answers)
    if (r.type == kTypeA && r.rdata.size() == 4)
      return fmt::format("{}.{}.{}.{}", uint8_t(r.rdata[0]), uint8_t(r.rdata[1]), uint8_t(r.rdata[2]),
                         uint8_t(r.rdata[3]));
  return "";
}

long rssKb(pid_t pid) {
  auto status = readFile(fmt::format("/proc/{}/status", pid));
  if (!status) return -1;
  auto at = status->find("VmRSS:");
  return at == std::string::npos ? -1 : std::atol(status->c_str() + at + 6);
}

}  // namespace

TEST_F(DnsResolver, AnswersForwardsAndReloads) {
  ASSERT_TRUE(network::writeDnsConfig(dir_, cfg_));
  // Started before its addresses exist (IP_FREEBIND), as before a bridge is up.
  auto started = ensure();
  ASSERT_TRUE(started) << started.error().message;
  pid_t first = pid();
  ASSERT_GT(first, 0);
  addListenAddresses();

  // A and AAAA of a record, case-insensitively; the client's id comes back.
  Message a = parsedOrEmpty(udp(query("WeB", kTypeA, 0x1111)));
  EXPECT_EQ(a.header.id, 0x1111);
  EXPECT_EQ(a.header.rcode(), kNoError);
  EXPECT_EQ(firstIpv4(a), "10.89.0.2");
  Message aaaa = parsedOrEmpty(udp(query("web", kTypeAaaa, 0x2222), "fd00:89::1"));
  ASSERT_EQ(aaaa.answers.size(), 1u);
  EXPECT_EQ(aaaa.answers[0].rdata, std::string("\xfd\x00\x00\x89\0\0\0\0\0\0\0\0\0\0\0\x02", 16));
  // A known name without an IPv6 address: NOERROR, no answer (as Docker).
  Message dbSix = parsedOrEmpty(udp(query("db", kTypeAaaa, 3)));
  EXPECT_EQ(dbSix.header.rcode(), kNoError);
  EXPECT_TRUE(dbSix.header.flags & kFlagQr);
  EXPECT_EQ(dbSix.answers.size(), 0u);
  // PTR of a record's address.
  Message ptr = parsedOrEmpty(udp(query("3.0.89.10.in-addr.arpa", kTypePtr, 4)));
  ASSERT_EQ(ptr.answers.size(), 1u);
  EXPECT_EQ(ptr.answers[0].target, "db");
  EXPECT_EQ(upstream_.udpQueries, 0);  // all of that was local

  // An unknown name goes to the upstream, with our id there, the client's back.
  Message ext = parsedOrEmpty(udp(query("example.test", kTypeA, 0x3333)));
  EXPECT_EQ(ext.header.id, 0x3333);
  EXPECT_EQ(ext.header.rcode(), kNoError);
  EXPECT_EQ(firstIpv4(ext), "192.0.2.7");
  EXPECT_EQ(upstream_.udpQueries, 1);
  // NXDOMAIN is relayed as it is.
  Message nx = parsedOrEmpty(udp(query("missing.test", kTypeA, 0x4444)));
  EXPECT_EQ(nx.header.id, 0x4444);
  EXPECT_EQ(nx.header.rcode(), kNxDomain);

  // Concurrent forwarded queries from one socket: each answer carries its
  // own query's id and name.
  {
    UniqueFd fd(inNs(ns_.get(), [] { return ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); }));
    socklen_t len;
    auto srv = sockAddr("10.89.0.1", 53, len);
    for (uint16_t id = 100; id < 140; id++) {
      std::string q = query(id % 2 ? "example.test" : "missing.test", kTypeA, id);
      ASSERT_EQ(::sendto(fd.get(), q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&srv), len), ssize_t(q.size()));
    }
    std::set<uint16_t> seen;
    char buf[4096];
    while (seen.size() < 40) {
      pollfd p{fd.get(), POLLIN, 0};
      if (::poll(&p, 1, 4000) != 1) break;
      ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
      Message m = parsedOrEmpty(std::string(buf, size_t(std::max<ssize_t>(n, 0))));
      ASSERT_EQ(m.questions.size(), 1u);
      EXPECT_EQ(m.questions[0].name, m.header.id % 2 ? "example.test" : "missing.test") << m.header.id;
      EXPECT_EQ(m.header.rcode(), m.header.id % 2 ? kNoError : kNxDomain) << m.header.id;
      seen.insert(m.header.id);
    }
    EXPECT_EQ(seen.size(), 40u);
    EXPECT_EQ(*seen.begin(), 100);
    EXPECT_EQ(*seen.rbegin(), 139);
  }

  // TCP: a local name, and a forwarded one (which goes upstream over TCP).
  Message tcpLocal = parsedOrEmpty(tcp(query("web", kTypeA, 0x5555)));
  EXPECT_EQ(tcpLocal.header.id, 0x5555);
  EXPECT_EQ(firstIpv4(tcpLocal), "10.89.0.2");
  Message tcpExt = parsedOrEmpty(tcp(query("example.test", kTypeA, 0x6666), "fd00:89::1"));
  EXPECT_EQ(tcpExt.header.id, 0x6666);
  EXPECT_EQ(firstIpv4(tcpExt), "192.0.2.7");
  EXPECT_EQ(upstream_.tcpQueries, 1);
  // 40 queries pipelined on one TCP connection (more than it forwards at
  // once): all answered, each with its id.
  {
    UniqueFd c = tcpConnect();
    ASSERT_TRUE(c);
    std::string all;
    for (uint16_t id = 200; id < 240; id++) {
      std::string q = query(id % 2 ? "example.test" : "web", kTypeA, id);
      std::string framed(2, '\0');
      put16(framed, 0, uint16_t(q.size()));
      all += framed + q;
    }
    ASSERT_EQ(::send(c.get(), all.data(), all.size(), MSG_NOSIGNAL), ssize_t(all.size()));
    std::string in;
    std::set<uint16_t> ids;
    char buf[4096];
    while (ids.size() < 40) {
      while (in.size() >= 2 && in.size() >= 2 + size_t(get16(in, 0))) {
        Message m = parsedOrEmpty(in.substr(2, get16(in, 0)));
        EXPECT_EQ(firstIpv4(m), m.header.id % 2 ? "192.0.2.7" : "10.89.0.2") << m.header.id;
        ids.insert(m.header.id);
        in.erase(0, 2 + get16(in, 0));
      }
      if (ids.size() == 40) break;
      ssize_t n = ::recv(c.get(), buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, size_t(n));
    }
    EXPECT_EQ(ids.size(), 40u);
  }
  EXPECT_EQ(upstream_.tcpQueries, 21);

  // Truncated upstream answer: retried over TCP. 40 addresses do not fit a
  // plain 512-byte client (it gets TC and retries over TCP itself); they fit
  // an EDNS client's 4096.
  Message plain = parsedOrEmpty(udp(query("big.test", kTypeA, 0x7777)));
  EXPECT_EQ(plain.header.id, 0x7777);
  EXPECT_TRUE(plain.header.flags & kFlagTc);
  EXPECT_EQ(plain.answers.size(), 0u);
  Message edns = parsedOrEmpty(udp(withEdns(query("big.test", kTypeA, 0x7778), 4096)));
  EXPECT_EQ(edns.header.id, 0x7778);
  EXPECT_FALSE(edns.header.flags & kFlagTc);
  EXPECT_EQ(edns.answers.size(), 40u);
  EXPECT_EQ(upstream_.tcpQueries, 23);
  Message bigTcp = parsedOrEmpty(tcp(query("big.test", kTypeA, 0x7779)));
  EXPECT_EQ(bigTcp.answers.size(), 40u);

  // A config rewrite (a new record) is picked up without a restart.
  cfg_.records.push_back({"Fresh", {"10.89.0.9"}, {}});
  ASSERT_TRUE(network::writeDnsConfig(dir_, cfg_));
  EXPECT_EQ(firstIpv4(parsedOrEmpty(udp(query("fresh", kTypeA, 9)))), "10.89.0.9");
  EXPECT_EQ(pid(), first);

  // ensureResolver is idempotent while it runs.
  ASSERT_TRUE(ensure());
  EXPECT_EQ(pid(), first);
}

TEST_F(DnsResolver, SurvivesMalformedInput) {
  ASSERT_TRUE(network::writeDnsConfig(dir_, cfg_));
  addListenAddresses();
  ASSERT_TRUE(ensure());
  // Datagrams: too short, huge counts, a compression pointer loop, a
  // response (never answered: no reflection), random bytes.
  EXPECT_EQ(udp("\x01\x02\x03", "10.89.0.1", 300), "");
  std::string huge = query("web", kTypeA, 0x0101);
  put16(huge, 4, 0xffff);
  Message formErr = parsedOrEmpty(udp(huge));
  EXPECT_EQ(formErr.header.id, 0x0101);
  EXPECT_EQ(formErr.header.rcode(), kFormErr);
  std::string loop(kHeaderSize, '\0');
  put16(loop, 0, 0x0202);
  put16(loop, 4, 1);
  loop += std::string("\x01" "a\xc0\x0c\x00\x01\x00\x01", 8);
  Header h;
  ASSERT_TRUE(parseHeader(udp(loop), h));
  EXPECT_EQ(h.id, 0x0202);
  EXPECT_EQ(h.rcode(), kFormErr);
  Builder resp(0x0303, kFlagQr);
  resp.question("web", kTypeA);
  EXPECT_EQ(udp(resp.wire(), "10.89.0.1", 300), "");
  std::string junk(300, '\0');
  for (size_t i = 0; i < junk.size(); i++) junk[i] = char(i * 7919 % 251);
  (void)udp(junk, "10.89.0.1", 300);
  // TCP: a length too small for a header, a length promising more than is
  // sent before the client goes away, and a connection left idle.
  {
    UniqueFd c = tcpConnect();
    ASSERT_TRUE(c);
    EXPECT_EQ(::send(c.get(), "\x00\x03" "abc", 5, MSG_NOSIGNAL), 5);
    char b;
    EXPECT_EQ(::recv(c.get(), &b, 1, 0), 0);  // closed by berth-dns
  }
  {
    UniqueFd c = tcpConnect();
    ASSERT_TRUE(c);
    EXPECT_EQ(::send(c.get(), "\xff\xff" "abcdef", 8, MSG_NOSIGNAL), 8);
  }
  UniqueFd idle = tcpConnect();
  ASSERT_TRUE(idle);
  // Still alive and answering, over both transports.
  EXPECT_EQ(firstIpv4(parsedOrEmpty(udp(query("web", kTypeA, 0x0404)))), "10.89.0.2");
  EXPECT_EQ(firstIpv4(parsedOrEmpty(tcp(query("web", kTypeA, 0x0405)))), "10.89.0.2");
  EXPECT_EQ(::kill(pid(), 0), 0);
}

TEST_F(DnsResolver, NextUpstreamAndServfail) {
  // 127.0.0.2:53 is a socket that never answers.
  socklen_t len;
  auto silentAddr = sockAddr("127.0.0.2", 53, len);
  UniqueFd silent(inNs(ns_.get(), [&] {
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    return fd && ::bind(fd.get(), reinterpret_cast<sockaddr*>(&silentAddr), len) == 0 ? fd.release() : -1;
  }));
  ASSERT_TRUE(silent);
  cfg_.upstreams = {"127.0.0.2", "127.0.0.1:53"};
  ASSERT_TRUE(network::writeDnsConfig(dir_, cfg_));
  addListenAddresses();
  ASSERT_TRUE(ensure());
  auto t0 = std::chrono::steady_clock::now();
  Message next = parsedOrEmpty(udp(query("example.test", kTypeA, 0x0a0a)));
  auto tookNext = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(firstIpv4(next), "192.0.2.7");
  EXPECT_GE(tookNext, 900ms);  // the first server's attempt timed out
  EXPECT_LT(tookNext, 2600ms);

  cfg_.upstreams = {"127.0.0.2"};
  ASSERT_TRUE(network::writeDnsConfig(dir_, cfg_));
  t0 = std::chrono::steady_clock::now();
  Message fail = parsedOrEmpty(udp(query("example.test", kTypeA, 0x0b0b)));
  auto tookFail = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(fail.header.id, 0x0b0b);
  EXPECT_EQ(fail.header.rcode(), kServFail);
  EXPECT_GE(tookFail, 2000ms);
  EXPECT_LT(tookFail, 3500ms);

  // An answer with the right id but another question (a late answer to an
  // earlier query whose id was reused, or a spoof) is not relayed.
  cfg_.upstreams = {"127.0.0.1"};
  ASSERT_TRUE(network::writeDnsConfig(dir_, cfg_));
  int before = upstream_.udpQueries;
  Message wrong = parsedOrEmpty(udp(query("wrong.test", kTypeA, 0x0c0c)));
  EXPECT_EQ(wrong.header.id, 0x0c0c);
  EXPECT_EQ(wrong.header.rcode(), kServFail);
  ASSERT_EQ(wrong.questions.size(), 1u);
  EXPECT_EQ(wrong.questions[0].name, "wrong.test");
  EXPECT_GE(upstream_.udpQueries - before, 2);  // asked again after the first attempt's time
}

TEST_F(DnsResolver, PerClientRecordsAndUpstreams) {
  // A second upstream, a container's own --dns: example.test is 192.0.2.77 there.
  FakeUpstream own;
  ASSERT_TRUE(own.start(ns_.get(), "127.0.0.3", 77));
  // Client 10.89.0.5: its own upstream and a name of another network it is
  // on; client fd00:89::5 (the same container's IPv6) likewise; client
  // 10.89.0.6: only extra records (the network's upstream); any other
  // address: the network's view alone.
  network::DnsClient five{"10.89.0.5", {"127.0.0.3"}, {{"other", {"10.90.0.5"}, {}}, {"web", {"10.90.0.9"}, {}}}};
  network::DnsClient fiveSix = five;
  fiveSix.address = "fd00:89::5";
  cfg_.clients = {five, fiveSix, {"10.89.0.6", {}, {{"far", {"10.91.0.6"}, {}}}}};
  ASSERT_TRUE(network::writeDnsConfig(dir_, cfg_));
  addListenAddresses();
  for (const char* a : {"10.89.0.5/32", "10.89.0.6/32", "10.89.0.7/32", "fd00:89::5/128"})
    ASSERT_TRUE(rtnl_->addAddress(loIndex_, *network::parsePrefix(a)));
  ASSERT_TRUE(ensure());

  // The network's names and the client's extra ones; the network's win a clash.
  EXPECT_EQ(firstIpv4(parsedOrEmpty(udp(query("other", kTypeA, 1), "10.89.0.1", 4000, "10.89.0.5"))), "10.90.0.5");
  EXPECT_EQ(firstIpv4(parsedOrEmpty(udp(query("web", kTypeA, 2), "10.89.0.1", 4000, "10.89.0.5"))), "10.89.0.2");
  EXPECT_EQ(firstIpv4(parsedOrEmpty(tcp(query("other", kTypeA, 3), "10.89.0.1", "10.89.0.5"))), "10.90.0.5");
  EXPECT_EQ(firstIpv4(parsedOrEmpty(udp(query("other", kTypeA, 4), "fd00:89::1", 4000, "fd00:89::5"))),
            "10.90.0.5");
  // Its unknown names go to its own upstream only, over UDP and TCP.
  int netBefore = upstream_.udpQueries + upstream_.tcpQueries;
  Message ext = parsedOrEmpty(udp(query("example.test", kTypeA, 0x5151), "10.89.0.1", 4000, "10.89.0.5"));
  EXPECT_EQ(ext.header.id, 0x5151);
  EXPECT_EQ(firstIpv4(ext), "192.0.2.77");
  EXPECT_EQ(firstIpv4(parsedOrEmpty(tcp(query("example.test", kTypeA, 5), "10.89.0.1", "10.89.0.5"))), "192.0.2.77");
  EXPECT_EQ(firstIpv4(parsedOrEmpty(udp(query("example.test", kTypeA, 6), "fd00:89::1", 4000, "fd00:89::5"))),
            "192.0.2.77");
  EXPECT_EQ(own.udpQueries, 2);
  EXPECT_EQ(own.tcpQueries, 1);
  EXPECT_EQ(upstream_.udpQueries + upstream_.tcpQueries, netBefore);

  // 10.89.0.6: its extra name, the network's upstream for the rest.
  EXPECT_EQ(firstIpv4(parsedOrEmpty(udp(query("far", kTypeA, 7), "10.89.0.1", 4000, "10.89.0.6"))), "10.91.0.6");
  EXPECT_EQ(firstIpv4(parsedOrEmpty(udp(query("other", kTypeA, 8), "10.89.0.1", 4000, "10.89.0.6"))), "");
  EXPECT_EQ(firstIpv4(parsedOrEmpty(udp(query("example.test", kTypeA, 9), "10.89.0.1", 4000, "10.89.0.6"))),
            "192.0.2.7");
  // An address that is no client: neither extra name, the network's upstream.
  for (const char* name : {"other", "far"})
    EXPECT_EQ(firstIpv4(parsedOrEmpty(udp(query(name, kTypeA, 10), "10.89.0.1", 4000, "10.89.0.7"))), "") << name;
  EXPECT_EQ(firstIpv4(parsedOrEmpty(udp(query("example.test", kTypeA, 11), "10.89.0.1", 4000, "10.89.0.7"))),
            "192.0.2.7");
  EXPECT_EQ(own.udpQueries, 2);

  // Rewritten without clients (as an older berthd writes it): one view for all.
  cfg_.clients.clear();
  ASSERT_TRUE(network::writeDnsConfig(dir_, cfg_));
  EXPECT_EQ(firstIpv4(parsedOrEmpty(udp(query("other", kTypeA, 12), "10.89.0.1", 4000, "10.89.0.5"))), "");
  EXPECT_EQ(firstIpv4(parsedOrEmpty(udp(query("example.test", kTypeA, 13), "10.89.0.1", 4000, "10.89.0.5"))),
            "192.0.2.7");
  EXPECT_EQ(own.udpQueries, 2);
}

TEST_F(DnsResolver, HostResolvConfWithoutItself) {
  // No upstreams in the config: the nameservers of --resolv-conf, minus the
  // resolver's own address (which would loop).
  cfg_.upstreams = {};
  ASSERT_TRUE(network::writeDnsConfig(dir_, cfg_));
  ASSERT_TRUE(writeFileAtomic(dir_ + "/resolv.conf", "# test\nnameserver 10.89.0.1\nnameserver 127.0.0.1\n"));
  addListenAddresses();
  std::string cfgPath = dir_ + "/" + id_ + ".json", pidPath = dir_ + "/own.pid";
  std::vector<std::string> argv = {bin_, "--config", cfgPath, "--pid-file", pidPath, "--resolv-conf",
                                   dir_ + "/resolv.conf"};
  pid_t child = inNs(ns_.get(), [&] {
    std::vector<char*> args;
    for (auto& s : argv) args.push_back(s.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, (dir_ + "/own.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
    pid_t p = 0;
    int rc = ::posix_spawn(&p, bin_.c_str(), &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? p : pid_t(-1);
  });
  ASSERT_GT(child, 0);
  for (int i = 0; i < 200 && ::access(pidPath.c_str(), F_OK) != 0; i++) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(::access(pidPath.c_str(), F_OK), 0);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(firstIpv4(parsedOrEmpty(udp(query("example.test", kTypeA, 0x0c0c)))), "192.0.2.7");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 900ms);  // the first (itself) was skipped, not timed out
  // SIGTERM: exit status 0, and it removes its own pid file.
  ASSERT_EQ(::kill(child, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(::access(pidPath.c_str(), F_OK), 0);
}

TEST_F(DnsResolver, EnsureRestartsAndStopRemoves) {
  ASSERT_TRUE(network::writeDnsConfig(dir_, cfg_));
  addListenAddresses();
  // An fd the caller leaves inheritable must not reach berth-dns.
  UniqueFd leak(::open("/dev/null", O_RDONLY));
  ASSERT_TRUE(ensure());
  pid_t first = pid();
  ASSERT_GT(first, 0);
  // Detached: its own session; stdin /dev/null, stderr the log, nothing else
  // but its own sockets.
  EXPECT_EQ(::getsid(first), first);
  char target[4096];
  ssize_t n = ::readlink(fmt::format("/proc/{}/fd/0", first).c_str(), target, sizeof target);
  EXPECT_EQ(std::string(target, size_t(std::max<ssize_t>(n, 0))), "/dev/null");
  n = ::readlink(fmt::format("/proc/{}/fd/2", first).c_str(), target, sizeof target);
  EXPECT_EQ(std::string(target, size_t(std::max<ssize_t>(n, 0))), dir_ + "/" + id_ + ".log");
  n = ::readlink(fmt::format("/proc/{}/fd/{}", first, leak.get()).c_str(), target, sizeof target);
  EXPECT_TRUE(n < 0 || !startsWith(std::string(target, size_t(n)), "/dev/null")) << "fd " << leak.get() << " inherited";
  // A stale pid file naming another process is not taken for the resolver.
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  ASSERT_EQ(::waitpid(first, nullptr, 0), first);
  ASSERT_TRUE(writeFileAtomic(dir_ + "/" + id_ + ".pid", fmt::format("{}\n", ::getpid())));
  auto again = ensure();
  ASSERT_TRUE(again) << again.error().message;
  pid_t second = pid();
  EXPECT_GT(second, 0);
  EXPECT_NE(second, first);
  EXPECT_NE(second, ::getpid());
  EXPECT_EQ(firstIpv4(parsedOrEmpty(udp(query("web", kTypeA, 1)))), "10.89.0.2");

  // The pid file lost while it runs: ensure adopts the running one (by its
  // command line) instead of starting a second that could not bind.
  ASSERT_EQ(::unlink((dir_ + "/" + id_ + ".pid").c_str()), 0);
  auto adopted = ensure();
  ASSERT_TRUE(adopted) << adopted.error().message;
  EXPECT_EQ(pid(), second);
  // ... and stop finds it the same way.
  ASSERT_EQ(::unlink((dir_ + "/" + id_ + ".pid").c_str()), 0);
  ASSERT_TRUE(network::stopResolver(dir_, id_));
  EXPECT_NE(::kill(second, 0), 0);
  ASSERT_TRUE(network::writeDnsConfig(dir_, cfg_));
  ASSERT_TRUE(ensure());
  second = pid();
  ASSERT_GT(second, 0);

  ASSERT_TRUE(network::stopResolver(dir_, id_));
  EXPECT_NE(::kill(second, 0), 0);  // gone (and reaped)
  for (auto ext : {".json", ".pid", ".log"}) EXPECT_NE(::access((dir_ + "/" + id_ + ext).c_str(), F_OK), 0) << ext;
  EXPECT_TRUE(network::stopResolver(dir_, id_));  // idempotent
  // With no config there is nothing to start.
  auto none = ensure();
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Code::FailedPrecondition);
}

TEST_F(DnsResolver, StartFailureNamesTheLogLine) {
  cfg_.listen = {"not-an-address"};
  ASSERT_TRUE(network::writeDnsConfig(dir_, cfg_));
  auto r = ensure();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::Unavailable);
  EXPECT_NE(r.error().message.find("exited at start: listen address not-an-address: not an address"),
            std::string::npos)
      << r.error().message;

  // The port is taken (by this test): the error says so.
  cfg_.listen = {"10.89.0.1"};
  ASSERT_TRUE(network::writeDnsConfig(dir_, cfg_));
  addListenAddresses();
  socklen_t len;
  auto a = sockAddr("10.89.0.1", 53, len);
  UniqueFd taken(inNs(ns_.get(), [&] {
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    return fd && ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), len) == 0 ? fd.release() : -1;
  }));
  ASSERT_TRUE(taken);
  r = ensure();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("bind 10.89.0.1:53/udp: Address already in use"), std::string::npos)
      << r.error().message;
  taken.reset();
  r = ensure();
  EXPECT_TRUE(r) << r.error().message;
}

TEST_F(DnsResolver, MeasureLatencyAndIdleRss) {
  ASSERT_TRUE(network::writeDnsConfig(dir_, cfg_));
  addListenAddresses();
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(ensure());
  double startMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(ensure());
  double againUs = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  std::this_thread::sleep_for(200ms);
  long idle = rssKb(pid());
  UniqueFd fd(inNs(ns_.get(), [] { return ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); }));
  socklen_t len;
  auto a = sockAddr("10.89.0.1", 53, len);
  ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), len), 0);
  std::vector<double> us;
  char buf[512];
  for (int i = 0; i < 500; i++) {
    std::string q = query("web", kTypeA, uint16_t(i));
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(::send(fd.get(), q.data(), q.size(), 0), ssize_t(q.size()));
    pollfd p{fd.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 2000), 1);
    ASSERT_GT(::recv(fd.get(), buf, sizeof buf, 0), 0);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  // Forwarded: the same through berth-dns to the fake upstream and back.
  std::vector<double> fwd;
  for (int i = 0; i < 200; i++) {
    std::string q = query("example.test", kTypeA, uint16_t(1000 + i));
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(::send(fd.get(), q.data(), q.size(), 0), ssize_t(q.size()));
    pollfd p{fd.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 4000), 1);
    ASSERT_GT(::recv(fd.get(), buf, sizeof buf, 0), 0);
    fwd.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(fwd.begin(), fwd.end());
  fmt::print("berth-dns: forwarded A query over UDP (fake upstream in the test), 200 runs: median {:.0f} us, "
             "p90 {:.0f} us\n",
             fwd[fwd.size() / 2], fwd[fwd.size() * 9 / 10]);
  long after = rssKb(pid());
  ::testing::Test::RecordProperty("idle_rss_kb", int(idle));
  fmt::print("berth-dns: ensureResolver spawn until listening {:.1f} ms, again (running) {:.0f} us\n", startMs,
             againUs);
  fmt::print("berth-dns: local A query over UDP, 500 runs: median {:.0f} us, p10 {:.0f} us, p90 {:.0f} us, "
             "p99 {:.0f} us; VmRSS idle {} kB, after the queries {} kB\n",
             us[us.size() / 2], us[us.size() / 10], us[us.size() * 9 / 10], us[us.size() * 99 / 100], idle, after);
  EXPECT_GT(idle, 0);
  EXPECT_LT(idle, 1024);  // the target: < 1 MB idle
}

TEST_F(DnsResolver, OutlivesTheProcessThatStartedIt) {
  ASSERT_TRUE(network::writeDnsConfig(dir_, cfg_));
  addListenAddresses();
  // A stand-in for berthd: a child process calls ensureResolver, then is
  // SIGKILLed; the resolver keeps answering, and the "restarted daemon"
  // (this process) finds it again.
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  UniqueFd readyR(ready[0]), readyW(ready[1]);
  pid_t daemon = ::fork();
  ASSERT_GE(daemon, 0);
  if (daemon == 0) {
    char ok = ::setns(ns_.get(), CLONE_NEWNET) == 0 && network::ensureResolver(bin_, dir_, id_) ? 1 : 0;
    (void)!::write(readyW.get(), &ok, 1);
    for (;;) ::pause();
  }
  readyW.reset();
  char ok = 0;
  ASSERT_EQ(::read(readyR.get(), &ok, 1), 1);
  ASSERT_EQ(ok, 1);
  pid_t dns = pid();
  ASSERT_GT(dns, 0);
  auto ppid = [](pid_t p) {
    auto status = readFile(fmt::format("/proc/{}/status", p));
    auto at = status ? status->find("PPid:") : std::string::npos;
    return at == std::string::npos ? -1 : std::atoi(status->c_str() + at + 5);
  };
  EXPECT_EQ(ppid(dns), daemon);
  ASSERT_EQ(::kill(daemon, SIGKILL), 0);
  ASSERT_EQ(::waitpid(daemon, nullptr, 0), daemon);
  EXPECT_NE(ppid(dns), daemon);  // reparented, still running
  EXPECT_EQ(firstIpv4(parsedOrEmpty(udp(query("web", kTypeA, 0x0d0d)))), "10.89.0.2");
  EXPECT_EQ(firstIpv4(parsedOrEmpty(udp(query("example.test", kTypeA, 0x0e0e)))), "192.0.2.7");
  ASSERT_TRUE(ensure());
  EXPECT_EQ(pid(), dns);
}

// The config file alone (no root needed).
TEST(DnsConfigFile, RoundTripErrorsAndConcurrentWriters) {
  char tmpl[] = "/tmp/berth-dns-cfg.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  ScopeExit cleanup([&] { (void)removeAll(dir); });
  network::DnsConfig c;
  c.networkId = "abc";
  c.listen = {"172.18.0.1", "fd00:1::1"};
  c.upstreams = {"127.0.0.53", "[::1]:5353"};
  c.searchDomains = {"example.com"};
  c.records = {{"Web", {"172.18.0.2"}, {"fd00:1::2"}, "web.net1"}, {"db", {}, {}}};
  ASSERT_TRUE(network::writeDnsConfig(dir + "/sub", c));  // creates the directory
  auto back = network::readDnsConfig(dir + "/sub/abc.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->networkId, "abc");
  EXPECT_EQ(back->listen, c.listen);
  EXPECT_EQ(back->upstreams, c.upstreams);
  EXPECT_EQ(back->searchDomains, c.searchDomains);
  ASSERT_EQ(back->records.size(), 2u);
  EXPECT_EQ(back->records[0].name, "web");  // stored lower-case
  EXPECT_EQ(back->records[0].ipv6, std::vector<std::string>{"fd00:1::2"});
  EXPECT_EQ(back->records[0].ptr, "web.net1");
  EXPECT_TRUE(back->records[1].ipv4.empty());
  EXPECT_EQ(back->records[1].ptr, "");
  EXPECT_TRUE(back->clients.empty());
  ASSERT_EQ(readFile(dir + "/sub/abc.json")->find("clients"), std::string::npos);  // none: not written

  // Clients round-trip; a file without them (an older berthd's) reads as none.
  c.clients = {{"172.18.0.2", {"127.0.53.1"}, {{"Other", {"172.19.0.2"}, {}}}}, {"fd00:1::2", {}, {}}};
  ASSERT_TRUE(network::writeDnsConfig(dir + "/sub", c));
  back = network::readDnsConfig(dir + "/sub/abc.json");
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->clients.size(), 2u);
  EXPECT_EQ(back->clients[0].address, "172.18.0.2");
  EXPECT_EQ(back->clients[0].upstreams, std::vector<std::string>{"127.0.53.1"});
  ASSERT_EQ(back->clients[0].extraRecords.size(), 1u);
  EXPECT_EQ(back->clients[0].extraRecords[0].name, "other");
  EXPECT_EQ(back->clients[0].extraRecords[0].ipv4, std::vector<std::string>{"172.19.0.2"});
  EXPECT_EQ(back->clients[1].address, "fd00:1::2");
  EXPECT_TRUE(back->clients[1].upstreams.empty());
  c.clients.clear();

  // Bad ids and bad files.
  c.networkId = "../x";
  EXPECT_EQ(network::writeDnsConfig(dir, c).error().code, Code::InvalidArgument);
  EXPECT_EQ(network::readDnsConfig(dir + "/none.json").error().code, Code::NotFound);
  for (const char* text : {"not json", "[]", R"({"listen": "x"})", R"({"records": [{"ipv4": []}]})",
                           R"({"records": [{"name": "a", "ipv4": [1]}]})", R"({"clients": {}})",
                           R"({"clients": [{"upstreams": []}]})",
                           R"({"clients": [{"address": "10.0.0.2", "extraRecords": [{"ipv4": []}]}]})"}) {
    ASSERT_TRUE(writeFileAtomic(dir + "/bad.json", text));
    auto r = network::readDnsConfig(dir + "/bad.json");
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, Code::InvalidArgument) << text;
  }

  // Threads rewriting one network's file: every write lands whole.
  c.networkId = "abc";
  std::vector<std::thread> writers;
  std::atomic<int> failed{0};
  for (int t = 0; t < 6; t++)
    writers.emplace_back([&, t] {
      network::DnsConfig mine = c;
      for (int i = 0; i < 30; i++) {
        mine.records = {{fmt::format("w{}-{}", t, i), {"172.18.0.9"}, {}}};
        if (!network::writeDnsConfig(dir, mine)) failed++;
      }
    });
  for (auto& w : writers) w.join();
  EXPECT_EQ(failed, 0);
  auto last = network::readDnsConfig(dir + "/abc.json");
  ASSERT_TRUE(last);
  ASSERT_EQ(last->records.size(), 1u);
  EXPECT_EQ(last->records[0].name.substr(0, 1), "w");
  auto listing = readFile(dir + "/abc.json");
  ASSERT_TRUE(listing);
  int entries = 0;
  for (const char* name : {"abc.json", "bad.json", "sub"}) entries += ::access((dir + "/" + name).c_str(), F_OK) == 0;
  EXPECT_EQ(entries, 3);
  int total = 0;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) total += e->d_name[0] != '.';
    ::closedir(d);
  }
  EXPECT_EQ(total, 3);  // no temp file left behind
}
