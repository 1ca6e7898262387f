// RUN (moby dispatchRun + containerManager.Run) and the builder's own
// state: RUN --mount=type=cache directories, prune and usage.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <regex>
#include <thread>

#include "build/builder_impl.h"
#include "build/dockerignore.h"
#include "build/shell_lex.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/util.h"
#include "container/archive.h"
#include "container/changes.h"
#include "container/service.h"

namespace berth::build {

namespace {

// The stdcopy frames of a non-tty attach, demultiplexed into one sink. The
// service reads the client only once the session is registered, so the
// first read() tells the builder it may start the container; it then
// reports EOF (no stdin).
class RunStream final : public RawStream {
 public:
  explicit RunStream(std::function<bool(std::string_view)> sink) : sink_(std::move(sink)) {}
  ssize_t read(char*, size_t) override {
    signal();
    return 0;
  }
  bool write(std::string_view data) override {
    buf_.append(data);
    while (buf_.size() >= 8) {
      auto* p = reinterpret_cast<const unsigned char*>(buf_.data());
      size_t len = (size_t(p[4]) << 24) | (size_t(p[5]) << 16) | (size_t(p[6]) << 8) | size_t(p[7]);
      if (buf_.size() < 8 + len) break;
      if (!gone_ && !sink_(std::string_view(buf_).substr(8, len))) gone_ = true;
      buf_.erase(0, 8 + len);
    }
    return !gone_;
  }
  void close() override {}
  int readFd() const override { return -1; }
  void signal() {
    std::lock_guard lk(mu_);
    if (!signalled_) {
      signalled_ = true;
      ready_.set_value();
    }
  }
  std::future<void> ready() { return ready_.get_future(); }
  bool gone() const { return gone_; }

 private:
  std::function<bool(std::string_view)> sink_;
  std::string buf_;
  std::atomic<bool> gone_{false};
  std::mutex mu_;
  bool signalled_ = false;
  std::promise<void> ready_;
};

bool singleHeredocWord(const std::string& s) {
  static const std::regex re(R"(^\s*[0-9]*<<-?(["']?)[A-Za-z0-9_.\-]+\1\s*$)");
  return std::regex_match(s, re);
}

int64_t dirSize(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  if (!S_ISDIR(st.st_mode)) return S_ISREG(st.st_mode) ? int64_t(st.st_blocks) * 512 : 0;
  int64_t total = 0;
  if (DIR* d = ::opendir(path.c_str())) {
    while (auto* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      total += dirSize(path + "/" + n);
    }
    ::closedir(d);
  }
  return total;
}

}  // namespace

// ---- RUN ----

void BuildRun::removeContainer(StageState& st, const std::string& id) {
  if (auto r = b_.containers_.remove(id, true, true); !r)
    log::warn("build: remove intermediate container {}: {}", shortId(id), r.error().message);
  say(st, "Removing intermediate container " + shortId(id) + "\n");
}

Result<int> BuildRun::runContainer(StageState& st, const std::string& id) {
  RunStream stream([this, &st](std::string_view data) { return say(st, data); });
  auto ready = stream.ready();
  Result<> attachResult;
  container::AttachOptions ao;
  ao.stdinWanted = false;
  std::thread attacher([&] {
    attachResult = b_.containers_.attach(id, ao, stream);
    stream.signal();
  });
  ready.wait();
  auto joinAttach = [&] {
    if (attacher.joinable()) attacher.join();
  };
  if (!attachResult && attacher.joinable()) {
    // attach failed before registering: fall through to start without output.
  }
  auto baseline = b_.containers_.waitBaseline(id);
  if (!baseline) {
    (void)b_.containers_.remove(id, true, true);
    joinAttach();
    return std::unexpected(baseline.error());
  }
  if (auto r = b_.containers_.start(id); !r) {
    (void)b_.containers_.remove(id, true, true);
    joinAttach();
    return std::unexpected(r.error());
  }
  // The predicate runs under the container service's lock: cancelled()
  // never blocks (OrderedOutput::pollGone).
  auto code = b_.containers_.wait(id, "next-exit", *baseline, [&] { return stream.gone() || cancelled(); });
  if (stream.gone() || cancelled()) {
    cancel_ = true;
    (void)b_.containers_.kill(id, "KILL");
    (void)b_.containers_.remove(id, true, true);
    joinAttach();
    return makeError(Code::Cancelled, "context canceled");
  }
  joinAttach();
  if (!code) return std::unexpected(code.error());
  return *code;
}

Result<> BuildRun::dispatchRun(StageState& st, const Instruction& ins) {
  json& rc = st.runConfig;
  std::vector<std::string> cmdLine = ins.cmdLine;
  std::string scriptDir;
  if (!ins.heredocs.empty() && ins.prependShell && cmdLine.size() == 1) {
    const Heredoc& h = ins.heredocs[0];
    std::string data = h.chomp ? chompHeredoc(h.content) : h.content;
    if (ins.heredocs.size() == 1 && singleHeredocWord(cmdLine[0])) {
      cmdLine = {data};
      if (startsWith(data, "#!")) {
        // A script with its own interpreter: a file under /dev/pipes, as BuildKit runs it.
        scriptDir = b_.tmpDir() + "/script-" + randomHexId().substr(0, 16);
        TRY(mkdirAll(scriptDir, 0755));
        TRY(writeFileReplace(scriptDir + "/" + h.name, data, 0755));
        ::chmod((scriptDir + "/" + h.name).c_str(), 0755);
        cmdLine = {"/dev/pipes/" + h.name};
      }
    } else {
      std::string full = cmdLine[0];
      for (auto& d : ins.heredocs) full += "\n" + (d.chomp ? chompHeredoc(d.content) : d.content) + d.name;
      cmdLine = {full};
    }
  }
  ScopeExit dropScript([&] {
    if (!scriptDir.empty()) (void)removeAll(scriptDir);
  });
  Instruction resolved = ins;
  resolved.cmdLine = cmdLine;
  std::vector<std::string> cmd = resolveCmdLine(resolved, rc);

  auto stateEnv = stringList(rc.value("Env", json(nullptr)));
  auto buildArgVars = st.args.filterAllowed(stateEnv);
  std::vector<std::string> saveCmd = cmd;
  // BuildKit's RUN flags are part of the cache key (berth: in the command form).
  std::vector<std::string> flagWords;
  for (auto& m : ins.mounts) flagWords.push_back("--mount=" + m);
  if (!ins.network.empty()) flagWords.push_back("--network=" + ins.network);
  if (!ins.security.empty()) flagWords.push_back("--security=" + ins.security);
  if (!flagWords.empty()) saveCmd.insert(saveCmd.begin(), flagWords.begin(), flagWords.end());
  if (!buildArgVars.empty()) saveCmd = prependEnvOnCmd(st.args, buildArgVars, saveCmd);

  json probe = rc;
  probe["Cmd"] = saveCmd;
  probe.erase("ArgsEscaped");
  if (!saveCmd.empty()) probe["Entrypoint"] = nullptr;
  TRY_ASSIGN(bool hit, probeCache(st, probe));
  if (hit) return {};

  // The container: the stage's config with the command, the build args in
  // its environment, no entrypoint, no healthcheck.
  json body = rc;
  auto env = stateEnv;
  env.insert(env.end(), buildArgVars.begin(), buildArgVars.end());
  body["Env"] = env;
  body["Cmd"] = cmd;
  body["Entrypoint"] = json::array({""});
  body.erase("Healthcheck");
  body["Image"] = st.imageId;
  body["OnBuild"] = nullptr;
  body["AttachStdout"] = true;
  body["AttachStderr"] = true;
  body["Tty"] = false;
  body["OpenStdin"] = false;
  json hc = json::object();
  std::string net = opts_.networkMode;
  if (!ins.network.empty()) net = ins.network == "default" ? opts_.networkMode : ins.network;
  if (!net.empty() && net != "default") hc["NetworkMode"] = net;
  if (opts_.shmSize > 0) hc["ShmSize"] = opts_.shmSize;
  if (opts_.memory > 0) hc["Memory"] = opts_.memory;
  if (opts_.memorySwap != 0) hc["MemorySwap"] = opts_.memorySwap;
  if (opts_.cpuShares > 0) hc["CpuShares"] = opts_.cpuShares;
  if (opts_.cpuPeriod > 0) hc["CpuPeriod"] = opts_.cpuPeriod;
  if (opts_.cpuQuota > 0) hc["CpuQuota"] = opts_.cpuQuota;
  if (!opts_.cpusetCpus.empty()) hc["CpusetCpus"] = opts_.cpusetCpus;
  if (!opts_.cpusetMems.empty()) hc["CpusetMems"] = opts_.cpusetMems;
  if (opts_.ulimits.is_array() && !opts_.ulimits.empty()) hc["Ulimits"] = opts_.ulimits;
  if (!opts_.extraHosts.empty()) hc["ExtraHosts"] = opts_.extraHosts;

  // RUN --mount.
  json mounts = json::array();
  json tmpfs = json::object();
  std::vector<std::unique_ptr<MountedRoot>> roots;
  auto env2 = envFromList(envFor(st));
  auto expandFn = [&](std::string_view w) -> Result<std::string> {
    return processWord(w, env2, LexOptions{.escape = df_.escape});
  };
  for (auto& raw : ins.mounts) {
    TRY_ASSIGN(MountSpec m, parseMount(raw, expandFn));
    std::string target = m.target;
    if (!target.empty() && target[0] != '/') target = normalizeWorkdir(rc.value("WorkingDir", ""), target);
    switch (m.type) {
      case MountType::Cache: {
        TRY_ASSIGN(std::string dir, b_.cacheMount(m.id.empty() ? target : m.id, m,
                                                   "cached mount " + target + " from exec " + joinArgs(cmd)));
        mounts.push_back({{"Type", "bind"}, {"Source", dir}, {"Target", target}, {"ReadOnly", m.readOnly}});
        break;
      }
      case MountType::Tmpfs:
        tmpfs[target] = m.sizeBytes > 0 ? "size=" + std::to_string(m.sizeBytes) : std::string();
        break;
      case MountType::Bind: {
        std::string rootPath = opts_.contextDir;
        int rootFd = -1;
        UniqueFd ctxFd;
        if (!m.from.empty()) {
          TRY_ASSIGN(std::string img, stageOrImage(st, m.from));
          TRY_ASSIGN(auto root, mountImage(img));
          rootPath = root->path();
          rootFd = root->fd();
          roots.push_back(std::move(root));
        } else {
          ctxFd.reset(::open(rootPath.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
          if (!ctxFd) return sysError(errno, "open {}", rootPath);
          rootFd = ctxFd.get();
        }
        TRY_ASSIGN(std::string src, container::resolveInRoot(rootFd, "/" + m.source, true));
        std::string abs = rootPath + (src == "/" ? "" : src);
        struct stat sb;
        if (::stat(abs.c_str(), &sb) != 0)
          return errorf(Code::NotFound, "failed to compute cache key: \"{}\" not found", "/" + cleanPath(m.source));
        mounts.push_back({{"Type", "bind"}, {"Source", abs}, {"Target", target}, {"ReadOnly", m.readOnly}});
        break;
      }
      case MountType::Secret:
      case MountType::Ssh:
        return errorf(Code::InvalidArgument, "RUN --mount=type={} is not supported by berth's builder",
                      mountTypeName(m.type));
    }
  }
  if (!scriptDir.empty())
    mounts.push_back({{"Type", "bind"}, {"Source", scriptDir}, {"Target", "/dev/pipes"}, {"ReadOnly", true}});
  if (!mounts.empty()) hc["Mounts"] = mounts;
  if (!tmpfs.empty()) hc["Tmpfs"] = tmpfs;
  body["HostConfig"] = hc;

  TRY_ASSIGN(auto created, b_.containers_.create(container::CreateRequest{"", body}));
  const std::string cid = created.id;
  for (auto& w : created.warnings) say(st, " ---> [Warning] " + w + "\n");
  say(st, " ---> Running in " + shortId(cid) + "\n");

  auto code = runContainer(st, cid);
  if (!code) return std::unexpected(code.error());
  if (*code != 0) {
    if (opts_.forceRm) removeContainer(st, cid);
    st.runFailed = *code;
    return errorf(Code::Internal, "The command '{}' returned a non-zero code: {}", joinArgs(cmd), *code);
  }
  // Commit the container's changes on top of the stage's image.
  TRY_ASSIGN(auto details, b_.containers_.inspect(cid, false));
  TRY_ASSIGN(auto lowers, b_.images_.layerDirs(st.imageId.empty() ? std::string() : st.imageId));
  TRY_ASSIGN(auto changes, container::computeChanges(details.paths.upper, lowers));
  std::function<Result<>(const image::ImageLayers::LayerSink&)> writer;
  if (!changes.empty())
    writer = [&](const image::ImageLayers::LayerSink& sink) -> Result<> {
      std::optional<Error> sinkErr;
      auto r = container::writeLayerTar(details.paths.upper, changes, [&](const void* d, size_t n) {
        auto w = sink(d, n);
        if (!w) sinkErr = w.error();
        return bool(w);
      });
      if (!r && sinkErr) return std::unexpected(*sinkErr);
      return r;
    };
  auto committed = commit(st, probe, cid, writer);
  if (!committed) {
    if (opts_.forceRm) removeContainer(st, cid);
    return committed;
  }
  if (opts_.rm || opts_.forceRm) removeContainer(st, cid);
  return {};
}

// ---- the builder ----

BuilderImpl::BuilderImpl(container::Service& containers, image::ImageService& images, BuilderPaths paths,
                         BuilderConfig config)
    : containers_(containers),
      images_(images),
      paths_(std::move(paths)),
      stageWorkers_(config.stageWorkers == 0 ? defaultStageWorkers() : config.stageWorkers) {
  // Read-only image mounts a crash left under build/tmp: detached first
  // (removeAll does not cross mount points).
  if (DIR* d = ::opendir(tmpDir().c_str())) {
    while (auto* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") ::umount2((tmpDir() + "/" + n).c_str(), MNT_DETACH);
    }
    ::closedir(d);
  }
  (void)removeAll(tmpDir());
  (void)mkdirAll(tmpDir(), 0700);
  (void)mkdirAll(cacheDir(), 0700);
}

Result<BuildResult> BuilderImpl::build(const BuildOptions& opts, BuildOutput& out) {
  TRY(mkdirAll(tmpDir(), 0700));
  BuildRun run(*this, opts, out);
  return run.run();
}

Result<std::string> BuilderImpl::cacheMount(const std::string& id, const MountSpec& spec,
                                            const std::string& description) {
  std::lock_guard lk(cacheMu_);
  std::string key = sha256Hex(id).substr(0, 32);
  std::string dir = cacheDir() + "/" + key;
  std::string meta = dir + ".json";
  json m = json::object();
  if (auto text = readFile(meta)) {
    try {
      m = json::parse(*text);
    } catch (...) {
      m = json::object();
    }
  }
  struct stat sb;
  if (::stat(dir.c_str(), &sb) != 0) {
    TRY(mkdirAll(cacheDir(), 0700));
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return sysError(errno, "mkdir {}", dir);
    ::chmod(dir.c_str(), spec.mode.value_or(0755));
    if (::chown(dir.c_str(), spec.uid.value_or(0), spec.gid.value_or(0)) != 0)
      return sysError(errno, "chown {}", dir);
    m = {{"ID", key}, {"CacheID", id}, {"CreatedAt", formatRfc3339Nano(nowNanos())}, {"UsageCount", 0}};
  }
  m["Description"] = description;
  m["LastUsedAt"] = formatRfc3339Nano(nowNanos());
  m["UsageCount"] = m.value("UsageCount", 0) + 1;
  TRY(writeFileReplace(meta, m.dump()));
  return dir;
}

CacheUsage BuilderImpl::usage() {
  std::lock_guard lk(cacheMu_);
  CacheUsage u;
  if (DIR* d = ::opendir(cacheDir().c_str())) {
    while (auto* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (!endsWith(n, ".json")) continue;
      std::string key = n.substr(0, n.size() - 5);
      auto text = readFile(cacheDir() + "/" + n);
      if (!text) continue;
      json m;
      try {
        m = json::parse(*text);
      } catch (...) {
        continue;
      }
      int64_t size = dirSize(cacheDir() + "/" + key);
      u.records.push_back({{"ID", key},
                           {"Parents", nullptr},
                           {"Type", "exec.cachemount"},
                           {"Description", m.value("Description", "")},
                           {"InUse", false},
                           {"Shared", false},
                           {"Size", size},
                           {"CreatedAt", m.value("CreatedAt", "")},
                           {"LastUsedAt", m.value("LastUsedAt", "")},
                           {"UsageCount", m.value("UsageCount", 0)}});
      u.size += uint64_t(size);
      u.reclaimable += uint64_t(size);
    }
    ::closedir(d);
  }
  return u;
}

Result<CachePruneReport> BuilderImpl::prune(const CachePruneOptions& opts) {
  (void)opts;
  CacheUsage u = usage();
  std::lock_guard lk(cacheMu_);
  CachePruneReport rep;
  for (auto& r : u.records) {
    std::string key = r["ID"].get<std::string>();
    TRY(removeAll(cacheDir() + "/" + key));
    ::unlink((cacheDir() + "/" + key + ".json").c_str());
    rep.cachesDeleted.push_back(key);
    rep.spaceReclaimed += r["Size"].get<uint64_t>();
  }
  return rep;
}

Result<size_t> stageWorkersFromEnv(const char* value) {
  std::string v = value ? value : "";
  if (v.empty() || v == "1" || v == "true") return size_t(0);
  if (v == "0" || v == "false") return size_t(1);
  return errorf(Code::InvalidArgument, "invalid BERTH_BUILD_PARALLEL value \"{}\": want 1 or 0", v);
}

std::unique_ptr<Builder> makeBuilder(container::Service& containers, image::ImageService& images,
                                     BuilderPaths paths, BuilderConfig config) {
  return std::make_unique<BuilderImpl>(containers, images, std::move(paths), config);
}

}  // namespace berth::build
