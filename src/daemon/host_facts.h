#pragma once
// The daemon's HostFactsProvider: uname, gethostname and sysconf from the
// kernel, the rest from files under the given roots (tests point them at a
// temp dir). Stateless and thread safe: every call reads afresh.

#include <string>

#include "api/system_router.h"

namespace berth::daemon {

class SystemHostFacts final : public api::HostFactsProvider {
 public:
  // etcDir holds os-release, procDir meminfo ("/etc", "/proc" on a host).
  explicit SystemHostFacts(std::string etcDir = "/etc", std::string procDir = "/proc")
      : etcDir_(std::move(etcDir)), procDir_(std::move(procDir)) {}

  std::string kernelVersion() override;
  api::HostFacts facts() override;

 private:
  std::string etcDir_, procDir_;
};

// PRETTY_NAME of an os-release file's text (quotes removed), or "Linux".
std::string osReleasePrettyName(const std::string& osRelease);
// MemTotal of a meminfo file's text in bytes, or 0.
int64_t memInfoTotal(const std::string& meminfo);

}  // namespace berth::daemon
