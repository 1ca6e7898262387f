#pragma once
// The container service: lifecycle, attach, logs, exec, inspect/list.
// Knows nothing of HTTP: the containers router maps the Engine API onto it.
// Thread safety: every method may be called from any thread.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/emit.h"
#include "common/filters.h"
#include "common/io.h"
#include "common/result.h"
#include "container/archive.h"
#include "container/changes.h"
#include "container/model.h"
#include "image/service.h"
#include "volume/volume.h"

namespace berth::container {

struct ServiceConfig {
  std::string dataRoot;     // containers live in dataRoot/containers/<id>
  std::string execRoot;     // monitor sockets: execRoot/m/<12hex>.sock
  std::string monitorBin;   // path of berth-monitor
  std::string cgroupParent = "berth";
  std::string cgroupRoot = "/sys/fs/cgroup";
  // HostConfig.Runtime names -> OCI runtime binaries; "berth" (built in) is implicit.
  std::map<std::string, std::string> runtimes;
};

// Persistence of container records (SQLite in the daemon, a map in tests).
class ContainerStore {
 public:
  virtual ~ContainerStore() = default;
  virtual Result<> save(const Container& c) = 0;  // insert or replace
  virtual Result<> remove(const std::string& id) = 0;
  virtual Result<std::vector<Container>> loadAll() = 0;
};

struct CreateResult {
  std::string id;
  std::vector<std::string> warnings;
};

struct AttachOptions {
  bool stdinWanted = false, stdoutWanted = true, stderrWanted = true;
  bool logs = false;
  std::string detachKeys;
};

struct LogsOptions {
  bool stdoutWanted = true, stderrWanted = true;
  bool follow = false, timestamps = false;
  int64_t since = 0, until = 0;  // unix nanos, 0 = unbounded
  int64_t tail = -1;             // -1 = all
};

// POST /commit parameters.
struct CommitOptions {
  std::string container;             // name or id
  std::string repo, tag;             // both empty: a dangling image
  std::string comment, author;
  std::vector<std::string> changes;  // Dockerfile instructions (-c)
  bool pause = true;                 // freeze a running container while its layer is read
  nlohmann::json config;             // the request body: a Config merged over the container's, or null
};

class Service {
 public:
  virtual ~Service() = default;

  // Full id for a name, id or unique id prefix. NotFound: "No such container: ref".
  virtual Result<std::string> resolveId(const std::string& ref) = 0;
  virtual Result<CreateResult> create(const std::string& name, const nlohmann::json& body) = 0;
  // NotModified when already running.
  virtual Result<> start(const std::string& ref) = 0;
  // timeout: seconds before SIGKILL (nullopt: StopTimeout or 10). NotModified when not running.
  virtual Result<> stop(const std::string& ref, std::optional<int> timeout) = 0;
  virtual Result<> restart(const std::string& ref, std::optional<int> timeout) = 0;
  virtual Result<> kill(const std::string& ref, const std::string& signal) = 0;
  virtual Result<> remove(const std::string& ref, bool force, bool removeVolumes) = 0;
  virtual Result<> rename(const std::string& ref, const std::string& newName) = 0;
  // POST /containers/prune: removes every container not running (created,
  // exited, dead) that matches the filters until=, label=, label!=.
  // Returns Docker's {"ContainersDeleted", "SpaceReclaimed"}.
  virtual Result<nlohmann::json> prune(const Filters& filters) = 0;
  virtual Result<> resize(const std::string& ref, int height, int width) = 0;

  // Wait: take the baseline before answering the request's headers, then
  // block in wait(). condition: "" / "not-running", "next-exit", "removed".
  // Returns the exit code. cancelled() is polled about once a second.
  virtual Result<uint64_t> waitBaseline(const std::string& id) = 0;
  virtual Result<int> wait(const std::string& id, const std::string& condition, uint64_t baseline,
                           const std::function<bool()>& cancelled) = 0;

  // Runs an attach session on a hijacked stream until the container exits,
  // the client goes away, or (tty / !StdinOnce) the client closes stdin.
  virtual Result<> attach(const std::string& id, const AttachOptions& opts, RawStream& stream) = 0;
  virtual Result<> logs(const std::string& id, const LogsOptions& opts, StreamWriter& out) = 0;
  virtual Result<bool> isTty(const std::string& id) = 0;

  virtual Result<nlohmann::json> inspect(const std::string& ref, bool size) = 0;
  // filters: id, name, label, status, ancestor, exited, before, since.
  virtual Result<nlohmann::json> list(bool all, int limit, bool size, const Filters& filters) = 0;

  // Exec.
  virtual Result<std::string> execCreate(const std::string& ref, const nlohmann::json& body) = 0;
  // detach: returns once started. Otherwise streams on `stream` until exit.
  // Errors before the process runs come back as Result errors.
  virtual Result<> execStart(const std::string& execId, bool detach, RawStream* stream) = 0;
  virtual Result<nlohmann::json> execInspect(const std::string& execId) = 0;
  virtual Result<> execResize(const std::string& execId, int height, int width) = 0;

  // docker diff: the container's filesystem changes (changes.h).
  virtual Result<std::vector<Change>> changes(const std::string& ref) = 0;
  // docker commit: a new image from the container's changes. Returns its id.
  virtual Result<std::string> commit(const CommitOptions& opts) = 0;
  // docker export: resolves ref, then calls open() (which starts the
  // response) and writes the merged root filesystem as a tar to it.
  virtual Result<> exportRootfs(const std::string& ref, const std::function<StreamWriter*()>& open) = 0;
  // docker cp (archive.h). path is absolute inside the container; a
  // running container is reached through its /proc/PID/root, a stopped one
  // through its overlay mounted for the call. NotFound: "Could not find the
  // file P in container C".
  virtual Result<PathStat> archiveStat(const std::string& ref, const std::string& path) = 0;
  // Stats path, calls open(stat) (which starts the response), writes the tar.
  virtual Result<> archiveGet(const std::string& ref, const std::string& path,
                              const std::function<StreamWriter*(const PathStat&)>& open) = 0;
  // Extracts the tar from body into the directory path.
  virtual Result<> archivePut(const std::string& ref, const std::string& path, const ExtractOptions& opts,
                              const TarSource& body) = 0;
  // GET /system/df: images (with container counts), containers (with
  // SizeRw), LayersSize.
  virtual Result<nlohmann::json> diskUsage() = 0;

  // Ids of the containers that mount volume `name` (volume rm / prune checks).
  virtual std::vector<std::string> volumeUsers(const std::string& name) = 0;
  // Resources (service_resources.cpp). stats: Docker's stats documents as
  // JSON lines; stream: one a second until the container stops or the client
  // goes; otherwise one (oneShot: without waiting for a second sample).
  virtual Result<> stats(const std::string& ref, bool stream, bool oneShot, StreamWriter& out) = 0;
  // docker top: host `ps psArgs` (default -ef) rows of the container's pids.
  virtual Result<nlohmann::json> top(const std::string& ref, const std::string& psArgs) = 0;
  // Freezer (v1 freezer.state, v2 cgroup.freeze). Conflict when not running / not paused.
  virtual Result<> pause(const std::string& ref) = 0;
  virtual Result<> unpause(const std::string& ref) = 0;
  // POST /containers/{id}/update: limits into HostConfig and, when running, the cgroup.
  virtual Result<nlohmann::json> update(const std::string& ref, const nlohmann::json& body) = 0;

  // For the image service's rmi / prune checks.
  virtual std::vector<image::ImageUser> imageUsers(const std::string& imageId) = 0;
  // Counts for /info.
  struct Counts {
    int total = 0, running = 0, paused = 0, stopped = 0;
  };
  virtual Counts counts() = 0;

  // Daemon start: load records and reconnect to monitors still running.
  virtual Result<> restore() = 0;
  // Daemon stop: drop monitor connections, leave containers running.
  virtual void shutdown() = 0;
};

// volumes: the local volume driver; null: containers cannot mount volumes.
std::unique_ptr<Service> makeService(ServiceConfig cfg, ContainerStore& store, image::ImageService& images,
                                     EmitFn emit, volume::Service* volumes = nullptr);

// Signal names as Docker accepts them: "KILL", "SIGKILL", "9".
Result<int> parseSignal(const std::string& s);

}  // namespace berth::container
