// berthd's networking flags and daemon.json keys (dockerd's names), flags
// winning over the file.
#include <gtest/gtest.h>

#include "common/util.h"
#include "daemon/config.h"
#include "fake_http.h"

using namespace berth;

namespace {

Result<daemon::Config> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "berthd");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return daemon::parseArgs(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST(DaemonConfig, NetworkFlags) {
  fakehttp::TempDir dir;
  // A --config-file that does not exist is an error.
  EXPECT_FALSE(parse({"--bip", "10.213.9.1/24", "--config-file", dir / "none.json"}));
  ASSERT_TRUE(writeFileAtomic(dir / "daemon.json", "{}"));
  auto c = parse({"-b", "bt0", "--bip=10.213.9.1/24", "--fixed-cidr", "10.213.9.128/25", "--ipv6", "--fixed-cidr-v6",
             "fd00:1::/64", "--default-address-pool", "base=10.50.0.0/16,size=24", "--mtu", "1400",
             "--iptables=false", "--ip-forward=false", "--icc=false", "--dns", "192.0.2.53", "--dns", "192.0.2.54",
             "--dns-search", "corp", "--dns-opt", "ndots:2", "--nft-table", "berthx", "--veth-prefix", "vx",
             "--config-file", dir / "daemon.json"});
  ASSERT_TRUE(c) << c.error().message;
  const auto& n = c->network;
  EXPECT_EQ(n.bridge, "bt0");
  EXPECT_EQ(n.bip, "10.213.9.1/24");
  EXPECT_EQ(n.fixedCidr, "10.213.9.128/25");
  EXPECT_TRUE(n.ipv6);
  EXPECT_EQ(n.fixedCidrV6, "fd00:1::/64");
  EXPECT_EQ(n.defaultAddressPools, std::vector<std::string>{"base=10.50.0.0/16,size=24"});
  EXPECT_EQ(n.mtu, 1400);
  EXPECT_FALSE(n.iptables);
  EXPECT_FALSE(n.ipForward);
  EXPECT_FALSE(n.icc);
  EXPECT_EQ(n.dns, (std::vector<std::string>{"192.0.2.53", "192.0.2.54"}));
  EXPECT_EQ(n.dnsSearch, std::vector<std::string>{"corp"});
  EXPECT_EQ(n.dnsOptions, std::vector<std::string>{"ndots:2"});
  EXPECT_EQ(n.nftTable, "berthx");
  EXPECT_EQ(n.vethPrefix, "vx");
  EXPECT_FALSE(parse({"--mtu", "abc", "--config-file", dir / "daemon.json"}));
  EXPECT_FALSE(parse({"--iptables=maybe", "--config-file", dir / "daemon.json"}));
}

TEST(DaemonConfig, NetworkKeysInDaemonJson) {
  fakehttp::TempDir dir;
  ASSERT_TRUE(writeFileAtomic(dir / "daemon.json", R"({"bridge":"btj","bip":"10.213.8.1/24","iptables":false,
    "ip-forward":false,"icc":false,"ipv6":true,"mtu":1450,"dns":["192.0.2.1"],"dns-search":["a.example"],
    "dns-opts":["ndots:3"],"default-address-pools":[{"base":"10.60.0.0/16","size":24}],"nft-table":"berthj"})"));
  auto c = parse({"--config-file", dir / "daemon.json", "--bip", "10.213.7.1/24"});
  ASSERT_TRUE(c) << c.error().message;
  const auto& n = c->network;
  EXPECT_EQ(n.bridge, "btj");
  EXPECT_EQ(n.bip, "10.213.7.1/24");  // the flag wins
  EXPECT_FALSE(n.iptables);
  EXPECT_FALSE(n.ipForward);
  EXPECT_FALSE(n.icc);
  EXPECT_TRUE(n.ipv6);
  EXPECT_EQ(n.mtu, 1450);
  EXPECT_EQ(n.dns, std::vector<std::string>{"192.0.2.1"});
  EXPECT_EQ(n.dnsSearch, std::vector<std::string>{"a.example"});
  EXPECT_EQ(n.dnsOptions, std::vector<std::string>{"ndots:3"});
  EXPECT_EQ(n.defaultAddressPools, std::vector<std::string>{"base=10.60.0.0/16,size=24"});
  EXPECT_EQ(n.nftTable, "berthj");
  ASSERT_TRUE(writeFileAtomic(dir / "bad.json", R"({"iptables":"no"})"));
  auto bad = parse({"--config-file", dir / "bad.json"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("iptables must be a boolean"), std::string::npos);
}

// Every daemon.json key must be one berthd reads: a typo or a dockerd
// setting berthd lacks is refused with a message naming it, never ignored.
TEST(DaemonConfig, UnknownAndUnsupportedJsonKeysAreRefused) {
  fakehttp::TempDir dir;
  auto withFile = [&](const std::string& text) {
    EXPECT_TRUE(writeFileAtomic(dir / "daemon.json", text));
    return parse({"--config-file", dir / "daemon.json"});
  };
  auto c = withFile(R"({"bogus-key": 1, "data-root": "/x"})");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("the following directives don't match any configuration option: bogus-key"),
            std::string::npos)
      << c.error().message;
  c = withFile(R"({"storage-driver": "overlay2"})");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("not supported by berthd: storage-driver"), std::string::npos) << c.error().message;
  // every key berthd documents is accepted together
  c = withFile(R"({"data-root": "/x", "debug": true, "registry-mirrors": [], "mtu": 1400,
                   "api-max-connections": 10, "group": "root", "iptables": false})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->dataRoot, "/x");
  EXPECT_FALSE(withFile(R"({"debug": "yes"})"));
}

TEST(DaemonConfig, RegistryHostsDir) {
  fakehttp::TempDir dir;
  ASSERT_TRUE(writeFileAtomic(dir / "empty.json", "{}"));
  auto c = parse({"--config-file", dir / "empty.json"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->registryHostsDir, "/etc/berth/certs.d");
  ASSERT_TRUE(writeFileAtomic(dir / "daemon.json", R"({"registry-hosts-dir": "/srv/hosts"})"));
  c = parse({"--config-file", dir / "daemon.json"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->registryHostsDir, "/srv/hosts");
  // The flag wins over the file.
  c = parse({"--registry-hosts-dir=/x", "--config-file", dir / "daemon.json"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->registryHostsDir, "/x");
  EXPECT_FALSE(parse({"--config-file", dir / "empty.json", "--registry-hosts-dir"}));
}
