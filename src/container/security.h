#pragma once
// Confinement of a container as Docker sets it up: capabilities (default set,
// --cap-add/--cap-drop, ALL, --privileged), --security-opt (seccomp,
// no-new-privileges), Docker's default seccomp profile turned into the OCI
// linux.seccomp object, the devices cgroup allow-list, namespaces by mode,
// sysctls, ulimits and resources. Pure functions of the host config: the
// spec generator (spec.cpp) calls them; unit tests call them directly.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::container {

// Every capability the kernel may know, runtime-spec names.
const std::vector<std::string>& allCapabilityNames();

// Docker's capability arithmetic: default set (or all when privileged),
// CapAdd / CapDrop with "ALL"; names normalised to "CAP_X". Unknown names:
// InvalidArgument `invalid CapAdd: unknown capability: "CAP_FOO"`.
Result<std::vector<std::string>> effectiveCapabilities(const nlohmann::json& hostConfig);

struct SecurityOptions {
  bool seccompUnconfined = false;
  std::string seccompProfile;  // JSON text from --security-opt seccomp=FILE (the CLI sends the content)
  bool noNewPrivileges = false;
};
// Parses HostConfig.SecurityOpt. Accepts "seccomp=unconfined|<json>",
// "no-new-privileges[=true|false]", "apparmor=...", "label=...". Others:
// `invalid --security-opt N: "x"` as Docker answers.
Result<SecurityOptions> parseSecurityOptions(const nlohmann::json& securityOpt);

// Docker's default seccomp profile, in Docker's profile format (with
// includes/excludes by capability and architecture).
const nlohmann::json& defaultSeccompProfile();

// A Docker-format profile (or an OCI linux.seccomp object) -> the OCI
// linux.seccomp object for x86_64, keeping the rules whose capability and
// architecture conditions hold for caps. Errors: InvalidArgument.
Result<nlohmann::json> seccompForSpec(const nlohmann::json& profile, const std::vector<std::string>& caps);
// Parses profile text first ("decoding seccomp profile failed: ...").
Result<nlohmann::json> seccompForSpec(const std::string& profileText, const std::vector<std::string>& caps);
// seccompForSpec(defaultSeccompProfile(), caps), built once per capability
// set and kept (a few sets in practice; at most 64 are kept): building it
// was most of a start's spec time. Thread safe.
nlohmann::json defaultSeccompForSpec(const std::vector<std::string>& caps);
// The same, dumped as JSON text (what config.json holds), kept alongside:
// a start splices it into its spec's text instead of copying and dumping
// the ~350 rules again (buildSpecText). Thread safe.
std::shared_ptr<const std::string> defaultSeccompTextForSpec(const std::vector<std::string>& caps);

// The devices cgroup rules (OCI linux.resources.devices) for a container:
// Docker's default allow-list, or everything when privileged.
nlohmann::json defaultDeviceRules(bool privileged);

// --device PathOnHost[:PathInContainer[:perms]] entries -> (linux.devices,
// extra linux.resources.devices). Errors name the device as Docker does.
struct DeviceSpecs {
  nlohmann::json devices = nlohmann::json::array();
  nlohmann::json rules = nlohmann::json::array();
};
Result<DeviceSpecs> hostDevices(const nlohmann::json& hostConfigDevices);

// Docker's namespaced sysctls: kernel.msg*, kernel.sem, kernel.shm*,
// fs.mqueue.*, net.* (not with the host network). Others: InvalidArgument.
Result<> validateSysctl(const std::string& key, bool hostNetwork, bool hostIpc, bool hostUts);

// HostConfig.Ulimits -> OCI process.rlimits. hostHard(resource) gives the
// daemon's hard limit; without CAP_SYS_RESOURCE (canRaise false) a hard
// limit above it is refused with a clear error.
struct RlimitQuery {
  bool canRaise = false;
  uint64_t (*hostHard)(int resource) = nullptr;
};
Result<nlohmann::json> rlimitsFor(const nlohmann::json& ulimits, const RlimitQuery& q);
// "nofile" -> "RLIMIT_NOFILE"; empty when unknown.
std::string rlimitName(const std::string& dockerName);

// HostConfig resource fields -> OCI linux.resources (memory, cpu, pids,
// blockIO). Docker's defaults: swap = 2 x memory when only -m is given.
nlohmann::json resourcesFor(const nlohmann::json& hostConfig);

// Docker's create-time checks of the resource and security fields (memory
// minimum, swap vs memory, CPU range, blkio weight, oom score, capability
// names, security options, sysctls), with Docker's messages. onlineCpus: the
// host's CPU count.
Result<> validateHostConfig(const nlohmann::json& hostConfig, int onlineCpus);

}  // namespace berth::container
