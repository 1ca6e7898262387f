#include "network/ipam.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>

namespace berth::network {

namespace {

u128 hostMask(int bits, int len) {
  // Ones in the host part of a `len`-bit prefix of a `bits`-bit address.
  int host = bits - len;
  if (host <= 0) return 0;
  if (host >= 128) return ~u128{0};
  return (u128{1} << host) - 1;
}

u128 fullMask(int bits) { return bits == 128 ? ~u128{0} : ((u128{1} << bits) - 1); }

}  // namespace

std::array<std::uint8_t, 16> IpAddr::bytes() const {
  std::array<std::uint8_t, 16> b{};
  int n = bits() / 8;
  for (int i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(value >> (8 * (n - 1 - i)));
  return b;
}

IpAddr IpAddr::fromBytes(Family f, const std::uint8_t* b) {
  int n = f == Family::V4 ? 4 : 16;
  u128 v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | b[i];
  return IpAddr{f, v};
}

std::string IpAddr::str() const {
  auto b = bytes();
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(isV4() ? AF_INET : AF_INET6, b.data(), buf, sizeof buf);
  return buf;
}

Result<IpAddr> parseIp(std::string_view s) {
  std::string z(s);
  std::uint8_t b[16];
  if (z.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, z.c_str(), b) == 1) return IpAddr::fromBytes(Family::V4, b);
  } else if (inet_pton(AF_INET6, z.c_str(), b) == 1) {
    return IpAddr::fromBytes(Family::V6, b);
  }
  return errorf(Code::InvalidArgument, "invalid IP address: {}", s);
}

Prefix Prefix::masked() const {
  return Prefix{IpAddr{addr.family, addr.value & ~hostMask(addr.bits(), len) & fullMask(addr.bits())}, len};
}
IpAddr Prefix::first() const { return masked().addr; }
IpAddr Prefix::last() const { return IpAddr{addr.family, first().value | hostMask(addr.bits(), len)}; }
u128 Prefix::span() const { return hostMask(addr.bits(), len); }

bool Prefix::contains(IpAddr a) const {
  return a.family == addr.family && (a.value & ~hostMask(addr.bits(), len)) == first().value;
}
bool Prefix::contains(const Prefix& p) const { return p.family() == family() && p.len >= len && contains(p.addr); }
bool Prefix::overlaps(const Prefix& p) const {
  return p.family() == family() && (contains(p.first()) || p.contains(first()));
}

std::string Prefix::str() const { return addr.str() + "/" + std::to_string(len); }

Result<Prefix> parsePrefix(std::string_view s) {
  auto bad = [&] { return errorf(Code::InvalidArgument, "invalid CIDR address: {}", s); };
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return bad();
  auto ip = parseIp(s.substr(0, slash));
  if (!ip) return bad();
  auto lenText = s.substr(slash + 1);
  int len = -1;
  auto [p, ec] = std::from_chars(lenText.data(), lenText.data() + lenText.size(), len);
  if (lenText.empty() || ec != std::errc() || p != lenText.data() + lenText.size() || len < 0 || len > ip->bits() ||
      (lenText.size() > 1 && lenText[0] == '0'))
    return bad();
  return Prefix{*ip, len};
}

Result<Prefix> parseSubnet(std::string_view s) {
  TRY_ASSIGN(Prefix p, parsePrefix(s));
  if (p.masked() != p) return errorf(Code::InvalidArgument, "invalid subnet {}: it should be {}", s, p.masked().str());
  return p;
}

std::vector<PoolSpec> defaultAddressPools() {
  std::vector<PoolSpec> pools;
  for (std::uint32_t second = 17; second <= 31; ++second)
    pools.push_back(PoolSpec{Prefix{IpAddr::v4((172u << 24) | (second << 16)), 16}, 16});
  pools.push_back(PoolSpec{Prefix{IpAddr::v4((192u << 24) | (168u << 16)), 16}, 20});
  return pools;
}

Result<void> validatePools(const std::vector<PoolSpec>& pools) {
  for (const auto& p : pools) {
    if (p.base.masked() != p.base)
      return errorf(Code::InvalidArgument, "invalid base pool {}: it should be {}", p.base.str(), p.base.masked().str());
    if (p.size < p.base.len || p.size > p.base.addr.bits())
      return errorf(Code::InvalidArgument, "invalid pools size: {} for base pool {}", p.size, p.base.str());
  }
  return {};
}

Result<Prefix> choosePool(const std::vector<PoolSpec>& pools, Family family, const std::vector<Prefix>& inUse,
                          const std::vector<Prefix>& hostRoutes) {
  auto conflicts = [&](const Prefix& c) -> const Prefix* {
    for (const auto& u : inUse)
      if (u.overlaps(c)) return &u;
    for (const auto& r : hostRoutes)
      if (r.overlaps(c)) return &r;
    return nullptr;
  };
  for (const auto& pool : pools) {
    if (pool.base.family() != family || pool.size < pool.base.len) continue;
    int bits = pool.base.addr.bits();
    u128 step = u128{1} << (bits - pool.size);  // size <= bits, so host bits < 128 unless size == 0
    if (bits - pool.size >= 128) step = 0;
    Prefix c{pool.base.first(), pool.size};
    const IpAddr end = pool.base.last();
    for (;;) {
      const Prefix* hit = conflicts(c);
      if (!hit) return c;
      // Skip past whatever blocks this candidate: a big in-use prefix can
      // cover many candidates at once.
      IpAddr blockedTo = std::max(c.last(), hit->last());
      if (blockedTo >= end || step == 0) break;
      u128 next = ((blockedTo.value - pool.base.first().value) / step + 1) * step + pool.base.first().value;
      if (next > end.value || next < c.addr.value) break;
      c = Prefix{IpAddr{family, next}, pool.size};
    }
  }
  return errorf(Code::Unavailable,
                "could not find an available, non-overlapping IPv{} address pool among the defaults to assign to the "
                "network",
                family == Family::V4 ? 4 : 6);
}

Result<void> checkNoOverlap(const Prefix& subnet, const std::vector<Prefix>& inUse) {
  for (const auto& u : inUse)
    if (u.overlaps(subnet)) return makeError(Code::PermissionDenied, "Pool overlaps with other one on this address space");
  return {};
}

Prefix ulaPrefix(std::uint64_t globalId) {
  u128 v = (u128{0xfd} << 120) | (u128{globalId & 0xffffffffffull} << 80);
  return Prefix{IpAddr::v6(v), 64};
}

namespace {

Result<void> validate(const Prefix& subnet, const std::optional<Prefix>& range, const IpAddr& gateway) {
  if (subnet.masked() != subnet)
    return errorf(Code::InvalidArgument, "invalid subnet {}: it should be {}", subnet.str(), subnet.masked().str());
  if (range && (range->masked() != *range || !subnet.contains(*range)))
    return errorf(Code::InvalidArgument, "no matching subnet for range {}", range->str());
  if (!subnet.contains(gateway)) return errorf(Code::InvalidArgument, "no matching subnet for gateway {}", gateway.str());
  return {};
}

}  // namespace

Result<SubnetAllocator> SubnetAllocator::create(const SubnetConfig& config) {
  SubnetState s;
  s.subnet = config.subnet;
  s.ipRange = config.ipRange;
  s.gateway = config.gateway ? *config.gateway : IpAddr{config.subnet.family(), config.subnet.first().value + 1};
  TRY(validate(s.subnet, s.ipRange, s.gateway));
  s.cursor = s.subnet.first();
  return SubnetAllocator(std::move(s));
}

Result<SubnetAllocator> SubnetAllocator::restore(const SubnetState& state) {
  TRY(validate(state.subnet, state.ipRange, state.gateway));
  for (const auto& a : state.allocated)
    if (!state.subnet.contains(a))
      return errorf(Code::InvalidArgument, "address {} is outside subnet {}", a.str(), state.subnet.str());
  return SubnetAllocator(state);
}

bool SubnetAllocator::reserved(IpAddr ip) const {
  const Prefix& n = state_.subnet;
  if (ip == state_.gateway || ip == n.first()) return true;
  // IPv4 broadcast; an IPv4 /31 or /32 has no usable host here (Docker
  // refuses such bridge subnets too).
  return ip.isV4() && ip == n.last();
}

Result<IpAddr> SubnetAllocator::allocate() {
  const Prefix& r = state_.ipRange ? *state_.ipRange : state_.subnet;
  const u128 lo = r.first().value, hi = r.last().value;
  const Family f = r.family();
  // Scans [from, to] for the first address neither reserved nor allocated,
  // jumping over runs of allocated addresses with the ordered set.
  auto scan = [&](u128 from, u128 to) -> std::optional<IpAddr> {
    if (from > to) return std::nullopt;
    u128 c = from;
    auto it = state_.allocated.lower_bound(IpAddr{f, c});
    for (;;) {
      IpAddr a{f, c};
      if (it != state_.allocated.end() && *it == a) {
        ++it;
      } else if (!reserved(a)) {
        return a;
      }
      if (c == to) return std::nullopt;
      ++c;
    }
  };
  u128 cur = state_.cursor.value;
  std::optional<IpAddr> got;
  if (cur >= lo && cur < hi) got = scan(cur + 1, hi);
  if (!got) got = scan(lo, std::min(hi, cur >= lo && cur <= hi ? cur : hi));
  if (!got) return makeError(Code::Unavailable, "no available addresses on this pool");
  state_.allocated.insert(*got);
  state_.cursor = *got;
  return *got;
}

Result<IpAddr> SubnetAllocator::request(IpAddr ip) {
  const Prefix& n = state_.subnet;
  if (!n.contains(ip) || ip == n.first() || (ip.isV4() && ip == n.last()))
    return makeError(Code::InvalidArgument, "requested address is out of range");
  if (ip == state_.gateway || state_.allocated.contains(ip))
    return makeError(Code::PermissionDenied, "Address already in use");
  state_.allocated.insert(ip);
  return ip;
}

void SubnetAllocator::release(IpAddr ip) { state_.allocated.erase(ip); }

Mac macFromIpv4(IpAddr ip) {
  auto b = ip.bytes();
  return Mac{0x02, 0x42, b[0], b[1], b[2], b[3]};
}

Mac randomLocalMac(std::uint64_t random) {
  Mac m;
  for (int i = 0; i < 6; ++i) m[i] = static_cast<std::uint8_t>(random >> (8 * (5 - i)));
  m[0] = static_cast<std::uint8_t>((m[0] & 0xfe) | 0x02);  // unicast, locally administered
  return m;
}

std::string formatMac(const Mac& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

Result<Mac> parseMac(std::string_view s) {
  Mac m{};
  if (s.size() != 17) return errorf(Code::InvalidArgument, "invalid MAC address: {}", s);
  for (int i = 0; i < 6; ++i) {
    if (i > 0 && s[i * 3 - 1] != ':') return errorf(Code::InvalidArgument, "invalid MAC address: {}", s);
    auto part = s.substr(i * 3, 2);
    auto [p, ec] = std::from_chars(part.data(), part.data() + 2, m[i], 16);
    if (ec != std::errc() || p != part.data() + 2) return errorf(Code::InvalidArgument, "invalid MAC address: {}", s);
  }
  return m;
}

}  // namespace berth::network
