#include "cri/streaming/service.h"

namespace berth::cri::streaming {

StreamingService::StreamingService(container::Service& containers, ServerConfig config, Visible visible,
                                   NetnsResolver netns)
    : containers_(containers),
      visible_(std::move(visible)),
      netns_(netns ? std::move(netns) : containerNetns(containers)),
      backend_(containers, containers, netns_),
      server_(std::move(config), backend_) {}

Result<> StreamingService::start() { return server_.start(); }

Result<> StreamingService::requireRunning(const std::string& id, const char* what) {
  if (id.empty()) return errorf(Code::InvalidArgument, "missing required {}", what);
  auto d = containers_.inspect(id, false);
  const char* noun = "container";
  if (!d) {
    if (d.error().code == Code::NotFound) return errorf(Code::NotFound, "{} {} not found", noun, id);
    return std::unexpected(d.error());
  }
  if (visible_ && !visible_(*d)) return errorf(Code::NotFound, "{} {} not found", noun, id);
  if (d->record.state.status != container::State::Running)
    return errorf(Code::FailedPrecondition, "{} {} is not running", noun, id);
  return {};
}

Result<ExecSyncResult> StreamingService::execSync(const std::string& containerId, const std::vector<std::string>& cmd,
                                                  std::chrono::milliseconds timeout) {
  TRY(requireRunning(containerId, "container_id"));
  if (cmd.empty()) return makeError(Code::InvalidArgument, "cmd must not be empty");
  auto r = streaming::execSync(containers_, containerId, cmd, timeout);
  if (!r && r.error().code == Code::Conflict) return errorf(Code::FailedPrecondition, "container {} is not running", containerId);
  return r;
}

Result<std::string> StreamingService::exec(const ExecSpec& spec) {
  TRY(requireRunning(spec.containerId, "container_id"));
  if (spec.cmd.empty()) return makeError(Code::InvalidArgument, "cmd must not be empty");
  return server_.getExec(spec);
}

Result<std::string> StreamingService::attach(const AttachSpec& spec) {
  TRY(requireRunning(spec.containerId, "container_id"));
  return server_.getAttach(spec);
}

Result<std::string> StreamingService::portForward(const PortForwardSpec& spec) {
  if (spec.podSandboxId.empty()) return makeError(Code::InvalidArgument, "missing required pod_sandbox_id");
  TRY(netns_(spec.podSandboxId));
  return server_.getPortForward(spec);
}

}  // namespace berth::cri::streaming
