#pragma once
// A container's cgroup: one directory per mounted v1 controller, or one
// directory on a pure cgroup v2 host. Roots are constructor arguments so
// tests can point them at a temp dir (STYLE.md 4).

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "runtime/spec.h"

namespace berth::runtime {

class Cgroup {
 public:
  // The v1 controllers a container is placed in (those mounted are used).
  static const std::vector<std::string>& v1Controllers();

  Cgroup() = default;
  // Creates <root>/<controller>/<path> (v1) or <root>/<path> (v2), with
  // parents, and applies the limits. Errors: the failing mkdir / write.
  // The same as plan() and then make().
  static Result<Cgroup> create(const std::string& root, const std::string& path, const Resources& res);
  // What create() would make, without making anything: the directories
  // (dirs(), tasksFiles()) from a stat of each controller's hierarchy.
  // InvalidArgument for a v2 path with "..".
  static Result<Cgroup> plan(const std::string& root, const std::string& path);
  // Makes a plan()'s directories, with parents, and applies the limits.
  // On failure the v1 leaf directories it made are removed again.
  Result<> make(const Resources& res);
  // v1: the `tasks` file of every directory; a process joins them all by
  // writing "0" to each (see openSelfAttachFds). Empty on v2.
  std::vector<std::string> tasksFiles() const;
  // The cgroup directories that PID is in (read from /proc/PID/cgroup), for exec.
  static Result<Cgroup> ofProcess(const std::string& root, pid_t pid);
  // Existing dirs for a relative cgroupsPath (no mkdir, no limits).
  static Cgroup existing(const std::string& root, const std::string& path);

  // Moves pid into every directory (cgroup.procs).
  Result<> addProcess(pid_t pid) const;
  // v1: write-only fds of every directory's `tasks` file. A process that
  // writes "0" to them moves itself, which (unlike writing another pid to
  // cgroup.procs) skips the cgroup_threadgroup_rwsem write lock and its RCU
  // grace period (~10-20 ms here). Empty on v2.
  Result<std::vector<UniqueFd>> openSelfAttachFds() const;
  // Whether the memory controller recorded an OOM kill.
  bool oomKilled() const;
  // SIGKILL to every process still in the cgroup (cgroup.procs of the
  // first directory; every directory holds the same processes), a few
  // rounds to catch what forked meanwhile. Returns how many were signalled.
  int killAll() const;
  // rmdir of the leaf directories, retrying up to timeoutMs while tasks drain.
  // Parents are left alone.
  Result<> remove(int timeoutMs = 200);
  const std::vector<std::string>& dirs() const { return dirs_; }
  bool v2() const { return v2_; }

 private:
  struct Controller {
    std::string controller, dir;
    bool own;  // false: a second name of a hierarchy already listed (cpuacct -> cpu,cpuacct)
  };
  bool v2_ = false;
  std::vector<std::string> dirs_;  // leaf dirs we own
  std::string memoryDir_;
  std::string root_, path_;              // plan() -> make()
  std::vector<Controller> controllers_;  // v1, in v1Controllers() order
};

// Joins a cgroupsPath onto a root, normalising slashes: ("/a", "/b/c") -> "/a/b/c".
std::string joinCgroupPath(const std::string& root, const std::string& path);

}  // namespace berth::runtime
