#include "container/networking.h"

#include <algorithm>
#include <cctype>

#include <chrono>

#include "common/log.h"
#include "common/util.h"

namespace berth::container {

using json = nlohmann::json;

bool isContainerMode(const std::string& mode) { return mode.starts_with("container:"); }

bool usesSandbox(const std::string& mode) {
  return !mode.empty() && mode != "none" && mode != "host" && !isContainerMode(mode);
}

Result<> checkNetnsJoin(const std::string& networkMode, const std::string& netnsPath) {
  if (netnsPath.empty()) return {};
  if (netnsPath[0] != '/')
    return errorf(Code::InvalidArgument, "network namespace path {:?} is not absolute", netnsPath);
  if (networkMode != "none")
    return errorf(Code::InvalidArgument, "joining the network namespace {} needs NetworkMode none, not {:?}",
                  netnsPath, networkMode);
  return {};
}

namespace {

bool nonEmpty(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return false;
  const json& v = j[key];
  if (v.is_string()) return !v.get<std::string>().empty();
  if (v.is_array() || v.is_object()) return !v.empty();
  if (v.is_boolean()) return v.get<bool>();
  return false;
}

std::string str(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
  return j[key].get<std::string>();
}

std::vector<std::string> strs(const json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.is_object() || !j.contains(key) || !j[key].is_array()) return out;
  for (auto& v : j[key])
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

}  // namespace

std::optional<std::pair<std::string, std::string>> parseLink(const std::string& link) {
  // "name:alias", "name" (alias = name), or the stored "/name:/container/alias".
  auto colon = link.find(':');
  std::string name = link.substr(0, colon);
  std::string alias = colon == std::string::npos ? name : link.substr(colon + 1);
  if (!name.empty() && name[0] == '/') name = name.substr(1);
  if (auto slash = alias.rfind('/'); slash != std::string::npos) alias = alias.substr(slash + 1);
  if (name.empty() || alias.empty()) return std::nullopt;
  return std::pair{name, alias};
}

Result<json> planNetworks(const json& config, bool userHostname, json& hc, const json& networkingConfig,
                          network::Service* net, const LinkLookup& links, std::vector<std::string>& warnings) {
  std::string mode = hc.value("NetworkMode", "");
  if (mode.empty() || mode == "default") mode = "bridge";
  hc["NetworkMode"] = mode;
  json epc = json::object();
  if (networkingConfig.is_object() && networkingConfig.contains("EndpointsConfig") &&
      networkingConfig["EndpointsConfig"].is_object())
    for (auto& [k, v] : networkingConfig["EndpointsConfig"].items())
      epc[k == "default" ? "bridge" : k] = v.is_object() ? v : json::object();

  // runconfig's validateNetContainerMode (400).
  bool containerMode = isContainerMode(mode);
  if (containerMode && mode.size() == 10)
    return makeError(Code::InvalidArgument, "Invalid network mode: invalid container format container:<name|id>");
  std::string configMac = str(config, "MacAddress");
  if ((containerMode || mode == "host") && !configMac.empty())
    return makeError(Code::InvalidArgument, "conflicting options: mac-address and the network mode");
  if (containerMode) {
    if (userHostname) return makeError(Code::InvalidArgument, "conflicting options: hostname and the network mode");
    if (nonEmpty(hc, "Links"))
      return makeError(Code::InvalidArgument,
                       "conflicting options: container type network can't be used with links. This would result in "
                       "undefined behavior");
    if (nonEmpty(hc, "Dns")) return makeError(Code::InvalidArgument, "conflicting options: dns and the network mode");
    if (nonEmpty(hc, "ExtraHosts"))
      return makeError(Code::InvalidArgument, "conflicting options: custom host-to-IP mapping and the network mode");
    if (nonEmpty(hc, "PortBindings") || nonEmpty(hc, "PublishAllPorts"))
      return makeError(Code::InvalidArgument,
                       "conflicting options: port publishing and the container type network mode");
    if (nonEmpty(config, "ExposedPorts"))
      return makeError(Code::InvalidArgument, "conflicting options: port exposing and the container type network mode");
    for (auto& [k, v] : epc.items())
      if (!str(v, "MacAddress").empty())
        return makeError(Code::InvalidArgument, "conflicting options: mac-address and the network mode");
  }
  if (mode == "host" && (nonEmpty(hc, "PortBindings") || nonEmpty(hc, "PublishAllPorts")))
    warnings.push_back("Published ports are discarded when using host network mode");

  json intent = json::object();
  if (!usesSandbox(mode)) {
    // host, none, container:X: no endpoints of their own. dockerd keeps an
    // entry for host and none (NetworkSettings.Networks.host/none).
    if (!containerMode) {
      json ep = epc.contains(mode) ? epc[mode] : json::object();
      if (net)
        if (auto info = net->resolve(mode)) ep["NetworkID"] = info->id;
      intent[mode] = ep;
    }
    return intent;
  }
  if (!net) {
    if (mode != "bridge") return errorf(Code::NotFound, "network {} not found", mode);
    intent["bridge"] = epc.contains("bridge") ? epc["bridge"] : json::object();
    return intent;
  }

  // The NetworkMode network, then every EndpointsConfig entry.
  std::vector<std::string> refs{mode};
  for (auto& [k, v] : epc.items())
    if (k != mode) refs.push_back(k);
  std::vector<std::string> errs;
  for (auto& ref : refs) {
    json ep = epc.contains(ref) ? epc[ref] : json::object();
    if (!ep.is_object()) ep = json::object();
    auto found = net->resolve(ref);
    if (!found) {
      // As dockerd: an unknown network fails the start ("network X not
      // found", 404), not the create (the docker CLI would take a 404 at
      // create for a missing image and pull).
      if (found.error().code != Code::NotFound) return std::unexpected(found.error());
      if (ref == mode && str(ep, "MacAddress").empty() && !configMac.empty()) ep["MacAddress"] = configMac;
      if (!intent.contains(ref)) intent[ref] = ep;
      continue;
    }
    auto info = std::move(*found);
    if (info.name == "host" || info.name == "none") {
      if (refs.size() > 1)
        return errorf(Code::InvalidArgument, "conflicting options: {} network and other networks", info.name);
    }
    // Only the first (the NetworkMode) network takes Config.MacAddress.
    if (ref == mode && str(ep, "MacAddress").empty() && !configMac.empty()) ep["MacAddress"] = configMac;
    bool predefined = info.name == "bridge";
    if (predefined) {
      const json ipam = ep.value("IPAMConfig", json::object());
      if (!str(ipam, "IPv4Address").empty() || !str(ipam, "IPv6Address").empty())
        errs.push_back("user specified IP address is supported on user defined networks only");
      if (nonEmpty(ep, "Aliases"))
        errs.push_back("network-scoped alias is supported only for containers in user defined networks");
    }
    ep["NetworkID"] = info.id;
    if (intent.contains(info.name)) continue;  // the same network named twice (name and id)
    intent[info.name] = ep;
  }
  if (!errs.empty()) {
    std::string msg = "invalid endpoint settings:";
    for (auto& e : errs) msg += "\n" + e;
    return makeError(Code::InvalidArgument, msg);
  }
  // Legacy links: the linked containers must exist (dockerd's registerLinks,
  // 400). On a user network they are aliases in the endpoint (the CLI puts them there).
  for (auto& l : strs(hc, "Links")) {
    auto pl = parseLink(l);
    if (!pl) return errorf(Code::InvalidArgument, "invalid link: {}", l);
    if (!links || !links(pl->first))
      return errorf(Code::InvalidArgument, "could not get container for {}: No such container: {}", pl->first,
                    pl->first);
  }
  // The network name NetworkMode carried may have been an id or a prefix:
  // dockerd stores the name it was given; keep that.
  return intent;
}

std::vector<std::string> attachOrder(const std::string& networkMode, const json& intent) {
  std::vector<std::string> out;
  if (!intent.is_object()) return out;
  std::string first;
  for (auto& [k, v] : intent.items())
    if (k == networkMode || (v.is_object() && v.value("NetworkID", "") == networkMode) ||
        (networkMode.size() >= 3 && v.is_object() && v.value("NetworkID", "").starts_with(networkMode)))
      first = k;
  if (first.empty() && !intent.empty()) first = intent.begin().key();
  if (!first.empty()) out.push_back(first);
  for (auto& [k, v] : intent.items())  // nlohmann's object is sorted by key
    if (k != first) out.push_back(k);
  return out;
}

network::EndpointRequest endpointRequest(const Container& c, const json& settings, bool first) {
  network::EndpointRequest req;
  req.containerId = c.id;
  req.containerName = c.name;
  req.hostname = c.config.value("Hostname", c.shortId());
  req.aliases = strs(settings, "Aliases");
  req.links = strs(settings, "Links");
  const json ipam = settings.is_object() ? settings.value("IPAMConfig", json::object()) : json::object();
  req.ipv4 = str(ipam, "IPv4Address");
  req.ipv6 = str(ipam, "IPv6Address");
  req.mac = str(settings, "MacAddress");
  req.gatewayOwner = first;
  req.dns = strs(c.hostConfig, "Dns");
  return req;
}

namespace {

// dockerd with --bridge=none: a container on "bridge" runs with networking
// disabled (connectToNetwork skips it), i.e. a namespace with only lo.
bool isDisabledDefaultBridge(network::Service& net, const std::string& name) {
  if (name != "bridge") return false;
  auto r = net.resolve("bridge");
  return !r && r.error().code == Code::NotFound;
}

}  // namespace

bool needsSandbox(network::Service& net, const Container& c) {
  if (!c.networks.is_object() || c.networks.empty()) return false;
  for (auto& [name, v] : c.networks.items())
    if (!isDisabledDefaultBridge(net, name)) return true;
  return false;
}

Result<AttachedNetworks> attachNetworks(network::Service& net, const Container& c,
                                        const std::vector<std::string>& linkPairs) {
  AttachedNetworks out;
  const std::string mode = c.hostConfig.value("NetworkMode", "bridge");
  auto failed = [&](const Error& e) {
    if (auto r = net.removeSandbox(c.id); !r) (void)r;  // best effort: the error that matters is e
    return std::unexpected(Error{e.code, e.err, "failed to set up container networking: " + e.message});
  };
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  auto ms = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  };
  auto sb = net.createSandbox(c.id);
  auto t1 = Clock::now();
  if (!sb) return failed(sb.error());
  out.sandboxKey = *sb;
  bool portsPlaced = false;
  bool first = true;
  for (auto& name : attachOrder(mode, c.networks)) {
    const json& settings = c.networks[name];
    if (isDisabledDefaultBridge(net, name)) continue;
    std::string ref = settings.value("NetworkID", "");
    if (ref.empty()) ref = name;
    auto info = net.resolve(ref);
    if (!info) return failed(info.error());
    auto req = endpointRequest(c, settings, first);
    if (info->name == "bridge")
      for (auto& l : linkPairs) req.links.push_back(l);
    if (!portsPlaced && info->driver == "bridge") {
      portsPlaced = true;
      auto ports = network::portRequests(c.hostConfig.value("PortBindings", json(nullptr)),
                                         c.hostConfig.value("PublishAllPorts", false),
                                         c.config.value("ExposedPorts", json(nullptr)));
      if (!ports) return failed(ports.error());
      req.ports = std::move(*ports);
    }
    auto ep = net.attach(info->id, req);
    if (!ep) return failed(ep.error());
    out.endpoints.push_back(std::move(*ep));
    first = false;
  }
  auto files = net.sandboxFiles(c.id, c.config.value("Hostname", c.shortId()), c.config.value("Domainname", ""),
                                strs(c.hostConfig, "ExtraHosts"), strs(c.hostConfig, "Dns"),
                                strs(c.hostConfig, "DnsSearch"), strs(c.hostConfig, "DnsOptions"));
  if (!files) return failed(files.error());
  out.files = std::move(*files);
  auto t3 = Clock::now();
  log::debug("container {}: network setup {:.2f} ms (sandbox {:.2f}, {} attach + files {:.2f})", c.shortId(),
             ms(t0, t3), ms(t0, t1), out.endpoints.size(), ms(t1, t3));
  return out;
}

std::vector<std::string> linkEnv(const std::string& alias, const std::string& childName,
                                 const std::string& parentName, const std::string& childIp,
                                 const json& exposedPorts, const json& childEnv) {
  (void)childName;
  std::string up;
  for (char ch : alias) up += ch == '-' ? '_' : char(std::toupper((unsigned char)ch));
  struct P {
    int port;
    std::string proto;
  };
  std::vector<P> ports;
  if (exposedPorts.is_object())
    for (auto& [k, v] : exposedPorts.items()) {
      auto slash = k.find('/');
      std::string num = k.substr(0, slash);
      std::string proto = slash == std::string::npos ? "tcp" : k.substr(slash + 1);
      int n = 0;
      for (char ch : num) {
        if (!std::isdigit((unsigned char)ch)) {
          n = -1;
          break;
        }
        n = n * 10 + (ch - '0');
      }
      if (n > 0) ports.push_back({n, proto});
    }
  // moby's order: by number, tcp first for the same number.
  std::sort(ports.begin(), ports.end(), [](const P& a, const P& b) {
    if (a.port != b.port) return a.port < b.port;
    return a.proto == "tcp" && b.proto != "tcp";
  });
  std::vector<std::string> env;
  std::string ip = childIp.find(':') != std::string::npos ? "[" + childIp + "]" : childIp;
  if (!ports.empty())
    env.push_back(fmt::format("{}_PORT={}://{}:{}", up, ports[0].proto, ip, ports[0].port));
  for (auto& p : ports) {
    std::string pre = fmt::format("{}_PORT_{}_", up, p.port);
    std::string P;
    for (char ch : p.proto) P += char(std::toupper((unsigned char)ch));
    env.push_back(fmt::format("{}{}={}://{}:{}", pre, P, p.proto, ip, p.port));
    env.push_back(fmt::format("{}{}_ADDR={}", pre, P, childIp));
    env.push_back(fmt::format("{}{}_PORT={}", pre, P, p.port));
    env.push_back(fmt::format("{}{}_PROTO={}", pre, P, p.proto));
  }
  env.push_back(fmt::format("{}_NAME=/{}/{}", up, parentName, alias));
  if (childEnv.is_array())
    for (auto& v : childEnv) {
      if (!v.is_string()) continue;
      std::string s = v.get<std::string>();
      auto eq = s.find('=');
      if (eq == std::string::npos) continue;
      std::string k = s.substr(0, eq);
      if (k == "HOME" || k == "PATH") continue;
      env.push_back(fmt::format("{}_ENV_{}={}", up, k, s.substr(eq + 1)));
    }
  return env;
}

}  // namespace berth::container
