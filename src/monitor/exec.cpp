#include "monitor/exec.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/memory.h"
#include "common/util.h"
#include "monitor/run.h"
#include "monitor/session.h"
#include "runtime/launch.h"

namespace berth::monitor {

using runtime::Cgroup;
using runtime::Launch;
using runtime::LaunchPlan;

namespace {

int failStart(Session& s, Stage stage, const Error& e) {
  logError(e.message);
  s.broadcast(MsgType::StartError, encodeStartError(stage, e.err, e.message));
  s.finish("", 2000);
  return 1;
}

bool sameNamespace(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_ino == sb.st_ino &&
         sa.st_dev == sb.st_dev;
}

std::unexpected<ExecFailure> failure(Stage stage, Error e) { return std::unexpected(ExecFailure{stage, std::move(e)}); }

}  // namespace

std::expected<StartedExec, ExecFailure> startExec(const runtime::Process& proc, pid_t targetPid, const Cgroup& cg,
                                                  const std::string& seccompCache, bool stdinPipe,
                                                  const runtime::SeccompProgram* program) {
  // Namespaces of the target, mnt last (it changes our root in the child).
  static constexpr std::pair<const char*, int> kNs[] = {
      {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET}, {"pid", CLONE_NEWPID},
      {"cgroup", CLONE_NEWCGROUP}, {"mnt", CLONE_NEWNS}};
  LaunchPlan plan;
  std::vector<UniqueFd> nsFds;
  std::string base = "/proc/" + std::to_string(targetPid) + "/ns/";
  for (const auto& [name, flag] : kNs) {
    std::string path = base + name;
    // pid: pid_for_children, what this process's children get.
    std::string self = std::string("/proc/self/ns/") + (flag == CLONE_NEWPID ? "pid_for_children" : name);
    if (sameNamespace(path, self)) continue;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT && flag == CLONE_NEWCGROUP) continue;
      return failure(Stage::Clone, sysError(errno, "open {}", path).error());
    }
    if (flag == CLONE_NEWPID) {
      if (::setns(fd.get(), CLONE_NEWPID) != 0) return failure(Stage::Clone, sysError(errno, "setns {}", path).error());
      continue;
    }
    plan.joins.emplace_back(fd.get(), flag);
    nsFds.push_back(std::move(fd));
  }

  // A terminal comes from the container's own devpts, as for run: the child
  // opens it after joining the mount namespace and sends the master back
  // over consoleSocket (runtime/launch.h), so ttyname() names /dev/pts/N.
  auto stdio = proc.terminal ? Result<Stdio>(Stdio{}) : makeStdio(false, stdinPipe || proc.berthStdin, 0, 0);
  if (!stdio) return failure(Stage::Stdio, stdio.error());
  stdio->tty = proc.terminal;
  UniqueFd consoleParent, consoleChild;
  if (proc.terminal) {
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
      return failure(Stage::Stdio, sysError(errno, "socketpair").error());
    consoleParent.reset(sp[0]);
    consoleChild.reset(sp[1]);
  }

  runtime::prepareProcess(plan, proc);
  std::optional<runtime::SeccompProgram> seccomp;
  if (program) {
    plan.seccomp = program;
  } else if (proc.berthSeccomp) {
    auto prog = runtime::compileSeccompCached(*proc.berthSeccomp, seccompCache);
    if (!prog) return failure(Stage::Process, prog.error());
    seccomp = std::move(*prog);
    plan.seccomp = &*seccomp;
  }
  plan.stdio = stdio->childFds();
  plan.consoleSocket = consoleChild ? consoleChild.get() : -1;
  auto attachFds = cg.openSelfAttachFds();
  if (!attachFds) return failure(Stage::Cgroup, attachFds.error());
  for (auto& fd : *attachFds) plan.cgroupSelfAttach.push_back(fd.get());
  auto launch = Launch::start(plan);
  if (!launch) return failure(Stage::Clone, launch.error());
  stdio->closeChildEnds();
  consoleChild.reset();
  nsFds.clear();
  attachFds->clear();
  if (auto r = cg.v2() ? cg.addProcess(launch->pid()) : Result<>{}; !r) {
    ::kill(launch->pid(), SIGKILL);
    ::waitpid(launch->pid(), nullptr, 0);
    return failure(Stage::Cgroup, r.error());
  }
  if (auto f = launch->proceed()) {
    ::waitpid(launch->pid(), nullptr, 0);
    return failure(f->stage, Error{Code::Internal, f->err, f->message});
  }
  if (consoleParent) {
    // The child sent its pty master before it exec'd.
    auto master = recvFd(consoleParent.get());
    if (!master) {
      ::kill(launch->pid(), SIGKILL);
      ::waitpid(launch->pid(), nullptr, 0);
      return failure(Stage::Stdio, master.error());
    }
    if (proc.consoleHeight || proc.consoleWidth) {
      winsize ws{proc.consoleHeight, proc.consoleWidth, 0, 0};
      ::ioctl(master->get(), TIOCSWINSZ, &ws);
    }
    stdio->out = std::move(*master);
  }
  return StartedExec{launch->pid(), std::move(*stdio), nowNanos()};
}

int execProcess(const ExecOptions& o) {
  if (::getsid(0) != ::getpid()) ::setsid();
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  Session session;
  if (auto r = session.init(); !r) {
    logError(r.error().message);
    return 1;
  }
  if (::fcntl(3, F_GETFD) >= 0) session.addClient(UniqueFd(3));

  auto text = readFile(o.processFile);
  if (!text) return failStart(session, Stage::Config, text.error());
  auto proc = runtime::parseProcess(*text);
  if (!proc) return failStart(session, Stage::Config, proc.error());

  Cgroup cg;
  if (!o.cgroup.empty()) {
    cg = Cgroup::existing(o.cgroupRoot, o.cgroup);
  } else {
    auto c = Cgroup::ofProcess(o.cgroupRoot, o.pid);
    if (!c) return failStart(session, Stage::Cgroup, c.error());
    cg = std::move(*c);
  }
  // The process file sits in the container's directory; the compiled
  // profile is cached beside those of every container (see run.cpp).
  auto slash = o.processFile.rfind('/');
  std::string dir = slash == std::string::npos ? "." : o.processFile.substr(0, slash);
  auto started = startExec(*proc, o.pid, cg, dir + "/../.seccomp-cache", o.stdinPipe);
  if (!started) return failStart(session, started.error().stage, started.error().error);
  Stdio& stdio = started->stdio;
  session.setOutput(std::move(stdio.out), std::move(stdio.err), stdio.tty);
  session.setStdin(std::move(stdio.in));
  session.started(started->pid);
  dropStartupPages();
  int status = session.runUntilExit();
  session.finish(exitJson(status, false, started->startedAt, session.finishedAt(), started->pid));
  return 0;
}

}  // namespace berth::monitor
