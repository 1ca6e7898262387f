#pragma once
// A recording network::Service for the container service's tests: the
// predefined networks (bridge, host, none) plus those added with
// addNetwork; sandboxes and endpoints in memory; a failure can be armed
// for the Nth attach. Every call is appended to `calls` ("createSandbox
// ID", "attach NET ID", "detach NET ID", "removeSandbox ID", "sandboxFiles ID").

#include <map>
#include <set>
#include <string>
#include <vector>

#include "network/service.h"

namespace fakenetwork {
using namespace berth;

class FakeNetworkService : public network::Service {
 public:
  FakeNetworkService() {
    addNetwork("bridge", "bridge", "b1d9e5");
    addNetwork("host", "host", "405740");
    addNetwork("none", "null", "00ae00");
  }
  void addNetwork(const std::string& name, const std::string& driver, const std::string& idPrefix) {
    network::NetworkInfo n;
    n.name = name;
    n.driver = driver;
    n.id = idPrefix + std::string(64 - idPrefix.size(), '0');
    nets.push_back(n);
  }

  std::vector<std::string> calls;
  std::set<std::string> sandboxes;
  std::vector<network::Endpoint> endpoints;
  std::vector<network::EndpointRequest> requests;  // attach requests, in order
  int failAttachAt = -1;                           // 0-based attach call that fails
  network::SandboxFiles files{"127.0.0.1\tlocalhost\n", "nameserver 10.0.0.1\n"};
  std::vector<network::NetworkInfo> nets;

  Result<network::CreateResult> create(const network::CreateRequest&) override {
    return makeError(Code::Internal, "not in the fake");
  }
  Result<network::NetworkInfo> resolve(const std::string& ref) override {
    for (auto& n : nets)
      if (n.name == ref || n.id == ref) return n;
    const network::NetworkInfo* found = nullptr;
    for (auto& n : nets)
      if (n.id.starts_with(ref)) {
        if (found) return errorf(Code::NotFound, "network {} not found", ref);
        found = &n;
      }
    if (found) return *found;
    return errorf(Code::NotFound, "network {} not found", ref);
  }
  Result<std::vector<network::NetworkDetails>> list(const Filters&) override { return std::vector<network::NetworkDetails>{}; }
  Result<network::NetworkDetails> inspect(const std::string& ref) override {
    auto n = resolve(ref);
    if (!n) return std::unexpected(n.error());
    return network::NetworkDetails{*n, {}};
  }
  Result<> remove(const std::string&) override { return {}; }
  Result<std::vector<std::string>> prune(const Filters&) override { return std::vector<std::string>{}; }

  Result<std::string> createSandbox(const std::string& id) override {
    calls.push_back("createSandbox " + id);
    sandboxes.insert(id);
    return "/run/test/netns/" + id;
  }
  Result<> removeSandbox(const std::string& id) override {
    calls.push_back("removeSandbox " + id);
    sandboxes.erase(id);
    std::erase_if(endpoints, [&](const network::Endpoint& e) { return e.containerId == id; });
    return {};
  }
  Result<network::Endpoint> attach(const std::string& netRef, const network::EndpointRequest& req) override {
    auto n = resolve(netRef);
    if (!n) return std::unexpected(n.error());
    calls.push_back("attach " + n->name + " " + req.containerId);
    int index = int(requests.size());
    requests.push_back(req);
    if (index == failAttachAt)
      return makeError(Code::Internal, "Bind for 0.0.0.0:8080 failed: port is already allocated");
    network::Endpoint ep;
    ep.networkId = n->id;
    ep.networkName = n->name;
    ep.endpointId = "ep" + std::to_string(index);
    ep.containerId = req.containerId;
    ep.containerName = req.containerName;
    ep.aliases = req.aliases;
    ep.ipv4 = req.ipv4.empty() ? "10.214." + std::to_string(index) + ".2" : req.ipv4;
    ep.ipv4PrefixLen = 24;
    ep.gateway = "10.214." + std::to_string(index) + ".1";
    ep.mac = req.mac.empty() ? "02:42:0a:d6:00:02" : req.mac;
    for (auto& p : req.ports) ep.ports.push_back({p.container, "0.0.0.0", p.hostPortStart});
    endpoints.push_back(ep);
    return ep;
  }
  Result<> detach(const std::string& netRef, const std::string& id) override {
    auto n = resolve(netRef);
    if (!n) return std::unexpected(n.error());
    calls.push_back("detach " + n->name + " " + id);
    std::erase_if(endpoints, [&](const network::Endpoint& e) { return e.containerId == id && e.networkId == n->id; });
    return {};
  }
  std::vector<network::Endpoint> endpointsOf(const std::string& id) override {
    std::vector<network::Endpoint> out;
    for (auto& e : endpoints)
      if (e.containerId == id) out.push_back(e);
    return out;
  }
  Result<network::SandboxFiles> sandboxFiles(const std::string& id, const std::string&, const std::string&,
                                             const std::vector<std::string>&, const std::vector<std::string>&,
                                             const std::vector<std::string>&,
                                             const std::vector<std::string>&) override {
    calls.push_back("sandboxFiles " + id);
    return files;
  }
  Result<> restore(const std::vector<std::string>&) override { return {}; }
};

}  // namespace fakenetwork
