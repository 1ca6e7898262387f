#pragma once
// The subset of the OCI runtime-spec config.json that the built-in runtime
// reads (docs/monitor.md "config.json as berthd writes it"), as plain values.
// Parsing never throws; errors come back as InvalidArgument.

#include <sys/types.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::runtime {

struct Rlimit {
  int resource = -1;  // RLIMIT_* value
  uint64_t soft = 0;
  uint64_t hard = 0;
};

struct Capabilities {
  // Names as in the spec ("CAP_CHOWN"); unknown names are kept here and
  // ignored when applied.
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct User {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additionalGids;
};

// OCI linux.seccomp (the subset libseccomp needs).
struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0, valueTwo = 0;
  std::string op;  // SCMP_CMP_*
};
struct SeccompRule {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_*
  std::optional<uint32_t> errnoRet;
  std::vector<SeccompArg> args;
};
struct Seccomp {
  std::string defaultAction;
  std::optional<uint32_t> defaultErrnoRet;
  std::vector<std::string> architectures;  // SCMP_ARCH_*
  std::vector<SeccompRule> syscalls;
};

struct Process {
  bool terminal = false;
  uint16_t consoleHeight = 0, consoleWidth = 0;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;  // "KEY=value"
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;  // absent: keep the monitor's
  std::vector<Rlimit> rlimits;
  bool noNewPrivileges = false;
  std::optional<int> oomScoreAdj;
  bool berthStdin = false;  // exec: "berthStdin": true asks for a stdin pipe
  std::optional<Seccomp> berthSeccomp;  // exec: the container's linux.seccomp
};

struct Mount {
  std::string destination;
  std::string type;  // "bind" or a filesystem type
  std::string source;
  std::vector<std::string> options;
};

// A mount option list turned into mount(2) arguments.
struct MountFlags {
  unsigned long flags = 0;      // MS_* set by the options
  unsigned long propagation = 0;  // MS_PRIVATE / MS_SLAVE / MS_SHARED (| MS_REC)
  bool bind = false;
  bool recursive = false;
  std::string data;  // comma-joined options mount(2) passes as data
};
MountFlags parseMountOptions(const std::vector<std::string>& options);

struct Namespace {
  std::string type;  // pid, mount, uts, ipc, network, cgroup, user
  std::string path;  // empty: create a new one
};

struct DeviceRule {
  bool allow = false;
  std::string type = "a";  // a, c, b
  int64_t major = -1, minor = -1;  // -1: any
  std::string access = "rwm";
};

struct Device {
  std::string path;
  std::string type;  // c, b, u, p
  int64_t major = 0, minor = 0;
  uint32_t fileMode = 0666;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct Resources {
  std::optional<int64_t> memoryLimit, memorySwap, memoryReservation;
  std::optional<uint64_t> cpuShares;
  std::optional<int64_t> cpuQuota;
  std::optional<uint64_t> cpuPeriod;
  std::optional<std::string> cpusetCpus, cpusetMems;
  std::optional<int64_t> pidsLimit;
  std::optional<uint16_t> blkioWeight;
  std::vector<DeviceRule> devices;
};

struct Overlay {
  std::string lowerdir, upperdir, workdir;
  // annotation berth.overlay.volatile=1: mount with "volatile" (no sync of
  // the upper fs, also not at unmount). For a container whose upper dir is
  // thrown away when it exits (--rm). The kernel then refuses to mount that
  // work dir again until its work/work is removed (berthd does, at start).
  bool volatileUpper = false;
};

struct Spec {
  Process process;
  std::string rootPath;  // absolute (made absolute against the bundle)
  bool rootReadonly = false;
  std::string hostname;
  std::vector<Mount> mounts;
  std::vector<Namespace> namespaces;
  std::string cgroupsPath;
  Resources resources;
  std::vector<Device> devices;
  std::vector<std::string> maskedPaths, readonlyPaths;
  // linux.rootfsPropagation "slave"/"rslave": the container's mount
  // namespace starts as a slave of the host's (mounts made on the host
  // under a bind reach the container) instead of private. "shared" /
  // "rshared" (rootfsShared): it stays in the host's peer groups, so a
  // bind of a shared host mount with rshared propagation is bidirectional
  // (the rootfs's parent mount is made private so that the container's own
  // mounts do not reach the host), as runc does.
  bool rootfsSlave = false;
  bool rootfsShared = false;
  std::map<std::string, std::string> sysctl;
  std::optional<Seccomp> seccomp;
  std::map<std::string, std::string> annotations;

  std::optional<Overlay> overlay() const;
  bool stdinWanted() const;  // annotation berth.stdin == "1"
  const Namespace* findNamespace(std::string_view type) const;
};

// Parses config.json text; relative root.path is resolved against bundleDir.
Result<Spec> parseSpec(std::string_view json, const std::string& bundleDir);
// Where linux.seccomp's value is in a config.json text: {offset, length} of
// its exact bytes, found by a scan that steps over strings and nesting and
// builds nothing (Docker's profile is two thirds of a config.json, and most
// of the time parsing it: the monitor takes a compiled program for the same
// text from its cache and parses the rest). nullopt when there is no such
// member, when "linux" or its "seccomp" appears twice, or when the text is
// not a JSON object as far as the scan can tell; a key spelt with escapes
// is not recognised. The caller parses the whole text then.
std::optional<std::pair<size_t, size_t>> seccompSpan(std::string_view json);
// The same for the member at `path` (object keys from the top level), e.g.
// {"berthSeccomp"} in an exec's process JSON; seccompSpan is
// {"linux", "seccomp"}.
std::optional<std::pair<size_t, size_t>> memberSpan(std::string_view json,
                                                    std::initializer_list<std::string_view> path);
// Parses an OCI `process` object (exec mode).
Result<Process> parseProcess(std::string_view json);

// "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 when unknown.
int rlimitByName(std::string_view name);

// Value of KEY in a "KEY=value" list; nullopt when absent.
std::optional<std::string> envValue(const std::vector<std::string>& env, std::string_view key);

}  // namespace berth::runtime
