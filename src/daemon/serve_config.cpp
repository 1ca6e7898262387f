// ServeConfig: -H, -G, TLS and API limit flags and their daemon.json keys.

#include <algorithm>
#include <cstdlib>

#include "common/log.h"
#include "common/number.h"
#include "common/until.h"
#include "common/util.h"
#include "daemon/config.h"

namespace berth::daemon {

namespace {

constexpr const char* kDefaultHost = "unix:///run/berth/berth.sock";

Result<bool> parseBoolFlag(const std::string& flag, const std::string& v) {
  if (v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True") return true;
  if (v == "0" || v == "f" || v == "F" || v == "false" || v == "FALSE" || v == "False") return false;
  return errorf(Code::InvalidArgument, "invalid argument {:?} for \"{}\" flag: strconv.ParseBool: parsing {:?}: invalid syntax",
                v, flag, v);
}

Result<int64_t> parsePositive(const std::string& flag, const std::string& v, int64_t max) {
  auto n = parseNumber<int64_t>(v);
  if (!n || *n < 1 || *n > max) return errorf(Code::InvalidArgument, "invalid value {:?} for {}: a number from 1 to {}", v, flag, max);
  return *n;
}

Result<int> parseTimeoutMs(const std::string& flag, const std::string& v) {
  auto d = parseGoDuration(v);
  if (!d) return errorf(Code::InvalidArgument, "invalid value {:?} for {}: {}", v, flag, d.error().message);
  if (*d < 1'000'000 || *d > int64_t(24) * 3600 * 1'000'000'000)
    return errorf(Code::InvalidArgument, "invalid value {:?} for {}: between 1ms and 24h", v, flag);
  return int(*d / 1'000'000);
}

// The key names shared by flags and daemon.json.
enum class Key { Hosts, Group, Tls, TlsVerify, CaCert, Cert, Key, MaxHeader, MaxBody, HeaderTimeout, IdleTimeout, MaxConns };

struct KeyName {
  Key key;
  const char* json;
  const char* flag;
  char shortFlag;
};
constexpr KeyName kKeys[] = {
    {Key::Hosts, "hosts", "host", 'H'},
    {Key::Group, "group", "group", 'G'},
    {Key::Tls, "tls", "tls", 0},
    {Key::TlsVerify, "tlsverify", "tlsverify", 0},
    {Key::CaCert, "tlscacert", "tlscacert", 0},
    {Key::Cert, "tlscert", "tlscert", 0},
    {Key::Key, "tlskey", "tlskey", 0},
    {Key::MaxHeader, "api-max-header-bytes", "api-max-header-bytes", 0},
    {Key::MaxBody, "api-max-json-body-bytes", "api-max-json-body-bytes", 0},
    {Key::HeaderTimeout, "api-header-timeout", "api-header-timeout", 0},
    {Key::IdleTimeout, "api-idle-timeout", "api-idle-timeout", 0},
    {Key::MaxConns, "api-max-connections", "api-max-connections", 0},
};

// Sets one key from its textual value (flags, and daemon.json strings).
Result<> setKey(Key k, const std::string& name, const std::string& v, ServeConfig& c) {
  switch (k) {
    case Key::Hosts: c.hosts.push_back(v); break;
    case Key::Group: c.group = v; break;
    case Key::Tls: {
      TRY_ASSIGN(bool b, parseBoolFlag(name, v));
      c.tls = b;
      break;
    }
    case Key::TlsVerify: {
      TRY_ASSIGN(bool b, parseBoolFlag(name, v));
      c.tlsVerify = b;
      break;
    }
    case Key::CaCert: c.tlsCaCert = v; break;
    case Key::Cert: c.tlsCert = v; break;
    case Key::Key: c.tlsKey = v; break;
    case Key::MaxHeader: {
      TRY_ASSIGN(int64_t n, parsePositive(name, v, 64 << 20));
      c.limits.maxHeaderBytes = size_t(n);
      break;
    }
    case Key::MaxBody: {
      TRY_ASSIGN(int64_t n, parsePositive(name, v, int64_t(1) << 30));
      c.limits.maxJsonBodyBytes = size_t(n);
      break;
    }
    case Key::HeaderTimeout: {
      TRY_ASSIGN(c.limits.headerTimeoutMs, parseTimeoutMs(name, v));
      break;
    }
    case Key::IdleTimeout: {
      TRY_ASSIGN(c.limits.idleTimeoutMs, parseTimeoutMs(name, v));
      break;
    }
    case Key::MaxConns: {
      TRY_ASSIGN(int64_t n, parsePositive(name, v, 1'000'000));
      c.limits.maxConnections = int(n);
      break;
    }
  }
  return {};
}

bool isBoolKey(Key k) { return k == Key::Tls || k == Key::TlsVerify; }

}  // namespace

Result<bool> parseServeFlag(const std::string& flag, const std::optional<std::string>& inlineValue,
                            const std::function<Result<std::string>()>& next, ServeConfig& c,
                            std::vector<std::string>& set) {
  for (const auto& kn : kKeys) {
    bool match = flag == std::string("--") + kn.flag || (kn.shortFlag && flag == std::string("-") + kn.shortFlag);
    if (!match) continue;
    std::string v;
    if (inlineValue) {
      v = *inlineValue;
    } else if (isBoolKey(kn.key)) {
      v = "true";
    } else {
      TRY_ASSIGN(v, next());
    }
    TRY(setKey(kn.key, "--" + std::string(kn.flag), v, c));
    set.push_back(kn.json);
    return true;
  }
  return false;
}

Result<> applyServeJson(const nlohmann::json& j, const std::string& file, ServeConfig& c,
                        const std::vector<std::string>& set) {
  for (const auto& kn : kKeys) {
    if (!j.contains(kn.json)) continue;
    if (std::find(set.begin(), set.end(), kn.json) != set.end()) continue;
    const auto& v = j[kn.json];
    auto bad = [&](const char* want) {
      return errorf(Code::InvalidArgument, "unable to configure the daemon with file {}: {} must be {}", file, kn.json, want);
    };
    std::string name = kn.json;
    if (kn.key == Key::Hosts) {
      if (!v.is_array()) return bad("a list of strings");
      for (const auto& h : v) {
        if (!h.is_string()) return bad("a list of strings");
        c.hosts.push_back(h.get<std::string>());
      }
    } else if (isBoolKey(kn.key)) {
      if (!v.is_boolean()) return bad("true or false");
      TRY(setKey(kn.key, name, v.get<bool>() ? "true" : "false", c));
    } else if (kn.key == Key::MaxHeader || kn.key == Key::MaxBody || kn.key == Key::MaxConns) {
      if (!v.is_number_integer()) return bad("an integer");
      auto r = setKey(kn.key, name, std::to_string(v.get<int64_t>()), c);
      if (!r) return errorf(Code::InvalidArgument, "unable to configure the daemon with file {}: {}", file, r.error().message);
    } else {
      if (!v.is_string()) return bad("a string");
      auto r = setKey(kn.key, name, v.get<std::string>(), c);
      if (!r) return errorf(Code::InvalidArgument, "unable to configure the daemon with file {}: {}", file, r.error().message);
    }
  }
  return {};
}

Result<> finishServeConfig(ServeConfig& c) {
  if (c.hosts.empty()) c.hosts.push_back(kDefaultHost);
  for (auto& h : c.hosts) {
    if (startsWith(h, "/")) h = "unix://" + h;
    if (startsWith(h, "unix://")) {
      if (h.size() == 7) h = kDefaultHost;
      continue;
    }
    if (startsWith(h, "tcp://")) {
      std::string addr = h.substr(6);
      if (auto slash = addr.find('/'); slash != std::string::npos) addr = addr.substr(0, slash);
      bool hasPort = startsWith(addr, "[") ? addr.find("]:") != std::string::npos : addr.find(':') != std::string::npos;
      if (addr.empty() || addr[0] == ':') addr = "127.0.0.1" + addr;
      if (!hasPort) addr += c.tlsOn() ? ":2376" : ":2375";
      h = "tcp://" + addr;
      continue;
    }
    return errorf(Code::InvalidArgument, "invalid host {:?}: berthd serves unix:// and tcp:// (fd:// and ssh:// are not supported)",
                  h);
  }
  if (c.tlsOn()) {
    std::string dir;
    if (const char* p = std::getenv("DOCKER_CERT_PATH"); p && *p) dir = p;
    else dir = std::string(std::getenv("HOME") ? std::getenv("HOME") : "/root") + "/.docker";
    if (c.tlsCaCert.empty()) c.tlsCaCert = dir + "/ca.pem";
    if (c.tlsCert.empty()) c.tlsCert = dir + "/cert.pem";
    if (c.tlsKey.empty()) c.tlsKey = dir + "/key.pem";
  }
  return {};
}

Result<std::optional<unsigned>> socketGroup(const std::string& group, const std::string& groupFile) {
  if (group.empty()) return std::optional<unsigned>();
  // The file read directly: getgrnam() would load NSS modules into an
  // otherwise small daemon.
  if (auto text = readFile(groupFile))
    for (auto& line : split(*text, '\n')) {
      auto f = split(line, ':');
      if (f.size() < 3 || (f[0] != group && f[2] != group)) continue;
      if (auto gid = parseNumber<unsigned>(f[2])) return std::optional<unsigned>(*gid);
    }
  if (auto gid = parseNumber<unsigned>(group)) {
    log::warn("Could not find GID {}", *gid);
    return std::optional<unsigned>(*gid);
  }
  if (group == "berth") {
    log::warn("could not change group of the socket to berth: group berth not found");
    return std::optional<unsigned>();
  }
  return errorf(Code::NotFound, "group {} not found", group);
}

}  // namespace berth::daemon
