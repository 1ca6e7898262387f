#include "network/ports.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <tuple>

namespace berth::network {

namespace {

using json = nlohmann::json;

bool validProto(std::string_view p) { return p == "tcp" || p == "udp" || p == "sctp"; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

// strconv.ParseUint(s, 10, 16) with Go's error text.
Result<std::uint16_t> parseUint16Go(std::string_view s) {
  bool digits = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) return errorf(Code::InvalidArgument, "strconv.ParseUint: parsing \"{}\": invalid syntax", s);
  std::uint32_t v = 0;
  for (char c : s) {
    v = v * 10 + std::uint32_t(c - '0');
    if (v > 65535) return errorf(Code::InvalidArgument, "strconv.ParseUint: parsing \"{}\": value out of range", s);
  }
  return std::uint16_t(v);
}

// Go's net.SplitHostPort(ip + ":") for a bracketed host: the host or the
// AddrError text.
Result<std::string> stripBrackets(const std::string& ip) {
  std::string hp = ip + ":";
  auto err = [&](const char* why) { return errorf(Code::InvalidArgument, "invalid IP address {}: address {}: {}", ip, hp, why); };
  std::size_t i = hp.size() - 1;  // the last ':'
  std::size_t end = hp.find(']');
  if (end == std::string::npos) return err("missing ']' in address");
  if (end + 1 == hp.size()) return err("missing port in address");
  if (end + 1 != i) return hp[end + 1] == ':' ? err("too many colons in address") : err("missing port in address");
  if (hp.find('[', 1) != std::string::npos) return err("unexpected '[' in address");
  if (hp.find(']', end + 1) != std::string::npos) return err("unexpected ']' in address");
  return hp.substr(1, end - 1);
}

bool isUnspecified(const IpAddr& a) { return a.value == 0; }

std::string portStr(std::uint16_t p) { return std::to_string(p); }

}  // namespace

std::string PortKey::str() const { return std::to_string(port) + "/" + proto; }

std::string joinHostPort(std::string_view host, std::string_view port) {
  if (host.find(':') != std::string_view::npos) return "[" + std::string(host) + "]:" + std::string(port);
  return std::string(host) + ":" + std::string(port);
}

Result<std::pair<std::uint16_t, std::uint16_t>> parsePortRange(std::string_view ports) {
  if (ports.empty()) return errorf(Code::InvalidArgument, "empty string specified for ports");
  auto dash = ports.find('-');
  if (dash == std::string_view::npos) {
    TRY_ASSIGN(std::uint16_t p, parseUint16Go(ports));
    return std::pair{p, p};
  }
  std::string_view first = ports.substr(0, dash), rest = ports.substr(dash + 1);
  rest = rest.substr(0, rest.find('-'));  // Go's strings.Split(...)[1]
  TRY_ASSIGN(std::uint16_t start, parseUint16Go(first));
  TRY_ASSIGN(std::uint16_t end, parseUint16Go(rest));
  if (end < start) return errorf(Code::InvalidArgument, "invalid range specified for port: {}", ports);
  return std::pair{start, end};
}

Result<std::vector<PortKey>> parsePortKeys(std::string_view spec) {
  std::string_view port = spec, proto = "tcp";
  if (auto slash = spec.find('/'); slash != std::string_view::npos) {
    port = spec.substr(0, slash);
    if (slash + 1 < spec.size()) proto = spec.substr(slash + 1);
  }
  std::string p = lower(proto);
  if (!validProto(p)) return errorf(Code::InvalidArgument, "invalid proto: {}", proto);
  auto range = parsePortRange(port);
  if (!range) return errorf(Code::InvalidArgument, "invalid containerPort: {}", port);
  std::vector<PortKey> keys;
  for (std::uint32_t i = range->first; i <= range->second; ++i) keys.push_back(PortKey{std::uint16_t(i), p});
  return keys;
}

Result<ParsedPortSpec> parsePortSpec(std::string_view raw) {
  // splitParts: the last two ':'-separated fields are the ports, the rest the IP.
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (true) {
    auto c = raw.find(':', pos);
    parts.emplace_back(raw.substr(pos, c == std::string_view::npos ? std::string_view::npos : c - pos));
    if (c == std::string_view::npos) break;
    pos = c + 1;
  }
  std::string ip, hostPort, containerPort;
  std::size_t n = parts.size();
  if (n == 1) {
    containerPort = parts[0];
  } else if (n == 2) {
    hostPort = parts[0];
    containerPort = parts[1];
  } else {
    for (std::size_t i = 0; i + 2 < n; ++i) ip += (i ? ":" : "") + parts[i];
    hostPort = parts[n - 2];
    containerPort = parts[n - 1];
  }
  // SplitProtoPort
  std::string proto;
  {
    auto slash = containerPort.find('/');
    std::string port = containerPort.substr(0, slash);
    proto = slash == std::string::npos ? "" : containerPort.substr(slash + 1);
    if (port.empty()) {
      containerPort.clear();
      proto.clear();
    } else {
      containerPort = port;
      if (proto.empty()) proto = "tcp";
    }
  }
  if (!ip.empty() && ip[0] == '[') {
    TRY_ASSIGN(ip, stripBrackets(ip));
  }
  if (!ip.empty() && !parseIp(ip)) return errorf(Code::InvalidArgument, "invalid IP address: {}", ip);
  if (containerPort.empty()) return errorf(Code::InvalidArgument, "no port specified: {}<empty>", raw);
  auto cr = parsePortRange(containerPort);
  if (!cr) return errorf(Code::InvalidArgument, "invalid containerPort: {}", containerPort);
  auto [start, end] = *cr;
  std::uint16_t hostStart = 0, hostEnd = 0;
  if (!hostPort.empty()) {
    auto hr = parsePortRange(hostPort);
    if (!hr) return errorf(Code::InvalidArgument, "invalid hostPort: {}", hostPort);
    std::tie(hostStart, hostEnd) = *hr;
    if (end - start != hostEnd - hostStart && end != start)
      return errorf(Code::InvalidArgument, "invalid ranges specified for container and host Ports: {} and {}",
                    containerPort, hostPort);
  }
  std::string lp = lower(proto);
  if (!validProto(lp)) return errorf(Code::InvalidArgument, "invalid proto: {}", proto);

  ParsedPortSpec out;
  std::uint32_t count = std::uint32_t(end) - start + 1;
  for (std::uint32_t i = 0; i < count; ++i) {
    PortBinding b{ip, ""};
    if (!hostPort.empty()) {
      b.hostPort = std::to_string(hostStart + i);
      if (count == 1 && hostStart != hostEnd) b.hostPort += "-" + std::to_string(hostEnd);
    }
    out.bindings.emplace_back(PortKey{std::uint16_t(start + i), lp}, std::move(b));
  }
  return out;
}

Result<std::vector<PortRequest>> portRequests(const json& portBindings, bool publishAll, const json& exposedPorts) {
  std::vector<PortRequest> reqs;
  std::set<PortKey> bound;
  auto keyOf = [](const std::string& key) -> Result<PortKey> {
    auto slash = key.find('/');
    std::string port = key.substr(0, slash);
    std::string proto = slash == std::string::npos || slash + 1 == key.size() ? "tcp" : lower(key.substr(slash + 1));
    auto p = parseUint16Go(port);
    if (!p) return errorf(Code::InvalidArgument, "invalid port specification: \"{}\"", port);
    if (!validProto(proto)) return errorf(Code::InvalidArgument, "invalid proto: {}", proto);
    return PortKey{*p, proto};
  };
  if (portBindings.is_object()) {
    for (auto& [key, list] : portBindings.items()) {
      TRY_ASSIGN(PortKey k, keyOf(key));
      if (!list.is_array() || list.empty()) continue;
      bound.insert(k);
      for (const json& b : list) {
        PortRequest r;
        r.container = k;
        if (b.is_object()) {
          r.hostIp = b.value("HostIp", "");
          std::string hp = b.value("HostPort", "");
          if (!r.hostIp.empty() && !parseIp(r.hostIp))
            return errorf(Code::InvalidArgument, "invalid IP address: {}", r.hostIp);
          if (!hp.empty()) {
            auto range = parsePortRange(hp);
            if (!range) return errorf(Code::InvalidArgument, "invalid port specification: \"{}\"", hp);
            r.hostPortStart = range->first;
            r.hostPortEnd = range->second;
            if (r.hostPortStart == 0) r.hostPortEnd = 0;
          }
        }
        reqs.push_back(std::move(r));
      }
    }
  }
  if (publishAll && exposedPorts.is_object()) {
    for (auto& [key, _] : exposedPorts.items()) {
      TRY_ASSIGN(auto keys, parsePortKeys(key));
      for (const PortKey& k : keys) {
        if (bound.count(k)) continue;
        bound.insert(k);
        reqs.push_back(PortRequest{k, "", 0, 0});
      }
    }
  }
  // dockerd (nat.SortPortMap): fixed host ports first, then by container port.
  std::stable_sort(reqs.begin(), reqs.end(), [](const PortRequest& a, const PortRequest& b) {
    bool fa = a.hostPortStart != 0, fb = b.hostPortStart != 0;
    if (fa != fb) return fa;
    return a.container < b.container;
  });
  return reqs;
}

// ---- allocator ----

struct PortAllocator::Impl {
  std::mutex mu;
  std::uint16_t ephBegin = 32768, ephEnd = 60999;
  struct Held {
    IpAddr ip;
    std::string proto;
    std::uint16_t port;
    auto operator<=>(const Held&) const = default;
  };
  std::map<Held, std::string> held;                        // -> owner
  std::map<std::string, std::vector<PortMapping>> owners;  // owner -> mappings, in order
  // first free after the last given, one cursor per (proto, range)
  std::map<std::tuple<std::string, std::uint16_t, std::uint16_t>, std::uint16_t> last;
  bool ipv6 = true;

  // Another holder of (ip, proto, port): same address, or either side unspecified.
  bool taken(const std::set<Held>& tentative, const IpAddr& ip, const std::string& proto, std::uint16_t port) const {
    auto clash = [&](const Held& h) {
      return h.proto == proto && h.port == port && h.ip.family == ip.family &&
             (h.ip == ip || isUnspecified(h.ip) || isUnspecified(ip));
    };
    for (auto& [h, _] : held)
      if (clash(h)) return true;
    for (auto& h : tentative)
      if (clash(h)) return true;
    return false;
  }
};

namespace {

// Binds (ip, proto, port) with SO_REUSEADDR off and closes at once: 0 or errno.
int probeBind(const IpAddr& ip, const std::string& proto, std::uint16_t port) {
  int type = proto == "udp" ? SOCK_DGRAM : SOCK_STREAM;
  int protocol = proto == "sctp" ? IPPROTO_SCTP : 0;
  int fam = ip.isV4() ? AF_INET : AF_INET6;
  int fd = ::socket(fam, type | SOCK_CLOEXEC, protocol);
  if (fd < 0) return errno == EPROTONOSUPPORT || errno == ESOCKTNOSUPPORT ? 0 : errno;  // no sctp: nothing to clash with
  int rc;
  auto b = ip.bytes();
  if (fam == AF_INET) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    std::memcpy(&sa.sin_addr, b.data(), 4);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  } else {
    int one = 1;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    std::memcpy(&sa.sin6_addr, b.data(), 16);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  int e = rc == 0 ? 0 : errno;
  ::close(fd);
  return e;
}

bool hostHasIpv6() {
  int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

std::string errnoText(int e) {
  std::string s = std::strerror(e);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = char(s[0] - 'A' + 'a');
  return s;
}

}  // namespace

PortAllocator::PortAllocator(std::pair<std::uint16_t, std::uint16_t> ephemeral) : impl_(std::make_shared<Impl>()) {
  if (ephemeral.first != 0) {
    impl_->ephBegin = ephemeral.first;
    impl_->ephEnd = ephemeral.second;
  } else {
    std::ifstream f("/proc/sys/net/ipv4/ip_local_port_range");
    unsigned a = 0, b = 0;
    if (f >> a >> b && a > 0 && a <= b && b <= 65535) {
      impl_->ephBegin = std::uint16_t(a);
      impl_->ephEnd = std::uint16_t(b);
    } else {
      impl_->ephBegin = 49153;  // moby's fallback
      impl_->ephEnd = 60999;
    }
  }
  impl_->ipv6 = hostHasIpv6();
}

Result<std::vector<PortMapping>> PortAllocator::allocate(const std::string& owner, const std::vector<PortRequest>& reqs,
                                                         bool dualStack) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  std::set<Impl::Held> tentative;
  auto last = m.last;  // committed with the mappings: all or nothing
  std::vector<PortMapping> out;
  for (const PortRequest& r : reqs) {
    std::vector<IpAddr> ips;
    if (r.hostIp.empty()) {
      ips.push_back(IpAddr::v4(0));
      if (dualStack && m.ipv6) ips.push_back(IpAddr::v6(0));
    } else {
      TRY_ASSIGN(IpAddr ip, parseIp(r.hostIp));
      ips.push_back(ip);
    }
    const std::string& proto = r.container.proto;
    auto freeOn = [&](std::uint16_t port, bool probe, int* bindErr, std::size_t* which) {
      for (std::size_t i = 0; i < ips.size(); ++i) {
        if (m.taken(tentative, ips[i], proto, port)) {
          *bindErr = 0;
          *which = i;
          return false;
        }
      }
      if (!probe) return true;
      for (std::size_t i = 0; i < ips.size(); ++i) {
        if (int e = probeBind(ips[i], proto, port); e != 0) {
          *bindErr = e;
          *which = i;
          return false;
        }
      }
      return true;
    };
    std::uint16_t chosen = 0;
    int e = 0;
    std::size_t which = 0;
    if (r.hostPortStart != 0 && r.hostPortEnd <= r.hostPortStart) {
      if (!freeOn(r.hostPortStart, true, &e, &which)) {
        std::string ipText = ips[which].str();
        if (e == 0)
          return errorf(Code::Conflict, "Bind for {}:{} failed: port is already allocated", ipText, r.hostPortStart);
        return std::unexpected(Error{e == EADDRINUSE ? Code::Conflict : e == EADDRNOTAVAIL ? Code::InvalidArgument
                                                                                          : codeForErrno(e),
                                     e,
                                     fmt::format("failed to bind host port {}/{}: {}",
                                                 joinHostPort(ipText, portStr(r.hostPortStart)), proto, errnoText(e))});
      }
      chosen = r.hostPortStart;
    } else {
      std::uint16_t begin = r.hostPortStart ? r.hostPortStart : m.ephBegin;
      std::uint16_t end = r.hostPortStart ? r.hostPortEnd : m.ephEnd;
      auto key = std::tuple{proto, begin, end};
      auto it = last.find(key);
      std::uint32_t cur = it == last.end() ? end : it->second;
      std::uint32_t span = std::uint32_t(end) - begin + 1;
      int firstErr = 0;
      for (std::uint32_t k = 0; k < span; ++k) {
        cur = cur >= end ? begin : cur + 1;
        if (freeOn(std::uint16_t(cur), true, &e, &which)) {
          chosen = std::uint16_t(cur);
          break;
        }
        if (e != 0 && e != EADDRINUSE && !firstErr) firstErr = e;
        if (firstErr) break;  // not a busy port: the address itself is refused
      }
      if (chosen == 0) {
        if (firstErr)
          return std::unexpected(Error{firstErr == EADDRNOTAVAIL ? Code::InvalidArgument : codeForErrno(firstErr),
                                       firstErr,
                                       fmt::format("failed to bind host port {}/{}: {}",
                                                   joinHostPort(ips[which].str(), portStr(std::uint16_t(cur))), proto,
                                                   errnoText(firstErr))});
        return errorf(Code::Unavailable, "all ports are allocated");
      }
      last[key] = chosen;
    }
    for (const IpAddr& ip : ips) {
      tentative.insert(Impl::Held{ip, proto, chosen});
      out.push_back(PortMapping{r.container, ip.str(), chosen});
    }
  }
  for (auto& h : tentative) m.held[h] = owner;
  m.last = std::move(last);
  auto& mine = m.owners[owner];
  mine.insert(mine.end(), out.begin(), out.end());
  return out;
}

std::vector<PortMapping> PortAllocator::mappingsOf(const std::string& owner) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->owners.find(owner);
  return it == impl_->owners.end() ? std::vector<PortMapping>{} : it->second;
}

void PortAllocator::release(const std::string& owner) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  for (auto it = m.held.begin(); it != m.held.end();) it = it->second == owner ? m.held.erase(it) : std::next(it);
  m.owners.erase(owner);
}

void PortAllocator::restore(const std::string& owner, const std::vector<PortMapping>& mappings) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  auto& mine = m.owners[owner];
  for (const PortMapping& pm : mappings) {
    auto ip = parseIp(pm.hostIp);
    if (!ip || pm.hostPort == 0) continue;
    m.held[Impl::Held{*ip, pm.container.proto, pm.hostPort}] = owner;
    mine.push_back(pm);
  }
}

std::vector<PublishedPort> toPublished(const std::vector<PortMapping>& mappings, const IpAddr& containerIp) {
  std::vector<PublishedPort> out;
  for (const PortMapping& pm : mappings) {
    auto ip = parseIp(pm.hostIp);
    if (!ip || ip->family != containerIp.family || pm.hostPort == 0) continue;
    PublishedPort p;
    p.proto = pm.container.proto;
    if (!isUnspecified(*ip)) p.hostIp = *ip;
    p.hostPort = pm.hostPort;
    p.containerIp = containerIp;
    p.containerPort = pm.container.port;
    out.push_back(std::move(p));
  }
  return out;
}

namespace {

// Exposed keys ("53/udp", ranges expanded) that parse.
std::set<PortKey> exposedKeys(const json& exposedPorts) {
  std::set<PortKey> keys;
  if (!exposedPorts.is_object()) return keys;
  for (auto& [k, _] : exposedPorts.items())
    if (auto ks = parsePortKeys(k)) keys.insert(ks->begin(), ks->end());
  return keys;
}

}  // namespace

json portsJson(const std::vector<PortMapping>& mappings, const json& exposedPorts) {
  json out = json::object();  // a std::map: keys sorted as Go's encoding/json sorts map keys
  for (const PortKey& k : exposedKeys(exposedPorts)) out[k.str()] = nullptr;
  for (const PortMapping& pm : mappings) {
    json& list = out[pm.container.str()];
    if (!list.is_array()) list = json::array();
    list.push_back({{"HostIp", pm.hostIp}, {"HostPort", portStr(pm.hostPort)}});
  }
  return out;
}

json portsSummaryJson(const std::vector<PortMapping>& mappings, const json& exposedPorts) {
  json ports = portsJson(mappings, exposedPorts);
  json out = json::array();
  for (auto& [key, list] : ports.items()) {
    auto keys = parsePortKeys(key);
    if (!keys || keys->empty()) continue;
    const PortKey& k = keys->front();
    if (!list.is_array() || list.empty()) {
      json p = json::object();
      p["PrivatePort"] = k.port;
      p["Type"] = k.proto;
      out.push_back(std::move(p));
      continue;
    }
    for (const json& b : list) {
      json p = json::object();
      std::string ip = b.value("HostIp", "");
      if (!ip.empty()) p["IP"] = ip;
      p["PrivatePort"] = k.port;
      std::uint16_t pub = 0;
      if (auto r = parseUint16Go(b.value("HostPort", ""))) pub = *r;
      if (pub) p["PublicPort"] = pub;
      p["Type"] = k.proto;
      out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace berth::network
