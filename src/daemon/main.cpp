// berthd: the composition root. Parses flags and daemon.json, builds the
// object graph, serves the Engine API until SIGTERM/SIGINT.

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "api/build_router.h"
#include "api/containers_router.h"
#include "api/events.h"
#include "api/images_router.h"
#include "api/registry_router.h"
#include "api/server.h"
#include "api/system_router.h"
#include "api/volumes_router.h"
#include "build/builder.h"
#include "build/context.h"
#include "common/log.h"
#include "common/memory.h"
#include "common/util.h"
#include "container/service.h"
#include "container/sqlite_store.h"
#include "daemon/config.h"
#include "daemon/host_facts.h"
#include "daemon/registry_backend.h"
#include "image/service.h"
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

std::string findMonitor() {
  std::string local = selfDir() + "/berth-monitor";
  if (access(local.c_str(), X_OK) == 0) return local;
  for (auto& dir : split(getenv("PATH") ? getenv("PATH") : "/usr/local/bin:/usr/bin", ':')) {
    std::string p = dir + "/berth-monitor";
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return local;
}

}  // namespace

int main(int argc, char** argv) {
  auto cfgR = daemon::parseArgs(argc, argv);
  if (!cfgR) {
    fmt::print(stderr, "berthd: {}\n", cfgR.error().message);
    return cfgR.error().code == Code::Cancelled ? 0 : 125;
  }
  const daemon::Config cfg = *cfgR;
  log::setLevel(cfg.logLevel);

  // Monitors are our children until they exit: let the kernel reap them.
  signal(SIGCHLD, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
  umask(022);

  for (auto& d : {cfg.dataRoot, cfg.execRoot, cfg.dataRoot + "/containers"})
    if (auto r = mkdirAll(d, 0711); !r) {
      log::error("{}", r.error().message);
      return 1;
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
  auto images = image::makeImageService(**db, cfg.dataRoot, [&containersPtr](const std::string& imageId) {
    return containersPtr ? containersPtr->imageUsers(imageId) : std::vector<image::ImageUser>{};
  });
  if (!images) {
    log::error("image store could not be opened");
    return 1;
  }
  registry::RegistryConfig regCfg;
  regCfg.mirrors = cfg.registryMirrors;
  regCfg.insecure = cfg.insecureRegistries;
  regCfg.maxConcurrentDownloads = cfg.maxConcurrentDownloads;
  regCfg.maxConcurrentUploads = cfg.maxConcurrentUploads;
  images->configureRegistries(regCfg);
  container::SqliteContainerStore containerStore(**db);
  container::ServiceConfig ccfg;
  ccfg.dataRoot = cfg.dataRoot;
  ccfg.execRoot = cfg.execRoot;
  ccfg.monitorBin = findMonitor();
  ccfg.cgroupParent = cfg.cgroupParent;
  volume::Service volumes(**db, cfg.dataRoot, [&containersPtr](const std::string& name) {
    return containersPtr ? containersPtr->volumeUsers(name) : std::vector<std::string>{};
  });
  ccfg.runtimes = cfg.runtimes;
  auto containers = container::makeService(ccfg, containerStore, *images, emit, &volumes);
  containersPtr = containers.get();
  if (auto r = containers->restore(); !r) log::error("restore containers: {}", r.error().message);
  if (auto r = images->garbageCollect(); !r) log::warn("image gc: {}", r.error().message);

  // The builder (issue 13): contexts are extracted under build/tmp, which a
  // crash may leave behind: emptied at every start.
  auto builder = build::makeBuilder(*containers, *images, build::BuilderPaths{cfg.dataRoot});
  build::ContextConfig ctxCfg;
  ctxCfg.tmpDir = cfg.dataRoot + "/build/tmp";
  ctxCfg.maxSize = cfg.buildContextMaxSize;
  build::removeContextLeftovers(ctxCfg.tmpDir);
  auto contexts = build::makeContextSource(ctxCfg);

  api::Router router;
  api::SystemInfo info;
  info.dataRoot = cfg.dataRoot;
  info.runtimes = cfg.runtimes;
  info.runtimes["berth"] = ccfg.monitorBin;
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
  registry::Index registryIndex([regCfg] { return regCfg; });
  daemon::IndexRegistryBackend registryBackend(registryIndex);
  api::registerRegistryRoutes(router, registryBackend);

  api::Server server(router);
  std::string sock = cfg.host;
  if (startsWith(sock, "unix://")) sock = sock.substr(7);
  if (auto r = server.listenUnix(sock); !r) {
    log::error("{}", r.error().message);
    return 1;
  }
  if (!cfg.pidfile.empty()) (void)writeFileAtomic(cfg.pidfile, std::to_string(getpid()) + "\n");
  log::info("berthd {} listening on {} (data-root {})", api::kServerVersion, sock, cfg.dataRoot);
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
      int64_t last = server.lastActivity();
      bool idle = server.activeRequests() == 0 && nowNanos() - last > 2'000'000'000LL;
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
  ::unlink(sock.c_str());
  sigThread.join();
  log::info("berthd stopped");
  return 0;
}
