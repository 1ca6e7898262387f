// runtime_pods.cpp: the pod sandbox RPCs (RunPodSandbox, StopPodSandbox,
// RemovePodSandbox, PodSandboxStatus, ListPodSandbox, PodSandboxStats,
// ListPodSandboxStats). The work is in cri/pods.h (gRPC-free); this file
// only translates the protobuf messages to and from its plain structs.

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/util.h"
#include "container/service.h"
#include "cri/cni.h"
#include "cri/pod_store.h"
#include "cri/pods.h"
#include "cri/services.h"
#include "cri/status.h"
#include "image/service.h"

namespace berth::cri {

using json = nlohmann::json;

// Called once by State's constructor (state.h): the records (reloaded: the
// sandboxes of before a restart are listed again), CNI, the pod manager.
void initPods(State& st) {
  const Config& cfg = st.host.config;
  st.podStore = std::make_unique<PodStore>(cfg.stateDir + "/sandboxes", &st.host.containers);
  if (auto l = st.podStore->load(); !l) {
    st.initError = "pod sandboxes: " + l.error().message;
    return;
  }
  st.cni = std::make_unique<cni::Cni>(cfg.cniConfDir, cfg.cniBinDirs);
  // The pause image lives in the k8s.io view initImages made (State::images).
  st.pods = std::make_unique<Pods>(st.host.containers, *st.images, *st.podStore, st.cni.get(),
                                   PodsConfig{cfg.pauseBin, cfg.execRoot + "/cri/netns"});
  if (int n = st.pods->reconcile(); n > 0) log::info("cri: {} leftover(s) of interrupted pod starts removed", n);
}

namespace {

NamespaceMode modeOf(v1::NamespaceMode m) {
  switch (m) {
    case v1::NODE: return NamespaceMode::Node;
    case v1::CONTAINER: return NamespaceMode::Container;
    case v1::TARGET: return NamespaceMode::Target;
    default: return NamespaceMode::Pod;
  }
}

v1::NamespaceMode protoMode(NamespaceMode m) { return v1::NamespaceMode(int(m)); }

std::map<std::string, std::string> plainMap(const google::protobuf::Map<std::string, std::string>& m) {
  return {m.begin(), m.end()};
}

void fillMetadata(v1::PodSandboxMetadata* out, const PodMetadata& m) {
  out->set_name(m.name);
  out->set_uid(m.uid);
  out->set_namespace_(m.ns);
  out->set_attempt(m.attempt);
}

template <class M>
void fillMap(M* out, const std::map<std::string, std::string>& m) {
  for (const auto& [k, v] : m) (*out)[k] = v;
}

v1::PodSandboxState protoState(SandboxState s) {
  return s == SandboxState::Ready ? v1::SANDBOX_READY : v1::SANDBOX_NOTREADY;
}

SandboxRequest requestOf(const v1::RunPodSandboxRequest& req) {
  const auto& c = req.config();
  SandboxRequest r;
  r.metadata = {c.metadata().name(), c.metadata().uid(), c.metadata().namespace_(), c.metadata().attempt()};
  r.hostname = c.hostname();
  r.logDirectory = c.log_directory();
  r.runtimeHandler = req.runtime_handler();
  r.dns.servers.assign(c.dns_config().servers().begin(), c.dns_config().servers().end());
  r.dns.searches.assign(c.dns_config().searches().begin(), c.dns_config().searches().end());
  r.dns.options.assign(c.dns_config().options().begin(), c.dns_config().options().end());
  for (const auto& p : c.port_mappings()) {
    const char* proto = p.protocol() == v1::UDP ? "udp" : p.protocol() == v1::SCTP ? "sctp" : "tcp";
    r.portMappings.push_back({proto, p.container_port(), p.host_port(), p.host_ip()});
  }
  r.labels = plainMap(c.labels());
  r.annotations = plainMap(c.annotations());
  r.cgroupParent = c.linux().cgroup_parent();
  r.sysctls = plainMap(c.linux().sysctls());
  const auto& sc = c.linux().security_context();
  const auto& ns = sc.namespace_options();
  r.namespaces.network = ns.network() == v1::NODE ? NamespaceMode::Node : NamespaceMode::Pod;
  r.namespaces.pid = modeOf(ns.pid());
  r.namespaces.ipc = ns.ipc() == v1::NODE ? NamespaceMode::Node : NamespaceMode::Pod;
  r.namespaces.targetId = ns.target_id();
  r.privileged = sc.privileged();
  return r;
}

void fillStats(v1::PodSandboxStats* out, const Sandbox& s, const SandboxStats& st) {
  auto* a = out->mutable_attributes();
  a->set_id(s.id);
  fillMetadata(a->mutable_metadata(), s.metadata);
  fillMap(a->mutable_labels(), s.labels);
  fillMap(a->mutable_annotations(), s.annotations);
  auto* l = out->mutable_linux();
  auto* cpu = l->mutable_cpu();
  cpu->set_timestamp(st.timestamp);
  cpu->mutable_usage_core_nano_seconds()->set_value(st.cpuUsageCoreNanos);
  auto* mem = l->mutable_memory();
  mem->set_timestamp(st.timestamp);
  mem->mutable_working_set_bytes()->set_value(st.memoryWorkingSetBytes);
  mem->mutable_usage_bytes()->set_value(st.memoryUsageBytes);
  mem->mutable_rss_bytes()->set_value(st.memoryRssBytes);
  mem->mutable_page_faults()->set_value(st.pageFaults);
  mem->mutable_major_page_faults()->set_value(st.majorPageFaults);
  auto* net = l->mutable_network();
  net->set_timestamp(st.timestamp);
  for (const auto& i : st.interfaces) {
    auto* u = net->add_interfaces();
    u->set_name(i.name);
    u->mutable_rx_bytes()->set_value(i.rxBytes);
    u->mutable_rx_errors()->set_value(i.rxErrors);
    u->mutable_tx_bytes()->set_value(i.txBytes);
    u->mutable_tx_errors()->set_value(i.txErrors);
    if (i.name == "eth0") *net->mutable_default_interface() = *u;
  }
  auto* proc = l->mutable_process();
  proc->set_timestamp(st.timestamp);
  proc->mutable_process_count()->set_value(st.processes);
}

}  // namespace

grpc::Status RuntimeServiceImpl::RunPodSandbox(grpc::ServerContext* ctx, const v1::RunPodSandboxRequest* req,
                                               v1::RunPodSandboxResponse* resp) {
  if (!req->has_config() || !req->config().has_metadata())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "sandbox config must include metadata");
  auto id = st_.pods->run(requestOf(*req));
  if (!id) return toStatus(id.error());
  resp->set_pod_sandbox_id(*id);
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::StopPodSandbox(grpc::ServerContext* ctx, const v1::StopPodSandboxRequest* req,
                                                v1::StopPodSandboxResponse* resp) {
  // Idempotent, as the CRI asks (and critest checks): stopping a sandbox
  // that is gone already succeeds.
  if (auto r = st_.pods->stop(req->pod_sandbox_id()); !r && r.error().code != Code::NotFound)
    return toStatus(r.error());
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::RemovePodSandbox(grpc::ServerContext* ctx, const v1::RemovePodSandboxRequest* req,
                                                  v1::RemovePodSandboxResponse* resp) {
  if (auto r = st_.pods->remove(req->pod_sandbox_id()); !r) return toStatus(r.error());
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::PodSandboxStatus(grpc::ServerContext* ctx, const v1::PodSandboxStatusRequest* req,
                                                  v1::PodSandboxStatusResponse* resp) {
  auto s = st_.pods->status(req->pod_sandbox_id());
  if (!s) return toStatus(s.error());
  auto* out = resp->mutable_status();
  out->set_id(s->id);
  fillMetadata(out->mutable_metadata(), s->metadata);
  out->set_state(protoState(s->state));
  out->set_created_at(s->createdAt);
  auto* net = out->mutable_network();
  net->set_ip(s->ip);
  for (const auto& ip : s->additionalIps) net->add_additional_ips()->set_ip(ip);
  auto* ns = out->mutable_linux()->mutable_namespaces()->mutable_options();
  ns->set_network(protoMode(s->namespaces.network));
  ns->set_pid(protoMode(s->namespaces.pid));
  ns->set_ipc(protoMode(s->namespaces.ipc));
  ns->set_target_id(s->namespaces.targetId);
  fillMap(out->mutable_labels(), s->labels);
  fillMap(out->mutable_annotations(), s->annotations);
  out->set_runtime_handler(s->runtimeHandler);
  resp->set_timestamp(nowNanos());
  if (req->verbose()) {
    // containerd's "info" document, as far as berth has its facts.
    json info = {{"pid", 0},
                 {"processStatus", "unknown"},
                 {"netNamespaceClosed", s->netnsPath.empty()},
                 {"netns", s->netnsPath},
                 {"runtimeHandler", s->runtimeHandler},
                 {"runtimeType", "io.berth.pause"},
                 {"config", s->toJson()},
                 {"cniResult", s->cniResult}};
    if (auto d = st_.host.containers.inspect(s->id, false)) {
      info["pid"] = d->record.state.pid;
      info["processStatus"] = container::stateName(d->record.state.status);
      info["image"] = d->record.imageId;
    }
    (*resp->mutable_info())["info"] = info.dump();
  }
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::ListPodSandbox(grpc::ServerContext* ctx, const v1::ListPodSandboxRequest* req,
                                                v1::ListPodSandboxResponse* resp) {
  SandboxFilter f;
  if (req->has_filter()) {
    f.idPrefix = req->filter().id();
    if (req->filter().has_state())
      f.state = req->filter().state().state() == v1::SANDBOX_READY ? SandboxState::Ready : SandboxState::NotReady;
    f.labelSelector = plainMap(req->filter().label_selector());
  }
  for (const auto& s : st_.pods->list(f)) {
    auto* item = resp->add_items();
    item->set_id(s.id);
    fillMetadata(item->mutable_metadata(), s.metadata);
    item->set_state(protoState(s.state));
    item->set_created_at(s.createdAt);
    fillMap(item->mutable_labels(), s.labels);
    fillMap(item->mutable_annotations(), s.annotations);
    item->set_runtime_handler(s.runtimeHandler);
  }
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::PodSandboxStats(grpc::ServerContext* ctx, const v1::PodSandboxStatsRequest* req,
                                                 v1::PodSandboxStatsResponse* resp) {
  auto s = st_.pods->status(req->pod_sandbox_id());
  if (!s) return toStatus(s.error());
  auto stats = st_.pods->stats(s->id);
  if (!stats) return toStatus(stats.error());
  fillStats(resp->mutable_stats(), *s, *stats);
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::ListPodSandboxStats(grpc::ServerContext* ctx,
                                                     const v1::ListPodSandboxStatsRequest* req,
                                                     v1::ListPodSandboxStatsResponse* resp) {
  SandboxFilter f;
  if (req->has_filter()) {
    f.idPrefix = req->filter().id();
    f.labelSelector = plainMap(req->filter().label_selector());
  }
  for (const auto& s : st_.pods->list(f)) {
    auto stats = st_.pods->stats(s.id);
    if (!stats) continue;  // removed meanwhile
    fillStats(resp->add_stats(), s, *stats);
  }
  return grpc::Status::OK;
}

}  // namespace berth::cri
