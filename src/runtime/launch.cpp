#include "runtime/launch.h"

#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "common/fd_pass.h"
#include "common/trace.h"
#include "common/util.h"
#include "runtime/mounts.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace berth::runtime {

static_assert(kMaxReleaseFds <= kMaxPassedFds);

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

[[noreturn]] void fail(int errFd, Stage stage, int err, const std::string& msg) {
  ChildErrorHeader h{int32_t(stage), err, uint32_t(std::min<size_t>(msg.size(), 4000))};
  char buf[sizeof h + 4000];
  std::memcpy(buf, &h, sizeof h);
  std::memcpy(buf + sizeof h, msg.data(), h.length);
  (void)!::write(errFd, buf, sizeof h + h.length);
  _exit(stage == Stage::Exec ? (err == ENOENT ? 127 : 126) : 1);
}

[[noreturn]] void failWith(int errFd, Stage stage, const Error& e) { fail(errFd, stage, e.err, e.message); }

bool writeProcFile(const char* path, const std::string& v) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, v.data(), v.size()) == ssize_t(v.size());
  ::close(fd);
  return ok;
}

}  // namespace

// A new network namespace starts with `lo` down; Docker's containers (also
// with --network none) have it up with 127.0.0.1. Best effort: a failure
// leaves the container without loopback, as before.
void bringLoopbackUp() {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags |= IFF_UP;
    (void)::ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  ::close(s);
}

namespace {

void stamp(const LaunchPlan& plan, TraceSlot slot) {
  if (plan.traceSlots) plan.traceSlots[slot] = trace::now();
}

[[noreturn]] void childMain(const LaunchPlan& plan, int syncRead, int errFd) {
  stamp(plan, kTraceChildStart);
  // Signal state survives execve: undo the monitor's.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s : {SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) signal(s, SIG_DFL);

  for (int fd : plan.cgroupSelfAttach)
    if (::write(fd, "0", 1) != 1) fail(errFd, Stage::Cgroup, errno, fmt::format("join cgroup: {}", std::strerror(errno)));

  for (const auto& [fd, type] : plan.joins)
    if (::setns(fd, type) != 0) fail(errFd, Stage::Clone, errno, fmt::format("setns: {}", std::strerror(errno)));

  stamp(plan, kTraceCgroupJoined);
  // The parent's release: its cgroup placement is done.
  auto awaitRelease = [&] {
    // One byte, with the setupBeforeRelease mode's `tasks` fds attached
    // when the parent opened them (release(fds)).
    char c;
    int tasks[kMaxReleaseFds];
    size_t count = 0;
    ssize_t n = recvByteWithFds(syncRead, &c, tasks, &count);
    if (n < 0 && errno == ENOTSOCK) {  // a pipe (exec, berth-runtime)
      do n = ::read(syncRead, &c, 1);
      while (n < 0 && errno == EINTR);
    }
    if (n != 1) _exit(1);  // the monitor went away
    ::close(syncRead);
    for (size_t k = 0; k < count; k++) {
      if (::write(tasks[k], "0", 1) != 1)
        fail(errFd, Stage::Cgroup, errno, fmt::format("join cgroup: {}", std::strerror(errno)));
      ::close(tasks[k]);
    }
    if (count == 0)
      for (const auto& path : plan.cgroupTasksFiles) {
        int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0 || ::write(fd, "0", 1) != 1)
          fail(errFd, Stage::Cgroup, errno, fmt::format("join cgroup {}: {}", path, std::strerror(errno)));
        ::close(fd);
      }
    if (plan.newCgroupNs && ::unshare(CLONE_NEWCGROUP) != 0)
      fail(errFd, Stage::Clone, errno, fmt::format("unshare cgroup namespace: {}", std::strerror(errno)));
  };
  const bool early = plan.setupBeforeRelease && plan.spec;
  if (!early) awaitRelease();

  if (::setsid() < 0) fail(errFd, Stage::Stdio, errno, "setsid");
  if (plan.stdio.tty && plan.consoleSocket < 0 && ::ioctl(plan.stdio.in, TIOCSCTTY, 0) != 0)
    fail(errFd, Stage::Stdio, errno, fmt::format("set controlling terminal: {}", std::strerror(errno)));
  int fds[3] = {plan.stdio.in, plan.stdio.out, plan.stdio.err};
  for (int i = 0; i < 3; i++) {
    if (fds[i] < 0) continue;
    // dup2 onto itself keeps CLOEXEC: go through a fresh fd then.
    if (fds[i] == i) {
      int fl = ::fcntl(i, F_GETFD);
      ::fcntl(i, F_SETFD, fl & ~FD_CLOEXEC);
    } else if (::dup2(fds[i], i) < 0) {
      fail(errFd, Stage::Stdio, errno, fmt::format("dup2: {}", std::strerror(errno)));
    }
  }
  ::umask(022);

  const Process& p = *plan.process;
  // The pty of the container's devpts: the master goes to the monitor, the
  // slave becomes the controlling terminal and 0, 1, 2.
  auto handOverPty = [&](std::pair<int, int> pty) {
    {
      if (sendByteWithFds(plan.consoleSocket, 'm', std::span<const int>(&pty.first, 1)) != 1)
        fail(errFd, Stage::Stdio, errno, fmt::format("send pty master: {}", std::strerror(errno)));
      ::close(pty.first);
      ::close(plan.consoleSocket);
      if (p.user.uid != 0) (void)!::fchown(pty.second, p.user.uid, -1);
      if (p.consoleHeight || p.consoleWidth) {
        winsize ws{uint16_t(p.consoleHeight), uint16_t(p.consoleWidth), 0, 0};
        (void)::ioctl(pty.second, TIOCSWINSZ, &ws);
      }
      if (::ioctl(pty.second, TIOCSCTTY, 0) != 0)
        fail(errFd, Stage::Stdio, errno, fmt::format("set controlling terminal: {}", std::strerror(errno)));
      for (int i = 0; i < 3; i++)
        if (::dup2(pty.second, i) < 0) fail(errFd, Stage::Stdio, errno, fmt::format("dup2: {}", std::strerror(errno)));
      ::close(pty.second);
    }
  };
  if (plan.spec) {
    std::pair<int, int> pty{-1, -1};
    stamp(plan, kTraceMountsStart);
    std::function<Result<>()> placed;
    std::string hierarchies;
    if (early)
      placed = [&]() -> Result<> {
        stamp(plan, kTraceReleaseWait);
        awaitRelease();
        if (plan.cgroupHierarchiesShared && plan.cgroupHierarchiesSize > sizeof(uint32_t)) {
          uint32_t len;
          std::memcpy(&len, plan.cgroupHierarchiesShared, sizeof len);
          if (len <= plan.cgroupHierarchiesSize - sizeof len)
            hierarchies.assign(plan.cgroupHierarchiesShared + sizeof len, len);
        }
        stamp(plan, kTraceCgroupPlaced);
        return {};
      };
    auto r = setupRootfs(*plan.spec, plan.mounts, plan.newNetns, plan.consolePath,
                         plan.consoleSocket >= 0 ? &pty : nullptr, placed, &hierarchies);
    if (!r) failWith(errFd, Stage::Mounts, r.error());
    stamp(plan, kTraceMountsEnd);
    if (plan.consoleSocket >= 0) handOverPty(pty);
    if (plan.newNetns) bringLoopbackUp();
    if ((plan.cloneFlags & CLONE_NEWUTS) && !plan.spec->hostname.empty() &&
        ::sethostname(plan.spec->hostname.data(), plan.spec->hostname.size()) != 0)
      fail(errFd, Stage::Process, errno, fmt::format("sethostname: {}", std::strerror(errno)));
  } else if (plan.consoleSocket >= 0) {
    // exec: the mount namespace joined above made the container's root ours.
    auto pty = openPtyIn("/dev/pts");
    if (!pty) failWith(errFd, Stage::Stdio, pty.error());
    handOverPty(*pty);
  }
  if (p.oomScoreAdj) writeProcFile("/proc/self/oom_score_adj", std::to_string(*p.oomScoreAdj));
  for (const auto& rl : p.rlimits) {
    rlimit v{rl.soft, rl.hard};
    if (::setrlimit(rl.resource, &v) == 0) continue;
    // Without CAP_SYS_RESOURCE a hard limit cannot be raised: clamp to the
    // current hard limit rather than refuse to start.
    rlimit cur;
    if (errno == EPERM && ::getrlimit(rl.resource, &cur) == 0 && rl.hard > cur.rlim_max) {
      v.rlim_max = cur.rlim_max;
      v.rlim_cur = std::min<rlim_t>(rl.soft, cur.rlim_max);
      if (::setrlimit(rl.resource, &v) == 0) continue;
    }
    fail(errFd, Stage::Process, errno, fmt::format("setrlimit {}: {}", rl.resource, std::strerror(errno)));
  }
  struct stat st;
  if (::stat(plan.cwd.c_str(), &st) != 0) {
    auto r = mkdirAll(plan.cwd, 0755);
    if (!r) failWith(errFd, Stage::Process, r.error().wrap("create cwd"));
    if (p.user.uid || p.user.gid) (void)!::chown(plan.cwd.c_str(), p.user.uid, p.user.gid);
  }
  // Without no_new_privs installing a filter needs CAP_SYS_ADMIN: do it
  // before the capabilities go (the profile allows what follows). With it,
  // as late as possible, just before execve.
  bool seccompEarly = plan.seccomp && !plan.seccomp->empty() && !p.noNewPrivileges;
  if (seccompEarly) stamp(plan, kTraceSeccompStart);
  if (seccompEarly && installSeccomp(*plan.seccomp) != 0)
    fail(errFd, Stage::Process, errno, fmt::format("install seccomp filter: {}", std::strerror(errno)));
  if (seccompEarly) stamp(plan, kTraceSeccompEnd);
  if (plan.caps) {
    auto r = dropBounding(*plan.caps, plan.lastCap);
    if (!r) failWith(errFd, Stage::Process, r.error());
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) fail(errFd, Stage::Process, errno, "keepcaps");
  }
  if (::setgroups(p.user.additionalGids.size(), p.user.additionalGids.data()) != 0)
    fail(errFd, Stage::Process, errno, fmt::format("setgroups: {}", std::strerror(errno)));
  if (::setresgid(p.user.gid, p.user.gid, p.user.gid) != 0)
    fail(errFd, Stage::Process, errno, fmt::format("setgid {}: {}", p.user.gid, std::strerror(errno)));
  if (::setresuid(p.user.uid, p.user.uid, p.user.uid) != 0)
    fail(errFd, Stage::Process, errno, fmt::format("setuid {}: {}", p.user.uid, std::strerror(errno)));
  if (plan.caps) {
    auto r = applyCapSets(*plan.caps, plan.lastCap);
    if (!r) failWith(errFd, Stage::Process, r.error());
  }
  if (::chdir(plan.cwd.c_str()) != 0)
    fail(errFd, Stage::Process, errno, fmt::format("chdir to cwd (\"{}\"): {}", plan.cwd, std::strerror(errno)));
  if (p.noNewPrivileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    fail(errFd, Stage::Process, errno, "no_new_privs");
  bool seccompLate = plan.seccomp && !plan.seccomp->empty() && !seccompEarly;
  if (seccompLate) stamp(plan, kTraceSeccompStart);
  if (seccompLate && installSeccomp(*plan.seccomp) != 0)
    fail(errFd, Stage::Process, errno, fmt::format("install seccomp filter: {}", std::strerror(errno)));
  if (seccompLate) stamp(plan, kTraceSeccompEnd);
  // The PATH search's misses are found now, with stat: a warm start is
  // still at its gate here (off the start's critical path), and a failed
  // execve costs more than a stat. Only candidates that do not exist are
  // skipped; whatever exists is left to execve, which decides as before.
  const bool searched = p.args[0].find('/') == std::string::npos;
  size_t firstCandidate = 0;
  if (searched) {
    struct stat cst;
    while (firstCandidate < plan.candidates.size() &&
           ::stat(plan.candidates[firstCandidate].c_str(), &cst) != 0 && (errno == ENOENT || errno == ENOTDIR))
      firstCandidate++;
  }
  if (plan.gateFd >= 0) {
    char b = 'r';
    if (plan.gateWriteFd >= 0) ::close(plan.gateWriteFd);
    if (plan.readyFd >= 0) {
      if (::write(plan.readyFd, &b, 1) != 1) fail(errFd, Stage::Exec, errno, "report ready");
      ::close(plan.readyFd);
    }
    ssize_t n;
    do n = ::read(plan.gateFd, &b, 1);
    while (n < 0 && errno == EINTR);
    // Deleted (berth-runtime) or dropped (a warm start) before the start.
    if (n != 1) fail(errFd, Stage::Exec, ECANCELED, "the start was cancelled before the process ran");
    ::close(plan.gateFd);
  }
  syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);

  int firstErr = 0;
  stamp(plan, kTraceExec);
  for (size_t i = firstCandidate; i < plan.candidates.size(); i++) {
    const std::string& path = plan.candidates[i];
    ::execve(path.c_str(), plan.argv.data(), plan.envp.data());
    int e = errno;
    if (!searched) {
      firstErr = e;
      break;
    }
    if (e == ENOENT || e == ENOTDIR || e == EACCES) continue;
    firstErr = e;  // exec format error, ...: Go's exec reports it
    break;
  }
  if (searched && !firstErr) firstErr = ENOENT;
  fail(errFd, Stage::Exec, firstErr, execErrorMessage(p.args[0], searched, firstErr));
}

}  // namespace

std::vector<std::string> execCandidates(const std::string& arg0, const std::vector<std::string>& env) {
  if (arg0.find('/') != std::string::npos) return {arg0};
  std::vector<std::string> out;
  if (arg0.empty()) return out;
  std::string path = envValue(env, "PATH").value_or(kDefaultPath);
  for (auto dir : split(path, ':')) {
    if (dir.empty()) dir = ".";
    out.push_back(dir + "/" + arg0);
  }
  return out;
}

std::string execErrorMessage(const std::string& arg0, bool searched, int err) {
  if (searched && (err == ENOENT || err == 0))
    return fmt::format("exec: \"{}\": executable file not found in $PATH", arg0);
  if (err == ENOENT) return fmt::format("exec: \"{}\": stat {}: no such file or directory", arg0, arg0);
  if (err == EACCES) return fmt::format("exec: \"{}\": permission denied", arg0);
  std::string s = std::strerror(err);
  if (!s.empty()) s[0] = char(tolower((unsigned char)s[0]));
  return fmt::format("exec: \"{}\": {}", arg0, s);
}

void prepareProcess(LaunchPlan& plan, const Process& p) {
  plan.process = &p;
  plan.candidates = execCandidates(p.args.empty() ? std::string() : p.args[0], p.env);
  plan.argv.clear();
  for (const auto& a : p.args) plan.argv.push_back(const_cast<char*>(a.c_str()));
  plan.argv.push_back(nullptr);
  plan.envp.clear();
  for (const auto& e : p.env) plan.envp.push_back(const_cast<char*>(e.c_str()));
  plan.envp.push_back(nullptr);
  plan.cwd = p.cwd.empty() ? "/" : p.cwd;
  plan.lastCap = lastCapability();
  if (p.capabilities) plan.caps = capSetsFor(*p.capabilities, plan.lastCap, currentPermitted());
}

Result<Launch> Launch::start(const LaunchPlan& plan) {
  int sync[2], err[2];
  // setupBeforeRelease: a socket, so the release can carry fds.
  if (plan.setupBeforeRelease ? ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync) != 0
                              : ::pipe2(sync, O_CLOEXEC) != 0)
    return sysError(errno, "pipe");
  UniqueFd syncR(sync[0]), syncW(sync[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return sysError(errno, "pipe");
  UniqueFd errR(err[0]), errW(err[1]);
  long pid = syscall(SYS_clone, plan.cloneFlags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) return sysError(errno, "clone");
  if (pid == 0) {
    ::close(syncW.release());
    ::close(errR.release());
    childMain(plan, syncR.release(), errW.release());
  }
  Launch l;
  l.pid_ = pid_t(pid);
  l.syncWrite_ = std::move(syncW);
  l.errRead_ = std::move(errR);
  return l;
}

std::optional<StartFailure> Launch::proceed() {
  if (auto f = release()) return f;
  return waitExec();
}

std::optional<StartFailure> Launch::release() { return release({}); }

std::optional<StartFailure> Launch::release(const std::vector<int>& fds) {
  char c = 1;
  if (fds.empty()) {
    if (::send(syncWrite_.get(), &c, 1, MSG_NOSIGNAL) != 1 && (errno != ENOTSOCK || ::write(syncWrite_.get(), &c, 1) != 1))
      return StartFailure{Stage::Clone, errno, fmt::format("release child: {}", std::strerror(errno))};
  } else {
    if (fds.size() > kMaxReleaseFds)
      return StartFailure{Stage::Cgroup, E2BIG, "release child: too many cgroup directories"};
    if (sendByteWithFds(syncWrite_.get(), c, fds) != 1)
      return StartFailure{Stage::Clone, errno, fmt::format("release child: {}", std::strerror(errno))};
  }
  syncWrite_.reset();
  return std::nullopt;
}

std::optional<StartFailure> Launch::waitExec() {
  std::string buf;
  char tmp[4096];
  for (;;) {
    ssize_t n = ::read(errRead_.get(), tmp, sizeof tmp);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(tmp, size_t(n));
  }
  errRead_.reset();
  if (buf.empty()) return std::nullopt;
  StartFailure f;
  if (buf.size() < sizeof(ChildErrorHeader)) {
    f.message = "container init: short error report";
    return f;
  }
  ChildErrorHeader h;
  std::memcpy(&h, buf.data(), sizeof h);
  f.stage = Stage(h.stage);
  f.err = h.err;
  f.message = buf.substr(sizeof h, std::min<size_t>(h.length, buf.size() - sizeof h));
  return f;
}

}  // namespace berth::runtime
