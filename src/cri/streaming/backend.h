#pragma once
// What the streaming server asks of the engine: run an exec or an attach
// session on a set of client streams, and open a TCP connection inside a
// pod's network namespace. The server knows the wire (SPDY, WebSocket);
// the backend knows containers (container_backend.h is the real one).

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "cri/streaming/remotecommand.h"

namespace berth::cri::streaming {

// The client's side of one exec or attach session. Thread safe: the
// backend reads stdin on one thread and writes output on another.
class CommandStreams {
 public:
  virtual ~CommandStreams() = default;
  // Blocks for stdin bytes. 0: stdin ended (the client closed it, or the
  // session has no stdin); <0: the connection is gone or stopStdin() ran.
  virtual ssize_t readStdin(char* buf, size_t n) = 0;
  // Output; false once the client is gone. Data for a stream the session
  // did not ask for is dropped (true).
  virtual bool writeStdout(std::string_view data) = 0;
  virtual bool writeStderr(std::string_view data) = 0;
  // Terminal size changes (tty sessions). The handler runs on the
  // connection's reader thread; the last size received before the call is
  // replayed into it at once. Pass nullptr to stop.
  virtual void setResizeHandler(std::function<void(TermSize)> handler) = 0;
  // Wakes readStdin for good (it returns <0 from now on).
  virtual void stopStdin() = 0;
};

struct ExecSpec {
  std::string containerId;
  std::vector<std::string> cmd;
  bool tty = false, stdinWanted = false, stdoutWanted = false, stderrWanted = false;
};

struct AttachSpec {
  std::string containerId;
  bool tty = false, stdinWanted = false, stdoutWanted = false, stderrWanted = false;
};

struct PortForwardSpec {
  std::string podSandboxId;
  std::vector<int32_t> ports;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Runs the command to its end; returns its exit code, or an error when
  // it could not run.
  virtual Result<int> exec(const ExecSpec& spec, CommandStreams& streams) = 0;
  // Attaches until the container exits or the client detaches.
  virtual Result<> attach(const AttachSpec& spec, CommandStreams& streams) = 0;
  // A TCP connection to localhost:port inside the sandbox's network
  // namespace (the host's for a host-network pod).
  virtual Result<UniqueFd> dialPort(const std::string& podSandboxId, int port) = 0;
};

}  // namespace berth::cri::streaming
