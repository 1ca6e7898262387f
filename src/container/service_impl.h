#pragma once
// Internal: the container service's implementation class, all roles of
// service.h, split over service.cpp (lifecycle, state transitions, restore),
// service_io.cpp (attach, logs, exec), service_queries.cpp (inspect, list, sizes),
// service_changes.cpp (diff, commit, export, system df),
// service_archive.cpp (cp), service_resources.cpp (stats, top, pause,
// update) and service_mounts.cpp (volumes and binds). Not for use outside
// src/container.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "common/background.h"
#include "common/thread_cache.h"
#include "common/trace.h"
#include "container/monitor_client.h"
#include "container/networking.h"
#include "container/restart_policy.h"
#include "container/service.h"
#include "container/spec.h"

namespace berth::container {

// One client attached to a container's stdio.
struct AttachSession {
  RawStream* raw = nullptr;
  bool wantStdin = false, wantStdout = true, wantStderr = true, tty = false;
  std::mutex mu;           // guards raw use and closed
  bool closed = false;     // raw must not be touched once set
  bool done = false;       // the container exited: end the session
  // Writes output; false when the client is gone.
  bool writeOutput(monitor::MsgType stream, std::string_view data);
};

// What every exec of one run of a container inherits, read once from its
// config.json and its image: the spec's confinement (process.capabilities,
// noNewPrivileges, rlimits, linux.seccomp; the input of inheritConfinement)
// and the image's layer directories (for the exec's user).
struct ExecBase {
  nlohmann::json spec;
  std::vector<std::string> lowerDirs;
};

// A warm start's monitor (docs/monitor.md): spawned right after the create
// with --gate-fd; its init, set up, waits at the gate before execve.
struct WarmMonitor {
  std::unique_ptr<MonitorConn> conn;
  pid_t pid = 0;
  UniqueFd gate;  // the write end: one byte starts the process, closing it drops the monitor
};

// What a start's spec or mounts could not do: recorded on the container as
// a start failure (its error, exit code 128 or the errno's), not an API error.
struct SpawnFailure {
  std::string message;  // empty: no failure
  int err = 0;
  int stage = 0;  // runtime::Stage
};

// In-memory state of one container next to its persisted record.
struct Entry {
  Container c;
  std::shared_ptr<MonitorConn> mon;  // set while a monitor is connected
  // The monitor of the last run after its Exit, until its connection ends:
  // it is still dropping the container's mount namespace (the overlay's
  // unmount syncs the upper file system) and removing the cgroup, then
  // releases its lock (docs/monitor.md). Its exit is already recorded; a
  // start waits for this to clear, a removal leaves the monitor alone.
  std::shared_ptr<MonitorConn> finishing;
  bool monitorExec = false;          // mon runs execs itself (monitor::kFeatureExec)
  // Filled by the first exec of a run, cleared by each start (config.json
  // is written anew); immutable once set, shared with running execs.
  std::shared_ptr<const ExecBase> execBase;
  bool removing = false;             // rm -f killed it: the exit is not saved, the record goes next
  std::vector<std::shared_ptr<AttachSession>> sessions;
  std::string pendingStdin;          // stdin that arrived before start
  bool pendingStdinClose = false;
  bool busy = false;                 // start/stop/remove in progress
  uint64_t exitSeq = 0;              // increments on every exit
  bool removed = false;
  bool cleanedUp = false;  // removed, and its directory and anonymous volumes are gone too
  RestartBackoff backoff;            // the restart policy's delay state
  uint64_t restartGen = 0;           // bumped to cancel a pending policy restart
  bool exitOnNext = false;           // a stop/kill: no policy restart after this run
  uint64_t healthGen = 0;            // bumped when health monitoring (re)starts or stops
  // A warm start (CreateRequest::warm): `warming` while the monitor is
  // spawned (mu_ not held), then `warm` until a start takes it, anything
  // that changes the container or mounts its root drops it
  // (dropWarmLocked), or ServiceConfig::warmTtl passes.
  bool warming = false;
  std::unique_ptr<WarmMonitor> warm;
  // wait() calls with an answer callback, while they wait: the exit path
  // answers them itself (answerWaitersLocked).
  struct Waiter {
    std::string condition;
    uint64_t baseline = 0;
    const std::function<void(int)>* answer = nullptr;  // the waiting caller's, valid until wait() returns
    enum State { Waiting, Answering, Answered } state = Waiting;
    int code = 0;
  };
  std::vector<std::shared_ptr<Waiter>> waiters;
  // linux.cgroupsPath of the config.json this berthd last wrote for a start
  // (empty: not started since berthd started; cgroupPathOf reads the file).
  // Kept so the exit path does not parse config.json (seccomp included).
  std::string cgroupsPath;
};

struct Exec {
  std::string id, containerId;
  nlohmann::json config;  // the exec create body
  bool running = false, started = false;
  int exitCode = 0;
  bool hasExit = false;
  int pid = 0;
  std::shared_ptr<MonitorConn> mon;
};

class ServiceImpl : public Service {
 public:
  ServiceImpl(ServiceConfig cfg, ContainerStore& store, image::ImageService& images, EmitFn emit,
              volume::Service* volumes = nullptr, network::Service* networks = nullptr);
  ~ServiceImpl() override;

  // Lifecycle (service.cpp).
  Result<CreateResult> create(const CreateRequest& req) override;
  Result<> start(const std::string& ref) override;
  Result<> stop(const std::string& ref, std::optional<int> timeout) override;
  Result<> restart(const std::string& ref, std::optional<int> timeout) override;
  Result<> kill(const std::string& ref, const std::string& signal) override;
  Result<> remove(const std::string& ref, bool force, bool removeVolumes) override;
  Result<> rename(const std::string& ref, const std::string& newName) override;
  Result<PruneReport> prune(const Filters& filters) override;
  Result<uint64_t> waitBaseline(const std::string& id) override;
  Result<int> wait(const std::string& id, const std::string& condition, uint64_t baseline,
                   const std::function<bool()>& cancelled, const std::function<void(int)>& answer = {}) override;
  // IO (service_io.cpp; resize and isTty in service.cpp).
  Result<> attach(const std::string& id, const AttachOptions& opts, RawStream& stream) override;
  Result<> logs(const std::string& id, const LogsOptions& opts, StreamWriter& out) override;
  Result<bool> isTty(const std::string& id) override;
  Result<> resize(const std::string& ref, int height, int width) override;
  Result<std::string> execCreate(const std::string& ref, const ExecConfig& config) override;
  Result<> execStart(const std::string& execId, const ExecStartOptions& opts, RawStream* stream) override;
  Result<ExecDetails> execInspect(const std::string& execId) override;
  Result<> execResize(const std::string& execId, int height, int width) override;
  Result<> reopenLog(const std::string& ref) override;
  // Filesystem: service_changes.cpp (diff, commit, export), service_archive.cpp (cp).
  Result<std::vector<Change>> changes(const std::string& ref) override;
  Result<std::string> commit(const CommitOptions& opts) override;
  Result<> exportRootfs(const std::string& ref, const std::function<StreamWriter*()>& open) override;
  Result<PathStat> archiveStat(const std::string& ref, const std::string& path) override;
  Result<> archiveGet(const std::string& ref, const std::string& path,
                      const std::function<StreamWriter*(const PathStat&)>& open) override;
  Result<> archivePut(const std::string& ref, const std::string& path, const ExtractOptions& opts,
                      const TarSource& body) override;
  // Queries: service_queries.cpp (inspect, list), service.cpp (resolveId, counts),
  // service_resources.cpp (stats, top, pause/unpause, update),
  // service_changes.cpp (diskUsage).
  Result<std::string> resolveId(const std::string& ref) override;
  Result<ContainerDetails> inspect(const std::string& ref, bool size) override;
  Result<std::vector<ContainerSummary>> list(const ListOptions& opts) override;
  Result<> stats(const std::string& ref, bool stream, bool oneShot, StreamWriter& out) override;
  Result<TopResult> top(const std::string& ref, const std::string& psArgs) override;
  Result<> pause(const std::string& ref) override;
  Result<> unpause(const std::string& ref) override;
  Result<UpdateResult> update(const std::string& ref, const UpdateRequest& req) override;
  Result<DiskUsage> diskUsage() override;
  Counts counts() override;
  // Housekeeping (service.cpp; volumeUsers in service_mounts.cpp).
  std::vector<image::ImageUser> imageUsers(const std::string& imageId) override;
  std::vector<std::string> volumeUsers(const std::string& name) override;
  Result<> restore() override;
  void shutdown() override;
  std::vector<Problem> check(const CheckOptions& opts) override;  // service_restore.cpp
  // Networking (service_network.cpp).
  Result<> connect(const std::string& containerRef, const std::string& networkRef,
                   const nlohmann::json& settings) override;
  Result<> disconnect(const std::string& containerRef, const std::string& networkRef, bool force) override;
  Result<> removeLink(const std::string& linkName) override;

 private:
  // Requires mu_.
  std::shared_ptr<Entry> findLocked(const std::string& ref);
  Result<std::shared_ptr<Entry>> getLocked(const std::string& ref);
  Result<> saveLocked(Entry& e);
  std::string dirOf(const std::string& id) const { return cfg_.dataRoot + "/containers/" + id; }
  std::string socketOf(const std::string& id) const { return cfg_.execRoot + "/m/" + id.substr(0, 12) + ".sock"; }
  // The live log file of the container's driver: json-file <id>-json.log,
  // local local-logs/container.log, none "".
  std::string logPathOf(const Container& c) const;
  nlohmann::json eventAttrs(const Entry& e, nlohmann::json extra = nlohmann::json::object());
  std::string generateName();

  // spare: a spare bundle taken for e (its id is e's), renamed into place.
  struct SpareBundle;
  Result<> prepareBundle(Entry& e, const SpareBundle& spare);
  // Runs fn with an fd of the container's root directory (archive.h).
  Result<> withRoot(const std::string& ref, const std::function<Result<>(int rootFd, const std::string& id)>& fn);
  // A stopped container's volumes and binds bound into its root mounted at
  // rootFd for an archive call (service_archive.cpp).
  Result<> mountVolumesInRoot(int rootFd, const nlohmann::json& mountPoints, const std::string& id);
  // start(); policyGen set when the restart policy starts it: then it only
  // runs if that pending restart was not cancelled, and keeps RestartCount.
  Result<> startImpl(const std::string& ref, std::optional<uint64_t> policyGen);
  // The start's bundle and monitor (mu_ not held): config.json from c and
  // the image's layers, the monitor lock, berth-monitor spawned (gateFd >= 0:
  // a warm start, the init held at that gate; built: config.json's text
  // made already, from these layers). A spec or mount error is
  // returned in `failed` (and no monitor); anything else as the Error.
  // cgroupsPath: the spec's linux.cgroupsPath (Entry::cgroupsPath).
  Result<std::pair<std::unique_ptr<MonitorConn>, pid_t>> spawnForStart(
      Container& c, const std::vector<std::string>& layers, const std::map<std::string, std::string>& nsJoins,
      const std::string& netFilesDir, int gateFd, SpawnFailure& failed, trace::Phases& phase,
      std::string& cgroupsPath, Result<SpecText>* built = nullptr);
  // Warm starts (docs/monitor.md). warmable: a container whose start
  // needs nothing a later moment could change (the built-in runtime; no
  // namespace of another container, pinned netns, network sandbox or -v
  // source still to make); checked by create before its record is
  // written (mu_ not needed). warmSlotLocked: then, with the record in,
  // still created and fewer than kMaxWarm warm ones. The monitor is kept
  // until a start takes it, something drops it or ServiceConfig::warmTtl
  // passes. dropWarmLocked: waits for a spawn under way, then drops the
  // monitor (its init exits unexecuted, the monitor cleans up) and waits
  // for its end.
  static constexpr int kMaxWarm = 8;
  bool warmable(const Container& c) const;
  bool warmSlotLocked(const Entry& e) const;
  // warmUpEarly: from create, before its record is written: a thread that
  // builds the spec meanwhile and then waits for `committed`: the entry
  // (marked `warming` by create) to spawn the monitor for (warmUp), or
  // nullptr (the create failed or the entry is not warmable after all).
  struct WarmGo {
    std::promise<std::shared_ptr<Entry>> committed;
  };
  std::shared_ptr<WarmGo> warmUpEarly(const Container& c);
  void warmUp(const std::shared_ptr<Entry>& e, Container c, const Result<std::vector<std::string>>& layers,
              Result<SpecText>* spec);
  void dropWarmLocked(std::unique_lock<std::mutex>& lk, Entry& e);
  static void dropWarm(std::unique_ptr<WarmMonitor> w);
  // Runs startImpl after delayMs on a detached thread unless cancelled
  // (restartGen bumped, removal, daemon shutdown). mu_ held.
  void scheduleRestartLocked(std::shared_ptr<Entry> e, int64_t delayMs);
  // Cancels a pending policy restart of a Restarting container: Exited. mu_ held.
  void cancelRestartLocked(Entry& e);
  // Waits (mu_ held) until no start/stop runs on e.
  void waitNotBusyLocked(std::unique_lock<std::mutex>& lk, Entry& e);
  // The container's linux.cgroupsPath: Entry::cgroupsPath, else read from
  // its config.json (a record restored from disk). mu_ held.
  std::string cgroupPathOf(const Entry& e) const;
  // forCommit: the freeze is berth's own (commit), recorded as such before
  // the cgroup freezes so a restore after a crash thaws it.
  Result<> setPaused(const std::string& ref, bool pause, bool forCommit = false);
  // A signal to a frozen container is delivered once it thaws (mu_ held).
  void thawIfPausedLocked(Entry& e);
  // service_health.cpp. Health monitoring of a container that started
  // (resume: berthd restarted, keep the recorded status) or stopped. mu_ held.
  void healthStartLocked(Entry& e, bool resume = false);
  void healthStopLocked(Entry& e);
  void healthLoop();  // the scheduler thread
  void runProbe(const std::string& id, uint64_t gen);
  // Reads monitor messages until it goes away; handles Exit.
  void readerLoop(std::shared_ptr<Entry> e, std::shared_ptr<MonitorConn> mon);
  // Starts readerLoop on a detached thread (mu_ held); shutdown() waits for it.
  void spawnReaderLocked(std::shared_ptr<Entry> e, std::shared_ptr<MonitorConn> mon);
  void handleExit(const std::shared_ptr<Entry>& e, const nlohmann::json& exitDoc);
  // Tracing on: the monitor's spans (<dir>/trace.jsonl) into the timeline.
  void collectMonitorTrace(const std::string& id);
  // The exit.json a monitor left, or ExitCode 255 with fallbackError.
  nlohmann::json recordedExit(const std::string& id, const std::string& fallbackError);
  // With lk (mu_) held: answers the waiters of e (wait() with an answer)
  // whose condition holds now, with mu_ released meanwhile.
  void answerWaitersLocked(std::unique_lock<std::mutex>& lk, Entry& e);
  // Its parts. mu_ held: marks Answering (theirs to answer now) the waiters
  // of e whose wait is over, or with removal all of them. mu_ not held:
  // answers them. mu_ held: marks them Answered (the caller notifies cv_,
  // which their wait() threads wait on).
  std::vector<std::shared_ptr<Entry::Waiter>> claimWaitersLocked(Entry& e, bool removal);
  static void answerClaimed(const std::vector<std::shared_ptr<Entry::Waiter>>& ws);
  static void answeredLocked(const std::vector<std::shared_ptr<Entry::Waiter>>& ws);
  // Waits (mu_ held via lk) until exitSeq > baseline or timeout; true if exited.
  bool waitExitLocked(std::unique_lock<std::mutex>& lk, Entry& e, uint64_t baseline, int timeoutMs);
  // removeVolumes (or AutoRemove): the container's anonymous volumes go too.
  // dirInBackground (--rm after the exit, rm): the container's directory is
  // deleted by the idle-priority worker (background_) after the record, the
  // volumes and the event; a crash meanwhile leaves a directory without a
  // record, which the start-up check removes (docs/crash-safety.md).
  Result<> removeLocked(std::unique_lock<std::mutex>& lk, std::shared_ptr<Entry> e, bool removeVolumes = false,
                        bool dirInBackground = false);
  // service_mounts.cpp. Resolves the mounts of a create request (mu_ not
  // held): volumes-from, binds, --mount, tmpfs, anonymous and image volumes;
  // creates the volumes it names. createdVolumes: the ones it made (for rollback).
  Result<nlohmann::json> resolveMounts(const nlohmann::json& hostConfig, const nlohmann::json& configVolumes,
                                       const nlohmann::json& imageVolumes, std::vector<std::string>& createdVolumes);
  // Before each start (mu_ not held): missing -v bind sources become
  // directories; new empty volumes get the image's content (copy-up).
  Result<> prepareMounts(const Container& c, const std::vector<std::string>& lowerDirs);
  // Removes the anonymous volumes of mountPoints, ignoring those still in use.
  void removeAnonymousVolumes(const nlohmann::json& mountPoints);
  // The mounts inspect and ps list (HostConfig.Tmpfs ones left out).
  std::vector<MountPoint> listedMounts(const Container& c) const;
  std::vector<VolumeUsage> volumesDiskUsage();
  void sendStdinLocked(Entry& e, std::string_view data);
  void execReader(std::shared_ptr<Exec> x, RawStream* stream, bool tty);
  ContainerSizes sizesOf(const Container& c);
  ContainerSummary summaryOf(const Entry& e, bool size);
  Result<ContainerDetails> inspectRecord(const std::string& ref, bool size);  // takes mu_
  // transition() for a move that already happened (an exit, a thaw): a
  // refusal is logged, not returned. mu_ held.
  void recordLocked(Entry& e, State to);

  // service_restore.cpp: crash recovery (docs/crash-safety.md).
  // A container recorded as not running whose monitor lock is held (berthd
  // died during its start): waits for the monitor's answer; Running (mu_ not
  // held: adopted, recorded as Running, true) or the start failed / the
  // monitor hung (killed with its cgroup; false).
  bool adoptInterruptedStart(const std::shared_ptr<Entry>& e);
  // Restore's connection to a container's monitor: Unavailable at once when
  // its lock is free (gone), else retried while the lock is held and the
  // monitor not yet listening (a policy restart berthd did not see finish).
  Result<std::unique_ptr<MonitorConn>> connectMonitor(const std::string& id);
  // Kills what may be left of a container that has no live monitor berthd
  // knows: a monitor holding its lock (pid checked against its command
  // line), processes in its cgroup; removes the cgroup. mu_ not held.
  void killLeftovers(const std::string& id, const std::string& cgroupPath);
  // restore(): exec monitors of this data-root left by a previous berthd.
  void killStrayExecMonitors();
  // Makes the freezer agree with the record after a restart: a commit's
  // freeze is thawed (Running), a frozen Running container thawed, a Paused
  // one found thawed recorded as Running. mu_ held; saves.
  void reconcileFreezerLocked(Entry& e);

  // service_network.cpp. The start path's networking (mu_ not held): links
  // checked and their env added to c.config["Env"], sandbox + endpoints,
  // hosts and resolv.conf written. All or nothing.
  Result<AttachedNetworks> startNetworking(Container& c);
  // After the process is gone (mu_ not held): endpoints and sandbox go.
  void stopNetworking(const std::string& id, const std::string& networkMode);
  // Rewrites containers/<id>/hosts and resolv.conf for the live endpoints.
  Result<> writeSandboxFiles(const Container& c);
  // The live endpoints of running containers (mu_ not held).
  std::vector<network::Endpoint> liveEndpoints(const Container& c);

  ServiceConfig cfg_;
  ContainerStore& store_;
  image::ImageService& images_;
  EmitFn emit_;
  volume::Service* volumes_ = nullptr;
  network::Service* networks_ = nullptr;

  SpareMonitor spare_{cfg_.monitorBin};  // the starts' monitors (monitor_client.h)
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Entry>> byId_;
  std::map<std::string, std::shared_ptr<Exec>> execs_;
  int readersRunning_ = 0;  // detached reader threads alive; guarded by mu_
  bool stopping_ = false;
  // Health probes: container id -> (due unix nanos, healthGen); guarded by mu_.
  std::map<std::string, std::pair<int64_t, uint64_t>> healthDue_;
  std::condition_variable healthCv_;
  std::thread healthThread_;
  // Spare bundle directories: containers/.spare-<id> holding upper, work,
  // merged, hosts, the default hostname and resolv.conf, made ahead on background_ (at idle priority) after
  // a create took one; a create without a caller's id takes one with a
  // rename (prepareBundle) instead of four mkdirs and a file on its
  // critical path. restore() removes the ones a previous berthd left;
  // shutdown() the ones left now. Guarded by spareMu_.
  static constexpr size_t kSpareBundles = 2;
  struct SpareBundle {
    std::string id;           // its directory: containers/.spare-<id>
    std::string resolvStamp;  // the host's resolv.conf its copy was read under
  };
  static constexpr std::string_view kSpareBundlePrefix = ".spare-";
  std::mutex spareMu_;
  std::vector<SpareBundle> spareBundles_;  // ready and not taken
  bool spareRefillPosted_ = false;
  bool spareStopped_ = false;
  SpareBundle takeSpareBundle();               // id "" when none is ready
  void returnSpareBundle(SpareBundle b);       // a create that failed before using it
  void refillSpareBundles();                   // posts the making of the missing ones
  void removeSpareBundles(bool everyOnDisk);   // the ready ones, or every .spare-* (restore)
  // The directories of removed containers (rm, --rm) go here, after the
  // answer and at idle priority (removeLocked); destroyed first, so what is
  // queued still runs while the rest of the service exists.
  BackgroundQueue background_;
  // The threads of warm starts (from the create) and of monitor readers
  // (from each start): taken from here rather than started on the request's path.
  ThreadCache threads_;
};

}  // namespace berth::container
