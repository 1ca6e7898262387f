// The network service: networks in SQLite, bridges through netlink.h, one
// nftables table (nft.h) for every bridge and published port, a network
// namespace per container bind-mounted under <execRoot>/netns.
//
// Thread safety: every public method takes mu_; kernel work that must run in
// the host namespace (cfg.hostNetnsFd) runs on a short-lived thread there, so
// no long-lived thread ever changes namespace.

#include "network/service.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <climits>
#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/fd.h"
#include "common/log.h"
#include "common/number.h"
#include "common/until.h"
#include "common/util.h"
#include "network/dns.h"
#include "network/ipam.h"
#include "network/netlink.h"
#include "network/nft.h"
#include "network/sandbox_files.h"
#include "store/database.h"

namespace berth::network {

namespace {

using json = nlohmann::json;

constexpr long kNsfsMagic = 0x6e736673;
const char* kOptBridgeName = "com.docker.network.bridge.name";
const char* kOptIcc = "com.docker.network.bridge.enable_icc";
const char* kOptMasq = "com.docker.network.bridge.enable_ip_masquerade";
const char* kOptHostBinding = "com.docker.network.bridge.host_binding_ipv4";
const char* kOptMtu = "com.docker.network.driver.mtu";
const char* kOptDefaultBridge = "com.docker.network.bridge.default_bridge";

bool isPredefinedName(const std::string& n) { return n == "bridge" || n == "host" || n == "none" || n == "default"; }

// ---- JSON documents in SQLite (berth's own shapes, not the API's) ----

json poolsToJson(const std::vector<IpamPool>& pools) {
  json a = json::array();
  for (auto& p : pools)
    a.push_back({{"Subnet", p.subnet}, {"IPRange", p.ipRange}, {"Gateway", p.gateway}, {"Aux", p.auxAddresses}});
  return a;
}

std::vector<IpamPool> poolsFromJson(const json& a) {
  std::vector<IpamPool> out;
  if (!a.is_array()) return out;
  for (auto& p : a) {
    IpamPool x;
    x.subnet = p.value("Subnet", "");
    x.ipRange = p.value("IPRange", "");
    x.gateway = p.value("Gateway", "");
    if (p.contains("Aux") && p["Aux"].is_object()) x.auxAddresses = p["Aux"].get<std::map<std::string, std::string>>();
    out.push_back(std::move(x));
  }
  return out;
}

json infoToJson(const NetworkInfo& n) {
  return {{"Internal", n.internal},       {"Attachable", n.attachable}, {"Ingress", n.ingress},
          {"EnableIPv6", n.enableIPv6},   {"IpamDriver", n.ipamDriver}, {"Ipam", poolsToJson(n.ipamConfig)},
          {"IpamOptions", n.ipamOptions}, {"Options", n.options},       {"Labels", n.labels},
          {"Bridge", n.bridge},           {"Scope", n.scope}};
}

NetworkInfo infoFromRow(const std::string& id, const std::string& name, const std::string& driver, int64_t created,
                        const json& d) {
  NetworkInfo n;
  n.id = id;
  n.name = name;
  n.driver = driver;
  n.created = created;
  n.internal = d.value("Internal", false);
  n.attachable = d.value("Attachable", false);
  n.ingress = d.value("Ingress", false);
  n.enableIPv6 = d.value("EnableIPv6", false);
  n.ipamDriver = d.value("IpamDriver", "default");
  n.ipamConfig = poolsFromJson(d.value("Ipam", json::array()));
  auto strMap = [&](const char* k) {
    return d.contains(k) && d[k].is_object() ? d[k].get<std::map<std::string, std::string>>()
                                             : std::map<std::string, std::string>{};
  };
  n.ipamOptions = strMap("IpamOptions");
  n.options = strMap("Options");
  n.labels = strMap("Labels");
  n.bridge = d.value("Bridge", "");
  n.scope = d.value("Scope", "local");
  return n;
}

json endpointToJson(const Endpoint& e) {
  json ports = json::array();
  for (auto& p : e.ports)
    ports.push_back({{"Port", p.container.port}, {"Proto", p.container.proto}, {"HostIp", p.hostIp},
                     {"HostPort", p.hostPort}});
  return {{"NetworkName", e.networkName}, {"EndpointID", e.endpointId}, {"ContainerName", e.containerName},
          {"Aliases", e.aliases},         {"DNSNames", e.dnsNames},     {"Links", e.links},
          {"IPv4", e.ipv4},               {"IPv4Len", e.ipv4PrefixLen}, {"Gateway", e.gateway},
          {"IPv6", e.ipv6},               {"IPv6Len", e.ipv6PrefixLen}, {"Gateway6", e.gateway6},
          {"Mac", e.mac},                 {"HostVeth", e.hostVeth},     {"IfName", e.ifName},
          {"Dns", e.dns},                 {"Ports", ports}};
}

Endpoint endpointFromRow(const std::string& netId, const std::string& cid, const json& d) {
  Endpoint e;
  e.networkId = netId;
  e.containerId = cid;
  e.networkName = d.value("NetworkName", "");
  e.endpointId = d.value("EndpointID", "");
  e.containerName = d.value("ContainerName", "");
  auto strs = [&](const char* k) {
    return d.contains(k) && d[k].is_array() ? d[k].get<std::vector<std::string>>() : std::vector<std::string>{};
  };
  e.aliases = strs("Aliases");
  e.dnsNames = strs("DNSNames");
  e.links = strs("Links");
  e.dns = strs("Dns");
  e.ipv4 = d.value("IPv4", "");
  e.ipv4PrefixLen = d.value("IPv4Len", 0);
  e.gateway = d.value("Gateway", "");
  e.ipv6 = d.value("IPv6", "");
  e.ipv6PrefixLen = d.value("IPv6Len", 0);
  e.gateway6 = d.value("Gateway6", "");
  e.mac = d.value("Mac", "");
  e.hostVeth = d.value("HostVeth", "");
  e.ifName = d.value("IfName", "");
  if (d.contains("Ports") && d["Ports"].is_array())
    for (auto& p : d["Ports"]) {
      PortMapping m;
      m.container.port = p.value("Port", std::uint16_t(0));
      m.container.proto = p.value("Proto", "tcp");
      m.hostIp = p.value("HostIp", "");
      m.hostPort = p.value("HostPort", std::uint16_t(0));
      e.ports.push_back(std::move(m));
    }
  return e;
}

// ---- small kernel helpers ----

// The mount points listed in /proc/self/mountinfo.
std::set<std::string> mountPoints() {
  std::set<std::string> out;
  auto text = readFile("/proc/self/mountinfo");
  if (!text) return out;
  for (auto& line : split(*text, '\n')) {
    auto f = split(line, ' ');
    if (f.size() > 4) out.insert(f[4]);
  }
  return out;
}

bool isNsfs(const std::string& path) {
  struct statfs s{};
  return ::statfs(path.c_str(), &s) == 0 && static_cast<long>(s.f_type) == kNsfsMagic;
}

Result<> writeSysctl(const std::string& key, const std::string& value) {
  std::string path = "/proc/sys/" + key;
  for (auto& c : path)
    if (c == '.') c = '/';
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return sysError(errno, "sysctl {}", key);
  if (::write(fd.get(), value.data(), value.size()) < 0) return sysError(errno, "sysctl {}={}", key, value);
  return {};
}

// Destinations of the host's routes (default routes left out) and the
// device each goes out of. Read in the calling thread's namespace.
std::vector<std::pair<Prefix, std::string>> hostRoutes() {
  std::vector<std::pair<Prefix, std::string>> out;
  if (auto t = readFile("/proc/thread-self/net/route")) {
    bool first = true;
    for (auto& line : split(*t, '\n')) {
      if (first) {
        first = false;
        continue;
      }
      std::vector<std::string> f;
      for (auto& w : split(line, '\t'))
        if (!trim(w).empty()) f.push_back(trim(w));
      if (f.size() < 8) continue;
      auto dst = parseNumber<std::uint32_t>(f[1], 16), mask = parseNumber<std::uint32_t>(f[7], 16);
      if (!dst || !mask || *mask == 0) continue;
      // Little-endian hex of network-order bytes.
      std::uint32_t d = __builtin_bswap32(*dst), m = __builtin_bswap32(*mask);
      out.push_back({Prefix{IpAddr::v4(d), __builtin_popcount(m)}.masked(), f[0]});
    }
  }
  if (auto t = readFile("/proc/thread-self/net/ipv6_route")) {
    for (auto& line : split(*t, '\n')) {
      std::vector<std::string> f;
      for (auto& w : split(line, ' '))
        if (!w.empty()) f.push_back(w);
      if (f.size() < 10 || f[0].size() != 32) continue;
      auto len = parseNumber<int>(f[1], 16);
      if (!len || *len == 0 || *len == 128) continue;
      u128 v = 0;
      bool ok = true;
      for (char c : f[0]) {
        auto nib = parseNumber<int>(std::string_view(&c, 1), 16);
        if (!nib) ok = false;
        v = (v << 4) | u128(nib.value_or(0));
      }
      if (!ok || startsWith(f[0], "fe80")) continue;
      out.push_back({Prefix{IpAddr::v6(v), *len}.masked(), f[9]});
    }
  }
  return out;
}

std::string shortId(const std::string& id) { return id.substr(0, 12); }

std::uint64_t random64() {
  auto h = randomHexId();
  return parseNumber<std::uint64_t>(std::string_view(h).substr(0, 16), 16).value_or(0x1234567890abULL);
}

// ---- the service ----

struct Net {
  NetworkInfo info;
  std::vector<SubnetAllocator> allocs;  // one per subnet, in ipamConfig order
  bool icc = true, masquerade = true;
  int mtu = 1500;
  bool predefined() const { return isPredefinedName(info.name); }
  bool isBridge() const { return info.driver == "bridge"; }
};

class ServiceImpl final : public Service {
 public:
  ServiceImpl(Config cfg, store::Database& db, EmitFn emit, Rtnl host)
      : cfg_(std::move(cfg)), db_(db), emit_(std::move(emit)), host_(std::move(host)) {}

  Result<> init();

  Result<CreateResult> create(const CreateRequest& req) override;
  Result<NetworkInfo> resolve(const std::string& ref) override {
    std::lock_guard lk(mu_);
    TRY_ASSIGN(Net * n, find(ref));
    return n->info;
  }
  Result<std::vector<NetworkDetails>> list(const Filters& filters) override;
  Result<NetworkDetails> inspect(const std::string& ref) override {
    std::lock_guard lk(mu_);
    TRY_ASSIGN(Net * n, find(ref));
    return details(*n);
  }
  Result<> remove(const std::string& ref) override {
    std::lock_guard lk(mu_);
    return removeLocked(ref);
  }
  Result<std::vector<std::string>> prune(const Filters& filters) override;
  Result<std::string> createSandbox(const std::string& containerId) override;
  Result<> removeSandbox(const std::string& containerId) override;
  Result<Endpoint> attach(const std::string& networkRef, const EndpointRequest& req) override;
  Result<> detach(const std::string& networkRef, const std::string& containerId) override {
    std::lock_guard lk(mu_);
    TRY_ASSIGN(Net * n, find(networkRef));
    return detachLocked(*n, containerId, true);
  }
  std::vector<Endpoint> endpointsOf(const std::string& containerId) override {
    std::lock_guard lk(mu_);
    std::vector<Endpoint> out;
    for (auto& [k, e] : eps_)
      if (k.first == containerId) out.push_back(e);
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.ifName < b.ifName; });
    return out;
  }
  Result<SandboxFiles> sandboxFiles(const std::string& containerId, const std::string& hostname,
                                    const std::string& domainname, const std::vector<std::string>& extraHosts,
                                    const std::vector<std::string>& dns, const std::vector<std::string>& dnsSearch,
                                    const std::vector<std::string>& dnsOptions) override;
  Result<> restore(const std::vector<std::string>& runningContainerIds) override;

 private:
  // Runs f (returning a Result) in the host namespace.
  template <class F>
  auto inHost(F&& f) -> decltype(f()) {
    if (cfg_.hostNetnsFd < 0) return f();
    using R = decltype(f());
    R r = makeError(Code::Internal, "host namespace thread did not run");
    std::thread t([&] {
      if (::setns(cfg_.hostNetnsFd, CLONE_NEWNET) != 0) {
        r = sysError(errno, "enter the host network namespace");
        return;
      }
      r = f();
    });
    t.join();
    return r;
  }

  Result<Net*> find(const std::string& ref);
  NetworkDetails details(const Net& n) const;
  Result<> removeLocked(const std::string& ref);
  Result<> detachLocked(Net& n, const std::string& containerId, bool deleteVeth);
  Result<> persistNet(const Net& n, bool insert);
  Result<Net> buildNet(NetworkInfo info);
  Result<> setupBridge(const Net& n);
  Result<> deleteBridge(const Net& n);
  Result<> applyRules();
  Result<> ensureDefaultBridge();
  Result<> ensurePredefined(const std::string& name, const std::string& driver);
  std::vector<Prefix> subnetsInUse(const std::string& exceptId) const;
  std::vector<Prefix> routesNotOurs() {
    std::set<std::string> ours;
    for (auto& [id, n] : nets_)
      if (!n.info.bridge.empty()) ours.insert(n.info.bridge);
    std::vector<Prefix> out;
    auto r = inHost([&]() -> Result<std::vector<std::pair<Prefix, std::string>>> { return hostRoutes(); });
    if (r)
      for (auto& [p, dev] : *r)
        if (!ours.contains(dev)) out.push_back(p);
    return out;
  }
  std::vector<PoolSpec> pools() const;
  std::string netnsDir() const { return cfg_.execRoot + "/netns"; }
  std::string netnsPath(const std::string& cid) const { return netnsDir() + "/" + cid; }
  Result<> prepareNetnsDir();
  std::string dnsDir() const { return cfg_.execRoot + "/dns"; }
  bool hasDns(const Net& n) const { return n.isBridge() && n.info.name != "bridge"; }
  // Rewrites the network's DNS records; with `ensure`, starts its berth-dns
  // (in the host namespace) when it has endpoints and dnsBin is set.
  Result<> updateDns(const Net& n, bool ensure);
  // The DNS configs of the other networks that share a container with `n`
  // (their clients' extra records name n's endpoints); failures are logged.
  void updateDnsOfNeighbours(const Net& n);
  // The records of network `netId`: one per name, every address of it there.
  std::vector<DnsRecord> dnsRecordsOf(const std::string& netId) const;
  void emitNet(const Net& n, const std::string& action, const std::string& containerId = "") {
    if (!emit_) return;
    json attrs = {{"name", n.info.name}, {"type", n.info.driver}};
    if (!containerId.empty()) attrs["container"] = containerId;
    emit_("network", action, n.info.id, attrs);
  }

  const Config cfg_;
  store::Database& db_;
  EmitFn emit_;
  std::mutex mu_;
  Rtnl host_;
  std::map<std::string, Net> nets_;                               // by id
  std::map<std::pair<std::string, std::string>, Endpoint> eps_;  // (container id, network id)
  bool netnsDirReady_ = false;
  std::vector<PoolSpec> pools_;
  PortAllocator ports_;
};

std::vector<PoolSpec> ServiceImpl::pools() const { return pools_; }

std::vector<Prefix> ServiceImpl::subnetsInUse(const std::string& exceptId) const {
  std::vector<Prefix> out;
  for (auto& [id, n] : nets_) {
    if (id == exceptId) continue;
    for (auto& a : n.allocs) out.push_back(a.subnet());
  }
  return out;
}

Result<Net*> ServiceImpl::find(const std::string& ref) {
  if (ref.empty()) return errorf(Code::NotFound, "network {} not found", ref);
  if (auto it = nets_.find(ref); it != nets_.end()) return &it->second;
  for (auto& [id, n] : nets_)
    if (n.info.name == ref) return &n;
  std::vector<Net*> matches;
  for (auto& [id, n] : nets_)
    if (startsWith(id, ref)) matches.push_back(&n);
  if (matches.size() == 1) return matches[0];
  if (matches.size() > 1)
    return errorf(Code::InvalidArgument, "network {} is ambiguous ({} matches found based on ID prefix)", ref,
                  matches.size());
  return errorf(Code::NotFound, "network {} not found", ref);
}

NetworkDetails ServiceImpl::details(const Net& n) const {
  NetworkDetails d{n.info, {}};
  for (auto& [k, e] : eps_)
    if (k.second == n.info.id) d.endpoints.push_back(e);
  return d;
}

// A network's allocators from its info (subnets, ranges, gateways, aux addresses).
Result<Net> ServiceImpl::buildNet(NetworkInfo info) {
  Net n;
  for (auto& p : info.ipamConfig) {
    SubnetConfig sc;
    TRY_ASSIGN(sc.subnet, parseSubnet(p.subnet));
    if (!p.ipRange.empty()) {
      TRY_ASSIGN(Prefix r, parseSubnet(p.ipRange));
      sc.ipRange = r;
    }
    if (!p.gateway.empty()) {
      TRY_ASSIGN(IpAddr g, parseIp(p.gateway));
      sc.gateway = g;
    }
    TRY_ASSIGN(SubnetAllocator a, SubnetAllocator::create(sc));
    for (auto& [name, ip] : p.auxAddresses) {
      TRY_ASSIGN(IpAddr aux, parseIp(ip));
      if (!a.subnet().contains(aux)) continue;
      if (auto r = a.request(aux); !r && r.error().code != Code::PermissionDenied)
        return std::unexpected(r.error().wrap("aux address " + name));
    }
    n.allocs.push_back(std::move(a));
  }
  auto opt = [&](const char* k) -> std::string {
    auto it = info.options.find(k);
    return it == info.options.end() ? "" : it->second;
  };
  if (auto v = opt(kOptIcc); !v.empty()) n.icc = parseBool(v);
  if (auto v = opt(kOptMasq); !v.empty()) n.masquerade = parseBool(v);
  n.mtu = cfg_.mtu;
  if (auto v = opt(kOptMtu); !v.empty()) {
    auto m = parseNumber<int>(v);
    if (!m || *m < 68) return errorf(Code::InvalidArgument, "invalid MTU number: {}", v);
    n.mtu = *m;
  }
  n.info = std::move(info);
  return n;
}

Result<> ServiceImpl::persistNet(const Net& n, bool insert) {
  std::string doc = infoToJson(n.info).dump();
  if (insert)
    return db_.run("INSERT INTO networks(id, name, driver, created, doc) VALUES(?, ?, ?, ?, ?)", n.info.id,
                   n.info.name, n.info.driver, n.info.created, doc);
  return db_.run("UPDATE networks SET name = ?, driver = ?, created = ?, doc = ? WHERE id = ?", n.info.name,
                 n.info.driver, n.info.created, doc, n.info.id);
}

Result<> ServiceImpl::setupBridge(const Net& n) {
  if (!n.isBridge() || n.info.bridge.empty()) return {};
  return inHost([&]() -> Result<> {
    int index = 0;
    BridgeSpec spec;
    spec.name = n.info.bridge;
    spec.mtu = static_cast<std::uint32_t>(n.mtu);
    spec.up = true;
    auto created = host_.createBridge(spec);
    if (created) {
      index = *created;
    } else if (created.error().code == Code::AlreadyExists) {
      TRY_ASSIGN(LinkInfo li, host_.link(n.info.bridge));
      if (li.kind != "bridge") return errorf(Code::Conflict, "{} exists and is not a bridge", n.info.bridge);
      index = li.index;
    } else {
      return std::unexpected(created.error());
    }
    TRY_ASSIGN(auto addrs, host_.addresses(index));
    for (auto& a : n.allocs) {
      Prefix want{a.gateway(), a.subnet().len};
      bool has = std::any_of(addrs.begin(), addrs.end(), [&](auto& x) { return x.prefix == want; });
      if (!has)
        if (auto r = host_.addAddress(index, want); !r && r.error().code != Code::AlreadyExists) return r;
    }
    TRY(host_.setUp(index));
    if (cfg_.iptables) {
      if (auto r = writeSysctl("net.ipv4.conf." + n.info.bridge + ".route_localnet", "1"); !r)
        log::warn("{}", r.error().message);
    }
    if (n.info.enableIPv6 && cfg_.ipForward && cfg_.iptables) {
      if (auto r = writeSysctl("net.ipv6.conf.all.forwarding", "1"); !r) log::warn("{}", r.error().message);
    }
    return {};
  });
}

Result<> ServiceImpl::deleteBridge(const Net& n) {
  if (!n.isBridge() || n.info.bridge.empty()) return {};
  return inHost([&]() -> Result<> {
    auto r = host_.deleteLink(n.info.bridge);
    if (!r && r.error().code != Code::NotFound) return r;
    return {};
  });
}

Result<> ServiceImpl::applyRules() {
  if (!cfg_.iptables) return {};
  RulesetSpec spec;
  spec.table = cfg_.nftTable;
  for (auto& [id, n] : nets_) {
    if (!n.isBridge() || n.info.bridge.empty()) continue;
    BridgeRules br;
    br.bridge = n.info.bridge;
    for (auto& a : n.allocs) br.subnets.push_back(a.subnet());
    br.internal = n.info.internal;
    br.masquerade = n.masquerade;
    br.icc = n.icc;
    spec.bridges.push_back(std::move(br));
  }
  for (auto& [k, e] : eps_) {
    if (e.ports.empty()) continue;
    for (const std::string& addr : {e.ipv4, e.ipv6}) {
      auto cip = parseIp(addr);
      if (!cip) continue;
      for (auto& p : toPublished(e.ports, *cip)) spec.ports.push_back(std::move(p));
    }
  }
  return inHost([&]() -> Result<> {
    LibNftRunner runner;
    return applyRuleset(runner, spec);
  });
}

Result<> ServiceImpl::ensurePredefined(const std::string& name, const std::string& driver) {
  for (auto& [id, n] : nets_)
    if (n.info.name == name) return {};
  NetworkInfo info;
  info.id = randomHexId();
  info.name = name;
  info.driver = driver;
  info.created = nowNanos();
  info.ipamConfig.clear();
  TRY_ASSIGN(Net n, buildNet(info));
  TRY(persistNet(n, true));
  nets_[n.info.id] = std::move(n);
  return {};
}

Result<> ServiceImpl::ensureDefaultBridge() {
  Net* existing = nullptr;
  for (auto& [id, n] : nets_)
    if (n.info.name == "bridge") existing = &n;
  if (cfg_.bridge == "none" || cfg_.bridge.empty()) {
    // No default bridge: forget the record (its bridge device is left to the admin, as dockerd does).
    if (existing) {
      TRY(db_.run("DELETE FROM networks WHERE id = ?", existing->info.id));
      nets_.erase(existing->info.id);
    }
    return {};
  }
  NetworkInfo info;
  if (existing) info = existing->info;
  else {
    info.id = randomHexId();
    info.created = nowNanos();
  }
  info.name = "bridge";
  info.driver = "bridge";
  info.bridge = cfg_.bridge;
  info.enableIPv6 = cfg_.ipv6;
  info.options = {{kOptDefaultBridge, "true"},
                  {kOptIcc, cfg_.icc ? "true" : "false"},
                  {kOptMasq, "true"},
                  {kOptHostBinding, "0.0.0.0"},
                  {kOptBridgeName, cfg_.bridge},
                  {kOptMtu, std::to_string(cfg_.mtu)}};
  std::string oldId = existing ? existing->info.id : "";
  IpamPool v4;
  if (!cfg_.bip.empty()) {
    TRY_ASSIGN(Prefix bip, parsePrefix(cfg_.bip));
    v4.subnet = bip.masked().str();
    v4.gateway = bip.addr.str();
  } else {
    auto inUse = subnetsInUse(oldId);
    auto routes = routesNotOurs();
    std::vector<Prefix> blocked = inUse;
    blocked.insert(blocked.end(), routes.begin(), routes.end());
    std::optional<Prefix> keep;
    if (existing)
      for (auto& p : existing->info.ipamConfig)
        if (auto s = parseSubnet(p.subnet); s && s->family() == Family::V4) {
          bool free = std::none_of(blocked.begin(), blocked.end(), [&](auto& b) { return b.overlaps(*s); });
          if (free) {
            keep = *s;
            v4.gateway = p.gateway;
          }
        }
    Prefix preferred = *parseSubnet("172.18.0.0/16");
    if (keep) v4.subnet = keep->str();
    else if (std::none_of(blocked.begin(), blocked.end(), [&](auto& b) { return b.overlaps(preferred); }))
      v4.subnet = preferred.str();
    else {
      TRY_ASSIGN(Prefix p, choosePool(pools(), Family::V4, inUse, routes));
      v4.subnet = p.str();
    }
  }
  if (!cfg_.fixedCidr.empty()) v4.ipRange = cfg_.fixedCidr;
  info.ipamConfig = {v4};
  if (cfg_.ipv6 && !cfg_.fixedCidrV6.empty()) {
    TRY_ASSIGN(Prefix p6, parseSubnet(cfg_.fixedCidrV6));
    info.ipamConfig.push_back(IpamPool{p6.str(), "", "", {}});
  }
  auto built = buildNet(info);
  if (!built) return std::unexpected(built.error().wrap("default bridge"));
  for (std::size_t i = 0; i < built->allocs.size(); i++)
    built->info.ipamConfig[i].gateway = built->allocs[i].gateway().str();
  // Endpoints recorded on the old configuration keep their addresses when they still fit.
  for (auto& [k, e] : eps_) {
    if (k.second != info.id) continue;
    for (auto& a : built->allocs)
      for (const std::string& s : {e.ipv4, e.ipv6})
        if (auto ip = parseIp(s); ip && a.subnet().contains(*ip)) (void)a.request(*ip);
  }
  TRY(persistNet(*built, !existing));
  nets_[info.id] = std::move(*built);
  return setupBridge(nets_[info.id]);
}

Result<> ServiceImpl::updateDns(const Net& n, bool ensure) {
  if (!hasDns(n)) return {};
  DnsConfig d;
  d.networkId = n.info.id;
  for (auto& a : n.allocs) d.listen.push_back(a.gateway().str());
  d.upstreams = cfg_.dns;
  d.searchDomains = cfg_.dnsSearch;
  d.records = dnsRecordsOf(n.info.id);
  bool any = false;
  // Per container (by its address here): its own --dns, and the names of
  // the other user networks it is on (Docker resolves every one of them).
  std::map<std::string, std::vector<DnsRecord>> others;  // network id -> its records, computed once
  for (auto& [k, e] : eps_) {
    if (k.second != n.info.id) continue;
    any = true;
    DnsClient c;
    c.upstreams = e.dns;
    for (auto& [k2, e2] : eps_) {
      if (k2.first != e.containerId || k2.second == n.info.id) continue;
      auto m = nets_.find(k2.second);
      if (m == nets_.end() || !hasDns(m->second)) continue;
      auto [it, fresh] = others.try_emplace(k2.second);
      if (fresh) it->second = dnsRecordsOf(k2.second);
      c.extraRecords.insert(c.extraRecords.end(), it->second.begin(), it->second.end());
    }
    if (c.upstreams.empty() && c.extraRecords.empty()) continue;
    for (const std::string& ip : {e.ipv4, e.ipv6}) {
      if (ip.empty()) continue;
      c.address = ip;
      d.clients.push_back(c);
    }
  }
  TRY(writeDnsConfig(dnsDir(), d));
  if (ensure && any && !cfg_.dnsBin.empty())
    return inHost([&] { return ensureResolver(cfg_.dnsBin, dnsDir(), n.info.id); });
  return {};
}

std::vector<DnsRecord> ServiceImpl::dnsRecordsOf(const std::string& netId) const {
  std::map<std::string, DnsRecord> byName;
  for (auto& [k, e] : eps_) {
    if (k.second != netId) continue;
    for (auto& name : e.dnsNames) {
      DnsRecord& r = byName[toLower(name)];
      r.name = toLower(name);
      if (!e.ipv4.empty()) r.ipv4.push_back(e.ipv4);
      if (!e.ipv6.empty()) r.ipv6.push_back(e.ipv6);
    }
  }
  std::vector<DnsRecord> out;
  for (auto& [name, r] : byName) out.push_back(std::move(r));
  return out;
}

void ServiceImpl::updateDnsOfNeighbours(const Net& n) {
  std::set<std::string> containers, nets;
  for (auto& [k, e] : eps_)
    if (k.second == n.info.id) containers.insert(k.first);
  for (auto& [k, e] : eps_)
    if (k.second != n.info.id && containers.contains(k.first)) nets.insert(k.second);
  for (auto& id : nets) {
    auto it = nets_.find(id);
    if (it == nets_.end()) continue;
    if (auto r = updateDns(it->second, false); !r)
      log::warn("DNS for network {}: {}", it->second.info.name, r.error().message);
  }
}

Result<> ServiceImpl::prepareNetnsDir() {
  if (netnsDirReady_) return {};
  TRY(mkdirAll(netnsDir(), 0711));
  // A private bind mount of itself, as iproute2 does for /run/netns, so the
  // namespace bind mounts below do not propagate to other mount namespaces.
  char real[PATH_MAX];
  if (!::realpath(netnsDir().c_str(), real)) return sysError(errno, "realpath {}", netnsDir());
  if (!mountPoints().contains(real)) {
    if (::mount(real, real, nullptr, MS_BIND, nullptr) != 0) return sysError(errno, "bind mount {}", real);
  }
  if (::mount(nullptr, real, nullptr, MS_PRIVATE, nullptr) != 0) return sysError(errno, "make {} private", real);
  netnsDirReady_ = true;
  return {};
}

Result<> ServiceImpl::init() {
  std::lock_guard lk(mu_);
  if (cfg_.defaultAddressPools.empty()) {
    pools_ = defaultAddressPools();
  } else {
    for (auto& spec : cfg_.defaultAddressPools) {
      PoolSpec p;
      bool hasBase = false, hasSize = false;
      for (auto& kv : split(spec, ',')) {
        auto eq = kv.find('=');
        std::string k = trim(kv.substr(0, eq)), v = eq == std::string::npos ? "" : trim(kv.substr(eq + 1));
        if (k == "base") {
          TRY_ASSIGN(p.base, parseSubnet(v));
          hasBase = true;
        } else if (k == "size") {
          auto n = parseNumber<int>(v);
          if (!n) return errorf(Code::InvalidArgument, "invalid default address pool {}: size {}", spec, v);
          p.size = *n;
          hasSize = true;
        } else {
          return errorf(Code::InvalidArgument, "invalid default address pool {}: unknown field {}", spec, k);
        }
      }
      if (!hasBase || !hasSize) return errorf(Code::InvalidArgument, "invalid default address pool {}", spec);
      pools_.push_back(p);
    }
    TRY(validatePools(pools_));
  }

  // Networks and endpoints as recorded.
  {
    TRY_ASSIGN(auto st, db_.prepare("SELECT id, name, driver, created, doc FROM networks"));
    while (true) {
      TRY_ASSIGN(bool row, st.step());
      if (!row) break;
      json d = json::parse(st.colText(4), nullptr, false);
      auto info = infoFromRow(st.colText(0), st.colText(1), st.colText(2), st.colInt(3), d);
      auto n = buildNet(info);
      if (!n) {
        log::warn("network {}: {}", info.name, n.error().message);
        continue;
      }
      nets_[info.id] = std::move(*n);
    }
  }
  {
    TRY_ASSIGN(auto st, db_.prepare("SELECT network_id, container_id, doc FROM endpoints"));
    while (true) {
      TRY_ASSIGN(bool row, st.step());
      if (!row) break;
      json d = json::parse(st.colText(2), nullptr, false);
      Endpoint e = endpointFromRow(st.colText(0), st.colText(1), d);
      auto it = nets_.find(e.networkId);
      if (it == nets_.end()) continue;
      for (auto& a : it->second.allocs)
        for (const std::string& s : {e.ipv4, e.ipv6})
          if (auto ip = parseIp(s); ip && a.subnet().contains(*ip)) (void)a.request(*ip);
      if (!e.ports.empty()) ports_.restore(e.containerId, e.ports);
      eps_[{e.containerId, e.networkId}] = std::move(e);
    }
  }
  TRY(ensurePredefined("none", "null"));
  TRY(ensurePredefined("host", "host"));
  TRY(ensureDefaultBridge());
  // User bridges lost with a reboot come back.
  for (auto& [id, n] : nets_)
    if (n.isBridge() && n.info.name != "bridge")
      if (auto r = setupBridge(n); !r) log::warn("network {}: {}", n.info.name, r.error().message);
  if (cfg_.iptables && cfg_.ipForward)
    if (auto r = inHost([] { return writeSysctl("net.ipv4.ip_forward", "1"); }); !r)
      log::warn("{}", r.error().message);
  if (auto r = applyRules(); !r) log::warn("nftables: {}", r.error().message);
  return {};
}

Result<CreateResult> ServiceImpl::create(const CreateRequest& req) {
  std::lock_guard lk(mu_);
  if (isPredefinedName(req.name))
    return errorf(Code::PermissionDenied, "operation is not permitted on predefined {} network ", req.name);
  std::string driver = req.driver.empty() ? "bridge" : req.driver;
  if (driver == "host" || driver == "null")
    return errorf(Code::PermissionDenied, "only one instance of \"{}\" network is allowed", driver);
  if (driver != "bridge")
    return errorf(Code::NotFound, "could not find plugin {} in v1 plugin registry: plugin not found", driver);
  for (auto& [id, n] : nets_)
    if (n.info.name == req.name) return errorf(Code::Conflict, "network with name {} already exists", req.name);
  if (!req.ipamDriver.empty() && req.ipamDriver != "default")
    return errorf(Code::NotFound, "could not find plugin {} in v1 plugin registry: plugin not found", req.ipamDriver);

  NetworkInfo info;
  info.id = randomHexId();
  info.name = req.name;
  info.driver = driver;
  info.created = nowNanos();
  info.internal = req.internal;
  info.attachable = req.attachable;
  info.ingress = req.ingress;
  info.enableIPv6 = req.enableIPv6;
  info.ipamDriver = "default";
  info.ipamOptions = req.ipamOptions;
  info.options = req.options;
  info.labels = req.labels;
  if (!req.scope.empty()) info.scope = req.scope;
  if (auto it = req.options.find(kOptBridgeName); it != req.options.end() && !it->second.empty())
    info.bridge = it->second;
  else
    info.bridge = "br-" + shortId(info.id);
  if (info.bridge.size() > 15) return errorf(Code::InvalidArgument, "bridge name {} is too long", info.bridge);
  for (auto& [id, n] : nets_)
    if (n.info.bridge == info.bridge)
      return errorf(Code::Conflict, "bridge name {} is already in use by network {}", info.bridge, n.info.name);

  auto inUse = subnetsInUse("");
  bool hasV4 = false, hasV6 = false;
  for (auto& p : req.ipamConfig) {
    if (p.subnet.empty()) {
      if (!p.ipRange.empty() || !p.gateway.empty())
        return makeError(Code::InvalidArgument, "invalid pool request: subnet is required when ip-range or gateway is set");
      continue;
    }
    TRY_ASSIGN(Prefix s, parseSubnet(p.subnet));
    if (s.family() == Family::V6 && !req.enableIPv6)
      return errorf(Code::InvalidArgument, "invalid subnet {}: IPv6 subnet requires IPv6 to be enabled (--ipv6)", p.subnet);
    TRY(checkNoOverlap(s, inUse));
    for (auto& [auxName, auxIp] : p.auxAddresses) {
      TRY_ASSIGN(IpAddr aux, parseIp(auxIp));
      if (!s.contains(aux)) return errorf(Code::InvalidArgument, "no matching subnet for aux-address {}", auxIp);
    }
    inUse.push_back(s);
    (s.family() == Family::V4 ? hasV4 : hasV6) = true;
    IpamPool q = p;
    q.subnet = s.str();
    info.ipamConfig.push_back(q);
  }
  if (!hasV4) {
    std::vector<Prefix> routes = routesNotOurs();
    TRY_ASSIGN(Prefix p, choosePool(pools(), Family::V4, inUse, routes));
    info.ipamConfig.insert(info.ipamConfig.begin(), IpamPool{p.str(), "", "", {}});
    inUse.push_back(p);
  }
  if (req.enableIPv6 && !hasV6) {
    Prefix ula = ulaPrefix(random64());
    TRY(checkNoOverlap(ula, inUse));
    info.ipamConfig.push_back(IpamPool{ula.str(), "", "", {}});
  }
  TRY_ASSIGN(Net n, buildNet(info));
  // The gateways in use become part of the recorded config (inspect shows them).
  for (std::size_t i = 0; i < n.allocs.size(); i++) n.info.ipamConfig[i].gateway = n.allocs[i].gateway().str();

  TRY(setupBridge(n));
  ScopeExit undoBridge([&] { (void)deleteBridge(n); });
  TRY(persistNet(n, true));
  std::string id = n.info.id;
  nets_[id] = std::move(n);
  if (auto r = applyRules(); !r) {
    nets_.erase(id);
    (void)db_.run("DELETE FROM networks WHERE id = ?", id);
    (void)applyRules();
    return std::unexpected(r.error());
  }
  undoBridge.dismiss();
  emitNet(nets_[id], "create");
  return CreateResult{id, ""};
}

Result<std::vector<NetworkDetails>> ServiceImpl::list(const Filters& filters) {
  std::lock_guard lk(mu_);
  for (auto& [k, v] : filters) {
    static const std::set<std::string> kKeys = {"driver", "id", "label", "name", "scope", "type", "dangling"};
    if (!kKeys.contains(k)) return errorf(Code::InvalidArgument, "invalid filter '{}'", k);
  }
  auto any = [&](const std::string& key, auto pred) {
    auto it = filters.find(key);
    if (it == filters.end() || it->second.empty()) return true;
    return std::any_of(it->second.begin(), it->second.end(), pred);
  };
  if (auto it = filters.find("type"); it != filters.end())
    for (auto& v : it->second)
      if (v != "custom" && v != "builtin") return errorf(Code::InvalidArgument, "invalid filter: 'type'='{}'", v);
  if (auto it = filters.find("dangling"); it != filters.end())
    for (auto& v : it->second)
      if (v != "true" && v != "false" && v != "1" && v != "0")
        return errorf(Code::InvalidArgument, "invalid filter 'dangling={}'", v);
  std::vector<NetworkDetails> out;
  for (auto& [id, n] : nets_) {
    const NetworkInfo& i = n.info;
    bool ok = any("driver", [&](auto& v) { return i.driver == v; }) &&
              any("id", [&](auto& v) { return FilterPattern::compile(v).matches(i.id); }) &&
              any("name", [&](auto& v) { return FilterPattern::compile(v).matches(i.name); }) &&
              any("scope", [&](auto& v) { return i.scope == v; }) &&
              any("type", [&](auto& v) { return (v == "builtin") == n.predefined(); });
    if (auto it = filters.find("label"); ok && it != filters.end())
      for (auto& v : it->second) {
        auto eq = v.find('=');
        auto l = i.labels.find(v.substr(0, eq));
        if (l == i.labels.end() || (eq != std::string::npos && l->second != v.substr(eq + 1))) ok = false;
      }
    NetworkDetails d = details(n);
    if (auto it = filters.find("dangling"); ok && it != filters.end() && !it->second.empty()) {
      bool want = it->second[0] == "true" || it->second[0] == "1";
      bool dangling = !n.predefined() && d.endpoints.empty();
      ok = dangling == want;
    }
    if (ok) out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.net.name < b.net.name; });
  return out;
}

Result<> ServiceImpl::removeLocked(const std::string& ref) {
  TRY_ASSIGN(Net * n, find(ref));
  if (n->predefined())
    return errorf(Code::PermissionDenied, "{} is a pre-defined network and cannot be removed", n->info.name);
  for (auto& [k, e] : eps_)
    if (k.second == n->info.id)
      return errorf(Code::PermissionDenied, "error while removing network: network {} id {} has active endpoints",
                    n->info.name, n->info.id);
  TRY(db_.run("DELETE FROM networks WHERE id = ?", n->info.id));
  Net gone = std::move(*n);
  nets_.erase(gone.info.id);
  if (auto r = applyRules(); !r) log::warn("nftables: {}", r.error().message);
  if (auto r = deleteBridge(gone); !r) log::warn("network {}: {}", gone.info.name, r.error().message);
  if (hasDns(gone))
    if (auto r = stopResolver(dnsDir(), gone.info.id); !r) log::warn("network {}: {}", gone.info.name, r.error().message);
  emitNet(gone, "destroy");
  return {};
}

Result<std::vector<std::string>> ServiceImpl::prune(const Filters& filters) {
  std::lock_guard lk(mu_);
  for (auto& [k, v] : filters)
    if (k != "until" && k != "label" && k != "label!") return errorf(Code::InvalidArgument, "invalid filter '{}'", k);
  std::optional<int64_t> until;
  if (auto it = filters.find("until"); it != filters.end() && !it->second.empty()) {
    TRY_ASSIGN(int64_t u, parseUntil(it->second[0], nowNanos()));
    until = u;
  }
  auto labelMatch = [](const NetworkInfo& i, const std::string& v) {
    auto eq = v.find('=');
    auto l = i.labels.find(v.substr(0, eq));
    return l != i.labels.end() && (eq == std::string::npos || l->second == v.substr(eq + 1));
  };
  std::vector<std::string> victims;
  for (auto& [id, n] : nets_) {
    if (n.predefined()) continue;
    if (until && n.info.created >= *until) continue;
    bool ok = true;
    if (auto it = filters.find("label"); it != filters.end())
      for (auto& v : it->second) ok = ok && labelMatch(n.info, v);
    if (auto it = filters.find("label!"); it != filters.end())
      for (auto& v : it->second) ok = ok && !labelMatch(n.info, v);
    if (!ok) continue;
    bool used = std::any_of(eps_.begin(), eps_.end(), [&](auto& kv) { return kv.first.second == id; });
    if (!used) victims.push_back(id);
  }
  std::vector<std::string> names;
  for (auto& id : victims) {
    std::string name = nets_[id].info.name;
    if (auto r = removeLocked(id); r) names.push_back(name);
    else log::warn("prune network {}: {}", name, r.error().message);
  }
  return names;
}

// ---- sandboxes ----

Result<std::string> ServiceImpl::createSandbox(const std::string& containerId) {
  std::lock_guard lk(mu_);
  if (containerId.empty() || containerId.find('/') != std::string::npos || containerId[0] == '.')
    return errorf(Code::InvalidArgument, "invalid container id {:?}", containerId);
  TRY(prepareNetnsDir());
  std::string path = netnsPath(containerId);
  if (isNsfs(path)) return path;
  ::umount2(path.c_str(), MNT_DETACH);
  ::unlink(path.c_str());
  {
    UniqueFd f(::open(path.c_str(), O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC, 0444));
    if (!f) return sysError(errno, "create {}", path);
  }
  Result<> r = makeError(Code::Internal, "sandbox thread did not run");
  std::thread t([&] {
    // This thread alone enters the new namespace and ends with it bound.
    if (::unshare(CLONE_NEWNET) != 0) {
      r = sysError(errno, "unshare(CLONE_NEWNET)");
      return;
    }
    if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      r = sysError(errno, "bind mount the network namespace on {}", path);
      return;
    }
    auto nl = Rtnl::open();
    if (!nl) {
      r = std::unexpected(nl.error());
      return;
    }
    r = nl->setUp(1);  // lo is ifindex 1 in every new namespace
    if (!r) r = std::unexpected(r.error().wrap("bring lo up"));
  });
  t.join();
  if (!r) {
    ::umount2(path.c_str(), MNT_DETACH);
    ::unlink(path.c_str());
    return std::unexpected(r.error().wrap("create network sandbox"));
  }
  return path;
}

Result<> ServiceImpl::removeSandbox(const std::string& containerId) {
  std::lock_guard lk(mu_);
  std::vector<std::string> nets;
  for (auto& [k, e] : eps_)
    if (k.first == containerId) nets.push_back(k.second);
  for (auto& id : nets)
    if (auto it = nets_.find(id); it != nets_.end())
      if (auto r = detachLocked(it->second, containerId, false); !r) log::warn("detach: {}", r.error().message);
  std::string path = netnsPath(containerId);
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return sysError(errno, "unmount {}", path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sysError(errno, "remove {}", path);
  return {};
}

Result<Endpoint> ServiceImpl::attach(const std::string& networkRef, const EndpointRequest& req) {
  std::lock_guard lk(mu_);
  TRY_ASSIGN(Net * np, find(networkRef));
  Net& n = *np;
  if (eps_.contains({req.containerId, n.info.id}))
    return errorf(Code::PermissionDenied, "endpoint with name {} already exists in network {}", req.containerName,
                  n.info.name);
  Endpoint e;
  e.networkId = n.info.id;
  e.networkName = n.info.name;
  e.endpointId = randomHexId();
  e.containerId = req.containerId;
  e.containerName = req.containerName;
  e.aliases = req.aliases;
  e.links = req.links;
  e.dns = req.dns;
  if (n.isBridge() && n.info.name != "bridge") {
    e.dnsNames.push_back(req.containerName);
    for (auto& a : req.aliases)
      if (std::find(e.dnsNames.begin(), e.dnsNames.end(), a) == e.dnsNames.end()) e.dnsNames.push_back(a);
    e.dnsNames.push_back(shortId(req.containerId));
  }
  if (!n.isBridge()) {
    // host and none: the container uses the host's stack or its own loopback; nothing to plumb.
    TRY(db_.run("INSERT INTO endpoints(network_id, container_id, doc) VALUES(?, ?, ?)", e.networkId, e.containerId,
                endpointToJson(e).dump()));
    eps_[{e.containerId, e.networkId}] = e;
    emitNet(n, "connect", e.containerId);
    return e;
  }

  std::string path = netnsPath(req.containerId);
  UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns || !isNsfs(path))
    return errorf(Code::FailedPrecondition, "network sandbox of container {} does not exist", req.containerId);

  // Addresses.
  std::vector<std::pair<SubnetAllocator*, IpAddr>> leases;
  ScopeExit undoLeases([&] {
    for (auto& [a, ip] : leases) a->release(ip);
  });
  auto pick = [&](Family fam, const std::string& requested) -> Result<SubnetAllocator*> {
    SubnetAllocator* alloc = nullptr;
    std::optional<IpAddr> want;
    if (!requested.empty()) {
      TRY_ASSIGN(IpAddr ip, parseIp(requested));
      want = ip;
    }
    for (auto& a : n.allocs) {
      if (a.subnet().family() != fam) continue;
      if (want && !a.subnet().contains(*want)) continue;
      alloc = &a;
      break;
    }
    if (!alloc) {
      if (want) return makeError(Code::InvalidArgument, "requested address is out of range");
      return nullptr;
    }
    TRY_ASSIGN(IpAddr ip, want ? alloc->request(*want) : alloc->allocate());
    leases.push_back({alloc, ip});
    if (fam == Family::V4) {
      e.ipv4 = ip.str();
      e.ipv4PrefixLen = alloc->subnet().len;
      e.gateway = alloc->gateway().str();
    } else {
      e.ipv6 = ip.str();
      e.ipv6PrefixLen = alloc->subnet().len;
      e.gateway6 = alloc->gateway().str();
    }
    return alloc;
  };
  TRY(pick(Family::V4, req.ipv4));
  if (n.info.enableIPv6) TRY(pick(Family::V6, req.ipv6));
  else if (!req.ipv6.empty())
    return errorf(Code::InvalidArgument, "invalid IPv6 address {}: network {} does not have IPv6 enabled", req.ipv6,
                  n.info.name);

  Mac mac{};
  if (!req.mac.empty()) {
    TRY_ASSIGN(mac, parseMac(req.mac));
  } else if (!e.ipv4.empty()) {
    mac = macFromIpv4(*parseIp(e.ipv4));
  } else {
    mac = randomLocalMac(random64());
  }
  e.mac = formatMac(mac);

  // The interface name: the lowest eth<N> the container does not use yet.
  std::set<std::string> used;
  for (auto& [k, x] : eps_)
    if (k.first == req.containerId) used.insert(x.ifName);
  for (int i = 0;; i++)
    if (!used.contains("eth" + std::to_string(i))) {
      e.ifName = "eth" + std::to_string(i);
      break;
    }
  e.hostVeth = (cfg_.vethPrefix + randomHexId()).substr(0, std::min<std::size_t>(15, cfg_.vethPrefix.size() + 7));

  // The veth: peer born inside the sandbox, host end on the bridge.
  TRY(inHost([&]() -> Result<> {
    TRY_ASSIGN(LinkInfo br, host_.link(n.info.bridge));
    VethSpec v;
    v.hostName = e.hostVeth;
    v.mtu = static_cast<std::uint32_t>(n.mtu);
    v.masterIndex = br.index;
    v.peerName = e.ifName;
    v.peerMac = mac;
    v.peerNetnsFd = ns.get();
    TRY_ASSIGN(int hostIndex, host_.createVeth(v));
    // Hairpin, as dockerd without its userland proxy: a container reaching
    // its own published port (host address -> DNAT back to it) is bridged
    // back out of its own port when br_netfilter is loaded.
    if (cfg_.iptables) TRY(host_.setHairpin(hostIndex));
    return {};
  }));
  ScopeExit undoVeth([&] { (void)inHost([&] { return host_.deleteLink(e.hostVeth); }); });
  {
    TRY_ASSIGN(Rtnl in, Rtnl::openIn(ns.get()));
    TRY_ASSIGN(LinkInfo li, in.link(e.ifName));
    if (!e.ipv4.empty()) TRY(in.addAddress(li.index, Prefix{*parseIp(e.ipv4), e.ipv4PrefixLen}));
    if (!e.ipv6.empty()) TRY(in.addAddress(li.index, Prefix{*parseIp(e.ipv6), e.ipv6PrefixLen}));
    TRY(in.setUp(li.index));
    if (req.gatewayOwner && !n.info.internal) {
      if (!e.gateway.empty()) TRY(in.addDefaultRoute(*parseIp(e.gateway), li.index));
      if (!e.gateway6.empty()) TRY(in.addDefaultRoute(*parseIp(e.gateway6), li.index));
    }
  }

  // Published ports (host ports held in the host namespace, where they are probed).
  bool portsTaken = false;
  ScopeExit undoPorts([&] {
    if (portsTaken) ports_.release(req.containerId);
  });
  if (!req.ports.empty()) {
    std::vector<PortRequest> preqs = req.ports;
    if (auto it = n.info.options.find(kOptHostBinding); it != n.info.options.end() && it->second != "0.0.0.0")
      for (auto& p : preqs)
        if (p.hostIp.empty()) p.hostIp = it->second;
    TRY_ASSIGN(e.ports, inHost([&] { return ports_.allocate(req.containerId, preqs); }));
    portsTaken = true;
  }

  TRY(db_.run("INSERT INTO endpoints(network_id, container_id, doc) VALUES(?, ?, ?)", e.networkId, e.containerId,
              endpointToJson(e).dump()));
  eps_[{e.containerId, e.networkId}] = e;
  auto forget = [&] {
    eps_.erase({e.containerId, e.networkId});
    (void)db_.run("DELETE FROM endpoints WHERE network_id = ? AND container_id = ?", e.networkId, e.containerId);
  };
  if (!e.ports.empty()) {
    if (auto r = applyRules(); !r) {
      forget();
      (void)applyRules();
      return std::unexpected(r.error());
    }
  }
  if (auto r = updateDns(n, true); !r) {
    // Names do not resolve without it: the join fails as a whole.
    forget();
    if (!e.ports.empty()) (void)applyRules();
    (void)updateDns(n, false);
    return std::unexpected(r.error().wrap("DNS for network " + n.info.name));
  }
  if (hasDns(n)) updateDnsOfNeighbours(n);
  undoVeth.dismiss();
  undoPorts.dismiss();
  leases.clear();
  emitNet(n, "connect", e.containerId);
  return e;
}

Result<> ServiceImpl::detachLocked(Net& n, const std::string& containerId, bool deleteVeth) {
  auto it = eps_.find({containerId, n.info.id});
  if (it == eps_.end())
    return errorf(Code::NotFound, "container {} is not connected to network {}", containerId, n.info.name);
  Endpoint e = it->second;
  TRY(db_.run("DELETE FROM endpoints WHERE network_id = ? AND container_id = ?", n.info.id, containerId));
  eps_.erase(it);
  for (auto& a : n.allocs)
    for (const std::string& s : {e.ipv4, e.ipv6})
      if (auto ip = parseIp(s); ip && a.subnet().contains(*ip)) a.release(*ip);
  if (!e.ports.empty()) {
    ports_.release(containerId);
    if (auto r = applyRules(); !r) log::warn("nftables: {}", r.error().message);
  }
  if (auto r = updateDns(n, false); !r) log::warn("DNS for network {}: {}", n.info.name, r.error().message);
  if (hasDns(n)) {
    // n's records changed (its neighbours' extra records), and the
    // container's remaining networks no longer give it n's names.
    updateDnsOfNeighbours(n);
    for (auto& [k, other] : eps_)
      if (k.first == containerId)
        if (auto m = nets_.find(k.second); m != nets_.end())
          if (auto r = updateDns(m->second, false); !r)
            log::warn("DNS for network {}: {}", m->second.info.name, r.error().message);
  }
  if (deleteVeth && !e.hostVeth.empty() && isNsfs(netnsPath(containerId))) {
    auto r = inHost([&] { return host_.deleteLink(e.hostVeth); });
    if (!r && r.error().code != Code::NotFound) log::warn("delete {}: {}", e.hostVeth, r.error().message);
  }
  emitNet(n, "disconnect", containerId);
  return {};
}

Result<SandboxFiles> ServiceImpl::sandboxFiles(const std::string& containerId, const std::string& hostname,
                                               const std::string& domainname,
                                               const std::vector<std::string>& extraHosts,
                                               const std::vector<std::string>& dns,
                                               const std::vector<std::string>& dnsSearch,
                                               const std::vector<std::string>& dnsOptions) {
  std::lock_guard lk(mu_);
  std::vector<Endpoint> mine;
  for (auto& [k, e] : eps_)
    if (k.first == containerId) mine.push_back(e);
  std::sort(mine.begin(), mine.end(), [](auto& a, auto& b) { return a.ifName < b.ifName; });

  std::string defaultGateway;
  for (auto& [id, n] : nets_)
    if (n.info.name == "bridge" && !n.allocs.empty()) defaultGateway = n.allocs[0].gateway().str();

  HostsInput h;
  h.hostname = hostname;
  h.domainname = domainname;
  // One line per address of every endpoint, in join (ethN) order: dockerd
  // adds the container's address on each network it joins.
  for (auto& e : mine) {
    if (!e.ipv4.empty()) h.selfAddresses.push_back(e.ipv4);
    if (!e.ipv6.empty()) h.selfAddresses.push_back(e.ipv6);
  }
  for (auto& x : extraHosts) {
    std::string v = x;
    auto sep = v.find('=');
    if (sep == std::string::npos) sep = v.find(':');
    if (sep != std::string::npos && v.substr(sep + 1) == "host-gateway") {
      if (defaultGateway.empty())
        return makeError(Code::InvalidArgument, "unable to derive the IP value for host-gateway");
      v = v.substr(0, sep + 1) + defaultGateway;
    }
    h.extraHosts.push_back(v);
  }
  // Legacy links: "name:alias" resolved on the networks this container shares with the target.
  for (auto& e : mine)
    for (auto& l : e.links) {
      auto colon = l.find(':');
      std::string name = l.substr(0, colon), alias = colon == std::string::npos ? name : l.substr(colon + 1);
      if (!name.empty() && name[0] == '/') name = name.substr(1);
      for (auto& [k, other] : eps_)
        if (k.second == e.networkId && (other.containerName == name || other.containerId == name) &&
            !other.ipv4.empty()) {
          std::string names = alias == name ? name : alias + " " + name;
          h.linkLines.push_back(other.ipv4 + "\t" + names + " " + shortId(other.containerId));
        }
    }

  ResolvInput r;
  if (auto text = readFile(cfg_.resolvConf)) r.hostResolvConf = *text;
  r.dns = dns.empty() ? cfg_.dns : dns;
  r.dnsSearch = dnsSearch.empty() ? cfg_.dnsSearch : dnsSearch;
  r.dnsOptions = dnsOptions.empty() ? cfg_.dnsOptions : dnsOptions;
  for (auto& e : mine) {
    auto it = nets_.find(e.networkId);
    if (it == nets_.end() || !it->second.isBridge() || it->second.info.name == "bridge") continue;
    r.internalNameservers.push_back(!e.gateway.empty() ? e.gateway : e.gateway6);
  }
  for (auto& e : mine) r.ipv6 |= !e.ipv6.empty();
  return SandboxFiles{buildHosts(h), buildResolvConf(r)};
}

Result<> ServiceImpl::restore(const std::vector<std::string>& runningContainerIds) {
  std::lock_guard lk(mu_);
  std::set<std::string> running(runningContainerIds.begin(), runningContainerIds.end());
  // Endpoints of containers no longer running (or whose namespace is gone).
  std::vector<std::pair<std::string, std::string>> stale;
  for (auto& [k, e] : eps_)
    if (!running.contains(k.first) || (!e.hostVeth.empty() && !isNsfs(netnsPath(k.first)))) stale.push_back(k);
  for (auto& [cid, nid] : stale)
    if (auto it = nets_.find(nid); it != nets_.end())
      if (auto r = detachLocked(it->second, cid, false); !r) log::warn("restore: {}", r.error().message);
  // Orphan namespace files.
  if (DIR* d = ::opendir(netnsDir().c_str())) {
    std::vector<std::string> orphans;
    while (dirent* ent = ::readdir(d)) {
      std::string name = ent->d_name;
      if (name == "." || name == "..") continue;
      if (!running.contains(name)) orphans.push_back(name);
    }
    ::closedir(d);
    for (auto& name : orphans) {
      std::string path = netnsPath(name);
      ::umount2(path.c_str(), MNT_DETACH);
      ::unlink(path.c_str());
    }
  }
  // Host veths with berth's prefix on one of this daemon's bridges that no
  // endpoint owns (a crash between the veth and its row). Both conditions, so
  // another engine's or another berthd's veths are never touched.
  std::set<std::string> owned;
  for (auto& [k, e] : eps_)
    if (!e.hostVeth.empty()) owned.insert(e.hostVeth);
  std::set<int> bridges;
  for (auto& [id, n] : nets_)
    if (n.isBridge() && !n.info.bridge.empty())
      if (auto l = inHost([&] { return host_.link(n.info.bridge); })) bridges.insert(l->index);
  auto links = inHost([&]() -> Result<std::vector<LinkInfo>> { return host_.links(cfg_.vethPrefix); });
  if (links)
    for (auto& l : *links)
      if (l.kind == "veth" && bridges.contains(l.master) && !owned.contains(l.name))
        (void)inHost([&] { return host_.deleteLink(l.name); });
  // Resolvers of the networks that have endpoints (berth-dns outlives berthd; this restarts a dead one).
  std::set<std::string> joined;
  for (auto& [k, e] : eps_) joined.insert(k.second);
  for (auto& [id, n] : nets_)
    if (joined.contains(id))
      if (auto r = updateDns(n, true); !r) log::warn("DNS for network {}: {}", n.info.name, r.error().message);
  return applyRules();
}

}  // namespace

Result<std::unique_ptr<Service>> makeService(const Config& cfg, store::Database& db, EmitFn emit) {
  auto host = cfg.hostNetnsFd < 0 ? Rtnl::open() : Rtnl::openIn(cfg.hostNetnsFd);
  if (!host) return std::unexpected(host.error().wrap("open rtnetlink"));
  auto svc = std::make_unique<ServiceImpl>(cfg, db, std::move(emit), std::move(*host));
  TRY(svc->init());
  return std::unique_ptr<Service>(std::move(svc));
}

}  // namespace berth::network
