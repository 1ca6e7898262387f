#include "cli/run_network.h"

#include <algorithm>
#include <cctype>

#include "common/util.h"
#include "network/ports.h"

namespace berth::cli {

namespace {

using ojson = nlohmann::ordered_json;

bool isWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Go's regexp.MatchString(`\w+=\w+(,\w+=\w+)*`, v): unanchored, so one
// `\w+=\w+` anywhere is enough.
bool looksLongSyntax(std::string_view v) {
  for (std::size_t eq = v.find('='); eq != std::string_view::npos; eq = v.find('=', eq + 1))
    if (eq > 0 && isWordChar(v[eq - 1]) && eq + 1 < v.size() && isWordChar(v[eq + 1])) return true;
  return false;
}

}  // namespace

Result<std::vector<std::string>> splitCsv(std::string_view v) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (true) {
    std::string field;
    if (i < v.size() && v[i] == '"') {
      ++i;
      bool closed = false;
      while (i < v.size()) {
        if (v[i] == '"') {
          if (i + 1 < v.size() && v[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        field += v[i++];
      }
      if (!closed || (i < v.size() && v[i] != ','))
        return errorf(Code::InvalidArgument, "parse error on line 1, column {}: extraneous or missing \" in quoted-field",
                      i + 1);
    } else {
      while (i < v.size() && v[i] != ',') field += v[i++];
    }
    out.push_back(std::move(field));
    if (i >= v.size()) break;
    ++i;  // ','
  }
  return out;
}

namespace {

bool isHexDigit(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

std::string goQuoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

Result<> flagError(std::string_view value, std::string_view flag, std::string_view msg) {
  return errorf(Code::InvalidArgument, "invalid argument {} for \"{}\" flag: {}", goQuoted(value), flag, msg);
}

bool isLocalhostDns(const std::string& ip) {
  auto a = network::parseIp(ip);
  if (!a) return false;
  if (a->isV4()) return (a->value >> 24) == 127;
  return a->value == 1;
}

// docker's validateDomain: labels of [A-Za-z0-9] (inner '-'), '.'-separated,
// an optional final '.', trailing blanks; the first character a letter or
// digit; under 255 characters.
std::optional<std::string> domainMatch(std::string_view v) {
  std::size_t i = 0;
  std::string out;
  auto label = [&]() -> bool {
    std::size_t start = i;
    while (i < v.size() && (std::isalnum(static_cast<unsigned char>(v[i])) || v[i] == '-')) ++i;
    if (i == start) return false;
    if (v[start] == '-' || v[i - 1] == '-') return false;
    return true;
  };
  if (v.empty() || !label()) return std::nullopt;
  while (i + 1 < v.size() && v[i] == '.' && std::isalnum(static_cast<unsigned char>(v[i + 1]))) {
    std::size_t save = i;
    ++i;
    if (!label()) {
      i = save;
      break;
    }
  }
  out = std::string(v.substr(0, i));
  if (i < v.size() && v[i] == '.') ++i;
  while (i < v.size() && std::isspace(static_cast<unsigned char>(v[i]))) ++i;
  if (i != v.size() || out.size() >= 255) return std::nullopt;
  return out;
}

}  // namespace

bool isUserDefinedNetwork(std::string_view mode) {
  return !(mode == "default" || mode == "bridge" || mode == "host" || mode == "none" || startsWith(mode, "container:"));
}

bool isValidMac(std::string_view s) {
  // Go's net.ParseMAC: 6, 8 or 20 octets as xx:xx:.. / xx-xx-.. or xxxx.xxxx...
  if (s.size() < 14) return false;
  if (s[2] == ':' || s[2] == '-') {
    if ((s.size() + 1) % 3 != 0) return false;
    std::size_t n = (s.size() + 1) / 3;
    if (n != 6 && n != 8 && n != 20) return false;
    for (std::size_t i = 0; i < n; ++i) {
      if (!isHexDigit(s[3 * i]) || !isHexDigit(s[3 * i + 1])) return false;
      if (i + 1 < n && s[3 * i + 2] != s[2]) return false;
    }
    return true;
  }
  if (s[4] == '.') {
    if ((s.size() + 1) % 5 != 0) return false;
    std::size_t n = 2 * (s.size() + 1) / 5;
    if (n != 6 && n != 8 && n != 20) return false;
    for (std::size_t i = 0; i < s.size(); i += 5) {
      for (std::size_t k = 0; k < 4; ++k)
        if (!isHexDigit(s[i + k])) return false;
      if (i + 4 < s.size() && s[i + 4] != '.') return false;
    }
    return true;
  }
  return false;
}

Result<std::string> validateIpAddress(std::string_view v) {
  std::string t = trim(v);
  auto ip = network::parseIp(t);
  if (!ip) return errorf(Code::InvalidArgument, "IP address is not correctly formatted: {}", v);
  return ip->str();
}

Result<std::string> validateExtraHost(std::string_view val) {
  std::string k, v;
  bool ok = false;
  if (auto eq = val.find('='); eq != std::string_view::npos) {
    k = val.substr(0, eq);
    v = val.substr(eq + 1);
    ok = true;
  } else if (auto c = val.find(':'); c != std::string_view::npos) {
    k = val.substr(0, c);
    v = val.substr(c + 1);
    ok = true;
  }
  if (!ok || k.empty() || k.find(':') != std::string::npos)
    return errorf(Code::InvalidArgument, "bad format for add-host: {}", goQuoted(val));
  if (v != "host-gateway") {
    if (v.size() > 2 && v.front() == '[' && v.back() == ']') v = v.substr(1, v.size() - 2);
    if (!validateIpAddress(v)) return errorf(Code::InvalidArgument, "invalid IP address in add-host: {}", goQuoted(v));
  }
  return k + ":" + v;
}

Result<std::string> validateDnsSearch(std::string_view val) {
  std::string v(val);
  while (!v.empty() && v.front() == ' ') v.erase(v.begin());
  while (!v.empty() && v.back() == ' ') v.pop_back();
  if (v == ".") return v;
  if (v.empty() || !std::isalnum(static_cast<unsigned char>(v[0])))
    return errorf(Code::InvalidArgument, "{} is not a valid domain", v);
  auto m = domainMatch(v);
  if (!m) return errorf(Code::InvalidArgument, "{} is not a valid domain", v);
  return *m;
}

Result<std::string> validateLink(std::string_view v) {
  if (v.empty()) return errorf(Code::InvalidArgument, "empty string specified for links");
  if (std::count(v.begin(), v.end(), ':') > 1) return errorf(Code::InvalidArgument, "bad format for links: {}", v);
  return std::string(v);
}

Result<NetworkAttachment> parseNetworkOpt(std::string_view value) {
  NetworkAttachment n;
  if (!looksLongSyntax(value)) {
    n.target = std::string(value);
    return n;
  }
  TRY_ASSIGN(auto fields, splitCsv(value));
  for (const std::string& field : fields) {
    std::string lower = toLower(field);
    auto eq = lower.find('=');
    if (eq == std::string::npos || eq == 0) return errorf(Code::InvalidArgument, "invalid field {}", field);
    std::string key = trim(lower.substr(0, eq)), val = trim(lower.substr(eq + 1));
    if (key == "name") {
      n.target = val;
    } else if (key == "alias") {
      n.aliases.push_back(val);
    } else if (key == "ip") {
      n.ipv4 = val;
    } else if (key == "ip6") {
      n.ipv6 = val;
    } else if (key == "mac-address") {
      n.mac = val;
    } else if (key == "link-local-ip") {
      n.linkLocalIps.push_back(val);
    } else if (key == "driver-opt") {
      auto e = val.find('=');
      if (e == std::string::npos || e == 0)
        return errorf(Code::InvalidArgument, "invalid key value pair format in driver options");
      n.driverOpts[trim(val.substr(0, e))] = trim(val.substr(e + 1));
    } else if (key == "gw-priority") {
      bool neg = !val.empty() && (val[0] == '-' || val[0] == '+');
      std::string digits = neg ? val.substr(1) : val;
      bool ok = !digits.empty() && digits.size() < 10 &&
                std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!ok) return errorf(Code::InvalidArgument, "invalid gw-priority ({}): invalid syntax", val);
      n.gwPriority = std::stoi(digits) * (val[0] == '-' ? -1 : 1);
    } else {
      return errorf(Code::InvalidArgument, "invalid field key {}", key);
    }
  }
  if (n.target.empty()) return errorf(Code::InvalidArgument, "network name/id is not specified");
  return n;
}

Result<ojson> endpointSettings(const NetworkAttachment& a) {
  if (trim(a.target).empty()) return errorf(Code::InvalidArgument, "no name set for network");
  if (!isUserDefinedNetwork(a.target)) {
    if (!a.aliases.empty())
      return errorf(Code::InvalidArgument, "network-scoped aliases are only supported for user-defined networks");
    if (!a.links.empty()) return errorf(Code::InvalidArgument, "links are only supported for user-defined networks");
  }
  ojson ipam = nullptr;
  if (!a.ipv4.empty() || !a.ipv6.empty() || !a.linkLocalIps.empty()) {
    ipam = ojson::object();
    if (!a.ipv4.empty()) ipam["IPv4Address"] = a.ipv4;
    if (!a.ipv6.empty()) ipam["IPv6Address"] = a.ipv6;
    if (!a.linkLocalIps.empty()) ipam["LinkLocalIPs"] = a.linkLocalIps;
  }
  if (!a.mac.empty() && !isValidMac(trim(a.mac)))
    return errorf(Code::InvalidArgument, "{} is not a valid mac address", a.mac);
  ojson driverOpts = nullptr;
  if (!a.driverOpts.empty()) {
    driverOpts = ojson::object();
    for (auto& [k, v] : a.driverOpts) driverOpts[k] = v;
  }
  return ojson{{"IPAMConfig", ipam},
               {"Links", a.links.empty() ? ojson(nullptr) : ojson(a.links)},
               {"Aliases", a.aliases.empty() ? ojson(nullptr) : ojson(a.aliases)},
               {"MacAddress", a.mac},
               {"DriverOpts", driverOpts},
               {"GwPriority", a.gwPriority},
               {"NetworkID", ""},
               {"EndpointID", ""},
               {"Gateway", ""},
               {"IPAddress", ""},
               {"IPPrefixLen", 0},
               {"IPv6Gateway", ""},
               {"GlobalIPv6Address", ""},
               {"GlobalIPv6PrefixLen", 0},
               {"DNSNames", nullptr}};
}

namespace {

// docker's applyContainerOptions: the single-network flags go to the first network.
Result<> applyContainerOptions(NetworkAttachment& n, const FlagSet& f) {
  const auto& aliases = f.getList("network-alias");
  const auto& links = f.getList("link");
  const auto& lls = f.getList("link-local-ip");
  std::string ip = f.getString("ip"), ip6 = f.getString("ip6"), mac = f.getString("mac-address");
  auto conflict = [](const char* what) {
    return errorf(Code::InvalidArgument, "conflicting options: cannot specify both {}", what);
  };
  if (!n.aliases.empty() && !aliases.empty()) return conflict("--network-alias and per-network alias");
  if (!n.links.empty() && !links.empty()) return conflict("--link and per-network links");
  if (!n.ipv4.empty() && !ip.empty()) return conflict("--ip and per-network IPv4 address");
  if (!n.ipv6.empty() && !ip6.empty()) return conflict("--ip6 and per-network IPv6 address");
  if (!n.mac.empty() && !mac.empty()) return conflict("--mac-address and per-network MAC address");
  if (!n.linkLocalIps.empty() && !lls.empty()) return conflict("--link-local-ip and per-network link-local IP addresses");
  if (!aliases.empty()) n.aliases = aliases;
  // On a user-defined network --link is an endpoint option (an alias); on
  // the default bridge a legacy link (HostConfig.Links only).
  if (isUserDefinedNetwork(n.target) && !links.empty()) n.links = links;
  if (!ip.empty()) n.ipv4 = ip;
  if (!ip6.empty()) n.ipv6 = ip6;
  if (!mac.empty()) n.mac = mac;
  if (!lls.empty()) n.linkLocalIps = lls;
  return {};
}

bool zeroEndpoint(const ojson& ep) {
  for (auto& [k, v] : ep.items())
    if (!(v.is_null() || (v.is_string() && v.get<std::string>().empty()) || (v.is_number() && v.get<int>() == 0)))
      return false;
  return true;
}

}  // namespace

Result<NetworkingParts> networkingParts(const FlagSet& f) {
  NetworkingParts p;
  // Flag-time validators first (docker runs them while parsing flags).
  for (const std::string& d : f.getList("dns")) {
    auto v = validateIpAddress(d);
    if (!v) return std::unexpected(flagError(d, "--dns", v.error().message).error());
    p.dns.push_back(*v);
  }
  for (const std::string& d : f.getList("dns-search")) {
    auto v = validateDnsSearch(d);
    if (!v) return std::unexpected(flagError(d, "--dns-search", v.error().message).error());
    p.dnsSearch.push_back(*v);
  }
  p.dnsOptions = f.getList("dns-option");
  if (!f.getList("add-host").empty()) {
    p.extraHosts = ojson::array();
    for (const std::string& h : f.getList("add-host")) {
      auto v = validateExtraHost(h);
      if (!v) return std::unexpected(flagError(h, "--add-host", v.error().message).error());
      p.extraHosts.push_back(*v);
    }
  }
  if (!f.getList("link").empty()) {
    p.links = ojson::array();
    for (const std::string& l : f.getList("link")) {
      auto v = validateLink(l);
      if (!v) return std::unexpected(flagError(l, "--link", v.error().message).error());
      p.links.push_back(*v);
    }
  }
  std::vector<NetworkAttachment> nets;
  for (const std::string& n : f.getList("network")) {
    auto v = parseNetworkOpt(n);
    if (!v) return std::unexpected(flagError(n, "--network", v.error().message).error());
    nets.push_back(std::move(*v));
  }
  for (const std::string& d : p.dns) {
    if (isLocalhostDns(d)) {
      p.warnings.push_back("WARNING: Localhost DNS (" + d + ") may fail in containers.");
      break;
    }
  }

  std::string mac = f.getString("mac-address");
  if (!mac.empty() && !isValidMac(trim(mac))) return errorf(Code::InvalidArgument, "{} is not a valid mac address", mac);

  // -p (with docker's long syntax converted first), then --expose.
  std::map<std::string, bool> exposed;  // sorted as Go's encoding/json sorts map keys
  std::map<std::string, std::vector<network::PortBinding>> bindings;
  for (const std::string& raw : f.getList("publish")) {
    std::string spec = raw;
    if (raw.find('=') != std::string::npos) {
      std::map<std::string, std::string> params{{"protocol", "tcp"}};
      for (const std::string& param : split(raw, ',')) {
        auto eq = param.find('=');
        if (eq == std::string::npos || eq == 0)
          return errorf(Code::InvalidArgument, "invalid publish opts format (should be name=value but got '{}')", param);
        params[param.substr(0, eq)] = param.substr(eq + 1);
      }
      spec = params["published"] + ":" + params["target"] + "/" + params["protocol"];
    }
    TRY_ASSIGN(network::ParsedPortSpec parsed, network::parsePortSpec(spec));
    for (auto& [key, b] : parsed.bindings) {
      exposed[key.str()] = true;
      bindings[key.str()].push_back(b);
    }
  }
  for (const std::string& e : f.getList("expose")) {
    if (e.find(':') != std::string::npos)
      return errorf(Code::InvalidArgument, "invalid port format for --expose: {}", e);
    auto slash = e.find('/');
    std::string port = e.substr(0, slash);
    std::string proto = slash == std::string::npos || slash + 1 == e.size() ? "tcp" : e.substr(slash + 1);
    if (port.empty()) proto = "tcp";
    auto range = network::parsePortRange(port);
    if (!range)
      return errorf(Code::InvalidArgument, "invalid range format for --expose: {}, error: {}", e, range.error().message);
    for (std::uint32_t i = range->first; i <= range->second; ++i) exposed[std::to_string(i) + "/" + proto] = true;
  }
  if (!exposed.empty()) {
    p.exposedPorts = ojson::object();
    for (auto& [k, _] : exposed) p.exposedPorts[k] = ojson::object();
  }
  for (auto& [k, list] : bindings) {
    ojson arr = ojson::array();
    for (auto& b : list) arr.push_back({{"HostIp", b.hostIp}, {"HostPort", b.hostPort}});
    p.portBindings[k] = arr;
  }

  // docker's parseNetworkOpts.
  if (nets.empty()) {
    NetworkAttachment n;
    n.target = "default";
    TRY(applyContainerOptions(n, f));
    TRY_ASSIGN(ojson ep, endpointSettings(n));
    p.endpoints["default"] = ep;
  } else {
    bool userDefined = false, nonUserDefined = false;
    for (std::size_t i = 0; i < nets.size(); ++i) {
      NetworkAttachment& n = nets[i];
      (isUserDefinedNetwork(n.target) ? userDefined : nonUserDefined) = true;
      if (i == 0) TRY(applyContainerOptions(n, f));
      TRY_ASSIGN(ojson ep, endpointSettings(n));
      if (p.endpoints.contains(n.target))
        return errorf(Code::InvalidArgument, "network \"{}\" is specified multiple times", n.target);
      // One network without options: no endpoint (the daemon makes it).
      if (i == 0 && nets.size() == 1 && zeroEndpoint(ep)) continue;
      p.endpoints[n.target] = ep;
    }
    if (userDefined && nonUserDefined)
      return errorf(Code::InvalidArgument,
                    "conflicting options: cannot attach both user-defined and non-user-defined network-modes");
    p.networkMode = nets[0].target;
  }
  // Go's encoding/json writes map keys sorted.
  std::map<std::string, ojson> sorted;
  for (auto& [k, v] : p.endpoints.items()) sorted[k] = v;
  p.endpoints = ojson::object();
  for (auto& [k, v] : sorted) p.endpoints[k] = v;
  return p;
}

}  // namespace berth::cli
