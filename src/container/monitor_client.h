#pragma once
// berthd's side of the monitor protocol (src/monitor/protocol.h): spawning
// a berth-monitor and talking to it.

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "monitor/protocol.h"

namespace berth::container {

struct MonitorMessage {
  monitor::MsgType type;
  std::string payload;
};

// One connection to a monitor. send() is thread safe; recv() is meant for a
// single reader thread.
class MonitorConn {
 public:
  MonitorConn() = default;
  explicit MonitorConn(UniqueFd fd) : fd_(std::move(fd)) {}

  // Connects to a container monitor's socket; Unavailable when it is gone.
  static Result<std::unique_ptr<MonitorConn>> connect(const std::string& socketPath);

  Result<> send(monitor::MsgType t, std::string_view payload = {});
  // Blocks for one message; Unavailable on EOF.
  Result<MonitorMessage> recv();
  int fd() const { return fd_.get(); }
  // Shuts the socket down so a blocked recv() returns.
  void shutdown();

 private:
  UniqueFd fd_;
  std::mutex writeMu_;
};

// Spawns berth-monitor with argv (argv[0] = binary path) in a new session,
// fd 3 = one end of a fresh socketpair, stderr appended to stderrPath.
// lockFd >= 0: the locked monitor lock (monitor/lock.h), passed as fd 4;
// gateFd >= 0 (with lockFd): a warm start's gate, passed as fd 5
// (monitor::kGateFd). Returns the connection to fd 3 and the monitor's pid.
Result<std::pair<std::unique_ptr<MonitorConn>, pid_t>> spawnMonitor(const std::vector<std::string>& argv,
                                                                     const std::string& stderrPath, int lockFd = -1,
                                                                     int gateFd = -1);

// One berth-monitor spawned ahead of its job (`berth-monitor spare`,
// docs/monitor.md "Spare monitors"), so that a container's start costs no
// spawn and exec: spawnRun hands the spare its `run` arguments and fds,
// and a detached thread at idle priority (SCHED_IDLE: it runs when no CPU
// has other work, so never in a start's way) spawns the next one. The
// first call, and any the spare cannot take, spawns as spawnMonitor does.
// Thread safe.
class SpareMonitor {
 public:
  explicit SpareMonitor(std::string monitorBin);
  ~SpareMonitor() { close(); }
  // spawnMonitor's contract for argv = {monitorBin, "run", ...}. newNetns:
  // this container gets a network namespace of its own (--network none);
  // then the next spare makes one ahead (`spare --netns`), guessing the
  // next start is alike.
  Result<std::pair<std::unique_ptr<MonitorConn>, pid_t>> spawnRun(const std::vector<std::string>& argv,
                                                                  const std::string& stderrPath, int lockFd,
                                                                  int gateFd = -1, bool newNetns = false);
  // Lets the spare go (EOF: it exits); no new one is spawned after this.
  void close();

 private:
  struct State {
    std::string bin;
    std::mutex mu;
    bool closed = false;
    bool refilling = false;
    std::unique_ptr<MonitorConn> conn;  // the spare's socket, when one waits
    pid_t pid = 0;
  };
  static void refill(std::shared_ptr<State> st, bool netns);
  std::shared_ptr<State> st_;
};

// Decodes an int32 payload (Started pid, Signal).
int32_t payloadInt(const std::string& payload, size_t offset = 0);
std::string encodeInt(int32_t v);

}  // namespace berth::container
