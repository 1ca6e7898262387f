// Crash recovery of the container service (docs/crash-safety.md): adopting
// or killing the monitor of a start berthd did not live to record, killing
// what a dead monitor left in its cgroup, thawing what berth froze, and
// `berth system check` for containers.

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "common/log.h"
#include "common/number.h"
#include "common/sha256.h"
#include "common/util.h"
#include "container/cgroup_info.h"
#include "container/service_impl.h"
#include "monitor/lock.h"

namespace berth::container {

using json = nlohmann::json;
using monitor::MsgType;

namespace {

using Clock = std::chrono::steady_clock;

// How long restore waits for the monitor of an interrupted start to answer
// (it may still be setting the container up on a loaded machine).
constexpr int kProbeTimeoutMs = 10000;

struct Probe {
  enum Kind { Started, Ended, Failed, Hung } kind = Failed;
  int pid = 0;
  std::string error;
};

int msLeft(Clock::time_point deadline) {
  auto d = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return d > 0 ? int(d) : 0;
}

// Asks the monitor of bundle dir, listening (or about to) on socketPath,
// where its container is: Started{pid}, Exit, StartError/EOF, or no answer.
Probe probeMonitor(const std::string& socketPath, const std::string& dir, int timeoutMs) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
  std::unique_ptr<MonitorConn> conn;
  for (;;) {
    if (auto c = MonitorConn::connect(socketPath)) {
      conn = std::move(*c);
      break;
    }
    if (monitor::lockState(dir) != monitor::LockState::Held) return {Probe::Failed, 0, ""};
    if (msLeft(deadline) == 0) return {Probe::Hung, 0, "the monitor never listened"};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!conn->send(MsgType::Hello)) return {Probe::Failed, 0, ""};
  for (;;) {
    pollfd p{conn->fd(), POLLIN, 0};
    int n = ::poll(&p, 1, msLeft(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return {Probe::Hung, 0, "the monitor did not answer"};
    auto m = conn->recv();
    if (!m) return {Probe::Failed, 0, ""};
    switch (m->type) {
      case MsgType::Started: return {Probe::Started, payloadInt(m->payload), ""};
      case MsgType::Exit: {
        json doc = json::parse(m->payload, nullptr, false);
        return {Probe::Ended, doc.is_object() ? doc.value("Pid", 0) : 0, ""};
      }
      case MsgType::StartError:
        return {Probe::Failed, 0, m->payload.size() > 8 ? m->payload.substr(8) : std::string("start failed")};
      default: break;  // output: keep reading
    }
  }
}

// Whether /proc/PID/cmdline is a run-mode monitor of bundle dir.
bool isMonitorOf(pid_t pid, const std::string& dir) {
  if (pid <= 0) return false;
  auto cmd = readFile(fmt::format("/proc/{}/cmdline", pid));
  if (!cmd) return false;
  return cmd->find(std::string("\0--bundle\0", 10) + dir + std::string("\0", 1)) != std::string::npos;
}

std::string cgroupPathFromBundle(const std::string& dir) {
  auto text = readFile(dir + "/config.json");
  if (!text) return "";
  auto j = json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("linux") || !j["linux"].is_object()) return "";
  return j["linux"].value("cgroupsPath", "");
}

int64_t mtimeNanos(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

bool isContainerId(const std::string& name) { return name.size() == 64 && isHex(name); }

std::vector<std::string> listDir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* ent = ::readdir(d)) {
      std::string n = ent->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
  }
  return out;
}

}  // namespace

void ServiceImpl::removeSpareBundles(bool everyOnDisk) {
  const std::string root = cfg_.dataRoot + "/containers";
  std::vector<std::string> ids;
  {
    std::lock_guard g(spareMu_);
    for (auto& b : spareBundles_) ids.push_back(std::move(b.id));
    spareBundles_.clear();
  }
  if (everyOnDisk) {
    ids.clear();
    for (auto& name : listDir(root))
      if (name.starts_with(kSpareBundlePrefix)) ids.push_back(name.substr(kSpareBundlePrefix.size()));
  }
  for (auto& id : ids) (void)removeAll(root + "/" + std::string(kSpareBundlePrefix) + id);
}

Result<std::unique_ptr<MonitorConn>> ServiceImpl::connectMonitor(const std::string& id) {
  auto deadline = Clock::now() + std::chrono::milliseconds(kProbeTimeoutMs);
  for (;;) {
    auto state = monitor::lockState(dirOf(id));
    if (state == monitor::LockState::Free) return makeError(Code::Unavailable, "the container's monitor is gone");
    auto c = MonitorConn::connect(socketOf(id));
    // No lock file: a monitor of a berthd before the lock; one try.
    if (c || state == monitor::LockState::None || msLeft(deadline) == 0) return c;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void ServiceImpl::killStrayExecMonitors() {
  // An exec's session lives in berthd's memory: after a restart no exec
  // monitor of this data-root has a client, and one caught mid-start (the
  // chaos loop saw it) would wait forever. Its argv: berth-monitor exec
  // --pid N --process <data-root>/containers/<id>/execs/<exec>.json.
  std::string prefix = cfg_.dataRoot + "/containers/";
  for (auto& name : listDir("/proc")) {
    auto pid = parseNumber<pid_t>(name);
    if (!pid || *pid <= 1) continue;
    auto cmd = readFile(fmt::format("/proc/{}/cmdline", *pid));
    if (!cmd) continue;
    std::vector<std::string_view> argv;
    for (size_t at = 0; at < cmd->size();) {
      size_t nul = cmd->find('\0', at);
      if (nul == std::string::npos) nul = cmd->size();
      argv.emplace_back(cmd->data() + at, nul - at);
      at = nul + 1;
    }
    if (argv.size() < 6 || !argv[0].ends_with("berth-monitor") || argv[1] != "exec") continue;
    for (size_t i = 2; i + 1 < argv.size(); i++)
      if (argv[i] == "--process" && argv[i + 1].starts_with(prefix) &&
          argv[i + 1].find("/execs/") != std::string_view::npos) {
        log::warn("killing the exec monitor {} left by the previous berthd", *pid);
        ::kill(*pid, SIGKILL);
        break;
      }
  }
}

void ServiceImpl::killLeftovers(const std::string& id, const std::string& cgroupPath) {
  std::string dir = dirOf(id);
  CgroupInfo cg(cfg_.cgroupRoot, cgroupPath);
  // The container's processes first: a live monitor then reaps its init,
  // records the exit and ends on its own.
  if (!cgroupPath.empty())
    for (pid_t p : cg.allPids()) ::kill(p, SIGKILL);
  if (monitor::lockState(dir) == monitor::LockState::Held) {
    auto deadline = Clock::now() + std::chrono::seconds(2);
    while (monitor::lockState(dir) == monitor::LockState::Held && msLeft(deadline) > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    pid_t owner = monitor::lockOwner(dir);
    if (monitor::lockState(dir) == monitor::LockState::Held && isMonitorOf(owner, dir)) {
      log::warn("container {}: killing its monitor (pid {})", id.substr(0, 12), owner);
      ::kill(owner, SIGKILL);
      deadline = Clock::now() + std::chrono::seconds(5);
      while (monitor::lockState(dir) == monitor::LockState::Held && msLeft(deadline) > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  if (!cgroupPath.empty())
    if (auto r = cg.killAndRemove(); !r) log::warn("container {}: {}", id.substr(0, 12), r.error().message);
  ::unlink(socketOf(id).c_str());
}

bool ServiceImpl::adoptInterruptedStart(const std::shared_ptr<Entry>& e) {
  const std::string id = e->c.id, dir = dirOf(id);
  Probe p = probeMonitor(socketOf(id), dir, kProbeTimeoutMs);
  if (p.kind == Probe::Started || p.kind == Probe::Ended) {
    std::lock_guard lk(mu_);
    if (canTransition(e->c.state.status, State::Running)) {
      json st = json::parse(readFile(dir + "/state.json").value_or("{}"), nullptr, false);
      if (!st.is_object()) st = json::object();
      recordLocked(*e, State::Running);
      e->c.state.pid = p.pid > 0 ? p.pid : st.value("Pid", 0);
      e->c.state.monitorPid = monitor::lockOwner(dir);
      if (e->c.state.monitorPid == 0) e->c.state.monitorPid = st.value("MonitorPid", 0);
      e->c.state.startedAt = st.value("StartedAt", int64_t(0));
      if (e->c.state.startedAt == 0) e->c.state.startedAt = nowNanos();
      e->c.state.finishedAt = 0;
      e->c.state.exitCode = 0;
      e->c.state.error.clear();
      e->c.state.oomKilled = false;
      e->c.state.stoppedByUser = false;
      e->c.state.commitFreeze = false;
      std::string netns = cfg_.execRoot + "/netns/" + id;
      struct stat sb;
      e->c.state.sandboxKey =
          usesSandbox(e->c.hostConfig.value("NetworkMode", "bridge")) && ::stat(netns.c_str(), &sb) == 0 ? netns : "";
      (void)saveLocked(*e);
      log::info("container {}: adopted the monitor of a start berthd did not record (pid {})", e->c.shortId(),
                e->c.state.pid);
      return true;
    }
  }
  std::string cgPath;
  {
    std::lock_guard lk(mu_);
    cgPath = cgroupPathOf(*e);
  }
  log::warn("container {}: interrupted start {}: cleaning up", e->c.shortId(),
            p.kind == Probe::Hung ? "hung (" + p.error + ")" : "failed");
  killLeftovers(id, cgPath);
  if (!p.error.empty() && p.kind == Probe::Failed) {
    std::lock_guard lk(mu_);
    e->c.state.error = p.error;
    (void)saveLocked(*e);
  }
  return false;
}

void ServiceImpl::reconcileFreezerLocked(Entry& e) {
  if (e.c.state.status != State::Running && e.c.state.status != State::Paused) return;
  CgroupInfo cg(cfg_.cgroupRoot, cgroupPathOf(e));
  bool userPaused = e.c.state.status == State::Paused && !e.c.state.commitFreeze;
  if (userPaused) {
    // An unpause that thawed but did not live to record it.
    if (!cg.frozen() && !cg.existingDirs().empty()) {
      recordLocked(e, State::Running);
      (void)saveLocked(e);
    }
    return;
  }
  if (cg.frozen() || e.c.state.commitFreeze) {
    if (auto r = cg.freeze(false); !r) {
      log::error("container {}: thaw after restart: {}", e.c.shortId(), r.error().message);
      return;
    }
    log::info("container {}: thawed the freeze of an interrupted {}", e.c.shortId(),
              e.c.state.commitFreeze ? "commit" : "freeze not recorded as a pause");
  }
  if (e.c.state.status == State::Paused) recordLocked(e, State::Running);
  e.c.state.commitFreeze = false;
  (void)saveLocked(e);
}

std::vector<Problem> ServiceImpl::check(const CheckOptions& opts) {
  std::vector<Problem> out;
  const int64_t now = nowNanos();
  auto oldEnough = [&](const std::string& path) { return now - mtimeNanos(path) >= opts.minAgeNanos; };

  struct Item {
    std::shared_ptr<Entry> e;
    State status;
    std::string cgPath;
  };
  std::vector<Item> items;
  std::set<std::string> known, live;
  {
    std::lock_guard lk(mu_);
    for (auto& [id, e] : byId_) {
      known.insert(id);
      State st = e->c.state.status;
      if (e->busy || st == State::Running || st == State::Paused || st == State::Restarting) live.insert(id);
      // A monitor finishing its run (service_impl.h) still holds the lock.
      // So does a warm start's monitor (service_impl.h).
      if (e->removed || e->busy || e->finishing || e->warm || e->warming) continue;
      items.push_back({e, st, cgroupPathOf(*e)});
    }
  }

  // containers/<id>/ without a record: an interrupted create or rm.
  const std::string root = cfg_.dataRoot + "/containers";
  for (auto& name : listDir(root)) {
    if (!isContainerId(name) || known.contains(name)) continue;
    std::string dir = root + "/" + name;
    if (!oldEnough(dir)) continue;
    Problem p{"container-dir", "containers/" + name, "directory without a container record", false};
    if (opts.repair) {
      killLeftovers(name, cgroupPathFromBundle(dir));
      auto r = removeAll(dir);
      p.repaired = bool(r);
      p.detail += r ? ": removed" : ": " + r.error().message;
    }
    out.push_back(std::move(p));
  }

  for (auto& [e, status, cgPath] : items) {
    bool running = status == State::Running || status == State::Paused || status == State::Restarting;
    // A stopped container is held busy while looked at and repaired: no
    // start or removal of it can run meanwhile (they wait until it is not
    // busy). A running one is not (its exit must see it not busy).
    if (!running) {
      std::lock_guard lk(mu_);
      if (e->removed || e->busy || e->c.state.status != status) continue;
      e->busy = true;
    }
    ScopeExit unbusy([&] {
      if (running) return;
      std::lock_guard lk(mu_);
      e->busy = false;
      cv_.notify_all();
    });
    const std::string id = e->c.id, dir = dirOf(id);
    struct stat sb;
    if (::stat(dir.c_str(), &sb) != 0) {
      Problem p{"container", id, fmt::format("its directory containers/{} is gone", id), false};
      if (running) {
        p.detail += " while it runs";
      } else if (status != State::Dead) {
        p.detail += ": container lost";
        if (opts.repair) {
          std::lock_guard lk(mu_);
          if (!e->removed && transition(e->c.state, State::Removing) &&
              transition(e->c.state, State::Dead)) {
            e->c.state.error = "container directory lost";
            (void)saveLocked(*e);
            p.repaired = true;
            p.detail += ", marked dead";
          }
        }
      } else {
        continue;  // dead already: rm removes the record
      }
      out.push_back(std::move(p));
      continue;
    }
    CgroupInfo cg(cfg_.cgroupRoot, cgPath);
    if (!running) {
      auto pids = cg.allPids();
      bool monitorAlive = monitor::lockState(dir) == monitor::LockState::Held;
      if (monitorAlive || !pids.empty()) {
        Problem p{monitorAlive ? "monitor" : "cgroup", id,
                  monitorAlive ? fmt::format("a monitor (pid {}) runs a container recorded as {}",
                                             monitor::lockOwner(dir), stateName(status))
                               : fmt::format("{} processes in the cgroup of a container recorded as {}", pids.size(),
                                             stateName(status)),
                  false};
        if (opts.repair) {
          killLeftovers(id, cgPath);
          p.repaired = cg.allPids().empty() && monitor::lockState(dir) != monitor::LockState::Held;
          p.detail += p.repaired ? ": killed" : ": could not kill";
        }
        out.push_back(std::move(p));
      } else if (!cg.existingDirs().empty()) {
        Problem p{"cgroup", id, "empty cgroup of a container that does not run", false};
        if (opts.repair) {
          p.repaired = bool(cg.killAndRemove(1000));
          p.detail += p.repaired ? ": removed" : ": could not remove";
        }
        out.push_back(std::move(p));
      }
    } else if (status == State::Running) {
      // Under mu_, which pause/unpause/commit hold from freeze to record.
      std::lock_guard lk(mu_);
      if (e->removed || e->c.state.status != State::Running || !cg.frozen()) continue;
      Problem p{"cgroup", id, "frozen, but the container is not paused", false};
      if (opts.repair) {
        p.repaired = bool(cg.freeze(false));
        p.detail += p.repaired ? ": thawed" : ": could not thaw";
      }
      out.push_back(std::move(p));
    }
  }

  // Network namespaces of containers that do not run.
  const std::string netnsDir = cfg_.execRoot + "/netns";
  for (auto& name : listDir(netnsDir)) {
    if (live.contains(name)) continue;
    Problem p{"netns", name, "network namespace of a container that does not run", false};
    if (opts.repair) {
      Result<> r;
      if (networks_) {
        r = networks_->removeSandbox(name);
      } else {
        std::string path = netnsDir + "/" + name;
        ::umount2(path.c_str(), MNT_DETACH);
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) r = sysError(errno, "unlink {}", path);
      }
      p.repaired = bool(r);
      p.detail += r ? ": removed" : ": " + r.error().message;
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace berth::container
