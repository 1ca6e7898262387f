#pragma once
// The CRI streaming server (kubelet's k8s.io/kubelet/pkg/cri/streaming):
// Exec, Attach and PortForward answer a URL on it; the client connects
// with HTTP/1.1 and upgrades to SPDY/3.1 or WebSocket.
//
//   GET|POST /exec/<token>, /attach/<token>, /portforward/<token>
//
// A token is used once and expires after a minute (request_cache.h). An
// unknown token answers 404. The server listens on TCP (127.0.0.1 by
// default, port 0 = ephemeral); a thread per connection, plus one per
// running session. Thread safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <set>
#include <thread>

#include "common/fd.h"
#include "common/result.h"
#include "cri/streaming/backend.h"
#include "cri/streaming/request_cache.h"

namespace berth::cri::streaming {

struct ServerConfig {
  std::string address = "127.0.0.1";
  int port = 0;
  // How long a SPDY client may take to open the session's streams.
  std::chrono::milliseconds streamCreationTimeout{30000};
  std::chrono::steady_clock::duration tokenTtl = std::chrono::minutes(1);
};

class Server {
 public:
  Server(ServerConfig config, Backend& backend);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Errors from bind/listen (sysError).
  Result<> start();
  // Stops accepting, shuts every open connection down and waits for the
  // connection threads, at most `grace`. False when some are still running
  // then (an exec's process has not ended yet): the Server must then stay
  // alive (its owner leaks it) until the process exits.
  bool stop(std::chrono::milliseconds grace = std::chrono::milliseconds::max());
  // "http://127.0.0.1:PORT" once started.
  std::string baseUrl() const;
  int port() const { return port_; }

  // Validate a request as kubelet does and register it: the URL to hand
  // to the client. InvalidArgument: "missing required container_id",
  // "tty and stderr cannot both be true", "one of stdin, stdout, or stderr
  // must be set" ("... stdout, and stderr ..." for attach), "missing
  // required pod_sandbox_id"; Unavailable when 1000 requests wait.
  Result<std::string> getExec(const ExecSpec& spec);
  Result<std::string> getAttach(const AttachSpec& spec);
  Result<std::string> getPortForward(const PortForwardSpec& spec);

 private:
  void acceptLoop();
  void serveConnection(int fd);

  ServerConfig config_;
  Backend& backend_;
  RequestCache cache_;
  UniqueFd listenFd_;
  int port_ = 0;
  std::thread acceptThread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<int> conns_;  // open connection fds (shut down by stop())
  int running_ = 0;      // connection threads alive
};

}  // namespace berth::cri::streaming
