#pragma once
// IP address management: pure logic, no kernel, no SQLite.
//
// - IpAddr / Prefix: IPv4 and IPv6 addresses and CIDR prefixes (parse,
//   format, contains, overlaps).
// - Address pools: Docker's defaults (172.17-31.0.0/16 as /16s, then
//   192.168.0.0/16 as /20s) or daemon.json `default-address-pools`;
//   choosePool() picks the first subnet that overlaps neither existing
//   networks nor host routes.
// - SubnetAllocator: the addresses of one subnet of one network
//   (`--subnet`, `--ip-range`, `--gateway`, explicit `--ip`), its state
//   a plain value (SubnetState) the daemon persists with its containers.
// - Docker's MAC addresses: 02:42 + the IPv4 bytes, or a random locally
//   administered one for IPv6-only endpoints.
//
// Error texts are moby's (libnetwork/ipamapi, daemon/network), so clients
// that match them keep working; codes map to Docker's HTTP statuses
// (Forbidden -> PermissionDenied = 403, InvalidParameter -> InvalidArgument
// = 400, Unavailable = 503).
//
// Thread safety: values only; a SubnetAllocator is not synchronised (the
// daemon's network service serialises access to one network).

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::network {

using u128 = unsigned __int128;

enum class Family : std::uint8_t { V4 = 4, V6 = 6 };

// An IPv4 or IPv6 address; `value` in host order (IPv4 in the low 32 bits).
struct IpAddr {
  Family family = Family::V4;
  u128 value = 0;

  static IpAddr v4(std::uint32_t v) { return IpAddr{Family::V4, v}; }
  static IpAddr v6(u128 v) { return IpAddr{Family::V6, v}; }
  int bits() const { return family == Family::V4 ? 32 : 128; }
  bool isV4() const { return family == Family::V4; }
  // Network byte order: 4 bytes for IPv4, 16 for IPv6 (the rest zero).
  std::array<std::uint8_t, 16> bytes() const;
  static IpAddr fromBytes(Family f, const std::uint8_t* b);
  std::string str() const;

  auto operator<=>(const IpAddr&) const = default;
  bool operator==(const IpAddr&) const = default;
};

// "172.18.0.2" or "fd00::1" (no zone, no brackets). InvalidArgument:
// "invalid IP address: <s>".
Result<IpAddr> parseIp(std::string_view s);

// A CIDR prefix. `addr` may carry host bits (an interface address such as
// 172.18.0.1/16); masked() clears them.
struct Prefix {
  IpAddr addr;
  int len = 0;

  Family family() const { return addr.family; }
  Prefix masked() const;
  IpAddr first() const;  // network address
  IpAddr last() const;   // broadcast address for IPv4
  // Number of addresses minus one (so a /0 IPv6 prefix fits).
  u128 span() const;
  bool contains(IpAddr a) const;
  bool contains(const Prefix& p) const;  // p lies wholly inside this prefix
  bool overlaps(const Prefix& p) const;
  std::string str() const;  // "172.18.0.0/16"

  auto operator<=>(const Prefix&) const = default;
  bool operator==(const Prefix&) const = default;
};

// "10.1.2.0/24", host bits allowed. InvalidArgument: "invalid CIDR address: <s>".
Result<Prefix> parsePrefix(std::string_view s);
// A network's --subnet / --ip-range: a prefix with no host bits.
// InvalidArgument: "invalid subnet <s>: it should be <masked>" (moby 25+).
Result<Prefix> parseSubnet(std::string_view s);

// One entry of daemon.json `default-address-pools`: carve `base` into
// subnets of prefix length `size`.
struct PoolSpec {
  Prefix base;
  int size = 0;
};

// Docker's default IPv4 pools: 172.17.0.0/16 ... 172.31.0.0/16 (size 16),
// then 192.168.0.0/16 in /20s.
std::vector<PoolSpec> defaultAddressPools();

// Validates a configured pool list (base masked, size >= base length and
// <= address bits). InvalidArgument names the bad entry.
Result<void> validatePools(const std::vector<PoolSpec>& pools);

// The first subnet, in pool order, of the given family that overlaps none of
// `inUse` (other networks' subnets) and none of `hostRoutes` (destinations of
// the host's routes, default routes excluded by the caller).
// Unavailable: "could not find an available, non-overlapping IPv4 address
// pool among the defaults to assign to the network" (IPv6 for Family::V6).
Result<Prefix> choosePool(const std::vector<PoolSpec>& pools, Family family,
                          const std::vector<Prefix>& inUse, const std::vector<Prefix>& hostRoutes);

// An explicit --subnet against the other networks' subnets.
// PermissionDenied (Docker's 403): "Pool overlaps with other one on this
// address space".
Result<void> checkNoOverlap(const Prefix& subnet, const std::vector<Prefix>& inUse);

// A unique-local IPv6 /64 (RFC 4193): fd + the low 40 bits of `globalId`,
// subnet id 0. The caller draws globalId at random and persists the result.
Prefix ulaPrefix(std::uint64_t globalId);

// The user's view of one subnet of a network.
struct SubnetConfig {
  Prefix subnet;                   // masked
  std::optional<Prefix> ipRange;   // dynamic allocation only from here
  std::optional<IpAddr> gateway;   // default: first host address of subnet
};

// Everything an allocator needs to be rebuilt after a daemon restart; the
// daemon stores it (e.g. gateway with the network, `allocated` as the
// containers' addresses) and passes it back to SubnetAllocator::restore.
struct SubnetState {
  Prefix subnet;
  std::optional<Prefix> ipRange;
  IpAddr gateway;
  std::set<IpAddr> allocated;  // container addresses, gateway excluded
  IpAddr cursor;               // last dynamically given address

  bool operator==(const SubnetState&) const = default;
};

// Allocates the addresses of one subnet. Network address (and IPv4
// broadcast) and the gateway are never given out. Dynamic allocation is
// serial like Docker's bitmap: it continues after the last given address and
// wraps, so a just-released address is not reused at once.
class SubnetAllocator {
 public:
  // InvalidArgument: "no matching subnet for range <r>" when ipRange is not
  // inside subnet; "no matching subnet for gateway <g>" when the gateway is
  // outside it; "invalid subnet ..." when subnet has host bits.
  static Result<SubnetAllocator> create(const SubnetConfig& config);
  // Rebuilds from a persisted state (validated like create()).
  static Result<SubnetAllocator> restore(const SubnetState& state);

  // Next free address of the range (or subnet). Unavailable: "no available
  // addresses on this pool".
  Result<IpAddr> allocate();
  // An explicit --ip. InvalidArgument: "requested address is out of range"
  // (outside the subnet, or its network/broadcast address);
  // PermissionDenied (Docker's 403): "Address already in use" (taken or the
  // gateway).
  Result<IpAddr> request(IpAddr ip);
  // Returns an address; releasing one not allocated is a no-op (reconcile
  // may release twice).
  void release(IpAddr ip);
  bool isAllocated(IpAddr ip) const { return state_.allocated.contains(ip); }

  const IpAddr& gateway() const { return state_.gateway; }
  const Prefix& subnet() const { return state_.subnet; }
  const SubnetState& state() const { return state_; }

 private:
  explicit SubnetAllocator(SubnetState s) : state_(std::move(s)) {}
  bool reserved(IpAddr ip) const;  // network, broadcast, gateway
  SubnetState state_;
};

using Mac = std::array<std::uint8_t, 6>;

// Docker's MAC for an IPv4 endpoint: 02:42 followed by the four address bytes
// (172.18.0.2 -> 02:42:ac:12:00:02).
Mac macFromIpv4(IpAddr ip);
// A locally administered unicast MAC from 48 random bits (IPv6-only endpoints).
Mac randomLocalMac(std::uint64_t random);
std::string formatMac(const Mac& mac);  // "02:42:ac:12:00:02"
// InvalidArgument: "invalid MAC address: <s>".
Result<Mac> parseMac(std::string_view s);

}  // namespace berth::network
