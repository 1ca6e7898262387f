#pragma once
// Starting the container process: clone with the new namespaces (or fork
// after joining them, for exec), wait for the parent's cgroup placement,
// set everything up, execve. The child reports a failure over a CLOEXEC
// pipe as a fixed-size header + message; EOF with no bytes means execve
// succeeded (STYLE.md 11).

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "runtime/caps.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"
#include "runtime/stage.h"

namespace berth::runtime {

struct ChildErrorHeader {
  int32_t stage;
  int32_t err;
  uint32_t length;  // message bytes following
};

struct StartFailure {
  Stage stage = Stage::Clone;
  int err = 0;
  std::string message;
};

// The fds (in the parent) that become the child's 0, 1, 2.
struct ChildStdio {
  int in = -1, out = -1, err = -1;
  bool tty = false;  // `in` is a pty slave: setsid + TIOCSCTTY
};

// Everything the child needs, computed before clone so the child only runs
// simple code.
struct LaunchPlan {
  const Spec* spec = nullptr;  // run mode: rootfs, hostname; null for exec
  const Process* process = nullptr;
  unsigned long cloneFlags = 0;            // CLONE_NEW* to create
  std::vector<std::pair<int, int>> joins;  // (ns fd, CLONE_NEW* type): setns in the child
  bool newCgroupNs = false;                // unshare after cgroup placement
  bool newNetns = false;
  std::vector<Mount> mounts;
  std::optional<CapSets> caps;
  int lastCap = 40;
  std::string cwd;
  std::vector<std::string> candidates;  // execve paths to try, in order
  std::vector<char*> argv, envp;        // null-terminated, pointing into process
  ChildStdio stdio;
  std::string consolePath;  // pty slave path, bound to /dev/console (run mode)
  // Run mode with a terminal in the container's own devpts: the child opens
  // the pty in its /dev/pts (setupRootfs), sends the master over this
  // socket (SCM_RIGHTS, one byte), makes the slave its controlling terminal
  // and 0, 1, 2. stdio's fds are unused then (-1).
  int consoleSocket = -1;
  std::vector<int> cgroupSelfAttach;  // v1 `tasks` fds: the child writes "0" first thing
  // Run mode: the child sets up its root while the parent still creates
  // the cgroups, and waits for the release only where the cgroup is needed
  // (setupRootfs' beforeCgroup: before the cgroup tree is mounted, else
  // after the mounts); then it writes "0" to the v1 `tasks` fds that came
  // with the release (Launch::release(fds); the sync channel is a socket
  // then), or else opens these cgroupTasksFiles itself (joining without the
  // threadgroup lock, as cgroupSelfAttach), and unshares the cgroup
  // namespace. The parent places a v2 child
  // (cgroup.procs) before the release. Without it (exec, berth-runtime) the
  // child waits for the release before anything else.
  bool setupBeforeRelease = false;
  std::vector<std::string> cgroupTasksFiles;
  // setupBeforeRelease: when not null, cgroupHierarchiesSize bytes of
  // memory shared with the parent (MAP_SHARED) where the parent, before
  // the release, may put a uint32_t length and that many bytes of
  // cgroupV1Hierarchies text (runtime/mounts.h), so the child need not read
  // /proc/self/mountinfo for the cgroup tree; length 0: it does.
  char* cgroupHierarchiesShared = nullptr;
  size_t cgroupHierarchiesSize = 0;
  const SeccompProgram* seccomp = nullptr;  // compiled before clone; null: unconfined
  // OCI create/start (berth-runtime) and warm starts (the monitor's
  // --gate-fd): with gateFd >= 0 the child, set up and about to execve,
  // writes one byte to readyFd (when >= 0) and then waits for one byte on
  // gateFd; EOF instead: it reports a failure (Stage::Exec, ECANCELED)
  // and exits without exec. gateWriteFd (the parent's end, when it has
  // one) is closed in the child first.
  int readyFd = -1, gateFd = -1, gateWriteFd = -1;
  // The start timeline (common/trace.h): when not null, kTraceSlots int64s
  // in memory shared with the parent (MAP_SHARED) where the child writes
  // CLOCK_MONOTONIC ns at each TraceSlot. Null: the child reads no clock.
  int64_t* traceSlots = nullptr;
};

constexpr size_t kMaxReleaseFds = 32;  // no more than common/fd_pass.h passes in one message

enum TraceSlot : int {
  kTraceChildStart,    // first instruction of the child after clone
  kTraceCgroupJoined,  // after joining the cgroups (v1 tasks files; not with setupBeforeRelease) and namespaces
  kTraceMountsStart,   // before the root is set up (released by the parent, unless setupBeforeRelease)
  kTraceMountsEnd,     // after the mounts and pivot_root
  kTraceSeccompStart,  // before the filter is installed
  kTraceSeccompEnd,
  kTraceExec,          // just before execve
  kTraceReleaseWait,   // setupBeforeRelease: the child starts waiting for the release
  kTraceCgroupPlaced,  // setupBeforeRelease: released, in its cgroups, cgroup namespace unshared
  kTraceSlots
};

// PATH search list for args[0]: itself when it has a '/', else each PATH
// entry (the container's PATH, or the default one) + "/" + args[0].
std::vector<std::string> execCandidates(const std::string& arg0, const std::vector<std::string>& env);
// The message for a failed exec, with the substrings the docker CLI maps to
// 127 / 126: "executable file not found", "no such file or directory",
// "permission denied".
std::string execErrorMessage(const std::string& arg0, bool searched, int err);

// Sets `lo` up in the calling thread's network namespace (best effort):
// Docker's containers have it up, also with --network none.
void bringLoopbackUp();

// Fills argv/envp/candidates/caps/cwd of a plan for `p`.
void prepareProcess(LaunchPlan& plan, const Process& p);

// A started (not yet released) child.
class Launch {
 public:
  // clone()s the child with plan.cloneFlags; it blocks until proceed().
  static Result<Launch> start(const LaunchPlan& plan);
  pid_t pid() const { return pid_; }
  // Lets the child run and waits until it has exec'd (nullopt) or failed.
  std::optional<StartFailure> proceed();
  // proceed() in two steps, so the parent can work while the child sets up.
  std::optional<StartFailure> release();
  // setupBeforeRelease: the release with fds of `tasks` files the child
  // writes "0" to (then cgroupTasksFiles are not opened); at most
  // kMaxReleaseFds. The fds stay the caller's.
  std::optional<StartFailure> release(const std::vector<int>& fds);
  std::optional<StartFailure> waitExec();

 private:
  pid_t pid_ = -1;
  UniqueFd syncWrite_, errRead_;
};

}  // namespace berth::runtime
