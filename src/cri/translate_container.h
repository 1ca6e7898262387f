#pragma once
// CRI containers <-> berth containers, without gRPC (berth_cri_core, unit
// tested). The plugin (runtime_containers.cpp) copies the protobuf messages
// into these plain structs and back; everything the CRI means by a field is
// decided here, following containerd's CRI plugin (pkg/cri/server):
//
//  - CreateContainer: ContainerSpec + the pod (PodContext) -> a Docker create
//    body for container::Service::create (containerCreateBody).
//  - ContainerStatus / ListContainers: a berth container record -> what the
//    CRI reports of it (viewOf), and the ListContainers filter (matches).
//  - UpdateContainerResources: LinuxResources -> a Docker update body.
//
// The CRI's own facts about a container (metadata, sandbox, log path, the
// image as asked) live in the container's labels under io.berth.cri.*, so
// they survive a berthd restart with the record; the labels the CRI client
// gave are the other labels, its annotations are HostConfig.Annotations.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "container/model.h"
#include "cri/pod_store.h"

namespace berth::cri {

// runtime.v1.MountPropagation.
enum class Propagation { Private = 0, HostToContainer = 1, Bidirectional = 2 };

struct MountSpec {
  std::string containerPath, hostPath;
  bool readonly = false;
  Propagation propagation = Propagation::Private;
  // Fields berth refuses (InvalidArgument) when set: idmapped, recursive
  // read-only and image-volume mounts.
  bool idMapped = false, recursiveReadOnly = false;
  std::string image;
};

struct DeviceSpec {
  std::string containerPath, hostPath, permissions;  // permissions "" = "rwm"
};

struct HugepageLimit {
  std::string pageSize;
  uint64_t limit = 0;
};

// runtime.v1.LinuxContainerResources; 0 / "" = not set.
struct LinuxResources {
  int64_t cpuPeriod = 0, cpuQuota = 0, cpuShares = 0;
  int64_t memoryLimit = 0, memorySwapLimit = 0;
  int64_t oomScoreAdj = 0;
  std::string cpusetCpus, cpusetMems;
  std::vector<HugepageLimit> hugepages;     // not applied (docs/cri-containers.md)
  std::map<std::string, std::string> unified;  // not applied: cgroup v1 hosts (docs/cri-containers.md)
};

// runtime.v1.SecurityProfile.
struct SecurityProfile {
  enum class Type { RuntimeDefault = 0, Unconfined = 1, Localhost = 2 };
  Type type = Type::RuntimeDefault;
  std::string localhostRef;
};

// runtime.v1.LinuxContainerSecurityContext.
struct SecurityContext {
  std::vector<std::string> capAdd, capDrop;
  bool privileged = false;
  NamespaceMode network = NamespaceMode::Pod, pid = NamespaceMode::Pod, ipc = NamespaceMode::Pod;
  std::string targetId;  // pid = Target: the container whose PID namespace is joined
  std::optional<int64_t> runAsUser, runAsGroup;
  std::string runAsUsername;
  bool readonlyRootfs = false;
  std::vector<int64_t> supplementalGroups;
  bool noNewPrivs = false;
  std::vector<std::string> maskedPaths, readonlyPaths;
  std::optional<SecurityProfile> seccomp, apparmor;
  std::string seccompProfilePath, apparmorProfile;  // the deprecated string forms
};

// runtime.v1.ContainerConfig (Linux).
struct ContainerSpec {
  std::string name;  // metadata.name
  uint32_t attempt = 0;
  std::string image;  // image.image as the client gave it
  std::vector<std::string> command, args;
  std::string workingDir;
  std::vector<std::pair<std::string, std::string>> envs;
  std::vector<MountSpec> mounts;
  std::vector<DeviceSpec> devices;
  std::map<std::string, std::string> labels, annotations;
  std::string logPath;  // relative to the pod's log directory
  bool stdin = false, stdinOnce = false, tty = false;
  std::optional<LinuxResources> resources;
  SecurityContext security;
};

// What CreateContainer needs of the pod: its sandbox container and config.
struct PodContext {
  std::string sandboxId;         // the sandbox's berth container id
  std::string name, ns, uid;     // the pod's metadata
  uint32_t attempt = 0;
  std::string logDirectory;      // PodSandboxConfig.log_directory
  std::string cgroupParent;      // the cgroup parent the sandbox runs under
  std::string hostname;          // HOSTNAME in the container's environment
  bool privileged = false;       // the sandbox's security context
  bool hostNetwork = false;      // network NODE
};

// Limits of this host: oom_score_adj is clamped into [oomScoreAdjMin, 1000]
// (containerd's restrict_oom_score_adj: a daemon without CAP_SYS_RESOURCE
// cannot give a child less than its own oom_score_adj).
struct HostLimits {
  int oomScoreAdjMin = -1000;
};
// The limits of the calling process: its own oom_score_adj when it lacks
// CAP_SYS_RESOURCE, else -1000.
HostLimits hostLimits();

// Labels carrying the CRI's facts, beside kLabelKind and kLabelSandboxId
// (pod_store.h) and the namespace label (container/namespaces.h).
inline constexpr const char* kLabelName = "io.berth.cri.name";
inline constexpr const char* kLabelAttempt = "io.berth.cri.attempt";
inline constexpr const char* kLabelImage = "io.berth.cri.image";        // the image as asked
inline constexpr const char* kLabelLogPath = "io.berth.cri.log-path";   // "" = no log
inline constexpr const char* kLabelPrefix = "io.berth.";                // never shown to CRI clients

struct CreatePlan {
  std::string name;    // the berth container name: k8s_<ctr>_<pod>_<ns>_<uid>_<attempt>
  nlohmann::json body;  // Docker's create body (Config with HostConfig)
};

// ContainerSpec + pod -> the create body. image: the image reference to run
// (resolved by the caller in the CRI's image namespace). Errors
// (InvalidArgument): empty metadata name or image, a run_as_group without a
// user, a privileged container in an unprivileged pod, a relative host path
// or log path, an idmapped / recursive read-only / image mount, a Localhost
// seccomp profile without its file, LocalhostRef on another profile type, an
// AppArmor profile other than Unconfined (no AppArmor on these hosts), an
// unknown namespace mode or a Target pid namespace without target id.
Result<CreatePlan> containerCreateBody(const ContainerSpec& spec, const PodContext& pod, const std::string& image,
                                       const HostLimits& limits);

// Host paths of mounts that do not exist are created as directories (0755),
// as containerd does. Errors: the mkdir's.
Result<> prepareHostPaths(const ContainerSpec& spec);

// LinuxResources -> POST /containers/{id}/update body (Docker's names).
nlohmann::json resourcesUpdateBody(const LinuxResources& r, const HostLimits& limits);

// runtime.v1.ContainerState.
enum class CriState { Created = 0, Running = 1, Exited = 2, Unknown = 3 };

// What the CRI reports of a berth container (ListContainers, ContainerStatus).
struct ContainerView {
  std::string id, sandboxId, name;
  uint32_t attempt = 0;
  CriState state = CriState::Unknown;
  int64_t createdAt = 0, startedAt = 0, finishedAt = 0;  // unix nanos, 0 = not yet
  int32_t exitCode = 0;
  std::string image, imageRef;  // as asked; the image id (sha256:...)
  std::string reason, message;  // exited: Completed / Error / OOMKilled
  std::map<std::string, std::string> labels, annotations;  // the client's
  std::vector<MountSpec> mounts;
  std::string logPath;  // the full path, "" = none
  LinuxResources resources;
  int64_t uid = -1, gid = -1;  // the user the process runs as when numeric (-1: unknown)
};

// NotFound (as "No such container") when the record is not a CRI container.
Result<ContainerView> viewOf(const container::Container& c);
bool isCriContainer(const container::Container& c);

// runtime.v1.ContainerFilter, ids already resolved to full ids ("" = any).
struct ContainerFilter {
  std::string id, sandboxId;
  std::optional<CriState> state;
  std::map<std::string, std::string> labelSelector;
};
bool matches(const ContainerView& v, const ContainerFilter& f);

// ContainerStats from Docker's stats document (container::Queries::stats,
// one shot): CPU in nanoseconds since start, memory usage and working set
// (usage - inactive file pages, as kubelet defines it). timestamp: unix
// nanos of the sample ("read"), 0 when absent.
struct UsageSample {
  int64_t timestamp = 0;
  uint64_t cpuNs = 0;
  uint64_t memoryUsage = 0, workingSet = 0;
};
UsageSample usageFromDockerStats(const nlohmann::json& stats);

// Inodes under dir on its filesystem (the writable layer's inodes_used):
// every entry, dir itself included; 0 when dir cannot be read.
uint64_t countInodes(const std::string& dir);

// Docker's container name for a CRI container: k8s_<ctr>_<pod>_<ns>_<uid>_<attempt>,
// characters Docker refuses as '-', at most 200 characters (a longer one is
// cut and ends in 16 hex digits of the whole name's sha256).
std::string containerName(const ContainerSpec& spec, const PodContext& pod);

}  // namespace berth::cri
