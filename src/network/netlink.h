#pragma once
// rtnetlink: the links, addresses and routes berth's bridge driver needs,
// over a small hand-written NETLINK_ROUTE client.
//
// Why not libnl-route-3 (measured on these machines, see docs/network.md):
// a tiny program that asks for one link costs 1.36-1.57 MB RSS with raw
// rtnetlink and 1.93-2.06 MB with libnl-route-3 (dynamic: +~0.5 MB for two
// more shared objects to map and relocate), 0.71 vs 1.10 MB fully static;
// berthd's idle target is 8 MB and it is ~3 MB today. The messages berth
// sends are few and fixed (bridge, veth with peer in a netns, address,
// default route, delete, dump), ~500 lines here, and libnl's object caches
// buy nothing for them. libnl stays a fine choice for a tool; not for the
// daemon's resident set.
//
// Namespaces: an Rtnl talks to the network namespace its socket was
// created in, whatever thread later uses it. openIn(fd) creates the socket
// inside another namespace from a short-lived helper thread (setns affects
// only that thread), so berthd's own threads never change namespace.
//
// Thread safety: one Rtnl is not synchronised (one request in flight);
// use one per thread or guard it.
//
// Errors: kernel errors come back through sysError with the request named
// ("create veth veth1234: File exists"), so codes follow errno (EEXIST ->
// AlreadyExists, ENODEV/ENOENT -> NotFound via ENOENT, EPERM ->
// PermissionDenied).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "network/ipam.h"

namespace berth::network {

// Appends rtnetlink attributes to a message buffer (the pure part of this
// module, unit tested without root). Nested attributes: beginNested()
// returns an offset that endNested() closes.
class NlMessage {
 public:
  // A request header of `type` with `flags` (NLM_F_REQUEST is added) and
  // `family header` bytes (ifinfomsg, ifaddrmsg, rtmsg) copied after it.
  NlMessage(std::uint16_t type, std::uint16_t flags, const void* familyHeader, std::size_t familyLen);

  void put(std::uint16_t type, const void* data, std::size_t len);
  void putString(std::uint16_t type, std::string_view s);  // NUL-terminated
  void putU32(std::uint16_t type, std::uint32_t v) { put(type, &v, sizeof v); }
  void putS32(std::uint16_t type, std::int32_t v) { put(type, &v, sizeof v); }
  // Raw bytes with no attribute header (the peer's ifinfomsg in VETH_INFO_PEER).
  void putRaw(const void* data, std::size_t len);
  std::size_t beginNested(std::uint16_t type);
  void endNested(std::size_t offset);

  void setSeq(std::uint32_t seq);
  void addFlags(std::uint16_t flags);
  const std::vector<std::uint8_t>& bytes() const { return buf_; }

 private:
  void align();
  void fixLength();
  std::vector<std::uint8_t> buf_;
};

struct LinkInfo {
  int index = 0;
  std::string name;
  std::string kind;  // IFLA_INFO_KIND: "bridge", "veth", "" when none
  std::uint32_t mtu = 0;
  std::optional<Mac> mac;
  int master = 0;  // bridge ifindex, 0 when none
  bool up = false;
};

struct BridgeSpec {
  std::string name;  // e.g. "berth0"; IFNAMSIZ-1 chars at most
  std::uint32_t mtu = 0;  // 0: kernel default (1500)
  std::optional<Mac> mac;
  bool up = true;
};

// A veth pair: `hostName` stays in the socket's namespace (attached to
// `masterIndex` when non-zero), the peer is created directly inside the
// namespace `peerNetnsFd` under its final name: no move on the start path.
struct VethSpec {
  std::string hostName;  // e.g. "veth" + 7 hex chars
  std::uint32_t mtu = 0;
  int masterIndex = 0;
  bool hostUp = true;
  std::string peerName = "eth0";
  std::optional<Mac> peerMac;
  int peerNetnsFd = -1;  // -1: peer stays in this namespace too
  // The peer is created down: the kernel refuses (ENOTCONN) to open it
  // before its other half exists. Bring it up from its own namespace
  // (Rtnl::openIn(fd).setUp), after its address is set.
};

struct AddrInfo {
  int index = 0;
  Prefix prefix;  // the interface address with its prefix length
};

// One NETLINK_ROUTE socket bound to one network namespace.
class Rtnl {
 public:
  // The calling thread's current network namespace.
  static Result<Rtnl> open();
  // The namespace `netnsFd` refers to (a /proc/<pid>/ns/net or bind-mounted
  // nsfs fd); the calling thread does not change namespace.
  static Result<Rtnl> openIn(int netnsFd);

  // NotFound when no such link.
  Result<LinkInfo> link(std::string_view name);
  // Links whose name starts with `prefix` ("" for all), in index order.
  Result<std::vector<LinkInfo>> links(std::string_view prefix = "");
  // Addresses of link `index` (0: all links).
  Result<std::vector<AddrInfo>> addresses(int index = 0);

  // AlreadyExists when a link of that name exists. Returns the new ifindex.
  Result<int> createBridge(const BridgeSpec& spec);
  // Returns the host side's ifindex.
  Result<int> createVeth(const VethSpec& spec);
  Result<void> setUp(int index, bool up = true);
  // Hairpin mode of bridge port `index` (IFLA_BRPORT_MODE): frames may be
  // sent back out of the port they came in by. Needed for a container to
  // reach its own published port when br_netfilter bridges the DNATed packet.
  Result<void> setHairpin(int index, bool on = true);
  // Adds `addr` (address with prefix length) to link `index`; IPv6 with
  // `nodad` skips duplicate address detection (the address is usable at once).
  Result<void> addAddress(int index, const Prefix& addr, bool nodad = true);
  // A default route via `gateway` (IPv4 or IPv6) out of link `index`.
  Result<void> addDefaultRoute(IpAddr gateway, int index);
  // Deletes a link (a veth takes its peer with it). NotFound when absent.
  Result<void> deleteLink(std::string_view name);
  // Moves a link into another namespace. Costs 16-19 ms here: only for
  // recovery tools and measurements, never on the container start path.
  Result<void> moveLink(int index, int netnsFd);

  int fd() const { return fd_.get(); }

 private:
  explicit Rtnl(UniqueFd fd) : fd_(std::move(fd)) {}
  // Sends `m` with NLM_F_ACK and waits for its ack; `what` names it in errors.
  Result<void> request(NlMessage& m, std::string_view what);
  // Sends a dump request; calls `each` with every reply message.
  template <class F>
  Result<void> dump(NlMessage& m, std::string_view what, F&& each);
  Result<void> sendMsg(NlMessage& m, std::string_view what);

  UniqueFd fd_;
  std::uint32_t seq_ = 0;
};

}  // namespace berth::network
