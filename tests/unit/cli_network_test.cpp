#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "cli/network_opts.h"
#include "cli/ports_format.h"

namespace berth::cli {
namespace {

using json = nlohmann::json;

std::string body(const NetworkCreateFlags& f) {
  auto r = networkCreateBody(f);
  return r ? r->dump() : "error: " + r.error().message;
}

// Bodies captured from the docker CLI 28.2.2 (`docker network create ...`
// against a fake daemon answering API 1.41).
TEST(CliNetwork, CreateBodyAsDockerCli) {
  NetworkCreateFlags plain;
  plain.name = "n1";
  EXPECT_EQ(body(plain),
            R"({"Driver":"bridge","Scope":"","IPAM":{"Driver":"default","Options":{},"Config":[]},"Internal":false,)"
            R"("Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{},"Labels":{},)"
            R"("Name":"n1","CheckDuplicate":true})");

  NetworkCreateFlags full;
  full.name = "n2";
  full.scope = "local";
  full.ipv6 = true;
  full.subnets = {"10.9.0.0/24"};
  full.gateways = {"10.9.0.1"};
  full.ipRanges = {"10.9.0.128/25"};
  full.auxAddresses = {"b=10.9.0.6", "a=10.9.0.5"};
  full.internal = full.attachable = true;
  full.labels = {"x=y", "z"};
  full.opts = {"mtu=1400", "com.docker.network.bridge.name=br9"};
  full.ipamOpts = {"p=q"};
  EXPECT_EQ(body(full),
            R"({"Driver":"bridge","Scope":"local","EnableIPv6":true,"IPAM":{"Driver":"default","Options":{"p":"q"},)"
            R"("Config":[{"Subnet":"10.9.0.0/24","IPRange":"10.9.0.128/25","Gateway":"10.9.0.1",)"
            R"("AuxiliaryAddresses":{"a":"10.9.0.5","b":"10.9.0.6"}}]},"Internal":true,"Attachable":true,)"
            R"("Ingress":false,"ConfigOnly":false,"ConfigFrom":null,)"
            R"("Options":{"com.docker.network.bridge.name":"br9","mtu":"1400"},"Labels":{"x":"y","z":""},)"
            R"("Name":"n2","CheckDuplicate":true})");

  NetworkCreateFlags two;
  two.name = "n3";
  two.subnets = {"10.1.0.0/24,10.2.0.0/24"};  // pflag StringSlice: CSV
  two.gateways = {"10.1.0.1,10.2.0.1"};
  two.ipv4 = false;
  two.configFrom = "n4";
  two.opts = {"x", "k=v=w"};
  EXPECT_EQ(body(two),
            R"({"Driver":"bridge","Scope":"","EnableIPv4":false,"IPAM":{"Driver":"default","Options":{},)"
            R"("Config":[{"Subnet":"10.1.0.0/24","Gateway":"10.1.0.1"},{"Subnet":"10.2.0.0/24","Gateway":"10.2.0.1"}]},)"
            R"("Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":{"Network":"n4"},)"
            R"("Options":{"k":"v=w","x":""},"Labels":{},"Name":"n3","CheckDuplicate":true})");
  NetworkCreateFlags bad;
  bad.name = "n8";
  bad.subnets = {"bad"};  // one subnet is not checked by the CLI
  EXPECT_NE(body(bad).find(R"("Config":[{"Subnet":"bad"}])"), std::string::npos);
}

TEST(CliNetwork, CreateErrorsAsDockerCli) {
  auto err = [](auto fill) {
    NetworkCreateFlags f;
    f.name = "x";
    fill(f);
    auto r = networkCreateBody(f);
    return r ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(err([](auto& f) { f.gateways = {"10.0.0.1"}; }), "every ip-range or gateway must have a corresponding subnet");
  EXPECT_EQ(err([](auto& f) { f.subnets = {"10.0.0.0/24"}, f.gateways = {"bad"}; }), "no matching subnet for gateway bad");
  EXPECT_EQ(err([](auto& f) { f.subnets = {"10.0.0.0/24"}, f.gateways = {"10.1.0.1"}; }),
            "no matching subnet for gateway 10.1.0.1");
  EXPECT_EQ(err([](auto& f) { f.subnets = {"10.0.0.0/24"}, f.ipRanges = {"bad"}; }), "invalid CIDR address: bad");
  EXPECT_EQ(err([](auto& f) { f.subnets = {"10.0.0.0/24", "10.0.0.0/16"}; }),
            "multiple overlapping subnet configuration is not supported");
  EXPECT_EQ(err([](auto& f) { f.subnets = {"10.0.0.0/24", "bad"}; }), "invalid subnet: invalid CIDR address: bad");
  EXPECT_EQ(err([](auto& f) { f.subnets = {"bad", "10.0.0.0/24"}; }), "invalid subnet: invalid CIDR address: bad");
  EXPECT_EQ(err([](auto& f) { f.subnets = {"10.0.0.0/24"}, f.auxAddresses = {"x"}; }),
            "no matching subnet for aux-address ");
  EXPECT_EQ(err([](auto& f) { f.subnets = {"10.0.0.0/24"}, f.auxAddresses = {"x=10.1.1.1"}; }),
            "no matching subnet for aux-address 10.1.1.1");
  EXPECT_EQ(err([](auto& f) { f.subnets = {"10.0.0.0/24"}, f.ipRanges = {"10.0.0.0/25", "10.0.0.128/25"}; }),
            "every ip-range or gateway must have a corresponding subnet");
  EXPECT_EQ(err([](auto& f) {
              f.subnets = {"10.0.0.0/24", "10.1.0.0/24"}, f.ipRanges = {"10.0.0.0/25", "10.0.0.128/25"};
            }),
            "cannot configure multiple ranges (10.0.0.128/25, 10.0.0.0/25) on the same subnet (10.0.0.0/24)");
  EXPECT_EQ(err([](auto& f) {
              f.subnets = {"10.0.0.0/24", "10.1.0.0/24"}, f.gateways = {"10.0.0.1", "10.0.0.2"};
            }),
            "cannot configure multiple gateways (10.0.0.2, 10.0.0.1) for the same subnet (10.0.0.0/24)");
  EXPECT_EQ(err([](auto& f) { f.labels = {""}; }), "invalid argument \"\" for \"--label\" flag: invalid label '': empty name");
  EXPECT_EQ(err([](auto& f) { f.labels = {"a b=2"}; }),
            "invalid argument \"a b=2\" for \"--label\" flag: label 'a b' contains whitespaces");
  EXPECT_EQ(err([](auto& f) { f.labels = {" x=1"}; }), "ok");
}

TEST(CliNetwork, ConnectBodyAsDockerCli) {
  NetworkConnectFlags none;
  EXPECT_EQ(networkConnectBody("c1", none)->dump(),
            R"({"Container":"c1","EndpointConfig":{"IPAMConfig":{},"Links":null,"Aliases":[],"MacAddress":"",)"
            R"("DriverOpts":{},"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"",)"
            R"("IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}})");
  NetworkConnectFlags all;
  all.aliases = {"a", "b,c"};
  all.ipv4 = "10.0.0.9";
  all.ipv6 = "fd00::9";
  all.links = {"x:y"};
  all.linkLocalIps = {"169.254.0.1"};
  all.driverOpts = {"k=v,k2=v2", " K = V "};
  all.gwPriority = 5;
  EXPECT_EQ(networkConnectBody("c1", all)->dump(),
            R"({"Container":"c1","EndpointConfig":{"IPAMConfig":{"IPv4Address":"10.0.0.9","IPv6Address":"fd00::9",)"
            R"("LinkLocalIPs":["169.254.0.1"]},"Links":["x:y"],"Aliases":["a","b","c"],"MacAddress":"",)"
            R"("DriverOpts":{"K":"V","k":"v","k2":"v2"},"GwPriority":5,"NetworkID":"","EndpointID":"","Gateway":"",)"
            R"("IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,)"
            R"("DNSNames":null}})");
  NetworkConnectFlags badLink;
  badLink.links = {"a:b:c"};
  EXPECT_EQ(networkConnectBody("c1", badLink).error().message,
            "invalid argument \"a:b:c\" for \"--link\" flag: bad format for links: a:b:c");
  NetworkConnectFlags badOpt;
  badOpt.driverOpts = {"x"};
  EXPECT_EQ(networkConnectBody("c1", badOpt).error().message, "invalid key/value pair format in driver options");
}

TEST(CliNetwork, CreatedAtAsGoTimeString) {
  const char* old = std::getenv("TZ");
  std::string saved = old ? old : "";
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  EXPECT_EQ(networkCreatedAt("2026-12-01T10:01:00.123456789Z"), "2026-12-01 10:01:00.123456789 +0000 UTC");
  EXPECT_EQ(networkCreatedAt("2026-12-01T10:01:00.5Z"), "2026-12-01 10:01:00.5 +0000 UTC");
  EXPECT_EQ(networkCreatedAt("2026-12-01T10:01:00Z"), "2026-12-01 10:01:00 +0000 UTC");
  EXPECT_EQ(networkCreatedAt("2026-12-01T12:01:00+02:00"), "2026-12-01 10:01:00 +0000 UTC");
  if (old) ::setenv("TZ", saved.c_str(), 1); else ::unsetenv("TZ");
  ::tzset();
}

TEST(CliNetwork, InspectRendering) {
  std::vector<InspectEntry> e = {{R"({"Name":"n2","Id":"05"})", ""},
                                 {"", "Error response from daemon: network nope not found"},
                                 {R"({"Name":"n10","Id":"04"})", ""}};
  auto plain = renderInspect(e, "");
  EXPECT_EQ(plain.out, "[\n    {\n        \"Name\": \"n2\",\n        \"Id\": \"05\"\n    },\n    {\n        \"Name\": "
                       "\"n10\",\n        \"Id\": \"04\"\n    }\n]\n");
  EXPECT_EQ(plain.errors, std::vector<std::string>{"Error response from daemon: network nope not found"});
  EXPECT_EQ(renderInspect(e, "json").out, "[{\"Name\":\"n2\",\"Id\":\"05\"},{\"Name\":\"n10\",\"Id\":\"04\"}]\n");
  EXPECT_EQ(renderInspect({}, "").out, "[]\n");
  auto t = renderInspect(e, "{{.Name}}");
  EXPECT_EQ(t.out, "n2\nn10\n");
  auto bogus = renderInspect(e, "{{.Name}}{{.Bogus}}");
  EXPECT_EQ(bogus.out, "\n");  // docker: nothing written but one newline
  ASSERT_EQ(bogus.errors.size(), 3u);
  EXPECT_EQ(bogus.errors[0],
            "template parsing error: template: :1:11: executing \"\" at <.Bogus>: map has no entry for key \"Bogus\"");
  EXPECT_EQ(bogus.errors[1], "Error response from daemon: network nope not found");
  auto unparsable = renderInspect(e, "{{.Name");
  EXPECT_TRUE(unparsable.parseError);
  EXPECT_EQ(unparsable.errors, std::vector<std::string>{"template parsing error: template: :1: unclosed action"});
}

// Expectations from the docker CLI 28.2.2 (`docker ps` / `docker port`
// against a fake daemon serving these arrays).
TEST(CliPortsFormat, DisplayablePortsAsDockerPs) {
  json ports = json::parse(R"([
    {"IP":"0.0.0.0","PrivatePort":8080,"PublicPort":32768,"Type":"tcp"},
    {"IP":"::","PrivatePort":8080,"PublicPort":32768,"Type":"tcp"},
    {"IP":"0.0.0.0","PrivatePort":9001,"PublicPort":9001,"Type":"tcp"},
    {"IP":"0.0.0.0","PrivatePort":9000,"PublicPort":9000,"Type":"tcp"},
    {"IP":"0.0.0.0","PrivatePort":9002,"PublicPort":9002,"Type":"tcp"},
    {"IP":"127.0.0.1","PrivatePort":80,"PublicPort":9999,"Type":"udp"},
    {"PrivatePort":53,"Type":"udp"}, {"PrivatePort":54,"Type":"udp"},
    {"IP":"::1","PrivatePort":443,"PublicPort":8443,"Type":"tcp"}])");
  EXPECT_EQ(displayablePorts(ports),
            "53-54/udp, 0.0.0.0:9000-9002->9000-9002/tcp, 127.0.0.1:9999->80/udp, [::1]:8443->443/tcp, "
            "0.0.0.0:32768->8080/tcp, [::]:32768->8080/tcp");
  EXPECT_EQ(displayablePorts(json::array()), "");
  EXPECT_EQ(displayablePorts(json::parse(R"([{"PrivatePort":53,"Type":"udp"},{"PrivatePort":55,"Type":"udp"}])")),
            "53/udp, 55/udp");
  EXPECT_EQ(displayablePorts(json::parse(R"([{"IP":"::","PrivatePort":80,"PublicPort":80,"Type":"tcp"},
                                            {"IP":"::","PrivatePort":81,"PublicPort":81,"Type":"tcp"}])")),
            "[::]:80-81->80-81/tcp");
}

TEST(CliPortsFormat, NaturalLess) {
  EXPECT_TRUE(naturalLess("n2", "n10"));
  EXPECT_FALSE(naturalLess("n10", "n2"));
  EXPECT_TRUE(naturalLess("80/udp -> x", "443/tcp -> x"));
  EXPECT_TRUE(naturalLess("a", "b"));
  EXPECT_TRUE(naturalLess("a1", "a01"));  // fewer zeros first
  EXPECT_TRUE(naturalLess("1a", "a"));    // digits before other characters
  EXPECT_TRUE(naturalLess("abc", "abcd"));
  EXPECT_FALSE(naturalLess("same", "same"));
}

TEST(CliPortsFormat, PortLinesAsDockerPort) {
  json ports = json::parse(R"({"53/udp":null,"80/udp":[{"HostIp":"127.0.0.1","HostPort":"9999"}],
    "443/tcp":[{"HostIp":"::1","HostPort":"8443"}],
    "8080/tcp":[{"HostIp":"0.0.0.0","HostPort":"32768"},{"HostIp":"::","HostPort":"32768"}],
    "9003/tcp":[]})");
  EXPECT_EQ(*portLines(ports, "web", ""),
            (std::vector<std::string>{"80/udp -> 127.0.0.1:9999", "443/tcp -> [::1]:8443", "8080/tcp -> 0.0.0.0:32768",
                                      "8080/tcp -> [::]:32768"}));
  EXPECT_EQ(*portLines(ports, "web", "8080"), (std::vector<std::string>{"0.0.0.0:32768", "[::]:32768"}));
  EXPECT_EQ(*portLines(ports, "web", "80/udp"), std::vector<std::string>{"127.0.0.1:9999"});
  EXPECT_EQ(portLines(ports, "web", "53/udp").error().message, "Error: No public port '53/udp' published for web");
  EXPECT_EQ(portLines(ports, "web", "9003").error().message, "Error: No public port '9003' published for web");
  EXPECT_EQ(portLines(ports, "web", "abc").error().message,
            "Error: invalid port (abc): strconv.ParseUint: parsing \"abc\": invalid syntax");
  EXPECT_EQ(portLines(ports, "web", "70000").error().message,
            "Error: invalid port (70000): strconv.ParseUint: parsing \"70000\": value out of range");
  EXPECT_TRUE(portLines(json::object(), "web", "")->empty());
}

}  // namespace
}  // namespace berth::cli
