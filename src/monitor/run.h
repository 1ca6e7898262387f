#pragma once
// The two modes of berth-monitor (docs/monitor.md). Each returns the
// process exit code for main().

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace berth::monitor {

struct RunOptions {
  std::string bundle, id, socket, log;
  int64_t logMaxSize = 0;
  int logMaxFile = 1;
  bool logNone = false;      // --log-driver none: no log file at all
  bool logCompress = false;  // --log-compress: rotated files are gzipped (local driver)
  bool logCri = false;       // --log-driver cri-log: the CRI log format at --log (kubelet rotates it)
  std::string cgroupRoot = "/sys/fs/cgroup";
  std::string runtime;  // an external OCI runtime binary (runc, crun); empty: built in
  int lockFd = -1;      // the monitor lock berthd already holds (monitor/lock.h); -1: take it
  // --gate-fd N, a warm start (docs/monitor.md): the read end of a pipe
  // whose writer is berthd. The init, fully set up, waits on it right
  // before execve; one byte lets it exec (the start), EOF makes it exit
  // without exec (the warm monitor dropped, or berthd gone): StartError.
  int gateFd = -1;
  // --trace SPAWN_NS: the start timeline is on (common/trace.h); SPAWN_NS is
  // berthd's CLOCK_MONOTONIC just before it spawned us, mainAt ours at
  // main(). The monitor's spans go to <bundle>/trace.jsonl before Exit.
  int64_t traceSpawnAt = 0, traceMainAt = 0;
};

struct ExecOptions {
  pid_t pid = 0;
  std::string processFile;
  std::string cgroup;  // cgroupsPath relative to cgroupRoot; empty: that of pid
  std::string cgroupRoot = "/sys/fs/cgroup";
  bool stdinPipe = false;
};

int runContainer(const RunOptions& o);

// A spare monitor (main.cpp) that moved into a fresh network namespace
// (lo up) while it waited for its job: fd is the namespace it came from.
// runContainer keeps the fresh one for a container that asks for a new
// network namespace (its clone then needs no CLONE_NEWNET, most of the
// clone's cost) and goes back to `fd` otherwise.
void setSpareHostNetns(int fd);
int execProcess(const ExecOptions& o);

// {"ExitCode":..,"Signal":..,"OOMKilled":..,"StartedAt":..,"FinishedAt":..,"Pid":..}
std::string exitJson(int waitStatus, bool oomKilled, int64_t startedAt, int64_t finishedAt, pid_t pid);

}  // namespace berth::monitor
