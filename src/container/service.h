#pragma once
// The container service, cut into roles (STYLE.md 2): Lifecycle, IO,
// Filesystem, Queries and Housekeeping. A caller takes the role it needs;
// Service is all of them, for the composition root and the implementation.
//
// What the service knows: container records and their state machine
// (model.h), monitors, mounts, the image and volume services. What it does
// not know: HTTP and the Engine API's JSON documents. Results are typed
// structs; api/containers_json.h shapes them into Docker's JSON. Request
// bodies still come in as Docker's JSON objects (CreateRequest, UpdateRequest,
// ExecConfig), validated at the API edge first.
//
// Errors: NotFound "No such container: REF" for an unknown name/id/prefix,
// Conflict for a move the state machine refuses, NotModified for a start of
// a running / stop of a stopped container, InvalidArgument for bad input.
// Thread safety: every method may be called from any thread.

#include <chrono>
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
#include "common/problem.h"
#include "common/result.h"
#include "container/archive.h"
#include "container/changes.h"
#include "container/model.h"
#include "container/mounts.h"
#include "image/service.h"
#include "network/service.h"
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
  // Bounds of PUT /containers/{id}/archive (common/unpack_limits.h).
  UnpackLimits unpackLimits;
  // The daemon's default logging driver and options (daemon.json log-driver,
  // log-opts; --log-driver, --log-opt): for an empty LogConfig.Type.
  std::string logDriver = "json-file";
  std::map<std::string, std::string> logOpts;
  // How long a warm start (CreateRequest::warm) is kept for the start; 0: no
  // warm starts (berthd --warm-start-ttl).
  std::chrono::milliseconds warmTtl{10000};
};

// Persistence of container records (SQLite in the daemon, a map in tests).
class ContainerStore {
 public:
  virtual ~ContainerStore() = default;
  virtual Result<> save(const Container& c) = 0;  // insert or replace
  virtual Result<> remove(const std::string& id) = 0;
  virtual Result<std::vector<Container>> loadAll() = 0;
};

// POST /containers/create: the container's name ("" = generated) and
// Docker's create body (Config with HostConfig inside).
struct CreateRequest {
  std::string name;
  nlohmann::json body;
  // Not part of the Engine API (its router never sets it): the CRI's pod
  // sandboxes join a network namespace pinned at this absolute path
  // (Container::netnsPath). InvalidArgument unless NetworkMode is "none".
  std::string netnsPath = {};
  // Not part of the Engine API either: the id to give the container ("" =
  // a new random one), so the CRI can run CNI ADD for a sandbox while its
  // pause container is being created. InvalidArgument unless 64 lowercase
  // hex; Conflict when a container or a container directory has it.
  std::string id = {};
  // A warm start (docs/monitor.md): the start's config.json and monitor
  // are made right after the create, the init set up and held before
  // execve, so a start only lets it run. The Engine API's creates set it:
  // a client starts most containers it creates at once (docker run).
  bool warm = false;
};

struct CreateResult {
  std::string id;
  std::vector<std::string> warnings;
};

// POST /containers/{id}/update body: HostConfig resources and RestartPolicy.
struct UpdateRequest {
  nlohmann::json body;
};

struct UpdateResult {
  std::vector<std::string> warnings;
};

// POST /containers/{id}/exec body (Cmd, Env, User, Tty, AttachStdin...).
struct ExecConfig {
  nlohmann::json body;
};

struct AttachOptions {
  bool stdinWanted = false, stdoutWanted = true, stderrWanted = true;
  bool logs = false;    // replay the container's logs first (dockerd: the whole log, no timestamps)
  bool stream = true;   // then attach live; false: return once the replay is written
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

// The writable layer's size and that plus the image's (ps -s, inspect --size).
struct ContainerSizes {
  int64_t rw = 0;
  int64_t rootFs = 0;
};

// Where a container's files live on the host.
struct ContainerPaths {
  std::string resolvConf, hostname, hosts, log;
  std::string upper, work, merged;  // the overlay's directories
};

// GET /containers/json element: the record and what only the service knows.
struct ContainerSummary {
  Container record;
  std::vector<MountPoint> mounts;       // as inspect lists them (no --tmpfs)
  std::optional<ContainerSizes> sizes;  // only when asked for
  std::vector<network::Endpoint> endpoints;  // live ones (running containers)
};

// GET /containers/{id}/json: the record (state, config, exec ids) and runtime facts.
struct ContainerDetails {
  Container record;
  ContainerPaths paths;
  std::vector<MountPoint> mounts;       // as inspect lists them (no --tmpfs)
  std::optional<ContainerSizes> sizes;  // only when asked for
  // Live endpoints (running containers); the intent is record.networks.
  std::vector<network::Endpoint> endpoints;
};

struct ListOptions {
  bool all = false;
  int limit = -1;  // > 0: the newest `limit` containers
  bool size = false;
  // id, name, label, status, ancestor, exited, before, since, volume (and
  // network, publish, expose, health, isolation, is-task accepted).
  Filters filters;
  // The client namespace listed (container/namespaces.h): "" = the Docker
  // API's containers (those without a namespace label), "k8s.io" = the CRI's.
  std::string ns;
};

struct PruneReport {
  std::vector<std::string> deleted;  // ids
  int64_t spaceReclaimed = 0;
};

struct ExecDetails {
  std::string id, containerId;
  bool running = false;
  std::optional<int> exitCode;  // once it exited
  int pid = 0;
  bool tty = false, privileged = false;
  bool openStdin = false, openStdout = false, openStderr = false;
  std::string entrypoint;               // Cmd[0]
  std::vector<std::string> arguments;   // Cmd[1:]
  std::string user, detachKeys;
};

// docker top: ps column titles and the rows of the container's processes.
struct TopResult {
  std::vector<std::string> titles;
  std::vector<std::vector<std::string>> processes;
};

// GET /system/df.
struct ImageUsage {
  image::ImageSummary image;
  int containers = 0;  // containers created from it
};
struct VolumeUsage {
  volume::Volume volume;
  int refCount = 0;
  int64_t size = -1;  // -1: not a plain directory (not measured)
};
struct DiskUsage {
  int64_t layersSize = 0;
  std::vector<ImageUsage> images;
  std::vector<ContainerSummary> containers;  // newest first, with sizes
  std::vector<VolumeUsage> volumes;
};

// Counts for /info.
struct Counts {
  int total = 0, running = 0, paused = 0, stopped = 0;
};

// Creating, running, stopping and removing containers.
class Lifecycle {
 public:
  virtual ~Lifecycle() = default;
  virtual Result<CreateResult> create(const CreateRequest& req) = 0;
  // NotModified when already running; Conflict for a container marked for removal.
  virtual Result<> start(const std::string& ref) = 0;
  // timeout: seconds before SIGKILL (nullopt: StopTimeout or 10; negative:
  // wait forever). NotModified when not running.
  virtual Result<> stop(const std::string& ref, std::optional<int> timeout) = 0;
  virtual Result<> restart(const std::string& ref, std::optional<int> timeout) = 0;
  // signal: a name or number as parseSignal takes it; "" = KILL.
  virtual Result<> kill(const std::string& ref, const std::string& signal) = 0;
  virtual Result<> remove(const std::string& ref, bool force, bool removeVolumes) = 0;
  virtual Result<> rename(const std::string& ref, const std::string& newName) = 0;
  // Removes every container not running (created, exited, dead) that
  // matches the filters until=, label=, label!=. Containers of a client
  // namespace (the CRI's) are never pruned.
  virtual Result<PruneReport> prune(const Filters& filters) = 0;
  // Wait: take the baseline before answering the request's headers, then
  // block in wait(). condition: "" / "not-running", "next-exit", "removed".
  // Returns the exit code. cancelled() is polled about once a second.
  // answer (optional): called at most once, with the exit code, by the
  // thread whose work made the condition hold (the exit or the removal),
  // so the answer goes out without waking the waiting thread first; wait()
  // then returns that code, only after answer has returned. Never called
  // when wait() fails; must not call back into the service.
  virtual Result<uint64_t> waitBaseline(const std::string& id) = 0;
  virtual Result<int> wait(const std::string& id, const std::string& condition, uint64_t baseline,
                           const std::function<bool()>& cancelled,
                           const std::function<void(int)>& answer = {}) = 0;
};

// POST /exec/{id}/start: container.ExecStartOptions.
struct ExecStartOptions {
  bool detach = false;
  bool tty = false;           // the framing of the attached stream (not the process's pty)
  int rows = 0, cols = 0;     // ConsoleSize of the start request; 0: the create's
};

// A container's stdio (attach, logs, tty size) and exec sessions.
class IO {
 public:
  virtual ~IO() = default;
  // Runs an attach session on a hijacked stream until the container exits,
  // the client goes away, or (tty / !StdinOnce) the client closes stdin.
  // With opts.logs the log is replayed first; with !opts.stream it returns
  // after that (closing the stream). Errors (NotFound, Conflict for a paused
  // or restarting container) come back before the stream is touched; a log
  // driver that cannot be read is reported inside the stream, as dockerd.
  virtual Result<> attach(const std::string& id, const AttachOptions& opts, RawStream& stream) = 0;
  virtual Result<> logs(const std::string& id, const LogsOptions& opts, StreamWriter& out) = 0;
  virtual Result<bool> isTty(const std::string& id) = 0;
  // Conflict when not running.
  virtual Result<> resize(const std::string& ref, int height, int width) = 0;
  // Returns the exec id.
  virtual Result<std::string> execCreate(const std::string& ref, const ExecConfig& config) = 0;
  // detach: returns once started. Otherwise streams on `stream` until exit,
  // framed by the start request's tty as dockerd frames it: raw when
  // opts.tty, else multiplexed (stdcopy) even for an exec created with a
  // tty (its process still gets a pty; all of its output is stdout).
  // Errors before the process runs come back as Result errors.
  virtual Result<> execStart(const std::string& execId, const ExecStartOptions& opts, RawStream* stream) = 0;
  // NotFound: "No such exec instance: ID".
  virtual Result<ExecDetails> execInspect(const std::string& execId) = 0;
  virtual Result<> execResize(const std::string& execId, int height, int width) = 0;
  // Asks the container's monitor to open its log path again (the CRI's
  // ReopenContainerLog, after kubelet renamed the file); the file exists
  // (created empty) when it returns. Conflict when not running; Unavailable
  // when berthd has no connection to the monitor.
  virtual Result<> reopenLog(const std::string& ref) = 0;
};

// A container's root filesystem: diff, commit, export, cp.
class Filesystem {
 public:
  virtual ~Filesystem() = default;
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
};

// Reading containers, their resources and limits (service_resources.cpp).
class Queries {
 public:
  virtual ~Queries() = default;
  // Full id for a name, id or unique id prefix. NotFound: "No such container: ref".
  virtual Result<std::string> resolveId(const std::string& ref) = 0;
  virtual Result<ContainerDetails> inspect(const std::string& ref, bool size) = 0;
  // Newest first. InvalidArgument for an unknown filter key or status value;
  // NotFound for a before=/since= container that does not exist.
  virtual Result<std::vector<ContainerSummary>> list(const ListOptions& opts) = 0;
  // Docker's stats documents as JSON lines; stream: one a second until the
  // container stops or the client goes; otherwise one (oneShot: without
  // waiting for a second sample).
  virtual Result<> stats(const std::string& ref, bool stream, bool oneShot, StreamWriter& out) = 0;
  // docker top: host `ps psArgs` (default -ef) rows of the container's pids.
  virtual Result<TopResult> top(const std::string& ref, const std::string& psArgs) = 0;
  // Freezer (v1 freezer.state, v2 cgroup.freeze). Conflict when not running / not paused.
  virtual Result<> pause(const std::string& ref) = 0;
  virtual Result<> unpause(const std::string& ref) = 0;
  // Limits into HostConfig and, when running, the cgroup.
  virtual Result<UpdateResult> update(const std::string& ref, const UpdateRequest& req) = 0;
  // GET /system/df: images (with container counts), containers (with sizes), volumes.
  virtual Result<DiskUsage> diskUsage() = 0;
  // Containers of Docker's namespace only (as list() shows them).
  virtual Counts counts() = 0;
};

// What only the daemon and the other services call.
class Housekeeping {
 public:
  virtual ~Housekeeping() = default;
  // For the image service's rmi / prune checks.
  virtual std::vector<image::ImageUser> imageUsers(const std::string& imageId) = 0;
  // Ids of the containers that mount volume `name` (volume rm / prune checks).
  virtual std::vector<std::string> volumeUsers(const std::string& name) = 0;
  // Daemon start: load records and reconnect to monitors still running.
  virtual Result<> restore() = 0;
  // Daemon stop: drop monitor connections, leave containers running.
  virtual void shutdown() = 0;
  // `berth system check` (docs/crash-safety.md): container directories
  // without a record, records whose directory is gone, monitors and cgroup
  // processes of containers recorded as not running, frozen cgroups of
  // running ones, network namespaces of containers that do not run. With
  // opts.repair: orphans removed, strays killed, lost containers marked
  // dead, cgroups thawed. Containers being started/stopped are skipped.
  virtual std::vector<Problem> check(const CheckOptions& opts) = 0;
};

// A container's networks after create (docker network connect/disconnect,
// rm --link). A running container is attached or detached live (its
// /etc/hosts and resolv.conf rewritten in place); a stopped one only changes
// its intent (Container::networks). Errors as dockerd: NotFound for an
// unknown container or network; InvalidArgument (400) "container sharing
// network namespace with another container or host cannot be connected to
// any other network", "container cannot be disconnected from host network or
// connected to host network", the none-mode and default-bridge IP/alias
// refusals; PermissionDenied (403) "endpoint with name C already exists in
// network N" and "container ID is not connected to network N".
class Networking {
 public:
  virtual ~Networking() = default;
  // settings: Docker's EndpointSettings (may be null).
  virtual Result<> connect(const std::string& containerRef, const std::string& networkRef,
                           const nlohmann::json& settings) = 0;
  virtual Result<> disconnect(const std::string& containerRef, const std::string& networkRef, bool force) = 0;
  // DELETE /containers/{name}?link=1 with name "/parent/alias".
  virtual Result<> removeLink(const std::string& linkName) = 0;
};

// All the roles: what makeService returns and the fakes implement.
class Service : public Lifecycle, public IO, public Filesystem, public Queries, public Housekeeping,
                public Networking {};

// volumes: the local volume driver; null: containers cannot mount volumes.
// networks: the network service; null: bridge containers get a namespace
// with only lo (no endpoints), as before issue 12.
std::unique_ptr<Service> makeService(ServiceConfig cfg, ContainerStore& store, image::ImageService& images,
                                     EmitFn emit, volume::Service* volumes = nullptr,
                                     network::Service* networks = nullptr);

// Signal names as Docker accepts them: "KILL", "SIGKILL", "9".
Result<int> parseSignal(const std::string& s);

}  // namespace berth::container
