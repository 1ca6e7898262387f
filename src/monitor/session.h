#pragma once
// The monitor's single-threaded poll loop: clients (fd 3 and those accepted
// on --socket), the process's output (pipes or pty master) relayed to every
// client and the json-file log, client input (stdin, resize, signal), and
// SIGCHLD via signalfd. Not thread safe; one per process.

#include <sys/types.h>

#include <cstdint>
#include <expected>
#include <functional>
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

  // Inline exec (ExecStart, protocol.h). The launcher starts the process
  // described by the JSON (blocking until it exec'd or failed: the loop
  // stops meanwhile) and returns its pid and stdio, or the failure that
  // goes back as StartError. Without a launcher ExecStart is ignored.
  struct ExecLaunch {
    pid_t pid = -1;
    UniqueFd out, err, in;  // out is the pty master with a tty; err then -1
    bool tty = false;
    int64_t startedAt = 0;
  };
  struct ExecLaunchError {
    Stage stage;
    Error error;
  };
  using ExecLauncher = std::function<std::expected<ExecLaunch, ExecLaunchError>(std::string_view processJson)>;
  void setExecLauncher(ExecLauncher l) { execLauncher_ = std::move(l); }
  // Started's features (kFeature*) this monitor announces.
  void setFeatures(uint32_t f) { features_ = f; }
  // Execs still running when the container ended: SIGKILLed, reaped, their
  // Exit sent (call after runUntilExit, before the cgroup goes).
  void endExecs();

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
  // Closes and unlinks the listening socket (finish() does it too): a
  // client connecting afterwards is refused at once rather than left in
  // the backlog of a monitor that no longer accepts.
  void stopListening();
  // Reaps every exited child (we are a subreaper), noting the process's status.
  void reap();

 private:
  struct Client {
    UniqueFd fd;
    FrameDecoder in;
    std::string out;
    size_t outPos = 0;
    bool dead = false;
    uint64_t id = 0;
    bool pending = false;      // accepted, no message yet: gets no broadcast
    bool execClient = false;   // sent ExecStart: gets only its process's messages
    bool closeWhenSent = false;  // its exec ended: closed once out is flushed
  };
  // A process of an inline exec and its relay.
  struct ExecProc {
    uint64_t client = 0;  // Client::id; 0 once that client is gone
    pid_t pid = -1;
    UniqueFd out[2], in;
    bool tty = false;
    std::string stdinBuf;
    bool stdinCloseWanted = false;
    bool exited = false;
    int status = 0;
    int64_t startedAt = 0, finishedAt = 0, drainDeadline = -1;
  };

  void startExec(Client& c, std::string_view processJson);
  void handleExecMessage(ExecProc& x, Message& m);
  std::string startedPayload() const;
  Client* clientById(uint64_t id);
  ExecProc* execOf(const Client& c);
  void readExecOutput(ExecProc& x, int idx);
  void flushExecStdin(ExecProc& x);
  // Exit to the finished execs' clients; drops them.
  void completeExecs(bool force);
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
  ExecLauncher execLauncher_;
  std::vector<ExecProc> execs_;
  uint64_t nextClientId_ = 1;
  uint32_t features_ = 0;
};

// One line "berth-monitor: <msg>" on stderr (berthd points it at the
// container's monitor.log).
void logError(std::string_view msg);

}  // namespace berth::monitor
