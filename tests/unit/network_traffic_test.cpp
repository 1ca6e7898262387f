// End-to-end check of the leaf modules together, as root, entirely inside
// two private network namespaces ("host" and "container") made here: a
// bridge, a veth whose peer is born in the container namespace, berth's nft
// table in the host namespace, then TCP to the published port via the
// bridge address and via 127.0.0.1 (route_localnet) reaches the container.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "netns_test_util.h"
#include "network/netlink.h"
#include "network/nft.h"

using namespace berth;
using namespace berth::network;

namespace {

using testutil::newNetns;

// Runs f() on a thread inside namespace `ns`; returns its result.
template <class F>
auto inNs(int ns, F f) -> decltype(f()) {
  decltype(f()) r{};
  std::thread t([&] {
    if (::setns(ns, CLONE_NEWNET) == 0) r = f();
  });
  t.join();
  return r;
}

bool writeFile(const std::string& path, const char* text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text, strlen(text)) == static_cast<ssize_t>(strlen(text));
  ::close(fd);
  return ok;
}

// Connects to ip:port within 2 s, sends "ping", returns what comes back.
std::string exchange(const char* ip, int port) {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip, &a.sin_addr);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) return "connect failed";
  pollfd p{s.get(), POLLOUT, 0};
  if (::poll(&p, 1, 2000) != 1) return "connect timeout";
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) return std::string("connect: ") + strerror(err);
  if (::send(s.get(), "ping", 4, MSG_NOSIGNAL) != 4) return "send failed";
  p = {s.get(), POLLIN, 0};
  if (::poll(&p, 1, 2000) != 1) return "reply timeout";
  char buf[64];
  ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "no reply";
}

}  // namespace

TEST(NetworkTraffic, PublishedPortReachesContainer) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto hostNs = newNetns(), ctrNs = newNetns();
  if (!hostNs || !ctrNs) GTEST_SKIP() << "no network namespaces";
  auto host = Rtnl::openIn(hostNs->get());
  auto ctr = Rtnl::openIn(ctrNs->get());
  ASSERT_TRUE(host && ctr);

  std::string br = fmt::format("berthut{:x}", ::getpid() & 0xffffff).substr(0, 15);
  auto brIndex = host->createBridge({br, 0, {}, true});
  ASSERT_TRUE(brIndex) << brIndex.error().message;
  ASSERT_TRUE(host->addAddress(*brIndex, *parsePrefix("10.232.0.1/24")));
  ASSERT_TRUE(host->setUp(host->link("lo")->index));
  VethSpec v;
  v.hostName = "veth-berthut";
  v.masterIndex = *brIndex;
  v.peerName = "eth0";
  v.peerMac = macFromIpv4(*parseIp("10.232.0.2"));
  v.peerNetnsFd = ctrNs->get();
  ASSERT_TRUE(host->createVeth(v));
  auto eth0 = ctr->link("eth0");
  ASSERT_TRUE(eth0);
  ASSERT_TRUE(ctr->addAddress(eth0->index, *parsePrefix("10.232.0.2/24")));
  ASSERT_TRUE(ctr->setUp(eth0->index));
  ASSERT_TRUE(ctr->setUp(ctr->link("lo")->index));
  ASSERT_TRUE(ctr->addDefaultRoute(*parseIp("10.232.0.1"), eth0->index));

  RulesetSpec spec;
  spec.table = fmt::format("berthut-{}", ::getpid());
  spec.bridges.push_back({br, {*parsePrefix("10.232.0.0/24")}, false, true, true});
  spec.ports.push_back({"tcp", {}, 18080, *parseIp("10.232.0.2"), 80});
  auto applied = inNs(hostNs->get(), [&]() -> Result<void> {
    LibNftRunner nft;
    return applyRuleset(nft, spec);
  });
  if (!applied && applied.error().code == Code::Unavailable) GTEST_SKIP() << applied.error().message;
  ASSERT_TRUE(applied) << applied.error().message;
  ASSERT_TRUE(inNs(hostNs->get(), [&] {
    return writeFile(fmt::format("/proc/sys/net/ipv4/conf/{}/route_localnet", br), "1");
  }));

  // The container: a server on :80 answering "pong" to each connection.
  int listener = inNs(ctrNs->get(), [] {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(80);
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s, 8) != 0) return -1;
    return s;
  });
  ASSERT_GE(listener, 0);
  UniqueFd listenerGuard(listener);
  std::thread server([&] {
    for (int i = 0; i < 2; ++i) {
      pollfd p{listener, POLLIN, 0};
      if (::poll(&p, 1, 3000) != 1) return;
      UniqueFd c(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
      char buf[16];
      if (::recv(c.get(), buf, sizeof buf, 0) > 0) ::send(c.get(), "pong", 4, MSG_NOSIGNAL);
    }
  });
  std::string viaBridge = inNs(hostNs->get(), [] { return exchange("10.232.0.1", 18080); });
  std::string viaLocalhost = inNs(hostNs->get(), [] { return exchange("127.0.0.1", 18080); });
  server.join();
  EXPECT_EQ(viaBridge, "pong");
  EXPECT_EQ(viaLocalhost, "pong");
}
