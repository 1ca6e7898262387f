#pragma once
// berthd's configuration: flags as dockerd's, merged over daemon.json.
// Immutable once parsed.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/result.h"

namespace berth::daemon {

struct Config {
  std::string host = "unix:///run/berth/berth.sock";
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
  int maxConcurrentDownloads = 3;
  int maxConcurrentUploads = 5;
  // --runtime names -> binaries: runc and crun (on PATH) plus daemon.json's
  // "runtimes": {"name": {"path": "/usr/bin/x"}}. "berth" is the built-in one.
  std::map<std::string, std::string> runtimes = {{"runc", "runc"}, {"crun", "crun"}};
  // --build-context-max-size: the file data a POST /build context may hold
  // once extracted (0 = no limit). docs/build.md.
  uint64_t buildContextMaxSize = 10ull << 30;
};

// Cancelled = --help / --version printed (exit 0); InvalidArgument = usage error.
Result<Config> parseArgs(int argc, char** argv);

}  // namespace berth::daemon
