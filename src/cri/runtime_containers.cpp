// runtime_containers.cpp: the CreateContainer, StartContainer, StopContainer, RemoveContainer, ListContainers, ContainerStatus, UpdateContainerResources, ReopenContainerLog, ContainerStats, ListContainerStats handlers (owner: branch cri-ctr).
// Skeleton: every handler answers UNIMPLEMENTED until its area lands.

#include "cri/services.h"
#include "cri/status.h"

namespace berth::cri {

// Called once by State's constructor (state.h).
void initContainers(State& st) {}

grpc::Status RuntimeServiceImpl::CreateContainer(grpc::ServerContext* ctx, const v1::CreateContainerRequest* req, v1::CreateContainerResponse* resp) {
  return unimplemented("CreateContainer");
}

grpc::Status RuntimeServiceImpl::StartContainer(grpc::ServerContext* ctx, const v1::StartContainerRequest* req, v1::StartContainerResponse* resp) {
  return unimplemented("StartContainer");
}

grpc::Status RuntimeServiceImpl::StopContainer(grpc::ServerContext* ctx, const v1::StopContainerRequest* req, v1::StopContainerResponse* resp) {
  return unimplemented("StopContainer");
}

grpc::Status RuntimeServiceImpl::RemoveContainer(grpc::ServerContext* ctx, const v1::RemoveContainerRequest* req, v1::RemoveContainerResponse* resp) {
  return unimplemented("RemoveContainer");
}

grpc::Status RuntimeServiceImpl::ListContainers(grpc::ServerContext* ctx, const v1::ListContainersRequest* req, v1::ListContainersResponse* resp) {
  return unimplemented("ListContainers");
}

grpc::Status RuntimeServiceImpl::ContainerStatus(grpc::ServerContext* ctx, const v1::ContainerStatusRequest* req, v1::ContainerStatusResponse* resp) {
  return unimplemented("ContainerStatus");
}

grpc::Status RuntimeServiceImpl::UpdateContainerResources(grpc::ServerContext* ctx, const v1::UpdateContainerResourcesRequest* req, v1::UpdateContainerResourcesResponse* resp) {
  return unimplemented("UpdateContainerResources");
}

grpc::Status RuntimeServiceImpl::ReopenContainerLog(grpc::ServerContext* ctx, const v1::ReopenContainerLogRequest* req, v1::ReopenContainerLogResponse* resp) {
  return unimplemented("ReopenContainerLog");
}

grpc::Status RuntimeServiceImpl::ContainerStats(grpc::ServerContext* ctx, const v1::ContainerStatsRequest* req, v1::ContainerStatsResponse* resp) {
  return unimplemented("ContainerStats");
}

grpc::Status RuntimeServiceImpl::ListContainerStats(grpc::ServerContext* ctx, const v1::ListContainerStatsRequest* req, v1::ListContainerStatsResponse* resp) {
  return unimplemented("ListContainerStats");
}

}  // namespace berth::cri
