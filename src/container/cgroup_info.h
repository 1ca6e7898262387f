#pragma once
// The daemon's view of a container's cgroup (its init and monitor do the
// creating): read usage for `stats`, list pids for `top`, freeze/thaw for
// `pause`, rewrite limits for `update`. cgroup v1 (one directory per
// controller) or a pure v2 host; the root is a constructor argument so tests
// point it at a temp dir (STYLE.md 4).

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::container {

struct CgroupSample {
  uint64_t cpuTotalNs = 0, cpuUserNs = 0, cpuKernelNs = 0;
  std::vector<uint64_t> perCpuNs;             // v1 only
  uint64_t throttlePeriods = 0, throttledPeriods = 0, throttledNs = 0;
  uint64_t memUsage = 0, memMaxUsage = 0, memLimit = 0;  // limit 0: none
  nlohmann::json memStats = nlohmann::json::object();  // memory.stat as numbers
  uint64_t pidsCurrent = 0, pidsLimit = 0;              // limit 0: none
  uint64_t ioReadBytes = 0, ioWriteBytes = 0;
};

class CgroupInfo {
 public:
  // root: /sys/fs/cgroup; path: the spec's linux.cgroupsPath.
  CgroupInfo(std::string root, std::string path);
  bool v2() const { return v2_; }
  // Directory of a controller ("memory", "cpu", "freezer", ...); on v2 the one dir.
  std::string dir(const std::string& controller) const;

  Result<CgroupSample> sample() const;
  // Pids in the container's cgroup (v1: the pids or memory hierarchy).
  Result<std::vector<pid_t>> pids() const;
  // Freezes or thaws, waiting (up to ~2 s) until the kernel says so.
  Result<> freeze(bool frozen) const;
  // Whether the freezer says FROZEN (v1) / cgroup.freeze is 1 (v2).
  bool frozen() const;
  // The leaf directories that exist, one per hierarchy (v1) or the one (v2).
  std::vector<std::string> existingDirs() const;
  // Pids in any of the container's directories (v1: every hierarchy).
  std::vector<pid_t> allPids() const;
  // Crash recovery (docs/crash-safety.md): thaws, SIGKILLs every process in
  // the cgroup until none is left (up to timeoutMs), then removes the leaf
  // directories. Internal when processes survive the timeout.
  Result<> killAndRemove(int timeoutMs = 5000) const;
  // Writes OCI linux.resources limits (memory, cpu, pids, blockIO) into the
  // existing cgroup, memory+swap in the order the kernel accepts.
  Result<> update(const nlohmann::json& resources) const;

 private:
  std::string root_, path_;
  bool v2_ = false;
};

// Parses "key value" lines (memory.stat, cpu.stat) into numbers.
nlohmann::json parseFlatKeyed(const std::string& text);
// /proc/stat's "cpu" line in nanoseconds (Docker's system_cpu_usage).
uint64_t systemCpuNs(const std::string& procStat);

// Docker's /containers/{id}/stats document from two samples (pre may be
// empty on the first streamed one). hostMemory caps an absent limit.
nlohmann::json statsJson(const std::string& id, const std::string& name, const CgroupSample& cur, uint64_t curSystemNs,
                         int64_t readNanos, const CgroupSample* pre, uint64_t preSystemNs, int64_t preReadNanos,
                         int onlineCpus, uint64_t hostMemory, bool v2);

}  // namespace berth::container
