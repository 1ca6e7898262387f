#include "daemon/config.h"

#include <unistd.h>

#include <set>
#include <cctype>
#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "common/number.h"
#include "common/util.h"

namespace berth::daemon {

namespace {

const char* kUsage =
    "Usage:\tberthd [OPTIONS]\n\n"
    "A self-sufficient runtime for containers, Docker Engine API compatible.\n\n"
    "Options:\n"
    "  -b, --bridge string          Attach containers to a network bridge (default \"berth0\"; \"none\": no default bridge)\n"
    "      --bip string             Specify default-bridge IPv4 network\n"
    "      --build-context-max-size bytes  Largest build context (file data) POST /build accepts, 0 = no limit (default 10g)\n"
    "      --cgroup-parent string   Set parent cgroup for all containers (default \"berth\")\n"
    "      --cni-bin-dir list       Where the CRI looks for CNI plugins (default [/usr/lib/cni /opt/cni/bin])\n"
    "      --cni-conf-dir string    The CRI's CNI network configuration directory (default \"/etc/cni/net.d\")\n"
    "      --config-file string     Daemon configuration file (default \"/etc/berth/daemon.json\")\n"
    "      --cri                    Serve the Kubernetes CRI (v1, gRPC) on --cri-socket (default true)\n"
    "      --cri-socket string      The CRI's unix socket (default \"<exec-root>/cri.sock\")\n"
    "      --cri-stream-address string  Address of the CRI streaming server (exec, attach, port-forward) (default \"127.0.0.1\")\n"
    "      --cri-stream-port int    Port of the CRI streaming server, 0 = any free port (default 0)\n"
    "      --data-root string       Root directory of persistent state (default \"/var/lib/berth\")\n"
    "      --default-address-pool   Default address pools for node specific local networks (base=CIDR,size=N)\n"
    "      --dns list               DNS server to use\n"
    "      --dns-opt list           DNS options to use\n"
    "      --dns-search list        DNS search domains to use\n"
    "      --exec-root string       Root directory for execution state files (default \"/run/berth\")\n"
    "      --fixed-cidr string      IPv4 subnet for the default bridge network\n"
    "      --fixed-cidr-v6 string   IPv6 subnet for the default bridge network\n"
    "  -G, --group string           Group for the unix socket (default \"berth\")\n"
    "  -H, --host list              Daemon socket(s) to connect to (default unix:///run/berth/berth.sock)\n"
    "      --icc                    Enable inter-container communication for the default bridge network (default true)\n"
    "      --ip-forward             Enable IP forwarding in system configuration (default true)\n"
    "      --iptables               Enable addition of firewall rules (nftables: berth's own table) (default true)\n"
    "      --ipv6                   Enable IPv6 networking for the default bridge network\n"
    "      --log-driver string      Default driver for container logs (default \"json-file\")\n"
    "  -l, --log-level string       Set the logging level (\"debug\"|\"info\"|\"warn\"|\"error\"|\"fatal\") (default \"info\")\n"
    "      --max-expansion-ratio int  Largest decompressed/compressed ratio of an image, layer or archive, 0 = no limit (default 200)\n"
    "      --min-free-space bytes   Free space an unpack must leave on the data-root filesystem, 0 = none (default 256m)\n"
    "      --log-opt map            Default log driver options for containers (default map[])\n"
    "      --mtu int                Set the MTU for the default bridge network (default 1500)\n"
    "      --nft-table string       berth's nftables table (inet family) (default \"berth\")\n"
    "  -p, --pidfile string         Path to use for daemon PID file (default \"/run/berth/berthd.pid\")\n"
    "      --registry-hosts-dir string  Registry mirrors per host: <dir>/<registry>/hosts.toml (default \"/etc/berth/certs.d\")\n"
    "      --tls                    Use TLS; implied by --tlsverify\n"
    "      --tlscacert string       Trust certs signed only by this CA (default \"~/.docker/ca.pem\")\n"
    "      --tlscert string         Path to TLS certificate file (default \"~/.docker/cert.pem\")\n"
    "      --tlskey string          Path to TLS key file (default \"~/.docker/key.pem\")\n"
    "      --warm-start-ttl int     Seconds a created container stays set up for its start, 0 = no warm starts (default 10)\n"
    "      --tlsverify              Use TLS and verify the remote\n"
    "      --api-max-header-bytes int      Request line and headers, larger is answered 431 (default 1048576)\n"
    "      --api-max-json-body-bytes int   JSON request bodies, larger is answered 400 (default 4194304)\n"
    "      --api-header-timeout duration   Time to send a request's head (default 30s)\n"
    "      --api-idle-timeout duration     Idle keep-alive connections are closed after (default 2m0s)\n"
    "      --api-max-connections int       Open connections, more are answered 503 (default 1000)\n"
    "      --veth-prefix string     Name prefix of the host side of containers' veths (default \"vb\")\n"
    "  -v, --version                Print version information and quit\n";

// daemon.json's networking keys (dockerd's names); a key whose flag was given is skipped.
Result<> networkFromJson(const nlohmann::json& j, const std::string& file, const std::set<std::string>& flags,
                         network::Config& n) {
  auto bad = [&](const char* key, const char* want) {
    return errorf(Code::InvalidArgument, "unable to configure the daemon with file {}: {} must be {}", file, key, want);
  };
  auto str = [&](const char* key, const char* flag, std::string& out) -> Result<> {
    if (flags.contains(flag) || !j.contains(key)) return {};
    if (!j[key].is_string()) return bad(key, "a string");
    out = j[key].get<std::string>();
    return {};
  };
  auto boolean = [&](const char* key, const char* flag, bool& out) -> Result<> {
    if (flags.contains(flag) || !j.contains(key)) return {};
    if (!j[key].is_boolean()) return bad(key, "a boolean");
    out = j[key].get<bool>();
    return {};
  };
  auto list = [&](const char* key, const char* flag, std::vector<std::string>& out) -> Result<> {
    if (flags.contains(flag) || !j.contains(key)) return {};
    if (!j[key].is_array()) return bad(key, "a list of strings");
    for (auto& v : j[key]) {
      if (!v.is_string()) return bad(key, "a list of strings");
      out.push_back(v.get<std::string>());
    }
    return {};
  };
  TRY(str("bridge", "--bridge", n.bridge));
  TRY(str("bip", "--bip", n.bip));
  TRY(str("fixed-cidr", "--fixed-cidr", n.fixedCidr));
  TRY(str("fixed-cidr-v6", "--fixed-cidr-v6", n.fixedCidrV6));
  TRY(str("nft-table", "--nft-table", n.nftTable));
  TRY(str("veth-prefix", "--veth-prefix", n.vethPrefix));
  TRY(boolean("ipv6", "--ipv6", n.ipv6));
  TRY(boolean("iptables", "--iptables", n.iptables));
  TRY(boolean("ip-forward", "--ip-forward", n.ipForward));
  TRY(boolean("icc", "--icc", n.icc));
  TRY(list("dns", "--dns", n.dns));
  TRY(list("dns-search", "--dns-search", n.dnsSearch));
  TRY(list("dns-opts", "--dns-opt", n.dnsOptions));
  if (!flags.contains("--mtu") && j.contains("mtu")) {
    if (!j["mtu"].is_number_integer() || j["mtu"].get<int64_t>() < 0 || j["mtu"].get<int64_t>() > 65535)
      return bad("mtu", "an integer");
    n.mtu = j["mtu"].get<int>() == 0 ? 1500 : j["mtu"].get<int>();
  }
  if (!flags.contains("--default-address-pool") && j.contains("default-address-pools")) {
    if (!j["default-address-pools"].is_array()) return bad("default-address-pools", "a list of {base, size}");
    for (auto& p : j["default-address-pools"]) {
      if (!p.is_object() || !p.contains("base") || !p["base"].is_string() || !p.contains("size") ||
          !p["size"].is_number_integer())
        return bad("default-address-pools", "a list of {base, size}");
      n.defaultAddressPools.push_back("base=" + p["base"].get<std::string>() +
                                      ",size=" + std::to_string(p["size"].get<int>()));
    }
  }
  return {};
}

// daemon.json's CRI keys (flags given on the command line win).
Result<> criFromJson(const nlohmann::json& j, const std::string& file, const std::set<std::string>& flags,
                     cri::Config& c) {
  auto bad = [&](const char* key, const char* what) {
    return errorf(Code::InvalidArgument, "unable to configure the daemon with file {}: {} must be {}", file, key, what);
  };
  if (j.contains("cri") && !flags.contains("--cri")) {
    if (!j["cri"].is_boolean()) return bad("cri", "a boolean");
    c.enabled = j["cri"].get<bool>();
  }
  auto str = [&](const char* key, const char* flag, std::string& out) -> Result<> {
    if (!j.contains(key) || flags.contains(flag)) return {};
    if (!j[key].is_string() || j[key].get<std::string>().empty()) return bad(key, "a non-empty string");
    out = j[key].get<std::string>();
    return {};
  };
  TRY(str("cri-socket", "--cri-socket", c.socketPath));
  TRY(str("cni-conf-dir", "--cni-conf-dir", c.cniConfDir));
  TRY(str("cri-stream-address", "--cri-stream-address", c.streamAddress));
  if (j.contains("cri-stream-port") && !flags.contains("--cri-stream-port")) {
    auto& v = j["cri-stream-port"];
    if (!v.is_number_unsigned() || v.get<uint64_t>() > 65535) return bad("cri-stream-port", "a port number");
    c.streamPort = v.get<int>();
  }
  if (j.contains("cni-bin-dirs") && !flags.contains("--cni-bin-dir")) {
    auto& v = j["cni-bin-dirs"];
    if (!v.is_array()) return bad("cni-bin-dirs", "a list of strings");
    c.cniBinDirs.clear();
    for (auto& d : v) {
      if (!d.is_string()) return bad("cni-bin-dirs", "a list of strings");
      c.cniBinDirs.push_back(d.get<std::string>());
    }
  }
  return {};
}

// daemon.json keys berthd reads. A key that is not here is refused, as
// dockerd refuses directives it does not know, so a setting is never
// silently ignored (e.g. TLS keys in an older berthd). Add a key here when
// its reader lands.
const std::set<std::string>& knownJsonKeys() {
  static const std::set<std::string> keys = {
      // paths, logging, registries, runtimes (below)
      "data-root", "exec-root", "pidfile", "cgroup-parent", "log-level", "debug", "registry-mirrors",
      "insecure-registries", "max-concurrent-downloads", "max-concurrent-uploads", "runtimes", "registry-hosts-dir",
      // warm starts (docs/monitor.md)
      "warm-start-ttl",
      // hostile archives (common/unpack_limits.h)
      "max-expansion-ratio", "min-free-space",
      // containers' default logging
      "log-driver", "log-opts",
      // networking (networkFromJson)
      "bridge", "bip", "fixed-cidr", "fixed-cidr-v6", "nft-table", "veth-prefix", "ipv6", "iptables",
      "ip-forward", "icc", "dns", "dns-search", "dns-opts", "mtu", "default-address-pools",
      // serving (applyServeJson)
      "hosts", "tls", "tlsverify", "tlscacert", "tlscert", "tlskey", "group", "api-header-timeout",
      "api-idle-timeout", "api-max-connections", "api-max-header-bytes", "api-max-json-body-bytes",
      // the CRI front end (cri/config.h)
      "cri", "cri-socket", "cni-conf-dir", "cni-bin-dirs", "cri-stream-address", "cri-stream-port"};
  return keys;
}

// dockerd's daemon.json directives berthd does not implement: named as
// unsupported rather than unknown, so the message says what is true.
bool dockerdOnlyKey(const std::string& k) {
  static const std::set<std::string> keys = {
      "storage-driver", "storage-opts", "live-restore", "userns-remap",
      "default-ulimits", "exec-opts", "features", "experimental", "default-runtime", "seccomp-profile",
      "selinux-enabled", "no-new-privileges", "init", "init-path", "userland-proxy", "userland-proxy-path",
      "default-gateway", "default-gateway-v6", "ip", "ip-masq", "ip6tables", "allow-nondistributable-artifacts",
      "shutdown-timeout", "oom-score-adjust", "default-shm-size", "default-cgroupns-mode", "cgroup-driver",
      "containerd", "containerd-namespace", "labels", "metrics-addr", "node-generic-resources", "raw-logs",
      "swarm-default-advertise-addr", "max-download-attempts", "builder", "proxies", "icc-ipv6", "cri-containerd"};
  return keys.contains(k);
}

// Every key of daemon.json must be one berthd reads (knownJsonKeys): an
// InvalidArgument naming the others, in dockerd's words, otherwise.
Result<> checkJsonKeys(const nlohmann::json& j, const std::string& file) {
  std::vector<std::string> unknown, unsupported;
  for (auto& [k, v] : j.items()) {
    if (knownJsonKeys().contains(k)) continue;
    (dockerdOnlyKey(k) ? unsupported : unknown).push_back(k);
  }
  auto joined = [](const std::vector<std::string>& v) {
    std::string out;
    for (auto& k : v) out += (out.empty() ? "" : ", ") + k;
    return out;
  };
  if (!unknown.empty())
    return errorf(Code::InvalidArgument,
                  "unable to configure the daemon with file {}: the following directives don't match any "
                  "configuration option: {}",
                  file, joined(unknown));
  if (!unsupported.empty())
    return errorf(Code::InvalidArgument,
                  "unable to configure the daemon with file {}: the following directives are not supported by "
                  "berthd: {} (see docs/compat.md)",
                  file, joined(unsupported));
  return {};
}

// "10g", "512m", "1048576": bytes with an optional k/m/g/t (1024-based)
// suffix, as docker's RAMInBytes reads sizes.
std::optional<uint64_t> parseSize(std::string v) {
  v = toLower(trim(v));
  if (endsWith(v, "b") && v.size() > 1 && !std::isdigit(static_cast<unsigned char>(v[v.size() - 2]))) v.pop_back();
  uint64_t mult = 1;
  if (!v.empty()) {
    switch (v.back()) {
      case 'k': mult = 1ull << 10; break;
      case 'm': mult = 1ull << 20; break;
      case 'g': mult = 1ull << 30; break;
      case 't': mult = 1ull << 40; break;
      default: break;
    }
    if (mult != 1) v.pop_back();
  }
  auto n = parseNumber<uint64_t>(v);
  if (!n || (mult > 1 && *n > UINT64_MAX / mult)) return std::nullopt;
  return *n * mult;
}

}  // namespace

Result<Config> parseArgs(int argc, char** argv) {
  Config c;
  std::vector<std::string> serveSet;
  bool configSet = false, dataSet = false, execSet = false, pidSet = false, cgSet = false,
       levelSet = false, logDriverSet = false, logOptsSet = false, mirrorsSet = false, insecureSet = false,
       downloadsSet = false, uploadsSet = false, ratioSet = false, freeSet = false, hostsDirSet = false,
       warmSet = false;
  std::set<std::string> criSet;  // CRI flags given on the command line
  std::string level;
  std::set<std::string> netSet;  // network flags given on the command line
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    std::string val;
    bool hasVal = false;
    if (auto eq = a.find('='); startsWith(a, "--") && eq != std::string::npos) {
      val = a.substr(eq + 1);
      a = a.substr(0, eq);
      hasVal = true;
    }
    auto take = [&](std::string& out, bool& set) -> Result<> {
      if (!hasVal) {
        if (i + 1 >= argc) return errorf(Code::InvalidArgument, "flag needs an argument: {}", a);
        val = argv[++i];
      }
      out = val;
      set = true;
      return {};
    };
    if (a == "-h" || a == "--help") {
      fputs(kUsage, stdout);
      return makeError(Code::Cancelled, "");
    } else if (a == "-v" || a == "--version") {
      puts("berthd version 0.1.0");
      return makeError(Code::Cancelled, "");
    } else if (auto serve = parseServeFlag(a, hasVal ? std::optional(val) : std::nullopt,
                                           [&]() -> Result<std::string> {
                                             std::string v;
                                             bool set;
                                             TRY(take(v, set));
                                             return v;
                                           },
                                           c.serve, serveSet);
               !serve || *serve) {
      if (!serve) return std::unexpected(serve.error());
    } else if (a == "--data-root" || a == "-g" || a == "--graph") {
      TRY(take(c.dataRoot, dataSet));
    } else if (a == "--exec-root") {
      TRY(take(c.execRoot, execSet));
    } else if (a == "-p" || a == "--pidfile") {
      TRY(take(c.pidfile, pidSet));
    } else if (a == "--config-file") {
      TRY(take(c.configFile, configSet));
    } else if (a == "--cgroup-parent") {
      TRY(take(c.cgroupParent, cgSet));
    } else if (a == "--log-driver") {
      TRY(take(c.logDriver, logDriverSet));
    } else if (a == "--log-opt") {
      std::string v;
      TRY(take(v, logOptsSet));
      auto eq = v.find('=');
      if (eq == std::string::npos)
        return errorf(Code::InvalidArgument, "invalid argument \"{}\" for \"--log-opt\" flag: invalid key value pair format", v);
      c.logOpts[v.substr(0, eq)] = v.substr(eq + 1);
    } else if (a == "-l" || a == "--log-level") {
      TRY(take(level, levelSet));
    } else if (a == "--registry-hosts-dir") {
      TRY(take(c.registryHostsDir, hostsDirSet));
    } else if (a == "--registry-mirror" || a == "--insecure-registry") {
      std::string v;
      bool set = false;
      TRY(take(v, set));
      (a == "--registry-mirror" ? c.registryMirrors : c.insecureRegistries).push_back(v);
      (a == "--registry-mirror" ? mirrorsSet : insecureSet) = true;
    } else if (a == "--warm-start-ttl") {
      std::string v;
      TRY(take(v, warmSet));
      auto n = parseNumber<int>(v);
      if (!n || *n < 0 || *n > 3600 || std::to_string(*n) != v)
        return errorf(Code::InvalidArgument, "invalid value {:?} for --warm-start-ttl (0 to 3600 seconds)", v);
      c.warmStartTtl = *n;
    } else if (a == "--max-concurrent-downloads" || a == "--max-concurrent-uploads") {
      std::string v;
      bool set = false;
      TRY(take(v, set));
      auto n = parseNumber<int>(v);
      if (!n || *n < 1 || std::to_string(*n) != v)
        return errorf(Code::InvalidArgument, "invalid value {:?} for {}", v, a);
      (a == "--max-concurrent-downloads" ? c.maxConcurrentDownloads : c.maxConcurrentUploads) = *n;
      (a == "--max-concurrent-downloads" ? downloadsSet : uploadsSet) = true;
    } else if (a == "-b" || a == "--bridge" || a == "--bip" || a == "--fixed-cidr" || a == "--fixed-cidr-v6" ||
               a == "--nft-table" || a == "--veth-prefix") {
      std::string v;
      bool set = false;
      TRY(take(v, set));
      netSet.insert(a == "-b" ? "--bridge" : a);
      if (a == "-b" || a == "--bridge") c.network.bridge = v;
      else if (a == "--bip") c.network.bip = v;
      else if (a == "--fixed-cidr") c.network.fixedCidr = v;
      else if (a == "--fixed-cidr-v6") c.network.fixedCidrV6 = v;
      else if (a == "--nft-table") c.network.nftTable = v;
      else c.network.vethPrefix = v;
    } else if (a == "--dns" || a == "--dns-search" || a == "--dns-opt" || a == "--default-address-pool") {
      std::string v;
      bool set = false;
      TRY(take(v, set));
      netSet.insert(a);
      (a == "--dns"              ? c.network.dns
       : a == "--dns-search"     ? c.network.dnsSearch
       : a == "--dns-opt"        ? c.network.dnsOptions
                                 : c.network.defaultAddressPools)
          .push_back(v);
    } else if (a == "--mtu") {
      std::string v;
      bool set = false;
      TRY(take(v, set));
      auto n = parseNumber<int>(v);
      if (!n || *n < 0) return errorf(Code::InvalidArgument, "invalid argument {:?} for \"--mtu\" flag: parse error", v);
      c.network.mtu = *n == 0 ? 1500 : *n;
      netSet.insert(a);
    } else if (a == "--ipv6" || a == "--iptables" || a == "--ip-forward" || a == "--icc") {
      bool v = true;
      if (hasVal) {
        if (val != "true" && val != "false" && val != "1" && val != "0")
          return errorf(Code::InvalidArgument, "invalid argument {:?} for \"{}\" flag: parse error", val, a);
        v = val == "true" || val == "1";
      }
      netSet.insert(a);
      (a == "--ipv6" ? c.network.ipv6 : a == "--iptables" ? c.network.iptables
                                      : a == "--ip-forward" ? c.network.ipForward
                                                            : c.network.icc) = v;
    } else if (a == "--build-context-max-size") {
      std::string v;
      bool set = false;
      TRY(take(v, set));
      auto n = parseSize(v);
      if (!n) return errorf(Code::InvalidArgument, "invalid value {:?} for {}", v, a);
      c.buildContextMaxSize = *n;
    } else if (a == "--max-expansion-ratio") {
      std::string v;
      TRY(take(v, ratioSet));
      auto n = parseNumber<uint32_t>(v);
      if (!n) return errorf(Code::InvalidArgument, "invalid value {:?} for {}", v, a);
      c.unpack.maxExpansionRatio = *n;
    } else if (a == "--min-free-space") {
      std::string v;
      TRY(take(v, freeSet));
      auto n = parseSize(v);
      if (!n) return errorf(Code::InvalidArgument, "invalid value {:?} for {}", v, a);
      c.unpack.minFreeBytes = *n;
    } else if (a == "--cri") {
      bool v = true;
      if (hasVal) {
        if (val != "true" && val != "false" && val != "1" && val != "0")
          return errorf(Code::InvalidArgument, "invalid argument {:?} for \"--cri\" flag: parse error", val);
        v = val == "true" || val == "1";
      }
      c.cri.enabled = v;
      criSet.insert(a);
    } else if (a == "--cri-socket" || a == "--cni-conf-dir" || a == "--cni-bin-dir" || a == "--cri-stream-address" ||
               a == "--cri-stream-port") {
      std::string v;
      bool set = false;
      TRY(take(v, set));
      if (a == "--cri-socket") c.cri.socketPath = v;
      else if (a == "--cni-conf-dir") c.cri.cniConfDir = v;
      else if (a == "--cri-stream-address") c.cri.streamAddress = v;
      else if (a == "--cri-stream-port") {
        auto n = parseNumber<int>(v);
        if (!n || *n < 0 || *n > 65535) return errorf(Code::InvalidArgument, "invalid value {:?} for {}", v, a);
        c.cri.streamPort = *n;
      } else {
        if (!criSet.contains(a)) c.cri.cniBinDirs.clear();
        c.cri.cniBinDirs.push_back(v);
      }
      criSet.insert(a);
    } else if (a == "-D" || a == "--debug") {
      level = "debug";
      levelSet = true;
    } else {
      return errorf(Code::InvalidArgument, "unknown flag: {}\n{}", a, kUsage);
    }
  }
  // daemon.json: flags win; a key given both ways is an error in dockerd, here flags simply override.
  if (access(c.configFile.c_str(), R_OK) == 0) {
    auto text = readFile(c.configFile);
    if (!text) return std::unexpected(text.error());
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(*text);
    } catch (const std::exception& e) {
      return errorf(Code::InvalidArgument, "unable to configure the daemon with file {}: {}", c.configFile, e.what());
    }
    if (!j.is_object()) return errorf(Code::InvalidArgument, "{}: not a JSON object", c.configFile);
    TRY(checkJsonKeys(j, c.configFile));
    if (!levelSet && j.contains("debug")) {
      if (!j["debug"].is_boolean())
        return errorf(Code::InvalidArgument, "unable to configure the daemon with file {}: debug must be a boolean",
                      c.configFile);
      if (j["debug"].get<bool>()) {
        level = "debug";
        levelSet = true;
      }
    }
    auto str = [&](const char* key, std::string& out, bool set) {
      if (!set && j.contains(key) && j[key].is_string()) out = j[key].get<std::string>();
    };
    str("data-root", c.dataRoot, dataSet);
    str("exec-root", c.execRoot, execSet);
    str("pidfile", c.pidfile, pidSet);
    str("cgroup-parent", c.cgroupParent, cgSet);
    str("log-level", level, levelSet);
    str("log-driver", c.logDriver, logDriverSet);
    str("registry-hosts-dir", c.registryHostsDir, hostsDirSet);
    if (!logOptsSet && j.contains("log-opts")) {
      if (!j["log-opts"].is_object())
        return errorf(Code::InvalidArgument, "unable to configure the daemon with file {}: log-opts must be an object", c.configFile);
      for (auto& [k, v] : j["log-opts"].items()) {
        if (!v.is_string())
          return errorf(Code::InvalidArgument, "unable to configure the daemon with file {}: log-opts values must be strings", c.configFile);
        c.logOpts[k] = v.get<std::string>();
      }
    }
    auto list = [&](const char* key, std::vector<std::string>& out, bool set) -> Result<> {
      if (set || !j.contains(key)) return {};
      if (!j[key].is_array()) return errorf(Code::InvalidArgument, "{}: {} must be a list of strings", c.configFile, key);
      for (auto& v : j[key]) {
        if (!v.is_string()) return errorf(Code::InvalidArgument, "{}: {} must be a list of strings", c.configFile, key);
        out.push_back(v.get<std::string>());
      }
      return {};
    };
    TRY(list("registry-mirrors", c.registryMirrors, mirrorsSet));
    TRY(list("insecure-registries", c.insecureRegistries, insecureSet));
    auto num = [&](const char* key, int& out, bool set) -> Result<> {
      if (set || !j.contains(key)) return {};
      if (!j[key].is_number_integer() || j[key].get<int64_t>() < 1 || j[key].get<int64_t>() > 1000)
        return errorf(Code::InvalidArgument, "{}: {} must be a positive integer", c.configFile, key);
      out = j[key].get<int>();
      return {};
    };
    TRY(num("max-concurrent-downloads", c.maxConcurrentDownloads, downloadsSet));
    TRY(num("max-concurrent-uploads", c.maxConcurrentUploads, uploadsSet));
    if (!warmSet && j.contains("warm-start-ttl")) {
      if (!j["warm-start-ttl"].is_number_integer() || j["warm-start-ttl"].get<int64_t>() < 0 ||
          j["warm-start-ttl"].get<int64_t>() > 3600)
        return errorf(Code::InvalidArgument, "{}: warm-start-ttl must be an integer from 0 to 3600", c.configFile);
      c.warmStartTtl = j["warm-start-ttl"].get<int>();
    }
    if (j.contains("runtimes") && j["runtimes"].is_object()) {
      for (auto& [name, rt] : j["runtimes"].items()) {
        if (!rt.is_object() || !rt.contains("path") || !rt["path"].is_string() || rt["path"].get<std::string>().empty())
          return errorf(Code::InvalidArgument, "unable to configure the daemon with file {}: runtime {}: path is required",
                        c.configFile, name);
        if (name == "berth")
          return errorf(Code::InvalidArgument, "unable to configure the daemon with file {}: runtime name 'berth' is reserved",
                        c.configFile);
        c.runtimes[name] = rt["path"].get<std::string>();
      }
    }
    if (!ratioSet && j.contains("max-expansion-ratio")) {
      auto& v = j["max-expansion-ratio"];
      if (!v.is_number_unsigned() || v.get<uint64_t>() > UINT32_MAX)
        return errorf(Code::InvalidArgument, "{}: max-expansion-ratio must be a non-negative integer", c.configFile);
      c.unpack.maxExpansionRatio = v.get<uint32_t>();
    }
    if (!freeSet && j.contains("min-free-space")) {
      auto& v = j["min-free-space"];
      std::optional<uint64_t> n;
      if (v.is_number_unsigned()) n = v.get<uint64_t>();
      else if (v.is_string()) n = parseSize(v.get<std::string>());
      if (!n)
        return errorf(Code::InvalidArgument, "{}: min-free-space must be a size (bytes, or a number with k, m, g or t)",
                      c.configFile);
      c.unpack.minFreeBytes = *n;
    }
    TRY(criFromJson(j, c.configFile, criSet, c.cri));
    TRY(networkFromJson(j, c.configFile, netSet, c.network));
    TRY(applyServeJson(j, c.configFile, c.serve, serveSet));
  } else if (configSet) {
    return errorf(Code::InvalidArgument, "unable to configure the daemon with file {}: no such file", c.configFile);
  }
  if (!level.empty() && !log::parseLevel(level, c.logLevel))
    return errorf(Code::InvalidArgument, "unable to parse logging level: {}", level);
  TRY(finishServeConfig(c.serve));
  while (c.cgroupParent.size() > 1 && c.cgroupParent[0] == '/') c.cgroupParent = c.cgroupParent.substr(1);
  if (c.cri.socketPath.empty()) c.cri.socketPath = c.execRoot + "/cri.sock";
  return c;
}

}  // namespace berth::daemon
