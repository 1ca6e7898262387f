#include "container/cgroup_info.h"

#include "common/number.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <thread>

#include "common/util.h"

namespace berth::container {

using json = nlohmann::json;

namespace {

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

std::string joinPath(const std::string& base, const std::string& rel) {
  std::string out = base;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  for (const auto& part : split(rel, '/'))
    if (!part.empty() && part != "." && part != "..") out += "/" + part;
  return out;
}

std::string readTrim(const std::string& path) {
  auto r = readFile(path);
  return r ? trim(*r) : std::string();
}

uint64_t readU64(const std::string& path) {
  std::string s = readTrim(path);
  if (s.empty() || s == "max") return 0;
  return numberOr<uint64_t>(s, 0);
}

Result<> writeValue(const std::string& path, const std::string& value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC);
  if (fd < 0) return sysError(errno, "open {}", path);
  ssize_t n = ::write(fd, value.data(), value.size());
  int e = errno;
  ::close(fd);
  if (n < 0) return sysError(e, "write {} to {}", value, path);
  return {};
}

std::optional<int64_t> num(const json& j, const char* a, const char* b) {
  auto x = j.find(a);
  if (x == j.end() || !x->is_object()) return std::nullopt;
  auto y = x->find(b);
  if (y == x->end() || !y->is_number_integer()) return std::nullopt;
  return y->get<int64_t>();
}

std::optional<std::string> str(const json& j, const char* a, const char* b) {
  auto x = j.find(a);
  if (x == j.end() || !x->is_object()) return std::nullopt;
  auto y = x->find(b);
  if (y == x->end() || !y->is_string()) return std::nullopt;
  return y->get<std::string>();
}

// v1 limits "unlimited" read back as a page-rounded LLONG_MAX.
constexpr uint64_t kV1Unlimited = 0x7FFFFFFFFFFFF000ull;

}  // namespace

json parseFlatKeyed(const std::string& text) {
  json out = json::object();
  for (const auto& line : split(text, '\n')) {
    auto sp = line.find(' ');
    if (sp == std::string::npos) continue;
    std::string v = trim(line.substr(sp + 1));
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) continue;
    out[line.substr(0, sp)] = numberOr<uint64_t>(v, 0);
  }
  return out;
}

uint64_t systemCpuNs(const std::string& procStat) {
  for (const auto& line : split(procStat, '\n')) {
    if (!startsWith(line, "cpu ")) continue;
    uint64_t ticks = 0;
    auto f = split(line.substr(4), ' ');
    int n = 0;
    for (const auto& x : f) {
      if (x.empty()) continue;
      if (n++ >= 7) break;  // user nice system idle iowait irq softirq
      ticks += numberOr<uint64_t>(x, 0);
    }
    long hz = ::sysconf(_SC_CLK_TCK);
    return ticks * (1000000000ull / uint64_t(hz > 0 ? hz : 100));
  }
  return 0;
}

CgroupInfo::CgroupInfo(std::string root, std::string path)
    : root_(std::move(root)), path_(std::move(path)), v2_(exists(root_ + "/cgroup.controllers")) {}

std::string CgroupInfo::dir(const std::string& controller) const {
  if (v2_) return joinPath(root_, path_);
  std::string c = controller;
  if (c == "cpu" && !exists(root_ + "/cpu") && exists(root_ + "/cpu,cpuacct")) c = "cpu,cpuacct";
  return joinPath(root_ + "/" + c, path_);
}

Result<CgroupSample> CgroupInfo::sample() const {
  CgroupSample s;
  if (v2_) {
    std::string d = dir("");
    if (!exists(d)) return errorf(Code::NotFound, "cgroup {} not found", d);
    auto cpu = parseFlatKeyed(readFile(d + "/cpu.stat").value_or(""));
    s.cpuTotalNs = cpu.value("usage_usec", uint64_t(0)) * 1000;
    s.cpuUserNs = cpu.value("user_usec", uint64_t(0)) * 1000;
    s.cpuKernelNs = cpu.value("system_usec", uint64_t(0)) * 1000;
    s.throttlePeriods = cpu.value("nr_periods", uint64_t(0));
    s.throttledPeriods = cpu.value("nr_throttled", uint64_t(0));
    s.throttledNs = cpu.value("throttled_usec", uint64_t(0)) * 1000;
    s.memUsage = readU64(d + "/memory.current");
    s.memMaxUsage = readU64(d + "/memory.peak");
    s.memLimit = readU64(d + "/memory.max");
    s.memStats = parseFlatKeyed(readFile(d + "/memory.stat").value_or(""));
    s.pidsCurrent = readU64(d + "/pids.current");
    s.pidsLimit = readU64(d + "/pids.max");
    for (const auto& line : split(readFile(d + "/io.stat").value_or(""), '\n')) {
      for (const auto& kv : split(line, ' ')) {
        if (startsWith(kv, "rbytes=")) s.ioReadBytes += numberOr<uint64_t>(std::string_view(kv).substr(7), 0);
        if (startsWith(kv, "wbytes=")) s.ioWriteBytes += numberOr<uint64_t>(std::string_view(kv).substr(7), 0);
      }
    }
    return s;
  }
  std::string acct = dir("cpuacct"), mem = dir("memory"), cpu = dir("cpu"), pids = dir("pids"), blk = dir("blkio");
  if (!exists(mem) && !exists(acct)) return errorf(Code::NotFound, "cgroup {} not found", mem);
  s.cpuTotalNs = readU64(acct + "/cpuacct.usage");
  for (const auto& v : split(readTrim(acct + "/cpuacct.usage_percpu"), ' '))
    if (!v.empty()) s.perCpuNs.push_back(numberOr<uint64_t>(v, 0));
  auto st = parseFlatKeyed(readFile(acct + "/cpuacct.stat").value_or(""));
  long hz = ::sysconf(_SC_CLK_TCK);
  uint64_t tick = 1000000000ull / uint64_t(hz > 0 ? hz : 100);
  s.cpuUserNs = st.value("user", uint64_t(0)) * tick;
  s.cpuKernelNs = st.value("system", uint64_t(0)) * tick;
  auto thr = parseFlatKeyed(readFile(cpu + "/cpu.stat").value_or(""));
  s.throttlePeriods = thr.value("nr_periods", uint64_t(0));
  s.throttledPeriods = thr.value("nr_throttled", uint64_t(0));
  s.throttledNs = thr.value("throttled_time", uint64_t(0));
  s.memUsage = readU64(mem + "/memory.usage_in_bytes");
  s.memMaxUsage = readU64(mem + "/memory.max_usage_in_bytes");
  s.memLimit = readU64(mem + "/memory.limit_in_bytes");
  if (s.memLimit >= kV1Unlimited) s.memLimit = 0;
  s.memStats = parseFlatKeyed(readFile(mem + "/memory.stat").value_or(""));
  s.pidsCurrent = readU64(pids + "/pids.current");
  s.pidsLimit = readU64(pids + "/pids.max");
  for (const auto& line : split(readFile(blk + "/blkio.throttle.io_service_bytes").value_or(""), '\n')) {
    auto f = split(line, ' ');
    if (f.size() != 3) continue;
    if (f[1] == "Read") s.ioReadBytes += numberOr<uint64_t>(f[2], 0);
    if (f[1] == "Write") s.ioWriteBytes += numberOr<uint64_t>(f[2], 0);
  }
  return s;
}

Result<std::vector<pid_t>> CgroupInfo::pids() const {
  std::string d = v2_ ? dir("") : dir("pids");
  if (!v2_ && !exists(d)) d = dir("memory");
  TRY_ASSIGN(auto text, readFile(d + "/cgroup.procs"));
  std::vector<pid_t> out;
  for (const auto& l : split(text, '\n'))
    if (auto pid = parseNumber<pid_t>(trim(l))) out.push_back(*pid);
  return out;
}

Result<> CgroupInfo::freeze(bool frozen) const {
  if (v2_) {
    std::string d = dir("");
    TRY(writeValue(d + "/cgroup.freeze", frozen ? "1" : "0"));
    for (int i = 0; i < 200; i++) {
      auto ev = parseFlatKeyed(readFile(d + "/cgroup.events").value_or(""));
      if (ev.value("frozen", uint64_t(2)) == (frozen ? 1u : 0u)) return {};
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return errorf(Code::Internal, "cgroup {} did not {}", d, frozen ? "freeze" : "thaw");
  }
  std::string f = dir("freezer") + "/freezer.state";
  const char* want = frozen ? "FROZEN" : "THAWED";
  for (int i = 0; i < 200; i++) {
    // v1 may stay FREEZING while a task is in an uninterruptible sleep: write again.
    TRY(writeValue(f, want));
    if (readTrim(f) == want) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (frozen) (void)writeValue(f, "THAWED");
  return errorf(Code::Internal, "cgroup {} did not {}", f, frozen ? "freeze" : "thaw");
}

bool CgroupInfo::frozen() const {
  if (v2_) return readTrim(dir("") + "/cgroup.freeze") == "1";
  std::string st = readTrim(dir("freezer") + "/freezer.state");
  return st == "FROZEN" || st == "FREEZING";
}

std::vector<std::string> CgroupInfo::existingDirs() const {
  std::vector<std::string> out;
  if (v2_) {
    if (std::string d = dir(""); exists(d)) out.push_back(d);
    return out;
  }
  if (DIR* d = ::opendir(root_.c_str())) {
    while (dirent* ent = ::readdir(d)) {
      if (ent->d_name[0] == '.') continue;
      std::string leaf = joinPath(root_ + "/" + ent->d_name, path_);
      struct stat st;
      // Symlinked hierarchies (cpu -> cpu,cpuacct) are reached once.
      if (::lstat((root_ + "/" + ent->d_name).c_str(), &st) == 0 && S_ISDIR(st.st_mode) && exists(leaf))
        out.push_back(leaf);
    }
    ::closedir(d);
  }
  return out;
}

std::vector<pid_t> CgroupInfo::allPids() const {
  std::vector<pid_t> out;
  for (const auto& d : existingDirs())
    for (const auto& l : split(readFile(d + "/cgroup.procs").value_or(""), '\n'))
      if (auto pid = parseNumber<pid_t>(trim(l)); pid && std::find(out.begin(), out.end(), *pid) == out.end())
        out.push_back(*pid);
  return out;
}

Result<> CgroupInfo::killAndRemove(int timeoutMs) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  bool thawed = false;
  for (;;) {
    auto pids = allPids();
    if (pids.empty()) break;
    // A frozen task cannot die: thaw (once; SIGKILL keeps them from running).
    if (!thawed) {
      if (frozen()) (void)freeze(false);
      thawed = true;
    }
    for (pid_t p : pids) ::kill(p, SIGKILL);
    if (std::chrono::steady_clock::now() > deadline)
      return errorf(Code::Internal, "cgroup {}: {} processes survived SIGKILL", path_, pids.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // rmdir fails while the kernel still tears the last task down: retry.
  for (;;) {
    bool left = false;
    for (const auto& d : existingDirs())
      if (::rmdir(d.c_str()) != 0 && errno != ENOENT) left = true;
    if (!left) return {};
    if (std::chrono::steady_clock::now() > deadline) return errorf(Code::Internal, "cgroup {}: could not remove", path_);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Result<> CgroupInfo::update(const json& r) const {
  if (v2_) {
    std::string d = dir("");
    if (auto m = num(r, "memory", "limit")) {
      TRY(writeValue(d + "/memory.max", *m > 0 ? std::to_string(*m) : "max"));
      if (auto sw = num(r, "memory", "swap"); sw && exists(d + "/memory.swap.max"))
        TRY(writeValue(d + "/memory.swap.max", *sw > 0 && *m > 0 ? std::to_string(*sw - *m) : "max"));
    }
    if (auto v = num(r, "memory", "reservation")) TRY(writeValue(d + "/memory.low", std::to_string(*v)));
    if (auto q = num(r, "cpu", "quota")) {
      int64_t period = num(r, "cpu", "period").value_or(100000);
      TRY(writeValue(d + "/cpu.max", (*q > 0 ? std::to_string(*q) : "max") + " " + std::to_string(period)));
    }
    if (auto sh = num(r, "cpu", "shares"); sh && *sh >= 2)
      TRY(writeValue(d + "/cpu.weight", std::to_string(1 + ((*sh - 2) * 9999) / 262142)));
    if (auto c = str(r, "cpu", "cpus")) TRY(writeValue(d + "/cpuset.cpus", *c));
    if (auto p = num(r, "pids", "limit")) TRY(writeValue(d + "/pids.max", *p > 0 ? std::to_string(*p) : "max"));
    if (auto w = num(r, "blockIO", "weight"); w && exists(d + "/io.weight"))
      TRY(writeValue(d + "/io.weight", std::to_string(*w)));
    return {};
  }
  std::string mem = dir("memory");
  auto limit = num(r, "memory", "limit");
  auto swap = num(r, "memory", "swap");
  bool memsw = exists(mem + "/memory.memsw.limit_in_bytes");
  if (limit) {
    // memsw must stay >= the limit: raise memsw first when growing, after when shrinking.
    uint64_t curLimit = readU64(mem + "/memory.limit_in_bytes");
    bool growing = *limit < 0 || uint64_t(*limit) > curLimit;
    if (growing && swap && memsw) TRY(writeValue(mem + "/memory.memsw.limit_in_bytes", std::to_string(*swap)));
    TRY(writeValue(mem + "/memory.limit_in_bytes", std::to_string(*limit)));
    if (!growing && swap && memsw) TRY(writeValue(mem + "/memory.memsw.limit_in_bytes", std::to_string(*swap)));
  }
  if (auto v = num(r, "memory", "reservation")) TRY(writeValue(mem + "/memory.soft_limit_in_bytes", std::to_string(*v)));
  std::string cpu = dir("cpu");
  if (auto p = num(r, "cpu", "period")) TRY(writeValue(cpu + "/cpu.cfs_period_us", std::to_string(*p)));
  if (auto q = num(r, "cpu", "quota")) TRY(writeValue(cpu + "/cpu.cfs_quota_us", std::to_string(*q > 0 ? *q : -1)));
  if (auto sh = num(r, "cpu", "shares"); sh && *sh > 0) TRY(writeValue(cpu + "/cpu.shares", std::to_string(*sh)));
  if (auto c = str(r, "cpu", "cpus")) TRY(writeValue(dir("cpuset") + "/cpuset.cpus", *c));
  if (auto p = num(r, "pids", "limit"))
    TRY(writeValue(dir("pids") + "/pids.max", *p > 0 ? std::to_string(*p) : "max"));
  if (auto w = num(r, "blockIO", "weight"); w && exists(dir("blkio") + "/blkio.weight"))
    TRY(writeValue(dir("blkio") + "/blkio.weight", std::to_string(*w)));
  return {};
}

json statsJson(const std::string& id, const std::string& name, const CgroupSample& cur, uint64_t curSystemNs,
               int64_t readNanos, const CgroupSample* pre, uint64_t preSystemNs, int64_t preReadNanos,
               int onlineCpus, uint64_t hostMemory, bool v2) {
  auto cpuStats = [&](const CgroupSample* s, uint64_t sys) {
    json c;
    json usage = {{"total_usage", s ? s->cpuTotalNs : 0},
                  {"usage_in_kernelmode", s ? s->cpuKernelNs : 0},
                  {"usage_in_usermode", s ? s->cpuUserNs : 0}};
    if (s && !s->perCpuNs.empty()) usage["percpu_usage"] = s->perCpuNs;
    c["cpu_usage"] = usage;
    if (s) {
      c["system_cpu_usage"] = sys;
      c["online_cpus"] = onlineCpus;
    }
    c["throttling_data"] = {{"periods", s ? s->throttlePeriods : 0},
                            {"throttled_periods", s ? s->throttledPeriods : 0},
                            {"throttled_time", s ? s->throttledNs : 0}};
    return c;
  };
  json j;
  j["read"] = formatRfc3339Nano(readNanos);
  j["preread"] = formatRfc3339Nano(pre ? preReadNanos : 0);
  j["pids_stats"] = {{"current", cur.pidsCurrent}};
  if (cur.pidsLimit) j["pids_stats"]["limit"] = cur.pidsLimit;
  json blk = json::array();
  blk.push_back({{"major", 0}, {"minor", 0}, {"op", v2 ? "read" : "Read"}, {"value", cur.ioReadBytes}});
  blk.push_back({{"major", 0}, {"minor", 0}, {"op", v2 ? "write" : "Write"}, {"value", cur.ioWriteBytes}});
  j["blkio_stats"] = {{"io_service_bytes_recursive", blk}, {"io_serviced_recursive", nullptr},
                      {"io_queue_recursive", nullptr}, {"io_service_time_recursive", nullptr},
                      {"io_wait_time_recursive", nullptr}, {"io_merged_recursive", nullptr},
                      {"io_time_recursive", nullptr}, {"sectors_recursive", nullptr}};
  j["num_procs"] = 0;
  j["storage_stats"] = json::object();
  j["cpu_stats"] = cpuStats(&cur, curSystemNs);
  j["precpu_stats"] = cpuStats(pre, preSystemNs);
  uint64_t limit = cur.memLimit;
  if (limit == 0 || (hostMemory && limit > hostMemory)) limit = hostMemory;
  j["memory_stats"] = {{"usage", cur.memUsage}, {"stats", cur.memStats}, {"limit", limit}};
  if (!v2) j["memory_stats"]["max_usage"] = cur.memMaxUsage;
  j["name"] = "/" + name;
  j["id"] = id;
  return j;
}

}  // namespace berth::container
