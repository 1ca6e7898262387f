#include <gtest/gtest.h>

#include "api/containers_json.h"
#include "api/containers_router.h"
#include "fake_container_service.h"
#include "fake_http.h"

using namespace berth;
using fakecontainer::FakeContainerService;
using fakehttp::call;
using fakehttp::urlEncode;
using nlohmann::json;

namespace {

struct ContainersRouter : ::testing::Test {
  FakeContainerService svc;
  api::Router router;
  void SetUp() override { api::registerContainerRoutes(router, api::ContainerRoles::of(svc)); }
  fakehttp::Response post(const std::string& target, const std::string& body = "") {
    return call(router, "POST", target, body, {{"content-type", "application/json"}});
  }
  std::vector<std::string> callsStartingWith(const std::string& prefix) const {
    std::vector<std::string> out;
    for (auto& c : svc.calls)
      if (c.rfind(prefix, 0) == 0) out.push_back(c);
    return out;
  }
};

}  // namespace

TEST_F(ContainersRouter, CreateAnswers201WithIdAndWarnings) {
  auto r = post("/v1.41/containers/create?name=web", R"({"Image":"busybox","Cmd":["true"]})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json(), json({{"Id", std::string(64, 'a')}, {"Warnings", json::array()}}));
  EXPECT_EQ(svc.lastCreate.name, "web");
  EXPECT_EQ(svc.lastCreate.body["Image"], "busybox");

  r = post("/v1.41/containers/create", "");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "config cannot be empty in order to create a container");
  EXPECT_EQ(svc.calls.size(), 1u);
}

TEST_F(ContainersRouter, StartIs204Then304WhenRunning) {
  auto r = post("/v1.41/containers/c1/start");
  EXPECT_EQ(r.status, 204);
  svc.startResult = makeError(Code::NotModified, "container already started");
  r = post("/v1.41/containers/c1/start");
  EXPECT_EQ(r.status, 304);
  r = post("/v1.41/containers/nope/start");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.message(), "No such container: nope");
}

TEST_F(ContainersRouter, StopPassesTimeoutAndRefusesGarbage) {
  EXPECT_EQ(post("/v1.41/containers/c1/stop?t=3").status, 204);
  EXPECT_EQ(post("/v1.41/containers/c1/stop").status, 204);
  EXPECT_EQ(post("/v1.41/containers/c1/stop?t=-1").status, 204);
  EXPECT_EQ(post("/v1.41/containers/c1/restart?t=0").status, 204);
  EXPECT_EQ(svc.calls, (std::vector<std::string>{"stop c1 t=3", "stop c1 t=default", "stop c1 t=-1",
                                                 "restart c1 t=0"}));
  auto r = post("/v1.41/containers/c1/stop?t=x");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "strconv.Atoi: parsing \"x\": invalid syntax");
  r = post("/v1.41/containers/c1/restart?t=99999999999999999999");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "strconv.Atoi: parsing \"99999999999999999999\": value out of range");
  EXPECT_EQ(svc.calls.size(), 4u);  // neither reached the service
}

TEST_F(ContainersRouter, KillPassesTheSignal) {
  EXPECT_EQ(post("/v1.41/containers/c1/kill?signal=HUP").status, 204);
  EXPECT_EQ(post("/v1.41/containers/c1/kill").status, 204);
  auto r = post("/v1.41/containers/c1/kill?signal=BOGUS");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "Invalid signal: BOGUS");
  EXPECT_EQ(svc.calls, (std::vector<std::string>{"kill c1 HUP", "kill c1 KILL", "kill c1 BOGUS"}));
}

TEST_F(ContainersRouter, RemoveMapsForceAndVolumes) {
  EXPECT_EQ(call(router, "DELETE", "/v1.41/containers/c1?force=1&v=1").status, 204);
  EXPECT_EQ(call(router, "DELETE", "/v1.41/containers/c1").status, 204);
  EXPECT_EQ(call(router, "DELETE", "/v1.41/containers/nope?force=true").status, 404);
  EXPECT_EQ(svc.calls, (std::vector<std::string>{"remove c1 force=1 v=1", "remove c1 force=0 v=0",
                                                 "remove nope force=1 v=0"}));
}

TEST_F(ContainersRouter, WaitStreamsTheStatusCode) {
  svc.exitCode = 3;
  auto r = post("/v1.41/containers/c1/wait?condition=next-exit");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.streamed);
  ASSERT_EQ(r.lines().size(), 1u);
  EXPECT_EQ(r.lines()[0], json({{"Error", nullptr}, {"StatusCode", 3}}));
  EXPECT_EQ(svc.calls, (std::vector<std::string>{"waitBaseline c1", "wait c1 next-exit 7"}));

  r = post("/v1.41/containers/c1/wait?condition=bogus");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "invalid condition: \"bogus\"");
  EXPECT_EQ(post("/v1.41/containers/nope/wait").status, 404);
}

// The exit path may write the answer itself (the wait's answer callback):
// the client still gets exactly one.
TEST_F(ContainersRouter, WaitAnsweredByTheServiceIsAnsweredOnce) {
  svc.exitCode = 5;
  svc.answerFromService = true;
  auto r = post("/v1.41/containers/c1/wait?condition=removed");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.lines().size(), 1u);
  EXPECT_EQ(r.lines()[0], json({{"Error", nullptr}, {"StatusCode", 5}}));
}

TEST_F(ContainersRouter, InspectShapesDetailsAnd404s) {
  auto r = call(router, "GET", "/v1.41/containers/nope/json");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.message(), "No such container: nope");

  auto& c = svc.details.record;
  c.id = std::string(64, 'c');
  c.name = "web";
  c.state.status = container::State::Paused;
  c.hostConfig = {{"NetworkMode", "host"}};
  svc.details.paths.upper = "/d/upper";
  svc.details.paths.log = "/d/c-json.log";
  svc.details.sizes = container::ContainerSizes{10, 110};
  r = call(router, "GET", "/v1.41/containers/c1/json?size=1");
  ASSERT_EQ(r.status, 200);
  auto j = r.json();
  EXPECT_EQ(j["Id"], c.id);
  EXPECT_EQ(j["Name"], "/web");
  EXPECT_EQ(j["State"]["Status"], "paused");
  EXPECT_EQ(j["State"]["Running"], true);
  EXPECT_EQ(j["State"]["Paused"], true);
  EXPECT_EQ(j["GraphDriver"]["Data"]["UpperDir"], "/d/upper");
  EXPECT_EQ(j["LogPath"], "/d/c-json.log");
  EXPECT_TRUE(j["ExecIDs"].is_null());
  EXPECT_TRUE(j["NetworkSettings"]["Networks"].contains("host"));
  EXPECT_EQ(j["SizeRw"], 10);
  EXPECT_EQ(j["SizeRootFs"], 110);
  EXPECT_EQ(svc.calls.back(), "inspect c1 size");

  svc.details.sizes.reset();
  j = call(router, "GET", "/v1.41/containers/c1/json").json();
  EXPECT_FALSE(j.contains("SizeRw"));
}

TEST_F(ContainersRouter, ListPassesFiltersAndShapesSummaries) {
  container::ContainerSummary s;
  s.record.id = std::string(64, 'd');
  s.record.name = "db";
  s.record.path = "sh";
  s.record.args = {"-c", "sleep 1"};
  s.record.config = {{"Image", "busybox"}, {"ExposedPorts", {{"80/tcp", json::object()}, {"53/udp", json::object()}}}};
  s.record.hostConfig = json::object();
  s.record.created = 1700000000LL * 1000000000;
  svc.summaries = {s};
  auto r = call(router, "GET",
                "/v1.41/containers/json?limit=2&filters=" + urlEncode(R"({"status":{"running":true},"name":["db"]})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(svc.lastList.all);  // a limit lists stopped containers too
  EXPECT_EQ(svc.lastList.limit, 2);
  EXPECT_FALSE(svc.lastList.size);
  EXPECT_EQ(svc.lastList.filters["status"], std::vector<std::string>{"running"});
  EXPECT_EQ(svc.lastList.filters["name"], std::vector<std::string>{"db"});
  auto j = r.json();
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["Names"], json::array({"/db"}));
  EXPECT_EQ(j[0]["Command"], "sh -c sleep 1");
  EXPECT_EQ(j[0]["Created"], 1700000000);
  EXPECT_EQ(j[0]["State"], "created");
  EXPECT_EQ(j[0]["Status"], "Created");
  EXPECT_EQ(j[0]["Ports"], json::parse(R"([{"PrivatePort":53,"Type":"udp"},{"PrivatePort":80,"Type":"tcp"}])"));
  EXPECT_FALSE(j[0].contains("SizeRw"));

  r = call(router, "GET", "/v1.41/containers/json?all=1&size=1");
  EXPECT_TRUE(svc.lastList.all);
  EXPECT_TRUE(svc.lastList.size);
  EXPECT_EQ(svc.lastList.limit, -1);

  size_t before = svc.calls.size();
  r = call(router, "GET", "/v1.41/containers/json?filters=" + urlEncode("{not json"));
  EXPECT_EQ(r.status, 400);
  r = call(router, "GET", "/v1.41/containers/json?limit=ten");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "strconv.Atoi: parsing \"ten\": invalid syntax");
  EXPECT_EQ(svc.calls.size(), before);
  r = call(router, "GET", "/v1.41/containers/json?filters=" + urlEncode(R"({"bogus":{"x":true}})"));
  EXPECT_EQ(r.status, 400);
}

TEST_F(ContainersRouter, LogsNeedAStreamAndAValidTail) {
  auto r = call(router, "GET", "/v1.41/containers/c1/logs");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "Bad parameters: you must choose at least one stream");
  r = call(router, "GET", "/v1.41/containers/c1/logs?stdout=1&tail=x");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "invalid value for \"tail\" \"x\": strconv.Atoi: parsing \"x\": invalid syntax");
  r = call(router, "GET", "/v1.41/containers/c1/logs?stdout=1&since=bad");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(callsStartingWith("logs").empty());

  svc.logText = "hello\n";
  r = call(router, "GET", "/v1.41/containers/c1/logs?stderr=1&tail=5&follow=1&timestamps=1&since=10.5&until=20");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.chunks, std::vector<std::string>{"hello\n"});
  EXPECT_FALSE(svc.lastLogs.stdoutWanted);
  EXPECT_TRUE(svc.lastLogs.stderrWanted);
  EXPECT_EQ(svc.lastLogs.tail, 5);
  EXPECT_TRUE(svc.lastLogs.follow);
  EXPECT_TRUE(svc.lastLogs.timestamps);
  EXPECT_EQ(svc.lastLogs.since, 10500000000LL);
  EXPECT_EQ(svc.lastLogs.until, 20000000000LL);
  call(router, "GET", "/v1.41/containers/c1/logs?stdout=1&tail=all");
  EXPECT_EQ(svc.lastLogs.tail, -1);
  EXPECT_EQ(call(router, "GET", "/v1.41/containers/nope/logs?stdout=1").status, 404);
}

TEST_F(ContainersRouter, ResizeRefusesGarbage) {
  EXPECT_EQ(post("/v1.41/containers/c1/resize?h=24&w=80").status, 200);
  auto r = post("/v1.41/containers/c1/resize?h=24");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "strconv.Atoi: parsing \"\": invalid syntax");
  EXPECT_EQ(post("/v1.41/exec/e1/resize?h=x&w=80").status, 400);
  EXPECT_EQ(post("/v1.41/exec/e1/resize?h=10&w=20").status, 200);
  EXPECT_EQ(svc.calls, (std::vector<std::string>{"resize c1 24x80", "execResize e1 10x20"}));
}

TEST_F(ContainersRouter, ExecCreateStartDetachAndInspect) {
  auto r = post("/v1.41/containers/c1/exec", R"({"Cmd":["ls","-l"],"AttachStdout":true})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json(), json({{"Id", "e1"}}));
  EXPECT_EQ(svc.lastExec.body["Cmd"][0], "ls");

  EXPECT_EQ(post("/v1.41/exec/e1/start", R"({"Detach":true})").status, 404);  // not created in the fake yet
  svc.execDetails.id = "e1";
  svc.execDetails.containerId = "c1";
  svc.execDetails.entrypoint = "ls";
  svc.execDetails.arguments = {"-l"};
  svc.execDetails.openStdout = true;
  svc.execDetails.pid = 42;
  r = post("/v1.41/exec/e1/start", R"({"Detach":true})");
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.streamed);
  EXPECT_EQ(svc.calls.back(), "execStart e1 detach");
  // the start request's Tty (any case, as Go decodes) reaches the service: it decides the framing
  r = post("/v1.41/exec/e1/start", R"({"detach":true,"tty":true})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(svc.calls.back(), "execStart e1 detach tty");
  // keys dockerd cannot parse: its plain error
  r = post("/v1.41/containers/c1/exec", R"({"Cmd":["ls"],"detachKeys":"ctrl-"})");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.message(), "Invalid escape keys (ctrl-) provided");

  r = call(router, "GET", "/v1.41/exec/e1/json");
  ASSERT_EQ(r.status, 200);
  auto j = r.json();
  EXPECT_EQ(j["ID"], "e1");
  EXPECT_TRUE(j["ExitCode"].is_null());
  EXPECT_EQ(j["ProcessConfig"]["entrypoint"], "ls");
  EXPECT_EQ(j["ProcessConfig"]["arguments"], json::array({"-l"}));
  EXPECT_EQ(j["OpenStdout"], true);
  EXPECT_EQ(j["Pid"], 42);
  svc.execDetails.exitCode = 2;
  EXPECT_EQ(call(router, "GET", "/v1.41/exec/e1/json").json()["ExitCode"], 2);
  r = call(router, "GET", "/v1.41/exec/e9/json");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.message(), "No such exec instance: e9");
}

TEST_F(ContainersRouter, ArchiveHeadCarriesThePathStat) {
  svc.pathStat.name = "hosts";
  svc.pathStat.size = 12;
  svc.pathStat.mode = 0644;
  api::Request req;
  req.method = "HEAD";
  req.path = "/containers/c1/archive";
  req.query.emplace("path", "/etc/hosts");
  fakehttp::StringBody body("");
  req.body = &body;
  const api::Handler* h = router.match(req);
  ASSERT_NE(h, nullptr);
  fakehttp::FakeWriter w;
  (*h)(req, w);
  EXPECT_EQ(w.status, 200);
  ASSERT_TRUE(w.headers.count("X-Docker-Container-Path-Stat"));
  EXPECT_EQ(w.headers["X-Docker-Container-Path-Stat"], container::base64Encode(svc.pathStat.toJson().dump()));
  EXPECT_EQ(svc.calls.back(), "archiveStat c1 /etc/hosts");

  auto r = call(router, "HEAD", "/v1.41/containers/c1/archive");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "bad parameter: path cannot be empty");
}

TEST_F(ContainersRouter, CommitMapsTheQuery) {
  auto r = post("/v1.41/commit?container=c1&repo=me/app&tag=v1&comment=hi&author=Ann&changes=" +
                    urlEncode("CMD [\"sh\"]") + "&changes=" + urlEncode("ENV A=1") + "&pause=0",
                R"({"Labels":{"x":"y"}})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json(), json({{"Id", "sha256:" + std::string(64, 'b')}}));
  const auto& o = svc.lastCommit;
  EXPECT_EQ(o.container, "c1");
  EXPECT_EQ(o.repo, "me/app");
  EXPECT_EQ(o.tag, "v1");
  EXPECT_EQ(o.comment, "hi");
  EXPECT_EQ(o.author, "Ann");
  EXPECT_EQ(o.changes, (std::vector<std::string>{"CMD [\"sh\"]", "ENV A=1"}));
  EXPECT_FALSE(o.pause);
  EXPECT_EQ(o.config["Labels"]["x"], "y");

  post("/v1.41/commit?container=c1");
  EXPECT_TRUE(svc.lastCommit.pause);  // pause defaults to true
  EXPECT_TRUE(svc.lastCommit.config.is_null());
  EXPECT_EQ(post("/v1.41/commit?container=nope").status, 404);
}

TEST_F(ContainersRouter, PruneReportShape) {
  auto r = post("/v1.41/containers/prune?filters=" + urlEncode(R"({"label":{"a=b":true}})"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json(), json::parse(R"({"ContainersDeleted":null,"SpaceReclaimed":0})"));
  EXPECT_EQ(svc.lastPrune["label"], std::vector<std::string>{"a=b"});
  svc.pruneReport = {{"id1", "id2"}, 4096};
  r = post("/v1.41/containers/prune");
  EXPECT_EQ(r.json(), json::parse(R"({"ContainersDeleted":["id1","id2"],"SpaceReclaimed":4096})"));
  EXPECT_EQ(post("/v1.41/containers/prune?filters=" + urlEncode("[")).status, 400);
}

TEST_F(ContainersRouter, TopChangesAndUpdateShapes) {
  svc.topResult = {{"PID", "CMD"}, {{"1", "sleep 9"}}};
  auto r = call(router, "GET", "/v1.41/containers/c1/top?ps_args=aux");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json(), json::parse(R"({"Titles":["PID","CMD"],"Processes":[["1","sleep 9"]]})"));
  EXPECT_EQ(svc.calls.back(), "top c1 aux");
  svc.topResult = {};
  EXPECT_EQ(call(router, "GET", "/v1.41/containers/c1/top").json()["Processes"], json::array());

  r = call(router, "GET", "/v1.41/containers/c1/changes");
  EXPECT_EQ(r.json(), json::parse(R"([{"Path":"/etc","Kind":0},{"Path":"/etc/x","Kind":1}])"));

  r = post("/v1.41/containers/c1/update", R"({"Memory":8388608})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json(), json::parse(R"({"Warnings":[]})"));
  EXPECT_EQ(svc.lastUpdate.body["Memory"], 8388608);
}

TEST_F(ContainersRouter, SystemDfShape) {
  auto r = call(router, "GET", "/v1.41/system/df");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json(),
            json::parse(R"({"LayersSize":0,"Images":[],"Containers":[],"Volumes":[],"BuildCache":[]})"));
}

TEST_F(ContainersRouter, SystemDfTypeSelectsFromApi142) {
  auto r = call(router, "GET", "/v1.50/system/df?type=image&type=volume");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json(), json::parse(R"({"LayersSize":0,"Images":[],"Containers":null,"Volumes":[],"BuildCache":null})"));
  r = call(router, "GET", "/v1.50/system/df?type=container");
  EXPECT_TRUE(r.json()["Images"].is_null());
  EXPECT_EQ(r.json()["Containers"], json::array());
  r = call(router, "GET", "/v1.41/system/df?type=container");  // ignored below 1.42
  EXPECT_EQ(r.json()["Images"], json::array());
  r = call(router, "GET", "/v1.42/system/df?type=bogus");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "unknown object type: bogus");
}

TEST_F(ContainersRouter, StreamContentTypesFollowDockerd142) {
  auto r = call(router, "GET", "/v1.50/containers/c1/logs?stdout=1");
  EXPECT_EQ(r.contentType, api::kMultiplexedStreamType);
  r = call(router, "GET", "/v1.41/containers/c1/logs?stdout=1");
  EXPECT_EQ(r.contentType, api::kRawStreamType);
  r = post("/v1.50/containers/c1/attach?stream=1&stdout=1");
  EXPECT_EQ(r.contentType, api::kMultiplexedStreamType);
  EXPECT_EQ(callsStartingWith("attach c1").size(), 1u);
  r = post("/v1.41/containers/c1/attach?stream=1&stdout=1");
  EXPECT_EQ(r.contentType, api::kRawStreamType);
  EXPECT_EQ(post("/v1.50/containers/nope/attach?stream=1").status, 404);
}

TEST(ContainersRouterParse, AtoiAndTimestamps) {
  EXPECT_EQ(*api::parseAtoi("-5"), -5);
  EXPECT_EQ(*api::parseAtoi("+7"), 7);
  EXPECT_EQ(api::parseAtoi(" 7").error().message, "strconv.Atoi: parsing \" 7\": invalid syntax");
  EXPECT_EQ(api::parseAtoi("3000000000").error().message, "strconv.Atoi: parsing \"3000000000\": value out of range");
  EXPECT_EQ(*api::parseUnixTimestamp(""), 0);
  EXPECT_EQ(*api::parseUnixTimestamp("12"), 12000000000LL);
  EXPECT_EQ(*api::parseUnixTimestamp("1.000000001"), 1000000001LL);
  EXPECT_EQ(*api::parseUnixTimestamp("1.5"), 1500000000LL);
  EXPECT_FALSE(api::parseUnixTimestamp("1x"));
  EXPECT_FALSE(api::parseUnixTimestamp("1.-5"));
  EXPECT_FALSE(api::parseUnixTimestamp("abc"));
}
