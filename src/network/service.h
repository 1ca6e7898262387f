#pragma once
// The network service (issue 12): Docker's networks (bridge driver, plus the
// predefined `host` and `none`) and the endpoints that join containers to
// them. It owns the bridges, the per-container network namespaces
// ("sandboxes"), the veths, IPAM leases, published ports (ports.h), the
// nftables table (nft.h) and the DNS resolvers (dns.h). It knows nothing of
// HTTP or of container records: the container service tells it what a
// container asks for (EndpointRequest) and keeps that intent with the
// container; this service keeps what is live (endpoints) in SQLite so it can
// reconcile after a crash.
//
// CONTRACT (session 4): declared by the lead. Implemented on branch
// `net-core` (service.cpp and friends, api/networks_router, daemon wiring);
// called by the container service on branch `net-container`. Additions are
// fine; changes to these declarations need both branches.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/emit.h"
#include "common/filters.h"
#include "common/result.h"
#include "network/ports.h"

namespace berth::store {
class Database;
}

namespace berth::network {

// berthd's networking settings (flags and daemon.json, dockerd's names).
struct Config {
  std::string dataRoot;                // networks' files (dns/), none of them precious
  std::string execRoot;                // netns/<container id> bind mounts, dns/ pid files
  std::string dnsBin;                  // path of berth-dns
  std::string bridge = "berth0";       // -b/--bridge: the default bridge's link name ("none": no default bridge)
  std::string bip;                     // --bip "172.18.0.1/16": the default bridge's gateway/subnet
  std::string fixedCidr;               // --fixed-cidr: the default bridge's --ip-range
  std::string fixedCidrV6;             // --fixed-cidr-v6 (with --ipv6)
  bool ipv6 = false;                   // --ipv6 on the default bridge
  std::vector<std::string> defaultAddressPools;  // "base=172.30.0.0/16,size=24" as dockerd's flag
  int mtu = 1500;                      // --mtu
  bool iptables = true;                // --iptables=false: manage no firewall rules at all
  bool ipForward = true;               // --ip-forward
  bool icc = true;                     // --icc on the default bridge
  std::string nftTable = "berth";      // berth's own nftables table (tests use their own)
  std::string vethPrefix = "vb";       // host-side veth names: <prefix><7 hex>
  std::vector<std::string> dns, dnsSearch, dnsOptions;  // --dns ...: containers' defaults
  std::string resolvConf = "/etc/resolv.conf";
  // Test knob (net-core addition): the network namespace the service treats
  // as the host's (bridges, host veths, sysctls, the nft table, host routes),
  // an open nsfs fd; -1 = berthd's own. Unit tests pass a private namespace.
  int hostNetnsFd = -1;
};

struct IpamPool {
  std::string subnet, ipRange, gateway;
  std::map<std::string, std::string> auxAddresses;
};

// POST /networks/create, decoded by api/.
struct CreateRequest {
  std::string name;
  std::string driver = "bridge";
  bool internal = false, attachable = false, ingress = false, enableIPv6 = false;
  bool configOnly = false;
  std::string scope, configFrom;
  std::string ipamDriver = "default";
  std::vector<IpamPool> ipamConfig;
  std::map<std::string, std::string> ipamOptions, options, labels;
};
struct CreateResult {
  std::string id;
  std::string warning;
};

// One network as inspect and list show it.
struct NetworkInfo {
  std::string id, name, driver, scope = "local";
  int64_t created = 0;  // unix nanos
  bool internal = false, attachable = false, ingress = false, enableIPv6 = false;
  std::string ipamDriver = "default";
  std::vector<IpamPool> ipamConfig;  // the subnets and gateways in use
  std::map<std::string, std::string> ipamOptions, options, labels;
  std::string bridge;  // link name; "" for host and none
};

// One container on one network, live.
struct Endpoint {
  std::string networkId, networkName, endpointId, containerId, containerName;
  std::vector<std::string> aliases;  // as requested (NetworkSettings.Networks.X.Aliases)
  std::vector<std::string> dnsNames; // what resolves to it: name, aliases, short id
  std::vector<std::string> links;    // "name:alias"
  std::string ipv4;  int ipv4PrefixLen = 0; std::string gateway;
  std::string ipv6;  int ipv6PrefixLen = 0; std::string gateway6;
  std::string mac;
  std::vector<std::string> dns;      // the container's own --dns (HostConfig.Dns); berth-dns forwards its queries there
  std::string hostVeth;
  std::string ifName;                // inside the sandbox: eth0, eth1 ... (net-core addition)
  std::vector<PortMapping> ports;    // published through this endpoint
};

struct NetworkDetails {
  NetworkInfo net;
  std::vector<Endpoint> endpoints;  // Containers in inspect
};

// What a container asks of one network (its EndpointSettings and, for the
// endpoint that publishes, its ports).
struct EndpointRequest {
  std::string containerId, containerName, hostname;
  std::vector<std::string> aliases, links;
  std::string ipv4, ipv6, mac;       // requested; "" = allocate / derive
  std::vector<PortRequest> ports;    // published on this endpoint (the first bridge network the container is on)
  bool gatewayOwner = true;          // this endpoint provides the default route
  std::vector<std::string> dns = {}; // HostConfig.Dns: on a user network its unknown names go there
};

// What the container service writes into the container's /etc files.
struct SandboxFiles {
  std::string hosts, resolvConf;
};

class Service {
 public:
  virtual ~Service() = default;

  // --- networks ---
  // 409 "network with name X already exists"; 403 overlap; 400 for host/null
  // drivers: "only one instance of \"host\" network is allowed" as dockerd.
  virtual Result<CreateResult> create(const CreateRequest& req) = 0;
  // Name, full id or unique id prefix (Docker's order). 404 "network X not found".
  virtual Result<NetworkInfo> resolve(const std::string& ref) = 0;
  virtual Result<std::vector<NetworkDetails>> list(const Filters& filters) = 0;
  virtual Result<NetworkDetails> inspect(const std::string& ref) = 0;
  // 403 "error while removing network: network X id Y has active endpoints";
  // predefined networks: 403 "X is a pre-defined network and cannot be removed".
  virtual Result<> remove(const std::string& ref) = 0;
  // Unused user networks (until=, label=, label!=); returns the names removed.
  virtual Result<std::vector<std::string>> prune(const Filters& filters) = 0;

  // --- sandboxes and endpoints (the container service calls these) ---
  // A fresh network namespace for the container, bind-mounted at
  // <execRoot>/netns/<id>, lo up. Returns its path (the OCI spec's network
  // namespace path). Idempotent.
  virtual Result<std::string> createSandbox(const std::string& containerId) = 0;
  // Detaches every endpoint of the container, unmounts and unlinks its
  // namespace (the kernel deletes the veths with it). Idempotent.
  virtual Result<> removeSandbox(const std::string& containerId) = 0;
  // Joins the sandbox to a network: a veth with its peer born in the
  // namespace as eth<N>, address(es), default route when gatewayOwner,
  // ports allocated and published, DNS records. All or nothing.
  virtual Result<Endpoint> attach(const std::string& networkRef, const EndpointRequest& req) = 0;
  virtual Result<> detach(const std::string& networkRef, const std::string& containerId) = 0;
  virtual std::vector<Endpoint> endpointsOf(const std::string& containerId) = 0;
  // /etc/hosts and /etc/resolv.conf for a container on these endpoints,
  // as dockerd writes them (extraHosts "name:ip" with host-gateway resolved).
  virtual Result<SandboxFiles> sandboxFiles(const std::string& containerId, const std::string& hostname,
                                            const std::string& domainname, const std::vector<std::string>& extraHosts,
                                            const std::vector<std::string>& dns,
                                            const std::vector<std::string>& dnsSearch,
                                            const std::vector<std::string>& dnsOptions) = 0;

  // --- berthd start ---
  // Rebuilds leases, ports, rules and resolvers from the endpoints of the
  // containers still running; removes everything else berth made (netns
  // files, veths with berth's prefix, endpoints, stale table entries).
  virtual Result<> restore(const std::vector<std::string>& runningContainerIds) = 0;
};

// The real service (SQLite tables networks and endpoints in `db`, events
// through `emit`: network create/connect/disconnect/destroy).
Result<std::unique_ptr<Service>> makeService(const Config& cfg, store::Database& db, EmitFn emit);

}  // namespace berth::network
