#include <gtest/gtest.h>

#include "network/ipam.h"

using namespace berth;
using namespace berth::network;

namespace {

IpAddr ip(std::string_view s) { return *parseIp(s); }
Prefix pfx(std::string_view s) { return *parsePrefix(s); }

}  // namespace

TEST(NetworkIpam, ParseFormatAddresses) {
  EXPECT_EQ(ip("172.18.0.2").str(), "172.18.0.2");
  EXPECT_EQ(ip("172.18.0.2").value, 0xac120002u);
  EXPECT_EQ(ip("fd00::1").str(), "fd00::1");
  EXPECT_EQ(ip("FD00:0:0::1").str(), "fd00::1");
  EXPECT_FALSE(ip("::ffff:1.2.3.4").isV4());
  for (auto bad : {"", "1.2.3", "1.2.3.256", "x", "1.2.3.4/8", "fe80::1%eth0", " 1.2.3.4"}) {
    auto r = parseIp(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Code::InvalidArgument);
  }
  EXPECT_EQ(parseIp("1.2.3").error().message, "invalid IP address: 1.2.3");
  auto b = ip("10.1.2.3").bytes();
  EXPECT_EQ(IpAddr::fromBytes(Family::V4, b.data()), ip("10.1.2.3"));
  auto b6 = ip("2001:db8::7").bytes();
  EXPECT_EQ(IpAddr::fromBytes(Family::V6, b6.data()), ip("2001:db8::7"));
}

TEST(NetworkIpam, PrefixesParseContainOverlap) {
  Prefix p = pfx("172.18.5.1/16");
  EXPECT_EQ(p.str(), "172.18.5.1/16");
  EXPECT_EQ(p.masked().str(), "172.18.0.0/16");
  EXPECT_EQ(p.first().str(), "172.18.0.0");
  EXPECT_EQ(p.last().str(), "172.18.255.255");
  EXPECT_TRUE(p.contains(ip("172.18.200.3")));
  EXPECT_FALSE(p.contains(ip("172.19.0.1")));
  EXPECT_FALSE(p.contains(ip("::1")));
  EXPECT_TRUE(p.contains(pfx("172.18.3.0/24")));
  EXPECT_FALSE(pfx("172.18.3.0/24").contains(p));
  EXPECT_TRUE(p.overlaps(pfx("172.18.3.0/24")));
  EXPECT_TRUE(pfx("172.18.3.0/24").overlaps(p));
  EXPECT_TRUE(pfx("172.16.0.0/12").overlaps(p));
  EXPECT_FALSE(p.overlaps(pfx("172.19.0.0/16")));
  EXPECT_FALSE(p.overlaps(pfx("::/0")));
  EXPECT_TRUE(pfx("0.0.0.0/0").contains(ip("8.8.8.8")));
  EXPECT_EQ(pfx("0.0.0.0/0").last().str(), "255.255.255.255");
  EXPECT_EQ(pfx("10.0.0.7/32").first().str(), "10.0.0.7");
  EXPECT_EQ(pfx("::/0").last().str(), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  Prefix v6 = pfx("fd12:3456:789a:1::/64");
  EXPECT_TRUE(v6.contains(ip("fd12:3456:789a:1::42")));
  EXPECT_FALSE(v6.contains(ip("fd12:3456:789a:2::42")));
  EXPECT_TRUE(pfx("fd12::/16").overlaps(v6));
  for (auto bad : {"10.0.0.0", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/08", "fd00::/129", "/8"}) {
    auto r = parsePrefix(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message, std::string("invalid CIDR address: ") + bad);
  }
  EXPECT_EQ(parseSubnet("10.1.2.3/16").error().message, "invalid subnet 10.1.2.3/16: it should be 10.1.0.0/16");
  EXPECT_TRUE(parseSubnet("10.1.0.0/16"));
}

TEST(NetworkIpam, DefaultPoolsAndChoice) {
  auto pools = defaultAddressPools();
  ASSERT_EQ(pools.size(), 16u);
  EXPECT_EQ(pools.front().base.str(), "172.17.0.0/16");
  EXPECT_EQ(pools[14].base.str(), "172.31.0.0/16");
  EXPECT_EQ(pools.back().base.str(), "192.168.0.0/16");
  EXPECT_EQ(pools.back().size, 20);
  EXPECT_TRUE(validatePools(pools));

  // Empty host: the first pool. docker0's 172.17/16 as a host route: the next.
  EXPECT_EQ(choosePool(pools, Family::V4, {}, {})->str(), "172.17.0.0/16");
  EXPECT_EQ(choosePool(pools, Family::V4, {}, {pfx("172.17.0.0/16")})->str(), "172.18.0.0/16");
  // A route inside a pool blocks the whole /16; a covering /12 blocks all 172s.
  EXPECT_EQ(choosePool(pools, Family::V4, {pfx("172.17.0.0/16")}, {pfx("172.18.3.0/24")})->str(), "172.19.0.0/16");
  EXPECT_EQ(choosePool(pools, Family::V4, {}, {pfx("172.16.0.0/12")})->str(), "192.168.0.0/20");
  EXPECT_EQ(choosePool(pools, Family::V4, {pfx("192.168.0.0/20")}, {pfx("172.16.0.0/12"), pfx("192.168.17.0/24")})->str(),
            "192.168.32.0/20");

  auto none = choosePool(pools, Family::V4, {pfx("192.168.0.0/16")}, {pfx("172.16.0.0/12")});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Code::Unavailable);
  EXPECT_EQ(none.error().message,
            "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network");
  EXPECT_EQ(choosePool(pools, Family::V6, {}, {}).error().message,
            "could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network");

  // Configured pools (daemon.json default-address-pools).
  std::vector<PoolSpec> custom{{pfx("10.10.0.0/16"), 24}, {pfx("fd00:1::/48"), 64}};
  EXPECT_TRUE(validatePools(custom));
  std::vector<Prefix> used;
  for (int i = 0; i < 3; ++i) used.push_back(*choosePool(custom, Family::V4, used, {}));
  EXPECT_EQ(used[2].str(), "10.10.2.0/24");
  EXPECT_EQ(choosePool(custom, Family::V6, {pfx("fd00:1::/64")}, {})->str(), "fd00:1:0:1::/64");
  EXPECT_FALSE(validatePools({{pfx("10.10.1.0/16"), 24}}));
  EXPECT_FALSE(validatePools({{pfx("10.10.0.0/16"), 8}}));
  EXPECT_FALSE(validatePools({{pfx("10.10.0.0/16"), 33}}));
}

TEST(NetworkIpam, OverlapAndUla) {
  EXPECT_TRUE(checkNoOverlap(pfx("10.0.0.0/24"), {pfx("10.0.1.0/24")}));
  auto r = checkNoOverlap(pfx("10.0.0.0/16"), {pfx("10.0.1.0/24")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::PermissionDenied);
  EXPECT_EQ(r.error().message, "Pool overlaps with other one on this address space");
  EXPECT_EQ(ulaPrefix(0x123456789aull).str(), "fd12:3456:789a::/64");
  EXPECT_EQ(ulaPrefix(0xffff123456789aull).str(), "fd12:3456:789a::/64");
}

TEST(NetworkIpam, AllocatorDefaultsAndSerialOrder) {
  auto a = SubnetAllocator::create({pfx("172.18.0.0/16"), {}, {}});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->gateway().str(), "172.18.0.1");
  EXPECT_EQ(a->allocate()->str(), "172.18.0.2");
  EXPECT_EQ(a->allocate()->str(), "172.18.0.3");
  a->release(ip("172.18.0.2"));
  // Serial: a released address is not reused before the range wraps.
  EXPECT_EQ(a->allocate()->str(), "172.18.0.4");
  a->release(ip("172.18.0.2"));  // twice: no-op
  EXPECT_FALSE(a->isAllocated(ip("172.18.0.2")));
}

TEST(NetworkIpam, AllocatorSmallSubnetWrapsAndExhausts) {
  auto a = SubnetAllocator::create({pfx("10.9.0.0/29"), {}, {}});  // .1 gw, .2-.6 hosts, .7 broadcast
  ASSERT_TRUE(a);
  for (int i = 2; i <= 6; ++i) EXPECT_EQ(a->allocate()->str(), "10.9.0." + std::to_string(i));
  auto full = a->allocate();
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, Code::Unavailable);
  EXPECT_EQ(full.error().message, "no available addresses on this pool");
  a->release(ip("10.9.0.4"));
  a->release(ip("10.9.0.3"));
  EXPECT_EQ(a->allocate()->str(), "10.9.0.3");  // wrapped to the lowest free
  EXPECT_EQ(a->allocate()->str(), "10.9.0.4");
}

TEST(NetworkIpam, AllocatorRangeGatewayAndExplicitIp) {
  SubnetConfig c{pfx("10.20.0.0/16"), pfx("10.20.5.0/30"), ip("10.20.5.1")};
  auto a = SubnetAllocator::create(c);
  ASSERT_TRUE(a);
  // The range's network address is a normal host of the subnet; the
  // gateway is skipped.
  EXPECT_EQ(a->allocate()->str(), "10.20.5.0");
  EXPECT_EQ(a->allocate()->str(), "10.20.5.2");
  EXPECT_EQ(a->allocate()->str(), "10.20.5.3");
  EXPECT_FALSE(a->allocate());
  // An explicit --ip may lie outside --ip-range but inside the subnet.
  EXPECT_EQ(a->request(ip("10.20.9.9"))->str(), "10.20.9.9");
  auto inUse = a->request(ip("10.20.9.9"));
  ASSERT_FALSE(inUse);
  EXPECT_EQ(inUse.error().code, Code::PermissionDenied);
  EXPECT_EQ(inUse.error().message, "Address already in use");
  EXPECT_EQ(a->request(ip("10.20.5.1")).error().message, "Address already in use");
  for (auto out : {"10.21.0.1", "10.20.0.0", "10.20.255.255", "fd00::1"}) {
    auto r = a->request(ip(out));
    ASSERT_FALSE(r) << out;
    EXPECT_EQ(r.error().code, Code::InvalidArgument);
    EXPECT_EQ(r.error().message, "requested address is out of range");
  }

  EXPECT_EQ(SubnetAllocator::create({pfx("10.20.0.0/16"), pfx("10.21.0.0/24"), {}}).error().message,
            "no matching subnet for range 10.21.0.0/24");
  EXPECT_EQ(SubnetAllocator::create({pfx("10.20.0.0/16"), {}, ip("10.30.0.1")}).error().message,
            "no matching subnet for gateway 10.30.0.1");
  EXPECT_EQ(SubnetAllocator::create({pfx("10.20.0.1/16"), {}, {}}).error().message,
            "invalid subnet 10.20.0.1/16: it should be 10.20.0.0/16");
}

TEST(NetworkIpam, AllocatorStateRoundTrip) {
  auto a = SubnetAllocator::create({pfx("192.168.16.0/20"), {}, ip("192.168.16.254")});
  ASSERT_TRUE(a);
  a->allocate();
  a->allocate();
  a->request(ip("192.168.20.1"));
  SubnetState saved = a->state();
  EXPECT_EQ(saved.allocated.size(), 3u);
  auto b = SubnetAllocator::restore(saved);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->state(), saved);
  EXPECT_EQ(b->allocate()->str(), "192.168.16.3");
  EXPECT_EQ(a->allocate()->str(), "192.168.16.3");
  SubnetState broken = saved;
  broken.allocated.insert(ip("10.0.0.1"));
  EXPECT_FALSE(SubnetAllocator::restore(broken));
}

TEST(NetworkIpam, AllocatorIpv6) {
  auto a = SubnetAllocator::create({ulaPrefix(0xabcdef0123ull), {}, {}});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->gateway().str(), "fdab:cdef:123::1");
  EXPECT_EQ(a->allocate()->str(), "fdab:cdef:123::2");
  // No broadcast in IPv6: the last address is a host.
  EXPECT_EQ(a->request(ip("fdab:cdef:123:0:ffff:ffff:ffff:ffff"))->str(), "fdab:cdef:123:0:ffff:ffff:ffff:ffff");
  EXPECT_EQ(a->request(ip("fdab:cdef:123::")).error().message, "requested address is out of range");
}

TEST(NetworkIpam, DockerMacs) {
  EXPECT_EQ(formatMac(macFromIpv4(ip("172.18.0.2"))), "02:42:ac:12:00:02");
  EXPECT_EQ(formatMac(macFromIpv4(ip("192.168.255.254"))), "02:42:c0:a8:ff:fe");
  Mac m = randomLocalMac(0xffffffffffffull);
  EXPECT_EQ(m[0] & 0x01, 0);  // unicast
  EXPECT_EQ(m[0] & 0x02, 2);  // locally administered
  EXPECT_EQ(formatMac(m), "fe:ff:ff:ff:ff:ff");
  EXPECT_EQ(formatMac(randomLocalMac(0)), "02:00:00:00:00:00");
  EXPECT_EQ(*parseMac("02:42:AC:12:00:02"), macFromIpv4(ip("172.18.0.2")));
  for (auto bad : {"02:42:ac:12:00", "02-42-ac-12-00-02", "02:42:ac:12:00:0g", "02:42:ac:12:00:022"})
    EXPECT_FALSE(parseMac(bad)) << bad;
}
