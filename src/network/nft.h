#pragma once
// nftables for berth's bridge networks: berth's own table only.
//
// Describe, then act (STYLE.md 13): renderRuleset() turns the daemon's
// networks and published ports into nft's text syntax (pure, unit tested);
// an NftRunner runs it. The whole table is replaced in one transaction
// ("add table; delete table; table { ... }" in one batch), so the kernel
// never sees a half-written ruleset and berth never touches another table
// (Docker's, firewalld's, the host's): nothing is flushed but its own.
//
// One `inet` table (named by the caller: "berth", or "berthut-<pid>" in
// tests) holds, for IPv4 and IPv6:
//   - maps of published ports: (proto . host port) for ports bound to all
//     addresses, (host ip . proto . host port) for ports bound to one
//     address, both -> (container ip . container port);
//   - nat prerouting (traffic from outside and from containers, hairpin
//     included) and nat output (locally generated traffic, 127.0.0.1
//     included) jumping to the DNAT chain for local destinations;
//   - nat postrouting: masquerade of each non-internal bridge subnet leaving
//     by another interface, of hairpin traffic (a container reaching a
//     published port that leads back onto its own bridge) and of
//     127.0.0.0/8 sources DNATed onto a bridge;
//   - filter forward: established traffic and published (DNATed) traffic to
//     a bridge accepted, other traffic to a bridge from elsewhere dropped
//     (inter-network isolation), internal bridges cut off from every other
//     interface, traffic between containers of one bridge accepted unless
//     `icc` is off.
// What is not nft and is the bridge driver's job: the sysctl
// net.ipv4.conf.<bridge>.route_localnet=1 (127.0.0.1 DNAT) and
// net.ipv4.ip_forward. An accept here does not override a drop in another
// table (e.g. iptables FORWARD policy DROP set by Docker): nft evaluates
// every base chain of a hook.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "network/ipam.h"

namespace berth::network {

// One bridge network as the firewall sees it.
struct BridgeRules {
  std::string bridge;            // link name, e.g. "berth0"
  std::vector<Prefix> subnets;   // IPv4 and/or IPv6, masked
  bool internal = false;         // --internal: no masquerade, no way out
  bool masquerade = true;        // com.docker.network.bridge.enable_ip_masquerade
  bool icc = true;               // com.docker.network.bridge.enable_icc
};

// One published port (a range is expanded by the caller, one entry a port).
struct PublishedPort {
  std::string proto = "tcp";     // tcp, udp or sctp
  std::optional<IpAddr> hostIp;  // none: every host address of the family
  std::uint16_t hostPort = 0;
  IpAddr containerIp;            // its family picks the IPv4 or IPv6 map
  std::uint16_t containerPort = 0;
};

struct RulesetSpec {
  std::string table = "berth";   // [A-Za-z][A-Za-z0-9_-]*, at most 32 chars
  std::vector<BridgeRules> bridges;
  std::vector<PublishedPort> ports;
};

// The batch that replaces `spec.table` atomically. InvalidArgument for a
// bad table or bridge name, protocol, port 0, a host ip of another family
// than the container ip, or two ports with the same host side.
Result<std::string> renderRuleset(const RulesetSpec& spec);
// A batch that deletes the table and succeeds when it is absent.
Result<std::string> renderDeleteTable(std::string_view table);

// Runs an nft command batch in the calling thread's network namespace and
// returns nft's output. The thin seam in front of libnftables (a test fake
// records the batches).
class NftRunner {
 public:
  virtual ~NftRunner() = default;
  virtual Result<std::string> run(std::string_view commands) = 0;
};

// libnftables.so.1 opened with dlopen on first use, so berthd is not linked
// against it (nor libnftnl, libmnl, libjansson, libgmp, libxtables behind
// it) until a network needs rules. Unavailable when the library cannot be
// loaded (Debian package libnftables1); InvalidArgument with nft's own
// message when a batch is rejected. Thread safe: each run() uses its own
// nft context, created in the calling thread's network namespace.
class LibNftRunner : public NftRunner {
 public:
  Result<std::string> run(std::string_view commands) override;
};

// Applies renderRuleset(spec) through `runner`.
Result<void> applyRuleset(NftRunner& runner, const RulesetSpec& spec);
// Deletes berth's table; absent is fine.
Result<void> deleteTable(NftRunner& runner, std::string_view table);
// "list table inet <table>": nft's text, for diagnostics and tests.
// NotFound when the table does not exist.
Result<std::string> listTable(NftRunner& runner, std::string_view table);

}  // namespace berth::network
