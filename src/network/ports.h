#pragma once
// Published ports (issue 12): Docker's port specs, the host-port allocator,
// and the shapes the Engine API shows. Pure logic except the allocator's
// probe bind; the firewall side is nft.h (PublishedPort).
//
// CONTRACT (session 4): declared by the lead; implemented on branch
// `net-ports` (ports.cpp, tests/unit/network_ports_test.cpp); used by the
// network service (branch `net-core`) and the CLI (`-p`, `-P`, `port`).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "network/ipam.h"
#include "network/nft.h"

namespace berth::network {

// "8080/tcp": a container port and its protocol (tcp, udp, sctp).
struct PortKey {
  std::uint16_t port = 0;
  std::string proto = "tcp";
  std::string str() const;  // "8080/tcp"
  auto operator<=>(const PortKey&) const = default;
};
// "8080", "8080/udp", "8000-8010/tcp" as EXPOSE / --expose / ExposedPorts keys
// write them. A range expands to one key per port. Docker's messages:
// "invalid containerPort: x", "invalid proto: x".
Result<std::vector<PortKey>> parsePortKeys(std::string_view spec);

// One HostConfig.PortBindings entry as the API carries it: strings.
struct PortBinding {
  std::string hostIp;    // "" = every address
  std::string hostPort;  // "" = ephemeral, "8080", or a range "8000-8010"
};
// The CLI's `-p [ip:][hostPort[-range]:]containerPort[-range][/proto]`
// (Docker's nat.ParsePortSpec, IPv6 hosts in brackets): the keys to add to
// ExposedPorts and the bindings to add to HostConfig.PortBindings.
// Docker's messages: "invalid hostPort: x", "invalid containerPort: x",
// "invalid proto: x", "invalid IP address: x", "hostPort and containerPort
// ranges must be the same size" (sic, Docker's wording may differ: match it).
struct ParsedPortSpec {
  std::vector<std::pair<PortKey, PortBinding>> bindings;
};
Result<ParsedPortSpec> parsePortSpec(std::string_view spec);

// What the daemon must publish for one container, from HostConfig
// (PortBindings, PublishAllPorts) and Config.ExposedPorts. With
// PublishAllPorts every exposed port without a binding gets an ephemeral
// host port on every address.
struct PortRequest {
  PortKey container;
  std::string hostIp;               // "" = every address of the family
  std::uint16_t hostPortStart = 0;  // 0 = ephemeral
  std::uint16_t hostPortEnd = 0;    // == start for one port; a range: any free port in it
};
Result<std::vector<PortRequest>> portRequests(const nlohmann::json& portBindings, bool publishAll,
                                              const nlohmann::json& exposedPorts);

// One port as published.
struct PortMapping {
  PortKey container;
  std::string hostIp;  // "0.0.0.0", "::" or the address asked for
  std::uint16_t hostPort = 0;
};

// Host ports in use by berth, by owner (a container id). allocate() takes
// all of an owner's requests or none. A port another owner holds:
// Conflict "Bind for 0.0.0.0:8080 failed: port is already allocated"; a
// port some host process listens on (probed with a bind that is closed at
// once, SO_REUSEADDR off): "... failed: address already in use" (Docker's
// wording for both). Ephemeral ports come from
// /proc/sys/net/ipv4/ip_local_port_range (Docker: 32768-60999), first
// free after the last given, as Docker's portallocator.
class PortAllocator {
 public:
  explicit PortAllocator(std::pair<std::uint16_t, std::uint16_t> ephemeral = {0, 0});  // {0,0}: read /proc
  Result<std::vector<PortMapping>> allocate(const std::string& owner, const std::vector<PortRequest>& reqs);
  void release(const std::string& owner);
  // berthd start: the mappings recorded for running containers.
  void restore(const std::string& owner, const std::vector<PortMapping>& mappings);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// The firewall's view: one PublishedPort per mapping, to containerIp
// (mappings of the other family than containerIp are skipped).
std::vector<PublishedPort> toPublished(const std::vector<PortMapping>& mappings, const IpAddr& containerIp);

// NetworkSettings.Ports: {"8080/tcp": [{"HostIp":"0.0.0.0","HostPort":"32768"}], "53/udp": null}
// (exposed but unpublished ports map to null), keys as dockerd orders them.
nlohmann::json portsJson(const std::vector<PortMapping>& mappings, const nlohmann::json& exposedPorts);
// The Ports array of GET /containers/json:
// [{"IP":"0.0.0.0","PrivatePort":8080,"PublicPort":32768,"Type":"tcp"}, {"PrivatePort":53,"Type":"udp"}].
nlohmann::json portsSummaryJson(const std::vector<PortMapping>& mappings, const nlohmann::json& exposedPorts);

}  // namespace berth::network
