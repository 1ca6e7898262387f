// runtime_pods.cpp: the RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus, ListPodSandbox, PodSandboxStats, ListPodSandboxStats handlers (owner: branch cri-pods).
// Skeleton: every handler answers UNIMPLEMENTED until its area lands.

#include "cri/services.h"
#include "cri/status.h"

namespace berth::cri {

// Called once by State's constructor (state.h).
void initPods(State& st) {}

grpc::Status RuntimeServiceImpl::RunPodSandbox(grpc::ServerContext* ctx, const v1::RunPodSandboxRequest* req, v1::RunPodSandboxResponse* resp) {
  return unimplemented("RunPodSandbox");
}

grpc::Status RuntimeServiceImpl::StopPodSandbox(grpc::ServerContext* ctx, const v1::StopPodSandboxRequest* req, v1::StopPodSandboxResponse* resp) {
  return unimplemented("StopPodSandbox");
}

grpc::Status RuntimeServiceImpl::RemovePodSandbox(grpc::ServerContext* ctx, const v1::RemovePodSandboxRequest* req, v1::RemovePodSandboxResponse* resp) {
  return unimplemented("RemovePodSandbox");
}

grpc::Status RuntimeServiceImpl::PodSandboxStatus(grpc::ServerContext* ctx, const v1::PodSandboxStatusRequest* req, v1::PodSandboxStatusResponse* resp) {
  return unimplemented("PodSandboxStatus");
}

grpc::Status RuntimeServiceImpl::ListPodSandbox(grpc::ServerContext* ctx, const v1::ListPodSandboxRequest* req, v1::ListPodSandboxResponse* resp) {
  return unimplemented("ListPodSandbox");
}

grpc::Status RuntimeServiceImpl::PodSandboxStats(grpc::ServerContext* ctx, const v1::PodSandboxStatsRequest* req, v1::PodSandboxStatsResponse* resp) {
  return unimplemented("PodSandboxStats");
}

grpc::Status RuntimeServiceImpl::ListPodSandboxStats(grpc::ServerContext* ctx, const v1::ListPodSandboxStatsRequest* req, v1::ListPodSandboxStatsResponse* resp) {
  return unimplemented("ListPodSandboxStats");
}

}  // namespace berth::cri
