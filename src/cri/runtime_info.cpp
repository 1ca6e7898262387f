// runtime_info.cpp: Version, Status, the runtime config calls, metrics and
// events (owner: the lead). docs/cri.md lists what berth answers.

#include <dirent.h>

#include <string>

#include <nlohmann/json.hpp>

#include "cri/services.h"
#include "cri/status.h"

namespace berth::cri {
namespace {

// kubelet's NetworkReady: a CNI config file is present in the conf dir
// (the CNI area loads and checks it when a pod is set up).
bool cniConfigPresent(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return false;
  bool found = false;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    auto ends = [&](const char* s) {
      std::string x(s);
      return n.size() > x.size() && n.compare(n.size() - x.size(), x.size(), x) == 0;
    };
    if (ends(".conf") || ends(".conflist") || ends(".json")) found = true;
  }
  ::closedir(d);
  return found;
}

}  // namespace

grpc::Status RuntimeServiceImpl::Version(grpc::ServerContext*, const v1::VersionRequest*, v1::VersionResponse* resp) {
  // "version" is the kubelet API version of the runtime service, as containerd answers it.
  resp->set_version("0.1.0");
  resp->set_runtime_name("berth");
  resp->set_runtime_version(st_.host.version);
  resp->set_runtime_api_version("v1");
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::Status(grpc::ServerContext*, const v1::StatusRequest* req, v1::StatusResponse* resp) {
  auto* status = resp->mutable_status();
  auto* rt = status->add_conditions();
  rt->set_type("RuntimeReady");
  rt->set_status(true);
  auto* net = status->add_conditions();
  net->set_type("NetworkReady");
  bool netReady = cniConfigPresent(st_.host.config.cniConfDir);
  net->set_status(netReady);
  if (!netReady) {
    net->set_reason("NetworkPluginNotReady");
    net->set_message("Network plugin returns error: cni plugin not initialized: no network config found in " +
                     st_.host.config.cniConfDir);
  }
  // One handler, the default ("" = berth's built-in runtime).
  auto* h = resp->add_runtime_handlers();
  h->set_name("");
  h->mutable_features()->set_recursive_read_only_mounts(false);
  h->mutable_features()->set_user_namespaces(false);
  resp->mutable_features()->set_supplemental_groups_policy(false);
  if (req->verbose()) {
    std::string podCidr;
    {
      std::lock_guard lk(st_.mu);
      podCidr = st_.podCidr;
    }
    nlohmann::json cfg = {{"cniConfDir", st_.host.config.cniConfDir},
                          {"cniBinDirs", st_.host.config.cniBinDirs},
                          {"streamAddress", st_.host.config.streamAddress},
                          {"podCidr", podCidr}};
    (*resp->mutable_info())["config"] = cfg.dump();
  }
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::UpdateRuntimeConfig(grpc::ServerContext*, const v1::UpdateRuntimeConfigRequest* req,
                                                     v1::UpdateRuntimeConfigResponse*) {
  std::lock_guard lk(st_.mu);
  st_.podCidr = req->runtime_config().network_config().pod_cidr();
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::CheckpointContainer(grpc::ServerContext*, const v1::CheckpointContainerRequest*,
                                                     v1::CheckpointContainerResponse*) {
  return unimplemented("CheckpointContainer");
}

grpc::Status RuntimeServiceImpl::RuntimeConfig(grpc::ServerContext*, const v1::RuntimeConfigRequest*,
                                               v1::RuntimeConfigResponse* resp) {
  // berth drives cgroupfs directly (no systemd slices).
  resp->mutable_linux()->set_cgroup_driver(v1::CgroupDriver::CGROUPFS);
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::GetContainerEvents(grpc::ServerContext*, const v1::GetEventsRequest*,
                                                    grpc::ServerWriter<v1::ContainerEventResponse>*) {
  // kubelet uses this only with the EventedPLEG feature gate (off by default).
  return unimplemented("GetContainerEvents");
}

grpc::Status RuntimeServiceImpl::ListMetricDescriptors(grpc::ServerContext*, const v1::ListMetricDescriptorsRequest*,
                                                       v1::ListMetricDescriptorsResponse*) {
  return grpc::Status::OK;  // no metrics beyond the stats calls
}

grpc::Status RuntimeServiceImpl::ListPodSandboxMetrics(grpc::ServerContext*, const v1::ListPodSandboxMetricsRequest*,
                                                       v1::ListPodSandboxMetricsResponse*) {
  return grpc::Status::OK;
}

}  // namespace berth::cri
