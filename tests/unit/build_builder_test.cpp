// The builder: pure dispatch helpers (BuildDispatch*), COPY sources
// (BuildCopy*), and real builds on the real image and container services
// without HTTP (BuildIntegration*: root, berth-monitor and busybox-static
// needed; skipped otherwise).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "build/builder.h"
#include "build/copy.h"
#include "build/dispatch.h"
#include "common/sha256.h"
#include "common/util.h"
#include "container/service.h"
#include "container/sqlite_store.h"
#include "fake_http.h"
#include "image/service.h"
#include "store/database.h"

using namespace berth;
using namespace berth::build;
using fakehttp::StringBody;
using fakehttp::TempDir;
using nlohmann::json;

namespace {

void writeTo(const std::string& path, const std::string& data, int mode = 0644) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << data;
  ::chmod(path.c_str(), mode);
}

}  // namespace

// ---- pure parts ----

TEST(BuildDispatch, BuildArgsScopeAndFilter) {
  BuildArgs args({{"FOO", "opt"}, {"UNUSED", "x"}, {"HTTP_PROXY", "http://p"}});
  args.addMetaArg("BASE", "busybox");
  args.addArg("BASE", "busybox");
  BuildArgs stage = args.cloneForStage();
  // Not declared in the stage: only the predefined proxy arg is allowed.
  EXPECT_EQ(stage.filterAllowed({}), std::vector<std::string>({"HTTP_PROXY=http://p"}));
  stage.addArg("FOO", "default");
  stage.addArg("BAR", "bar");
  stage.addArg("BASE", std::nullopt);  // takes the meta ARG's value
  EXPECT_EQ(stage.value("FOO"), "opt");
  EXPECT_EQ(stage.value("BAR"), "bar");
  EXPECT_EQ(stage.value("BASE"), "busybox");
  // An ENV of the same name hides the arg.
  EXPECT_EQ(stage.filterAllowed({"BAR=env"}),
            std::vector<std::string>({"BASE=busybox", "FOO=opt", "HTTP_PROXY=http://p"}));
  // The cache form leaves the predefined arg out unless it is declared.
  auto form = prependEnvOnCmd(stage, stage.filterAllowed({}), {"/bin/sh", "-c", "echo"});
  EXPECT_EQ(form, std::vector<std::string>({"|3", "BAR=bar", "BASE=busybox", "FOO=opt", "/bin/sh", "-c", "echo"}));
  args.mergeReferenced(stage);
  EXPECT_EQ(args.unused(), std::vector<std::string>({"UNUSED"}));
  EXPECT_EQ(unusedArgsWarning(args.unused()), "[Warning] One or more build-args [UNUSED] were not consumed\n");
  EXPECT_EQ(unusedArgsWarning({}), "");
}

TEST(BuildDispatch, CommentsAndGoFormats) {
  json cfg = json::object();
  EXPECT_EQ(withCmdComment(cfg, "ENV a=b")["Cmd"], json({"/bin/sh", "-c", "#(nop) ", "ENV a=b"}));
  cfg["Shell"] = {"/bin/bash", "-c"};
  EXPECT_EQ(withCmdCommentString(cfg, "COPY file:x in / ")["Cmd"], json({"/bin/bash", "-c", "#(nop) COPY file:x in / "}));
  EXPECT_EQ(goQuoteSlice({"/bin/sh", "-c", "echo \"hi\""}), R"(["/bin/sh" "-c" "echo \"hi\""])");
  EXPECT_EQ(goSlice({"/data", "/logs"}), "[/data /logs]");
  EXPECT_EQ(goDurationString(0), "0s");
  EXPECT_EQ(goDurationString(30LL * 1000000000), "30s");
  EXPECT_EQ(goDurationString(300LL * 1000000000), "5m0s");
  EXPECT_EQ(goDurationString(3600LL * 1000000000 + 1500000000LL), "1h0m1.5s");
  EXPECT_EQ(goDurationString(1500000), "1.5ms");
  HealthcheckSpec h;
  h.test = {"CMD-SHELL", "wget -q localhost || exit 1"};
  h.intervalNs = 5LL * 1000000000;
  h.timeoutNs = 3LL * 1000000000;
  h.retries = 3;
  EXPECT_EQ(healthcheckComment(h),
            R"(HEALTHCHECK &{["CMD-SHELL" "wget -q localhost || exit 1"] "5s" "3s" "0s" "0s" '\x03'})");
  EXPECT_EQ(healthcheckJson(h), json({{"Test", h.test}, {"Interval", 5000000000LL}, {"Timeout", 3000000000LL},
                                      {"Retries", 3}}));
}

TEST(BuildDispatch, CmdEntrypointForms) {
  auto parsed = parseDockerfile("FROM scratch\nCMD echo hi\nENTRYPOINT [\"/bin/app\", \"-x\"]\nSHELL [\"/bin/bash\", \"-c\"]\nRUN ls\n");
  ASSERT_TRUE(parsed) << parsed.error().message;
  auto& cmds = parsed->stages[0].commands;
  json cfg = json::object();
  EXPECT_EQ(resolveCmdLine(cmds[0], cfg), std::vector<std::string>({"/bin/sh", "-c", "echo hi"}));
  EXPECT_EQ(resolveCmdLine(cmds[1], cfg), std::vector<std::string>({"/bin/app", "-x"}));
  cfg["Shell"] = cmds[2].cmdLine;
  EXPECT_EQ(resolveCmdLine(cmds[3], cfg), std::vector<std::string>({"/bin/bash", "-c", "ls"}));
}

TEST(BuildDispatch, CacheConfigEquality) {
  json a = {{"Cmd", {"/bin/sh", "-c", "#(nop) ", "LABEL a=b"}}, {"Env", {"PATH=/bin"}}, {"Image", "sha256:1"},
            {"Labels", {{"a", "b"}}}, {"Hostname", "x"}};
  json b = a;
  b["Image"] = "sha256:2";
  b["Hostname"] = "y";
  b["Volumes"] = nullptr;       // null = missing
  b["Entrypoint"] = json::array();  // empty = null
  EXPECT_TRUE(cacheConfigEqual(a, b));
  b["Labels"]["a"] = "c";
  EXPECT_FALSE(cacheConfigEqual(a, b));
  b = a;
  b["Env"] = {"PATH=/bin", "X=1"};
  EXPECT_FALSE(cacheConfigEqual(a, b));
  b = a;
  b["OpenStdin"] = true;
  EXPECT_FALSE(cacheConfigEqual(a, b));
}

TEST(BuildDispatch, ExposeWorkdirEnv) {
  auto k = exposedPortKeys({"80", "53/udp", "7000-7002"});
  ASSERT_TRUE(k);
  EXPECT_EQ(*k, std::vector<std::string>({"80/tcp", "53/udp", "7000/tcp", "7001/tcp", "7002/tcp"}));
  EXPECT_FALSE(exposedPortKeys({"http"}));
  EXPECT_FALSE(exposedPortKeys({"80/xyz"}));
  EXPECT_EQ(normalizeWorkdir("", "src"), "/src");
  EXPECT_EQ(normalizeWorkdir("/src", "a/../b"), "/src/b");
  EXPECT_EQ(normalizeWorkdir("/src", "/abs"), "/abs");
  json cfg = {{"Env", {"PATH=/bin", "A=1"}}};
  setEnv(cfg, "A", "2");
  setEnv(cfg, "B", "3");
  EXPECT_EQ(cfg["Env"], json({"PATH=/bin", "A=2", "B=3"}));
}

TEST(BuildCopy, SourcesGlobsAndErrors) {
  TempDir d;
  writeTo(d / "a.txt", "A");
  writeTo(d / "b.txt", "B");
  writeTo(d / "sub/c.txt", "C");
  ::symlink("sub/c.txt", (d / "link").c_str());
  ::symlink("../../../etc", (d / "escape").c_str());

  auto one = collectCopySources(d.path(), "a.txt", true, true);
  ASSERT_TRUE(one) << one.error().message;
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].rel, "a.txt");
  EXPECT_TRUE((*one)[0].hash.starts_with("file:"));

  auto glob = collectCopySources(d.path(), "*.txt", true, true);
  ASSERT_TRUE(glob);
  ASSERT_EQ(glob->size(), 2u);
  EXPECT_EQ((*glob)[0].rel, "a.txt");
  EXPECT_EQ((*glob)[1].rel, "b.txt");
  EXPECT_TRUE(sourcesHash(*glob).starts_with("multi:"));

  auto dir = collectCopySources(d.path(), "./sub/", true, true);
  ASSERT_TRUE(dir);
  EXPECT_TRUE((*dir)[0].dir);
  EXPECT_TRUE((*dir)[0].hash.starts_with("dir:"));

  auto link = collectCopySources(d.path(), "link", true, true);
  ASSERT_TRUE(link);
  EXPECT_EQ((*link)[0].rel, "sub/c.txt");

  // A link leaving the context resolves inside it (and is then missing).
  auto esc = collectCopySources(d.path(), "escape/passwd", true, true);
  ASSERT_FALSE(esc);

  auto missing = collectCopySources(d.path(), "nope.txt", true, true);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "file not found in build context or excluded by .dockerignore: stat nope.txt: file does not exist");
  auto outside = collectCopySources(d.path(), "../x", true, true);
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().message, "forbidden path outside the build context: ../x ()");
  auto none = collectCopySources(d.path(), "*.md", true, true);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, "no source files were specified");

  // The hash follows content and mode, not mtimes.
  auto h1 = hashPath(d / "a.txt", false);
  writeTo(d / "a.txt", "A");
  EXPECT_EQ(*hashPath(d / "a.txt", false), *h1);
  writeTo(d / "a.txt", "A2");
  EXPECT_NE(*hashPath(d / "a.txt", false), *h1);
  EXPECT_TRUE(goPathMatch("sub/*.txt", "sub/c.txt"));
  EXPECT_FALSE(goPathMatch("*.txt", "sub/c.txt"));
}

// ---- integration: real services ----

namespace {

struct CollectOutput : BuildOutput {
  std::string text;
  std::vector<json> auxes;
  int stopAfterRunning = -1;  // cancel when " ---> Running in" was seen this many times
  int running = 0;
  std::atomic<bool> leave{false};                  // the client went away (set by another thread)
  std::function<void(std::string_view)> onText;  // sees every text as it arrives
  bool stream(std::string_view t) override {
    text.append(t);
    if (onText) onText(t);
    if (t.find(" ---> Running in") != std::string_view::npos) running++;
    return !leave && !(stopAfterRunning >= 0 && running > stopAfterRunning);
  }
  bool aux(const json& j) override {
    auxes.push_back(j);
    return !leave;
  }
  void runFailed(int status) override { failedStatus = status; }
  bool clientGone() override { return leave; }
  int failedStatus = -1;
};

std::string exeDir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  buf[n] = 0;
  return std::filesystem::path(buf).parent_path();
}

class Env {
 public:
  static Env* get() {
    static Env* env = [] {
      auto* e = new Env();
      if (!e->init()) {
        std::fprintf(stderr, "build integration environment: %s\n", e->skipReason.c_str());
        delete e;
        return static_cast<Env*>(nullptr);
      }
      return e;
    }();
    return env;
  }
  std::string skipReason;
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<image::ImageService> images;
  std::unique_ptr<container::SqliteContainerStore> cstore;
  std::unique_ptr<container::Service> containers;
  std::unique_ptr<Builder> builder;     // stages in parallel (the default workers)
  std::unique_ptr<Builder> seqBuilder;  // stages one after another (BERTH_BUILD_PARALLEL=0)
  std::string cgroupParent;

 private:
  bool init() {
    skipReason = "not root";
    if (::geteuid() != 0) return false;
    std::string monitor = exeDir() + "/berth-monitor";
    skipReason = "no " + monitor;
    if (::access(monitor.c_str(), X_OK) != 0) return false;
    skipReason = "no /bin/busybox";
    if (::access("/bin/busybox", X_OK) != 0) return false;
    dir = std::make_unique<TempDir>();
    // __FILE__ is relative to the build directory (the parent of bin/).
    std::filesystem::path src(__FILE__);
    if (src.is_relative()) src = std::filesystem::path(exeDir()).parent_path() / src;
    std::string repo = std::filesystem::weakly_canonical(src).parent_path().parent_path().parent_path();
    std::string tar = *dir / "busybox.tar";
    std::string cmd = repo + "/scripts/mk-busybox-rootfs.sh " + tar + " >/dev/null 2>&1";
    skipReason = "mk-busybox-rootfs.sh failed";
    if (std::system(cmd.c_str()) != 0) return false;
    skipReason = "database";
    auto d = store::Database::open(*dir / "berth.db");
    if (!d) return false;
    db = std::move(*d);
    images = image::makeImageService(*db, dir->path(), [this](const std::string& id) {
      return containers ? containers->imageUsers(id) : std::vector<image::ImageUser>{};
    });
    auto text = readFile(tar);
    if (!text) return false;
    StringBody body(*text, 1 << 16);
    auto imported = images->importImage(body, "busybox:latest", {"CMD [\"sh\"]"}, "");
    skipReason = imported ? "" : "import: " + imported.error().message;
    if (!imported) return false;
    cstore = std::make_unique<container::SqliteContainerStore>(*db);
    container::ServiceConfig cfg;
    cfg.dataRoot = dir->path();
    cfg.execRoot = *dir / "exec";
    cfg.monitorBin = monitor;
    cgroupParent = "berth-buildtest-" + randomHexId().substr(0, 8);
    cfg.cgroupParent = cgroupParent;
    containers = container::makeService(cfg, *cstore, *images, [](auto&&...) {});
    builder = makeBuilder(*containers, *images, BuilderPaths{dir->path()});
    seqBuilder = makeBuilder(*containers, *images, BuilderPaths{dir->path()}, BuilderConfig{.stageWorkers = 1});
    std::atexit([] {
      Env* e = Env::get();
      if (!e) return;
      e->containers->shutdown();
      for (auto& ctl : std::filesystem::directory_iterator("/sys/fs/cgroup")) {
        std::error_code ec;
        std::filesystem::path p = ctl.path() / e->cgroupParent;
        if (std::filesystem::exists(p, ec)) ::rmdir(p.c_str());
      }
      e->builder.reset();
      e->seqBuilder.reset();
      e->containers.reset();
      e->cstore.reset();
      e->images.reset();
      e->db.reset();
      e->dir.reset();  // removes the data root (removeAll does not cross mounts)
    });
    return true;
  }
};

struct Built {
  Result<BuildResult> result;
  std::string text;
};

Built runBuild(const std::string& context, BuildOptions opts, CollectOutput* out = nullptr, Builder* with = nullptr) {
  CollectOutput local;
  CollectOutput& o = out ? *out : local;
  opts.contextDir = context;
  auto r = (with ? with : Env::get()->builder.get())->build(opts, o);
  if (std::getenv("BUILD_TEST_VERBOSE")) {
    std::printf("%s", o.text.c_str());
    if (!r) std::printf("ERROR: %s\n", r.error().message.c_str());
  }
  return {std::move(r), o.text};
}

#define NEED_ENV()                                                                   \
  if (!Env::get()) GTEST_SKIP() << "needs root, build/bin/berth-monitor and busybox-static"

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) n++;
  return n;
}

std::string fileInImage(const std::string& imageId, const std::string& path) {
  auto dirs = Env::get()->images->layerDirs(imageId);
  if (!dirs) return "<no layers>";
  for (auto& d : *dirs) {
    struct stat st;
    if (::lstat((d + "/" + path).c_str(), &st) == 0) {
      auto t = readFile(d + "/" + path);
      return t ? *t : "<unreadable>";
    }
  }
  return "<missing>";
}

}  // namespace

TEST(BuildIntegration, SeedExampleCachedAndChanged) {
  NEED_ENV();
  TempDir ctx;
  writeTo(ctx / "Dockerfile",
          "FROM busybox\n"
          "LABEL maintainer=\"dev@example.com\"\n"
          "RUN echo building > /built.txt\n"
          "COPY . /src\n"
          "WORKDIR /src\n"
          "RUN cat app.sh > /copied.txt && echo done\n"
          "EXPOSE 8080\n"
          "ENTRYPOINT [\"sh\", \"/src/app.sh\"]\n");
  writeTo(ctx / "app.sh", "echo hello\n", 0755);
  BuildOptions opts;
  opts.tags = {"seed:1"};
  auto t0 = std::chrono::steady_clock::now();
  auto first = runBuild(ctx.path(), opts);
  auto cold = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(first.result) << first.result.error().message << "\n" << first.text;
  EXPECT_NE(first.text.find("Step 1/8 : FROM busybox\n"), std::string::npos) << first.text;
  EXPECT_NE(first.text.find("Step 3/8 : RUN echo building > /built.txt\n ---> Running in "), std::string::npos);
  EXPECT_NE(first.text.find("\ndone\nRemoving intermediate container "), std::string::npos) << first.text;
  EXPECT_NE(first.text.find("Successfully built " + first.result->imageId.substr(7, 12) + "\n"), std::string::npos);
  EXPECT_NE(first.text.find("Successfully tagged seed:1\n"), std::string::npos);
  EXPECT_EQ(count(first.text, "Using cache"), 0u);

  auto rec = Env::get()->images->resolve("seed:1");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->id, first.result->imageId);
  const json& c = rec->config["config"];
  EXPECT_EQ(c["Entrypoint"], json({"sh", "/src/app.sh"}));
  EXPECT_TRUE(c["Cmd"].is_null());  // ENTRYPOINT resets the base image's CMD
  EXPECT_EQ(c["WorkingDir"], "/src");
  EXPECT_EQ(c["Labels"]["maintainer"], "dev@example.com");
  EXPECT_TRUE(c["ExposedPorts"].contains("8080/tcp"));
  EXPECT_EQ(fileInImage(rec->id, "built.txt"), "building\n");
  EXPECT_EQ(fileInImage(rec->id, "copied.txt"), "echo hello\n");
  EXPECT_EQ(fileInImage(rec->id, "src/app.sh"), "echo hello\n");
  // History: the steps with their CreatedBy, metadata steps as empty layers.
  auto hist = Env::get()->images->history("seed:1");
  ASSERT_TRUE(hist);
  ASSERT_GE(hist->size(), 8u);
  EXPECT_EQ((*hist)[0].createdBy, "/bin/sh -c #(nop)  ENTRYPOINT [\"sh\" \"/src/app.sh\"]");
  EXPECT_EQ((*hist)[1].createdBy, "/bin/sh -c #(nop)  EXPOSE 8080");
  EXPECT_EQ((*hist)[2].createdBy, "/bin/sh -c cat app.sh > /copied.txt && echo done");
  EXPECT_EQ((*hist)[3].createdBy, "/bin/sh -c #(nop) WORKDIR /src");
  EXPECT_TRUE((*hist)[4].createdBy.starts_with("/bin/sh -c #(nop) COPY dir:")) << (*hist)[4].createdBy;
  EXPECT_TRUE((*hist)[4].createdBy.ends_with(" in /src ")) << (*hist)[4].createdBy;
  EXPECT_EQ((*hist)[6].createdBy, "/bin/sh -c #(nop)  LABEL maintainer=dev@example.com");
  EXPECT_NE((*hist)[1].id, (*hist)[2].id);  // each step is its own (dangling) parent image

  // Fully cached rebuild: the same id, no container started.
  t0 = std::chrono::steady_clock::now();
  auto again = runBuild(ctx.path(), opts);
  auto cached = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(again.result) << again.result.error().message;
  EXPECT_EQ(again.result->imageId, first.result->imageId);
  EXPECT_EQ(count(again.text, " ---> Using cache\n"), 7u) << again.text;
  EXPECT_EQ(count(again.text, "Running in"), 0u);
  std::printf("[ measure ] seed build cold %.1f ms, fully cached rebuild %.2f ms\n",
              std::chrono::duration<double, std::milli>(cold).count(),
              std::chrono::duration<double, std::milli>(cached).count());

  // A changed file re-runs from its COPY on.
  writeTo(ctx / "app.sh", "echo changed\n", 0755);
  auto changed = runBuild(ctx.path(), opts);
  ASSERT_TRUE(changed.result) << changed.result.error().message;
  EXPECT_NE(changed.result->imageId, first.result->imageId);
  EXPECT_EQ(count(changed.text, " ---> Using cache\n"), 2u) << changed.text;
  EXPECT_EQ(fileInImage(changed.result->imageId, "copied.txt"), "echo changed\n");
  // noCache rebuilds everything.
  BuildOptions nc = opts;
  nc.noCache = true;
  auto fresh = runBuild(ctx.path(), nc);
  ASSERT_TRUE(fresh.result);
  EXPECT_EQ(count(fresh.text, "Using cache"), 0u);
}

TEST(BuildIntegration, EightStepCachedRebuildTiming) {
  NEED_ENV();
  TempDir ctx;
  writeTo(ctx / "Dockerfile",
          "FROM busybox\nENV A=1\nLABEL x=y\nRUN echo one > /one\nCOPY f /f\nWORKDIR /w\nRUN echo two > two\n"
          "CMD [\"cat\", \"/one\"]\n");
  writeTo(ctx / "f", "file");
  BuildOptions opts;
  auto first = runBuild(ctx.path(), opts);
  ASSERT_TRUE(first.result) << first.result.error().message << first.text;
  std::vector<double> ms;
  for (int i = 0; i < 10; i++) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = runBuild(ctx.path(), opts);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ASSERT_TRUE(r.result);
    ASSERT_EQ(r.result->imageId, first.result->imageId);
    ASSERT_EQ(count(r.text, "Using cache"), 7u);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("[ measure ] 8-step fully cached rebuild in the builder: median %.2f ms (min %.2f, max %.2f)\n", ms[5],
              ms[0], ms[9]);
  EXPECT_LT(ms[5], 150.0);
}

TEST(BuildIntegration, ColdFiveRuns) {
  NEED_ENV();
  TempDir ctx;
  writeTo(ctx / "Dockerfile",
          "FROM busybox\nRUN echo 1 > /1\nRUN echo 2 > /2\nRUN echo 3 > /3\nRUN echo 4 > /4\nRUN echo 5 > /5\n");
  BuildOptions opts;
  opts.noCache = true;
  auto t0 = std::chrono::steady_clock::now();
  auto r = runBuild(ctx.path(), opts);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r.result) << r.result.error().message << r.text;
  EXPECT_EQ(count(r.text, "Removing intermediate container"), 5u);
  EXPECT_EQ(fileInImage(r.result->imageId, "5"), "5\n");
  std::printf("[ measure ] cold FROM busybox + 5 RUNs: %.1f ms\n", ms);
}

TEST(BuildIntegration, FailedRunKeepsOrRemovesContainer) {
  NEED_ENV();
  TempDir ctx;
  writeTo(ctx / "Dockerfile", "FROM busybox\nRUN echo failing && exit 3\n");
  BuildOptions opts;
  auto before = Env::get()->containers->list({.all = true});
  CollectOutput failOut;
  auto r = runBuild(ctx.path(), opts, &failOut);
  ASSERT_FALSE(r.result);
  EXPECT_EQ(r.result.error().message, "The command '/bin/sh -c echo failing && exit 3' returned a non-zero code: 3");
  EXPECT_EQ(failOut.failedStatus, 3);
  EXPECT_NE(r.text.find("failing\n"), std::string::npos);
  auto after = Env::get()->containers->list({.all = true});
  ASSERT_TRUE(before && after);
  EXPECT_EQ(after->size(), before->size() + 1);  // kept, as the classic builder keeps it
  for (auto& c : *after) (void)Env::get()->containers->remove(c.record.id, true, true);
  opts.forceRm = true;
  r = runBuild(ctx.path(), opts);
  ASSERT_FALSE(r.result);
  EXPECT_NE(r.text.find("Removing intermediate container"), std::string::npos);
  auto last = Env::get()->containers->list({.all = true});
  ASSERT_TRUE(last);
  EXPECT_EQ(last->size(), 0u);
}

TEST(BuildIntegration, CancelKillsRunContainer) {
  NEED_ENV();
  TempDir ctx;
  writeTo(ctx / "Dockerfile", "FROM busybox\nRUN echo start; sleep 30\n");
  BuildOptions opts;
  opts.tags = {"cancelled:1"};
  CollectOutput out;
  out.stopAfterRunning = 0;
  auto t0 = std::chrono::steady_clock::now();
  auto r = runBuild(ctx.path(), opts, &out);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(r.result);
  EXPECT_EQ(r.result.error().code, Code::Cancelled);
  EXPECT_LT(s, 10.0);
  EXPECT_FALSE(Env::get()->images->resolve("cancelled:1"));
  auto all = Env::get()->containers->list({.all = true});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 0u);
}

TEST(BuildIntegration, MultiStageArgsOnbuildHealthcheck) {
  NEED_ENV();
  TempDir ctx;
  writeTo(ctx / "Dockerfile",
          "ARG BASE=busybox\n"
          "FROM ${BASE} AS build\n"
          "ARG MSG=default\n"
          "RUN echo $MSG > /msg\n"
          "FROM busybox AS unused\n"
          "RUN exit 1\n"
          "FROM ${BASE}\n"
          "COPY --from=build /msg /from-build\n"
          "COPY --from=0 /msg /from-index\n"
          "HEALTHCHECK --interval=5s --retries=2 CMD true\n"
          "ONBUILD RUN echo triggered > /trigger\n");
  BuildOptions opts;
  opts.buildArgs = {{"MSG", "hello"}, {"NOPE", "x"}};
  opts.tags = {"multi:1"};
  opts.labels = {{"built.by", "test"}};
  auto r = runBuild(ctx.path(), opts);
  ASSERT_TRUE(r.result) << r.result.error().message << "\n" << r.text;
  EXPECT_EQ(r.text.find("RUN exit 1"), std::string::npos);  // the unused stage is skipped
  EXPECT_NE(r.text.find("[Warning] One or more build-args [NOPE] were not consumed\n"), std::string::npos);
  EXPECT_EQ(fileInImage(r.result->imageId, "from-build"), "hello\n");
  EXPECT_EQ(fileInImage(r.result->imageId, "from-index"), "hello\n");
  auto rec = Env::get()->images->resolve("multi:1");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->config["config"]["Healthcheck"]["Test"], json({"CMD-SHELL", "true"}));
  EXPECT_EQ(rec->config["config"]["Healthcheck"]["Interval"], 5000000000LL);
  EXPECT_EQ(rec->config["config"]["OnBuild"], json({"RUN echo triggered > /trigger"}));
  EXPECT_EQ(rec->config["config"]["Labels"]["built.by"], "test");
  // Two aux IDs: one per built stage.
  // A child build runs the trigger.
  TempDir child;
  writeTo(child / "Dockerfile", "FROM multi:1\nRUN cat /trigger\n");
  auto c = runBuild(child.path(), BuildOptions{});
  ASSERT_TRUE(c.result) << c.result.error().message << "\n" << c.text;
  EXPECT_NE(c.text.find("# Executing 1 build trigger\n"), std::string::npos) << c.text;
  EXPECT_EQ(fileInImage(c.result->imageId, "trigger"), "triggered\n");
  auto crec = Env::get()->images->resolve(c.result->imageId);
  EXPECT_TRUE(crec->config["config"]["OnBuild"].is_null());
  // --target stops at the stage.
  BuildOptions t;
  t.target = "build";
  t.buildArgs = {{"MSG", "target"}};
  auto tr = runBuild(ctx.path(), t);
  ASSERT_TRUE(tr.result) << tr.result.error().message;
  EXPECT_EQ(fileInImage(tr.result->imageId, "msg"), "target\n");
  t.target = "nope";
  auto bad = runBuild(ctx.path(), t);
  ASSERT_FALSE(bad.result);
  EXPECT_EQ(bad.result.error().message, "failed to reach build target nope in Dockerfile");
}

TEST(BuildIntegration, CopyAddSemantics) {
  NEED_ENV();
  TempDir ctx;
  writeTo(ctx / "files/a.txt", "a");
  writeTo(ctx / "files/sub/b.txt", "b");
  writeTo(ctx / "one.conf", "conf", 0600);
  // A gzip tar to extract.
  TempDir t;
  writeTo(t / "pkg/inside.txt", "inside");
  ASSERT_EQ(std::system(("tar -C " + t.path() + " -czf " + (ctx / "pkg.tar.gz") + " pkg").c_str()), 0);
  writeTo(ctx / "Dockerfile",
          "FROM busybox\n"
          "COPY files /dst\n"
          "COPY files/*.txt /glob/\n"
          "COPY one.conf /etc/\n"
          "COPY one.conf /renamed.conf\n"
          "COPY --chown=1000:1000 --chmod=640 one.conf /owned\n"
          "ADD pkg.tar.gz /opt/\n"
          "COPY <<EOF /heredoc.txt\nhello from heredoc\nEOF\n"
          "RUN <<EOF\necho script ran > /script.txt\nEOF\n"
          "RUN stat -c '%u:%g %a' /owned > /owned.txt && stat -c '%a' /etc/one.conf > /mode.txt\n");
  auto r = runBuild(ctx.path(), BuildOptions{});
  ASSERT_TRUE(r.result) << r.result.error().message << "\n" << r.text;
  const std::string& id = r.result->imageId;
  EXPECT_EQ(fileInImage(id, "dst/a.txt"), "a");
  EXPECT_EQ(fileInImage(id, "dst/sub/b.txt"), "b");
  EXPECT_EQ(fileInImage(id, "glob/a.txt"), "a");
  EXPECT_EQ(fileInImage(id, "etc/one.conf"), "conf");
  EXPECT_EQ(fileInImage(id, "etc/passwd").substr(0, 5), "root:");  // /etc kept
  EXPECT_EQ(fileInImage(id, "renamed.conf"), "conf");
  EXPECT_EQ(fileInImage(id, "opt/pkg/inside.txt"), "inside");
  EXPECT_EQ(fileInImage(id, "heredoc.txt"), "hello from heredoc\n");
  EXPECT_EQ(fileInImage(id, "script.txt"), "script ran\n");
  EXPECT_EQ(fileInImage(id, "owned.txt"), "1000:1000 640\n");
  EXPECT_EQ(fileInImage(id, "mode.txt"), "600\n");

  writeTo(ctx / "Dockerfile", "FROM busybox\nCOPY missing.txt /\n");
  auto m = runBuild(ctx.path(), BuildOptions{});
  ASSERT_FALSE(m.result);
  EXPECT_EQ(m.result.error().message,
            "COPY failed: file not found in build context or excluded by .dockerignore: stat missing.txt: file does not "
            "exist");
  writeTo(ctx / "Dockerfile", "FROM busybox\nCOPY one.conf files/a.txt /notadir\n");
  auto multi = runBuild(ctx.path(), BuildOptions{});
  ASSERT_FALSE(multi.result);
  EXPECT_EQ(multi.result.error().message,
            "When using COPY with more than one source file, the destination must be a directory and end with a /");
  writeTo(ctx / "Dockerfile", "FROM busybox\nFROOM x\n");
  auto parse = runBuild(ctx.path(), BuildOptions{});
  ASSERT_FALSE(parse.result);
  EXPECT_EQ(parse.result.error().message, "dockerfile parse error on line 2: unknown instruction: FROOM (did you mean FROM?)");
}

TEST(BuildIntegration, CacheMountKeepsFilesAndNetworkNone) {
  NEED_ENV();
  TempDir ctx;
  writeTo(ctx / "Dockerfile",
          "FROM busybox\n"
          "RUN --mount=type=cache,target=/cache echo run >> /cache/log && wc -l < /cache/log > /count\n"
          "RUN --mount=type=bind,source=data.txt,target=/mnt/data.txt cat /mnt/data.txt > /bound\n"
          "RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls /scratch > /tmpfs.txt\n");
  writeTo(ctx / "data.txt", "bound data\n");
  BuildOptions opts;
  opts.noCache = true;
  opts.networkMode = "none";
  auto r1 = runBuild(ctx.path(), opts);
  ASSERT_TRUE(r1.result) << r1.result.error().message << "\n" << r1.text;
  auto r2 = runBuild(ctx.path(), opts);
  ASSERT_TRUE(r2.result) << r2.result.error().message;
  EXPECT_EQ(fileInImage(r2.result->imageId, "bound"), "bound data\n");
  EXPECT_EQ(fileInImage(r2.result->imageId, "tmpfs.txt"), "x\n");
  int c1 = std::stoi(fileInImage(r1.result->imageId, "count"));
  EXPECT_EQ(std::stoi(fileInImage(r2.result->imageId, "count")), c1 + 1);
  EXPECT_EQ(fileInImage(r2.result->imageId, "cache/log"), "<missing>");  // the cache is not in the image
  auto usage = Env::get()->builder->usage();
  EXPECT_GE(usage.records.size(), 1u);
  EXPECT_GT(usage.size, 0u);
  auto pr = Env::get()->builder->prune({});
  ASSERT_TRUE(pr);
  EXPECT_GE(pr->cachesDeleted.size(), 1u);
  EXPECT_EQ(Env::get()->builder->usage().records.size(), 0u);
}

namespace {

// A one-file HTTP server on 127.0.0.1 (port 0) for ADD <url>.
class TinyHttp {
 public:
  explicit TinyHttp(std::string body) : body_(std::move(body)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 8);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        char buf[4096];
        std::string req;
        while (req.find("\r\n\r\n") == std::string::npos) {
          ssize_t n = ::read(c, buf, sizeof buf);
          if (n <= 0) break;
          req.append(buf, size_t(n));
        }
        std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body_.size()) +
                           "\r\nConnection: close\r\n\r\n" + body_;
        (void)!::write(c, resp.data(), resp.size());
        ::close(c);
      }
    });
  }
  ~TinyHttp() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  std::string body_;
  int fd_ = -1, port_ = 0;
  std::thread thread_;
};

}  // namespace

TEST(BuildIntegration, AddUrlQuietAndCacheFrom) {
  NEED_ENV();
  TinyHttp http("downloaded content\n");
  TempDir ctx;
  std::string url = "http://127.0.0.1:" + std::to_string(http.port()) + "/files/remote.txt";
  writeTo(ctx / "Dockerfile", "FROM busybox\nADD " + url + " /dl/\nRUN stat -c '%a' /dl/remote.txt > /mode\n");
  BuildOptions opts;
  opts.quiet = true;
  CollectOutput out;
  auto r = runBuild(ctx.path(), opts, &out);
  ASSERT_TRUE(r.result) << r.result.error().message;
  EXPECT_EQ(fileInImage(r.result->imageId, "dl/remote.txt"), "downloaded content\n");
  EXPECT_EQ(fileInImage(r.result->imageId, "mode"), "600\n");
  // Quiet: only the image id is streamed.
  EXPECT_EQ(out.text, r.result->imageId + "\n");
  ASSERT_FALSE(out.auxes.empty());
  EXPECT_EQ(out.auxes.back(), json({{"ID", r.result->imageId}}));
  // The same download is a cache hit.
  opts.quiet = false;
  auto again = runBuild(ctx.path(), opts);
  ASSERT_TRUE(again.result);
  EXPECT_EQ(again.result->imageId, r.result->imageId);
  // cacheFrom: local candidates count only when they are ancestors of a cacheFrom image.
  opts.cacheFrom = {"busybox:latest"};
  auto limited = runBuild(ctx.path(), opts);
  ASSERT_TRUE(limited.result);
  EXPECT_EQ(count(limited.text, "Using cache"), 0u);
  opts.cacheFrom = {r.result->imageId};
  auto from = runBuild(ctx.path(), opts);
  ASSERT_TRUE(from.result);
  EXPECT_EQ(from.result->imageId, r.result->imageId);
}

// The image service's additions the builder uses: children() and a
// config-only commit (no writer) that keeps the parent's layers.
TEST(BuildImageStore, ChildrenAndConfigOnlyCommit) {
  TempDir dir;
  auto db = store::Database::open(dir / "berth.db");
  ASSERT_TRUE(db);
  auto images = image::makeImageService(**db, dir.path(), [](const std::string&) {
    return std::vector<image::ImageUser>{};
  });
  std::string tar = fakehttp::TarBuilder().dir("bin").file("bin/sh", "#!sh", 0755).str();
  StringBody body(tar, 1000);
  auto base = images->importImage(body, "base:1", {}, "");
  ASSERT_TRUE(base) << base.error().message;
  auto baseRec = images->resolve(*base);
  ASSERT_TRUE(baseRec);

  json cfg = baseRec->config;
  cfg["config"]["Labels"] = {{"a", "b"}};
  cfg["container_config"] = {{"Cmd", {"/bin/sh", "-c", "#(nop) ", "LABEL a=b"}}};
  cfg["history"].push_back({{"created_by", "/bin/sh -c #(nop)  LABEL a=b"}, {"empty_layer", true}});
  auto child = images->commitLayer(*base, cfg, "", nullptr);
  ASSERT_TRUE(child) << child.error().message;
  auto rec = images->resolve(*child);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->lowerDirs, baseRec->lowerDirs);  // no new layer
  EXPECT_EQ(rec->config["rootfs"]["diff_ids"], baseRec->config["rootfs"]["diff_ids"]);
  auto detail = images->inspect(*child);
  ASSERT_TRUE(detail);
  EXPECT_EQ(detail->parent, *base);
  auto hist = images->history(*child);
  ASSERT_TRUE(hist);
  ASSERT_EQ(hist->size(), 2u);
  EXPECT_EQ((*hist)[0].size, 0);
  EXPECT_EQ((*hist)[0].id, *child);
  EXPECT_EQ((*hist)[1].id, *base);

  auto kids = images->children(*base);
  ASSERT_TRUE(kids);
  ASSERT_EQ(kids->size(), 1u);
  EXPECT_EQ((*kids)[0].id, *child);
  EXPECT_EQ((*kids)[0].config["container_config"]["Cmd"][3], "LABEL a=b");
  auto roots = images->children("");
  ASSERT_TRUE(roots);
  ASSERT_EQ(roots->size(), 1u);
  EXPECT_EQ((*roots)[0].id, *base);
  EXPECT_TRUE(images->children(*child)->empty());
  // Both images are listed with all=true.
  auto all = images->list(true, {});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u);
}

TEST(BuildIntegration, MissingImagesArePulledFromLoopbackOnly) {
  NEED_ENV();
  TempDir ctx;
  writeTo(ctx / "Dockerfile", "FROM 127.0.0.1:9/none:x\nRUN true\n");
  auto r = runBuild(ctx.path(), BuildOptions{});
  ASSERT_FALSE(r.result);
  EXPECT_NE(r.result.error().message.find("127.0.0.1:9"), std::string::npos) << r.result.error().message;
  EXPECT_EQ(r.text.find("Step 2/2"), std::string::npos);
  // COPY --from= a name that is no stage is an image, pulled as well.
  writeTo(ctx / "Dockerfile", "FROM busybox\nCOPY --from=127.0.0.1:9/none:x /x /x\n");
  auto c = runBuild(ctx.path(), BuildOptions{});
  ASSERT_FALSE(c.result);
  EXPECT_NE(c.result.error().message.find("127.0.0.1:9"), std::string::npos) << c.result.error().message;
}

TEST(BuildIntegration, FromScratch) {
  NEED_ENV();
  TempDir ctx;
  writeTo(ctx / "hello.txt", "hi\n");
  writeTo(ctx / "Dockerfile", "FROM scratch\nCOPY hello.txt /data/\nENV A=1\nCMD [\"/x\"]\n");
  auto r = runBuild(ctx.path(), BuildOptions{});
  ASSERT_TRUE(r.result) << r.result.error().message << "\n" << r.text;
  EXPECT_NE(r.text.find("Step 1/4 : FROM scratch\n ---> \n"), std::string::npos) << r.text;
  EXPECT_EQ(fileInImage(r.result->imageId, "data/hello.txt"), "hi\n");
  auto rec = Env::get()->images->resolve(r.result->imageId);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->lowerDirs.size(), 1u);
  EXPECT_EQ(rec->config["config"]["Env"], json({"A=1"}));
  // Cached the second time, FROM scratch's candidates being the images without a parent.
  auto again = runBuild(ctx.path(), BuildOptions{});
  ASSERT_TRUE(again.result);
  EXPECT_EQ(again.result->imageId, r.result->imageId);
  EXPECT_EQ(count(again.text, "Using cache"), 3u);
}

// ---- parallel stages ----

namespace {

double uptimeIn(const std::string& imageId, const std::string& path) {
  std::string t = fileInImage(imageId, path);
  try {
    return std::stod(t);
  } catch (...) {
    ADD_FAILURE() << path << ": " << t;
    return 0;
  }
}

// The positions of "Step 1/M", "Step 2/M" ... in the text, in step order.
std::vector<size_t> stepPositions(const std::string& text, size_t total) {
  std::vector<size_t> pos;
  for (size_t k = 1; k <= total; k++) pos.push_back(text.find("Step " + std::to_string(k) + "/" + std::to_string(total) + " :"));
  return pos;
}

// The host directory of the RUN --mount=type=cache with this id.
std::string cacheDirOf(const std::string& id) {
  return Env::get()->dir->path() + "/build/cache/" + sha256Hex(id).substr(0, 32);
}

size_t runningContainers() {
  auto l = Env::get()->containers->list({});
  return l ? l->size() : 0;
}

}  // namespace

TEST(BuildParallel, IndependentStagesOverlapAndIdsMatchSequential) {
  NEED_ENV();
  TempDir ctx;
  // Each stage records /proc/uptime (the host's clock, 10 ms steps) before
  // and after a one-second sleep; overlapping intervals prove concurrency
  // without a timing threshold.
  writeTo(ctx / "Dockerfile",
          "FROM busybox AS a\n"
          "RUN cut -d' ' -f1 /proc/uptime > /start; sleep 1; cut -d' ' -f1 /proc/uptime > /end; echo a\n"
          "FROM busybox AS b\n"
          "RUN cut -d' ' -f1 /proc/uptime > /start; sleep 1; cut -d' ' -f1 /proc/uptime > /end; echo b\n"
          "FROM busybox\n"
          "COPY --from=a /start /a.start\n"
          "COPY --from=a /end /a.end\n"
          "COPY --from=b /start /b.start\n"
          "COPY --from=b /end /b.end\n");
  BuildOptions cold;
  cold.noCache = true;
  CollectOutput out;
  auto par = runBuild(ctx.path(), cold, &out);
  ASSERT_TRUE(par.result) << par.result.error().message << "\n" << par.text;
  const std::string p = par.result->imageId;
  double as = uptimeIn(p, "a.start"), ae = uptimeIn(p, "a.end"), bs = uptimeIn(p, "b.start"), be = uptimeIn(p, "b.end");
  EXPECT_LT(as, be) << as << "-" << ae << " vs " << bs << "-" << be;
  EXPECT_LT(bs, ae) << as << "-" << ae << " vs " << bs << "-" << be;
  // The output is the sequential one's shape: steps in order, one stage after the other.
  auto pos = stepPositions(par.text, 9);
  for (size_t k = 0; k < pos.size(); k++) {
    ASSERT_NE(pos[k], std::string::npos) << "Step " << k + 1 << "\n" << par.text;
    if (k) EXPECT_LT(pos[k - 1], pos[k]) << par.text;
  }
  ASSERT_EQ(out.auxes.size(), 3u);
  EXPECT_EQ(out.auxes[2]["ID"], p);

  // Sequential rebuild: fully cached, the same id.
  auto seq = runBuild(ctx.path(), BuildOptions{}, nullptr, Env::get()->seqBuilder.get());
  ASSERT_TRUE(seq.result) << seq.result.error().message;
  EXPECT_EQ(seq.result->imageId, p);
  EXPECT_EQ(count(seq.text, " ---> Using cache\n"), 6u) << seq.text;

  // Sequential cold build: no overlap; the parallel rebuild of it is fully
  // cached with its id.
  auto seqCold = runBuild(ctx.path(), cold, nullptr, Env::get()->seqBuilder.get());
  ASSERT_TRUE(seqCold.result) << seqCold.result.error().message;
  const std::string s = seqCold.result->imageId;
  EXPECT_NE(s, p);
  EXPECT_LE(uptimeIn(s, "a.end"), uptimeIn(s, "b.start"));
  auto parAgain = runBuild(ctx.path(), BuildOptions{});
  ASSERT_TRUE(parAgain.result) << parAgain.result.error().message;
  EXPECT_EQ(parAgain.result->imageId, s);
  EXPECT_EQ(count(parAgain.text, " ---> Using cache\n"), 6u) << parAgain.text;
  // Same text, step for step, whichever way a cached build ran (ids aside).
  auto seqAgain = runBuild(ctx.path(), BuildOptions{}, nullptr, Env::get()->seqBuilder.get());
  ASSERT_TRUE(seqAgain.result);
  EXPECT_EQ(parAgain.text, seqAgain.text);
}

TEST(BuildParallel, IdenticalStepsInTwoStagesRunOnceAsInASequentialBuild) {
  NEED_ENV();
  TempDir ctx;
  // A sequential build runs the step in the first stage and takes it from
  // the cache in the second; running at once, the second waits for the
  // first's commit and does the same.
  const std::string token = randomHexId().substr(0, 12);
  writeTo(ctx / "Dockerfile",
          "FROM busybox AS a\nRUN echo " + token + " > /t; sleep 1\n"
          "FROM busybox AS b\nRUN echo " + token + " > /t; sleep 1\n"
          "FROM busybox\nCOPY --from=a /t /a\nCOPY --from=b /t /b\n");
  CollectOutput out;
  auto r = runBuild(ctx.path(), BuildOptions{}, &out);
  ASSERT_TRUE(r.result) << r.result.error().message << "\n" << r.text;
  EXPECT_EQ(count(r.text, " ---> Running in "), 1u) << r.text;
  EXPECT_EQ(count(r.text, " ---> Using cache\n"), 1u) << r.text;
  ASSERT_EQ(out.auxes.size(), 3u);
  EXPECT_EQ(out.auxes[0]["ID"], out.auxes[1]["ID"]);
  auto seq = runBuild(ctx.path(), BuildOptions{}, nullptr, Env::get()->seqBuilder.get());
  ASSERT_TRUE(seq.result);
  EXPECT_EQ(seq.result->imageId, r.result->imageId);
  EXPECT_EQ(count(seq.text, " ---> Using cache\n"), 4u) << seq.text;
}

TEST(BuildParallel, FirstStageStreamsLiveLaterStagesInOrder) {
  NEED_ENV();
  TempDir ctx;
  const std::string id = "live-" + randomHexId().substr(0, 12);
  // Stage a's RUN only ends when /sync/go exists, which this client creates
  // when it sees a's output: it finishes only if its output is streamed live.
  writeTo(ctx / "Dockerfile",
          "FROM busybox AS a\n"
          "RUN --mount=type=cache,id=" + id + ",target=/sync echo a-live; i=0; "
          "while [ ! -e /sync/go ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; "
          "test -e /sync/go && echo a-released > /a\n"
          "FROM busybox AS b\n"
          "RUN echo b-out > /b; echo b-out\n"
          "FROM busybox\n"
          "COPY --from=a /a /a\n"
          "COPY --from=b /b /b\n");
  CollectOutput out;
  out.onText = [&](std::string_view t) {
    if (t.find("a-live") != std::string_view::npos) writeTo(cacheDirOf(id) + "/go", "");
  };
  BuildOptions opts;
  opts.noCache = true;
  auto r = runBuild(ctx.path(), opts, &out);
  ASSERT_TRUE(r.result) << r.result.error().message << "\n" << r.text;
  EXPECT_EQ(fileInImage(r.result->imageId, "a"), "a-released\n");
  // b's block (its step line and output) comes after a's whole block.
  size_t aEnd = r.text.find("Step 3/7 : FROM busybox AS b");
  ASSERT_NE(aEnd, std::string::npos) << r.text;
  EXPECT_LT(r.text.find("a-live"), aEnd);
  EXPECT_GT(r.text.find("\nb-out\n"), aEnd) << r.text;
  auto pos = stepPositions(r.text, 7);
  for (size_t k = 1; k < pos.size(); k++) EXPECT_LT(pos[k - 1], pos[k]) << r.text;
}

TEST(BuildParallel, FailureCancelsSiblingsAndLeavesNothing) {
  NEED_ENV();
  auto base = Env::get()->images->resolve("busybox:latest");
  ASSERT_TRUE(base);
  auto kidsBefore = Env::get()->images->children(base->id);
  ASSERT_TRUE(kidsBefore);
  TempDir ctx;
  const std::string id = "fail-" + randomHexId().substr(0, 12);
  // The failing stage waits until its sibling is in its long sleep.
  const std::string failRun = "i=0; while [ ! -e /sync/started ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; "
                              "echo failing; exit 3";
  writeTo(ctx / "Dockerfile",
          "FROM busybox AS sleeper\n"
          "RUN --mount=type=cache,id=" + id + ",target=/sync touch /sync/started; sleep 30\n"
          "FROM busybox AS failer\n"
          "RUN --mount=type=cache,id=" + id + ",target=/sync " + failRun + "\n"
          "FROM busybox\n"
          "COPY --from=sleeper /etc/passwd /a\n"
          "COPY --from=failer /etc/passwd /b\n");
  for (bool forceRm : {true, false}) {
    (void)::unlink((cacheDirOf(id) + "/started").c_str());
    BuildOptions opts;
    opts.forceRm = forceRm;
    opts.tags = {"parfail:1"};
    CollectOutput out;
    auto t0 = std::chrono::steady_clock::now();
    auto r = runBuild(ctx.path(), opts, &out);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_FALSE(r.result) << r.text;
    EXPECT_EQ(r.result.error().message,
              "The command '/bin/sh -c " + failRun +
                  "' returned a non-zero code: 3")
        << r.text;
    EXPECT_EQ(out.failedStatus, 3);
    EXPECT_LT(secs, 20.0) << "the sleeping stage was not cancelled";
    EXPECT_NE(r.text.find("failing\n"), std::string::npos) << r.text;
    EXPECT_LT(r.text.find("Step 2/7 : RUN"), r.text.find("Step 4/7 : RUN")) << r.text;
    EXPECT_FALSE(Env::get()->images->resolve("parfail:1"));
    // No image of either RUN, no container but the failed one when kept (classic rm without forcerm).
    auto kids = Env::get()->images->children(base->id);
    ASSERT_TRUE(kids);
    EXPECT_EQ(kids->size(), kidsBefore->size());
    auto all = Env::get()->containers->list({.all = true});
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), forceRm ? 0u : 1u);
    for (auto& c : *all) (void)Env::get()->containers->remove(c.record.id, true, true);
  }
}

TEST(BuildParallel, ClientGoneCancelsEveryStage) {
  NEED_ENV();
  TempDir ctx;
  writeTo(ctx / "Dockerfile",
          "FROM busybox AS a\nRUN sleep 30\nFROM busybox AS b\nRUN sleep 30\n"
          "FROM busybox\nCOPY --from=a /etc/passwd /a\nCOPY --from=b /etc/passwd /b\n");
  BuildOptions opts;
  opts.noCache = true;
  opts.tags = {"pargone:1"};
  CollectOutput out;
  std::atomic<bool> bothRan{false};
  std::thread leaver([&] {
    // Leave once both stages' RUN containers run (at most 15 s).
    for (int i = 0; i < 150 && !bothRan; i++) {
      bothRan = runningContainers() >= 2;
      if (!bothRan) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    out.leave = true;
  });
  auto t0 = std::chrono::steady_clock::now();
  auto r = runBuild(ctx.path(), opts, &out);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  leaver.join();
  EXPECT_TRUE(bothRan) << "the two stages' RUN containers never ran at once";
  ASSERT_FALSE(r.result);
  EXPECT_EQ(r.result.error().code, Code::Cancelled);
  EXPECT_LT(secs, 20.0);
  EXPECT_FALSE(Env::get()->images->resolve("pargone:1"));
  auto all = Env::get()->containers->list({.all = true});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 0u);
}

TEST(BuildParallel, BadStageReferencesAreRefused) {
  NEED_ENV();
  TempDir ctx;
  writeTo(ctx / "Dockerfile", "FROM busybox\nRUN true\nFROM busybox\nCOPY --from=1 /x /x\n");
  auto r = runBuild(ctx.path(), BuildOptions{});
  ASSERT_FALSE(r.result);
  EXPECT_EQ(r.result.error().message, "invalid from flag value 1: refers to current build stage");
  EXPECT_EQ(r.text.find("Step "), std::string::npos) << r.text;  // refused before any step
  // Through a build arg: found when the step runs, same message.
  writeTo(ctx / "Dockerfile", "FROM busybox\nFROM busybox\nARG I=5\nCOPY --from=$I /x /x\n");
  auto d = runBuild(ctx.path(), BuildOptions{});
  ASSERT_FALSE(d.result);
  EXPECT_EQ(d.result.error().message, "invalid from flag value 5: index out of bounds");
}

TEST(BuildParallel, OnbuildTriggerOfAStageBaseWaitsForTheStageItNames) {
  NEED_ENV();
  TempDir ctx;
  // `src` is needed only through the ONBUILD trigger that `parent` leaves
  // to the final stage, and runs at once with `parent`.
  writeTo(ctx / "Dockerfile",
          "FROM busybox AS src\nRUN echo from-src > /x\n"
          "FROM busybox AS parent\nONBUILD COPY --from=src /x /x\n"
          "FROM parent\nRUN cat /x > /seen\n");
  auto r = runBuild(ctx.path(), BuildOptions{});
  ASSERT_TRUE(r.result) << r.result.error().message << "\n" << r.text;
  EXPECT_EQ(fileInImage(r.result->imageId, "seen"), "from-src\n");
  EXPECT_NE(r.text.find("Step 5/6 : FROM parent\n# Executing 1 build trigger\n"), std::string::npos) << r.text;
}
