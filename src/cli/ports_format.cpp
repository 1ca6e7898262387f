#include "cli/ports_format.h"

#include <algorithm>
#include <cstdint>
#include <map>

#include "network/ports.h"

namespace berth::cli {

namespace {

using json = nlohmann::json;

struct Port {
  std::string ip;
  std::uint16_t priv = 0, pub = 0;
  std::string type;
};

std::string formGroup(const std::string& key, std::uint16_t first, std::uint16_t last) {
  // key: "tcp" or "<ip>/tcp"
  std::string type = key, ip;
  if (auto slash = key.find('/'); slash != std::string::npos) {
    ip = key.substr(0, slash);
    type = key.substr(slash + 1);
  }
  std::string group = std::to_string(first);
  if (first != last) group += "-" + std::to_string(last);
  if (!ip.empty()) group = network::joinHostPort(ip, group) + "->" + group;
  return group + "/" + type;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string displayablePorts(const json& ports) {
  std::vector<Port> ps;
  if (ports.is_array())
    for (const json& p : ports) {
      if (!p.is_object()) continue;
      Port x;
      x.ip = p.value("IP", "");
      x.priv = p.value("PrivatePort", std::uint16_t(0));
      x.pub = p.value("PublicPort", std::uint16_t(0));
      x.type = p.value("Type", "");
      ps.push_back(std::move(x));
    }
  std::stable_sort(ps.begin(), ps.end(), [](const Port& a, const Port& b) {
    if (a.priv != b.priv) return a.priv < b.priv;
    if (a.ip != b.ip) return a.ip < b.ip;
    if (a.pub != b.pub) return a.pub < b.pub;
    return a.type < b.type;
  });
  struct Group {
    std::uint16_t first, last;
  };
  std::map<std::string, Group> groups;
  std::vector<std::string> keys, result, hostMappings;
  for (const Port& p : ps) {
    std::string key = p.type;
    if (!p.ip.empty()) {
      if (p.pub != p.priv) {
        hostMappings.push_back(network::joinHostPort(p.ip, std::to_string(p.pub)) + "->" + std::to_string(p.priv) +
                               "/" + p.type);
        continue;
      }
      key = p.ip + "/" + p.type;
    }
    auto it = groups.find(key);
    if (it == groups.end()) {
      groups[key] = Group{p.priv, p.priv};
      keys.push_back(key);
      continue;
    }
    if (p.priv == std::uint16_t(it->second.last + 1)) {
      it->second.last = p.priv;
      continue;
    }
    result.push_back(formGroup(key, it->second.first, it->second.last));
    it->second = Group{p.priv, p.priv};
  }
  for (const std::string& k : keys) result.push_back(formGroup(k, groups[k].first, groups[k].last));
  result.insert(result.end(), hostMappings.begin(), hostMappings.end());
  std::string out;
  for (std::size_t i = 0; i < result.size(); ++i) out += (i ? ", " : "") + result[i];
  return out;
}

bool naturalLess(std::string_view a, std::string_view b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    char c1 = a[i], c2 = b[j];
    bool d1 = isDigit(c1), d2 = isDigit(c2);
    if (d1 != d2) return d1;
    if (!d1) {
      if (c1 != c2) return static_cast<unsigned char>(c1) < static_cast<unsigned char>(c2);
      ++i;
      ++j;
      continue;
    }
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    std::size_t nz1 = i, nz2 = j;
    while (i < a.size() && isDigit(a[i])) ++i;
    while (j < b.size() && isDigit(b[j])) ++j;
    if (i - nz1 != j - nz2) return i - nz1 < j - nz2;
    auto n1 = a.substr(nz1, i - nz1), n2 = b.substr(nz2, j - nz2);
    if (n1 != n2) return n1 < n2;
    if (nz1 != nz2) return nz1 < nz2;
  }
  return a.size() < b.size();
}

Result<std::vector<std::string>> portLines(const json& ports, const std::string& container,
                                           const std::string& privatePort) {
  std::vector<std::string> out;
  auto join = [](const json& b) {
    return network::joinHostPort(b.value("HostIp", ""), b.value("HostPort", ""));
  };
  if (!privatePort.empty()) {
    auto slash = privatePort.find('/');
    std::string port = privatePort.substr(0, slash);
    std::string proto = slash == std::string::npos ? "" : privatePort.substr(slash + 1);
    if (proto.empty()) proto = "tcp";
    // strconv.ParseUint(port, 10, 16)
    bool digits = !port.empty() && std::all_of(port.begin(), port.end(), isDigit);
    if (!digits)
      return errorf(Code::InvalidArgument, "Error: invalid port ({}): strconv.ParseUint: parsing \"{}\": invalid syntax",
                    port, port);
    if (port.size() > 18 || std::stoull(port) > 65535)
      return errorf(Code::InvalidArgument,
                    "Error: invalid port ({}): strconv.ParseUint: parsing \"{}\": value out of range", port, port);
    std::string key = port + "/" + proto;
    if (!ports.is_object() || !ports.contains(key) || !ports[key].is_array() || ports[key].empty())
      return errorf(Code::NotFound, "Error: No public port '{}' published for {}", privatePort, container);
    for (const json& b : ports[key])
      if (b.is_object()) out.push_back(join(b));
  } else if (ports.is_object()) {
    for (auto& [from, list] : ports.items()) {
      if (!list.is_array()) continue;
      for (const json& b : list)
        if (b.is_object()) out.push_back(from + " -> " + join(b));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) { return naturalLess(a, b); });
  return out;
}

}  // namespace berth::cli
