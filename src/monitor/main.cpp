// berth-monitor: one per container (run) or exec (exec). docs/monitor.md.

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "common/number.h"
#include "common/trace.h"
#include "monitor/init.h"
#include "monitor/run.h"

namespace {

int usage() {
  static const char kUsage[] =
      "usage: berth-monitor run --bundle DIR --id ID --socket PATH [--log PATH]\n"
      "                         [--log-max-size BYTES] [--log-max-file N] [--log-compress]\n"
      "                         [--log-driver json-file|local|none|cri-log] [--cgroup-root DIR]\n"
      "                         [--runtime PATH] [--lock-fd FD] [--trace NS]\n"
      "       berth-monitor exec --pid PID --process FILE [--cgroup PATH] [--cgroup-root DIR] [--stdin]\n";
  (void)!::write(2, kUsage, sizeof kUsage - 1);
  return 2;
}

// setNumber: VAL as a whole number into OUT; false (OUT untouched) when VAL
// is not one (berthd never passes such a value; the caller prints usage).
template <class T>
bool setNumber(std::string_view val, T& out) {
  auto v = berth::parseNumber<T>(val);
  if (!v) return false;
  out = *v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t mainAt = 0;
  for (int i = 2; i < argc; i++)
    if (std::string_view(argv[i]) == "--trace") {
      mainAt = berth::trace::now();
      berth::trace::enable("monitor");
    }
  // fds 0-2 must exist so pipes never land on them.
  for (int fd = 0; fd < 3; fd++)
    if (::fcntl(fd, F_GETFD) < 0) ::open("/dev/null", O_RDWR);
  // As a container's --init it is mounted at /dev/init.
  std::string_view self = argv[0];
  if (self.size() >= 4 && self.substr(self.size() - 4) == "init") return berth::monitor::initMain(argc, argv);
  if (argc < 2) return usage();
  std::string_view mode = argv[1];
  if (mode == "init") return berth::monitor::initMain(argc - 1, argv + 1);
  berth::monitor::RunOptions run;
  berth::monitor::ExecOptions ex;
  for (int i = 2; i < argc; i++) {
    std::string_view a = argv[i];
    std::string val;
    auto eq = a.find('=');
    std::string_view key = a.substr(0, eq);
    if (key == "--stdin") {
      ex.stdinPipe = true;
      continue;
    }
    if (key == "--log-compress") {
      run.logCompress = true;
      continue;
    }
    if (eq != std::string_view::npos) val = std::string(a.substr(eq + 1));
    else if (i + 1 < argc) val = argv[++i];
    else return usage();
    bool ok = true;
    if (key == "--bundle") run.bundle = val;
    else if (key == "--id") run.id = val;
    else if (key == "--socket") run.socket = val;
    else if (key == "--log") run.log = val;
    else if (key == "--log-driver") {
      run.logNone = val == "none";
      run.logCri = val == "cri-log";
    }
    else if (key == "--log-max-size") ok = setNumber(val, run.logMaxSize);
    else if (key == "--log-max-file") ok = setNumber(val, run.logMaxFile);
    else if (key == "--cgroup-root") run.cgroupRoot = ex.cgroupRoot = val;
    else if (key == "--runtime") run.runtime = val;
    else if (key == "--lock-fd") ok = setNumber(val, run.lockFd) && run.lockFd > 2;
    else if (key == "--gate-fd") ok = setNumber(val, run.gateFd) && run.gateFd > 2;
    else if (key == "--trace") ok = setNumber(val, run.traceSpawnAt), run.traceMainAt = mainAt;
    else if (key == "--pid") ok = setNumber(val, ex.pid);
    else if (key == "--process") ex.processFile = val;
    else if (key == "--cgroup") ex.cgroup = val;
    else return usage();
    if (!ok) return usage();
  }
  if (mode == "run") {
    if (run.bundle.empty() || run.id.empty()) return usage();
    return berth::monitor::runContainer(run);
  }
  if (mode == "exec") {
    if (ex.pid <= 0 || ex.processFile.empty()) return usage();
    return berth::monitor::execProcess(ex);
  }
  return usage();
}
