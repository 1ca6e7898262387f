// runtime_streams.cpp: the ExecSync, Exec, Attach, PortForward handlers (owner: branch stream).
// Skeleton: every handler answers UNIMPLEMENTED until its area lands.

#include "cri/services.h"
#include "cri/status.h"

namespace berth::cri {

// Called once by State's constructor (state.h).
void initStreams(State& st) {}

grpc::Status RuntimeServiceImpl::ExecSync(grpc::ServerContext* ctx, const v1::ExecSyncRequest* req, v1::ExecSyncResponse* resp) {
  return unimplemented("ExecSync");
}

grpc::Status RuntimeServiceImpl::Exec(grpc::ServerContext* ctx, const v1::ExecRequest* req, v1::ExecResponse* resp) {
  return unimplemented("Exec");
}

grpc::Status RuntimeServiceImpl::Attach(grpc::ServerContext* ctx, const v1::AttachRequest* req, v1::AttachResponse* resp) {
  return unimplemented("Attach");
}

grpc::Status RuntimeServiceImpl::PortForward(grpc::ServerContext* ctx, const v1::PortForwardRequest* req, v1::PortForwardResponse* resp) {
  return unimplemented("PortForward");
}

}  // namespace berth::cri
