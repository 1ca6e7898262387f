#pragma once
// The local volume driver (DESIGN.md src/volume/): named and anonymous
// volumes under dataRoot/volumes/<name>/_data, their metadata in the
// volumes table of berth.db (store/schema.cpp, version 2).
//
// A volume with driver options (`--opt type=tmpfs device=tmpfs o=size=1m`,
// `--opt type=none o=bind device=/path`) is not mounted on the host: its
// mount is described to the container's runtime (mountFor) and made inside
// the container's mount namespace (docs/compat.md).
//
// Thread safety: every method may be called from any thread.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "store/database.h"

namespace berth::volume {

// Docker's label marking a volume created without a name (prune's default set).
inline constexpr const char* kAnonymousLabel = "com.docker.volume.anonymous";
// Longest volume name (a directory name; docs/security.md).
inline constexpr size_t kMaxNameLength = 255;

struct Volume {
  std::string name;
  std::string driver = "local";
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> options;  // driver options: type, device, o
  int64_t created = 0;                         // unix nanos
  std::string mountpoint;                      // dataRoot/volumes/<name>/_data

  bool anonymous() const { return labels.count(kAnonymousLabel) != 0; }
  // Docker's volume JSON (inspect, list): CreatedAt, Driver, Labels,
  // Mountpoint, Name, Options, Scope.
  nlohmann::json toJson() const;
};

struct CreateOptions {
  std::string name;  // empty: a generated 64-hex name
  std::string driver;  // empty or "local"
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> options;
};

// How a container mounts a volume: a bind of `source`, or (driver options)
// a filesystem of `type` from `source` with `options`.
struct MountSpec {
  std::string type = "bind";
  std::string source;
  std::vector<std::string> options;
};

// Which containers (ids) use a volume; wired to the container service.
using UsersFn = std::function<std::vector<std::string>(const std::string& name)>;

// "name" is a valid local volume name: [a-zA-Z0-9][a-zA-Z0-9_.-]+ .
bool validName(const std::string& name);
// Checks the local driver's options: only type, device, o; type needs device.
Result<> validateOptions(const std::map<std::string, std::string>& opts);
// Apparent size in bytes of the regular files and symlinks under path (as
// docker system df reports). Does not cross mount points; 0 when missing.
int64_t directorySize(const std::string& path);

class Service {
 public:
  Service(store::Database& db, std::string dataRoot, UsersFn users);

  // Creates a volume, or returns the existing one of that name (Docker's
  // create is idempotent). InvalidArgument for a bad name/driver/option.
  Result<Volume> create(const CreateOptions& opts);
  // NotFound: "get NAME: no such volume".
  Result<Volume> get(const std::string& name);
  // filters: dangling=true|false, name=substring, label=key[=value], driver=.
  Result<std::vector<Volume>> list(const std::map<std::string, std::vector<std::string>>& filters);
  // Conflict while a container uses it ("remove NAME: volume is in use - [ids]");
  // force: a missing volume is no error (in-use still refuses, as Docker).
  Result<> remove(const std::string& name, bool force);
  struct PruneReport {
    std::vector<std::string> deleted;
    uint64_t reclaimed = 0;
  };
  // Removes unused volumes: anonymous ones, or all with `all`; filters
  // label=, label!= as Docker's.
  Result<PruneReport> prune(bool all, const std::map<std::string, std::vector<std::string>>& filters);
  // The mount to make for a volume in a container.
  MountSpec mountFor(const Volume& v) const;
  // Whether the volume's content lives in its _data directory (copy-up
  // and size make sense); false for driver-option volumes.
  static bool isPlainDirectory(const Volume& v) { return v.options.empty(); }
  // Number of containers using the volume.
  int refCount(const std::string& name) { return int(users_(name).size()); }

 private:
  std::string dirOf(const std::string& name) const { return root_ + "/" + name; }
  Result<std::optional<Volume>> load(const std::string& name);
  Volume fromRow(store::Stmt& s) const;

  store::Database& db_;
  std::string root_;  // dataRoot/volumes
  UsersFn users_;
  std::mutex mu_;  // serialises create / remove of the same name
};

}  // namespace berth::volume
