#pragma once
// The CRI's streaming RPCs without gRPC: ExecSync runs a command and
// collects its output; Exec, Attach and PortForward check the container
// (or sandbox) and register a request on the streaming server, answering
// the URL the client connects to. runtime_streams.cpp maps the protobuf
// messages onto these. Thread safe.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "container/service.h"
#include "cri/streaming/container_backend.h"
#include "cri/streaming/server.h"

namespace berth::cri::streaming {

class StreamingService {
 public:
  // visible: which containers the CRI may see (its namespace); nullptr:
  // all of them.
  using Visible = std::function<bool(const container::ContainerDetails&)>;
  // netns: where a sandbox's ports are (nullptr: containerNetns).
  StreamingService(container::Service& containers, ServerConfig config, Visible visible = nullptr,
                   NetnsResolver netns = nullptr);

  // Starts the HTTP listener (errors from bind/listen).
  Result<> start();
  // See Server::stop: false when sessions outlived the grace.
  bool stop(std::chrono::milliseconds grace) { return server_.stop(grace); }
  std::string baseUrl() const { return server_.baseUrl(); }

  // NotFound "container ID not found" for an unknown (or invisible)
  // container; FailedPrecondition "container ID is not running" for one
  // that is not running. timeout 0: none.
  Result<ExecSyncResult> execSync(const std::string& containerId, const std::vector<std::string>& cmd,
                                  std::chrono::milliseconds timeout);
  // The same checks, then the request validation of Server::get*; the URL.
  Result<std::string> exec(const ExecSpec& spec);
  Result<std::string> attach(const AttachSpec& spec);
  // The NetnsResolver's errors (NotFound for an unknown sandbox,
  // FailedPrecondition for one that is not ready).
  Result<std::string> portForward(const PortForwardSpec& spec);

 private:
  Result<> requireRunning(const std::string& id, const char* what);

  container::Service& containers_;
  Visible visible_;
  NetnsResolver netns_;
  ContainerBackend backend_;
  Server server_;
};

}  // namespace berth::cri::streaming
