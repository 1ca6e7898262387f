#include "api/networks_router.h"

#include "api/go_json.h"
#include "common/util.h"

namespace berth::api {

namespace {

using Kind = GoType::Kind;

// moby v28 api/types/network: CreateRequest, ConnectOptions, DisconnectOptions, EndpointSettings.
class NetworkSchemas {
 public:
  const GoType* create;
  const GoType* connect;
  const GoType* disconnect;
  const GoType* endpoint;

  NetworkSchemas() {
    const GoType* str = a_.scalar(Kind::String, "string");
    const GoType* boolean = a_.scalar(Kind::Bool, "bool");
    const GoType* i64 = a_.scalar(Kind::Int, "int", 64);
    const GoType* strMap = a_.map(str, "map[string]string");
    const GoType* strSlice = a_.slice(str, "[]string");

    GoType* ipamConfig = a_.strukt("network.IPAMConfig", "IPAMConfig");
    ipamConfig->fields = {{"Subnet", str}, {"IPRange", str}, {"Gateway", str}, {"AuxiliaryAddresses", strMap}};
    GoType* ipam = a_.strukt("network.IPAM", "IPAM");
    ipam->fields = {{"Driver", str}, {"Options", strMap}, {"Config", a_.slice(ipamConfig, "[]network.IPAMConfig")}};
    GoType* configRef = a_.strukt("network.ConfigReference", "ConfigReference");
    configRef->fields = {{"Network", str}};
    GoType* c = a_.strukt("network.CreateRequest", "CreateRequest");
    c->fields = {{"Name", str},           {"Driver", str},          {"Scope", str},
                 {"EnableIPv4", boolean, "", true}, {"EnableIPv6", boolean, "", true},
                 {"IPAM", ipam, "", true}, {"Internal", boolean},    {"Attachable", boolean},
                 {"Ingress", boolean},    {"ConfigOnly", boolean},  {"ConfigFrom", configRef, "", true},
                 {"Options", strMap},     {"Labels", strMap},       {"CheckDuplicate", boolean, "", true}};
    create = c;

    GoType* epIpam = a_.strukt("network.EndpointIPAMConfig", "EndpointIPAMConfig");
    epIpam->fields = {{"IPv4Address", str}, {"IPv6Address", str}, {"LinkLocalIPs", strSlice}};
    GoType* ep = a_.strukt("network.EndpointSettings", "EndpointSettings");
    ep->fields = {{"IPAMConfig", epIpam, "", true},
                  {"Links", strSlice},
                  {"Aliases", strSlice},
                  {"DriverOpts", strMap},
                  {"GwPriority", i64},
                  {"NetworkID", str},
                  {"EndpointID", str},
                  {"Gateway", str},
                  {"IPAddress", str},
                  {"IPPrefixLen", i64},
                  {"IPv6Gateway", str},
                  {"GlobalIPv6Address", str},
                  {"GlobalIPv6PrefixLen", i64},
                  {"MacAddress", str},
                  {"DNSNames", strSlice}};
    endpoint = ep;
    GoType* conn = a_.strukt("network.ConnectOptions", "ConnectOptions");
    conn->fields = {{"Container", str}, {"EndpointConfig", ep, "", true}};
    connect = conn;
    GoType* disc = a_.strukt("network.DisconnectOptions", "DisconnectOptions");
    disc->fields = {{"Container", str}, {"Force", boolean}};
    disconnect = disc;
  }

 private:
  GoTypeArena a_;
};

const NetworkSchemas& schemas() {
  static const NetworkSchemas s;
  return s;
}

// Go matches keys case-insensitively; the exact key first.
const json* field(const json& obj, const std::string& key) {
  if (!obj.is_object()) return nullptr;
  if (auto it = obj.find(key); it != obj.end()) return it->is_null() ? nullptr : &*it;
  std::string lk = toLower(key);
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (toLower(it.key()) == lk) return it->is_null() ? nullptr : &*it;
  return nullptr;
}
std::string str(const json& obj, const std::string& key) {
  auto* f = field(obj, key);
  return f && f->is_string() ? f->get<std::string>() : "";
}
bool boolean(const json& obj, const std::string& key) {
  auto* f = field(obj, key);
  return f && f->is_boolean() && f->get<bool>();
}
std::map<std::string, std::string> strMap(const json& obj, const std::string& key) {
  std::map<std::string, std::string> out;
  if (auto* f = field(obj, key); f && f->is_object())
    for (auto it = f->begin(); it != f->end(); ++it)
      if (it->is_string()) out[it.key()] = it->get<std::string>();
  return out;
}
std::vector<std::string> strList(const json& obj, const std::string& key) {
  std::vector<std::string> out;
  if (auto* f = field(obj, key); f && f->is_array())
    for (auto& v : *f)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

bool isPredefined(const std::string& name) { return name == "bridge" || name == "host" || name == "none"; }

}  // namespace

Result<network::CreateRequest> decodeNetworkCreateBody(json body) {
  TRY(decodeGoJson(body, *schemas().create));
  if (!body.is_object()) return makeError(Code::InvalidArgument, "invalid JSON: got EOF while reading request body");
  network::CreateRequest r;
  r.name = str(body, "Name");
  r.driver = str(body, "Driver");
  r.scope = str(body, "Scope");
  r.internal = boolean(body, "Internal");
  r.attachable = boolean(body, "Attachable");
  r.ingress = boolean(body, "Ingress");
  r.configOnly = boolean(body, "ConfigOnly");
  r.enableIPv6 = boolean(body, "EnableIPv6");
  if (auto* cf = field(body, "ConfigFrom")) r.configFrom = str(*cf, "Network");
  r.options = strMap(body, "Options");
  r.labels = strMap(body, "Labels");
  if (auto* ipam = field(body, "IPAM")) {
    r.ipamDriver = str(*ipam, "Driver");
    if (r.ipamDriver.empty()) r.ipamDriver = "default";
    r.ipamOptions = strMap(*ipam, "Options");
    if (auto* cfg = field(*ipam, "Config"); cfg && cfg->is_array())
      for (auto& c : *cfg) {
        network::IpamPool p;
        p.subnet = str(c, "Subnet");
        p.ipRange = str(c, "IPRange");
        p.gateway = str(c, "Gateway");
        p.auxAddresses = strMap(c, "AuxiliaryAddresses");
        r.ipamConfig.push_back(std::move(p));
      }
  }
  if (r.name.empty()) return makeError(Code::InvalidArgument, "invalid name: ");
  return r;
}

Result<EndpointConfig> decodeEndpointSettings(json s) {
  TRY(decodeGoJson(s, *schemas().endpoint));
  EndpointConfig c;
  if (!s.is_object()) return c;
  if (auto* ipam = field(s, "IPAMConfig")) {
    c.ipv4Address = str(*ipam, "IPv4Address");
    c.ipv6Address = str(*ipam, "IPv6Address");
    c.linkLocalIps = strList(*ipam, "LinkLocalIPs");
  }
  c.aliases = strList(s, "Aliases");
  c.links = strList(s, "Links");
  c.macAddress = str(s, "MacAddress");
  c.driverOpts = strMap(s, "DriverOpts");
  if (auto* g = field(s, "GwPriority"); g && g->is_number_integer()) c.gwPriority = g->get<int>();
  return c;
}

Result<ConnectBody> decodeNetworkConnectBody(json body) {
  TRY(decodeGoJson(body, *schemas().connect));
  ConnectBody b;
  if (!body.is_object()) return makeError(Code::InvalidArgument, "invalid JSON: got EOF while reading request body");
  b.container = str(body, "Container");
  if (auto* ep = field(body, "EndpointConfig")) {
    TRY_ASSIGN(b.config, decodeEndpointSettings(*ep));
  }
  return b;
}

Result<DisconnectBody> decodeNetworkDisconnectBody(json body) {
  TRY(decodeGoJson(body, *schemas().disconnect));
  DisconnectBody b;
  if (!body.is_object()) return makeError(Code::InvalidArgument, "invalid JSON: got EOF while reading request body");
  b.container = str(body, "Container");
  b.force = boolean(body, "Force");
  return b;
}

json networkJson(const network::NetworkDetails& d, bool withContainers) {
  const network::NetworkInfo& n = d.net;
  bool predefined = isPredefined(n.name);
  json config = nullptr;
  for (auto& p : n.ipamConfig) {
    json c = json::object();
    if (!p.subnet.empty()) c["Subnet"] = p.subnet;
    if (!p.ipRange.empty()) c["IPRange"] = p.ipRange;
    if (!p.gateway.empty()) c["Gateway"] = p.gateway;
    if (!p.auxAddresses.empty()) c["AuxiliaryAddresses"] = p.auxAddresses;
    if (config.is_null()) config = json::array();
    config.push_back(std::move(c));
  }
  json ipamOptions = predefined && n.ipamOptions.empty() ? json(nullptr) : json(n.ipamOptions);
  json containers = json::object();
  if (withContainers)
    for (auto& e : d.endpoints)
      containers[e.containerId] = {
          {"Name", e.containerName},
          {"EndpointID", e.endpointId},
          {"MacAddress", e.mac},
          {"IPv4Address", e.ipv4.empty() ? "" : e.ipv4 + "/" + std::to_string(e.ipv4PrefixLen)},
          {"IPv6Address", e.ipv6.empty() ? "" : e.ipv6 + "/" + std::to_string(e.ipv6PrefixLen)}};
  return {{"Name", n.name},
          {"Id", n.id},
          {"Created", formatRfc3339Nano(n.created)},
          {"Scope", n.scope},
          {"Driver", n.driver},
          {"EnableIPv4", true},
          {"EnableIPv6", n.enableIPv6},
          {"IPAM", {{"Driver", n.ipamDriver}, {"Options", ipamOptions}, {"Config", config}}},
          {"Internal", n.internal},
          {"Attachable", n.attachable},
          {"Ingress", n.ingress},
          {"ConfigFrom", {{"Network", ""}}},
          {"ConfigOnly", false},
          {"Containers", containers},
          {"Options", n.options},
          {"Labels", n.labels}};
}

void registerNetworkRoutes(Router& r, NetworksBackend& backend, ContainerNetworking* containers) {
  r.add("GET", "/networks/?", [&backend](Request& req, ResponseWriter& res) {
    auto f = parseFilters(req.q("filters"));
    if (!f) return res.error(f.error());
    auto l = backend.list(*f);
    if (!l) return res.error(l.error());
    json out = json::array();
    for (auto& d : *l) out.push_back(networkJson(d, false));
    res.json(200, out);
  });

  r.add("POST", "/networks/create", [&backend](Request& req, ResponseWriter& res) {
    auto body = req.decodeBody(decodeNetworkCreateBody);
    if (!body) return res.error(body.error());
    auto c = backend.create(*body);
    if (!c) return res.error(c.error());
    res.json(201, {{"Id", c->id}, {"Warning", c->warning}});
  });

  r.add("POST", "/networks/prune", [&backend](Request& req, ResponseWriter& res) {
    auto f = parseFilters(req.q("filters"));
    if (!f) return res.error(f.error());
    auto p = backend.prune(*f);
    if (!p) return res.error(p.error());
    res.json(200, {{"NetworksDeleted", p->empty() ? json(nullptr) : json(*p)}});
  });

  r.add("GET", "/networks/([^/]+)", [&backend](Request& req, ResponseWriter& res) {
    std::string scope = req.q("scope");
    auto d = backend.inspect(req.params[0]);
    if (!d) return res.error(d.error());
    if (!scope.empty() && scope != d->net.scope)
      return res.error(Error{Code::NotFound, 0, "network " + req.params[0] + " not found"});
    res.json(200, networkJson(*d, true));
  });

  r.add("DELETE", "/networks/([^/]+)", [&backend](Request& req, ResponseWriter& res) {
    auto rm = backend.remove(req.params[0]);
    if (!rm) return res.error(rm.error());
    res.empty(204);
  });

  r.add("POST", "/networks/([^/]+)/connect", [&backend, containers](Request& req, ResponseWriter& res) {
    auto body = req.decodeBody(decodeNetworkConnectBody);
    if (!body) return res.error(body.error());
    if (!containers)
      return res.json(501, {{"message", "network connect is not implemented yet in berthd"}});
    auto n = backend.inspect(req.params[0]);
    if (!n) return res.error(n.error());
    auto c = containers->connect(body->container, n->net.id, body->config);
    if (!c) return res.error(c.error());
    res.empty(200);
  });

  r.add("POST", "/networks/([^/]+)/disconnect", [&backend, containers](Request& req, ResponseWriter& res) {
    auto body = req.decodeBody(decodeNetworkDisconnectBody);
    if (!body) return res.error(body.error());
    if (!containers)
      return res.json(501, {{"message", "network disconnect is not implemented yet in berthd"}});
    auto n = backend.inspect(req.params[0]);
    if (!n) return res.error(n.error());
    auto c = containers->disconnect(body->container, n->net.id, body->force);
    if (!c) return res.error(c.error());
    res.empty(200);
  });
}

}  // namespace berth::api
