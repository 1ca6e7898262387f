// berth-runtime: the built-in runtime as an OCI runtime command line (runc's
// grammar), for the OCI runtime validation tests and for use by hand:
//
//   berth-runtime [--root DIR] create [--bundle DIR] [--pid-file FILE] ID
//   berth-runtime [--root DIR] start ID
//   berth-runtime [--root DIR] state ID
//   berth-runtime [--root DIR] kill ID [SIGNAL]
//   berth-runtime [--root DIR] delete [--force] ID
//   berth-runtime [--root DIR] run [--bundle DIR] [--pid-file FILE] ID
//
// create forks a shim that owns the container's init (clone + setup with the
// same code as berth-monitor); the init then waits on a pipe just before
// execve. start writes to ROOT/ID/exec.fifo, which the shim turns into that
// byte. State lives in ROOT/ID: state.json (pid, bundle), started (the
// process has exec'd), exited (the shim reaped it). The process's stdio is
// create's. No console socket (process.terminal is refused) and no hooks.

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/number.h"
#include "common/util.h"
#include "runtime/cgroups.h"
#include "runtime/launch.h"
#include "runtime/mounts.h"

using namespace berth;
using nlohmann::json;

namespace {

std::string gRoot = "/run/berth-runtime";

int fail(const std::string& msg) {
  std::string line = "berth-runtime: " + msg + "\n";
  (void)!::write(2, line.data(), line.size());
  return 1;
}

int usage() {
  return fail(
      "usage: berth-runtime [--root DIR] create|run [--bundle DIR] [--pid-file FILE] ID\n"
      "       berth-runtime [--root DIR] start|state ID | kill ID [SIGNAL] | delete [--force] ID");
}

std::string dirOf(const std::string& id) { return gRoot + "/" + id; }

bool validId(const std::string& id) {
  if (id.empty() || id == "." || id == "..") return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

bool exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

struct Loaded {
  json state;
  pid_t pid = 0;
  std::string status;  // created, running, stopped
};

// Status from the files and the process: a reaped or dead init is stopped.
Result<Loaded> load(const std::string& id) {
  if (!validId(id)) return errorf(Code::InvalidArgument, "invalid container id \"{}\"", id);
  auto text = readFile(dirOf(id) + "/state.json");
  if (!text) return errorf(Code::NotFound, "container does not exist: {}", id);
  Loaded l;
  l.state = json::parse(*text, nullptr, false);
  if (l.state.is_discarded()) return errorf(Code::Internal, "{}: corrupt state.json", id);
  l.pid = l.state.value("pid", 0);
  bool alive = l.pid > 0 && !exists(dirOf(id) + "/exited") && ::kill(l.pid, 0) == 0;
  if (alive) {
    // A zombie not yet reaped by the shim has exited already.
    auto stat = readFile(fmt::format("/proc/{}/stat", l.pid));
    auto rp = stat ? stat->rfind(')') : std::string::npos;
    if (rp != std::string::npos && rp + 2 < stat->size() && (*stat)[rp + 2] == 'Z') alive = false;
  }
  l.status = !alive ? "stopped" : exists(dirOf(id) + "/started") ? "running" : "created";
  return l;
}

int parseSignal(const std::string& s) {
  static const std::pair<const char*, int> kNames[] = {
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL}, {"USR1", SIGUSR1},
      {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"ALRM", SIGALRM},
      {"PIPE", SIGPIPE}, {"CHLD", SIGCHLD}, {"WINCH", SIGWINCH}};
  if (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
    auto n = parseNumber<int>(s);
    return (n && *n > 0 && *n < 65) ? *n : 0;
  }
  std::string n = s.starts_with("SIG") ? s.substr(3) : s;
  for (auto& [name, sig] : kNames)
    if (n == name) return sig;
  return 0;
}

// The shim: owns the init from clone to reaping. Reports "ok" or an error
// message on reportFd, then waits for start (exec.fifo) and the exit.
[[noreturn]] void shim(const std::string& id, const std::string& bundle, runtime::Spec spec, int reportFd) {
  auto report = [&](const std::string& m) {
    (void)!::write(reportFd, m.data(), m.size());
    ::close(reportFd);
  };
  auto die = [&](const std::string& m) {
    report(m);
    ::_exit(1);
  };
  ::setsid();
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  std::string dir = dirOf(id);
  auto cg = runtime::Cgroup::create("/sys/fs/cgroup", spec.cgroupsPath, spec.resources);
  if (!cg) die("create cgroup: " + cg.error().message);

  runtime::LaunchPlan plan;
  plan.spec = &spec;
  std::vector<UniqueFd> nsFds;
  for (const auto& ns : spec.namespaces) {
    int flag = ns.type == "pid" ? CLONE_NEWPID : ns.type == "mount" ? CLONE_NEWNS : ns.type == "uts" ? CLONE_NEWUTS
             : ns.type == "ipc" ? CLONE_NEWIPC : ns.type == "network" ? CLONE_NEWNET : ns.type == "cgroup" ? CLONE_NEWCGROUP : 0;
    if (!flag) die("namespace type " + ns.type + " is not supported");
    if (ns.path.empty()) {
      if (flag == CLONE_NEWCGROUP) plan.newCgroupNs = true;
      else plan.cloneFlags |= flag;
      if (flag == CLONE_NEWNET) plan.newNetns = true;
      continue;
    }
    UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) die(fmt::format("open namespace {}: {}", ns.path, std::strerror(errno)));
    if (flag == CLONE_NEWPID) {
      if (::setns(fd.get(), CLONE_NEWPID) != 0) die(fmt::format("setns {}: {}", ns.path, std::strerror(errno)));
    } else {
      plan.joins.emplace_back(fd.get(), flag);
    }
    nsFds.push_back(std::move(fd));
  }
  plan.cloneFlags |= CLONE_NEWNS;
  plan.mounts = runtime::effectiveMounts(spec);
  runtime::prepareProcess(plan, spec.process);
  std::optional<runtime::SeccompProgram> seccomp;
  if (spec.seccomp) {
    auto prog = runtime::compileSeccompCached(*spec.seccomp, dir);
    if (!prog) die(prog.error().message);
    seccomp = std::move(*prog);
    plan.seccomp = &*seccomp;
  }
  plan.stdio = {0, 1, 2, false};
  int ready[2], gate[2];
  if (::pipe2(ready, O_CLOEXEC) != 0 || ::pipe2(gate, O_CLOEXEC) != 0) die("pipe: " + std::string(std::strerror(errno)));
  plan.readyFd = ready[1];
  plan.gateFd = gate[0];
  plan.gateWriteFd = gate[1];
  auto attach = cg->openSelfAttachFds();
  if (!attach) die(attach.error().message);
  for (auto& fd : *attach) plan.cgroupSelfAttach.push_back(fd.get());

  auto launch = runtime::Launch::start(plan);
  if (!launch) die(launch.error().message);
  ::close(ready[1]);
  ::close(gate[0]);
  attach->clear();
  nsFds.clear();
  pid_t pid = launch->pid();
  if (cg->v2()) {
    if (auto r = cg->addProcess(pid); !r) {
      ::kill(pid, SIGKILL);
      die(r.error().message);
    }
  }
  if (auto f = launch->release()) die(f->message);
  char b;
  ssize_t n;
  do n = ::read(ready[0], &b, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1) {
    auto f = launch->waitExec();
    ::waitpid(pid, nullptr, 0);
    (void)cg->remove();
    die(f ? f->message : std::string("container init exited during setup"));
  }
  json st = {{"pid", pid}, {"bundle", bundle}, {"created", nowNanos()}, {"cgroupsPath", spec.cgroupsPath}};
  if (auto w = writeFileReplace(dir + "/state.json", st.dump()); !w) {
    ::kill(pid, SIGKILL);
    die(w.error().message);
  }
  int fifo = ::open((dir + "/exec.fifo").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fifo < 0) {
    ::kill(pid, SIGKILL);
    die(fmt::format("open exec.fifo: {}", std::strerror(errno)));
  }
  // Silence: the shim's own stdio must not hold the caller's pipes.
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3; fd++) ::dup2(null, fd);
  report("ok");

  // Wait for start: one byte through exec.fifo (opened before "ok", so
  // start never finds it without a reader; no POLLHUP before a writer came).
  bool started = false;
  {
    pollfd p{fifo, POLLIN, 0};
    while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    do n = ::read(fifo, &b, 1);
    while (n < 0 && errno == EINTR);
    started = n == 1;
    ::close(fifo);
  }
  if (started && ::write(gate[1], "s", 1) == 1) {
    ::close(gate[1]);
    if (auto f = launch->waitExec()) (void)writeFileReplace(dir + "/error", f->message);
    else (void)writeFileReplace(dir + "/started", "");
  } else {
    ::close(gate[1]);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  (void)writeFileReplace(dir + "/exited", fmt::format("{}", status));
  ::_exit(0);
}

int cmdCreate(const std::string& id, std::string bundle, const std::string& pidFile) {
  if (!validId(id)) return fail(fmt::format("invalid container id \"{}\"", id));
  if (bundle.empty()) bundle = ".";
  char buf[4096];
  if (!::realpath(bundle.c_str(), buf)) return fail(fmt::format("bundle {}: {}", bundle, std::strerror(errno)));
  bundle = buf;
  auto text = readFile(bundle + "/config.json");
  if (!text) return fail(text.error().message);
  auto spec = runtime::parseSpec(*text, bundle);
  if (!spec) return fail(spec.error().message);
  if (spec->cgroupsPath.empty()) spec->cgroupsPath = "/berth-runtime/" + id;
  if (spec->process.terminal) return fail("process.terminal needs a console socket, which berth-runtime does not have");
  if (auto r = mkdirAll(gRoot, 0700); !r) return fail(r.error().message);
  std::string dir = dirOf(id);
  if (::mkdir(dir.c_str(), 0700) != 0)
    return fail(errno == EEXIST ? fmt::format("container with id exists: {}", id)
                                : fmt::format("mkdir {}: {}", dir, std::strerror(errno)));
  if (::mkfifo((dir + "/exec.fifo").c_str(), 0600) != 0) {
    int e = errno;
    ::rmdir(dir.c_str());
    return fail(fmt::format("mkfifo: {}", std::strerror(e)));
  }
  int rep[2];
  if (::pipe2(rep, O_CLOEXEC) != 0) return fail("pipe");
  pid_t child = ::fork();
  if (child < 0) return fail(fmt::format("fork: {}", std::strerror(errno)));
  if (child == 0) {
    ::close(rep[0]);
    // Double fork: the shim is not the caller's child (the caller need not reap it).
    if (::fork() != 0) ::_exit(0);
    shim(id, bundle, std::move(*spec), rep[1]);
  }
  ::close(rep[1]);
  ::waitpid(child, nullptr, 0);
  // One read: the message is one write (< PIPE_BUF); the init holds a copy
  // of the pipe until it execs, so no waiting for EOF.
  std::string msg;
  ssize_t n;
  do n = ::read(rep[0], buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  if (n > 0) msg.assign(buf, n);
  ::close(rep[0]);
  if (msg != "ok") {
    (void)removeAll(dir);
    return fail(msg.empty() ? "container setup failed" : msg);
  }
  if (!pidFile.empty()) {
    auto l = load(id);
    if (l) (void)writeFileReplace(pidFile, std::to_string(l->pid));
  }
  return 0;
}

int cmdStart(const std::string& id) {
  auto l = load(id);
  if (!l) return fail(l.error().message);
  if (l->status != "created") return fail(fmt::format("cannot start a container that is {}: {}", l->status, id));
  int fd = ::open((dirOf(id) + "/exec.fifo").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return fail(fmt::format("cannot start container {}: its shim is gone", id));
  bool ok = ::write(fd, "s", 1) == 1;
  ::close(fd);
  if (!ok) return fail(fmt::format("cannot start container {}: {}", id, std::strerror(errno)));
  // Done once the init exec'd (started) or died.
  for (int i = 0; i < 500; i++) {
    if (exists(dirOf(id) + "/started")) return 0;
    if (exists(dirOf(id) + "/exited")) {
      auto err = readFile(dirOf(id) + "/error");
      return fail(fmt::format("container {} did not start: {}", id, err ? *err : std::string("its init exited")));
    }
    ::usleep(10000);
  }
  return fail(fmt::format("container {} did not start within 5s", id));
}

int cmdState(const std::string& id) {
  auto l = load(id);
  if (!l) return fail(l.error().message);
  json out = {{"ociVersion", "1.0.2"},
              {"id", id},
              {"status", l->status},
              {"pid", l->status == "stopped" ? 0 : l->pid},
              {"bundle", l->state.value("bundle", "")}};
  auto text = readFile(l->state.value("bundle", "") + "/config.json");
  if (text) {
    auto cfg = json::parse(*text, nullptr, false);
    if (!cfg.is_discarded() && cfg.contains("annotations") && cfg["annotations"].is_object())
      out["annotations"] = cfg["annotations"];
  }
  std::string s = out.dump(2) + "\n";
  (void)!::write(1, s.data(), s.size());
  return 0;
}

int cmdKill(const std::string& id, const std::string& sigName) {
  int sig = parseSignal(sigName);
  if (!sig) return fail(fmt::format("invalid signal \"{}\"", sigName));
  auto l = load(id);
  if (!l) return fail(l.error().message);
  if (l->status == "stopped") return fail(fmt::format("container not running: {}", id));
  if (::kill(l->pid, sig) != 0) return fail(fmt::format("kill {}: {}", l->pid, std::strerror(errno)));
  return 0;
}

int cmdDelete(const std::string& id, bool force) {
  auto l = load(id);
  if (!l) return fail(l.error().message);
  if (l->status != "stopped") {
    if (!force) return fail(fmt::format("cannot delete container {} that is not stopped: {}", id, l->status));
    ::kill(l->pid, SIGKILL);
  }
  // A created (not started) init is also released by the fifo's EOF: open
  // and close it so the shim stops waiting.
  int fd = ::open((dirOf(id) + "/exec.fifo").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) ::close(fd);
  for (int i = 0; i < 500 && !exists(dirOf(id) + "/exited"); i++) ::usleep(10000);
  if (!exists(dirOf(id) + "/exited")) return fail(fmt::format("container {} did not exit", id));
  auto cg = runtime::Cgroup::existing("/sys/fs/cgroup", l->state.value("cgroupsPath", ""));
  if (!l->state.value("cgroupsPath", "").empty())
    if (auto r = cg.remove(); !r) return fail(r.error().message);
  if (auto r = removeAll(dirOf(id)); !r) return fail(r.error().message);
  return 0;
}

int cmdRun(const std::string& id, const std::string& bundle, const std::string& pidFile) {
  if (int rc = cmdCreate(id, bundle, pidFile)) return rc;
  if (int rc = cmdStart(id)) {
    (void)cmdDelete(id, true);
    return rc;
  }
  while (!exists(dirOf(id) + "/exited")) ::usleep(10000);
  auto st = readFile(dirOf(id) + "/exited");
  int status = st ? numberOr<int>(trim(*st), 0) : 0;
  (void)cmdDelete(id, true);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

int main(int argc, char** argv) {
  for (int fd = 0; fd < 3; fd++)
    if (::fcntl(fd, F_GETFD) < 0) ::open("/dev/null", O_RDWR);
  std::vector<std::string> args(argv + 1, argv + argc);
  size_t i = 0;
  // Global flags (runc's --log/--log-format/--systemd-cgroup are accepted and ignored).
  for (; i < args.size() && args[i].starts_with("--"); i++) {
    std::string a = args[i], val;
    auto eq = a.find('=');
    if (eq != std::string::npos) {
      val = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else if (a != "--systemd-cgroup" && a != "--debug") {
      if (i + 1 >= args.size()) return usage();
      val = args[++i];
    }
    if (a == "--root") gRoot = val;
    else if (a != "--log" && a != "--log-format" && a != "--systemd-cgroup" && a != "--debug") return usage();
  }
  if (i >= args.size()) return usage();
  std::string cmd = args[i++];
  std::string bundle, pidFile;
  bool force = false;
  std::vector<std::string> pos;
  for (; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--bundle" || a == "-b") {
      if (++i >= args.size()) return usage();
      bundle = args[i];
    } else if (a.starts_with("--bundle=")) {
      bundle = a.substr(9);
    } else if (a == "--pid-file") {
      if (++i >= args.size()) return usage();
      pidFile = args[i];
    } else if (a.starts_with("--pid-file=")) {
      pidFile = a.substr(11);
    } else if (a == "--force" || a == "-f") {
      force = true;
    } else if (a.starts_with("-") && a.size() > 1 && !std::isdigit(static_cast<unsigned char>(a[1]))) {
      return usage();
    } else {
      pos.push_back(a);
    }
  }
  if (pos.empty()) return usage();
  const std::string& id = pos[0];
  if (cmd == "create" && pos.size() == 1) return cmdCreate(id, bundle, pidFile);
  if (cmd == "run" && pos.size() == 1) return cmdRun(id, bundle, pidFile);
  if (cmd == "start" && pos.size() == 1) return cmdStart(id);
  if (cmd == "state" && pos.size() == 1) return cmdState(id);
  if (cmd == "kill" && pos.size() <= 2) return cmdKill(id, pos.size() == 2 ? pos[1] : "TERM");
  if (cmd == "delete" && pos.size() == 1) return cmdDelete(id, force);
  return usage();
}
