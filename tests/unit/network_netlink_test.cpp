// rtnetlink client tests. The kernel tests run as root inside private network
// namespaces made here (unshare in a helper thread, held by an fd): every
// bridge and veth lives in them and disappears with them, even when a test
// fails. Nothing touches the host's namespace.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "netns_test_util.h"
#include "network/netlink.h"

using namespace berth;
using namespace berth::network;

namespace {

using testutil::newNetns;

bool canUseNetns() {
  if (::geteuid() != 0) return false;
  return newNetns().has_value();
}

std::string uniqueName(std::string_view base) {
  // berthut + base + pid, within IFNAMSIZ-1 = 15 chars.
  return fmt::format("berthut{}{:x}", base, ::getpid() & 0xffff).substr(0, 15);
}

IpAddr ip(std::string_view s) { return *parseIp(s); }

}  // namespace

TEST(NetworkNetlink, MessageLayout) {
  ifinfomsg hdr{};
  NlMessage m(RTM_NEWLINK, NLM_F_CREATE, &hdr, sizeof hdr);
  m.putString(IFLA_IFNAME, "eth0");
  auto n = m.beginNested(IFLA_LINKINFO);
  m.putString(IFLA_INFO_KIND, "veth");
  m.endNested(n);
  m.putU32(IFLA_MTU, 1400);
  m.setSeq(7);
  const auto& b = m.bytes();
  const auto* h = reinterpret_cast<const nlmsghdr*>(b.data());
  EXPECT_EQ(h->nlmsg_len, b.size());
  EXPECT_EQ(b.size() % 4, 0u);
  EXPECT_EQ(h->nlmsg_flags, NLM_F_CREATE | NLM_F_REQUEST);
  EXPECT_EQ(h->nlmsg_seq, 7u);
  // Walk the attributes back.
  const auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
  int len = static_cast<int>(IFLA_PAYLOAD(h));
  std::vector<int> types;
  for (const rtattr* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    types.push_back(a->rta_type);
    if (a->rta_type == IFLA_IFNAME) {
      EXPECT_STREQ(static_cast<const char*>(RTA_DATA(a)), "eth0");
    }
    if (a->rta_type == IFLA_LINKINFO) {
      EXPECT_EQ(a->rta_len, RTA_LENGTH(RTA_SPACE(5)));
      const auto* k = static_cast<const rtattr*>(RTA_DATA(a));
      EXPECT_EQ(k->rta_type, IFLA_INFO_KIND);
      EXPECT_STREQ(static_cast<const char*>(RTA_DATA(k)), "veth");
    }
    if (a->rta_type == IFLA_MTU) {
      EXPECT_EQ(*static_cast<const std::uint32_t*>(RTA_DATA(a)), 1400u);
    }
  }
  EXPECT_EQ(types, (std::vector<int>{IFLA_IFNAME, IFLA_LINKINFO, IFLA_MTU}));
}

TEST(NetworkNetlink, BridgeVethPeerInOtherNamespace) {
  if (!canUseNetns()) GTEST_SKIP() << "needs root and network namespaces";
  auto hostNs = newNetns();  // stands in for the host
  auto ctrNs = newNetns();   // stands in for a container
  ASSERT_TRUE(hostNs && ctrNs);
  auto host = Rtnl::openIn(hostNs->get());
  auto ctr = Rtnl::openIn(ctrNs->get());
  ASSERT_TRUE(host) << host.error().message;
  ASSERT_TRUE(ctr) << ctr.error().message;

  std::string br = uniqueName("br");
  auto brIndex = host->createBridge({br, 1450, {}, true});
  ASSERT_TRUE(brIndex) << brIndex.error().message;
  auto dup = host->createBridge({br, 0, {}, true});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Code::AlreadyExists);
  ASSERT_TRUE(host->addAddress(*brIndex, *parsePrefix("10.231.0.1/24")));
  ASSERT_TRUE(host->addAddress(*brIndex, *parsePrefix("fd00:e7::1/64")));

  Mac mac = macFromIpv4(ip("10.231.0.2"));
  std::string veth = uniqueName("ve");
  VethSpec v;
  v.hostName = veth;
  v.mtu = 1450;
  v.masterIndex = *brIndex;
  v.peerName = "eth0";
  v.peerMac = mac;
  v.peerNetnsFd = ctrNs->get();
  auto vIndex = host->createVeth(v);
  ASSERT_TRUE(vIndex) << vIndex.error().message;

  // The host side: on the bridge, up, right MTU; the peer is not here.
  auto hl = host->link(veth);
  ASSERT_TRUE(hl);
  EXPECT_EQ(hl->master, *brIndex);
  EXPECT_EQ(hl->mtu, 1450u);
  EXPECT_EQ(hl->kind, "veth");
  EXPECT_TRUE(hl->up);
  auto noEth0 = host->link("eth0");
  ASSERT_FALSE(noEth0);
  EXPECT_EQ(noEth0.error().code, Code::NotFound);
  auto brl = host->link(br);
  ASSERT_TRUE(brl);
  EXPECT_EQ(brl->kind, "bridge");
  EXPECT_EQ(brl->mtu, 1450u);
  auto listed = host->links("berthut");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->size(), 2u);

  // The container side: eth0 with Docker's MAC, its address, a default route.
  auto eth0 = ctr->link("eth0");
  ASSERT_TRUE(eth0) << eth0.error().message;
  ASSERT_TRUE(eth0->mac);
  EXPECT_EQ(formatMac(*eth0->mac), "02:42:0a:e7:00:02");
  EXPECT_EQ(eth0->mtu, 1450u);
  EXPECT_FALSE(eth0->up);
  ASSERT_TRUE(ctr->setUp(eth0->index));
  EXPECT_TRUE(ctr->link("eth0")->up);
  auto lo = ctr->link("lo");
  ASSERT_TRUE(lo);
  ASSERT_TRUE(ctr->setUp(lo->index));
  ASSERT_TRUE(ctr->addAddress(eth0->index, *parsePrefix("10.231.0.2/24")));
  ASSERT_TRUE(ctr->addAddress(eth0->index, *parsePrefix("fd00:e7::2/64")));
  auto route = ctr->addDefaultRoute(ip("10.231.0.1"), eth0->index);
  EXPECT_TRUE(route) << route.error().message;
  auto route6 = ctr->addDefaultRoute(ip("fd00:e7::1"), eth0->index);
  EXPECT_TRUE(route6) << route6.error().message;
  auto addrs = ctr->addresses(eth0->index);
  ASSERT_TRUE(addrs);
  std::vector<std::string> got;
  for (const auto& a : *addrs) got.push_back(a.prefix.str());
  EXPECT_NE(std::find(got.begin(), got.end(), "10.231.0.2/24"), got.end());
  EXPECT_NE(std::find(got.begin(), got.end(), "fd00:e7::2/64"), got.end());

  // Deleting the host side takes the peer with it.
  ASSERT_TRUE(host->deleteLink(veth));
  EXPECT_EQ(ctr->link("eth0").error().code, Code::NotFound);
  EXPECT_EQ(host->deleteLink(veth).error().code, Code::NotFound);
  ASSERT_TRUE(host->deleteLink(br));
  EXPECT_EQ(host->links("berthut")->size(), 0u);
}

TEST(NetworkNetlink, MeasureCreateInNamespaceVersusMove) {
  if (!canUseNetns()) GTEST_SKIP() << "needs root and network namespaces";
  auto hostNs = newNetns();
  ASSERT_TRUE(hostNs);
  auto host = Rtnl::openIn(hostNs->get());
  ASSERT_TRUE(host);
  constexpr int kRuns = 8;
  std::vector<double> create, move;
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::vector<UniqueFd> keep;  // namespaces die after the measurement
  for (int i = 0; i < kRuns; ++i) {
    auto ns = newNetns();
    ASSERT_TRUE(ns);
    VethSpec v;
    v.hostName = uniqueName(fmt::format("c{}", i));
    v.peerName = "eth0";
    v.peerNetnsFd = ns->get();
    auto t0 = Clock::now();
    auto r = host->createVeth(v);
    create.push_back(ms(Clock::now() - t0));
    ASSERT_TRUE(r) << r.error().message;
    keep.push_back(std::move(*ns));
  }
  for (int i = 0; i < kRuns; ++i) {
    auto ns = newNetns();
    ASSERT_TRUE(ns);
    VethSpec v;
    v.hostName = uniqueName(fmt::format("m{}", i));
    v.peerName = uniqueName(fmt::format("p{}", i));
    auto t0 = Clock::now();
    auto r = host->createVeth(v);
    ASSERT_TRUE(r) << r.error().message;
    auto peer = host->link(v.peerName);
    ASSERT_TRUE(peer);
    auto mv = host->moveLink(peer->index, ns->get());
    move.push_back(ms(Clock::now() - t0));
    ASSERT_TRUE(mv) << mv.error().message;
    keep.push_back(std::move(*ns));
  }
  std::sort(create.begin(), create.end());
  std::sort(move.begin(), move.end());
  std::printf("[ measure  ] veth, peer created in target netns: median %.2f ms (min %.2f, max %.2f)\n",
              create[kRuns / 2], create.front(), create.back());
  std::printf("[ measure  ] veth created, then peer moved:       median %.2f ms (min %.2f, max %.2f)\n",
              move[kRuns / 2], move.front(), move.back());
  auto t0 = Clock::now();
  ASSERT_TRUE(host->deleteLink(uniqueName("c0")));
  std::printf("[ measure  ] delete one veth:                     %.2f ms\n", ms(Clock::now() - t0));
}
