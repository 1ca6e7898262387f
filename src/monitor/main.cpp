// berth-monitor: one per container (run) or exec (exec). docs/monitor.md.

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common/fd_pass.h"
#include "common/number.h"
#include "common/trace.h"
#include "monitor/init.h"
#include "monitor/lock.h"
#include "monitor/protocol.h"
#include "monitor/run.h"
#include "runtime/launch.h"

namespace {

int usage() {
  static const char kUsage[] =
      "usage: berth-monitor run --bundle DIR --id ID --socket PATH [--log PATH]\n"
      "                         [--log-max-size BYTES] [--log-max-file N] [--log-compress]\n"
      "                         [--log-driver json-file|local|none|cri-log] [--cgroup-root DIR]\n"
      "                         [--runtime PATH] [--lock-fd FD] [--gate-fd FD] [--trace NS]\n"
      "       berth-monitor exec --pid PID --process FILE [--cgroup PATH] [--cgroup-root DIR] [--stdin]\n"
      "       berth-monitor spare [--netns] ROOM   (fd 3: berthd's socket; the job comes over it)\n";
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

int dispatch(int argc, char** argv);

// `berth-monitor spare` (docs/monitor.md "Spare monitors"): spawned by
// berthd ahead of its job, fd 3 its socket. Waits for the job (protocol.h
// SpareJob): its fds go to 2 (stderr), kLockFd and kGateFd, its arguments
// over our own command line's room (so /proc/PID/cmdline names the bundle),
// and the rest is `berth-monitor run` with them. EOF before a job: exit 0.
int spareMain(int argc, char** argv) {
  using berth::monitor::Header;
  // berth-monitor spare [--netns] ROOM
  const bool netns = argc == 4 && std::string_view(argv[2]) == "--netns";
  if ((argc != 3 && !netns) || std::strlen(argv[argc - 1]) < berth::monitor::kSpareArgRoom) return usage();
  // --netns: work ahead of the job, at idle priority: a fresh network
  // namespace with lo up, most of a clone's cost (run.h setSpareHostNetns).
  // (above the fds a job puts in place: 2, 4, 5)
  int hostNet = -1;
  if (int fd = netns ? ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC) : -1; fd >= 0) {
    hostNet = ::fcntl(fd, F_DUPFD_CLOEXEC, 100);
    ::close(fd);
  }
  if (hostNet >= 0 && ::unshare(CLONE_NEWNET) == 0) {
    berth::runtime::bringLoopbackUp();
    berth::monitor::setSpareHostNetns(hostNet);
  } else if (hostNet >= 0) {
    ::close(hostNet);
  }
  int fds[3] = {-1, -1, -1};
  size_t nfds = 0;
  char byte = 0;
  if (berth::recvByteWithFds(3, &byte, fds, &nfds) != 1) return 0;
  // berthd spawns spares at idle priority (SCHED_IDLE, inherited): a
  // container's monitor runs at the normal one.
  sched_param normal{};
  ::sched_setscheduler(0, SCHED_OTHER, &normal);
  Header h{};
  std::string job;
  auto readAll = [](char* p, size_t n) {
    while (n > 0) {
      ssize_t r = ::read(3, p, n);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      p += r;
      n -= size_t(r);
    }
    return true;
  };
  if (!readAll(reinterpret_cast<char*>(&h), sizeof h) ||
      h.type != static_cast<uint8_t>(berth::monitor::MsgType::SpareJob) || h.length > berth::monitor::kSpareArgRoom ||
      nfds < 2)
    return 2;
  job.resize(h.length);
  if (!readAll(job.data(), job.size()) || (!job.empty() && job.back() != '\0')) return 2;
  // Out of the way first (a received fd may sit on 4 or 5), then in place.
  int high[3];
  for (size_t i = 0; i < nfds; i++) {
    high[i] = ::fcntl(fds[i], F_DUPFD_CLOEXEC, 64);
    ::close(fds[i]);
  }
  const int targets[3] = {2, berth::monitor::kLockFd, berth::monitor::kGateFd};
  for (size_t i = 0; i < nfds; i++) {
    ::dup2(high[i], targets[i]);
    ::close(high[i]);
  }
  // The job's arguments, NUL-separated, over "spare\0<room>\0" (contiguous).
  char* room = argv[1];
  size_t cap = size_t(argv[argc - 1] + std::strlen(argv[argc - 1]) - room);
  std::string line = "run";
  line.push_back('\0');
  line += job;
  if (line.size() > cap) return 2;
  std::memcpy(room, line.data(), line.size());
  std::memset(room + line.size(), 0, cap - line.size());
  std::vector<char*> args = {argv[0]};
  for (char* p = room; p < room + line.size(); p += std::strlen(p) + 1) args.push_back(p);
  args.push_back(nullptr);
  return dispatch(int(args.size() - 1), args.data());
}

int main(int argc, char** argv) {
  // fds 0-2 must exist so pipes never land on them.
  for (int fd = 0; fd < 3; fd++)
    if (::fcntl(fd, F_GETFD) < 0) ::open("/dev/null", O_RDWR);
  if (argc >= 2 && std::string_view(argv[1]) == "spare") return spareMain(argc, argv);
  return dispatch(argc, argv);
}

int dispatch(int argc, char** argv) {
  int64_t mainAt = 0;
  for (int i = 2; i < argc; i++)
    if (std::string_view(argv[i]) == "--trace") {
      mainAt = berth::trace::now();
      berth::trace::enable("monitor");
    }
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
