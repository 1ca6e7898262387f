#pragma once
// Internal to the streaming server: the conversations after an upgrade.
// Each serve* function runs on the connection's thread and returns when
// the session is over and its worker threads are joined; the caller keeps
// the fd (and closes it afterwards).

#include <chrono>
#include <string>

#include "cri/streaming/backend.h"
#include "cri/streaming/remotecommand.h"
#include "cri/streaming/request_cache.h"

namespace berth::cri::streaming::detail {

// An exec or an attach.
struct CommandRequest {
  bool isExec = true;
  ExecSpec exec;
  AttachSpec attach;
  bool tty() const { return isExec ? exec.tty : attach.tty; }
  bool stdinWanted() const { return isExec ? exec.stdinWanted : attach.stdinWanted; }
  bool stdoutWanted() const { return isExec ? exec.stdoutWanted : attach.stdoutWanted; }
  bool stderrWanted() const { return isExec ? exec.stderrWanted : attach.stderrWanted; }
};

// Runs the request on the backend: what the error stream reports.
CommandResult runCommand(Backend& backend, const CommandRequest& req, CommandStreams& streams);

// leftover: bytes read past the HTTP request head (the first frames).
void serveSpdyCommand(int fd, std::string leftover, Protocol protocol, const CommandRequest& req, Backend& backend,
                      std::chrono::milliseconds streamCreationTimeout);
void serveSpdyPortForward(int fd, std::string leftover, const PortForwardSpec& spec, Backend& backend);
void serveWsCommand(int fd, std::string leftover, const WsProtocol& protocol, const CommandRequest& req,
                    Backend& backend);
void serveWsPortForward(int fd, std::string leftover, const WsProtocol& protocol, const PortForwardSpec& spec,
                        Backend& backend);

}  // namespace berth::cri::streaming::detail
