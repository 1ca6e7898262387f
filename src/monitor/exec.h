#pragma once
// Starting an exec's process in a running container: shared by the exec
// mode (`berth-monitor exec`, a monitor per exec) and the run-mode
// monitor's inline exec (ExecStart, protocol.h).

#include <sys/types.h>

#include <cstdint>
#include <expected>
#include <string>

#include "common/result.h"
#include "monitor/protocol.h"
#include "monitor/stdio.h"
#include "runtime/cgroups.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"

namespace berth::monitor {

struct StartedExec {
  pid_t pid = -1;
  Stdio stdio;  // the monitor's ends (the child's are closed)
  int64_t startedAt = 0;
};

struct ExecFailure {
  Stage stage = Stage::Config;
  Error error;
};

// Starts proc in the namespaces of targetPid (ipc, uts, net, cgroup, mnt
// joined in the child; the pid namespace joined by this process for its
// children, so call it only where every later child belongs there too)
// and in cg. seccompCache: the directory of compiled profiles. stdinPipe:
// the process gets a stdin pipe (also when proc asks for one). Blocks until
// the process has exec'd or failed; a failure names the setup stage.
// program: when not null, the filter installed (the caller compiled
// proc.berthSeccomp or took it from the cache; proc.berthSeccomp is then
// not looked at); else proc.berthSeccomp is compiled through seccompCache.
std::expected<StartedExec, ExecFailure> startExec(const runtime::Process& proc, pid_t targetPid,
                                                  const runtime::Cgroup& cg, const std::string& seccompCache,
                                                  bool stdinPipe, const runtime::SeccompProgram* program = nullptr);

}  // namespace berth::monitor
