#pragma once
// The two gRPC services of the CRI (runtime.v1.RuntimeService and
// ImageService). Their member functions are defined across files, one file
// per area (docs/cri.md "Layout"):
//   runtime_info.cpp        Version, Status, runtime config, metrics, events
//   runtime_pods.cpp        pod sandboxes
//   runtime_containers.cpp  containers, their stats and logs
//   runtime_streams.cpp     ExecSync, Exec, Attach, PortForward
//   images.cpp              ImageService
// Every handler may run on any gRPC thread at once with any other; the
// State they share (state.h) is built before the server starts.

#include <grpcpp/grpcpp.h>

#include "cri/api.grpc.pb.h"
#include "cri/state.h"

namespace berth::cri {

namespace v1 = ::runtime::v1;
class RuntimeServiceImpl final : public v1::RuntimeService::Service {
 public:
  explicit RuntimeServiceImpl(State& st) : st_(st) {}
  // runtime_info.cpp
  grpc::Status Version(grpc::ServerContext* ctx, const v1::VersionRequest* req, v1::VersionResponse* resp) override;
  grpc::Status Status(grpc::ServerContext* ctx, const v1::StatusRequest* req, v1::StatusResponse* resp) override;
  grpc::Status UpdateRuntimeConfig(grpc::ServerContext* ctx, const v1::UpdateRuntimeConfigRequest* req, v1::UpdateRuntimeConfigResponse* resp) override;
  grpc::Status CheckpointContainer(grpc::ServerContext* ctx, const v1::CheckpointContainerRequest* req, v1::CheckpointContainerResponse* resp) override;
  grpc::Status RuntimeConfig(grpc::ServerContext* ctx, const v1::RuntimeConfigRequest* req, v1::RuntimeConfigResponse* resp) override;
  grpc::Status GetContainerEvents(grpc::ServerContext* ctx, const v1::GetEventsRequest* req, grpc::ServerWriter<v1::ContainerEventResponse>* writer) override;
  grpc::Status ListMetricDescriptors(grpc::ServerContext* ctx, const v1::ListMetricDescriptorsRequest* req, v1::ListMetricDescriptorsResponse* resp) override;
  grpc::Status ListPodSandboxMetrics(grpc::ServerContext* ctx, const v1::ListPodSandboxMetricsRequest* req, v1::ListPodSandboxMetricsResponse* resp) override;
  // runtime_pods.cpp
  grpc::Status RunPodSandbox(grpc::ServerContext* ctx, const v1::RunPodSandboxRequest* req, v1::RunPodSandboxResponse* resp) override;
  grpc::Status StopPodSandbox(grpc::ServerContext* ctx, const v1::StopPodSandboxRequest* req, v1::StopPodSandboxResponse* resp) override;
  grpc::Status RemovePodSandbox(grpc::ServerContext* ctx, const v1::RemovePodSandboxRequest* req, v1::RemovePodSandboxResponse* resp) override;
  grpc::Status PodSandboxStatus(grpc::ServerContext* ctx, const v1::PodSandboxStatusRequest* req, v1::PodSandboxStatusResponse* resp) override;
  grpc::Status ListPodSandbox(grpc::ServerContext* ctx, const v1::ListPodSandboxRequest* req, v1::ListPodSandboxResponse* resp) override;
  grpc::Status PodSandboxStats(grpc::ServerContext* ctx, const v1::PodSandboxStatsRequest* req, v1::PodSandboxStatsResponse* resp) override;
  grpc::Status ListPodSandboxStats(grpc::ServerContext* ctx, const v1::ListPodSandboxStatsRequest* req, v1::ListPodSandboxStatsResponse* resp) override;
  // runtime_containers.cpp
  grpc::Status CreateContainer(grpc::ServerContext* ctx, const v1::CreateContainerRequest* req, v1::CreateContainerResponse* resp) override;
  grpc::Status StartContainer(grpc::ServerContext* ctx, const v1::StartContainerRequest* req, v1::StartContainerResponse* resp) override;
  grpc::Status StopContainer(grpc::ServerContext* ctx, const v1::StopContainerRequest* req, v1::StopContainerResponse* resp) override;
  grpc::Status RemoveContainer(grpc::ServerContext* ctx, const v1::RemoveContainerRequest* req, v1::RemoveContainerResponse* resp) override;
  grpc::Status ListContainers(grpc::ServerContext* ctx, const v1::ListContainersRequest* req, v1::ListContainersResponse* resp) override;
  grpc::Status ContainerStatus(grpc::ServerContext* ctx, const v1::ContainerStatusRequest* req, v1::ContainerStatusResponse* resp) override;
  grpc::Status UpdateContainerResources(grpc::ServerContext* ctx, const v1::UpdateContainerResourcesRequest* req, v1::UpdateContainerResourcesResponse* resp) override;
  grpc::Status ReopenContainerLog(grpc::ServerContext* ctx, const v1::ReopenContainerLogRequest* req, v1::ReopenContainerLogResponse* resp) override;
  grpc::Status ContainerStats(grpc::ServerContext* ctx, const v1::ContainerStatsRequest* req, v1::ContainerStatsResponse* resp) override;
  grpc::Status ListContainerStats(grpc::ServerContext* ctx, const v1::ListContainerStatsRequest* req, v1::ListContainerStatsResponse* resp) override;
  // runtime_streams.cpp
  grpc::Status ExecSync(grpc::ServerContext* ctx, const v1::ExecSyncRequest* req, v1::ExecSyncResponse* resp) override;
  grpc::Status Exec(grpc::ServerContext* ctx, const v1::ExecRequest* req, v1::ExecResponse* resp) override;
  grpc::Status Attach(grpc::ServerContext* ctx, const v1::AttachRequest* req, v1::AttachResponse* resp) override;
  grpc::Status PortForward(grpc::ServerContext* ctx, const v1::PortForwardRequest* req, v1::PortForwardResponse* resp) override;

 private:
  State& st_;
};

class ImageServiceImpl final : public v1::ImageService::Service {
 public:
  explicit ImageServiceImpl(State& st) : st_(st) {}
  // images.cpp
  grpc::Status ListImages(grpc::ServerContext* ctx, const v1::ListImagesRequest* req, v1::ListImagesResponse* resp) override;
  grpc::Status ImageStatus(grpc::ServerContext* ctx, const v1::ImageStatusRequest* req, v1::ImageStatusResponse* resp) override;
  grpc::Status PullImage(grpc::ServerContext* ctx, const v1::PullImageRequest* req, v1::PullImageResponse* resp) override;
  grpc::Status RemoveImage(grpc::ServerContext* ctx, const v1::RemoveImageRequest* req, v1::RemoveImageResponse* resp) override;
  grpc::Status ImageFsInfo(grpc::ServerContext* ctx, const v1::ImageFsInfoRequest* req, v1::ImageFsInfoResponse* resp) override;

 private:
  State& st_;
};

}  // namespace berth::cri
