#pragma once
// The streaming backend over berth's container service: exec and attach
// through container::IO (execCreate / execStart / execResize, attach /
// resize; the multiplexed stdcopy stream of a non-tty session split back
// into stdout and stderr), port forwarding by a connect() made inside the
// sandbox's network namespace (state.sandboxKey of the sandbox container,
// else /proc/<its pid>/ns/net).
// Also ExecSync. Thread safe (the container service is).

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "container/service.h"
#include "cri/streaming/backend.h"

namespace berth::cri::streaming {

// Splits Docker's multiplexed stream (8-byte headers: stream, 0, 0, 0,
// big-endian length) back into stdout and stderr; frames may arrive cut
// anywhere. Stream 0 (stdin) and 1 go to out, 2 to err.
class StdcopyDemuxer {
 public:
  template <class Out, class Err>
  bool feed(std::string_view data, Out&& out, Err&& err) {
    buf_.append(data);
    size_t at = 0;
    bool ok = true;
    while (buf_.size() - at >= 8) {
      uint32_t len = uint32_t(uint8_t(buf_[at + 4])) << 24 | uint32_t(uint8_t(buf_[at + 5])) << 16 |
                     uint32_t(uint8_t(buf_[at + 6])) << 8 | uint32_t(uint8_t(buf_[at + 7]));
      if (buf_.size() - at - 8 < len) break;
      std::string_view payload(buf_.data() + at + 8, len);
      ok = (buf_[at] == 2 ? err(payload) : out(payload)) && ok;
      at += 8 + len;
    }
    buf_.erase(0, at);
    return ok;
  }

 private:
  std::string buf_;
};

// Opens a TCP connection to 127.0.0.1:port (then ::1) from inside the
// network namespace at netnsPath ("" = the caller's): a short-lived thread
// joins the namespace (setns is per thread) and connects; the socket keeps
// working from any thread. Errors: the namespace cannot be opened or
// joined, the connection is refused.
Result<UniqueFd> dialInNetns(const std::string& netnsPath, int port);

// The network namespace to dial a pod's ports in: its path, "" for the
// host's (hostNetwork pods); NotFound for an unknown sandbox,
// FailedPrecondition for one that is not ready.
using NetnsResolver = std::function<Result<std::string>(const std::string& podSandboxId)>;

// The default resolver: the sandbox is a container; its state.sandboxKey,
// else /proc/<its pid>/ns/net.
NetnsResolver containerNetns(container::Queries& queries);

class ContainerBackend : public Backend {
 public:
  ContainerBackend(container::IO& io, container::Queries& queries, NetnsResolver netns = nullptr)
      : io_(io), queries_(queries), netns_(netns ? std::move(netns) : containerNetns(queries)) {}
  Result<int> exec(const ExecSpec& spec, CommandStreams& streams) override;
  Result<> attach(const AttachSpec& spec, CommandStreams& streams) override;
  Result<UniqueFd> dialPort(const std::string& podSandboxId, int port) override;

 private:
  container::IO& io_;
  container::Queries& queries_;
  NetnsResolver netns_;
};

// ExecSync's answer. timedOut: the command ran past the timeout and was
// killed (the RPC answers DeadlineExceeded, as containerd does).
struct ExecSyncResult {
  std::string stdoutData, stderrData;
  int exitCode = 0;
  bool timedOut = false;
};

// Output kept per stream (containerd's cap); the rest is dropped.
constexpr size_t kExecSyncMaxOutput = 16 << 20;

// Runs cmd in the container without stdin or tty and collects its output.
// timeout 0: none. Errors from execCreate (NotFound for an unknown
// container, Conflict when it is not running) and execStart.
Result<ExecSyncResult> execSync(container::IO& io, const std::string& containerId, const std::vector<std::string>& cmd,
                                std::chrono::milliseconds timeout);

}  // namespace berth::cri::streaming
