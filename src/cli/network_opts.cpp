#include "cli/network_opts.h"

#include <ctime>

#include "cli/format/template.h"
#include "cli/run_network.h"
#include "common/until.h"
#include "common/util.h"
#include "network/ipam.h"

namespace berth::cli {

namespace {

using ojson = nlohmann::ordered_json;

std::string goQuoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// opts.MapOpts: "k=v" (a bare "k" maps to ""), later values win; Go map
// keys come out sorted.
ojson mapOpts(const std::vector<std::string>& items) {
  std::map<std::string, std::string> m;
  for (const std::string& s : items) {
    auto eq = s.find('=');
    m[s.substr(0, eq)] = eq == std::string::npos ? "" : s.substr(eq + 1);
  }
  ojson o = ojson::object();
  for (auto& [k, v] : m) o[k] = v;
  return o;
}

// net.ParseCIDR(subnet).Contains(ip of data), data an address or a CIDR.
Result<bool> subnetMatches(const std::string& subnet, const std::string& data) {
  auto s = network::parsePrefix(subnet);
  if (!s) return errorf(Code::InvalidArgument, "invalid subnet: invalid CIDR address: {}", subnet);
  if (data.find('/') != std::string::npos) {
    auto d = network::parsePrefix(data);
    if (!d) return errorf(Code::InvalidArgument, "invalid CIDR address: {}", data);
    return s->contains(d->addr);
  }
  auto ip = network::parseIp(data);
  return ip && s->contains(*ip);
}

bool hasSpace(std::string_view s) { return s.find_first_of(" \t\n\v\f\r") != std::string_view::npos; }

}  // namespace

Result<std::vector<std::string>> stringSlice(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& v : values) {
    if (v.empty()) continue;
    TRY_ASSIGN(auto fields, splitCsv(v));
    out.insert(out.end(), fields.begin(), fields.end());
  }
  return out;
}

Result<ojson> networkCreateBody(const NetworkCreateFlags& f) {
  auto flagErr = [](const std::string& v, const char* flag, const std::string& msg) {
    return errorf(Code::InvalidArgument, "invalid argument {} for \"{}\" flag: {}", goQuoted(v), flag, msg);
  };
  // flag-time checks (opts.ValidateLabel)
  for (const std::string& l : f.labels) {
    std::string k = l.substr(0, l.find('='));
    std::size_t first = k.find_first_not_of(" \t\n\v\f\r");
    std::string trimmed = first == std::string::npos ? "" : k.substr(first);
    if (trimmed.empty()) return flagErr(l, "--label", fmt::format("invalid label '{}': empty name", l));
    if (hasSpace(trimmed)) return flagErr(l, "--label", fmt::format("label '{}' contains whitespaces", k));
  }
  TRY_ASSIGN(auto subnets, stringSlice(f.subnets));
  TRY_ASSIGN(auto ranges, stringSlice(f.ipRanges));
  TRY_ASSIGN(auto gateways, stringSlice(f.gateways));

  // createIPAMConfig
  if (subnets.size() < ranges.size() || subnets.size() < gateways.size())
    return errorf(Code::InvalidArgument, "every ip-range or gateway must have a corresponding subnet");
  struct Entry {
    std::string subnet, range, gateway;
    std::map<std::string, std::string> aux;
  };
  std::vector<Entry> data;
  for (const std::string& s : subnets) {
    for (const Entry& e : data) {
      TRY_ASSIGN(bool a, subnetMatches(s, e.subnet));
      TRY_ASSIGN(bool b, subnetMatches(e.subnet, s));
      if (a || b) return errorf(Code::InvalidArgument, "multiple overlapping subnet configuration is not supported");
    }
    data.push_back(Entry{s, "", "", {}});
  }
  for (const std::string& r : ranges) {
    bool match = false;
    for (Entry& e : data) {
      if (!network::parsePrefix(r)) return errorf(Code::InvalidArgument, "invalid CIDR address: {}", r);
      TRY_ASSIGN(bool ok, subnetMatches(e.subnet, r));
      if (!ok) continue;
      if (!e.range.empty())
        return errorf(Code::InvalidArgument, "cannot configure multiple ranges ({}, {}) on the same subnet ({})", r,
                      e.range, e.subnet);
      e.range = r;
      match = true;
    }
    if (!match) return errorf(Code::InvalidArgument, "no matching subnet for range {}", r);
  }
  for (const std::string& g : gateways) {
    bool match = false;
    for (Entry& e : data) {
      TRY_ASSIGN(bool ok, subnetMatches(e.subnet, g));
      if (!ok) continue;
      if (!e.gateway.empty())
        return errorf(Code::InvalidArgument, "cannot configure multiple gateways ({}, {}) for the same subnet ({})", g,
                      e.gateway, e.subnet);
      e.gateway = g;
      match = true;
    }
    if (!match) return errorf(Code::InvalidArgument, "no matching subnet for gateway {}", g);
  }
  ojson aux = mapOpts(f.auxAddresses);
  for (auto& [key, val] : aux.items()) {
    std::string addr = val.get<std::string>();
    bool match = false;
    for (Entry& e : data) {
      TRY_ASSIGN(bool ok, subnetMatches(e.subnet, addr));
      if (!ok) continue;
      e.aux[key] = addr;
      match = true;
    }
    if (!match) return errorf(Code::InvalidArgument, "no matching subnet for aux-address {}", addr);
  }
  ojson config = ojson::array();
  for (const Entry& e : data) {
    ojson c = {{"Subnet", e.subnet}};
    if (!e.range.empty()) c["IPRange"] = e.range;
    if (!e.gateway.empty()) c["Gateway"] = e.gateway;
    if (!e.aux.empty()) {
      ojson a = ojson::object();
      for (auto& [k, v] : e.aux) a[k] = v;
      c["AuxiliaryAddresses"] = a;
    }
    config.push_back(std::move(c));
  }

  ojson labels = ojson::object();
  {
    std::map<std::string, std::string> m;
    for (const std::string& l : f.labels) {
      auto eq = l.find('=');
      m[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
    }
    for (auto& [k, v] : m) labels[k] = v;
  }
  ojson b;
  b["Driver"] = f.driver;
  b["Scope"] = f.scope;
  if (f.ipv4) b["EnableIPv4"] = *f.ipv4;
  if (f.ipv6) b["EnableIPv6"] = *f.ipv6;
  b["IPAM"] = {{"Driver", f.ipamDriver}, {"Options", mapOpts(f.ipamOpts)}, {"Config", config}};
  b["Internal"] = f.internal;
  b["Attachable"] = f.attachable;
  b["Ingress"] = f.ingress;
  b["ConfigOnly"] = f.configOnly;
  b["ConfigFrom"] = f.configFrom.empty() ? ojson(nullptr) : ojson{{"Network", f.configFrom}};
  b["Options"] = mapOpts(f.opts);
  b["Labels"] = labels;
  b["Name"] = f.name;
  b["CheckDuplicate"] = true;  // the docker CLI adds it below API 1.44
  return b;
}

Result<ojson> networkConnectBody(const std::string& container, const NetworkConnectFlags& f) {
  for (const std::string& l : f.links) {
    auto v = validateLink(l);
    if (!v)
      return errorf(Code::InvalidArgument, "invalid argument {} for \"--link\" flag: {}", goQuoted(l), v.error().message);
  }
  TRY_ASSIGN(auto aliases, stringSlice(f.aliases));
  TRY_ASSIGN(auto lls, stringSlice(f.linkLocalIps));
  TRY_ASSIGN(auto dopts, stringSlice(f.driverOpts));
  std::map<std::string, std::string> driverOpts;
  for (const std::string& o : dopts) {
    auto eq = o.find('=');
    std::string k = trim(o.substr(0, eq == std::string::npos ? o.size() : eq));
    if (eq == std::string::npos || k.empty())
      return errorf(Code::InvalidArgument, "invalid key/value pair format in driver options");
    driverOpts[k] = trim(o.substr(eq + 1));
  }
  ojson ipam = ojson::object();
  if (!f.ipv4.empty()) ipam["IPv4Address"] = f.ipv4;
  if (!f.ipv6.empty()) ipam["IPv6Address"] = f.ipv6;
  if (!lls.empty()) ipam["LinkLocalIPs"] = lls;
  ojson dopt = ojson::object();
  for (auto& [k, v] : driverOpts) dopt[k] = v;
  ojson ep = {{"IPAMConfig", ipam},
              {"Links", f.links.empty() ? ojson(nullptr) : ojson(f.links)},
              {"Aliases", aliases},
              {"MacAddress", ""},
              {"DriverOpts", dopt},
              {"GwPriority", f.gwPriority},
              {"NetworkID", ""},
              {"EndpointID", ""},
              {"Gateway", ""},
              {"IPAddress", ""},
              {"IPPrefixLen", 0},
              {"IPv6Gateway", ""},
              {"GlobalIPv6Address", ""},
              {"GlobalIPv6PrefixLen", 0},
              {"DNSNames", nullptr}};
  return ojson{{"Container", container}, {"EndpointConfig", ep}};
}

std::string networkCreatedAt(const std::string& rfc3339) {
  auto nanos = parseUntil(rfc3339, 0);
  if (rfc3339.empty() || !nanos) return "0001-01-01 00:00:00 +0000 UTC";
  int64_t secs = *nanos / 1000000000, frac = *nanos % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    --secs;
  }
  time_t t = time_t(secs);
  tm lt;
  localtime_r(&t, &lt);
  char day[32], zone[32];
  strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &lt);
  strftime(zone, sizeof zone, "%z %Z", &lt);
  std::string f;
  if (frac) {
    f = fmt::format(".{:09d}", frac);
    while (f.back() == '0') f.pop_back();
  }
  return std::string(day) + f + " " + zone;
}

const std::map<std::string, std::string>& networkHeaders() {
  static const std::map<std::string, std::string> m = {
      {"ID", "NETWORK ID"}, {"Name", "NAME"},         {"Driver", "DRIVER"}, {"Scope", "SCOPE"},
      {"IPv4", "IPV4"},     {"IPv6", "IPV6"},         {"Internal", "INTERNAL"}, {"Labels", "LABELS"},
      {"Label", "LABEL"},   {"CreatedAt", "CREATED AT"}};
  return m;
}

InspectOutput renderInspect(const std::vector<InspectEntry>& entries, const std::string& fmtIn) {
  InspectOutput o;
  std::vector<const std::string*> raws;
  for (const InspectEntry& e : entries) {
    if (e.raw.empty()) continue;
    raws.push_back(&e.raw);
  }
  auto plainErrors = [&] {
    for (const InspectEntry& e : entries)
      if (e.raw.empty()) o.errors.push_back(e.error);
  };
  if (fmtIn.empty()) {
    ojson arr = ojson::array();
    for (auto* r : raws) arr.push_back(ojson::parse(*r, nullptr, false));
    o.out = arr.dump(4, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    plainErrors();
    return o;
  }
  if (fmtIn == "json") {
    std::string s = "[";
    for (std::size_t i = 0; i < raws.size(); ++i)
      s += (i ? "," : "") +
           ojson::parse(*raws[i], nullptr, false).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    o.out = s + "]\n";
    plainErrors();
    return o;
  }
  auto t = format::Template::parse(format::prepareFormat(fmtIn));
  if (!t) {
    o.errors.push_back("template parsing error: " + t.error().message);
    o.parseError = true;
    return o;
  }
  format::ExecOptions eo;
  eo.missingKeyError = true;
  for (const InspectEntry& e : entries) {
    if (e.raw.empty()) {
      o.errors.push_back(e.error);
      continue;
    }
    auto s = t->execute(nlohmann::json::parse(e.raw, nullptr, false), eo);
    if (!s) {
      o.errors.push_back("template parsing error: " + s.error().message);
      continue;
    }
    o.out += *s + "\n";
  }
  if (o.out.empty()) o.out = "\n";
  return o;
}

}  // namespace berth::cli
