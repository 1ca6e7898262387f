#pragma once
// Pod networking through CNI plugins (issue 16), gRPC-free: the runtime
// side of the CNI specification (containernetworking/cni SPEC.md, versions
// 0.1.0 to 1.0.0), as kubelet users configure it (docs/cri.md "CNI").
//
// Configuration: the lexically first *.conf, *.conflist or *.json file of
// the conf dir that parses (a .conf/.json holding one plugin is treated as
// a list of one, as libcni does); re-read whenever the chosen file or the
// directory changes (checked on every call: one readdir and a stat).
// Plugins: the executable named by each plugin's "type", looked up in the
// bin dirs in order.
//
// Execution: ADD runs the plugins in order, each one's stdin being its
// config with the list's name and cniVersion, runtimeConfig (for the
// capabilities the plugin declares: "portMappings") and, from the second
// on, prevResult = the previous plugin's result. DEL runs them in reverse
// with prevResult = the ADD's final result; CHECK in order with the same
// (skipped for versions before 0.4.0 or with "disableCheck"). Environment:
// CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH
// (the bin dirs) and the daemon's PATH. A plugin that exits non-zero fails
// the operation with its error document's msg and details (CNI's
// {"code","msg","details"}) in the Error's message.
//
// Thread safety: Cni may be called from any thread; operations on
// different sandboxes run concurrently.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "cri/pod_store.h"

namespace berth::cri::cni {

// One network configuration list.
struct NetworkList {
  std::string path;        // the file it came from
  std::string name;
  std::string cniVersion;  // "" is taken as 0.1.0, as libcni does
  bool disableCheck = false;
  std::vector<nlohmann::json> plugins;  // each with at least "type"
};

// Parses a file's text. conflist: the file is a list ("plugins"), else a
// single plugin config. InvalidArgument for bad JSON, a missing name or
// type, or an empty plugin list.
Result<NetworkList> parseNetworkList(std::string_view text, bool conflist, const std::string& path);

// What a sandbox's attachment to the network is.
struct Attachment {
  std::string containerId;  // the sandbox id
  std::string netns;        // the network namespace's path
  std::string ifName = "eth0";
  // CNI_ARGS, in order (the runtime prepends IgnoreUnknown=1).
  std::vector<std::pair<std::string, std::string>> args;
  std::vector<PortMapping> portMappings;  // runtimeConfig.portMappings (hostPort > 0 only)
};

// CNI_ARGS for a pod as kubelet's runtimes send them.
std::vector<std::pair<std::string, std::string>> podArgs(const PodMetadata& m, const std::string& sandboxId);

// The config a plugin at index i of list gets on stdin. prevResult: null =
// none.
nlohmann::json pluginStdin(const NetworkList& list, size_t i, const nlohmann::json& prevResult,
                           const Attachment& a);
// The environment of a plugin run (KEY=VALUE strings).
std::vector<std::string> pluginEnv(std::string_view command, const Attachment& a,
                                   const std::vector<std::string>& binDirs);

// The pod's addresses in a result (any version): the IPs of the interface
// named ifName inside the sandbox (or of no interface in particular), the
// first IPv4 one as the pod's IP, the rest in their order; without the
// prefix length. InvalidArgument when the result has no IP at all.
struct PodIps {
  std::string ip;
  std::vector<std::string> additional;
};
Result<PodIps> podIps(const nlohmann::json& result, const std::string& ifName);

// The result of ADD.
struct AddResult {
  nlohmann::json result;  // the last plugin's result (kept for DEL and CHECK)
  PodIps ips;
};

class Cni {
 public:
  // timeoutSeconds: a plugin still running after it is killed (SIGKILL) and
  // the operation fails with Unavailable.
  Cni(std::string confDir, std::vector<std::string> binDirs, int timeoutSeconds = 60);

  // The current configuration. NotFound "no network config found in DIR"
  // when the directory holds none that parses (the network is then not
  // ready: Status's NetworkReady condition).
  Result<NetworkList> config();

  Result<AddResult> add(const Attachment& a);
  // prevResult: the ADD's result (null when unknown). NotFound for a missing
  // configuration is returned as is: the caller decides (containerd skips
  // the teardown then).
  Result<> del(const Attachment& a, const nlohmann::json& prevResult);
  Result<> check(const Attachment& a, const nlohmann::json& prevResult);

  const std::vector<std::string>& binDirs() const { return binDirs_; }

 private:
  // Runs one plugin; returns its stdout parsed (null for an empty stdout).
  Result<nlohmann::json> exec(const NetworkList& list, size_t i, std::string_view command, const Attachment& a,
                              const nlohmann::json& prevResult);
  Result<std::string> findPlugin(const std::string& type) const;

  std::string confDir_;
  std::vector<std::string> binDirs_;
  int timeoutSeconds_;
  std::mutex mu_;  // guards the cache below
  struct Cached {
    std::string path;
    int64_t mtimeNs = 0;
    int64_t size = 0;
    NetworkList list;
  };
  std::optional<Cached> cache_;
};

}  // namespace berth::cri::cni
