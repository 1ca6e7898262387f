// The container side of networking (container/networking.h) against a
// recording fake network::Service: create checks, the start path's calls
// in order and their undo, the spec's namespace path, link env, and the
// NetworkSettings / ps shapes (api/containers_json.h).

#include <gtest/gtest.h>

#include "api/containers_json.h"
#include "container/networking.h"
#include "container/spec.h"
#include "fake_network_service.h"

using namespace berth;
using namespace berth::container;
using json = nlohmann::json;
using fakenetwork::FakeNetworkService;

namespace {

Result<json> plan(FakeNetworkService& net, json hc, json netcfg = json::object(), json config = json::object(),
                  std::vector<std::string>* warnings = nullptr, bool userHostname = false) {
  std::vector<std::string> w;
  auto r = planNetworks(config, userHostname, hc, netcfg, &net,
                        [](const std::string& ref) -> std::optional<LinkTarget> {
                          if (ref == "web") return LinkTarget{"ab12", "web", json::array(), nullptr};
                          return std::nullopt;
                        },
                        warnings ? *warnings : w);
  return r;
}

Container runningOn(json networks, std::string mode) {
  Container c;
  c.id = std::string(64, 'c');
  c.name = "box";
  c.config = {{"Hostname", "cccccccccccc"}, {"ExposedPorts", {{"80/tcp", json::object()}}}};
  c.hostConfig = {{"NetworkMode", mode},
                  {"PortBindings", {{"80/tcp", {{{"HostIp", ""}, {"HostPort", "8080"}}}}}}};
  c.networks = std::move(networks);
  return c;
}

}  // namespace

TEST(ContainerNetworking, DefaultModeIsStoredAsBridgeWithItsNetworkId) {
  FakeNetworkService net;
  for (const char* mode : {"", "default", "bridge"}) {
    json hc = {{"NetworkMode", mode}};
    std::vector<std::string> w;
    auto r = planNetworks(json::object(), false, hc, json::object(), &net, nullptr, w);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(hc["NetworkMode"], "bridge") << mode;
    ASSERT_TRUE(r->contains("bridge"));
    EXPECT_EQ((*r)["bridge"]["NetworkID"], net.resolve("bridge")->id);
    EXPECT_EQ(r->size(), 1u);
  }
}

TEST(ContainerNetworking, UnknownNetworkFailsTheStartWith404) {
  FakeNetworkService net;
  auto r = plan(net, {{"NetworkMode", "nosuch"}});
  ASSERT_TRUE(r);  // dockerd creates it
  EXPECT_TRUE(r->contains("nosuch"));
  Container c = runningOn(*r, "nosuch");
  auto a = attachNetworks(net, c, {});
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, Code::NotFound);
  EXPECT_EQ(a.error().message, "failed to set up container networking: network nosuch not found");
  EXPECT_TRUE(net.sandboxes.empty());
  EXPECT_EQ(net.calls.back(), "removeSandbox " + c.id);
}

TEST(ContainerNetworking, NetworkByIdPrefixAndSeveralEndpointsConfigs) {
  FakeNetworkService net;
  net.addNetwork("front", "bridge", "f00d");
  net.addNetwork("back", "bridge", "bacc");
  json hc = {{"NetworkMode", "f00d"}};
  std::vector<std::string> w;
  auto r = planNetworks(json::object(), false, hc,
                        {{"EndpointsConfig", {{"back", {{"Aliases", {"db"}}}}, {"f00d", {{"Aliases", {"web"}}}}}}},
                        &net, nullptr, w);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->contains("front"));
  ASSERT_TRUE(r->contains("back"));
  EXPECT_EQ((*r)["front"]["Aliases"], json({"web"}));
  EXPECT_EQ((*r)["back"]["NetworkID"], net.resolve("back")->id);
  EXPECT_EQ(hc["NetworkMode"], "f00d");  // kept as the client gave it, as dockerd
  auto order = attachOrder("f00d", *r);
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[0], "front");
  EXPECT_EQ(order[1], "back");
}

TEST(ContainerNetworking, IpAndAliasOnlyOnUserNetworks) {
  FakeNetworkService net;
  auto r = plan(net, {{"NetworkMode", "bridge"}},
                {{"EndpointsConfig", {{"bridge", {{"IPAMConfig", {{"IPv4Address", "172.18.0.9"}}}}}}}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::InvalidArgument);
  EXPECT_EQ(r.error().message,
            "invalid endpoint settings:\nuser specified IP address is supported on user defined networks only");
  r = plan(net, {{"NetworkMode", "bridge"}}, {{"EndpointsConfig", {{"bridge", {{"Aliases", {"x"}}}}}}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("network-scoped alias is supported only for containers in user defined networks"),
            std::string::npos);
  net.addNetwork("user", "bridge", "cafe");
  r = plan(net, {{"NetworkMode", "user"}},
           {{"EndpointsConfig", {{"user", {{"IPAMConfig", {{"IPv4Address", "10.214.0.9"}}}, {"Aliases", {"x"}}}}}}});
  EXPECT_TRUE(r) << r.error().message;
}

TEST(ContainerNetworking, ContainerModeConflictsAsRunconfig) {
  FakeNetworkService net;
  struct Case {
    json hc, config;
    bool hostname;
    std::string msg;
  } cases[] = {
      {{{"Dns", {"1.1.1.1"}}}, json::object(), false, "conflicting options: dns and the network mode"},
      {{{"ExtraHosts", {"a:1.2.3.4"}}}, json::object(), false,
       "conflicting options: custom host-to-IP mapping and the network mode"},
      {json::object(), json::object(), true, "conflicting options: hostname and the network mode"},
      {json::object(), {{"MacAddress", "02:42:00:00:00:01"}}, false, "conflicting options: mac-address and the network mode"},
      {{{"PortBindings", {{"80/tcp", json::array()}}}}, json::object(), false,
       "conflicting options: port publishing and the container type network mode"},
  };
  for (auto& c : cases) {
    json hc = c.hc;
    hc["NetworkMode"] = "container:web";
    std::vector<std::string> w;
    auto r = planNetworks(c.config, c.hostname, hc, json::object(), &net, nullptr, w);
    ASSERT_FALSE(r) << c.msg;
    EXPECT_EQ(r.error().code, Code::InvalidArgument);
    EXPECT_EQ(r.error().message, c.msg);
  }
  json hc = {{"NetworkMode", "container:web"}};
  std::vector<std::string> w;
  auto r = planNetworks(json::object(), false, hc, json::object(), &net, nullptr, w);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());  // dockerd shows "Networks": {} for container:X
}

TEST(ContainerNetworking, HostWithPublishedPortsWarns) {
  FakeNetworkService net;
  std::vector<std::string> w;
  auto r = plan(net, {{"NetworkMode", "host"}, {"PortBindings", {{"80/tcp", {{{"HostPort", "8080"}}}}}}},
                json::object(), json::object(), &w);
  ASSERT_TRUE(r);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0], "Published ports are discarded when using host network mode");
  EXPECT_TRUE(r->contains("host"));
}

TEST(ContainerNetworking, LinksMustNameAContainer) {
  FakeNetworkService net;
  auto r = plan(net, {{"NetworkMode", "bridge"}, {"Links", {"web:w"}}});
  EXPECT_TRUE(r);
  r = plan(net, {{"NetworkMode", "bridge"}, {"Links", {"nosuch:w"}}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::InvalidArgument);
  EXPECT_EQ(r.error().message, "could not get container for nosuch: No such container: nosuch");
  auto pl = parseLink("/web:/box/w");
  ASSERT_TRUE(pl);
  EXPECT_EQ(pl->first, "web");
  EXPECT_EQ(pl->second, "w");
}

TEST(ContainerNetworking, StartAttachesInOrderWithPortsOnTheFirstBridgeNetwork) {
  FakeNetworkService net;
  net.addNetwork("front", "bridge", "f00d");
  Container c = runningOn({{"bridge", {{"NetworkID", net.resolve("bridge")->id}}},
                           {"front", {{"NetworkID", net.resolve("front")->id}, {"Aliases", {"web"}}}}},
                          "bridge");
  auto r = attachNetworks(net, c, {"web:w"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->sandboxKey, "/run/test/netns/" + c.id);
  std::vector<std::string> want = {"createSandbox " + c.id, "attach bridge " + c.id, "attach front " + c.id,
                                   "sandboxFiles " + c.id};
  EXPECT_EQ(net.calls, want);
  ASSERT_EQ(net.requests.size(), 2u);
  EXPECT_TRUE(net.requests[0].gatewayOwner);
  EXPECT_FALSE(net.requests[1].gatewayOwner);
  ASSERT_EQ(net.requests[0].ports.size(), 1u);
  EXPECT_EQ(net.requests[0].ports[0].container.port, 80);
  EXPECT_EQ(net.requests[0].ports[0].hostPortStart, 8080);
  EXPECT_TRUE(net.requests[1].ports.empty());
  EXPECT_EQ(net.requests[0].links, std::vector<std::string>{"web:w"});
  EXPECT_EQ(net.requests[1].aliases, std::vector<std::string>{"web"});
  EXPECT_EQ(r->endpoints.size(), 2u);
  EXPECT_EQ(r->files.resolvConf, "nameserver 10.0.0.1\n");
}

TEST(ContainerNetworking, AFailedAttachUndoesEverything) {
  FakeNetworkService net;
  net.addNetwork("front", "bridge", "f00d");
  net.failAttachAt = 1;
  Container c = runningOn({{"bridge", json::object()}, {"front", json::object()}}, "bridge");
  auto r = attachNetworks(net, c, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "failed to set up container networking: Bind for 0.0.0.0:8080 failed: port is already allocated");
  EXPECT_EQ(net.calls.back(), "removeSandbox " + c.id);
  EXPECT_TRUE(net.sandboxes.empty());
  EXPECT_TRUE(net.endpoints.empty());
}

TEST(ContainerNetworking, SpecJoinsTheSandboxByPath) {
  Container c = runningOn({{"bridge", json::object()}}, "bridge");
  c.path = "true";
  c.config["Env"] = json::array();
  c.hostConfig["ShmSize"] = 67108864;
  SpecPaths paths{"/tmp/b", {"/tmp/l"}, "berth", "/bin/true", {{"network", "/run/test/netns/x"}}, ""};
  auto spec = buildSpec(c, paths);
  ASSERT_TRUE(spec) << spec.error().message;
  bool found = false;
  for (auto& n : (*spec)["linux"]["namespaces"])
    if (n["type"] == "network") {
      found = true;
      EXPECT_EQ(n.value("path", ""), "/run/test/netns/x");
    }
  EXPECT_TRUE(found);
}

TEST(ContainerNetworking, NetnsJoinOnlyWithNetworkModeNone) {
  EXPECT_TRUE(checkNetnsJoin("bridge", ""));  // no join asked: any mode
  EXPECT_TRUE(checkNetnsJoin("none", ""));
  EXPECT_TRUE(checkNetnsJoin("none", "/run/berth/cri/netns/cni-1"));
  for (const char* mode : {"bridge", "host", "container:abc", "mynet", ""}) {
    auto r = checkNetnsJoin(mode, "/run/berth/cri/netns/cni-1");
    ASSERT_FALSE(r) << mode;
    EXPECT_EQ(r.error().code, Code::InvalidArgument);
    EXPECT_NE(r.error().message.find("needs NetworkMode none"), std::string::npos) << r.error().message;
  }
  auto rel = checkNetnsJoin("none", "netns/cni-1");
  ASSERT_FALSE(rel);
  EXPECT_EQ(rel.error().code, Code::InvalidArgument);
  EXPECT_NE(rel.error().message.find("not absolute"), std::string::npos);
}

TEST(ContainerNetworking, SpecOfModeNoneJoinsAPinnedNamespace) {
  Container c = runningOn(json::object(), "none");
  c.path = "/pause";
  c.config["Env"] = json::array();
  c.hostConfig["ShmSize"] = 67108864;
  // What the start does for Container::netnsPath.
  SpecPaths paths{"/tmp/b", {"/tmp/l"}, "berth", "/bin/true", {{"network", "/run/x/cri/netns/cni-1"}}, ""};
  auto spec = buildSpec(c, paths);
  ASSERT_TRUE(spec) << spec.error().message;
  int found = 0;
  for (auto& n : (*spec)["linux"]["namespaces"])
    if (n["type"] == "network") {
      found++;
      EXPECT_EQ(n.value("path", ""), "/run/x/cri/netns/cni-1");
    }
  EXPECT_EQ(found, 1);
}

TEST(ContainerNetworking, LinkEnvAsMoby) {
  auto env = linkEnv("db-1", "mydb", "app", "172.18.0.3", {{"5432/tcp", json::object()}, {"53/udp", json::object()}},
                     {"PATH=/bin", "HOME=/root", "POSTGRES_USER=me"});
  std::vector<std::string> want = {
      "DB_1_PORT=udp://172.18.0.3:53",        "DB_1_PORT_53_UDP=udp://172.18.0.3:53",
      "DB_1_PORT_53_UDP_ADDR=172.18.0.3",     "DB_1_PORT_53_UDP_PORT=53",
      "DB_1_PORT_53_UDP_PROTO=udp",           "DB_1_PORT_5432_TCP=tcp://172.18.0.3:5432",
      "DB_1_PORT_5432_TCP_ADDR=172.18.0.3",   "DB_1_PORT_5432_TCP_PORT=5432",
      "DB_1_PORT_5432_TCP_PROTO=tcp",         "DB_1_NAME=/app/db-1",
      "DB_1_ENV_POSTGRES_USER=me"};
  EXPECT_EQ(env, want);
}

TEST(ContainerNetworking, InspectShowsDefaultBridgeAtTopLevelOnly) {
  FakeNetworkService net;
  net.addNetwork("front", "bridge", "f00d");
  Container c = runningOn({{"bridge", {{"NetworkID", net.resolve("bridge")->id}}},
                           {"front", {{"NetworkID", net.resolve("front")->id}, {"Aliases", {"web"}}}}},
                          "bridge");
  auto r = attachNetworks(net, c, {});
  ASSERT_TRUE(r);
  c.state.status = State::Running;
  c.state.sandboxKey = r->sandboxKey;
  json ns = api::networkSettingsJson(c, r->endpoints);
  EXPECT_EQ(ns["SandboxKey"], r->sandboxKey);
  EXPECT_EQ(ns["IPAddress"], "10.214.0.2");
  EXPECT_EQ(ns["Gateway"], "10.214.0.1");
  EXPECT_EQ(ns["IPPrefixLen"], 24);
  EXPECT_EQ(ns["Networks"]["front"]["IPAddress"], "10.214.1.2");
  EXPECT_EQ(ns["Networks"]["front"]["Aliases"], json({"web"}));
  EXPECT_EQ(ns["Ports"]["80/tcp"][0]["HostPort"], "8080");
  EXPECT_TRUE(ns["SecondaryIPAddresses"].is_null());

  // Stopped: the networks stay, without addresses; no ports.
  c.state.status = State::Exited;
  c.state.sandboxKey.clear();
  ns = api::networkSettingsJson(c, {});
  EXPECT_EQ(ns["IPAddress"], "");
  EXPECT_EQ(ns["SandboxKey"], "");
  EXPECT_EQ(ns["Networks"]["front"]["IPAddress"], "");
  EXPECT_EQ(ns["Networks"]["front"]["NetworkID"], net.resolve("front")->id);
  EXPECT_EQ(ns["Ports"], json::object());

  // A user network only: the top-level fields stay empty, as dockerd.
  Container u = runningOn({{"front", {{"NetworkID", net.resolve("front")->id}}}}, "front");
  FakeNetworkService net2;
  net2.addNetwork("front", "bridge", "f00d");
  auto r2 = attachNetworks(net2, u, {});
  ASSERT_TRUE(r2);
  u.state.sandboxKey = r2->sandboxKey;
  ns = api::networkSettingsJson(u, r2->endpoints);
  EXPECT_EQ(ns["IPAddress"], "");
  EXPECT_EQ(ns["Networks"]["front"]["IPAddress"], "10.214.0.2");
}

TEST(ContainerNetworking, WithoutADefaultBridgeABridgeContainerGetsOnlyLo) {
  FakeNetworkService net;
  std::erase_if(net.nets, [](const network::NetworkInfo& n) { return n.name == "bridge"; });
  auto r = plan(net, {{"NetworkMode", ""}});
  ASSERT_TRUE(r) << r.error().message;
  Container c = runningOn(*r, "bridge");
  EXPECT_FALSE(needsSandbox(net, c));
  net.addNetwork("front", "bridge", "f00d");
  c.networks["front"] = {{"NetworkID", net.resolve("front")->id}};
  EXPECT_TRUE(needsSandbox(net, c));
  auto a = attachNetworks(net, c, {});
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_EQ(a->endpoints.size(), 1u);
  EXPECT_EQ(a->endpoints[0].networkName, "front");
}
