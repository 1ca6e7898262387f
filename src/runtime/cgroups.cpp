#include "runtime/cgroups.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>

#include "common/fd.h"
#include "common/number.h"
#include "common/util.h"

namespace berth::runtime {

namespace {

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

Result<> writeValue(const std::string& path, std::string_view value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC);
  if (fd < 0) return sysError(errno, "open {}", path);
  ssize_t n = ::write(fd, value.data(), value.size());
  int e = errno;
  ::close(fd);
  if (n < 0) return sysError(e, "write {:s} to {}", std::string(value), path);
  return {};
}

// Writes when the file exists; a missing knob (kernel without it) is skipped.
Result<> writeOptional(const std::string& dir, const char* file, std::string_view value) {
  std::string p = dir + "/" + file;
  if (!exists(p)) return {};
  return writeValue(p, value);
}

std::string readTrim(const std::string& path) {
  auto r = readFile(path);
  return r ? trim(*r) : std::string();
}

// mkdir -p below base; cpuset levels get cpus/mems copied from their parent.
Result<> makeDirs(const std::string& base, const std::string& rel, bool cpuset) {
  std::string cur = base;
  for (const auto& part : split(rel, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") return errorf(Code::InvalidArgument, "cgroup path {} contains ..", rel);
    std::string parent = cur;
    cur += "/" + part;
    bool made = ::mkdir(cur.c_str(), 0755) == 0;
    if (!made && errno != EEXIST) return sysError(errno, "mkdir {}", cur);
    if (cpuset) {
      for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
        // A cpuset we just made is empty (or, with the parent's
        // cgroup.clone_children, already the parent's: written again alike).
        if (!made && !readTrim(cur + "/" + f).empty()) continue;
        std::string v = readTrim(parent + "/" + f);
        if (!v.empty()) TRY(writeValue(cur + "/" + f, v));
      }
    }
  }
  return {};
}

std::string deviceRule(const DeviceRule& d) {
  if (d.type == "a" && d.major < 0 && d.minor < 0) return "a *:* " + d.access;
  std::string maj = d.major < 0 ? "*" : std::to_string(d.major);
  std::string min = d.minor < 0 ? "*" : std::to_string(d.minor);
  return d.type + " " + maj + ":" + min + " " + d.access;
}

Result<> applyV1(const std::string& controller, const std::string& dir, const Resources& r) {
  if (controller == "memory") {
    if (r.memoryLimit) TRY(writeValue(dir + "/memory.limit_in_bytes", std::to_string(*r.memoryLimit)));
    if (r.memorySwap) TRY(writeOptional(dir, "memory.memsw.limit_in_bytes", std::to_string(*r.memorySwap)));
    if (r.memoryReservation) TRY(writeValue(dir + "/memory.soft_limit_in_bytes", std::to_string(*r.memoryReservation)));
  } else if (controller == "cpu") {
    if (r.cpuShares && *r.cpuShares) TRY(writeValue(dir + "/cpu.shares", std::to_string(*r.cpuShares)));
    if (r.cpuPeriod && *r.cpuPeriod) TRY(writeOptional(dir, "cpu.cfs_period_us", std::to_string(*r.cpuPeriod)));
    if (r.cpuQuota && *r.cpuQuota) TRY(writeOptional(dir, "cpu.cfs_quota_us", std::to_string(*r.cpuQuota)));
  } else if (controller == "pids") {
    if (r.pidsLimit) TRY(writeValue(dir + "/pids.max", *r.pidsLimit > 0 ? std::to_string(*r.pidsLimit) : "max"));
  } else if (controller == "cpuset") {
    if (r.cpusetCpus) TRY(writeValue(dir + "/cpuset.cpus", *r.cpusetCpus));
    if (r.cpusetMems) TRY(writeValue(dir + "/cpuset.mems", *r.cpusetMems));
  } else if (controller == "blkio") {
    if (r.blkioWeight && *r.blkioWeight) TRY(writeOptional(dir, "blkio.weight", std::to_string(*r.blkioWeight)));
  } else if (controller == "devices") {
    // One open per file, one write per rule (the kernel takes one rule a write).
    UniqueFd fds[2];
    for (const auto& d : r.devices) {
      std::string path = dir + (d.allow ? "/devices.allow" : "/devices.deny");
      UniqueFd& fd = fds[d.allow ? 1 : 0];
      if (!fd) fd.reset(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC));
      if (!fd) return sysError(errno, "open {}", path);
      std::string rule = deviceRule(d);
      if (::write(fd.get(), rule.data(), rule.size()) < 0) return sysError(errno, "write {:s} to {}", rule, path);
    }
  }
  return {};
}

Result<> applyV2(const std::string& dir, const Resources& r) {
  if (r.memoryLimit) TRY(writeOptional(dir, "memory.max", *r.memoryLimit > 0 ? std::to_string(*r.memoryLimit) : "max"));
  if (r.memorySwap && r.memoryLimit && *r.memorySwap > 0 && *r.memoryLimit > 0)
    TRY(writeOptional(dir, "memory.swap.max", std::to_string(*r.memorySwap - *r.memoryLimit)));
  if (r.memoryReservation) TRY(writeOptional(dir, "memory.low", std::to_string(*r.memoryReservation)));
  if (r.cpuShares && *r.cpuShares) {
    uint64_t w = 1 + ((*r.cpuShares - 2) * 9999) / 262142;
    TRY(writeOptional(dir, "cpu.weight", std::to_string(w)));
  }
  if ((r.cpuQuota && *r.cpuQuota) || (r.cpuPeriod && *r.cpuPeriod)) {
    std::string q = r.cpuQuota && *r.cpuQuota > 0 ? std::to_string(*r.cpuQuota) : "max";
    TRY(writeOptional(dir, "cpu.max", q + " " + std::to_string(r.cpuPeriod && *r.cpuPeriod ? *r.cpuPeriod : 100000)));
  }
  if (r.pidsLimit) TRY(writeOptional(dir, "pids.max", *r.pidsLimit > 0 ? std::to_string(*r.pidsLimit) : "max"));
  if (r.cpusetCpus) TRY(writeOptional(dir, "cpuset.cpus", *r.cpusetCpus));
  if (r.cpusetMems) TRY(writeOptional(dir, "cpuset.mems", *r.cpusetMems));
  return {};
}

}  // namespace

std::string joinCgroupPath(const std::string& root, const std::string& path) {
  std::string out = root;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  for (const auto& part : split(path, '/')) {
    if (part.empty() || part == ".") continue;
    out += "/" + part;
  }
  return out;
}

const std::vector<std::string>& Cgroup::v1Controllers() {
  static const std::vector<std::string> kList = {"memory", "cpu",     "cpuacct", "pids",
                                                 "cpuset", "blkio",   "devices", "freezer"};
  return kList;
}

Result<Cgroup> Cgroup::plan(const std::string& root, const std::string& path) {
  Cgroup cg;
  if (path.empty()) return cg;
  cg.root_ = root;
  cg.path_ = path;
  if (exists(root + "/cgroup.controllers")) {
    cg.v2_ = true;
    for (const auto& p : split(path, '/'))
      if (p == "..") return errorf(Code::InvalidArgument, "cgroup path {} contains ..", path);
    cg.dirs_.push_back(joinCgroupPath(root, path));
    cg.memoryDir_ = cg.dirs_.back();
    return cg;
  }
  std::vector<std::pair<dev_t, ino_t>> seen;
  for (const auto& c : v1Controllers()) {
    std::string base = root + "/" + c;
    struct stat st;
    if (::stat(base.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    // cpu and cpuacct may be one hierarchy (cpu -> cpu,cpuacct).
    bool dup = false;
    for (const auto& [d, i] : seen) dup |= (d == st.st_dev && i == st.st_ino);
    std::string dir = joinCgroupPath(base, path);
    if (!dup) {
      seen.emplace_back(st.st_dev, st.st_ino);
      cg.dirs_.push_back(dir);
    }
    if (c == "memory") cg.memoryDir_ = dir;
    cg.controllers_.push_back({c, std::move(dir), !dup});
  }
  return cg;
}

Result<> Cgroup::make(const Resources& res) {
  if (path_.empty()) return {};
  if (v2_) {
    // Enable the controllers we use in every ancestor's subtree_control.
    std::string avail = readTrim(root_ + "/cgroup.controllers");
    std::string enable;
    for (const auto& c : split(avail, ' '))
      if (c == "memory" || c == "cpu" || c == "pids" || c == "cpuset" || c == "io") enable += "+" + c + " ";
    std::string cur = root_;
    for (const auto& p : split(path_, '/')) {
      if (p.empty() || p == ".") continue;
      if (!enable.empty()) (void)writeValue(cur + "/cgroup.subtree_control", trim(enable));
      cur += "/" + p;
      if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return sysError(errno, "mkdir {}", cur);
    }
    return applyV2(cur, res);
  }
  // On failure the leaves made so far go again; the plan stays.
  std::vector<std::string> made;
  ScopeExit undo([&] {
    for (auto it = made.rbegin(); it != made.rend(); ++it) ::rmdir(it->c_str());
  });
  for (const auto& c : controllers_) {
    if (c.own) {
      std::string base = root_ + "/" + c.controller;
      TRY(makeDirs(base, path_, c.controller == "cpuset"));
      made.push_back(c.dir);
    }
    TRY(applyV1(c.controller, c.dir, res));
  }
  undo.dismiss();
  return {};
}

std::vector<std::string> Cgroup::tasksFiles() const {
  std::vector<std::string> out;
  if (v2_) return out;
  for (const auto& d : dirs_) out.push_back(d + "/tasks");
  return out;
}

Result<Cgroup> Cgroup::create(const std::string& root, const std::string& path, const Resources& res) {
  TRY_ASSIGN(Cgroup cg, plan(root, path));
  TRY(cg.make(res));
  return cg;
}

Cgroup Cgroup::existing(const std::string& root, const std::string& path) {
  Cgroup cg;
  if (exists(root + "/cgroup.controllers")) {
    cg.v2_ = true;
    cg.dirs_.push_back(joinCgroupPath(root, path));
    cg.memoryDir_ = cg.dirs_.back();
    return cg;
  }
  std::vector<std::pair<dev_t, ino_t>> seen;
  for (const auto& c : v1Controllers()) {
    std::string base = root + "/" + c;
    struct stat st;
    if (::stat(base.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    bool dup = false;
    for (const auto& [d, i] : seen) dup |= (d == st.st_dev && i == st.st_ino);
    if (dup) continue;
    seen.emplace_back(st.st_dev, st.st_ino);
    std::string dir = joinCgroupPath(base, path);
    if (exists(dir)) cg.dirs_.push_back(dir);
    if (c == "memory") cg.memoryDir_ = dir;
  }
  return cg;
}

Result<Cgroup> Cgroup::ofProcess(const std::string& root, pid_t pid) {
  TRY_ASSIGN(auto text, readFile("/proc/" + std::to_string(pid) + "/cgroup"));
  Cgroup cg;
  bool v2Only = exists(root + "/cgroup.controllers");
  for (const auto& line : split(text, '\n')) {
    // hierarchy-id:controller-list:path
    auto a = line.find(':');
    if (a == std::string::npos) continue;
    auto b = line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string ctrls = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (v2Only) {
      if (ctrls.empty()) {
        cg.v2_ = true;
        cg.dirs_.push_back(joinCgroupPath(root, path));
        cg.memoryDir_ = cg.dirs_.back();
      }
      continue;
    }
    for (const auto& c : split(ctrls, ',')) {
      bool wanted = false;
      for (const auto& w : v1Controllers()) wanted |= (w == c);
      if (!wanted) continue;
      std::string dir = joinCgroupPath(root + "/" + c, path);
      if (!exists(dir)) continue;
      cg.dirs_.push_back(dir);
      if (c == "memory") cg.memoryDir_ = dir;
      break;  // one dir per hierarchy
    }
  }
  return cg;
}

Result<> Cgroup::addProcess(pid_t pid) const {
  std::string s = std::to_string(pid);
  for (const auto& d : dirs_) TRY(writeValue(d + "/cgroup.procs", s));
  return {};
}

Result<std::vector<UniqueFd>> Cgroup::openSelfAttachFds() const {
  std::vector<UniqueFd> out;
  if (v2_) return out;
  for (const auto& d : dirs_) {
    std::string p = d + "/tasks";
    UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) return sysError(errno, "open {}", p);
    out.push_back(std::move(fd));
  }
  return out;
}

bool Cgroup::oomKilled() const {
  if (memoryDir_.empty()) return false;
  auto text = readFile(memoryDir_ + (v2_ ? "/memory.events" : "/memory.oom_control"));
  if (!text) return false;
  for (const auto& line : split(*text, '\n')) {
    if (startsWith(line, "oom_kill ")) return numberOr<int64_t>(trim(line.substr(9)), 0) > 0;
  }
  return false;
}

int Cgroup::killAll() const {
  if (dirs_.empty()) return 0;
  int signalled = 0;
  for (int round = 0; round < 3; round++) {
    auto text = readFile(dirs_.front() + "/cgroup.procs");
    if (!text) break;
    int found = 0;
    for (const auto& line : split(*text, '\n')) {
      auto pid = parseNumber<pid_t>(trim(line));
      if (!pid || *pid <= 0) continue;
      if (::kill(*pid, SIGKILL) == 0) found++;
    }
    if (found == 0) break;
    signalled += found;
  }
  return signalled;
}

Result<> Cgroup::remove(int timeoutMs) {
  timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  Result<> res;
  for (const auto& d : dirs_) {
    for (;;) {
      if (::rmdir(d.c_str()) == 0 || errno == ENOENT) break;
      int e = errno;
      timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
      if (e != EBUSY || elapsed >= timeoutMs) {
        if (res) res = sysError(e, "rmdir {}", d);
        break;
      }
      timespec ts{0, 1000000};
      nanosleep(&ts, nullptr);
    }
  }
  dirs_.clear();
  return res;
}

}  // namespace berth::runtime
