#include <gtest/gtest.h>

#include "cli/flags.h"
#include "cli/run_config.h"
#include "cli/run_network.h"

namespace berth::cli {
namespace {

using ojson = nlohmann::ordered_json;

Result<CreateRequest> build(std::vector<std::string> argv) {
  FlagSet f;
  addContainerCreateFlags(f, false);
  auto pos = f.parse(argv);
  if (!pos) return std::unexpected(pos.error());
  return buildCreateRequest(f, *pos, CreateOptions{});
}

// The networking fields of a create body, flattened as the captures below.
ojson networkingSubset(const ojson& b) {
  ojson s;
  s["Hostname"] = b["Hostname"];
  s["Domainname"] = b["Domainname"];
  if (b.contains("ExposedPorts")) s["ExposedPorts"] = b["ExposedPorts"];
  if (b.contains("MacAddress")) s["MacAddress"] = b["MacAddress"];
  for (const char* k : {"NetworkMode", "PortBindings", "PublishAllPorts", "Dns", "DnsOptions", "DnsSearch",
                        "ExtraHosts", "Links"})
    s[std::string("HostConfig.") + k] = b["HostConfig"][k];
  s["NetworkingConfig"] = b["NetworkingConfig"];
  return s;
}

struct Captured {
  std::vector<std::string> argv;
  const char* body;
};

// Captured from the docker CLI 28.2.2: `docker create ARGS` against a fake
// daemon answering API 1.49 that logs the body (key order included: Go
// writes map keys sorted).
const Captured kCaptured[] = {
    {{"busybox"},
     R"({"Hostname":"","Domainname":"","HostConfig.NetworkMode":"default","HostConfig.PortBindings":{},"HostConfig.PublishAllPorts":false,"HostConfig.Dns":[],"HostConfig.DnsOptions":[],"HostConfig.DnsSearch":[],"HostConfig.ExtraHosts":null,"HostConfig.Links":null,"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}})"},
    {{"-p", "8080", "-p", "127.0.0.1:9000:80/udp", "--expose", "53/udp", "busybox"},
     R"({"Hostname":"","Domainname":"","ExposedPorts":{"53/udp":{},"80/udp":{},"8080/tcp":{}},"HostConfig.NetworkMode":"default","HostConfig.PortBindings":{"80/udp":[{"HostIp":"127.0.0.1","HostPort":"9000"}],"8080/tcp":[{"HostIp":"","HostPort":""}]},"HostConfig.PublishAllPorts":false,"HostConfig.Dns":[],"HostConfig.DnsOptions":[],"HostConfig.DnsSearch":[],"HostConfig.ExtraHosts":null,"HostConfig.Links":null,"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}})"},
    {{"-p", "8000-8001:80-81", "-p", "[::1]:5353:53/udp", "-p", "7000-7010:7000", "--expose", "9000-9002/udp", "-P", "busybox"},
     R"({"Hostname":"","Domainname":"","ExposedPorts":{"53/udp":{},"7000/tcp":{},"80/tcp":{},"81/tcp":{},"9000/udp":{},"9001/udp":{},"9002/udp":{}},"HostConfig.NetworkMode":"default","HostConfig.PortBindings":{"53/udp":[{"HostIp":"::1","HostPort":"5353"}],"7000/tcp":[{"HostIp":"","HostPort":"7000-7010"}],"80/tcp":[{"HostIp":"","HostPort":"8000"}],"81/tcp":[{"HostIp":"","HostPort":"8001"}]},"HostConfig.PublishAllPorts":true,"HostConfig.Dns":[],"HostConfig.DnsOptions":[],"HostConfig.DnsSearch":[],"HostConfig.ExtraHosts":null,"HostConfig.Links":null,"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}})"},
    {{"-p", "published=8080,target=80", "-p", "target=53,protocol=udp", "busybox"},
     R"({"Hostname":"","Domainname":"","ExposedPorts":{"53/udp":{},"80/tcp":{}},"HostConfig.NetworkMode":"default","HostConfig.PortBindings":{"53/udp":[{"HostIp":"","HostPort":""}],"80/tcp":[{"HostIp":"","HostPort":"8080"}]},"HostConfig.PublishAllPorts":false,"HostConfig.Dns":[],"HostConfig.DnsOptions":[],"HostConfig.DnsSearch":[],"HostConfig.ExtraHosts":null,"HostConfig.Links":null,"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}})"},
    {{"--network", "n1", "--network-alias", "a1", "--ip", "10.1.2.3", "--ip6", "fd00::3", "--mac-address", "92:d0:c6:0a:29:33", "--link", "x:y", "--link-local-ip", "169.254.1.1", "busybox"},
     R"({"Hostname":"","Domainname":"","HostConfig.NetworkMode":"n1","HostConfig.PortBindings":{},"HostConfig.PublishAllPorts":false,"HostConfig.Dns":[],"HostConfig.DnsOptions":[],"HostConfig.DnsSearch":[],"HostConfig.ExtraHosts":null,"HostConfig.Links":["x:y"],"NetworkingConfig":{"EndpointsConfig":{"n1":{"IPAMConfig":{"IPv4Address":"10.1.2.3","IPv6Address":"fd00::3","LinkLocalIPs":["169.254.1.1"]},"Links":["x:y"],"Aliases":["a1"],"MacAddress":"92:d0:c6:0a:29:33","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}})"},
    {{"--network", "n1", "--network", "n2", "busybox"},
     R"({"Hostname":"","Domainname":"","HostConfig.NetworkMode":"n1","HostConfig.PortBindings":{},"HostConfig.PublishAllPorts":false,"HostConfig.Dns":[],"HostConfig.DnsOptions":[],"HostConfig.DnsSearch":[],"HostConfig.ExtraHosts":null,"HostConfig.Links":null,"NetworkingConfig":{"EndpointsConfig":{"n1":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null},"n2":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}})"},
    {{"--network", "name=n1,alias=a2,ip=10.0.0.5,mac-address=92:d0:c6:0a:29:34,driver-opt=k=v,link-local-ip=169.254.1.2,gw-priority=3", "--network", "n2", "busybox"},
     R"({"Hostname":"","Domainname":"","HostConfig.NetworkMode":"n1","HostConfig.PortBindings":{},"HostConfig.PublishAllPorts":false,"HostConfig.Dns":[],"HostConfig.DnsOptions":[],"HostConfig.DnsSearch":[],"HostConfig.ExtraHosts":null,"HostConfig.Links":null,"NetworkingConfig":{"EndpointsConfig":{"n1":{"IPAMConfig":{"IPv4Address":"10.0.0.5","LinkLocalIPs":["169.254.1.2"]},"Links":null,"Aliases":["a2"],"MacAddress":"92:d0:c6:0a:29:34","DriverOpts":{"k":"v"},"GwPriority":3,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null},"n2":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}})"},
    {{"--dns", "1.1.1.1", "--dns-search", "ex.com.", "--dns-option", "ndots:2", "--add-host", "h:1.2.3.4", "--add-host", "g=host-gateway", "--add-host", "v6=[::1]", "-h", "myhost", "--domainname", "dom", "busybox"},
     R"({"Hostname":"myhost","Domainname":"dom","HostConfig.NetworkMode":"default","HostConfig.PortBindings":{},"HostConfig.PublishAllPorts":false,"HostConfig.Dns":["1.1.1.1"],"HostConfig.DnsOptions":["ndots:2"],"HostConfig.DnsSearch":["ex.com"],"HostConfig.ExtraHosts":["h:1.2.3.4","g:host-gateway","v6:::1"],"HostConfig.Links":null,"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}})"},
    {{"--network", "host", "busybox"},
     R"({"Hostname":"","Domainname":"","HostConfig.NetworkMode":"host","HostConfig.PortBindings":{},"HostConfig.PublishAllPorts":false,"HostConfig.Dns":[],"HostConfig.DnsOptions":[],"HostConfig.DnsSearch":[],"HostConfig.ExtraHosts":null,"HostConfig.Links":null,"NetworkingConfig":{"EndpointsConfig":{}}})"},
    {{"--network", "none", "--dns", "8.8.8.8", "busybox"},
     R"({"Hostname":"","Domainname":"","HostConfig.NetworkMode":"none","HostConfig.PortBindings":{},"HostConfig.PublishAllPorts":false,"HostConfig.Dns":["8.8.8.8"],"HostConfig.DnsOptions":[],"HostConfig.DnsSearch":[],"HostConfig.ExtraHosts":null,"HostConfig.Links":null,"NetworkingConfig":{"EndpointsConfig":{}}})"},
    {{"--network", "container:x", "busybox"},
     R"({"Hostname":"","Domainname":"","HostConfig.NetworkMode":"container:x","HostConfig.PortBindings":{},"HostConfig.PublishAllPorts":false,"HostConfig.Dns":[],"HostConfig.DnsOptions":[],"HostConfig.DnsSearch":[],"HostConfig.ExtraHosts":null,"HostConfig.Links":null,"NetworkingConfig":{"EndpointsConfig":{}}})"},
    {{"--mac-address", "92:d0:c6:0a:29:33", "busybox"},
     R"({"Hostname":"","Domainname":"","HostConfig.NetworkMode":"default","HostConfig.PortBindings":{},"HostConfig.PublishAllPorts":false,"HostConfig.Dns":[],"HostConfig.DnsOptions":[],"HostConfig.DnsSearch":[],"HostConfig.ExtraHosts":null,"HostConfig.Links":null,"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"92:d0:c6:0a:29:33","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}})"},
    {{"--net", "n1", "--net-alias", "a3", "--dns-opt", "x", "--network", "n2", "busybox"},
     R"({"Hostname":"","Domainname":"","HostConfig.NetworkMode":"n1","HostConfig.PortBindings":{},"HostConfig.PublishAllPorts":false,"HostConfig.Dns":[],"HostConfig.DnsOptions":["x"],"HostConfig.DnsSearch":[],"HostConfig.ExtraHosts":null,"HostConfig.Links":null,"NetworkingConfig":{"EndpointsConfig":{"n1":{"IPAMConfig":null,"Links":null,"Aliases":["a3"],"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null},"n2":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}})"},
    {{"--link", "x", "busybox"},
     R"({"Hostname":"","Domainname":"","HostConfig.NetworkMode":"default","HostConfig.PortBindings":{},"HostConfig.PublishAllPorts":false,"HostConfig.Dns":[],"HostConfig.DnsOptions":[],"HostConfig.DnsSearch":[],"HostConfig.ExtraHosts":null,"HostConfig.Links":["x"],"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}})"},
    {{"--ip", "10.0.0.3", "--ip6", "fd00::1", "--link-local-ip", "fe80::1", "busybox"},
     R"({"Hostname":"","Domainname":"","HostConfig.NetworkMode":"default","HostConfig.PortBindings":{},"HostConfig.PublishAllPorts":false,"HostConfig.Dns":[],"HostConfig.DnsOptions":[],"HostConfig.DnsSearch":[],"HostConfig.ExtraHosts":null,"HostConfig.Links":null,"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":{"IPv4Address":"10.0.0.3","IPv6Address":"fd00::1","LinkLocalIPs":["fe80::1"]},"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}})"},
    {{"--network", "bridge", "--link", "a:b", "--link", "c", "busybox"},
     R"({"Hostname":"","Domainname":"","HostConfig.NetworkMode":"bridge","HostConfig.PortBindings":{},"HostConfig.PublishAllPorts":false,"HostConfig.Dns":[],"HostConfig.DnsOptions":[],"HostConfig.DnsSearch":[],"HostConfig.ExtraHosts":null,"HostConfig.Links":["a:b","c"],"NetworkingConfig":{"EndpointsConfig":{}}})"},
    {{"--network", "default", "busybox"},
     R"({"Hostname":"","Domainname":"","HostConfig.NetworkMode":"default","HostConfig.PortBindings":{},"HostConfig.PublishAllPorts":false,"HostConfig.Dns":[],"HostConfig.DnsOptions":[],"HostConfig.DnsSearch":[],"HostConfig.ExtraHosts":null,"HostConfig.Links":null,"NetworkingConfig":{"EndpointsConfig":{}}})"},
    {{"--network", "n1", "busybox"},
     R"({"Hostname":"","Domainname":"","HostConfig.NetworkMode":"n1","HostConfig.PortBindings":{},"HostConfig.PublishAllPorts":false,"HostConfig.Dns":[],"HostConfig.DnsOptions":[],"HostConfig.DnsSearch":[],"HostConfig.ExtraHosts":null,"HostConfig.Links":null,"NetworkingConfig":{"EndpointsConfig":{}}})"},
    {{"--network", "Name=N1,Alias=AB,driver-opt=K=V", "busybox"},
     R"({"Hostname":"","Domainname":"","HostConfig.NetworkMode":"n1","HostConfig.PortBindings":{},"HostConfig.PublishAllPorts":false,"HostConfig.Dns":[],"HostConfig.DnsOptions":[],"HostConfig.DnsSearch":[],"HostConfig.ExtraHosts":null,"HostConfig.Links":null,"NetworkingConfig":{"EndpointsConfig":{"n1":{"IPAMConfig":null,"Links":null,"Aliases":["ab"],"MacAddress":"","DriverOpts":{"k":"v"},"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}})"},
    {{"--network", "host", "--network", "none", "busybox"},
     R"({"Hostname":"","Domainname":"","HostConfig.NetworkMode":"host","HostConfig.PortBindings":{},"HostConfig.PublishAllPorts":false,"HostConfig.Dns":[],"HostConfig.DnsOptions":[],"HostConfig.DnsSearch":[],"HostConfig.ExtraHosts":null,"HostConfig.Links":null,"NetworkingConfig":{"EndpointsConfig":{"host":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null},"none":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}})"},
};

TEST(CliRunNetwork, CreateBodiesAsDockerCli) {
  for (const Captured& c : kCaptured) {
    std::string args;
    for (auto& a : c.argv) args += a + " ";
    auto r = build(c.argv);
    ASSERT_TRUE(r) << args << ": " << r.error().message;
    EXPECT_EQ(networkingSubset(r->body).dump(), ojson::parse(c.body).dump()) << args;
  }
}

std::string failure(std::vector<std::string> argv) {
  auto r = build(std::move(argv));
  return r ? std::string("ok") : r.error().message;
}

// Messages captured from the docker CLI 28.2.2 (stderr without "docker: ").
TEST(CliRunNetwork, ErrorsAsDockerCli) {
  EXPECT_EQ(failure({"-p", "bad", "busybox"}), "invalid containerPort: bad");
  EXPECT_EQ(failure({"-p", "80/foo", "busybox"}), "invalid proto: foo");
  EXPECT_EQ(failure({"-p", "target=80,bad", "busybox"}),
            "invalid publish opts format (should be name=value but got 'bad')");
  EXPECT_EQ(failure({"--expose", "5-3", "busybox"}),
            "invalid range format for --expose: 5-3, error: invalid range specified for port: 5-3");
  EXPECT_EQ(failure({"--expose", "a", "busybox"}),
            "invalid range format for --expose: a, error: strconv.ParseUint: parsing \"a\": invalid syntax");
  EXPECT_EQ(failure({"--expose", "80:80", "busybox"}), "invalid port format for --expose: 80:80");
  EXPECT_EQ(failure({"--expose", "", "busybox"}),
            "invalid range format for --expose: , error: empty string specified for ports");
  EXPECT_EQ(failure({"--mac-address", "bad", "busybox"}), "bad is not a valid mac address");
  EXPECT_EQ(failure({"--mac-address", "92:d0:c6:0a:29", "busybox"}), "92:d0:c6:0a:29 is not a valid mac address");
  EXPECT_EQ(failure({"--dns", "bad", "busybox"}),
            "invalid argument \"bad\" for \"--dns\" flag: IP address is not correctly formatted: bad");
  EXPECT_EQ(failure({"--dns", "fe80::1%eth0", "busybox"}),
            "invalid argument \"fe80::1%eth0\" for \"--dns\" flag: IP address is not correctly formatted: fe80::1%eth0");
  EXPECT_EQ(failure({"--dns-search", "bad domain", "busybox"}),
            "invalid argument \"bad domain\" for \"--dns-search\" flag: bad domain is not a valid domain");
  EXPECT_EQ(failure({"--dns-search", "-x.com", "busybox"}),
            "invalid argument \"-x.com\" for \"--dns-search\" flag: -x.com is not a valid domain");
  EXPECT_EQ(failure({"--dns-search", "a..b", "busybox"}),
            "invalid argument \"a..b\" for \"--dns-search\" flag: a..b is not a valid domain");
  EXPECT_EQ(failure({"--dns-search", "a_b.com", "busybox"}),
            "invalid argument \"a_b.com\" for \"--dns-search\" flag: a_b.com is not a valid domain");
  EXPECT_EQ(failure({"--dns-search", "", "busybox"}),
            "invalid argument \"\" for \"--dns-search\" flag:  is not a valid domain");
  EXPECT_EQ(failure({"--add-host", "bad", "busybox"}),
            "invalid argument \"bad\" for \"--add-host\" flag: bad format for add-host: \"bad\"");
  EXPECT_EQ(failure({"--add-host", "h:bad", "busybox"}),
            "invalid argument \"h:bad\" for \"--add-host\" flag: invalid IP address in add-host: \"bad\"");
  EXPECT_EQ(failure({"--add-host", ":1.2.3.4", "busybox"}),
            "invalid argument \":1.2.3.4\" for \"--add-host\" flag: bad format for add-host: \":1.2.3.4\"");
  EXPECT_EQ(failure({"--add-host", "h:1.2.3.4:5", "busybox"}),
            "invalid argument \"h:1.2.3.4:5\" for \"--add-host\" flag: invalid IP address in add-host: \"1.2.3.4:5\"");
  EXPECT_EQ(failure({"--link", "a:b:c", "busybox"}),
            "invalid argument \"a:b:c\" for \"--link\" flag: bad format for links: a:b:c");
  EXPECT_EQ(failure({"--link", "", "busybox"}),
            "invalid argument \"\" for \"--link\" flag: empty string specified for links");
  EXPECT_EQ(failure({"--network-alias", "foo", "busybox"}),
            "network-scoped aliases are only supported for user-defined networks");
  EXPECT_EQ(failure({"--network-alias", "a", "--network", "host", "busybox"}),
            "network-scoped aliases are only supported for user-defined networks");
  EXPECT_EQ(failure({"--network", "n1", "--network", "n1", "busybox"}), "network \"n1\" is specified multiple times");
  EXPECT_EQ(failure({"--network", "n1", "--network", "host", "busybox"}),
            "conflicting options: cannot attach both user-defined and non-user-defined network-modes");
  EXPECT_EQ(failure({"--network", "name=n1,alias=x", "--network-alias", "y", "busybox"}),
            "conflicting options: cannot specify both --network-alias and per-network alias");
  EXPECT_EQ(failure({"--network", "name=n1,link-local-ip=fe80::1", "--link-local-ip", "fe80::2", "busybox"}),
            "conflicting options: cannot specify both --link-local-ip and per-network link-local IP addresses");
  EXPECT_EQ(failure({"--network", "name=x,mac-address=92:d0:c6:0a:29:33", "--mac-address", "92:d0:c6:0a:29:34",
                     "busybox"}),
            "conflicting options: cannot specify both --mac-address and per-network MAC address");
  EXPECT_EQ(failure({"--network", "name=n1,foo=bar", "busybox"}),
            "invalid argument \"name=n1,foo=bar\" for \"--network\" flag: invalid field key foo");
  EXPECT_EQ(failure({"--network", "n1,alias=a", "busybox"}),
            "invalid argument \"n1,alias=a\" for \"--network\" flag: invalid field n1");
  EXPECT_EQ(failure({"--network", "alias=a", "busybox"}),
            "invalid argument \"alias=a\" for \"--network\" flag: network name/id is not specified");
  EXPECT_EQ(failure({"--network", "name=n1,=x", "busybox"}),
            "invalid argument \"name=n1,=x\" for \"--network\" flag: invalid field =x");
  EXPECT_EQ(failure({"--network", "name=n1,driver-opt=x", "busybox"}),
            "invalid argument \"name=n1,driver-opt=x\" for \"--network\" flag: invalid key value pair format in "
            "driver options");
  EXPECT_EQ(failure({"--network", "name=n1,gw-priority=x", "busybox"}),
            "invalid argument \"name=n1,gw-priority=x\" for \"--network\" flag: invalid gw-priority (x): invalid syntax");
  EXPECT_EQ(failure({"--network", "name=n1,mac-address=bad", "busybox"}), "bad is not a valid mac address");
  EXPECT_EQ(failure({"--network", "", "busybox"}), "no name set for network");
}

TEST(CliRunNetwork, ValidatorsKeepDockersForms) {
  EXPECT_EQ(*validateExtraHost("h=1.2.3.4"), "h:1.2.3.4");
  EXPECT_EQ(*validateExtraHost("h:[::1]"), "h:::1");
  EXPECT_EQ(*validateExtraHost("h:0:0::1"), "h:0:0::1");  // the text given, not canonical
  EXPECT_EQ(*validateExtraHost("h:[1.2.3.4]"), "h:1.2.3.4");
  EXPECT_EQ(*validateExtraHost(" h:1.2.3.4"), " h:1.2.3.4");
  EXPECT_EQ(*validateExtraHost("h:host-gateway"), "h:host-gateway");
  EXPECT_EQ(*validateDnsSearch(" x.com "), "x.com");
  EXPECT_EQ(*validateDnsSearch("."), ".");
  EXPECT_EQ(*validateDnsSearch("1x.com"), "1x.com");
  EXPECT_EQ(*validateIpAddress(" 1.1.1.1"), "1.1.1.1");
  EXPECT_EQ(*validateIpAddress("0:0::1"), "::1");
  EXPECT_TRUE(validateLink(":b"));
  EXPECT_TRUE(validateLink("a:/b"));
  for (const char* mac : {"92:d0:c6:0a:29:33", "92-d0-c6-0a-29-33", "92d0.c60a.2933", "02:00:5e:10:00:00:00:01"})
    EXPECT_TRUE(isValidMac(mac)) << mac;
  for (const char* mac : {"", "bad", "92:d0:c6:0a:29", "92:d0-c6:0a:29:33", "92:d0:c6:0a:29:3g"})
    EXPECT_FALSE(isValidMac(mac)) << mac;
  auto q = parseNetworkOpt("\"name=n1,x\",alias=b");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->target, "n1,x");
  EXPECT_EQ(parseNetworkOpt("name= n1 ")->target, "name= n1 ");  // not the long syntax: a name
}

TEST(CliRunNetwork, LocalhostDnsWarnsOnce) {
  auto r = build({"--dns", "127.0.0.53", "--dns", "::1", "busybox"});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->warnings[0], "WARNING: Localhost DNS (127.0.0.53) may fail in containers.");
  auto r6 = build({"--dns", "0:0::1", "busybox"});
  ASSERT_TRUE(r6);
  EXPECT_EQ(r6->warnings, std::vector<std::string>{"WARNING: Localhost DNS (::1) may fail in containers."});
  EXPECT_TRUE(build({"--dns", "1.1.1.1", "busybox"})->warnings.empty());
}

}  // namespace
}  // namespace berth::cli
