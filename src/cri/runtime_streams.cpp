// runtime_streams.cpp: ExecSync, Exec, Attach and PortForward. The work is
// in cri/streaming/ (gRPC-free): this file maps the messages and the errors.

#include <chrono>

#include "common/log.h"
#include "container/namespaces.h"
#include "container/service.h"
#include "cri/pod_store.h"
#include "cri/services.h"
#include "cri/status.h"
#include "cri/streaming/service.h"

namespace berth::cri {

// Called once by State's constructor (state.h), after initPods: the
// streaming server listens from here until shutdown. The CRI sees only
// its own namespace's containers; a sandbox's ports are in the network
// namespace its record pinned (the host's for hostNetwork pods).
void initStreams(State& st) {
  streaming::ServerConfig cfg;
  cfg.address = st.host.config.streamAddress.empty() ? "127.0.0.1" : st.host.config.streamAddress;
  cfg.port = st.host.config.streamPort;
  auto visible = [](const container::ContainerDetails& d) {
    return container::namespaceOf(d.record.config) == container::kCriNamespace;
  };
  auto netns = [&st](const std::string& id) -> Result<std::string> {
    if (!st.podStore) return makeError(Code::Unavailable, "pod sandboxes are not available");
    TRY_ASSIGN(Sandbox sb, st.podStore->sandbox(id));
    if (sb.state != SandboxState::Ready) return errorf(Code::FailedPrecondition, "sandbox {} is not ready", sb.id);
    if (sb.namespaces.network == NamespaceMode::Node) return std::string();
    if (sb.netnsPath.empty()) return errorf(Code::FailedPrecondition, "sandbox {} has no network namespace", sb.id);
    return sb.netnsPath;
  };
  st.streams = std::make_unique<streaming::StreamingService>(st.host.containers, cfg, visible, netns);
  if (auto r = st.streams->start(); !r) {
    st.initError = "cri streaming server: " + r.error().message;
    return;
  }
  log::info("cri: streaming server on {}", st.streams->baseUrl());
  st.onShutdown.push_back([&st] {
    // An exec whose process still runs keeps its session (and this
    // service) busy: berthd must not wait for it, nor free what its
    // threads use. The service is left to the process's end.
    if (!st.streams->stop(std::chrono::seconds(3))) {
      log::warn("cri: streaming sessions still running at shutdown; left to finish");
      (void)st.streams.release();
    }
  });
}

namespace {

std::vector<std::string> toVector(const google::protobuf::RepeatedPtrField<std::string>& f) {
  return std::vector<std::string>(f.begin(), f.end());
}

// Go's time.Duration text for whole seconds ("1s", "1m30s", "2h0m0s").
std::string goDuration(int64_t s) {
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  return std::to_string(s / 3600) + "h" + std::to_string(s % 3600 / 60) + "m" + std::to_string(s % 60) + "s";
}

}  // namespace

grpc::Status RuntimeServiceImpl::ExecSync(grpc::ServerContext*, const v1::ExecSyncRequest* req,
                                          v1::ExecSyncResponse* resp) {
  int64_t timeout = req->timeout();
  auto r = st_.streams->execSync(req->container_id(), toVector(req->cmd()),
                                 std::chrono::milliseconds(timeout > 0 ? timeout * 1000 : 0));
  if (!r) return toStatus(r.error());
  if (r->timedOut)  // containerd: the exec is killed, the call answers DeadlineExceeded
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                        "timeout " + goDuration(timeout) + " exceeded: context deadline exceeded");
  resp->set_stdout(std::move(r->stdoutData));
  resp->set_stderr(std::move(r->stderrData));
  resp->set_exit_code(r->exitCode);
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::Exec(grpc::ServerContext*, const v1::ExecRequest* req, v1::ExecResponse* resp) {
  streaming::ExecSpec spec{req->container_id(), toVector(req->cmd()), req->tty(),
                           req->stdin(),        req->stdout(),        req->stderr()};
  auto url = st_.streams->exec(spec);
  if (!url) return toStatus(url.error());
  resp->set_url(*url);
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::Attach(grpc::ServerContext*, const v1::AttachRequest* req, v1::AttachResponse* resp) {
  streaming::AttachSpec spec{req->container_id(), req->tty(), req->stdin(), req->stdout(), req->stderr()};
  auto url = st_.streams->attach(spec);
  if (!url) return toStatus(url.error());
  resp->set_url(*url);
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::PortForward(grpc::ServerContext*, const v1::PortForwardRequest* req,
                                             v1::PortForwardResponse* resp) {
  streaming::PortForwardSpec spec{req->pod_sandbox_id(), std::vector<int32_t>(req->port().begin(), req->port().end())};
  auto url = st_.streams->portForward(spec);
  if (!url) return toStatus(url.error());
  resp->set_url(*url);
  return grpc::Status::OK;
}

}  // namespace berth::cri
