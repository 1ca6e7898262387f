// run mode through an external OCI runtime (runc, crun): the same
// config.json, driven with `create`, `start`, `delete`. The monitor keeps its
// role: stdio, logs, reaping (it is the subreaper the container's init is
// reparented to) and exit.json.

#include "monitor/external.h"

#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "common/memory.h"
#include "common/number.h"
#include "common/util.h"
#include "monitor/stdio.h"
#include "runtime/cgroups.h"
#include "runtime/mounts.h"

extern char** environ;

namespace berth::monitor {

namespace {

int failStart(Session& s, Stage stage, const Error& e) {
  logError(e.message);
  s.broadcast(MsgType::StartError, encodeStartError(stage, e.err, e.message));
  s.finish("", 2000);
  return 1;
}

// Runs the runtime with args; stdio fds (or /dev/null); waits; returns its status.
Result<int> runTool(const std::vector<std::string>& argv, int in, int out, int err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  int fds[3] = {in, out, err};
  for (int i = 0; i < 3; i++) {
    if (fds[i] >= 0) posix_spawn_file_actions_adddup2(&fa, fds[i], i);
    else posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
  }
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0].c_str(), &fa, &at, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc != 0) return sysError(rc, "exec {}", argv[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return sysError(errno, "wait for {}", argv[0]);
  return status;
}

// The message of a failed runtime command: the last "msg" of its JSON log.
std::string lastLogMessage(const std::string& logPath) {
  auto text = readFile(logPath);
  if (!text) return "";
  std::string msg;
  for (const auto& line : split(*text, '\n')) {
    auto k = line.find("\"msg\":\"");
    if (k == std::string::npos) continue;
    auto end = line.find('"', k + 7);
    while (end != std::string::npos && line[end - 1] == '\\') end = line.find('"', end + 1);
    if (end != std::string::npos) msg = line.substr(k + 7, end - k - 7);
  }
  return msg;
}

}  // namespace

int runWithRuntime(Session& session, const RunOptions& o, const runtime::Spec& spec) {
  std::string name = o.runtime.substr(o.runtime.rfind('/') + 1);
  if (spec.process.terminal)
    return failStart(session, Stage::Stdio,
                     Error{Code::InvalidArgument, 0, "a tty (-t) with --runtime " + name + " is not supported by berth yet"});
  // A private mount namespace: the rootfs overlay lives and dies with us,
  // and (crun on a hybrid cgroup host) the cgroup2 mount can be hidden.
  if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return failStart(session, Stage::Mounts, sysError(errno, "private mount namespace").error());
  if (auto ov = spec.overlay()) {
    std::string data = runtime::overlayData(*ov);
    int r = ::mount("overlay", spec.rootPath.c_str(), "overlay", 0, data.c_str());
    if (r != 0 && errno == EINVAL && ov->volatileUpper) {  // a kernel before 5.10: no "volatile"
      ov->volatileUpper = false;
      r = ::mount("overlay", spec.rootPath.c_str(), "overlay", 0, runtime::overlayData(*ov).c_str());
    }
    if (r != 0)
      return failStart(session, Stage::Mounts, sysError(errno, "mount overlay on {}", spec.rootPath).error());
  }
  if (name == "crun") {
    // crun 1.8 refuses "hybrid" hosts (cgroup v1 + a cgroup2 mount holding
    // hugetlb): hide the cgroup2 mount from it. Pure v1 or v2 hosts are untouched.
    struct stat st;
    if (::stat("/sys/fs/cgroup/unified/cgroup.controllers", &st) == 0) ::umount2("/sys/fs/cgroup/unified", MNT_DETACH);
  }
  auto stdio = makeStdio(false, spec.stdinWanted(), 0, 0);
  if (!stdio) return failStart(session, Stage::Stdio, stdio.error());
  std::string stateRoot = o.bundle + "/runtime-state";
  (void)mkdirAll(stateRoot, 0700);
  std::string logPath = o.bundle + "/runtime.log";
  std::string pidFile = o.bundle + "/runtime.pid";
  ::unlink(pidFile.c_str());
  ::unlink(logPath.c_str());
  std::vector<std::string> base = {o.runtime, "--root", stateRoot, "--log", logPath, "--log-format", "json"};
  auto cmd = [&](std::vector<std::string> rest) {
    std::vector<std::string> a = base;
    a.insert(a.end(), rest.begin(), rest.end());
    return a;
  };
  // A stale container of a previous run under the same id.
  (void)runTool(cmd({"delete", "--force", o.id}), -1, -1, -1);
  auto fds = stdio->childFds();
  auto created = runTool(cmd({"create", "--bundle", o.bundle, "--pid-file", pidFile, o.id}), fds.in, fds.out, fds.err);
  stdio->closeChildEnds();
  auto failed = [&](const std::string& what, int status) {
    std::string msg = lastLogMessage(logPath);
    if (msg.empty()) msg = fmt::format("{} {} failed with status {}", name, what, status);
    (void)runTool(cmd({"delete", "--force", o.id}), -1, -1, -1);
    return failStart(session, Stage::Process, Error{Code::Internal, 0, name + ": " + msg});
  };
  if (!created) return failStart(session, Stage::Process, created.error());
  if (*created != 0) return failed("create", *created);
  auto pidText = readFile(pidFile);
  pid_t pid = pidText ? numberOr<pid_t>(trim(*pidText), 0) : 0;
  if (pid <= 0) return failed("create (no pid file)", 0);
  auto cg = runtime::Cgroup::existing(o.cgroupRoot, spec.cgroupsPath);
  int64_t startedAt = nowNanos();
  auto st = writeFileReplace(o.bundle + "/state.json",
                             fmt::format(R"({{"Pid":{},"MonitorPid":{},"StartedAt":{}}})", pid, ::getpid(), startedAt));
  if (!st) logError(st.error().message);
  auto log = o.logNone ? Result<JsonLogWriter>(JsonLogWriter())
                       : JsonLogWriter::open(o.log.empty() ? o.bundle + "/" + o.id + "-json.log" : o.log,
                                             o.logMaxSize, o.logMaxFile, o.logCompress,
                                             o.logCri ? LogFormat::Cri : LogFormat::Json);
  if (!log) {
    (void)runTool(cmd({"delete", "--force", o.id}), -1, -1, -1);
    return failStart(session, Stage::Stdio, log.error());
  }
  session.setOutput(std::move(stdio->out), std::move(stdio->err), false);
  session.setStdin(std::move(stdio->in));
  session.setLog(&*log);
  auto startedRc = runTool(cmd({"start", o.id}), -1, -1, -1);
  if (!startedRc || *startedRc != 0) {
    ::unlink((o.bundle + "/state.json").c_str());
    return failed("start", startedRc ? *startedRc : -1);
  }
  session.started(pid);
  dropStartupPages();
  int status = session.runUntilExit();
  bool oom = cg.oomKilled();
  std::string exit = exitJson(status, oom, startedAt, session.finishedAt(), pid);
  if (auto r = writeFileReplace(o.bundle + "/exit.json", exit); !r) logError(r.error().message);
  session.broadcast(MsgType::Exit, exit);
  (void)runTool(cmd({"delete", "--force", o.id}), -1, -1, -1);
  if (spec.overlay()) ::umount2(spec.rootPath.c_str(), MNT_DETACH);
  session.finish("");
  return 0;
}

}  // namespace berth::monitor
