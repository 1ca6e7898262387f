#pragma once
// A container's mounts (Docker's mount points): parsed from HostConfig.Binds
// (-v), HostConfig.Mounts (--mount), HostConfig.Tmpfs (--tmpfs),
// Config.Volumes and the image's VOLUMEs; persisted with the container and
// turned into OCI spec mounts. Parsing is pure except that a --mount bind
// source must exist (stat).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::container {

struct MountPoint {
  std::string type;         // "volume", "bind" or "tmpfs"
  std::string name;         // volume name; empty until an anonymous one is made
  std::string source;       // bind: host path; volume: its Mountpoint
  std::string destination;  // clean absolute path in the container
  std::string mode;         // -v mode text as given ("ro", "z", ...), Docker's Mode
  bool rw = true;
  std::string propagation;  // bind: "rprivate" unless given
  bool copyData = true;     // volume: fill a new empty volume from the image
  bool anonymous = false;   // created for this container: rm -v removes it
  bool createSource = false;  // -v bind: a missing host path becomes a directory
  bool nonRecursive = false;  // bind-nonrecursive
  bool fromTmpfsFlag = false;  // HostConfig.Tmpfs: not listed in inspect Mounts
  std::string tmpfsOptions;   // tmpfs data options ("size=65536k,mode=1777")
  std::map<std::string, std::string> volumeLabels, volumeOptions;  // --mount volume-label / volume-opt
  // The runtime mount, filled when the volume is resolved (driver options).
  std::string runtimeType, runtimeSource;
  std::vector<std::string> runtimeOptions;

  nlohmann::json toJson() const;  // the persisted form
  static MountPoint fromJson(const nlohmann::json& j);
  // Docker's inspect "Mounts" entry.
  nlohmann::json inspectJson() const;
  // The OCI runtime-spec mount.
  nlohmann::json specJson() const;
};

// "/a//b/" -> "/a/b".
std::string cleanMountPath(const std::string& p);

// One -v / HostConfig.Binds entry: "SRC:DST[:MODE]" (SRC absolute: bind,
// else a volume name) or "DST" (an anonymous volume). Docker's errors:
// "invalid volume specification: 'x'", "invalid mode: x", ...
Result<MountPoint> parseBind(const std::string& spec);
// One HostConfig.Mounts object (Type, Source, Target, ReadOnly,
// BindOptions, VolumeOptions, TmpfsOptions).
Result<MountPoint> parseApiMount(const nlohmann::json& m);
// One HostConfig.Tmpfs entry.
Result<MountPoint> parseTmpfs(const std::string& dest, const std::string& options);
// "name[:ro|rw]" of --volumes-from.
Result<std::pair<std::string, std::string>> parseVolumesFrom(const std::string& spec);

// Everything a create request mounts, in Docker's order of precedence:
// volumes-from (already resolved, `inherited`), Binds, Mounts, Tmpfs, then
// Config.Volumes / image volumes as anonymous volumes where nothing else
// is mounted. Duplicate destinations among Binds/Mounts/Tmpfs:
// "Duplicate mount point: /x".
Result<std::vector<MountPoint>> collectMounts(const nlohmann::json& hostConfig, const nlohmann::json& configVolumes,
                                              const nlohmann::json& imageVolumes,
                                              const std::vector<MountPoint>& inherited);

}  // namespace berth::container
