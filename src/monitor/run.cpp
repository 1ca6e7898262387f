#include "monitor/run.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/memory.h"
#include "common/trace.h"
#include "common/util.h"
#include "monitor/exec.h"
#include "monitor/external.h"
#include "monitor/lock.h"
#include "monitor/session.h"
#include "monitor/stdio.h"
#include "runtime/cgroups.h"
#include "runtime/launch.h"
#include "runtime/mounts.h"

namespace berth::monitor {

using runtime::Cgroup;
using runtime::Launch;
using runtime::LaunchPlan;

namespace {

// Adds fd 3 as the first client when berthd passed one.
void adoptFd3(Session& s) {
  int type = 0;
  socklen_t len = sizeof type;
  if (::fcntl(3, F_GETFD) < 0) return;
  if (::getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return;
  s.addClient(UniqueFd(3));
}

void becomeMonitor() {
  if (::getsid(0) != ::getpid()) ::setsid();
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

int failStart(Session& s, Stage stage, const Error& e) {
  logError(e.message);
  s.broadcast(MsgType::StartError, encodeStartError(stage, e.err, e.message));
  s.finish("", 2000);
  return 1;
}

// parse(text), where the seccomp profile at `path` (the result's `field`)
// is compiled into `program`. The profile is most of such a text: when an
// earlier start kept a program under its exact text (runtime::memberSpan,
// cachedSeccompForText), the text is parsed without it and that program
// taken. Otherwise, after a full parse the program comes from the profile
// (compileSeccompCached) and is kept under its text too, once the text
// without it is seen to hold no other such member. Errors: the parse's
// (Stage::Config) or the compile's (Stage::Process).
template <class T, class Parse>
std::expected<T, std::pair<Stage, Error>> parseWithSeccomp(const std::string& text,
                                                           std::initializer_list<std::string_view> path,
                                                           const std::string& cache, Parse parse,
                                                           std::optional<runtime::Seccomp> T::*field,
                                                           std::optional<runtime::SeccompProgram>& program) {
  auto at = runtime::memberSpan(text, path);
  std::string without;
  std::string_view profileText;
  if (at) {
    profileText = std::string_view(text).substr(at->first, at->second);
    without = text.substr(0, at->first) + "null" + text.substr(at->first + at->second);
    if (auto prog = runtime::cachedSeccompForText(profileText, cache)) {
      Result<T> rest = parse(without);
      if (rest && !((*rest).*field)) {
        program = std::move(prog);
        return std::move(*rest);
      }
    }
  }
  Result<T> full = parse(text);
  if (!full) return std::unexpected(std::pair{Stage::Config, full.error()});
  if (const auto& profile = (*full).*field) {
    auto prog = runtime::compileSeccompCached(*profile, cache);
    if (!prog) return std::unexpected(std::pair{Stage::Process, prog.error()});
    program = std::move(*prog);
    if (at) {
      Result<T> rest = parse(without);
      if (rest && !((*rest).*field)) runtime::cacheSeccompForText(profileText, *program, cache);
    }
  }
  return std::move(*full);
}

int gSpareHostNetns = -1;

int nsFlag(const std::string& type) {
  if (type == "pid") return CLONE_NEWPID;
  if (type == "mount") return CLONE_NEWNS;
  if (type == "uts") return CLONE_NEWUTS;
  if (type == "ipc") return CLONE_NEWIPC;
  if (type == "network") return CLONE_NEWNET;
  if (type == "cgroup") return CLONE_NEWCGROUP;
  if (type == "user") return CLONE_NEWUSER;
  return 0;
}

}  // namespace

void setSpareHostNetns(int fd) { gSpareHostNetns = fd; }

std::string exitJson(int st, bool oom, int64_t startedAt, int64_t finishedAt, pid_t pid) {
  int code = 0, sig = 0;
  if (WIFEXITED(st)) code = WEXITSTATUS(st);
  else if (WIFSIGNALED(st)) {
    sig = WTERMSIG(st);
    code = 128 + sig;
  }
  return fmt::format(R"({{"ExitCode":{},"Signal":{},"OOMKilled":{},"StartedAt":{},"FinishedAt":{},"Pid":{}}})", code,
                     sig, oom ? "true" : "false", startedAt, finishedAt, pid);
}

int runContainer(const RunOptions& o) {
  becomeMonitor();
  Session session;
  if (auto r = session.init(); !r) {
    logError(r.error().message);
    return 1;
  }
  adoptFd3(session);
  // One monitor per container, ever (monitor/lock.h): before the socket, so
  // a refused second monitor never unlinks the first one's socket.
  {
    UniqueFd lock;
    if (o.lockFd >= 0) {
      lock.reset(o.lockFd);
      ::fcntl(lock.get(), F_SETFD, FD_CLOEXEC);
      if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0)
        return failStart(session, Stage::Config, Error{Code::Conflict, errno, "container is already running"});
    } else {
      auto l = tryLock(o.bundle);
      if (!l) return failStart(session, Stage::Config, l.error().code == Code::Conflict
                                                           ? Error{Code::Conflict, EBUSY, "container is already running"}
                                                           : l.error());
      lock = std::move(*l);
    }
    writeLockOwner(lock.get(), ::getpid());
    session.holdLock(std::move(lock));
  }
  if (!o.socket.empty()) {
    if (auto r = session.listen(o.socket); !r) return failStart(session, Stage::Config, r.error());
  }

  // exit.json describes this run only once it exists.
  ::unlink((o.bundle + "/exit.json").c_str());
  auto text = readFile(o.bundle + "/config.json");
  if (!text) return failStart(session, Stage::Config, text.error());
  // Shared by the containers of one data-root: <data-root>/containers/.seccomp-cache
  const std::string seccompCache = o.bundle + "/../.seccomp-cache";
  // With the built-in runtime, linux.seccomp compiled (or taken from the
  // cache by its text) here.
  std::optional<runtime::SeccompProgram> seccomp;
  auto parseConfig = [&](std::string_view t) { return runtime::parseSpec(t, o.bundle); };
  Result<runtime::Spec> spec = makeError(Code::Internal, "config.json not parsed");
  if (o.runtime.empty()) {
    auto parsed = parseWithSeccomp(*text, {"linux", "seccomp"}, seccompCache, parseConfig, &runtime::Spec::seccomp,
                                   seccomp);
    if (!parsed) return failStart(session, parsed.error().first, parsed.error().second);
    spec = std::move(*parsed);
  } else {
    spec = parseConfig(*text);
    if (!spec) return failStart(session, Stage::Config, spec.error());
  }
  // A spare's fresh network namespace (setSpareHostNetns): kept for a
  // container that wants a new one and runs with the built-in runtime.
  bool inFreshNetns = false;
  if (gSpareHostNetns >= 0) {
    bool wantsNew = o.runtime.empty() && std::any_of(spec->namespaces.begin(), spec->namespaces.end(), [](const auto& ns) {
      return ns.type == "network" && ns.path.empty();
    });
    if (wantsNew) inFreshNetns = true;
    else if (::setns(gSpareHostNetns, CLONE_NEWNET) != 0)
      return failStart(session, Stage::Clone, sysError(errno, "setns back to the host network namespace").error());
    ::close(gSpareHostNetns);
    gSpareHostNetns = -1;
  }
  if (!o.runtime.empty()) {
    if (o.gateFd >= 0)
      return failStart(session, Stage::Config,
                       Error{Code::InvalidArgument, EINVAL, "--gate-fd works with the built-in runtime only"});
    return runWithRuntime(session, o, *spec);
  }
  const runtime::Process& proc = spec->process;

  // The start timeline: spans under key "" here, the child's in `slots`.
  const bool tracing = trace::on();
  int64_t* slots = nullptr;
  trace::Phases phase("");
  if (tracing) {
    trace::record("", "monitor exec", o.traceSpawnAt, o.traceMainAt);
    trace::record("", "monitor setup", o.traceMainAt, phase.last());
    void* m = ::mmap(nullptr, sizeof(int64_t) * runtime::kTraceSlots, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED) slots = static_cast<int64_t*>(std::memset(m, 0, sizeof(int64_t) * runtime::kTraceSlots));
  }
  ScopeExit unmapSlots([&] {
    if (slots) ::munmap(slots, sizeof(int64_t) * runtime::kTraceSlots);
  });

  // The cgroups are made after clone, while the child sets up its root
  // (LaunchPlan::setupBeforeRelease); here only their directories.
  auto cg = Cgroup::plan(o.cgroupRoot, spec->cgroupsPath);
  if (!cg) return failStart(session, Stage::Cgroup, cg.error().wrap("create cgroup"));
  ScopeExit removeCgroup([&] { (void)cg->remove(); });

  // A terminal comes from the container's own devpts: the child opens it
  // and sends the master back over consoleSock (runtime/launch.h).
  Result<Stdio> stdio = proc.terminal ? Result<Stdio>(Stdio{}) : makeStdio(false, spec->stdinWanted(), 0, 0);
  if (!stdio) return failStart(session, Stage::Stdio, stdio.error());
  stdio->tty = proc.terminal;
  UniqueFd consoleParent, consoleChild;
  if (proc.terminal) {
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
      return failStart(session, Stage::Stdio, sysError(errno, "socketpair").error());
    consoleParent.reset(sp[0]);
    consoleChild.reset(sp[1]);
  }

  LaunchPlan plan;
  plan.spec = &*spec;
  std::vector<UniqueFd> nsFds;
  for (const auto& ns : spec->namespaces) {
    int flag = nsFlag(ns.type);
    if (!flag) continue;
    if (ns.path.empty()) {
      if (flag == CLONE_NEWCGROUP) plan.newCgroupNs = true;
      else if (!(flag == CLONE_NEWNET && inFreshNetns)) plan.cloneFlags |= flag;
      if (flag == CLONE_NEWNET) plan.newNetns = true;
      continue;
    }
    UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return failStart(session, Stage::Clone, sysError(errno, "open namespace {}", ns.path).error());
    if (flag == CLONE_NEWPID) {
      // pid namespaces apply to children: join before clone.
      if (::setns(fd.get(), CLONE_NEWPID) != 0)
        return failStart(session, Stage::Clone, sysError(errno, "setns {}", ns.path).error());
    } else {
      plan.joins.emplace_back(fd.get(), flag);
    }
    nsFds.push_back(std::move(fd));
  }
  // The child needs its own mount namespace to set up a root.
  plan.cloneFlags |= CLONE_NEWNS;
  plan.mounts = runtime::effectiveMounts(*spec);
  runtime::prepareProcess(plan, proc);
  if (plan.caps) {
    // --privileged on a host whose bounding set lacks some capability (no
    // CAP_SYS_RESOURCE here): grant what the host has and say what is left out.
    uint64_t missing = plan.caps->bounding & ~runtime::currentPermitted();
    std::string names;
    for (int c = 0; c <= plan.lastCap; c++)
      if (missing & (uint64_t(1) << c)) names += (names.empty() ? "" : ", ") + runtime::capName(c);
    if (!names.empty()) logError("note: capabilities the host does not grant were left out: " + names);
  }
  if (seccomp) plan.seccomp = &*seccomp;
  plan.stdio = stdio->childFds();
  plan.consolePath = stdio->slavePath;
  plan.consoleSocket = consoleChild ? consoleChild.get() : -1;
  plan.setupBeforeRelease = true;
  plan.cgroupTasksFiles = cg->tasksFiles();
  // A cgroup tree on v1: the hierarchies come from here, read while the
  // child mounts (it would read /proc/self/mountinfo on its critical path).
  constexpr size_t kHierarchiesSize = 4096;
  char* hierarchies = nullptr;
  bool cgroupTree = !cg->v2() && std::any_of(plan.mounts.begin(), plan.mounts.end(),
                                             [](const runtime::Mount& m) { return m.type == "cgroup"; });
  if (cgroupTree) {
    void* m = ::mmap(nullptr, kHierarchiesSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED) hierarchies = static_cast<char*>(std::memset(m, 0, sizeof(uint32_t)));
  }
  ScopeExit unmapHierarchies([&] {
    if (hierarchies) ::munmap(hierarchies, kHierarchiesSize);
  });
  plan.cgroupHierarchiesShared = hierarchies;
  plan.cgroupHierarchiesSize = hierarchies ? kHierarchiesSize : 0;
  plan.traceSlots = slots;
  // A warm start: the child waits at the gate before execve (LaunchPlan).
  if (o.gateFd >= 0) {
    ::fcntl(o.gateFd, F_SETFD, FD_CLOEXEC);
    plan.gateFd = o.gateFd;
  }
  if (tracing) phase("plan, seccomp load");
  const int64_t tClone = phase.last();

  auto launch = Launch::start(plan);
  if (!launch) return failStart(session, Stage::Clone, launch.error());
  stdio->closeChildEnds();
  consoleChild.reset();
  nsFds.clear();
  pid_t pid = launch->pid();
  // Holding the container's mount namespace (created by clone) moves its
  // teardown (unmounting the overlay syncs the upper fs: tens of ms) out of
  // the init's exit, to after Exit has been sent.
  UniqueFd mntNs(::open(fmt::format("/proc/{}/ns/mnt", pid).c_str(), O_RDONLY | O_CLOEXEC));
  auto abort = [&](Stage stage, const Error& e) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ::unlink((o.bundle + "/state.json").c_str());
    return failStart(session, stage, e);
  };
  if (auto r = cg->make(spec->resources); !r) return abort(Stage::Cgroup, r.error().wrap("create cgroup"));
  if (cg->v2()) {
    if (auto r = cg->addProcess(pid); !r) return abort(Stage::Cgroup, r.error());
  }
  if (hierarchies) {
    // Unread or too long: the length stays 0 and the child reads it itself.
    if (auto info = readFile("/proc/self/mountinfo")) {
      std::string text = runtime::cgroupV1Hierarchies(*info);
      if (!text.empty() && text.size() <= kHierarchiesSize - sizeof(uint32_t)) {
        uint32_t len = uint32_t(text.size());
        std::memcpy(hierarchies + sizeof len, text.data(), len);
        std::memcpy(hierarchies, &len, sizeof len);
      }
    }
  }
  // The child joins through fds opened here (while it mounts) rather than
  // by path on its own critical path; without them it opens the paths.
  std::vector<UniqueFd> tasks;
  if (auto t = cg->openSelfAttachFds(); t && t->size() <= runtime::kMaxReleaseFds) tasks = std::move(*t);
  std::vector<int> tasksFds;
  for (const auto& fd : tasks) tasksFds.push_back(fd.get());
  auto released = launch->release(tasksFds);
  tasks.clear();
  if (auto f = released) {
    // A child that failed on its own meanwhile (a mount) closed the pipe:
    // its report says more than the broken pipe.
    if (f->err == EPIPE || f->err == ECONNRESET)
      if (auto own = launch->waitExec()) f = own;
    return abort(f->stage, Error{Code::Internal, f->err, f->message});
  }
  // While the child sets up its root: state.json and the log file. A warm
  // start writes state.json once the gate opened (its StartedAt is the
  // start's, and a restored berthd must not read a started container in
  // it meanwhile).
  if (tracing) phase("cgroup");
  int64_t startedAt = 0;
  auto writeState = [&] {
    startedAt = nowNanos();
    auto st = writeFileReplace(o.bundle + "/state.json",
                               fmt::format(R"({{"Pid":{},"MonitorPid":{},"StartedAt":{}}})", pid, ::getpid(), startedAt));
    if (!st) logError(st.error().message);
  };
  if (o.gateFd < 0) writeState();
  std::optional<JsonLogWriter> log;
  {
    if (o.logNone) {
      log.emplace();
    } else {
      auto w = JsonLogWriter::open(o.log.empty() ? o.bundle + "/" + o.id + "-json.log" : o.log, o.logMaxSize,
                                   o.logMaxFile, o.logCompress, o.logCri ? LogFormat::Cri : LogFormat::Json);
      if (!w) return abort(Stage::Stdio, w.error());
      log = std::move(*w);
    }
  }
  if (tracing) phase("state.json, log open");
  if (auto f = launch->waitExec()) {
    ::waitpid(pid, nullptr, 0);
    ::unlink((o.bundle + "/state.json").c_str());
    return failStart(session, f->stage, Error{Code::Internal, f->err, f->message});
  }
  int64_t tExec = tracing ? trace::now() : 0;
  if (o.gateFd >= 0) {
    ::close(o.gateFd);
    writeState();
  }
  if (slots) {
    using namespace runtime;
    auto child = [&](const char* name, int64_t s, int64_t e) {
      // clamped: a span that starts on one clock reading and ends on
      // another process's ("clone", "exec") is never negative
      if (s && e) trace::add("", {trace::Span{"", "init", name, s, std::max(s, e)}});
    };
    // clone: from the monitor's clone() to the child's first instruction
    child("clone", tClone, slots[kTraceChildStart]);
    child("namespaces joined", slots[kTraceChildStart], slots[kTraceCgroupJoined]);
    child("mounts and pivot_root", slots[kTraceMountsStart], slots[kTraceMountsEnd]);
    // within the mounts: from the wait for the monitor's release (its
    // cgroups made) to the cgroups joined
    child("cgroup join", slots[kTraceReleaseWait], slots[kTraceCgroupPlaced]);
    child("seccomp", slots[kTraceSeccompStart], slots[kTraceSeccompEnd]);
    child("exec", slots[kTraceExec], tExec);
  }
  if (consoleParent) {
    // The child sent its pty master before it exec'd.
    auto master = recvFd(consoleParent.get());
    if (!master) return abort(Stage::Stdio, master.error());
    if (proc.consoleHeight || proc.consoleWidth) {
      winsize ws{proc.consoleHeight, proc.consoleWidth, 0, 0};
      ::ioctl(master->get(), TIOCSWINSZ, &ws);
    }
    stdio->out = std::move(*master);
    consoleParent.reset();
  }
  session.setOutput(std::move(stdio->out), std::move(stdio->err), stdio->tty);
  session.setStdin(std::move(stdio->in));
  session.setLog(&*log);
  // Execs run from here (ExecStart): no monitor process per exec.
  session.setExecLauncher([&](std::string_view json) -> std::expected<Session::ExecLaunch, Session::ExecLaunchError> {
    std::optional<runtime::SeccompProgram> program;
    auto p = parseWithSeccomp(std::string(json), {"berthSeccomp"}, seccompCache,
                              [](std::string_view t) { return runtime::parseProcess(t); },
                              &runtime::Process::berthSeccomp, program);
    if (!p) return std::unexpected(Session::ExecLaunchError{p.error().first, p.error().second});
    auto r = startExec(*p, pid, *cg, seccompCache, false, program ? &*program : nullptr);
    if (!r) return std::unexpected(Session::ExecLaunchError{r.error().stage, r.error().error});
    Session::ExecLaunch l;
    l.pid = r->pid;
    l.tty = r->stdio.tty;
    l.out = std::move(r->stdio.out);
    l.err = std::move(r->stdio.err);
    l.in = std::move(r->stdio.in);
    l.startedAt = r->startedAt;
    return l;
  });
  session.setFeatures(kFeatureExec);
  session.started(pid);
  // The child has installed its filter: the program is garbage now.
  plan.seccomp = nullptr;
  seccomp.reset();
  dropStartupPages();

  int status = session.runUntilExit();
  session.endExecs();
  bool oom = cg->oomKilled();
  std::string exit = exitJson(status, oom, startedAt, session.finishedAt(), pid);
  if (auto r = writeFileReplace(o.bundle + "/exit.json", exit); !r) logError(r.error().message);
  if (tracing) {
    if (int64_t t = session.firstOutputMono()) trace::record("", "first output byte", t, t);
    int64_t reaped = session.reapedMono() ? session.reapedMono() : trace::now();
    trace::record("", "process runs", tExec, reaped);
    trace::record("", "exit: reap to Exit", reaped, trace::now());
    if (auto r = writeFileReplace(o.bundle + "/trace.jsonl", trace::toLines(trace::take(""))); !r)
      logError(r.error().message);
  }
  // Exit goes out now; the sockets close (EOF) only once the mount
  // namespace and the cgroup are gone, so EOF means "fully cleaned up".
  // Nobody new connects meanwhile (dropping the mount namespace can take
  // long: the overlay's unmount syncs the upper file system).
  session.broadcast(MsgType::Exit, exit);
  session.stopListening();
  mntNs.reset();
  removeCgroup.dismiss();
  // The init is dead. A container with a PID namespace of its own took its
  // processes with it; one without (--pid host, --pid container:X, a pod
  // container sharing the sandbox's) may have left some in its cgroup:
  // they go too, as containerd's shim kills them for a shared PID namespace.
  cg->killAll();
  if (auto r = cg->remove(); !r) logError(r.error().message);
  session.finish("");
  return 0;
}

}  // namespace berth::monitor
