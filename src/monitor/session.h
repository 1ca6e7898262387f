#pragma once
// The monitor's single-threaded poll loop: clients (fd 3 and those accepted
// on --socket), the process's output (pipes or pty master) relayed to every
// client and the json-file log, client input (stdin, resize, signal), and
// SIGCHLD via signalfd. Not thread safe; one per process.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "monitor/framing.h"
#include "monitor/json_log.h"

namespace berth::monitor {

class Session {
 public:
  Session();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Blocks SIGCHLD and opens the signalfd. Call before any child exists.
  Result<> init();
  // Adds a connected client (takes ownership).
  void addClient(UniqueFd fd);
  // Creates and listens on a unix socket (removed by the destructor).
  Result<> listen(const std::string& path);
  // Keeps the monitor lock (monitor/lock.h) until finish() has removed the
  // socket: released before the clients see EOF, so a berthd that starts the
  // container again on that EOF finds the lock free.
  void holdLock(UniqueFd fd) { lock_ = std::move(fd); }
  // Output sources: for a pty pass the master as out and -1 as err.
  // Takes ownership; sets them non-blocking.
  void setOutput(UniqueFd out, UniqueFd err, bool tty);
  // The process's stdin: pipe write end or the pty master (not owned when tty).
  void setStdin(UniqueFd in);
  void setLog(JsonLogWriter* log) { log_ = log; }

  // The process runs: Started{pid} goes to every client.
  void started(pid_t pid);
  // Runs until the process has exited and its output is drained (or
  // drainMs passed after its exit). Returns the wait status.
  int runUntilExit(int drainMs = 2000);
  int64_t finishedAt() const { return finishedAt_; }
  // With tracing on (common/trace.h), CLOCK_MONOTONIC ns of the first
  // output byte read and of the reap of the process; 0 when none or off.
  int64_t firstOutputMono() const { return firstOutputMono_; }
  int64_t reapedMono() const { return reapedMono_; }
  // Exit{json} (when not empty) to every client, then flushes their buffers (up to timeoutMs).
  void finish(const std::string& exitJson, int timeoutMs = 5000);
  // Sends a message to every client (buffered).
  void broadcast(MsgType t, std::string_view payload);
  // Reaps every exited child (we are a subreaper), noting the process's status.
  void reap();

 private:
  struct Client {
    UniqueFd fd;
    FrameDecoder in;
    std::string out;
    size_t outPos = 0;
    bool dead = false;
  };

  void handleClientInput(Client& c);
  void handleMessage(Client& c, Message& m);
  void flushClient(Client& c);
  void readOutput(int idx);
  void flushStdin();
  void closeStdin();
  bool backpressured() const;
  void acceptClients();
  void dropDeadClients();

  UniqueFd sigFd_, listenFd_, lock_;
  std::string socketPath_;
  std::vector<Client> clients_;
  UniqueFd outFds_[2];
  bool tty_ = false;
  UniqueFd stdin_;
  int ptyMaster_ = -1;
  std::string stdinBuf_;
  bool stdinCloseWanted_ = false;
  JsonLogWriter* log_ = nullptr;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
  int64_t finishedAt_ = 0;
  int64_t firstOutputMono_ = 0, reapedMono_ = 0;
  std::string exitJson_;
};

// One line "berth-monitor: <msg>" on stderr (berthd points it at the
// container's monitor.log).
void logError(std::string_view msg);

}  // namespace berth::monitor
