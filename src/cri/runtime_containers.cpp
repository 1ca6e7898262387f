// runtime_containers.cpp: CreateContainer, StartContainer, StopContainer,
// RemoveContainer, ListContainers, ContainerStatus,
// UpdateContainerResources, ReopenContainerLog, ContainerStats and
// ListContainerStats (docs/cri-containers.md).
//
// A CRI container is a berth container of the container service, created
// from a Docker create body (cri/translate_container.h decides what every
// CRI field becomes) in the k8s.io namespace. These handlers copy protobuf
// messages into the translation's plain structs and back, and call
// container::Service; they keep no state of their own, so what berthd
// restores after a restart is all there is.

#include <algorithm>
#include <string>

#include "common/trace.h"
#include "common/util.h"
#include "container/namespaces.h"
#include "container/service.h"
#include "cri/image_core.h"
#include "cri/services.h"
#include "cri/status.h"
#include "cri/translate_container.h"
#include "image/service.h"

namespace berth::cri {

namespace {

using json = nlohmann::json;

// The status of an errorf() / makeError() result.
grpc::Status statusOf(const std::unexpected<Error>& u) { return toStatus(u.error()); }

grpc::Status invalid(const std::string& msg) { return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, msg); }

NamespaceMode modeOf(v1::NamespaceMode m) { return NamespaceMode(int(m)); }

SecurityProfile profileOf(const v1::SecurityProfile& p) {
  return SecurityProfile{SecurityProfile::Type(int(p.profile_type())), p.localhost_ref()};
}

LinuxResources resourcesOf(const v1::LinuxContainerResources& r) {
  LinuxResources out;
  out.cpuPeriod = r.cpu_period();
  out.cpuQuota = r.cpu_quota();
  out.cpuShares = r.cpu_shares();
  out.memoryLimit = r.memory_limit_in_bytes();
  out.memorySwapLimit = r.memory_swap_limit_in_bytes();
  out.oomScoreAdj = r.oom_score_adj();
  out.cpusetCpus = r.cpuset_cpus();
  out.cpusetMems = r.cpuset_mems();
  for (const auto& h : r.hugepage_limits()) out.hugepages.push_back({h.page_size(), h.limit()});
  for (const auto& [k, v] : r.unified()) out.unified[k] = v;
  return out;
}

void fillResources(v1::LinuxContainerResources* out, const LinuxResources& r) {
  out->set_cpu_period(r.cpuPeriod);
  out->set_cpu_quota(r.cpuQuota);
  out->set_cpu_shares(r.cpuShares);
  out->set_memory_limit_in_bytes(r.memoryLimit);
  out->set_memory_swap_limit_in_bytes(r.memorySwapLimit);
  out->set_oom_score_adj(r.oomScoreAdj);
  out->set_cpuset_cpus(r.cpusetCpus);
  out->set_cpuset_mems(r.cpusetMems);
}

ContainerSpec specOf(const v1::ContainerConfig& c) {
  ContainerSpec s;
  s.name = c.metadata().name();
  s.attempt = c.metadata().attempt();
  s.image = c.image().user_specified_image().empty() ? c.image().image() : c.image().user_specified_image();
  s.command.assign(c.command().begin(), c.command().end());
  s.args.assign(c.args().begin(), c.args().end());
  s.workingDir = c.working_dir();
  for (const auto& kv : c.envs()) s.envs.emplace_back(kv.key(), kv.value());
  for (const auto& m : c.mounts()) {
    MountSpec ms;
    ms.containerPath = m.container_path();
    ms.hostPath = m.host_path();
    ms.readonly = m.readonly();
    ms.propagation = Propagation(int(m.propagation()));
    ms.idMapped = m.uidmappings_size() > 0 || m.gidmappings_size() > 0;
    ms.recursiveReadOnly = m.recursive_read_only();
    ms.image = m.has_image() ? m.image().image() : "";
    s.mounts.push_back(std::move(ms));
  }
  for (const auto& d : c.devices()) s.devices.push_back({d.container_path(), d.host_path(), d.permissions()});
  for (const auto& [k, v] : c.labels()) s.labels[k] = v;
  for (const auto& [k, v] : c.annotations()) s.annotations[k] = v;
  s.logPath = c.log_path();
  s.stdin = c.stdin();
  s.stdinOnce = c.stdin_once();
  s.tty = c.tty();
  if (c.has_linux()) {
    if (c.linux().has_resources()) s.resources = resourcesOf(c.linux().resources());
    const auto& sc = c.linux().security_context();
    SecurityContext& sec = s.security;
    sec.capAdd.assign(sc.capabilities().add_capabilities().begin(), sc.capabilities().add_capabilities().end());
    sec.capDrop.assign(sc.capabilities().drop_capabilities().begin(), sc.capabilities().drop_capabilities().end());
    sec.privileged = sc.privileged();
    sec.network = modeOf(sc.namespace_options().network());
    sec.pid = modeOf(sc.namespace_options().pid());
    sec.ipc = modeOf(sc.namespace_options().ipc());
    sec.targetId = sc.namespace_options().target_id();
    if (sc.has_run_as_user()) sec.runAsUser = sc.run_as_user().value();
    if (sc.has_run_as_group()) sec.runAsGroup = sc.run_as_group().value();
    sec.runAsUsername = sc.run_as_username();
    sec.readonlyRootfs = sc.readonly_rootfs();
    sec.supplementalGroups.assign(sc.supplemental_groups().begin(), sc.supplemental_groups().end());
    sec.noNewPrivs = sc.no_new_privs();
    sec.maskedPaths.assign(sc.masked_paths().begin(), sc.masked_paths().end());
    sec.readonlyPaths.assign(sc.readonly_paths().begin(), sc.readonly_paths().end());
    if (sc.has_seccomp()) sec.seccomp = profileOf(sc.seccomp());
    if (sc.has_apparmor()) sec.apparmor = profileOf(sc.apparmor());
    sec.seccompProfilePath = sc.seccomp_profile_path();
    sec.apparmorProfile = sc.apparmor_profile();
  }
  return s;
}

v1::ContainerState stateOf(CriState s) { return v1::ContainerState(int(s)); }

void fillImage(v1::ImageSpec* out, const ContainerView& v) {
  out->set_image(v.image);
  out->set_user_specified_image(v.image);
}

// The CRI container a ref names: NotFound for unknown ids and for berth
// containers that are not CRI containers (Docker API ones, sandboxes).
Result<container::ContainerDetails> criContainer(State& st, const std::string& ref) {
  if (ref.empty()) return makeError(Code::InvalidArgument, "container id is empty");
  auto d = st.host.containers.inspect(ref, false);
  if (!d) return std::unexpected(d.error());
  if (!isCriContainer(d->record)) return errorf(Code::NotFound, "No such container: {}", ref);
  return d;
}

// Resolves an id prefix to a CRI container's full id; "" when none.
std::string resolveCri(State& st, const std::string& ref) {
  auto d = criContainer(st, ref);
  return d ? d->record.id : std::string();
}

// Every CRI container record (sandboxes excluded), newest first.
Result<std::vector<container::Container>> criRecords(State& st) {
  container::ListOptions o;
  o.all = true;
  o.ns = std::string(container::kCriNamespace);
  TRY_ASSIGN(auto list, st.host.containers.list(o));
  std::vector<container::Container> out;
  for (auto& s : list)
    if (isCriContainer(s.record)) out.push_back(std::move(s.record));
  return out;
}

// Collects what container::Queries::stats writes.
class StringWriter : public StreamWriter {
 public:
  bool write(std::string_view data) override {
    text.append(data);
    return true;
  }
  std::string text;
};

// ContainerStats of one record: CPU and memory from the cgroup (running
// containers), the writable layer's bytes and inodes.
Result<> fillStats(State& st, const container::Container& rec, v1::ContainerStats* out) {
  TRY_ASSIGN(ContainerView v, viewOf(rec));
  auto* a = out->mutable_attributes();
  a->set_id(v.id);
  a->mutable_metadata()->set_name(v.name);
  a->mutable_metadata()->set_attempt(v.attempt);
  for (const auto& [k, val] : v.labels) (*a->mutable_labels())[k] = val;
  for (const auto& [k, val] : v.annotations) (*a->mutable_annotations())[k] = val;
  int64_t now = nowNanos();
  if (v.state == CriState::Running) {
    StringWriter w;
    if (st.host.containers.stats(rec.id, false, true, w)) {
      json doc = json::parse(w.text, nullptr, false);
      UsageSample u = usageFromDockerStats(doc);
      int64_t ts = u.timestamp ? u.timestamp : now;
      out->mutable_cpu()->set_timestamp(ts);
      out->mutable_cpu()->mutable_usage_core_nano_seconds()->set_value(u.cpuNs);
      out->mutable_memory()->set_timestamp(ts);
      out->mutable_memory()->mutable_working_set_bytes()->set_value(u.workingSet);
      out->mutable_memory()->mutable_usage_bytes()->set_value(u.memoryUsage);
    }
  }
  auto d = st.host.containers.inspect(rec.id, true);
  if (d) {
    auto* fs = out->mutable_writable_layer();
    fs->set_timestamp(now);
    fs->mutable_fs_id()->set_mountpoint(d->paths.upper);
    fs->mutable_used_bytes()->set_value(d->sizes ? uint64_t(std::max<int64_t>(0, d->sizes->rw)) : 0);
    fs->mutable_inodes_used()->set_value(countInodes(d->paths.upper));
  }
  return {};
}

}  // namespace

// Called once by State's constructor (state.h). Nothing to build: the
// container service holds every record.
void initContainers(State&) {}

grpc::Status RuntimeServiceImpl::CreateContainer(grpc::ServerContext*, const v1::CreateContainerRequest* req,
                                                 v1::CreateContainerResponse* resp) {
  if (!req->has_config() || !req->config().has_metadata())
    return invalid("container config must include metadata");
  if (req->pod_sandbox_id().empty()) return invalid("pod sandbox id is empty");
  const int64_t t0 = trace::on() ? trace::now() : 0;
  // The sandbox: a running container of the CRI namespace that is not a
  // pod container.
  auto sb = st_.host.containers.inspect(req->pod_sandbox_id(), false);
  if (!sb) return toStatus(sb.error());
  const container::Container& sandbox = sb->record;
  if (container::namespaceOf(sandbox.config) != container::kCriNamespace ||
      sandbox.config.value("Labels", json::object()).value(kLabelKind, "") != kKindSandbox)
    return statusOf(errorf(Code::NotFound, "pod sandbox {} not found", req->pod_sandbox_id()));
  if (sandbox.state.status != container::State::Running)
    return statusOf(errorf(Code::FailedPrecondition, "sandbox container {} is not running", sandbox.id));

  const v1::PodSandboxConfig& sc = req->sandbox_config();
  PodContext pod;
  pod.sandboxId = sandbox.id;
  pod.name = sc.metadata().name();
  pod.ns = sc.metadata().namespace_();
  pod.uid = sc.metadata().uid();
  pod.attempt = sc.metadata().attempt();
  pod.logDirectory = sc.log_directory();
  pod.cgroupParent = sandbox.hostConfig.value("CgroupParent", "");
  if (pod.cgroupParent.empty()) pod.cgroupParent = sc.linux().cgroup_parent();
  pod.hostname = sc.hostname().empty() ? sandbox.config.value("Hostname", "") : sc.hostname();
  pod.privileged = sc.linux().security_context().privileged() || sandbox.hostConfig.value("Privileged", false);
  pod.hostNetwork = sc.linux().security_context().namespace_options().network() == v1::NODE ||
                    sandbox.hostConfig.value("NetworkMode", "") == "host";

  ContainerSpec spec = specOf(req->config());
  if (spec.image.empty()) return invalid("container config must include an image");
  // The image is named in the CRI's image namespace; the container service
  // runs it by id.
  auto rec = st_.images->resolve(req->config().image().image());
  if (!rec) return toStatus(rec.error().wrap("failed to resolve image " + req->config().image().image()));
  auto plan = containerCreateBody(spec, pod, rec->id, hostLimits());
  if (!plan) return toStatus(plan.error());
  if (auto r = prepareHostPaths(spec); !r) return toStatus(r.error());
  auto created = st_.host.containers.create({plan->name, plan->body});
  if (!created) return toStatus(created.error().wrap("failed to create container " + plan->name));
  resp->set_container_id(created->id);
  if (t0) trace::record(created->id, "cri: CreateContainer", t0, trace::now());
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::StartContainer(grpc::ServerContext*, const v1::StartContainerRequest* req,
                                                v1::StartContainerResponse*) {
  const int64_t t0 = trace::on() ? trace::now() : 0;
  auto d = criContainer(st_, req->container_id());
  if (!d) return toStatus(d.error());
  auto v = viewOf(d->record);
  if (!v) return toStatus(v.error());
  if (v->state != CriState::Created)
    return statusOf(errorf(Code::FailedPrecondition, "container {} is in {} state", d->record.id,
                           v1::ContainerState_Name(stateOf(v->state))));
  // The log's directory is made as containerd makes it.
  if (!v->logPath.empty()) {
    auto slash = v->logPath.rfind('/');
    if (slash != std::string::npos && slash > 0)
      if (auto r = mkdirAll(v->logPath.substr(0, slash), 0755); !r) return toStatus(r.error());
  }
  if (auto r = st_.host.containers.start(d->record.id); !r && r.error().code != Code::NotModified)
    return toStatus(r.error().wrap("failed to start container " + d->record.id));
  if (t0) trace::record(d->record.id, "cri: StartContainer", t0, trace::now());
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::StopContainer(grpc::ServerContext*, const v1::StopContainerRequest* req,
                                               v1::StopContainerResponse*) {
  auto d = criContainer(st_, req->container_id());
  if (!d) {
    // Stopping what is not there succeeds: the RPC is idempotent
    // (containerd 1.7+, critest's Idempotence spec).
    if (d.error().code == Code::NotFound) return grpc::Status::OK;
    return toStatus(d.error());
  }
  int timeout = int(std::clamp<int64_t>(req->timeout(), 0, 1 << 30));
  if (auto r = st_.host.containers.stop(d->record.id, timeout); !r && r.error().code != Code::NotModified)
    return toStatus(r.error());
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::RemoveContainer(grpc::ServerContext*, const v1::RemoveContainerRequest* req,
                                                 v1::RemoveContainerResponse*) {
  auto d = criContainer(st_, req->container_id());
  if (!d) {
    // Removing what is not there succeeds (containerd).
    if (d.error().code == Code::NotFound) return grpc::Status::OK;
    return toStatus(d.error());
  }
  auto r = st_.host.containers.remove(d->record.id, true, true);
  if (!r && r.error().code != Code::NotFound) return toStatus(r.error());
  return grpc::Status::OK;
}

namespace {

// The id and pod parts of ListContainers' and ListContainerStats' filters
// (the same fields in two message types): false when nothing can match.
template <class CriFilter>
bool idAndPodFilter(State& st, const CriFilter& rf, ContainerFilter& f) {
  if (!rf.id().empty()) {
    f.id = resolveCri(st, rf.id());
    if (f.id.empty()) return false;
  }
  if (!rf.pod_sandbox_id().empty()) {
    auto sb = st.host.containers.resolveId(rf.pod_sandbox_id());
    if (!sb) return false;
    f.sandboxId = *sb;
  }
  return true;
}

}  // namespace

grpc::Status RuntimeServiceImpl::ListContainers(grpc::ServerContext*, const v1::ListContainersRequest* req,
                                                v1::ListContainersResponse* resp) {
  ContainerFilter f;
  if (req->has_filter()) {
    const auto& rf = req->filter();
    if (!idAndPodFilter(st_, rf, f)) return grpc::Status::OK;
    if (rf.has_state()) f.state = CriState(int(rf.state().state()));
    for (const auto& [k, v] : rf.label_selector()) f.labelSelector[k] = v;
  }
  auto records = criRecords(st_);
  if (!records) return toStatus(records.error());
  for (const auto& rec : *records) {
    auto v = viewOf(rec);
    if (!v || !matches(*v, f)) continue;
    auto* c = resp->add_containers();
    c->set_id(v->id);
    c->set_pod_sandbox_id(v->sandboxId);
    c->mutable_metadata()->set_name(v->name);
    c->mutable_metadata()->set_attempt(v->attempt);
    fillImage(c->mutable_image(), *v);
    c->set_image_ref(v->imageRef);
    c->set_image_id(v->imageRef);
    c->set_state(stateOf(v->state));
    c->set_created_at(v->createdAt);
    for (const auto& [k, val] : v->labels) (*c->mutable_labels())[k] = val;
    for (const auto& [k, val] : v->annotations) (*c->mutable_annotations())[k] = val;
  }
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::ContainerStatus(grpc::ServerContext*, const v1::ContainerStatusRequest* req,
                                                 v1::ContainerStatusResponse* resp) {
  auto d = criContainer(st_, req->container_id());
  if (!d) return toStatus(d.error());
  auto v = viewOf(d->record);
  if (!v) return toStatus(v.error());
  auto* s = resp->mutable_status();
  s->set_id(v->id);
  s->mutable_metadata()->set_name(v->name);
  s->mutable_metadata()->set_attempt(v->attempt);
  s->set_state(stateOf(v->state));
  s->set_created_at(v->createdAt);
  s->set_started_at(v->startedAt);
  s->set_finished_at(v->finishedAt);
  s->set_exit_code(v->exitCode);
  // As containerd: the image's first tag and first repo digest when the
  // image is still named in the CRI's namespace; else as created.
  std::string imageName = v->image, imageRef = v->imageRef;
  if (auto det = st_.images->inspect(v->imageRef)) {
    CriImage ci = toCriImage(*det);
    if (!ci.repoTags.empty()) imageName = ci.repoTags[0];
    if (!ci.repoDigests.empty()) imageRef = ci.repoDigests[0];
  }
  s->mutable_image()->set_image(imageName);
  s->mutable_image()->set_user_specified_image(v->image);
  s->set_image_ref(imageRef);
  s->set_image_id(v->imageRef);
  s->set_reason(v->reason);
  s->set_message(v->message);
  for (const auto& [k, val] : v->labels) (*s->mutable_labels())[k] = val;
  for (const auto& [k, val] : v->annotations) (*s->mutable_annotations())[k] = val;
  for (const auto& m : v->mounts) {
    auto* pm = s->add_mounts();
    pm->set_container_path(m.containerPath);
    pm->set_host_path(m.hostPath);
    pm->set_readonly(m.readonly);
    pm->set_propagation(v1::MountPropagation(int(m.propagation)));
  }
  s->set_log_path(v->logPath);
  fillResources(s->mutable_resources()->mutable_linux(), v->resources);
  if (v->uid >= 0) {
    auto* u = s->mutable_user()->mutable_linux();
    u->set_uid(v->uid);
    u->set_gid(v->gid >= 0 ? v->gid : 0);
  }
  if (req->verbose()) {
    json info = {{"sandboxID", v->sandboxId},
                 {"pid", d->record.state.pid},
                 {"config", d->record.config},
                 {"hostConfig", d->record.hostConfig},
                 {"mounts", d->record.mountPoints}};
    (*resp->mutable_info())["info"] = info.dump();
  }
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::UpdateContainerResources(grpc::ServerContext*,
                                                          const v1::UpdateContainerResourcesRequest* req,
                                                          v1::UpdateContainerResourcesResponse*) {
  auto d = criContainer(st_, req->container_id());
  if (!d) return toStatus(d.error());
  if (!req->has_linux()) return grpc::Status::OK;
  json body = resourcesUpdateBody(resourcesOf(req->linux()), hostLimits());
  if (body.empty()) return grpc::Status::OK;
  auto r = st_.host.containers.update(d->record.id, {body});
  if (!r) return toStatus(r.error().wrap("failed to update resources"));
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::ReopenContainerLog(grpc::ServerContext*, const v1::ReopenContainerLogRequest* req,
                                                    v1::ReopenContainerLogResponse*) {
  auto d = criContainer(st_, req->container_id());
  if (!d) return toStatus(d.error());
  if (d->record.state.status != container::State::Running)
    return statusOf(makeError(Code::FailedPrecondition, "container is not running"));
  if (auto r = st_.host.containers.reopenLog(d->record.id); !r) return toStatus(r.error());
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::ContainerStats(grpc::ServerContext*, const v1::ContainerStatsRequest* req,
                                                v1::ContainerStatsResponse* resp) {
  auto d = criContainer(st_, req->container_id());
  if (!d) return toStatus(d.error());
  if (auto r = fillStats(st_, d->record, resp->mutable_stats()); !r) return toStatus(r.error());
  return grpc::Status::OK;
}

grpc::Status RuntimeServiceImpl::ListContainerStats(grpc::ServerContext*, const v1::ListContainerStatsRequest* req,
                                                    v1::ListContainerStatsResponse* resp) {
  ContainerFilter f;
  if (req->has_filter()) {
    const auto& rf = req->filter();
    if (!idAndPodFilter(st_, rf, f)) return grpc::Status::OK;
    for (const auto& [k, v] : rf.label_selector()) f.labelSelector[k] = v;
  }
  auto records = criRecords(st_);
  if (!records) return toStatus(records.error());
  for (const auto& rec : *records) {
    auto v = viewOf(rec);
    if (!v || !matches(*v, f)) continue;
    v1::ContainerStats stats;
    if (fillStats(st_, rec, &stats)) *resp->add_stats() = std::move(stats);
  }
  return grpc::Status::OK;
}

}  // namespace berth::cri
