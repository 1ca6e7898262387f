// The /networks routes against a fake NetworksBackend and ContainerNetworking:
// body decoding (Go's type errors), filters passed through, dockerd's JSON
// shapes and statuses.
#include <gtest/gtest.h>

#include "api/networks_router.h"
#include "api/system_router.h"
#include "fake_http.h"

using namespace berth;
using fakehttp::call;
using nlohmann::json;

namespace {

class FakeNetworks : public api::NetworksBackend {
 public:
  Result<network::CreateResult> create(const network::CreateRequest& req) override {
    created.push_back(req);
    if (req.name == "dup") return makeError(Code::Conflict, "network with name dup already exists");
    return network::CreateResult{std::string(64, 'f'), ""};
  }
  Result<std::vector<network::NetworkDetails>> list(const Filters& f) override {
    lastFilters = f;
    return std::vector<network::NetworkDetails>{net};
  }
  Result<network::NetworkDetails> inspect(const std::string& ref) override {
    if (ref != net.net.name && ref != net.net.id) return errorf(Code::NotFound, "network {} not found", ref);
    return net;
  }
  Result<> remove(const std::string& ref) override {
    removed.push_back(ref);
    if (ref == "bridge") return makeError(Code::PermissionDenied, "bridge is a pre-defined network and cannot be removed");
    return {};
  }
  Result<std::vector<std::string>> prune(const Filters& f) override {
    lastFilters = f;
    return pruned;
  }

  network::NetworkDetails net;
  std::vector<network::CreateRequest> created;
  std::vector<std::string> removed, pruned;
  Filters lastFilters;
};

class FakeContainers : public api::ContainerNetworking {
 public:
  Result<> connect(const std::string& c, const std::string& n, const api::EndpointConfig& cfg) override {
    connects.push_back({c, n, cfg});
    if (c == "ghost") return makeError(Code::NotFound, "No such container: ghost");
    return {};
  }
  Result<> disconnect(const std::string& c, const std::string& n, bool force) override {
    disconnects.push_back({c, n, force ? "force" : ""});
    return {};
  }
  struct Connect {
    std::string container, network;
    api::EndpointConfig cfg;
  };
  std::vector<Connect> connects;
  std::vector<std::vector<std::string>> disconnects;
};

struct Fixture {
  FakeNetworks backend;
  FakeContainers containers;
  api::Router router;
  explicit Fixture(bool withContainers = true) {
    backend.net.net.id = std::string(64, 'a');
    backend.net.net.name = "app";
    backend.net.net.driver = "bridge";
    backend.net.net.created = 1700000000123456789;
    backend.net.net.ipamConfig = {{"10.213.1.0/24", "", "10.213.1.1", {}}};
    backend.net.net.labels = {{"team", "a"}};
    backend.net.net.options = {{"com.docker.network.bridge.name", "bt1"}};
    network::Endpoint e;
    e.containerId = std::string(64, 'c');
    e.containerName = "web";
    e.endpointId = std::string(64, 'e');
    e.mac = "02:42:0a:d5:01:02";
    e.ipv4 = "10.213.1.2";
    e.ipv4PrefixLen = 24;
    backend.net.endpoints = {e};
    api::registerNetworkRoutes(router, backend, withContainers ? &containers : nullptr);
  }
};

}  // namespace

TEST(NetworksRouter, CreateDecodesTheBody) {
  Fixture f;
  auto r = call(f.router, "POST", "/v1.41/networks/create",
                R"({"Name":"app","Driver":"bridge","Internal":true,"EnableIPv6":true,
                    "IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.213.1.0/24","IPRange":"10.213.1.128/25",
                    "Gateway":"10.213.1.1","AuxiliaryAddresses":{"r":"10.213.1.5"}}]},
                    "Options":{"com.docker.network.bridge.name":"bt1"},"Labels":{"k":"v"}})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json(), json({{"Id", std::string(64, 'f')}, {"Warning", ""}}));
  ASSERT_EQ(f.backend.created.size(), 1u);
  auto& c = f.backend.created[0];
  EXPECT_EQ(c.name, "app");
  EXPECT_TRUE(c.internal);
  EXPECT_TRUE(c.enableIPv6);
  ASSERT_EQ(c.ipamConfig.size(), 1u);
  EXPECT_EQ(c.ipamConfig[0].ipRange, "10.213.1.128/25");
  EXPECT_EQ(c.ipamConfig[0].auxAddresses.at("r"), "10.213.1.5");
  EXPECT_EQ(c.options.at("com.docker.network.bridge.name"), "bt1");
  EXPECT_EQ(c.labels.at("k"), "v");
}

TEST(NetworksRouter, CreateErrors) {
  Fixture f;
  auto r = call(f.router, "POST", "/v1.41/networks/create", R"({"Name":"x","Internal":"yes"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(),
            "invalid JSON: json: cannot unmarshal string into Go struct field CreateRequest.Internal of type bool");
  r = call(f.router, "POST", "/v1.41/networks/create", R"({"Name":"x","IPAM":{"Config":[{"Subnet":5}]}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(),
            "invalid JSON: json: cannot unmarshal number into Go struct field IPAMConfig.IPAM.Config.Subnet of type "
            "string");
  r = call(f.router, "POST", "/v1.41/networks/create", R"({"Name":"dup"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.message(), "network with name dup already exists");
  r = call(f.router, "POST", "/v1.41/networks/create", "{not json");
  EXPECT_EQ(r.status, 400);
}

TEST(NetworksRouter, InspectShowsContainersListDoesNot) {
  Fixture f;
  auto r = call(f.router, "GET", "/v1.41/networks/app");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.json();
  EXPECT_EQ(j["Name"], "app");
  EXPECT_EQ(j["Id"], std::string(64, 'a'));
  EXPECT_EQ(j["Created"], "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(j["Scope"], "local");
  EXPECT_EQ(j["EnableIPv4"], true);
  EXPECT_EQ(j["IPAM"], json({{"Driver", "default"},
                             {"Options", json::object()},
                             {"Config", {{{"Subnet", "10.213.1.0/24"}, {"Gateway", "10.213.1.1"}}}}}));
  EXPECT_EQ(j["ConfigFrom"], json({{"Network", ""}}));
  EXPECT_EQ(j["Containers"][std::string(64, 'c')],
            json({{"Name", "web"},
                  {"EndpointID", std::string(64, 'e')},
                  {"MacAddress", "02:42:0a:d5:01:02"},
                  {"IPv4Address", "10.213.1.2/24"},
                  {"IPv6Address", ""}}));
  EXPECT_EQ(j["Labels"]["team"], "a");
  r = call(f.router, "GET", "/v1.41/networks/app?scope=swarm");
  EXPECT_EQ(r.status, 404);
  r = call(f.router, "GET", "/v1.41/networks/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.message(), "network nope not found");

  r = call(f.router, "GET", "/v1.41/networks?filters=" + fakehttp::urlEncode(R"({"label":{"team=a":true}})"));
  ASSERT_EQ(r.status, 200);
  ASSERT_TRUE(r.json().is_array());
  EXPECT_EQ(r.json()[0]["Containers"], json::object());
  EXPECT_EQ(f.backend.lastFilters.at("label"), std::vector<std::string>{"team=a"});
}

TEST(NetworksRouter, RemoveAndPrune) {
  Fixture f;
  auto r = call(f.router, "DELETE", "/v1.41/networks/app");
  EXPECT_EQ(r.status, 204);
  r = call(f.router, "DELETE", "/v1.41/networks/bridge");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.message(), "bridge is a pre-defined network and cannot be removed");
  r = call(f.router, "POST", "/v1.41/networks/prune");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json(), json({{"NetworksDeleted", nullptr}}));
  f.backend.pruned = {"a", "b"};
  r = call(f.router, "POST", "/v1.41/networks/prune?filters=" + fakehttp::urlEncode(R"({"until":["1h"]})"));
  EXPECT_EQ(r.json(), json({{"NetworksDeleted", {"a", "b"}}}));
  EXPECT_EQ(f.backend.lastFilters.at("until"), std::vector<std::string>{"1h"});
}

TEST(NetworksRouter, ConnectAndDisconnectReachTheContainerSide) {
  Fixture f;
  auto r = call(f.router, "POST", "/v1.41/networks/app/connect",
                R"({"Container":"web","EndpointConfig":{"IPAMConfig":{"IPv4Address":"10.213.1.9"},"Aliases":["w"]}})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(f.containers.connects.size(), 1u);
  EXPECT_EQ(f.containers.connects[0].network, std::string(64, 'a'));
  EXPECT_EQ(f.containers.connects[0].cfg.ipv4Address, "10.213.1.9");
  EXPECT_EQ(f.containers.connects[0].cfg.aliases, std::vector<std::string>{"w"});
  r = call(f.router, "POST", "/v1.41/networks/app/connect", R"({"Container":"ghost"})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.message(), "No such container: ghost");
  r = call(f.router, "POST", "/v1.41/networks/nope/connect", R"({"Container":"web"})");
  EXPECT_EQ(r.status, 404);
  r = call(f.router, "POST", "/v1.41/networks/app/connect", R"({"Container":"web","EndpointConfig":{"Aliases":"w"}})");
  EXPECT_EQ(r.status, 400);
  r = call(f.router, "POST", "/v1.41/networks/app/disconnect", R"({"Container":"web","Force":true})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(f.containers.disconnects[0], (std::vector<std::string>{"web", std::string(64, 'a'), "force"}));

  Fixture unwired(false);
  r = call(unwired.router, "POST", "/v1.41/networks/app/connect", R"({"Container":"web"})");
  EXPECT_EQ(r.status, 501);
}
