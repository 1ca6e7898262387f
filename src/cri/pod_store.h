#pragma once
// CRI pod sandboxes (issue 16), gRPC-free: the record kept per sandbox, the
// store of those records (one JSON file per sandbox under
// <Config.stateDir>/sandboxes/, written atomically), and the small lookup
// role the container RPCs (runtime_containers.cpp) call for the sandbox
// facts they need.
//
// A sandbox is a berth container running /pause (the berth-pause binary)
// whose id is the sandbox id. The record holds what the container does not:
// the CRI metadata, labels, annotations, DNS and port config, the pinned
// network namespace and the CNI result (docs/cri.md "Pods").
// Its state (READY / NOTREADY) is never stored: it is read from the pause
// container at each lookup (running and networked = READY).
//
// Thread safety: every method of PodStore may be called from any thread.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::container {
class Queries;
}

namespace berth::cri {

// Container labels the CRI puts on berth containers.
// On every pod container (cri-ctr): its sandbox's
// id. StopPodSandbox / RemovePodSandbox find a pod's containers by it.
inline constexpr const char* kLabelSandboxId = "io.berth.cri.sandbox-id";
// "sandbox" on a pause container, "container" on a pod container.
inline constexpr const char* kLabelKind = "io.berth.cri.kind";
inline constexpr const char* kKindSandbox = "sandbox";
inline constexpr const char* kKindContainer = "container";

// runtime.v1 NamespaceMode values (the same numbers as the proto's enum).
enum class NamespaceMode { Pod = 0, Container = 1, Node = 2, Target = 3 };

// The sandbox's linux.security_context.namespace_options. Network: Node for
// hostNetwork pods, else Pod. Pid: Container (default) = the sandbox has its
// own PID namespace that pod containers do not share; Pod = pod containers
// join the sandbox's (the pause is their PID 1); Node = the host's.
// Ipc: Pod (default) or Node.
struct NamespaceOptions {
  NamespaceMode network = NamespaceMode::Pod;
  NamespaceMode pid = NamespaceMode::Container;
  NamespaceMode ipc = NamespaceMode::Pod;
  std::string targetId;  // for pid = Target
};

struct PodMetadata {
  std::string name, uid, ns;  // ns: the Kubernetes namespace
  uint32_t attempt = 0;
};

struct DnsConfig {
  std::vector<std::string> servers, searches, options;
};

struct PortMapping {
  std::string protocol = "tcp";  // "tcp", "udp", "sctp"
  int32_t containerPort = 0, hostPort = 0;
  std::string hostIp;
};

enum class SandboxState { Ready, NotReady };

struct Sandbox {
  std::string id;  // the pause container's id (64 hex) = the sandbox id
  PodMetadata metadata;
  std::string hostname;
  std::string logDirectory;    // the pod's log directory (absolute, may be "")
  std::string runtimeHandler;  // "" = the default
  std::string cgroupParent;    // linux.cgroup_parent as given (cgroupfs path), "" = berth's default
  NamespaceOptions namespaces;
  std::map<std::string, std::string> labels, annotations, sysctls;
  DnsConfig dns;
  std::vector<PortMapping> portMappings;
  int64_t createdAt = 0;  // unix nanos
  // The pod's network namespace, pinned (a bind mount of the pause's
  // /proc/PID/ns/net) so that CNI DEL works after the pause died. "" for
  // hostNetwork pods and once StopPodSandbox tore the network down.
  std::string netnsPath;
  // The CNI result: the pod's IP (IPv4 first) and the others, and the raw
  // result JSON (the prevResult of DEL/CHECK). Empty when no CNI ran.
  std::string ip;
  std::vector<std::string> additionalIps;
  nlohmann::json cniResult;  // null = none
  // The pod's /etc/resolv.conf and /etc/hosts files (the pause container's),
  // for pod containers that bind them; "" = none.
  std::string resolvConfPath, hostsPath;

  // Filled by lookups, never persisted.
  SandboxState state = SandboxState::NotReady;

  nlohmann::json toJson() const;
  static Result<Sandbox> fromJson(const nlohmann::json& j);
};

// What the container RPCs need of sandboxes (cri-ctr calls this).
class SandboxLookup {
 public:
  virtual ~SandboxLookup() = default;
  // The sandbox with this id or unique id prefix, with its current state.
  // NotFound "sandbox \"REF\" not found" (containerd's words) when none.
  virtual Result<Sandbox> sandbox(const std::string& idOrPrefix) = 0;
};

// The records, in memory and one file each under dir.
class PodStore : public SandboxLookup {
 public:
  // dir: where records live (created if missing); containers: to read the
  // pause container's state (null: every sandbox reads NotReady).
  PodStore(std::string dir, container::Queries* containers);
  // Reads every record in dir; a record that does not parse is skipped
  // (logged), never fatal.
  Result<> load();

  Result<Sandbox> sandbox(const std::string& idOrPrefix) override;
  // Every sandbox, with its state, in no particular order.
  std::vector<Sandbox> list();
  // Insert or replace (file first, then memory). The file is replaced by
  // rename without fsync: a reader or a berthd restarted after a SIGKILL
  // sees the old or the new record whole. A power loss may lose the last
  // records, but it ends every pod's processes too, and the pause
  // container's own row (SQLite WAL, synchronous=NORMAL) is no more durable:
  // load() skips a record that does not parse and reconcile() removes a
  // pause container without a record.
  Result<> put(const Sandbox& s);
  // Missing is fine.
  Result<> remove(const std::string& id);
  // The id of the sandbox whose metadata name/namespace/uid/attempt equal m, if any.
  std::optional<std::string> findByMetadata(const PodMetadata& m);

 private:
  SandboxState stateOf(const Sandbox& s);
  std::string dir_;
  container::Queries* containers_;
  std::mutex mu_;
  std::map<std::string, Sandbox> byId_;
};

}  // namespace berth::cri
