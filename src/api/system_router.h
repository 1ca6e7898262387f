#pragma once
// /_ping, /version, /info, /events.

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "api/events.h"
#include "api/http.h"

namespace berth::api {

struct SystemInfo {
  std::string dataRoot;
  std::string cgroupVersion = "1";
  std::function<nlohmann::json()> containerCounts;  // {"total","running","paused","stopped"}
  std::function<int()> imageCount;
  // /info "Runtimes": name -> binary (berth = the built-in monitor, runc, crun,
  // daemon.json ones); "DefaultRuntime".
  std::map<std::string, std::string> runtimes;
  std::string defaultRuntime = "berth";
  std::string loggingDriver = "json-file";  // the daemon's default (/info LoggingDriver)
};

// Facts about the host that /version and /info report.
struct HostFacts {
  std::string kernelVersion;    // uname's release: "6.1.0-18-amd64"
  std::string operatingSystem;  // PRETTY_NAME of os-release, or "Linux"
  std::string hostname;
  int ncpu = 0;                 // online CPUs
  int64_t memTotal = 0;         // bytes (MemTotal of meminfo)
};

// Reads HostFacts; the daemon's implementation asks the kernel and /etc,
// tests answer from memory. Called from several request threads at once.
class HostFactsProvider {
 public:
  virtual ~HostFactsProvider() = default;
  // Only the kernel version (all /version needs).
  virtual std::string kernelVersion() = 0;
  virtual HostFacts facts() = 0;
};

// host must outlive the router.
void registerSystemRoutes(Router& r, EventBus& events, SystemInfo info, HostFactsProvider& host);

}  // namespace berth::api
