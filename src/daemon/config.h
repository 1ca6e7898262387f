#pragma once
// berthd's configuration: flags as dockerd's, merged over daemon.json.
// Immutable once parsed.

#include <functional>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/server.h"
#include "common/log.h"
#include "common/result.h"
#include "common/unpack_limits.h"
#include "cri/config.h"
#include "network/service.h"

namespace berth::daemon {

// Where and how the API is served (docs/security.md): -H, -G, TLS and the
// limits against hostile clients.
struct ServeConfig {
  // -H/--host (repeatable), daemon.json "hosts": unix:///PATH, tcp://HOST:PORT.
  std::vector<std::string> hosts;
  // -G/--group, "group": the unix sockets' group ("" = leave root's).
  std::string group = "berth";
  // --tls, --tlsverify (unset = not given), --tlscacert, --tlscert, --tlskey.
  std::optional<bool> tls, tlsVerify;
  std::string tlsCaCert, tlsCert, tlsKey;
  api::ServerLimits limits;

  // dockerd's reading: --tlsverify (either value) turns TLS on; --tls alone
  // also verifies clients unless --tlsverify=false.
  bool tlsOn() const { return tlsVerify.has_value() || tls.value_or(false); }
  bool verifyClients() const { return tlsVerify.value_or(tls.value_or(false)); }
  // True when the user said how TCP is to be served (--tls=false or any
  // --tlsverify): plain TCP without client auth is refused otherwise.
  bool authChoiceExplicit() const { return (tls.has_value() && !*tls) || tlsVerify.has_value(); }
};

// One of ServeConfig's flags: consumes it (and its value through next())
// and returns true, or returns false when `flag` is not one of them.
// set records the keys given as flags, so daemon.json does not override them.
Result<bool> parseServeFlag(const std::string& flag, const std::optional<std::string>& inlineValue,
                            const std::function<Result<std::string>()>& next, ServeConfig& c,
                            std::vector<std::string>& set);
// ServeConfig's daemon.json keys (hosts, group, tls, tlsverify, tlscacert,
// tlscert, tlskey, api-*), except those in set; then defaults and checks.
Result<> applyServeJson(const nlohmann::json& j, const std::string& file, ServeConfig& c,
                        const std::vector<std::string>& set);
Result<> finishServeConfig(ServeConfig& c);

// The gid for -G as dockerd's lookupGID: a group name or number in
// groupFile; a number not found is used as is (with a warning). nullopt for
// "" and for the default group "berth" when it does not exist (a warning:
// the socket stays root's); NotFound "group X not found" for another name.
Result<std::optional<unsigned>> socketGroup(const std::string& group, const std::string& groupFile = "/etc/group");

struct Config {
  ServeConfig serve;
  std::string dataRoot = "/var/lib/berth";
  std::string execRoot = "/run/berth";
  std::string pidfile = "/run/berth/berthd.pid";
  std::string configFile = "/etc/berth/daemon.json";
  std::string cgroupParent = "berth";
  log::Level logLevel = log::Level::Info;
  // daemon.json registry settings (and --registry-mirror, --insecure-registry,
  // --max-concurrent-downloads/-uploads flags as dockerd has them).
  std::vector<std::string> registryMirrors;
  std::vector<std::string> insecureRegistries;
  // --registry-hosts-dir / daemon.json "registry-hosts-dir": mirrors per
  // registry, <dir>/<registry>/hosts.toml (registry/hosts.h).
  std::string registryHostsDir = "/etc/berth/certs.d";
  // --warm-start-ttl / daemon.json "warm-start-ttl": seconds a created
  // container's warm start is kept (docs/monitor.md); 0: none.
  int warmStartTtl = 10;
  int maxConcurrentDownloads = 3;
  int maxConcurrentUploads = 5;
  // --runtime names -> binaries: runc and crun (on PATH) plus daemon.json's
  // "runtimes": {"name": {"path": "/usr/bin/x"}}. "berth" is the built-in one.
  std::map<std::string, std::string> runtimes = {{"runc", "runc"}, {"crun", "crun"}};
  // Containers' default logging driver and options (--log-driver, --log-opt;
  // daemon.json "log-driver", "log-opts"), checked as a container's LogConfig.
  std::string logDriver = "json-file";
  std::map<std::string, std::string> logOpts;
  // Networking (dockerd's flags and daemon.json keys: --bridge/-b, --bip,
  // --fixed-cidr, --fixed-cidr-v6, --ipv6, --default-address-pool, --mtu,
  // --iptables, --ip-forward, --icc, --dns, --dns-search, --dns-opt; and
  // berth's own --nft-table, --veth-prefix). dataRoot, execRoot and dnsBin
  // are filled in by main().
  network::Config network;
  // --build-context-max-size: the file data a POST /build context may hold
  // once extracted (0 = no limit). docs/build.md.
  uint64_t buildContextMaxSize = 10ull << 30;
  // --max-expansion-ratio, --min-free-space (and daemon.json keys of the
  // same names): the tar-bomb limits of every unpack (docs/security.md,
  // "Hostile archives"). fsPath is filled in by main() (the data-root).
  UnpackLimits unpack;
  // The CRI front end (--cri, --cri-socket, --cni-conf-dir, --cni-bin-dir,
  // --cri-stream-address/-port and their daemon.json keys). socketPath is
  // <exec-root>/cri.sock unless given; the paths of berth-cri.so and
  // berth-pause, the roots and the state dir are filled in by main().
  cri::Config cri;
};

// Cancelled = --help / --version printed (exit 0); InvalidArgument = usage error.
Result<Config> parseArgs(int argc, char** argv);

}  // namespace berth::daemon
