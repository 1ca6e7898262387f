#pragma once
// The /networks routes of the Engine API (engine-api.md, dockerd 28's
// shapes): list, inspect, create, remove, prune, connect, disconnect.
// Networks come from a NetworksBackend (the daemon adapts network::Service);
// connect/disconnect go to a ContainerNetworking, because the container
// service owns a container's networks (its intent survives restarts).

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/http.h"
#include "network/service.h"

namespace berth::api {

// What the network routes need of the network service. Errors carry
// dockerd's texts and codes (network::Service's contract). Called from
// several request threads at once.
class NetworksBackend {
 public:
  virtual ~NetworksBackend() = default;
  virtual Result<network::CreateResult> create(const network::CreateRequest& req) = 0;
  virtual Result<std::vector<network::NetworkDetails>> list(const Filters& filters) = 0;
  virtual Result<network::NetworkDetails> inspect(const std::string& ref) = 0;
  virtual Result<> remove(const std::string& ref) = 0;
  virtual Result<std::vector<std::string>> prune(const Filters& filters) = 0;
};

// EndpointSettings of POST /networks/{id}/connect (and of a container's
// NetworkingConfig), decoded. Fields the daemon computes (IPAddress,
// Gateway, EndpointID ...) are not requests and are dropped.
struct EndpointConfig {
  std::string ipv4Address, ipv6Address;  // IPAMConfig
  std::vector<std::string> linkLocalIps;
  std::vector<std::string> aliases, links;
  std::string macAddress;
  std::map<std::string, std::string> driverOpts;
  int gwPriority = 0;
};

// connect/disconnect, implemented over the container service (branch
// net-container). Errors: NotFound "No such container: X" or the network's
// "network X not found"; Forbidden/Conflict as dockerd for a container
// already on the network, host/none mixes, a removal in progress.
class ContainerNetworking {
 public:
  virtual ~ContainerNetworking() = default;
  virtual Result<> connect(const std::string& containerRef, const std::string& networkRef,
                           const EndpointConfig& config) = 0;
  virtual Result<> disconnect(const std::string& containerRef, const std::string& networkRef, bool force) = 0;
};

// Body decoders (Go's type checks as api/go_json.h, dockerd's messages).
Result<network::CreateRequest> decodeNetworkCreateBody(nlohmann::json body);
struct ConnectBody {
  std::string container;
  EndpointConfig config;
};
Result<ConnectBody> decodeNetworkConnectBody(nlohmann::json body);
struct DisconnectBody {
  std::string container;
  bool force = false;
};
Result<DisconnectBody> decodeNetworkDisconnectBody(nlohmann::json body);
// EndpointSettings alone (also a container create's NetworkingConfig entry).
Result<EndpointConfig> decodeEndpointSettings(nlohmann::json settings);

// A network as GET /networks/{id} shows it; `withContainers` false gives
// the list's form (Containers {}).
nlohmann::json networkJson(const network::NetworkDetails& d, bool withContainers);

// backend must outlive the router; containers may be null (connect and
// disconnect then answer 501 until the container service implements them).
void registerNetworkRoutes(Router& router, NetworksBackend& backend, ContainerNetworking* containers);

}  // namespace berth::api
