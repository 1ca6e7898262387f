#pragma once
// CRI pod sandboxes over the container service (issue 16), gRPC-free: what
// RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus,
// ListPodSandbox and the pod stats RPCs do, on plain structs
// (runtime_pods.cpp translates the protobuf messages). docs/cri.md "Pods".
//
// A sandbox is a berth container running berth-pause (image: one file,
// /pause, imported once) with NetworkMode "none" (a network namespace with
// only lo, to which CNI adds eth0) or "host" (hostNetwork pods), IpcMode
// "shareable" (or "host"), a PID namespace of its own unless the pod asks
// for the host's, the pod's cgroup parent, sysctls and hostname, restart
// policy "no" and no log. Its network namespace is made first and pinned
// under PodsConfig::netnsDir (cni-<32 hex>), the pause joins it by path,
// and CNI ADD runs while the pause container is created and started (the
// sandbox id is chosen before the create); the pin lets CNI DEL work once
// the pause is gone and after a berthd restart. Pod containers (cri-ctr) carry the label
// kLabelSandboxId; stop and remove find them by it.
//
// Errors: NotFound `sandbox "ID" not found` for an unknown sandbox (status,
// stop, stats); remove of an unknown sandbox succeeds; InvalidArgument for a
// config without metadata; Conflict (AlreadyExists) for a second sandbox
// with the same metadata; a CNI failure is returned with the plugin's words
// after everything done so far is undone.
//
// Thread safety: every method may be called from any thread; calls on one
// sandbox are serialised.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "cri/cni.h"
#include "cri/pod_store.h"

namespace berth::container {
class Service;
}
namespace berth::image {
class ImageService;
}

namespace berth::cri {

struct PodsConfig {
  std::string pauseBin;  // the berth-pause binary
  std::string netnsDir;  // where pod network namespaces are pinned (<exec-root>/cri/netns)
};

// RunPodSandbox's PodSandboxConfig, as far as berth uses it.
struct SandboxRequest {
  PodMetadata metadata;
  std::string hostname, logDirectory, runtimeHandler, cgroupParent;
  DnsConfig dns;
  std::vector<PortMapping> portMappings;
  std::map<std::string, std::string> labels, annotations, sysctls;
  NamespaceOptions namespaces;
  bool privileged = false;
};

// ListPodSandbox's filter: every field set must match.
struct SandboxFilter {
  std::string idPrefix;
  std::optional<SandboxState> state;
  std::map<std::string, std::string> labelSelector;
};
bool matchesFilter(const Sandbox& s, const SandboxFilter& f);

// One sample of a pod's usage: the sandbox and its containers summed.
struct SandboxStats {
  int64_t timestamp = 0;            // unix nanos
  uint64_t cpuUsageCoreNanos = 0;   // cumulative CPU time
  uint64_t memoryUsageBytes = 0;
  uint64_t memoryWorkingSetBytes = 0;  // usage minus inactive file pages
  uint64_t memoryRssBytes = 0;
  uint64_t pageFaults = 0, majorPageFaults = 0;
  uint64_t processes = 0;
  struct Interface {
    std::string name;
    uint64_t rxBytes = 0, rxErrors = 0, txBytes = 0, txErrors = 0;
  };
  std::vector<Interface> interfaces;  // the pod's (the sandbox's namespace), lo excluded
};
// Adds one Docker stats document (GET /containers/{id}/stats) to s; the
// networks are taken only when withNetwork (the sandbox's document).
void addDockerStats(SandboxStats& s, const nlohmann::json& doc, bool withNetwork);

// The pause container's Docker create body.
nlohmann::json sandboxCreateBody(const SandboxRequest& r, const std::string& imageId);
// The container name of a sandbox: k8s_POD_<name>_<namespace>_<uid>_<attempt>
// with characters Docker refuses in names replaced by '-'.
std::string sandboxName(const PodMetadata& m);
// The pod's /etc/resolv.conf from its DNS config (containerd's layout:
// search, nameserver lines, options).
std::string resolvConfText(const DnsConfig& d);

class Pods {
 public:
  // cni: null = no pod network (pods get only lo).
  Pods(container::Service& containers, image::ImageService& images, PodStore& store, cni::Cni* cni,
       PodsConfig cfg);

  // RunPodSandbox. Uses a second thread for the pause container while the
  // calling thread runs CNI ADD; both are done (joined) when it returns.
  Result<std::string> run(const SandboxRequest& r);
  // Stops the pod's containers, tears the network down (CNI DEL, the pin
  // removed), stops the pause. Stopping a stopped sandbox succeeds.
  Result<> stop(const std::string& id);
  // Stops if needed, removes the pod's containers, the pause container and
  // the record. An unknown id succeeds.
  Result<> remove(const std::string& id);
  Result<Sandbox> status(const std::string& id) { return store_.sandbox(id); }
  std::vector<Sandbox> list(const SandboxFilter& f);
  Result<SandboxStats> stats(const std::string& id);
  // At start (initPods): removes what a berthd killed in the middle of a
  // RunPodSandbox left: pause containers without a record (force), and
  // pinned namespaces in netnsDir no record names. Returns how many.
  int reconcile();
  // The ids of the pod's containers (not the sandbox), any state.
  std::vector<std::string> podContainers(const std::string& sandboxId);

 private:
  Result<std::string> pauseImage();
  std::shared_ptr<std::mutex> lockFor(const std::string& id);
  Result<> teardownNetwork(Sandbox& s);

  container::Service& containers_;
  image::ImageService& images_;
  PodStore& store_;
  cni::Cni* cni_;
  PodsConfig cfg_;
  std::mutex mu_;  // guards the two below
  std::string pauseImageId_;
  std::map<std::string, std::weak_ptr<std::mutex>> locks_;
  std::mutex imageMu_;  // one pause image import at a time
};

}  // namespace berth::cri
