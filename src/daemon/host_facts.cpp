#include "daemon/host_facts.h"

#include <sys/utsname.h>
#include <unistd.h>

#include "common/number.h"
#include "common/util.h"

namespace berth::daemon {

std::string osReleasePrettyName(const std::string& osRelease) {
  for (auto& line : split(osRelease, '\n'))
    if (startsWith(line, "PRETTY_NAME=")) {
      std::string v = line.substr(12);
      if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  return "Linux";
}

int64_t memInfoTotal(const std::string& meminfo) {
  for (auto& line : split(meminfo, '\n'))
    if (startsWith(line, "MemTotal:")) {
      // "MemTotal:       16384256 kB"
      std::string v = trim(line.substr(9));
      return numberOr<int64_t>(v.substr(0, v.find(' ')), 0) * 1024;
    }
  return 0;
}

std::string SystemHostFacts::kernelVersion() {
  utsname u;
  if (uname(&u) != 0) return "";
  return u.release;
}

api::HostFacts SystemHostFacts::facts() {
  api::HostFacts f;
  f.kernelVersion = kernelVersion();
  auto osRelease = readFile(etcDir_ + "/os-release");
  f.operatingSystem = osRelease ? osReleasePrettyName(*osRelease) : "Linux";
  auto meminfo = readFile(procDir_ + "/meminfo");
  f.memTotal = meminfo ? memInfoTotal(*meminfo) : 0;
  f.ncpu = int(sysconf(_SC_NPROCESSORS_ONLN));
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  f.hostname = host;
  return f;
}

}  // namespace berth::daemon
