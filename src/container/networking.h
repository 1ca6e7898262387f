#pragma once
// The container side of networking (issue 12), as free functions over
// network::Service so the create checks and the start/stop path can be
// tested with a fake service (tests/unit/fake_network_service.h).
//
// The intent: what a container asks of its networks, kept in its record
// (Container::networks): Docker's EndpointSettings per network name, with
// NetworkID filled at create. The live endpoints belong to the network
// service (endpointsOf) and exist only while the container runs.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "container/model.h"
#include "network/service.h"

namespace berth::container {

// Docker's NetworkMode kinds.
bool isContainerMode(const std::string& mode);  // "container:X"
// A mode that gets a sandbox from the network service: bridge or a user network.
bool usesSandbox(const std::string& mode);

// What a create needs to know of other containers (links).
struct LinkTarget {
  std::string id, name;  // name without '/'
  nlohmann::json env;    // its Config.Env as given (not the image's)
  nlohmann::json exposedPorts;
};
using LinkLookup = std::function<std::optional<LinkTarget>(const std::string& ref)>;

// Create: normalises HostConfig.NetworkMode ("" and "default" -> "bridge",
// as dockerd 28 stores it), resolves NetworkMode and every
// NetworkingConfig.EndpointsConfig entry through net (an unknown one is
// kept by the name given and fails the start, as dockerd), checks dockerd's conflicts (400 "conflicting options: ...",
// "user specified IP address is supported on user defined networks only",
// "network-scoped alias is supported only for containers in user defined
// networks", links to unknown containers: 400 "could not get container for
// X: No such container: X") and returns the intent: network name ->
// EndpointSettings (NetworkID filled). Warnings (host mode with published
// ports) are appended. net may be null (no network service): then only the
// predefined modes are accepted. config: the merged Config (MacAddress,
// Hostname as the client sent them: userHostname).
Result<nlohmann::json> planNetworks(const nlohmann::json& config, bool userHostname, nlohmann::json& hostConfig,
                                    const nlohmann::json& networkingConfig, network::Service* net,
                                    const LinkLookup& links, std::vector<std::string>& warnings);

// CreateRequest::netnsPath checked against the normalised NetworkMode: ""
// is always fine; otherwise the path must be absolute and the mode "none"
// (the joined namespace is the container's whole network). InvalidArgument
// when not.
Result<> checkNetnsJoin(const std::string& networkMode, const std::string& netnsPath);

// Docker's order of attachment: the NetworkMode network first, then the
// others by name.
std::vector<std::string> attachOrder(const std::string& networkMode, const nlohmann::json& intent);

// Whether a start needs a sandbox from the network service: false when the
// container is only on the default bridge and berthd runs without one
// (--bridge=none): then, as dockerd, it gets a namespace with only lo.
bool needsSandbox(network::Service& net, const Container& c);

// The start path's result.
struct AttachedNetworks {
  std::string sandboxKey;                  // the namespace's path (OCI spec)
  std::vector<network::Endpoint> endpoints;
  network::SandboxFiles files;
};

// Start: createSandbox, attach each network of the intent in attachOrder
// (ports on the first bridge-driver network, the gateway from the first),
// then the sandbox's /etc files. All or nothing: a failure removes the
// sandbox (and with it every endpoint, lease and port) and returns the
// attach's error, prefixed as dockerd 28 words it ("failed to set up
// container networking: ...").
// linkPairs: HostConfig.Links as "name:alias" for the default bridge.
Result<AttachedNetworks> attachNetworks(network::Service& net, const Container& c,
                                        const std::vector<std::string>& linkPairs);

// One endpoint request for network `name` of c's intent (connect and start).
network::EndpointRequest endpointRequest(const Container& c, const nlohmann::json& settings, bool first);

// HostConfig.Links entries ("/linked:/container/alias" or "linked:alias")
// as {linked name, alias}.
std::optional<std::pair<std::string, std::string>> parseLink(const std::string& link);

// Legacy link env vars (moby's links.Link.ToEnv) for one link: alias,
// the linked container's name, its IP on the bridge, its exposed ports and
// its own Config.Env (minus HOME/PATH and the link vars docker sets).
std::vector<std::string> linkEnv(const std::string& alias, const std::string& childName,
                                 const std::string& parentName, const std::string& childIp,
                                 const nlohmann::json& exposedPorts, const nlohmann::json& childEnv);

}  // namespace berth::container
