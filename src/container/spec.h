#pragma once
// Container config + host config + image -> OCI runtime-spec config.json,
// the single input of every runtime (docs/monitor.md).

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "container/model.h"

namespace berth::container {

struct SpecPaths {
  std::string bundleDir;                // containers/<id>
  std::vector<std::string> lowerDirs;   // image snapshots, topmost first
  std::string cgroupParent;             // e.g. "berth"
  std::string initBin;                  // --init: bound at /dev/init (berth-monitor)
  // --pid/--ipc/--network container:X: OCI namespace type ("pid", "ipc",
  // "network") -> /proc/<pid of X>/ns/... to join instead of a new one.
  std::map<std::string, std::string> nsJoins;
  // --network container:X: X's bundle dir (its hosts, resolv.conf, hostname
  // are shared, as dockerd does); empty = this container's own.
  std::string netFilesDir;
};

// Docker's default capability set, as runtime-spec names ("CAP_CHOWN", ...).
const std::vector<std::string>& defaultCapabilities();

struct ResolvedUser {
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additionalGids;
  std::string home = "/";
};

// Resolves Docker's -u forms (name, uid, name:group, uid:gid) against the
// image's /etc/passwd and /etc/group found in lowerDirs (topmost first).
// Unknown name -> "unable to find user X: no matching entries in passwd file".
Result<ResolvedUser> resolveUser(const std::string& user, const std::vector<std::string>& lowerDirs);

// HostConfig.GroupAdd (names or gids, against the image's /etc/group) added
// to user's additional gids: the container's init and its execs (as
// dockerd's getUser). InvalidArgument for an unknown group name.
Result<> appendGroupAdd(ResolvedUser& user, const nlohmann::json& hostConfig, const std::vector<std::string>& lowerDirs);

// Builds the OCI process object for the container's init or an exec.
nlohmann::json processSpec(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                           const std::string& cwd, const ResolvedUser& user, bool tty, int rows, int cols,
                           const std::vector<std::string>& caps);

// An exec's process inherits the confinement of the container's init: its
// capabilities (all with exec --privileged), no_new_privs, rlimits and the
// container's linux.seccomp (carried as "berthSeccomp", which the built-in
// runtime reads in exec mode). containerSpec: the container's config.json.
void inheritConfinement(nlohmann::json& execProcess, const nlohmann::json& containerSpec, bool privilegedExec);

Result<nlohmann::json> buildSpec(const Container& c, const SpecPaths& paths);
// buildSpec's document as config.json's text: the same JSON, with the
// default seccomp profile's cached text spliced in (no copy and dump of
// its rules per start).
struct SpecText {
  std::string text;         // config.json
  std::string cgroupsPath;  // its linux.cgroupsPath
};
Result<SpecText> buildSpecText(const Container& c, const SpecPaths& paths);

}  // namespace berth::container
