#pragma once
// berthd's configuration: flags as dockerd's, merged over daemon.json.
// Immutable once parsed.

#include <map>
#include <string>

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
  // --runtime names -> binaries: runc and crun (on PATH) plus daemon.json's
  // "runtimes": {"name": {"path": "/usr/bin/x"}}. "berth" is the built-in one.
  std::map<std::string, std::string> runtimes = {{"runc", "runc"}, {"crun", "crun"}};
};

// Cancelled = --help / --version printed (exit 0); InvalidArgument = usage error.
Result<Config> parseArgs(int argc, char** argv);

}  // namespace berth::daemon
