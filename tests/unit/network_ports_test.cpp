#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "network/ports.h"

using namespace berth;
using namespace berth::network;
using json = nlohmann::json;

namespace {

// "ip|hostPort|port/proto" per binding, to compare whole results at once.
std::vector<std::string> flat(const ParsedPortSpec& p) {
  std::vector<std::string> out;
  for (auto& [k, b] : p.bindings) out.push_back(b.hostIp + "|" + b.hostPort + "|" + k.str());
  return out;
}

std::string specError(std::string_view spec) {
  auto r = parsePortSpec(spec);
  return r ? std::string("ok") : r.error().message;
}

std::vector<std::string> flatMappings(const std::vector<PortMapping>& ms) {
  std::vector<std::string> out;
  for (auto& m : ms) out.push_back(joinHostPort(m.hostIp, std::to_string(m.hostPort)) + "->" + m.container.str());
  return out;
}

// A listening (tcp) or bound (udp) socket on 127.0.0.1:port (0 = any); returns fd, sets *port.
int hold(int type, std::uint16_t* port) {
  int fd = ::socket(AF_INET, type, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(*port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  if (type == SOCK_STREAM) ::listen(fd, 1);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  *port = ntohs(sa.sin_port);
  return fd;
}

}  // namespace

TEST(NetworkPorts, PortKeys) {
  auto k = parsePortKeys("8080");
  ASSERT_TRUE(k);
  ASSERT_EQ(k->size(), 1u);
  EXPECT_EQ((*k)[0].str(), "8080/tcp");
  EXPECT_EQ(parsePortKeys("53/UDP")->at(0).str(), "53/udp");
  EXPECT_EQ(parsePortKeys("80/")->at(0).str(), "80/tcp");
  auto r = parsePortKeys("8000-8002/sctp");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ(r->back().str(), "8002/sctp");
  EXPECT_EQ(parsePortKeys("x").error().message, "invalid containerPort: x");
  EXPECT_EQ(parsePortKeys("70000/tcp").error().message, "invalid containerPort: 70000");
  EXPECT_EQ(parsePortKeys("80/foo").error().message, "invalid proto: foo");
  EXPECT_EQ(parsePortKeys("80/foo").error().code, Code::InvalidArgument);
  EXPECT_TRUE((PortKey{80, "tcp"} < PortKey{80, "udp"}));
  EXPECT_TRUE((PortKey{53, "udp"} < PortKey{80, "tcp"}));
}

TEST(NetworkPorts, PortRangeGoMessages) {
  EXPECT_EQ(*parsePortRange("80"), (std::pair<std::uint16_t, std::uint16_t>{80, 80}));
  EXPECT_EQ(*parsePortRange("080"), (std::pair<std::uint16_t, std::uint16_t>{80, 80}));
  EXPECT_EQ(*parsePortRange("1-2-3"), (std::pair<std::uint16_t, std::uint16_t>{1, 2}));
  EXPECT_EQ(parsePortRange("").error().message, "empty string specified for ports");
  EXPECT_EQ(parsePortRange("a").error().message, "strconv.ParseUint: parsing \"a\": invalid syntax");
  EXPECT_EQ(parsePortRange("1-a").error().message, "strconv.ParseUint: parsing \"a\": invalid syntax");
  EXPECT_EQ(parsePortRange("70000").error().message, "strconv.ParseUint: parsing \"70000\": value out of range");
  EXPECT_EQ(parsePortRange("5-3").error().message, "invalid range specified for port: 5-3");
  EXPECT_FALSE(parsePortRange("+80"));
  EXPECT_FALSE(parsePortRange("-3"));
}

// Each expectation below was captured from the docker CLI 28.2.2 (`docker
// create -p SPEC` against a logging fake daemon).
TEST(NetworkPorts, PortSpecAsDockerCli) {
  using V = std::vector<std::string>;
  EXPECT_EQ(flat(*parsePortSpec("8080")), V{"||8080/tcp"});
  EXPECT_EQ(flat(*parsePortSpec("127.0.0.1:9000:80/udp")), V{"127.0.0.1|9000|80/udp"});
  EXPECT_EQ(flat(*parsePortSpec(":80")), V{"||80/tcp"});
  EXPECT_EQ(flat(*parsePortSpec("::80")), V{"||80/tcp"});
  EXPECT_EQ(flat(*parsePortSpec("[::1]:80:80")), V{"::1|80|80/tcp"});
  EXPECT_EQ(flat(*parsePortSpec("::1:80:80")), V{"::1|80|80/tcp"});
  EXPECT_EQ(flat(*parsePortSpec("[127.0.0.1]:80:80")), V{"127.0.0.1|80|80/tcp"});
  EXPECT_EQ(flat(*parsePortSpec("::ffff:1.2.3.4:1:2")), V{"::ffff:1.2.3.4|1|2/tcp"});
  EXPECT_EQ(flat(*parsePortSpec("8000-8010:80")), V{"|8000-8010|80/tcp"});
  EXPECT_EQ(flat(*parsePortSpec("127.0.0.1:8000-8001:80")), V{"127.0.0.1|8000-8001|80/tcp"});
  EXPECT_EQ(flat(*parsePortSpec("08000-8000:80")), V{"|8000|80/tcp"});
  EXPECT_EQ(flat(*parsePortSpec("1-2:3-4/udp")), (V{"|1|3/udp", "|2|4/udp"}));
  EXPECT_EQ(flat(*parsePortSpec("80-81/udp")), (V{"||80/udp", "||81/udp"}));
  EXPECT_EQ(flat(*parsePortSpec("8000-8001:80-81")), (V{"|8000|80/tcp", "|8001|81/tcp"}));
  EXPECT_EQ(flat(*parsePortSpec("0")), V{"||0/tcp"});
  EXPECT_EQ(flat(*parsePortSpec("0:80")), V{"|0|80/tcp"});
  EXPECT_EQ(flat(*parsePortSpec("127.0.0.1::80")), V{"127.0.0.1||80/tcp"});
  EXPECT_EQ(flat(*parsePortSpec("80/")), V{"||80/tcp"});
  EXPECT_EQ(flat(*parsePortSpec("8080:80/UDP")), V{"|8080|80/udp"});
  EXPECT_EQ(flat(*parsePortSpec("080")), V{"||80/tcp"});
  EXPECT_EQ(flat(*parsePortSpec("1-2-3")), (V{"||1/tcp", "||2/tcp"}));

  EXPECT_EQ(specError("bad"), "invalid containerPort: bad");
  EXPECT_EQ(specError("80/foo"), "invalid proto: foo");
  EXPECT_EQ(specError("80/FOO"), "invalid proto: FOO");
  EXPECT_EQ(specError("1.2.3:80:80"), "invalid IP address: 1.2.3");
  EXPECT_EQ(specError("1.2.3:80:80/foo"), "invalid IP address: 1.2.3");
  EXPECT_EQ(specError("[::1:80:80"), "invalid IP address [::1: address [::1:: missing ']' in address");
  EXPECT_EQ(specError("[::1]x:80:80"), "invalid IP address [::1]x: address [::1]x:: missing port in address");
  EXPECT_EQ(specError("[::1]:5:80:80"), "invalid IP address [::1]:5: address [::1]:5:: too many colons in address");
  EXPECT_EQ(specError("[::1]]:80:80"), "invalid IP address [::1]]: address [::1]]:: missing port in address");
  EXPECT_EQ(specError("a[b]:80:80"), "invalid IP address: a[b]");
  EXPECT_EQ(specError("[fe80::1%eth0]:80:80"), "invalid IP address: fe80::1%eth0");
  EXPECT_EQ(specError("01.2.3.4:1:2"), "invalid IP address: 01.2.3.4");
  EXPECT_EQ(specError("8000-8001:80-82"),
            "invalid ranges specified for container and host Ports: 80-82 and 8000-8001");
  EXPECT_EQ(specError("a:80"), "invalid hostPort: a");
  EXPECT_EQ(specError("a:80/foo"), "invalid hostPort: a");
  EXPECT_EQ(specError("a:b/foo"), "invalid containerPort: b");
  EXPECT_EQ(specError("65536:80"), "invalid hostPort: 65536");
  EXPECT_EQ(specError("8001-8000:80"), "invalid hostPort: 8001-8000");
  EXPECT_EQ(specError("70000"), "invalid containerPort: 70000");
  EXPECT_EQ(specError("80-"), "invalid containerPort: 80-");
  EXPECT_EQ(specError("-3"), "invalid containerPort: -3");
  EXPECT_EQ(specError("5-3"), "invalid containerPort: 5-3");
  EXPECT_EQ(specError("+80"), "invalid containerPort: +80");
  EXPECT_EQ(specError(""), "no port specified: <empty>");
  EXPECT_EQ(specError("/udp"), "no port specified: /udp<empty>");
  EXPECT_EQ(specError("80:"), "no port specified: 80:<empty>");
  EXPECT_EQ(specError("80::"), "invalid IP address: 80");
  EXPECT_EQ(specError("1:2:3:4:5"), "invalid IP address: 1:2:3");
  EXPECT_EQ(specError("[::1]:80:80/foo"), "invalid proto: foo");
}

TEST(NetworkPorts, RequestsFromHostConfig) {
  json bindings = json::parse(R"({"80/udp":[{"HostIp":"127.0.0.1","HostPort":"9000"}],
                                  "8080/tcp":[{"HostIp":"","HostPort":""}],
                                  "90/tcp":[{"HostIp":"","HostPort":"8000-8010"}],
                                  "91/tcp":[{"HostIp":"","HostPort":"0"}], "92/tcp":[]})");
  json exposed = json::parse(R"({"53/udp":{},"8080/tcp":{},"80/udp":{},"92/tcp":{}})");
  auto r = portRequests(bindings, false, exposed);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 4u);
  // fixed host ports first (dockerd's nat.SortPortMap), then by container port
  EXPECT_EQ((*r)[0].container.str(), "80/udp");
  EXPECT_EQ((*r)[0].hostIp, "127.0.0.1");
  EXPECT_EQ((*r)[0].hostPortStart, 9000);
  EXPECT_EQ((*r)[0].hostPortEnd, 9000);
  EXPECT_EQ((*r)[1].container.str(), "90/tcp");
  EXPECT_EQ((*r)[1].hostPortStart, 8000);
  EXPECT_EQ((*r)[1].hostPortEnd, 8010);
  EXPECT_EQ((*r)[2].container.str(), "91/tcp");
  EXPECT_EQ((*r)[2].hostPortStart, 0);
  EXPECT_EQ((*r)[3].container.str(), "8080/tcp");

  auto all = portRequests(bindings, true, exposed);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 6u);  // + 53/udp and 92/tcp (an empty binding list), ephemeral
  EXPECT_EQ((*all)[2].container.str(), "53/udp");
  EXPECT_EQ((*all)[3].container.str(), "91/tcp");
  EXPECT_EQ((*all)[4].container.str(), "92/tcp");

  EXPECT_EQ(portRequests(json::parse(R"({"x/tcp":[{}]})"), false, json()).error().message,
            "invalid port specification: \"x\"");
  EXPECT_EQ(portRequests(json::parse(R"({"80/tcp":[{"HostPort":"y"}]})"), false, json()).error().message,
            "invalid port specification: \"y\"");
  EXPECT_EQ(portRequests(json::parse(R"({"80/tcp":[{"HostIp":"nope"}]})"), false, json()).error().message,
            "invalid IP address: nope");
  EXPECT_TRUE(portRequests(json(), false, json())->empty());
}

TEST(NetworkPorts, AllocatorEphemeralSerialAndRelease) {
  // A private range nothing on this host is likely to hold; a host socket
  // there is stepped over (the probe), never an error.
  PortAllocator a({41200, 41203});
  auto m1 = a.allocate("c1", {PortRequest{{80, "tcp"}, "127.0.0.1", 0, 0}});
  ASSERT_TRUE(m1) << m1.error().message;
  ASSERT_EQ(m1->size(), 1u);
  std::uint16_t p1 = (*m1)[0].hostPort;
  EXPECT_GE(p1, 41200);
  EXPECT_LE(p1, 41203);
  auto m2 = a.allocate("c2", {PortRequest{{80, "tcp"}, "127.0.0.1", 0, 0}});
  ASSERT_TRUE(m2);
  EXPECT_GT((*m2)[0].hostPort, p1);  // first free after the last given
  a.release("c1");
  auto m3 = a.allocate("c3", {PortRequest{{80, "tcp"}, "127.0.0.1", 0, 0}});
  ASSERT_TRUE(m3);
  EXPECT_GT((*m3)[0].hostPort, (*m2)[0].hostPort);  // not back to the released one yet
  EXPECT_EQ(a.mappingsOf("c3").size(), 1u);
  EXPECT_TRUE(a.mappingsOf("c1").empty());
}

TEST(NetworkPorts, AllocatorExhaustedRange) {
  PortAllocator a({41210, 41211});
  std::vector<PortRequest> three(3, PortRequest{{80, "udp"}, "127.0.0.1", 0, 0});
  for (int i = 0; i < 3; ++i) three[i].container.port = std::uint16_t(80 + i);
  auto r = a.allocate("c1", three);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "all ports are allocated");
  // all or nothing: the two that fitted were given back
  EXPECT_TRUE(a.mappingsOf("c1").empty());
  auto two = a.allocate("c1", {three[0], three[1]});
  ASSERT_TRUE(two) << two.error().message;
  EXPECT_EQ(two->size(), 2u);
}

TEST(NetworkPorts, AllocatorConflicts) {
  PortAllocator a({41220, 41229});
  std::uint16_t free = 0;
  int probe = hold(SOCK_STREAM, &free);  // find a free port, then let it go
  ASSERT_GE(probe, 0);
  ::close(probe);
  auto ok = a.allocate("c1", {PortRequest{{80, "tcp"}, "127.0.0.1", free, free}});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(flatMappings(*ok), std::vector<std::string>{"127.0.0.1:" + std::to_string(free) + "->80/tcp"});

  // same address: taken; 0.0.0.0 clashes with any IPv4 address
  auto same = a.allocate("c2", {PortRequest{{81, "tcp"}, "127.0.0.1", free, free}});
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error().code, Code::Conflict);
  EXPECT_EQ(same.error().message, "Bind for 127.0.0.1:" + std::to_string(free) + " failed: port is already allocated");
  auto any = a.allocate("c2", {PortRequest{{81, "tcp"}, "0.0.0.0", free, free}});
  ASSERT_FALSE(any);
  EXPECT_EQ(any.error().message, "Bind for 0.0.0.0:" + std::to_string(free) + " failed: port is already allocated");
  // another protocol, or another specific address, is fine
  EXPECT_TRUE(a.allocate("c3", {PortRequest{{80, "udp"}, "127.0.0.1", free, free}}));
  EXPECT_TRUE(a.allocate("c4", {PortRequest{{80, "tcp"}, "127.0.0.2", free, free}}));

  // one call asking twice for the same host port: refused, nothing kept
  auto twice = a.allocate("c5", {PortRequest{{1, "tcp"}, "127.0.0.1", 41225, 41225},
                                 PortRequest{{2, "tcp"}, "127.0.0.1", 41225, 41225}});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().message, "Bind for 127.0.0.1:41225 failed: port is already allocated");
  EXPECT_TRUE(a.mappingsOf("c5").empty());
  EXPECT_TRUE(a.allocate("c6", {PortRequest{{1, "tcp"}, "127.0.0.1", 41225, 41225}}));

  // released: free again
  a.release("c1");
  auto again = a.allocate("c2", {PortRequest{{81, "tcp"}, "0.0.0.0", free, free}});
  EXPECT_FALSE(again);  // c4 still holds 127.0.0.2
  a.release("c4");
  EXPECT_TRUE(a.allocate("c2", {PortRequest{{81, "tcp"}, "0.0.0.0", free, free}}));
}

TEST(NetworkPorts, AllocatorHostProcessHoldsPort) {
  PortAllocator a({41230, 41239});
  std::uint16_t port = 0;
  int fd = hold(SOCK_STREAM, &port);
  ASSERT_GE(fd, 0);
  auto r = a.allocate("c1", {PortRequest{{80, "tcp"}, "127.0.0.1", port, port}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::Conflict);
  EXPECT_EQ(r.error().message, "failed to bind host port 127.0.0.1:" + std::to_string(port) + "/tcp: address already in use");
  // 0.0.0.0 clashes with a socket on 127.0.0.1 as well
  auto r2 = a.allocate("c1", {PortRequest{{80, "tcp"}, "0.0.0.0", port, port}});
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().message, "failed to bind host port 0.0.0.0:" + std::to_string(port) + "/tcp: address already in use");
  // udp is another port space
  EXPECT_TRUE(a.allocate("c1", {PortRequest{{80, "udp"}, "127.0.0.1", port, port}}));
  ::close(fd);

  // ephemeral: a port a host process holds is stepped over
  std::uint16_t held = 41240;
  int fd2 = hold(SOCK_DGRAM, &held);
  if (fd2 >= 0) {
    PortAllocator b({41240, 41241});
    auto m = b.allocate("x", {PortRequest{{53, "udp"}, "127.0.0.1", 0, 0}});
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ((*m)[0].hostPort, 41241);
    ::close(fd2);
  }
  // not a local address
  auto far = a.allocate("c9", {PortRequest{{80, "tcp"}, "192.0.2.1", 41238, 41238}});
  ASSERT_FALSE(far);
  EXPECT_EQ(far.error().message, "failed to bind host port 192.0.2.1:41238/tcp: cannot assign requested address");
}

TEST(NetworkPorts, AllocatorDualStackAndRanges) {
  PortAllocator a({41250, 41259});
  auto r = a.allocate("c1", {PortRequest{{8080, "tcp"}, "", 0, 0}});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_GE(r->size(), 1u);
  EXPECT_EQ((*r)[0].hostIp, "0.0.0.0");
  if (r->size() == 2) {  // the host has IPv6
    EXPECT_EQ((*r)[1].hostIp, "::");
    EXPECT_EQ((*r)[1].hostPort, (*r)[0].hostPort);
  }
  auto v4only = a.allocate("c2", {PortRequest{{8080, "tcp"}, "", 0, 0}}, false);
  ASSERT_TRUE(v4only);
  EXPECT_EQ(v4only->size(), 1u);
  // a host range: any free port in it
  auto range = a.allocate("c3", {PortRequest{{80, "tcp"}, "127.0.0.1", 41262, 41263},
                                 PortRequest{{81, "tcp"}, "127.0.0.1", 41262, 41263}});
  ASSERT_TRUE(range) << range.error().message;
  EXPECT_EQ((*range)[0].hostPort, 41262);
  EXPECT_EQ((*range)[1].hostPort, 41263);
  auto full = a.allocate("c4", {PortRequest{{80, "tcp"}, "127.0.0.1", 41262, 41263}});
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().message, "all ports are allocated");
}

TEST(NetworkPorts, AllocatorRestoreAndThreads) {
  PortAllocator a({41270, 41299});
  a.restore("old", {PortMapping{{80, "tcp"}, "0.0.0.0", 41270}});
  auto r = a.allocate("new", {PortRequest{{80, "tcp"}, "127.0.0.1", 41270, 41270}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "Bind for 127.0.0.1:41270 failed: port is already allocated");
  // 8 threads x 2 ephemeral ports: 16 distinct ports out of the 29 left
  std::vector<std::thread> ts;
  std::vector<std::vector<PortMapping>> got(8);
  for (int i = 0; i < 8; ++i)
    ts.emplace_back([&, i] {
      auto m = a.allocate("t" + std::to_string(i), {PortRequest{{1, "tcp"}, "127.0.0.1", 0, 0},
                                                    PortRequest{{2, "tcp"}, "127.0.0.1", 0, 0}});
      if (m) got[i] = *m;
    });
  for (auto& t : ts) t.join();
  std::set<std::uint16_t> ports;
  for (auto& g : got) {
    ASSERT_EQ(g.size(), 2u);
    for (auto& m : g) ports.insert(m.hostPort);
  }
  EXPECT_EQ(ports.size(), 16u);
  EXPECT_EQ(ports.count(41270), 0u);
}

TEST(NetworkPorts, ToPublished) {
  std::vector<PortMapping> ms = {{{8080, "tcp"}, "0.0.0.0", 32768}, {{8080, "tcp"}, "::", 32768},
                                 {{80, "udp"}, "127.0.0.1", 9000}};
  auto v4 = toPublished(ms, *parseIp("172.18.0.2"));
  ASSERT_EQ(v4.size(), 2u);
  EXPECT_FALSE(v4[0].hostIp.has_value());
  EXPECT_EQ(v4[0].hostPort, 32768);
  EXPECT_EQ(v4[0].containerPort, 8080);
  EXPECT_EQ(v4[0].containerIp.str(), "172.18.0.2");
  EXPECT_EQ(v4[1].hostIp->str(), "127.0.0.1");
  EXPECT_EQ(v4[1].proto, "udp");
  auto v6 = toPublished(ms, *parseIp("fd00::2"));
  ASSERT_EQ(v6.size(), 1u);
  EXPECT_FALSE(v6[0].hostIp.has_value());
}

// dockerd 28's shapes for `-p 8080 -p 127.0.0.1:9000:80/udp --expose 53/udp`.
TEST(NetworkPorts, ApiShapes) {
  std::vector<PortMapping> ms = {{{8080, "tcp"}, "0.0.0.0", 32768}, {{8080, "tcp"}, "::", 32768},
                                 {{80, "udp"}, "127.0.0.1", 9000}};
  json exposed = json::parse(R"({"53/udp":{},"80/udp":{},"8080/tcp":{}})");
  EXPECT_EQ(portsJson(ms, exposed).dump(),
            R"({"53/udp":null,"80/udp":[{"HostIp":"127.0.0.1","HostPort":"9000"}],)"
            R"("8080/tcp":[{"HostIp":"0.0.0.0","HostPort":"32768"},{"HostIp":"::","HostPort":"32768"}]})");
  EXPECT_EQ(portsSummaryJson(ms, exposed).dump(),
            R"([{"PrivatePort":53,"Type":"udp"},{"IP":"127.0.0.1","PrivatePort":80,"PublicPort":9000,"Type":"udp"},)"
            R"({"IP":"0.0.0.0","PrivatePort":8080,"PublicPort":32768,"Type":"tcp"},)"
            R"({"IP":"::","PrivatePort":8080,"PublicPort":32768,"Type":"tcp"}])");
  EXPECT_EQ(portsJson({}, json()).dump(), "{}");
  EXPECT_EQ(portsSummaryJson({}, json()).dump(), "[]");
  EXPECT_EQ(joinHostPort("::", "80"), "[::]:80");
  EXPECT_EQ(joinHostPort("0.0.0.0", "80"), "0.0.0.0:80");
}
