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
#include <memory>
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

// go-connections' nat.ParsePortRange as the docker CLI 28 vendors it:
// "80" -> {80, 80}, "8000-8010" -> {8000, 8010} ("1-2-3" reads as 1-2, as
// Go's does). Messages: "empty string specified for ports",
// "strconv.ParseUint: parsing \"x\": invalid syntax" (or "value out of
// range"), "invalid range specified for port: 5-3".
Result<std::pair<std::uint16_t, std::uint16_t>> parsePortRange(std::string_view ports);

// One HostConfig.PortBindings entry as the API carries it: strings.
struct PortBinding {
  std::string hostIp;    // "" = every address
  std::string hostPort;  // "" = ephemeral, "8080", or a range "8000-8010"
};
// The CLI's `-p [ip:][hostPort[-range]:]containerPort[-range][/proto]`
// (Docker's nat.ParsePortSpec, IPv6 hosts in brackets): the keys to add to
// ExposedPorts and the bindings to add to HostConfig.PortBindings.
// The docker CLI 28's messages, checked in this order: "invalid IP address
// [::1: address [::1:: missing ']' in address" (Go's net.SplitHostPort on a
// bracketed host), "invalid IP address: x", "no port specified: <spec><empty>",
// "invalid containerPort: x", "invalid hostPort: x", "invalid ranges
// specified for container and host Ports: 80-82 and 8000-8001",
// "invalid proto: x". The protocol is lowercased; hostIp keeps the text
// given (brackets stripped); a host range with one container port stays
// a range ("8000-8010": any free port in it).
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
  // A request with hostIp "" gets one mapping on 0.0.0.0 and, when
  // dualStack and the host has IPv6, one on "::" with the same port (as
  // dockerd 28 shows them). "0.0.0.0" and "::" ask for one family only.
  // Mappings come back in request order, IPv4 before IPv6.
  // Errors (Conflict unless said): "Bind for 0.0.0.0:8080 failed: port is already
  // allocated" (another owner, or this call, has it; 0.0.0.0 conflicts with
  // every IPv4 address and :: with every IPv6 one), "failed to bind host
  // port 0.0.0.0:8080/tcp: address already in use" (a host socket has it;
  // dockerd 28.x's wording), "failed to bind host port 1.2.3.4:80/tcp:
  // cannot assign requested address" (not a local address, InvalidArgument),
  // Docker's "all ports are allocated" (Unavailable) when a range or the
  // ephemeral range has no free port.
  // Thread safe.
  Result<std::vector<PortMapping>> allocate(const std::string& owner, const std::vector<PortRequest>& reqs,
                                            bool dualStack = true);
  // What an owner holds (restore() or allocate()).
  std::vector<PortMapping> mappingsOf(const std::string& owner) const;
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

// Go's net.JoinHostPort: "0.0.0.0:80", "[::]:80".
std::string joinHostPort(std::string_view host, std::string_view port);

}  // namespace berth::network
