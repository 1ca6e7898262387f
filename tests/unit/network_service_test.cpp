// network::Service against the real kernel, as root, inside a private
// network namespace that plays the host (bridges, host veths, sysctls and
// berth's nft table live and die with it). Sandboxes are real namespaces
// bind-mounted under a temp exec root, unmounted by the fixture.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <dirent.h>

#include "common/util.h"
#include "fake_http.h"
#include "netns_test_util.h"
#include "network/dns.h"
#include "network/netlink.h"
#include "network/nft.h"
#include "network/sandbox_files.h"
#include "network/service.h"
#include "store/database.h"

using namespace berth;
using namespace berth::network;

namespace {

struct Recorded {
  std::string type, action, id;
  nlohmann::json attrs;
};

class NetworkService : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    auto ns = testutil::newNetns();
    if (!ns) GTEST_SKIP() << "no network namespaces";
    hostNs_ = std::move(*ns);
    ASSERT_TRUE(hostRtnl().setUp(1));  // the "host's" lo: 127.0.0.1 ports are probed there
    auto db = store::Database::open(dir_ / "berth.db");
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    cfg_.dataRoot = dir_ / "data";
    cfg_.execRoot = dir_ / "exec";
    cfg_.bridge = "btest0";
    cfg_.nftTable = "berthsvc";
    cfg_.vethPrefix = "vbt";
    cfg_.hostNetnsFd = hostNs_.get();
    cfg_.resolvConf = dir_ / "resolv.conf";
    ASSERT_TRUE(writeFileAtomic(cfg_.resolvConf, "nameserver 127.0.0.53\nsearch example.org\noptions edns0\n"));
  }
  void TearDown() override {
    svc_.reset();
    // Unmount every sandbox left and the private bind of the netns dir.
    std::string nsdir = cfg_.execRoot + "/netns";
    if (DIR* d = ::opendir(nsdir.c_str())) {
      while (dirent* e = ::readdir(d))
        if (e->d_name[0] != '.') ::umount2((nsdir + "/" + e->d_name).c_str(), MNT_DETACH);
      ::closedir(d);
    }
    ::umount2(nsdir.c_str(), MNT_DETACH);
  }

  Service& svc() {
    if (!svc_) {
      auto s = makeService(cfg_, *db_, [this](const std::string& t, const std::string& a, const std::string& id,
                                              const nlohmann::json& attrs) { events_.push_back({t, a, id, attrs}); });
      EXPECT_TRUE(s) << s.error().message;
      svc_ = std::move(*s);
    }
    return *svc_;
  }
  Rtnl hostRtnl() { return std::move(*Rtnl::openIn(hostNs_.get())); }
  std::string listTableText() {
    std::string out;
    std::thread t([&] {
      if (::setns(hostNs_.get(), CLONE_NEWNET) != 0) return;
      LibNftRunner r;
      auto l = listTable(r, cfg_.nftTable);
      out = l ? *l : "absent: " + l.error().message;
    });
    t.join();
    return out;
  }

  fakehttp::TempDir dir_;
  UniqueFd hostNs_;
  std::unique_ptr<store::Database> db_;
  Config cfg_;
  std::unique_ptr<Service> svc_;
  std::vector<Recorded> events_;
};

CreateRequest netReq(const std::string& name, const std::string& subnet = "", const std::string& gateway = "",
                     const std::string& range = "") {
  CreateRequest r;
  r.name = name;
  if (!subnet.empty()) r.ipamConfig.push_back(IpamPool{subnet, range, gateway, {}});
  return r;
}

}  // namespace

TEST_F(NetworkService, PredefinedNetworksAndDefaultBridge) {
  auto l = svc().list({});
  ASSERT_TRUE(l) << l.error().message;
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ((*l)[0].net.name, "bridge");
  EXPECT_EQ((*l)[1].net.name, "host");
  EXPECT_EQ((*l)[1].net.driver, "host");
  EXPECT_EQ((*l)[2].net.name, "none");
  EXPECT_EQ((*l)[2].net.driver, "null");
  auto& br = (*l)[0].net;
  ASSERT_EQ(br.ipamConfig.size(), 1u);
  EXPECT_EQ(br.ipamConfig[0].subnet, "172.18.0.0/16");
  EXPECT_EQ(br.ipamConfig[0].gateway, "172.18.0.1");
  EXPECT_EQ(br.options.at("com.docker.network.bridge.name"), "btest0");
  auto link = hostRtnl().link("btest0");
  ASSERT_TRUE(link) << link.error().message;
  EXPECT_EQ(link->kind, "bridge");
  EXPECT_TRUE(link->up);
  // The rules cover the default bridge.
  EXPECT_NE(listTableText().find("btest0"), std::string::npos);
  // Ids are stable across a restart of the service.
  std::string id = br.id;
  svc_.reset();
  auto again = svc().resolve("bridge");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, id);
}

TEST_F(NetworkService, CreateResolveListRemovePrune) {
  CreateRequest r = netReq("n1", "10.213.1.0/24", "10.213.1.254", "10.213.1.128/25");
  r.labels = {{"team", "a"}};
  r.options = {{"com.docker.network.bridge.name", "btn1"}};
  auto c = svc().create(r);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->id.size(), 64u);
  ASSERT_FALSE(events_.empty());
  EXPECT_EQ(events_.back().action, "create");
  EXPECT_EQ(events_.back().attrs["name"], "n1");
  EXPECT_EQ(events_.back().attrs["type"], "bridge");

  auto i = svc().inspect(c->id.substr(0, 5));
  ASSERT_TRUE(i) << i.error().message;
  EXPECT_EQ(i->net.name, "n1");
  EXPECT_EQ(i->net.ipamConfig[0].gateway, "10.213.1.254");
  EXPECT_EQ(i->net.ipamConfig[0].ipRange, "10.213.1.128/25");
  EXPECT_EQ(i->net.bridge, "btn1");
  EXPECT_TRUE(hostRtnl().link("btn1").has_value());

  // Errors as dockerd words them.
  auto dup = svc().create(netReq("n1"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Code::Conflict);
  EXPECT_EQ(dup.error().message, "network with name n1 already exists");
  CreateRequest aux = netReq("auxbad", "10.213.9.0/24");
  aux.ipamConfig[0].auxAddresses = {{"r", "10.213.10.5"}};
  auto auxR = svc().create(aux);
  ASSERT_FALSE(auxR);
  EXPECT_EQ(auxR.error().message, "no matching subnet for aux-address 10.213.10.5");
  auto overlap = svc().create(netReq("n2", "10.213.0.0/16"));
  ASSERT_FALSE(overlap);
  EXPECT_EQ(overlap.error().code, Code::PermissionDenied);
  CreateRequest host = netReq("h2");
  host.driver = "host";
  auto h = svc().create(host);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().message, "only one instance of \"host\" network is allowed");
  CreateRequest unknown = netReq("u");
  unknown.driver = "weird";
  auto u = svc().create(unknown);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code, Code::NotFound);
  auto pre = svc().create(netReq("bridge"));
  ASSERT_FALSE(pre);
  EXPECT_EQ(pre.error().code, Code::PermissionDenied);
  auto rmPre = svc().remove("host");
  ASSERT_FALSE(rmPre);
  EXPECT_EQ(rmPre.error().message, "host is a pre-defined network and cannot be removed");
  auto missing = svc().remove("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::NotFound);
  EXPECT_EQ(missing.error().message, "network nope not found");

  // A network without a subnet gets the first free default pool.
  auto n3 = svc().create(netReq("n3"));
  ASSERT_TRUE(n3) << n3.error().message;
  auto n3i = svc().resolve("n3");
  EXPECT_EQ(n3i->ipamConfig[0].subnet, "172.17.0.0/16");
  EXPECT_EQ(n3i->bridge, "br-" + n3->id.substr(0, 12));

  // Filters.
  auto custom = svc().list({{"type", {"custom"}}});
  ASSERT_TRUE(custom);
  EXPECT_EQ(custom->size(), 2u);
  auto labelled = svc().list({{"label", {"team=a"}}});
  ASSERT_TRUE(labelled);
  ASSERT_EQ(labelled->size(), 1u);
  EXPECT_EQ((*labelled)[0].net.name, "n1");
  EXPECT_FALSE(svc().list({{"bogus", {"x"}}}));
  // name and id are searched as regular expressions, as dockerd's filters.Match.
  auto exact = svc().list({{"name", {"^n1$"}}});
  ASSERT_TRUE(exact);
  ASSERT_EQ(exact->size(), 1u);
  EXPECT_EQ((*exact)[0].net.name, "n1");
  EXPECT_EQ(svc().list({{"name", {"n"}}})->size(), 3u);  // n1, n3, none

  // prune with a label filter removes only n1; then rm n3.
  auto pruned = svc().prune({{"label", {"team"}}});
  ASSERT_TRUE(pruned) << pruned.error().message;
  EXPECT_EQ(*pruned, std::vector<std::string>{"n1"});
  EXPECT_FALSE(hostRtnl().link("btn1").has_value());
  ASSERT_TRUE(svc().remove("n3"));
  EXPECT_EQ(events_.back().action, "destroy");
  EXPECT_EQ(svc().list({{"type", {"custom"}}})->size(), 0u);
}

TEST_F(NetworkService, SandboxAttachDetach) {
  ASSERT_TRUE(svc().create(netReq("app", "10.213.2.0/24")));
  std::string cid(64, 'a');
  auto path = svc().createSandbox(cid);
  ASSERT_TRUE(path) << path.error().message;
  EXPECT_EQ(*path, cfg_.execRoot + "/netns/" + cid);
  EXPECT_TRUE(svc().createSandbox(cid).has_value());  // idempotent

  EndpointRequest req;
  req.containerId = cid;
  req.containerName = "web";
  req.aliases = {"www"};
  auto e = svc().attach("app", req);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->ipv4, "10.213.2.2");
  EXPECT_EQ(e->ipv4PrefixLen, 24);
  EXPECT_EQ(e->gateway, "10.213.2.1");
  EXPECT_EQ(e->mac, "02:42:0a:d5:02:02");
  EXPECT_EQ(e->ifName, "eth0");
  EXPECT_EQ(e->dnsNames, (std::vector<std::string>{"web", "www", cid.substr(0, 12)}));
  EXPECT_EQ(events_.back().action, "connect");
  EXPECT_EQ(events_.back().attrs["container"], cid);

  // Inside the sandbox: eth0 up with its address and a default route's gateway reachable.
  UniqueFd ns(::open(path->c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(ns);
  auto in = Rtnl::openIn(ns.get());
  ASSERT_TRUE(in);
  auto eth0 = in->link("eth0");
  ASSERT_TRUE(eth0) << eth0.error().message;
  EXPECT_TRUE(eth0->up);
  auto addrs = in->addresses(eth0->index);
  ASSERT_TRUE(addrs);
  std::vector<std::string> v4;
  for (auto& a : *addrs)
    if (a.prefix.addr.isV4()) v4.push_back(a.prefix.str());
  EXPECT_EQ(v4, std::vector<std::string>{"10.213.2.2/24"});
  EXPECT_TRUE(in->link("lo")->up);
  // Host side: the veth on the network's bridge.
  auto host = hostRtnl();
  auto veth = host.link(e->hostVeth);
  ASSERT_TRUE(veth) << e->hostVeth;
  auto br = host.link(svc().resolve("app")->bridge);
  ASSERT_TRUE(br);
  EXPECT_EQ(veth->master, br->index);
  EXPECT_TRUE(e->hostVeth.starts_with("vbt"));

  // Second network: eth1, no duplicate join, rm refused while joined.
  ASSERT_TRUE(svc().create(netReq("db", "10.213.3.0/24")));
  EndpointRequest req2 = req;
  req2.ipv4 = "10.213.3.77";
  req2.gatewayOwner = false;
  auto e2 = svc().attach("db", req2);
  ASSERT_TRUE(e2) << e2.error().message;
  EXPECT_EQ(e2->ifName, "eth1");
  EXPECT_EQ(e2->ipv4, "10.213.3.77");
  EXPECT_FALSE(svc().attach("db", req2));
  auto busy = svc().remove("db");
  ASSERT_FALSE(busy);
  EXPECT_NE(busy.error().message.find("has active endpoints"), std::string::npos);
  auto inspect = svc().inspect("db");
  ASSERT_EQ(inspect->endpoints.size(), 1u);
  EXPECT_EQ(svc().endpointsOf(cid).size(), 2u);

  // A taken address: IPAM's error, and nothing left behind by the failed attach.
  std::string cid2(64, 'b');
  ASSERT_TRUE(svc().createSandbox(cid2));
  EndpointRequest req3;
  req3.containerId = cid2;
  req3.containerName = "other";
  req3.ipv4 = "10.213.3.77";
  auto clash = svc().attach("db", req3);
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().message, "Address already in use");
  EXPECT_TRUE(svc().endpointsOf(cid2).empty());

  // Files.
  auto files = svc().sandboxFiles(cid, "web", "", {"gw:host-gateway"}, {}, {}, {});
  ASSERT_TRUE(files) << files.error().message;
  EXPECT_NE(files->hosts.find("10.213.2.2\tweb\n10.213.3.77\tweb\n"), std::string::npos) << files->hosts;
  EXPECT_NE(files->hosts.find("172.18.0.1\tgw\n"), std::string::npos) << files->hosts;
  EXPECT_NE(files->resolvConf.find("nameserver 10.213.2.1\n"), std::string::npos) << files->resolvConf;
  EXPECT_NE(files->resolvConf.find("search example.org\n"), std::string::npos) << files->resolvConf;

  // detach: lease back, host veth gone.
  ASSERT_TRUE(svc().detach("db", cid));
  EXPECT_EQ(events_.back().action, "disconnect");
  EXPECT_FALSE(host.link(e2->hostVeth).has_value());
  EXPECT_TRUE(svc().remove("db"));

  // removeSandbox: endpoints gone, the namespace file too.
  ASSERT_TRUE(svc().removeSandbox(cid));
  ASSERT_TRUE(svc().removeSandbox(cid2));
  EXPECT_TRUE(svc().endpointsOf(cid).empty());
  EXPECT_NE(::access(path->c_str(), F_OK), 0);
  EXPECT_TRUE(svc().inspect("app")->endpoints.empty());
  EXPECT_TRUE(svc().remove("app"));
}

TEST_F(NetworkService, RestoreAfterCrash) {
  ASSERT_TRUE(svc().create(netReq("keep", "10.213.4.0/24")));
  std::string live(64, 'c'), dead(64, 'd');
  ASSERT_TRUE(svc().createSandbox(live));
  ASSERT_TRUE(svc().createSandbox(dead));
  EndpointRequest a;
  a.containerId = live;
  a.containerName = "live";
  EndpointRequest b;
  b.containerId = dead;
  b.containerName = "dead";
  auto ea = svc().attach("keep", a);
  auto eb = svc().attach("keep", b);
  ASSERT_TRUE(ea && eb);
  // A stray veth with berth's prefix on the network's bridge, as a crash
  // mid-attach would leave, and one with the prefix on no bridge of ours
  // (another daemon's): only the first goes.
  {
    auto host = hostRtnl();
    auto br = host.link(svc().resolve("keep")->bridge);
    ASSERT_TRUE(br);
    VethSpec v;
    v.hostName = "vbtstray";
    v.peerName = "xstrayp";
    v.masterIndex = br->index;
    ASSERT_TRUE(host.createVeth(v));
    VethSpec other;
    other.hostName = "vbtother";
    other.peerName = "xotherp";
    ASSERT_TRUE(host.createVeth(other));
  }

  // "Crash": a second service instance on the same database.
  svc_.reset();
  auto e = svc().endpointsOf(live);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].ipv4, ea->ipv4);
  ASSERT_TRUE(svc().restore({live}));
  EXPECT_EQ(svc().endpointsOf(live).size(), 1u);
  EXPECT_TRUE(svc().endpointsOf(dead).empty());
  EXPECT_NE(::access((cfg_.execRoot + "/netns/" + dead).c_str(), F_OK), 0);
  EXPECT_EQ(::access((cfg_.execRoot + "/netns/" + live).c_str(), F_OK), 0);
  auto host = hostRtnl();
  EXPECT_FALSE(host.link("vbtstray").has_value());
  EXPECT_TRUE(host.link("vbtother").has_value());
  EXPECT_TRUE(host.link(ea->hostVeth).has_value());
  // The dead container's address is free again; the live one's is not.
  std::string other(64, 'e');
  ASSERT_TRUE(svc().createSandbox(other));
  EndpointRequest c;
  c.containerId = other;
  c.containerName = "other";
  c.ipv4 = ea->ipv4;
  EXPECT_FALSE(svc().attach("keep", c));
  c.ipv4 = eb->ipv4;
  EXPECT_TRUE(svc().attach("keep", c));
  ASSERT_TRUE(svc().restore({}));
  EXPECT_TRUE(svc().endpointsOf(live).empty());
  EXPECT_NE(::access((cfg_.execRoot + "/netns/" + live).c_str(), F_OK), 0);
}

TEST_F(NetworkService, MeasureCreateSandboxAndAttach) {
  ASSERT_TRUE(svc().create(netReq("bench", "10.213.5.0/24")));
  using clock = std::chrono::steady_clock;
  std::vector<double> sb, at, atUser, rm;
  for (int i = 0; i < 20; i++) {
    bool user = i % 2 == 1;  // the default bridge (no DNS) and a user network (DNS records written)
    std::string cid = fmt::format("{:064x}", i + 1);
    auto t0 = clock::now();
    ASSERT_TRUE(svc().createSandbox(cid));
    auto t1 = clock::now();
    EndpointRequest r;
    r.containerId = cid;
    r.containerName = "b" + std::to_string(i);
    ASSERT_TRUE(svc().attach(user ? "bench" : "bridge", r));
    auto t2 = clock::now();
    ASSERT_TRUE(svc().removeSandbox(cid));
    auto t3 = clock::now();
    sb.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    (user ? atUser : at).push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    rm.push_back(std::chrono::duration<double, std::milli>(t3 - t2).count());
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  fmt::print("createSandbox median {:.2f} ms (min {:.2f}); attach to the default bridge median {:.2f} ms (min {:.2f}), "
             "to a user network {:.2f} ms (min {:.2f}); removeSandbox median {:.2f} ms\n",
             median(sb), *std::min_element(sb.begin(), sb.end()), median(at), *std::min_element(at.begin(), at.end()),
             median(atUser), *std::min_element(atUser.begin(), atUser.end()), median(rm));
  EXPECT_LT(median(sb), 100.0);
}

TEST(NetworkSandboxFiles, HostsAsDockerd) {
  HostsInput h;
  h.hostname = "web";
  h.domainname = "example.com";
  h.selfAddresses = {"172.18.0.2"};
  h.extraHosts = {"db:10.0.0.5", "v6:fd00::1"};
  std::string out = buildHosts(h);
  EXPECT_EQ(out,
            "127.0.0.1\tlocalhost\n"
            "::1\tlocalhost ip6-localhost ip6-loopback\n"
            "fe00::\tip6-localnet\n"
            "ff00::\tip6-mcastprefix\n"
            "ff02::1\tip6-allnodes\n"
            "ff02::2\tip6-allrouters\n"
            "10.0.0.5\tdb\n"
            "fd00::1\tv6\n"
            "172.18.0.2\tweb.example.com web\n");
}

TEST(NetworkSandboxFiles, ResolvConfDefaultBridgeDropsLoopback) {
  ResolvInput r;
  r.hostResolvConf = "nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch corp\noptions edns0 trust-ad\n";
  std::string out = buildResolvConf(r);
  EXPECT_NE(out.find("nameserver 192.0.2.53\n"), std::string::npos);
  EXPECT_EQ(out.find("127.0.0.53"), std::string::npos);
  EXPECT_NE(out.find("search corp\noptions edns0 trust-ad\n"), std::string::npos);
  // Only loopback servers: dockerd's fallback.
  r.hostResolvConf = "nameserver 127.0.0.53\n";
  out = buildResolvConf(r);
  EXPECT_NE(out.find("nameserver 8.8.8.8\nnameserver 8.8.4.4\n"), std::string::npos);
  EXPECT_NE(out.find("# Used default nameservers."), std::string::npos);
  // --dns / --dns-search / --dns-option replace the host's.
  r.dns = {"1.1.1.1"};
  r.dnsSearch = {"a.example"};
  r.dnsOptions = {"ndots:2"};
  out = buildResolvConf(r);
  EXPECT_NE(out.find("nameserver 1.1.1.1\nsearch a.example\noptions ndots:2\n"), std::string::npos) << out;
}

TEST(NetworkSandboxFiles, ResolvConfUserNetworkNamesTheGateway) {
  ResolvInput r;
  r.hostResolvConf = "nameserver 127.0.0.53\nsearch corp\n";
  r.internalNameservers = {"10.213.2.1"};
  std::string out = buildResolvConf(r);
  EXPECT_NE(out.find("\nnameserver 10.213.2.1\nsearch corp\noptions ndots:0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("# ExtServers: [host(127.0.0.53)]"), std::string::npos) << out;
}

TEST_F(NetworkService, PublishedPortsInTheTable) {
  ASSERT_TRUE(svc().create(netReq("pub", "10.213.6.0/24")));
  std::string cid(64, '6');
  ASSERT_TRUE(svc().createSandbox(cid));
  EndpointRequest r;
  r.containerId = cid;
  r.containerName = "srv";
  PortRequest p;
  p.container = PortKey{8080, "tcp"};
  p.hostIp = "127.0.0.1";
  r.ports = {p};
  auto e = svc().attach("pub", r);
  ASSERT_TRUE(e) << e.error().message;
  ASSERT_EQ(e->ports.size(), 1u);
  EXPECT_EQ(e->ports[0].hostIp, "127.0.0.1");
  EXPECT_NE(e->ports[0].hostPort, 0);
  std::string table = listTableText();
  EXPECT_NE(table.find(fmt::format("127.0.0.1 . tcp . {} : 10.213.6.2 . 8080", e->ports[0].hostPort)),
            std::string::npos)
      << table;
  // The mapping survives a restart of the service with the endpoint.
  svc_.reset();
  ASSERT_TRUE(svc().restore({cid}));
  table = listTableText();
  EXPECT_NE(table.find(fmt::format(". {} : 10.213.6.2 . 8080", e->ports[0].hostPort)), std::string::npos) << table;
  ASSERT_TRUE(svc().detach("pub", cid));
  table = listTableText();
  EXPECT_EQ(table.find("10.213.6.2 . 8080"), std::string::npos) << table;
  ASSERT_TRUE(svc().removeSandbox(cid));
}

TEST_F(NetworkService, DnsRecordsAndResolverFollowEndpoints) {
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  ASSERT_GT(n, 0);
  exe[n] = 0;
  std::string bin = std::string(exe).substr(0, std::string(exe).rfind('/')) + "/berth-dns";
  if (::access(bin.c_str(), X_OK) != 0) GTEST_SKIP() << "no berth-dns at " << bin;
  cfg_.dnsBin = bin;
  auto c = svc().create(netReq("named", "10.213.7.0/24"));
  ASSERT_TRUE(c);
  std::string cid(64, '7');
  ASSERT_TRUE(svc().createSandbox(cid));
  EndpointRequest r;
  r.containerId = cid;
  r.containerName = "Web";
  r.aliases = {"api"};
  ASSERT_TRUE(svc().attach("named", r));
  std::string dir = cfg_.execRoot + "/dns/";
  auto conf = readDnsConfig(dir + c->id + ".json");
  ASSERT_TRUE(conf) << conf.error().message;
  EXPECT_EQ(conf->listen, std::vector<std::string>{"10.213.7.1"});
  std::vector<std::string> names;
  for (auto& rec : conf->records) {
    names.push_back(rec.name);
    EXPECT_EQ(rec.ipv4, std::vector<std::string>{"10.213.7.2"});
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{cid.substr(0, 12), "api", "web"}));
  auto pidText = readFile(dir + c->id + ".pid");
  ASSERT_TRUE(pidText);
  int pid = std::stoi(*pidText);
  EXPECT_EQ(::kill(pid, 0), 0);
  // The default bridge has no DNS: no config for it.
  ASSERT_TRUE(svc().detach("named", cid));
  conf = readDnsConfig(dir + c->id + ".json");
  ASSERT_TRUE(conf);
  EXPECT_TRUE(conf->records.empty());
  ASSERT_TRUE(svc().remove("named"));
  EXPECT_NE(::access((dir + c->id + ".pid").c_str(), F_OK), 0);
  for (int i = 0; i < 100 && ::kill(pid, 0) == 0; i++) ::usleep(10000);
  EXPECT_NE(::kill(pid, 0), 0) << "berth-dns still running";
  ASSERT_TRUE(svc().removeSandbox(cid));
}
