// POST /build and /build/prune (api/build_router.h) driven with a fake
// Builder and the real build context (build/context.h) in a temp dir.

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <functional>

#include "api/build_router.h"
#include "api/go_json.h"
#include "fake_http.h"

using namespace berth;
using fakehttp::TarBuilder;
using fakehttp::TempDir;
using nlohmann::json;

namespace {

// Records the options it got and plays a script against the output.
class FakeBuilder : public build::Builder {
 public:
  build::BuildOptions got;
  std::vector<std::string> contextFiles;  // files seen in the context dir
  std::function<Result<build::BuildResult>(build::BuildOutput&)> script = [](build::BuildOutput& out) {
    out.stream("Step 1/1 : FROM busybox");
    out.stream("\n");
    out.stream(" ---> 0123456789ab\n");
    out.aux({{"ID", "sha256:" + std::string(64, 'a')}});
    out.stream("Successfully built aaaaaaaaaaaa\n");
    return build::BuildResult{"sha256:" + std::string(64, 'a')};
  };
  build::CachePruneOptions pruneGot;

  Result<build::BuildResult> build(const build::BuildOptions& opts, build::BuildOutput& out) override {
    got = opts;
    contextFiles.clear();
    listFiles(opts.contextDir, "");
    return script(out);
  }
  Result<build::CachePruneReport> prune(const build::CachePruneOptions& o) override {
    pruneGot = o;
    build::CachePruneReport r;
    if (o.all) r.cachesDeleted = {"abc", "def"};
    r.spaceReclaimed = o.all ? 2048 : 0;
    return r;
  }
  build::CacheUsage usage() override { return {}; }

 private:
  void listFiles(const std::string& dir, const std::string& rel) {
    DIR* d = opendir(dir.c_str());
    if (!d) return;
    while (auto* e = readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      std::string r = rel.empty() ? n : rel + "/" + n;
      struct stat st {};
      lstat((dir + "/" + n).c_str(), &st);
      if (S_ISDIR(st.st_mode)) {
        listFiles(dir + "/" + n, r);
      } else {
        contextFiles.push_back(r);
      }
    }
    closedir(d);
    std::sort(contextFiles.begin(), contextFiles.end());
  }
};

struct BuildRouterFixture : ::testing::Test {
  TempDir dir;
  FakeBuilder builder;
  std::unique_ptr<build::ContextSource> contexts;
  api::Router router;
  std::vector<std::string> events;
  void SetUp() override {
    build::ContextConfig cfg;
    cfg.tmpDir = dir / "build/tmp";
    cfg.maxSize = 1 << 20;
    contexts = build::makeContextSource(cfg);
    api::registerBuildRoutes(router, builder, *contexts,
                             [this](const std::string& t, const std::string& a, const std::string&, const json& attrs) {
                               events.push_back(t + " " + a + " " + attrs.value("reclaimed", ""));
                             });
  }
  fakehttp::Response build(const std::string& query, const std::string& body) {
    return fakehttp::call(router, "POST", "/v1.41/build" + query, body, {{"content-type", "application/x-tar"}});
  }
  // Nothing is left in build/tmp once a request is over.
  bool tmpEmpty() {
    DIR* d = opendir((dir / "build/tmp").c_str());
    if (!d) return true;
    int n = 0;
    while (auto* e = readdir(d)) n += std::string(e->d_name) != "." && std::string(e->d_name) != "..";
    closedir(d);
    return n == 0;
  }
  static std::string simpleContext() {
    return TarBuilder().file("Dockerfile", "FROM busybox\n").file("a.txt", "A").str();
  }
};

api::Request query(const std::string& q, const std::string& version = "1.41") {
  api::Request req;
  req.method = "POST";
  req.path = "/build";
  req.apiVersion = version;
  for (auto& kv : split(q, '&')) {
    if (kv.empty()) continue;
    auto eq = kv.find('=');
    req.query.emplace(fakehttp::urlDecode(kv.substr(0, eq)), eq == std::string::npos ? "" : fakehttp::urlDecode(kv.substr(eq + 1)));
  }
  return req;
}

}  // namespace

// ------------------------------------------------------------ query decoding

TEST(BuildQuery, DecodesEveryParameter) {
  auto req = query(
      "t=a:1&t=b&q=1&nocache=true&pull=1&rm=0&target=base&dockerfile=sub/Df&buildargs=" +
      fakehttp::urlEncode(R"({"A":"1","B":null})") + "&labels=" + fakehttp::urlEncode(R"({"l":"v"})") +
      "&cachefrom=" + fakehttp::urlEncode(R"(["x:1"])") +
      "&extrahosts=h:127.0.0.1&networkmode=none&shmsize=1024&memory=2048&memswap=4096&cpushares=5"
      "&cpusetcpus=0&cpusetmems=0&cpuperiod=100000&cpuquota=50000&platform=linux/amd64&ulimits=" +
      fakehttp::urlEncode(R"([{"Name":"nofile","Hard":2048,"Soft":1024}])") + "&version=1");
  auto q = api::decodeBuildQuery(req);
  ASSERT_TRUE(q) << q.error().message;
  const auto& o = q->options;
  EXPECT_EQ(o.tags, (std::vector<std::string>{"a:1", "b"}));
  EXPECT_TRUE(o.quiet);
  EXPECT_TRUE(o.noCache);
  EXPECT_TRUE(o.pull);
  EXPECT_FALSE(o.rm);
  EXPECT_FALSE(o.forceRm);
  EXPECT_EQ(o.target, "base");
  EXPECT_EQ(o.dockerfile, "sub/Df");
  EXPECT_EQ(o.buildArgs.at("A"), std::optional<std::string>("1"));
  EXPECT_EQ(o.buildArgs.at("B"), std::nullopt);
  EXPECT_EQ(o.labels.at("l"), "v");
  EXPECT_EQ(o.cacheFrom, std::vector<std::string>{"x:1"});
  EXPECT_EQ(o.extraHosts, std::vector<std::string>{"h:127.0.0.1"});
  EXPECT_EQ(o.networkMode, "none");
  EXPECT_EQ(o.shmSize, 1024);
  EXPECT_EQ(o.memory, 2048);
  EXPECT_EQ(o.memorySwap, 4096);
  EXPECT_EQ(o.cpuShares, 5);
  EXPECT_EQ(o.cpuPeriod, 100000);
  EXPECT_EQ(o.cpuQuota, 50000);
  EXPECT_EQ(o.cpusetCpus, "0");
  EXPECT_EQ(o.platform, "linux/amd64");
  EXPECT_EQ(o.ulimits, json::parse(R"([{"Name":"nofile","Hard":2048,"Soft":1024}])"));
}

TEST(BuildQuery, RemoveDefaultsAndForceRm) {
  EXPECT_TRUE(api::decodeBuildQuery(query(""))->options.rm);                // absent = true
  EXPECT_TRUE(api::decodeBuildQuery(query("rm=True"))->options.rm);         // docker-py
  EXPECT_FALSE(api::decodeBuildQuery(query("rm=False"))->options.rm);
  auto q = api::decodeBuildQuery(query("rm=0&forcerm=1"));
  EXPECT_TRUE(q->options.rm);
  EXPECT_TRUE(q->options.forceRm);
  EXPECT_EQ(api::decodeBuildQuery(query("memory=junk"))->options.memory, 0);  // Int64ValueOrZero
  EXPECT_TRUE(api::goBoolValue("yes"));
  EXPECT_FALSE(api::goBoolValue(" None "));
}

TEST(BuildQuery, ErrorsAreDockerds) {
  auto msg = [](const std::string& q) {
    auto r = api::decodeBuildQuery(query(q));
    return r ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(msg("buildargs=" + fakehttp::urlEncode("{x")),
            "error reading build args: invalid character 'x' looking for beginning of object key string");
  EXPECT_EQ(msg("buildargs=" + fakehttp::urlEncode(R"({"a":1})")),
            "error reading build args: json: cannot unmarshal number into Go value of type string");
  EXPECT_EQ(msg("labels=" + fakehttp::urlEncode("[")), "error reading labels: unexpected end of JSON input");
  EXPECT_EQ(msg("cachefrom=" + fakehttp::urlEncode(R"({"a":"b"})")),
            "error reading cache-from: json: cannot unmarshal object into Go value of type []string");
  EXPECT_EQ(msg("ulimits=" + fakehttp::urlEncode("nope")),
            "error reading ulimit settings: invalid character 'o' in literal null (expecting 'u')");
  EXPECT_EQ(msg("version=3"), "invalid version \"3\"");
  EXPECT_EQ(msg("version=2"), "buildkit is only supported with experimental mode");
  EXPECT_EQ(msg("squash=1"), "squash is only supported with experimental mode");
  EXPECT_EQ(msg("isolation=hyperv"), "unsupported isolation: \"hyperv\"");
  EXPECT_EQ(msg("securityopt=x"), "security options are not supported on linux");
  EXPECT_EQ(msg("shmsize=abc"), "strconv.ParseInt: parsing \"abc\": invalid syntax");
  EXPECT_EQ(api::decodeBuildQuery(query("shmsize=abc")).error().code, Code::Internal);
  EXPECT_EQ(api::decodeBuildQuery(query("version=2")).error().code, Code::InvalidArgument);
}

TEST(BuildQuery, GoJsonSyntaxMessages) {
  auto msg = [](std::string_view s) {
    auto r = api::parseGoJson(s);
    return r ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(msg(R"({"a":"b"})"), "ok");
  EXPECT_EQ(msg(""), "unexpected end of JSON input");
  EXPECT_EQ(msg("{\"a\" 1}"), "invalid character '1' after object key");
  EXPECT_EQ(msg("{\"a\":1 \"b\"}"), "invalid character '\"' after object key:value pair");
  EXPECT_EQ(msg("[1 2]"), "invalid character '2' after array element");
  EXPECT_EQ(msg("{} x"), "invalid character 'x' after top-level value");
  EXPECT_EQ(msg("-x"), "invalid character 'x' in numeric literal");
  EXPECT_EQ(msg("'a'"), "invalid character '\\'' looking for beginning of value");
}

// ------------------------------------------------------------ the stream

TEST_F(BuildRouterFixture, StreamsTheClassicBuilderLines) {
  auto r = build("?t=img:1&t=img:1&t=docker.io/library/other", simpleContext());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.contentType, "application/json");
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], json({{"stream", "Step 1/1 : FROM busybox"}}));
  EXPECT_EQ(lines[1], json({{"stream", "\n"}}));
  EXPECT_EQ(lines[3], json({{"aux", {{"ID", "sha256:" + std::string(64, 'a')}}}}));
  // one flushed write per line
  EXPECT_EQ(r.chunks.size(), 5u);
  EXPECT_EQ(builder.got.tags, (std::vector<std::string>{"img:1", "other:latest"}));
  EXPECT_EQ(builder.got.dockerfile, "Dockerfile");
  EXPECT_EQ(builder.got.dockerfileText, std::optional<std::string>("FROM busybox\n"));
  EXPECT_EQ(builder.contextFiles, (std::vector<std::string>{"Dockerfile", "a.txt"}));
  EXPECT_TRUE(tmpEmpty());
}

TEST_F(BuildRouterFixture, AuxOnlyFromApi130) {
  auto r = fakehttp::call(router, "POST", "/v1.29/build", simpleContext());
  ASSERT_EQ(r.status, 200);
  for (auto& l : r.lines()) EXPECT_FALSE(l.contains("aux")) << l;
}

TEST_F(BuildRouterFixture, ErrorBeforeAnyOutputIsAnHttpError) {
  builder.script = [](build::BuildOutput&) -> Result<build::BuildResult> {
    return errorf(Code::InvalidArgument, "dockerfile parse error on line 1: unknown instruction: FOO");
  };
  auto r = build("", simpleContext());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "dockerfile parse error on line 1: unknown instruction: FOO");
  EXPECT_FALSE(r.streamed);
}

TEST_F(BuildRouterFixture, ErrorAfterOutputIsAnErrorDetailLine) {
  builder.script = [](build::BuildOutput& out) -> Result<build::BuildResult> {
    out.stream("Step 1/2 : COPY x /\n");
    return errorf(Code::NotFound, "COPY failed: file not found in build context or excluded by .dockerignore: stat x: file does not exist");
  };
  auto r = build("", simpleContext());
  ASSERT_EQ(r.status, 200);
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 2u);
  std::string m = "COPY failed: file not found in build context or excluded by .dockerignore: stat x: file does not exist";
  EXPECT_EQ(lines[1], json({{"errorDetail", {{"message", m}}}, {"error", m}}));  // no code: the CLI exits 1
}

TEST_F(BuildRouterFixture, FailedRunCarriesItsExitStatus) {
  builder.script = [](build::BuildOutput& out) -> Result<build::BuildResult> {
    out.stream(" ---> Running in 0123456789ab\n");
    out.runFailed(3);
    return errorf(Code::Internal, "The command '/bin/sh -c exit 3' returned a non-zero code: 3");
  };
  auto r = build("", simpleContext());
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 2u);
  std::string m = "The command '/bin/sh -c exit 3' returned a non-zero code: 3";
  EXPECT_EQ(lines[1], json({{"errorDetail", {{"code", 3}, {"message", m}}}, {"error", m}}));
  EXPECT_TRUE(tmpEmpty());
}

TEST_F(BuildRouterFixture, QuietSendsOnlyTheIdOrTheTextAndTheError) {
  auto r = build("?q=1", simpleContext());
  ASSERT_EQ(r.status, 200);
  EXPECT_FALSE(builder.got.quiet);  // the router keeps the text, the builder still says it
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], json({{"stream", "sha256:" + std::string(64, 'a') + "\n"}}));

  builder.script = [](build::BuildOutput& out) -> Result<build::BuildResult> {
    out.stream("Step 1/1 : RUN false\n");
    out.runFailed(1);
    return errorf(Code::Internal, "The command '/bin/sh -c false' returned a non-zero code: 1");
  };
  r = build("?q=1", simpleContext());
  lines = r.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["stream"], "Step 1/1 : RUN false\n");
  EXPECT_EQ(lines[1]["errorDetail"]["code"], 1);
}

TEST_F(BuildRouterFixture, ClientGoneStopsTheBuild) {
  // A writer whose peer left after the first line.
  struct GoneWriter : fakehttp::FakeWriter {
    struct S : berth::StreamWriter {
      int writes = 0;
      bool write(std::string_view) override { return ++writes < 2; }
    };
    std::unique_ptr<berth::StreamWriter> stream(int s, std::string_view ct) override {
      (void)FakeWriter::stream(s, ct);
      return std::make_unique<S>();
    }
  };
  int accepted = 0;
  builder.script = [&accepted](build::BuildOutput& out) -> Result<build::BuildResult> {
    for (int i = 0; i < 10; i++) {
      if (!out.stream("line\n")) return makeError(Code::Cancelled, "client went away");
      accepted++;
    }
    return build::BuildResult{"sha256:x"};
  };
  api::Request req;
  req.method = "POST";
  req.path = "/build";
  fakehttp::StringBody body(simpleContext());
  req.body = &body;
  GoneWriter w;
  auto* h = router.match(req);
  ASSERT_NE(h, nullptr);
  (*h)(req, w);
  EXPECT_EQ(accepted, 1);  // the second write failed: stream() said false
  EXPECT_TRUE(tmpEmpty());
}

// ------------------------------------------------------------ the context

TEST_F(BuildRouterFixture, CompressedContexts) {
  for (std::string c : {"gzip", "bzip2", "xz"}) {
    auto r = build("", TarBuilder().file("Dockerfile", "FROM busybox\n").file("d/f", "x").str(c));
    ASSERT_EQ(r.status, 200) << c << ": " << r.body;
    EXPECT_EQ(builder.contextFiles, (std::vector<std::string>{"Dockerfile", "d/f"})) << c;
  }
}

TEST_F(BuildRouterFixture, DockerfileLookup) {
  auto r = build("", TarBuilder().file("a", "x").str());
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.message(), "Cannot locate specified Dockerfile: Dockerfile");
  r = build("", TarBuilder().file("dockerfile", "FROM busybox\n").str());  // the lower-case fallback
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(builder.got.dockerfile, "dockerfile");
  r = build("?dockerfile=sub%2FDf.build", TarBuilder().file("sub/Df.build", "FROM x\n").str());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(builder.got.dockerfileText, std::optional<std::string>("FROM x\n"));
  r = build("?dockerfile=..%2F..%2Fetc%2Fpasswd", TarBuilder().file("Dockerfile", "FROM x\n").str());
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(r.message().starts_with("forbidden path outside the build context: ../../etc/passwd (")) << r.message();
  // a symlinked Dockerfile pointing out resolves inside the context
  r = build("", TarBuilder().symlink("Dockerfile", "/etc/hostname").str());
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_TRUE(tmpEmpty());
}

TEST_F(BuildRouterFixture, DockerignoreDropsItselfAndTheDockerfile) {
  // docker's `-f` outside the context: the file under a random name, listed in .dockerignore
  auto r = build("?dockerfile=.dockerfile.0123456789abcdef0123",
                 TarBuilder()
                     .file("keep.txt", "k")
                     .file(".dockerfile.0123456789abcdef0123", "FROM busybox\n")
                     .file(".dockerignore", ".dockerignore\n.dockerfile.0123456789abcdef0123\n")
                     .str());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(builder.got.dockerfileText, std::optional<std::string>("FROM busybox\n"));
  EXPECT_EQ(builder.contextFiles, std::vector<std::string>{"keep.txt"});
  // patterns other than the build files are the client's business
  r = build("", TarBuilder().file("Dockerfile", "FROM busybox\n").file("x.log", "l").file(".dockerignore", "*.log\n").str());
  EXPECT_EQ(builder.contextFiles, (std::vector<std::string>{".dockerignore", "Dockerfile", "x.log"}));
}

TEST_F(BuildRouterFixture, HostileTarsAreRefusedAndLeaveNothing) {
  auto r = build("", TarBuilder().file("Dockerfile", "FROM x\n").file("../../escape", "x").str());
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.message().find("outside the extraction directory"), std::string::npos) << r.message();
  r = build("", TarBuilder().file("Dockerfile", "FROM x\n").symlink("l", "../../../etc").str());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "invalid symlink \"l\" -> \"../../../etc\"");
  r = build("", TarBuilder().file("Dockerfile", "FROM x\n").hardlink("h", "../../etc/passwd").str());
  EXPECT_EQ(r.status, 400);
  // an absolute symlink and writing through it stay inside
  r = build("", TarBuilder().file("Dockerfile", "FROM x\n").symlink("abs", "/").file("abs/escaped", "x").str());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(builder.contextFiles, (std::vector<std::string>{"Dockerfile", "abs", "escaped"}));
  // absolute names are made relative
  r = build("", TarBuilder().file("/Dockerfile", "FROM x\n").str());
  EXPECT_EQ(r.status, 200) << r.body;
  struct stat st {};
  EXPECT_NE(::stat((dir / "escape").c_str(), &st), 0);
  EXPECT_NE(::stat((dir / "escaped").c_str(), &st), 0);
  EXPECT_TRUE(tmpEmpty());
}

TEST_F(BuildRouterFixture, SizeLimit) {
  auto r = build("", TarBuilder().file("Dockerfile", "FROM x\n").file("big", std::string(2 << 20, 'z')).str("gzip"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(),
            "build context is larger than the limit of 1048576 bytes (berthd --build-context-max-size)");
  EXPECT_TRUE(tmpEmpty());
}

TEST_F(BuildRouterFixture, BrokenBodyLeavesNothing) {
  api::Request req;
  req.method = "POST";
  req.path = "/build";
  fakehttp::StringBody body(TarBuilder().file("Dockerfile", "FROM x\n").file("f", std::string(100000, 'q')).str());
  body.failAfter(20000);
  req.body = &body;
  fakehttp::FakeWriter w;
  (*router.match(req))(req, w);
  EXPECT_NE(w.status, 200);
  EXPECT_TRUE(tmpEmpty());
}

TEST_F(BuildRouterFixture, RemoteRecognition) {
  EXPECT_TRUE(build::isGitUrl("https://example.com/repo.git"));
  EXPECT_TRUE(build::isGitUrl("https://example.com/repo.git#main:sub"));
  EXPECT_TRUE(build::isGitUrl("git://127.0.0.1/repo"));
  EXPECT_TRUE(build::isGitUrl("git@github.com:x/y"));
  EXPECT_TRUE(build::isGitUrl("github.com/x/y"));
  EXPECT_FALSE(build::isGitUrl("https://example.com/ctx.tar"));
  auto g = build::parseGitUrl("github.com/x/y#v1:docker/app");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->url, "https://github.com/x/y");
  EXPECT_EQ(g->ref, "v1");
  EXPECT_EQ(g->subdir, "docker/app");
  EXPECT_EQ(build::parseGitUrl("git://h/r")->ref, "master");
  EXPECT_EQ(build::parseGitUrl("git://h/r#-x").error().message, "invalid refspec: -x");
  auto r = build("?remote=ftp%3A%2F%2Fx", "");
  EXPECT_EQ(r.message(), "remoteURL (ftp://x) could not be recognized as URL");
  r = build("?remote=client-session", "");
  EXPECT_EQ(r.status, 400);
}

// ------------------------------------------------------------ prune

TEST_F(BuildRouterFixture, Prune) {
  auto r = fakehttp::call(router, "POST", "/v1.41/build/prune");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json(), json::parse(R"({"CachesDeleted":null,"SpaceReclaimed":0})"));
  r = fakehttp::call(router, "POST", "/v1.41/build/prune?all=1&keep-storage=512&filters=" +
                                         fakehttp::urlEncode(R"({"until":{"24h":true}})"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json(), json::parse(R"({"CachesDeleted":["abc","def"],"SpaceReclaimed":2048})"));
  EXPECT_TRUE(builder.pruneGot.all);
  EXPECT_EQ(builder.pruneGot.keepStorage, 512);
  EXPECT_EQ(builder.pruneGot.filters.at("until"), std::vector<std::string>{"24h"});
  EXPECT_EQ(events.back(), "builder prune 2048");
  r = fakehttp::call(router, "POST", "/v1.41/build/prune?keep-storage=lots");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "keep-storage is in bytes and expects an integer, got lots: strconv.Atoi: parsing \"lots\": invalid syntax");
}

TEST_F(BuildRouterFixture, TarWithoutFinalPaddingIsComplete) {
  // What the docker CLI sends for `build -f` with a Dockerfile outside the
  // context: the stream ends right after the last entry's data.
  std::string tar = TarBuilder().file("a.txt", "A").file("Dockerfile", "FROM busybox\n").str();
  auto end = tar.find("FROM busybox\n") + std::string("FROM busybox\n").size();
  auto r = build("", tar.substr(0, end));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(builder.got.dockerfileText, std::optional<std::string>("FROM busybox\n"));
  // cut inside the data: still an error
  r = build("", tar.substr(0, end - 3));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(tmpEmpty());
}
