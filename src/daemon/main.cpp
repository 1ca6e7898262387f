// berthd: the composition root. Parses flags and daemon.json, builds the
// object graph, serves the Engine API until SIGTERM/SIGINT.

#include <dirent.h>
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "api/build_router.h"
#include "api/check_router.h"
#include "api/containers_router.h"
#include "api/events.h"
#include "api/images_router.h"
#include "api/networks_router.h"
#include "api/registry_router.h"
#include "api/server.h"
#include "api/system_router.h"
#include "api/volumes_router.h"
#include "build/builder.h"
#include "build/context.h"
#include "common/log.h"
#include "common/memory.h"
#include "common/trace.h"
#include "common/util.h"
#include "container/log_opts.h"
#include "container/service.h"
#include "container/sqlite_store.h"
#include "daemon/config.h"
#include "daemon/cri_listener.h"
#include "daemon/host_facts.h"
#include "daemon/registry_backend.h"
#include "daemon/root_lock.h"
#include "daemon/system_check.h"
#include "image/service.h"
#include "network/service.h"
#include "registry/client.h"
#include "registry/index.h"
#include "store/database.h"

using namespace berth;

namespace {

std::string selfDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  buf[n] = 0;
  std::string p(buf);
  return p.substr(0, p.rfind('/'));
}

// A berth helper binary (berth-monitor, berth-dns): next to berthd, else on PATH.
std::string findHelper(const std::string& name) {
  std::string local = selfDir() + "/" + name;
  if (access(local.c_str(), X_OK) == 0) return local;
  for (auto& dir : split(getenv("PATH") ? getenv("PATH") : "/usr/local/bin:/usr/bin", ':')) {
    std::string p = dir + "/" + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return local;
}

// The network routes' backend: network::Service as it is.
class NetworksBackendAdapter final : public api::NetworksBackend {
 public:
  explicit NetworksBackendAdapter(network::Service& svc) : svc_(svc) {}
  Result<network::CreateResult> create(const network::CreateRequest& req) override { return svc_.create(req); }
  Result<std::vector<network::NetworkDetails>> list(const Filters& f) override { return svc_.list(f); }
  Result<network::NetworkDetails> inspect(const std::string& ref) override { return svc_.inspect(ref); }
  Result<> remove(const std::string& ref) override { return svc_.remove(ref); }
  Result<std::vector<std::string>> prune(const Filters& f) override { return svc_.prune(f); }

 private:
  network::Service& svc_;
};

// connect/disconnect of the network routes onto the container service's
// Networking role (EndpointConfig back into Docker's EndpointSettings).
class ContainerNetworkingAdapter final : public api::ContainerNetworking {
 public:
  explicit ContainerNetworkingAdapter(container::Networking& svc) : svc_(svc) {}
  Result<> connect(const std::string& containerRef, const std::string& networkRef,
                   const api::EndpointConfig& c) override {
    nlohmann::json s = nlohmann::json::object();
    if (!c.ipv4Address.empty() || !c.ipv6Address.empty() || !c.linkLocalIps.empty()) {
      s["IPAMConfig"] = {{"IPv4Address", c.ipv4Address}, {"IPv6Address", c.ipv6Address}};
      if (!c.linkLocalIps.empty()) s["IPAMConfig"]["LinkLocalIPs"] = c.linkLocalIps;
    }
    if (!c.aliases.empty()) s["Aliases"] = c.aliases;
    if (!c.links.empty()) s["Links"] = c.links;
    if (!c.macAddress.empty()) s["MacAddress"] = c.macAddress;
    if (!c.driverOpts.empty()) s["DriverOpts"] = c.driverOpts;
    if (c.gwPriority != 0) s["GwPriority"] = c.gwPriority;
    return svc_.connect(containerRef, networkRef, s);
  }
  Result<> disconnect(const std::string& containerRef, const std::string& networkRef, bool force) override {
    return svc_.disconnect(containerRef, networkRef, force);
  }

 private:
  container::Networking& svc_;
};

}  // namespace

int main(int argc, char** argv) {
  auto cfgR = daemon::parseArgs(argc, argv);
  if (!cfgR) {
    fmt::print(stderr, "berthd: {}\n", cfgR.error().message);
    return cfgR.error().code == Code::Cancelled ? 0 : 125;
  }
  const daemon::Config cfg = *cfgR;
  log::setLevel(cfg.logLevel);
  // BERTH_TRACE=1 records the start timeline (common/trace.h, docs/trace.md)
  // and serves it at GET /berth/trace/{id}; BERTH_TRACE=/path also appends
  // every span to that file.
  if (const char* t = std::getenv("BERTH_TRACE"); t && *t && std::string_view(t) != "0") {
    trace::enable("berthd");
    if (*t == '/') {
      if (auto r = trace::appendTo(t); !r) {
        fmt::print(stderr, "berthd: BERTH_TRACE: {}\n", r.error().message);
        return 125;
      }
    }
  }
  // BERTH_BUILD_PARALLEL=0 runs a build's stages one after another
  // (docs/build.md, "Parallel stages").
  auto stageWorkers = build::stageWorkersFromEnv(std::getenv("BERTH_BUILD_PARALLEL"));
  if (!stageWorkers) {
    fmt::print(stderr, "berthd: {}\n", stageWorkers.error().message);
    return 125;
  }

  // Monitors are our children until they exit: let the kernel reap them.
  signal(SIGCHLD, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
  umask(022);
  // A thread per connection would otherwise give each of the first 8 x
  // cores threads its own malloc arena (~400 kB touched each): two arenas
  // keep a hundred idle connections to a few MB (bench/tls-bench.sh).
  mallopt(M_ARENA_MAX, 2);

  for (auto& d : {cfg.dataRoot, cfg.execRoot, cfg.dataRoot + "/containers"})
    if (auto r = mkdirAll(d, 0711); !r) {
      log::error("{}", r.error().message);
      return 1;
    }
  // Each container's directory tree in a block group of its own
  // (common/util.h spreadSubdirs; docs/architecture.md "Data on disk").
  // exec-root's own subdirectories (m/: a socket per monitor) likewise.
  for (auto& d : {cfg.dataRoot + "/containers", cfg.execRoot})
    if (auto r = spreadSubdirs(d); !r) log::warn("{}", r.error().message);
  // One berthd per root: before the store, the socket or the pidfile is touched.
  auto dataLock = daemon::lockRoot(cfg.dataRoot, "data-root");
  if (!dataLock) {
    fmt::print(stderr, "berthd: {}\n", dataLock.error().message);
    return 1;
  }
  auto execLock = daemon::lockRoot(cfg.execRoot, "exec-root");
  if (!execLock) {
    fmt::print(stderr, "berthd: {}\n", execLock.error().message);
    return 1;
  }
  // The listeners' settings are checked before any state is opened.
  auto group = daemon::socketGroup(cfg.serve.group);
  if (!group) {
    fmt::print(stderr, "berthd: failed to load listeners: {}\n", group.error().message);
    return 1;
  }
  std::shared_ptr<api::TlsContext> tls;
  if (cfg.serve.tlsOn()) {
    auto t = api::TlsContext::create(api::TlsOptions{cfg.serve.tlsCaCert, cfg.serve.tlsCert, cfg.serve.tlsKey,
                                                     cfg.serve.verifyClients()});
    if (!t) {
      fmt::print(stderr, "berthd: {}\n", t.error().message);
      return 1;
    }
    tls = *t;
  }
  for (auto& h : cfg.serve.hosts) {
    if (!startsWith(h, "tcp://") || (cfg.serve.tlsOn() && cfg.serve.verifyClients())) continue;
    log::warn("Binding to IP address without --tlsverify is insecure and gives root access on this machine to "
              "everyone who has access to your network.  host=\"{}\"", h);
    log::warn("Binding to an IP address, even on localhost, can also give access to scripts run in a browser. "
              "Be safe out there!  host=\"{}\"", h);
    if (!cfg.serve.authChoiceExplicit()) {
      fmt::print(stderr,
                 "berthd: refusing to serve {} without TLS client verification: use --tlsverify with --tlscacert, "
                 "--tlscert and --tlskey, or say --tls=false (or --tlsverify=false) to serve it anyway\n",
                 h);
      return 1;
    }
  }

  auto db = store::Database::open(cfg.dataRoot + "/berth.db");
  if (!db) {
    log::error("open metadata store: {}", db.error().message);
    return 1;
  }

  api::EventBus events;
  auto emit = [&events](const std::string& type, const std::string& action, const std::string& id,
                        const nlohmann::json& attrs) { events.publish(type, action, id, attrs); };

  container::Housekeeping* containersPtr = nullptr;
  UnpackLimits unpackLimits = cfg.unpack;
  unpackLimits.fsPath = cfg.dataRoot;
  auto images = image::makeImageService(**db, cfg.dataRoot, [&containersPtr](const std::string& imageId) {
    return containersPtr ? containersPtr->imageUsers(imageId) : std::vector<image::ImageUser>{};
  }, unpackLimits);
  if (!images) {
    log::error("image store could not be opened");
    return 1;
  }
  registry::RegistryConfig regCfg;
  regCfg.mirrors = cfg.registryMirrors;
  regCfg.insecure = cfg.insecureRegistries;
  regCfg.hostsDir = cfg.registryHostsDir;
  regCfg.maxConcurrentDownloads = cfg.maxConcurrentDownloads;
  regCfg.maxConcurrentUploads = cfg.maxConcurrentUploads;
  images->configureRegistries(regCfg);
  // The CRI's image names (namespace k8s.io) over the same store.
  auto criImages = images->inNamespace(image::kCriNamespace);
  // The network service: bridges, sandboxes, the nft table. Available to
  // whoever needs it (the container service joins containers through it).
  network::Config ncfg = cfg.network;
  ncfg.dataRoot = cfg.dataRoot;
  ncfg.execRoot = cfg.execRoot;
  ncfg.dnsBin = findHelper("berth-dns");
  auto networks = network::makeService(ncfg, **db, emit);
  if (!networks) {
    log::error("network service: {}", networks.error().message);
    return 1;
  }
  container::SqliteContainerStore containerStore(**db);
  container::ServiceConfig ccfg;
  ccfg.dataRoot = cfg.dataRoot;
  ccfg.execRoot = cfg.execRoot;
  ccfg.monitorBin = findHelper("berth-monitor");
  ccfg.cgroupParent = cfg.cgroupParent;
  ccfg.warmTtl = std::chrono::seconds(cfg.warmStartTtl);
  volume::Service volumes(**db, cfg.dataRoot, [&containersPtr](const std::string& name) {
    return containersPtr ? containersPtr->volumeUsers(name) : std::vector<std::string>{};
  });
  ccfg.runtimes = cfg.runtimes;
  ccfg.unpackLimits = unpackLimits;
  ccfg.logDriver = cfg.logDriver;
  ccfg.logOpts = cfg.logOpts;
  if (auto lc = container::jsonFileLimits({{"Type", cfg.logDriver}, {"Config", cfg.logOpts}}); !lc) {
    log::error("failed to set log opts: {}", lc.error().message);
    return 1;
  }
  auto containers = container::makeService(ccfg, containerStore, *images, emit, &volumes, networks->get());
  containersPtr = containers.get();
  // Also restores the network service (the endpoints of the containers that
  // may still run; everything else goes) before any restart policy starts one.
  if (auto r = containers->restore(); !r) log::error("restore containers: {}", r.error().message);
  if (auto r = images->garbageCollect(); !r) log::warn("image gc: {}", r.error().message);
  // Start-up reconciliation (docs/crash-safety.md): nothing is in progress
  // yet, so every orphan a crash left (container dirs, unreferenced blobs,
  // temp files, snapshots, strays in cgroups, namespaces) goes now.
  daemon::SystemChecker checker(**db, cfg.dataRoot, *containers);
  if (auto found = checker.check(CheckOptions{.repair = true, .minAgeNanos = 0}); !found) {
    log::error("start-up check: {}", found.error().message);
  } else {
    for (auto& p : *found) {
      if (p.repaired) log::info("start-up check: {} {}: {}", p.kind, p.object, p.detail);
      else log::warn("start-up check: {} {}: {}", p.kind, p.object, p.detail);
    }
  }

  // The builder (issue 13): contexts are extracted under build/tmp, which a
  // crash may leave behind: emptied at every start.
  auto builder = build::makeBuilder(*containers, *images, build::BuilderPaths{cfg.dataRoot, unpackLimits},
                                    build::BuilderConfig{.stageWorkers = *stageWorkers});
  build::ContextConfig ctxCfg;
  ctxCfg.tmpDir = cfg.dataRoot + "/build/tmp";
  ctxCfg.maxSize = cfg.buildContextMaxSize;
  ctxCfg.limits = unpackLimits;
  build::removeContextLeftovers(ctxCfg.tmpDir);
  auto contexts = build::makeContextSource(ctxCfg);

  api::Router router;
  api::SystemInfo info;
  info.dataRoot = cfg.dataRoot;
  info.runtimes = cfg.runtimes;
  info.runtimes["berth"] = ccfg.monitorBin;
  info.loggingDriver = cfg.logDriver;
  info.containerCounts = [&] {
    auto c = containers->counts();
    return nlohmann::json{{"total", c.total}, {"running", c.running}, {"paused", c.paused}, {"stopped", c.stopped}};
  };
  info.imageCount = [&] {
    auto l = images->list(false, {});
    return l ? int(l->size()) : 0;
  };
  daemon::SystemHostFacts hostFacts;
  api::registerSystemRoutes(router, events, info, hostFacts);
  api::registerContainerRoutes(router, *containers, [&builder] { return api::buildCacheJson(builder->usage()); });
  api::registerBuildRoutes(router, *builder, *contexts, emit);
  api::registerImageRoutes(router, *images, emit);
  api::registerVolumeRoutes(router, volumes, emit);
  NetworksBackendAdapter networksBackend(**networks);
  ContainerNetworkingAdapter containerNetworking(*containers);
  api::registerNetworkRoutes(router, networksBackend, &containerNetworking);
  registry::Index registryIndex([regCfg] { return regCfg; });
  daemon::IndexRegistryBackend registryBackend(registryIndex);
  api::registerRegistryRoutes(router, registryBackend);
  api::registerCheckRoutes(router, checker);

  api::Server server(router, cfg.serve.limits);
  std::vector<std::string> sockets;
  for (auto& h : cfg.serve.hosts) {
    Result<> r;
    if (startsWith(h, "unix://")) {
      std::string path = h.substr(7);
      r = server.listenUnix(path, *group ? std::optional<gid_t>(**group) : std::nullopt);
      if (r) sockets.push_back(path);
    } else {
      auto port = server.listenTcp(h.substr(6), startsWith(h, "tcp://") && cfg.serve.tlsOn() ? tls : nullptr);
      if (!port) r = std::unexpected(port.error());
    }
    if (!r) {
      log::error("failed to load listeners: {}", r.error().message);
      for (auto& p : sockets) ::unlink(p.c_str());
      return 1;
    }
  }
  // The CRI front end (docs/cri.md): its socket now, its module (gRPC) on
  // the first connection.
  std::unique_ptr<daemon::CriListener> cri;
  if (cfg.cri.enabled) {
    cri::Config criCfg = cfg.cri;
    criCfg.dataRoot = cfg.dataRoot;
    criCfg.execRoot = cfg.execRoot;
    criCfg.stateDir = cfg.dataRoot + "/cri";
    criCfg.cgroupParent = cfg.cgroupParent;
    criCfg.pluginPath = selfDir() + "/berth-cri.so";
    criCfg.pauseBin = findHelper("berth-pause");
    cri::Host host{*containers, *images, networks->get(), &volumes, emit, criCfg, api::kServerVersion};
    host.criImages = criImages.get();
    cri = std::make_unique<daemon::CriListener>(host);
    if (auto r = cri->start(); !r) {
      log::error("failed to load listeners: CRI: {}", r.error().message);
      for (auto& p : sockets) ::unlink(p.c_str());
      return 1;
    }
  }
  if (!cfg.pidfile.empty()) (void)writeFileAtomic(cfg.pidfile, std::to_string(getpid()) + "\n");
  std::string hostList;
  for (auto& h : cfg.serve.hosts) hostList += (hostList.empty() ? "" : ", ") + h;
  log::info("berthd {} listening on {} (data-root {})", api::kServerVersion, hostList, cfg.dataRoot);
  events.publish("daemon", "start", "berth", nlohmann::json::object());

  std::thread sigThread([&] {
    int sig = 0;
    sigwait(&stopSignals, &sig);
    log::info("received signal {}, shutting down", sig);
    server.stop();
  });
  // Housekeeping: once idle, let go of the pages start-up and the last
  // requests touched, so an idle berthd stays small (DESIGN.md: < 8 MB RSS).
  std::mutex trimMu;
  std::condition_variable trimCv;
  bool stopping = false;
  std::thread trimmer([&] {
    int64_t trimmedAt = -1;
    std::unique_lock lk(trimMu);
    while (!trimCv.wait_for(lk, std::chrono::seconds(1), [&] { return stopping; })) {
      // Both front ends: the Engine API and, once loaded, the CRI.
      int64_t last = std::max(server.lastActivity(), cri ? cri->lastActivity() : 0);
      bool idle = server.activeRequests() == 0 && (!cri || cri->activeCalls() == 0) &&
                  nowNanos() - last > 2'000'000'000LL;
      if (idle && last != trimmedAt) {
        dropStartupPages(true);
        trimmedAt = last;
      }
    }
  });
  server.run();
  {
    std::lock_guard lk(trimMu);
    stopping = true;
  }
  trimCv.notify_all();
  trimmer.join();
  if (cri) cri->stop();
  containers->shutdown();
  // The cgroup parent goes too when no container is left in it (rmdir
  // refuses a non-empty cgroup, so running containers keep theirs).
  if (DIR* d = ::opendir("/sys/fs/cgroup")) {
    while (dirent* ent = ::readdir(d)) {
      if (ent->d_name[0] == '.') continue;
      std::string dir = std::string("/sys/fs/cgroup/") + ent->d_name + "/" + cfg.cgroupParent;
      ::rmdir(dir.c_str());
    }
    ::closedir(d);
  }
  if (!cfg.pidfile.empty()) ::unlink(cfg.pidfile.c_str());
  for (auto& p : sockets) ::unlink(p.c_str());
  sigThread.join();
  log::info("berthd stopped");
  return 0;
}
