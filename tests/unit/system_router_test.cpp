// /version and /info against a fake HostFactsProvider (no host reads), and
// the daemon's real provider on files in a temp dir.
#include <gtest/gtest.h>

#include "api/server.h"
#include "api/system_router.h"
#include "daemon/host_facts.h"
#include "fake_http.h"

using namespace berth;
using fakehttp::call;
using nlohmann::json;

namespace {

class FakeHost : public api::HostFactsProvider {
 public:
  std::string kernelVersion() override {
    kernelCalls++;
    return "9.9.9-fake";
  }
  api::HostFacts facts() override {
    factsCalls++;
    return {"9.9.9-fake", "Fake OS 1", "fakehost", 7, 123456789};
  }
  int kernelCalls = 0, factsCalls = 0;
};

struct Fixture {
  FakeHost host;
  api::EventBus events;
  api::Router router;
  Fixture() {
    api::SystemInfo info;
    info.dataRoot = "/data/root";
    info.cgroupVersion = "2";
    info.containerCounts = [] { return json{{"total", 3}, {"running", 1}, {"paused", 0}, {"stopped", 2}}; };
    info.imageCount = [] { return 4; };
    info.runtimes = {{"berth", "/bin/berth-monitor"}, {"runc", "runc"}};
    api::registerSystemRoutes(router, events, info, host);
  }
};

}  // namespace

TEST(SystemRouter, VersionShape) {
  Fixture f;
  auto r = call(f.router, "GET", "/v1.41/version");
  ASSERT_EQ(r.status, 200);
  auto j = r.json();
  EXPECT_EQ(j["KernelVersion"], "9.9.9-fake");
  EXPECT_EQ(j["ApiVersion"], api::kApiVersion);
  EXPECT_EQ(j["MinAPIVersion"], api::kMinApiVersion);
  EXPECT_EQ(j["Version"], api::kServerVersion);
  EXPECT_EQ(j["Os"], "linux");
  EXPECT_EQ(j["Arch"], "amd64");
  ASSERT_EQ(j["Components"].size(), 1u);
  EXPECT_EQ(j["Components"][0]["Name"], "Engine");
  EXPECT_EQ(j["Components"][0]["Details"]["KernelVersion"], "9.9.9-fake");
  EXPECT_EQ(j["Platform"]["Name"], "berth");
  EXPECT_EQ(f.host.kernelCalls, 1);
  EXPECT_EQ(f.host.factsCalls, 0);
}

TEST(SystemRouter, InfoShape) {
  Fixture f;
  auto r = call(f.router, "GET", "/info");
  ASSERT_EQ(r.status, 200);
  auto j = r.json();
  EXPECT_EQ(j["KernelVersion"], "9.9.9-fake");
  EXPECT_EQ(j["OperatingSystem"], "Fake OS 1");
  EXPECT_EQ(j["Name"], "fakehost");
  EXPECT_EQ(j["NCPU"], 7);
  EXPECT_EQ(j["MemTotal"], 123456789);
  EXPECT_EQ(j["DockerRootDir"], "/data/root");
  EXPECT_EQ(j["CgroupVersion"], "2");
  EXPECT_EQ(j["Containers"], 3);
  EXPECT_EQ(j["ContainersRunning"], 1);
  EXPECT_EQ(j["ContainersStopped"], 2);
  EXPECT_EQ(j["Images"], 4);
  EXPECT_EQ(j["Runtimes"]["runc"]["path"], "runc");
  EXPECT_EQ(j["DefaultRuntime"], "berth");
  EXPECT_EQ(j["OSType"], "linux");
  EXPECT_EQ(j["ServerVersion"], api::kServerVersion);
  EXPECT_TRUE(j["SystemTime"].is_string());
  EXPECT_EQ(f.host.factsCalls, 1);
}

TEST(HostFacts, ParsesOsReleaseAndMeminfo) {
  EXPECT_EQ(daemon::osReleasePrettyName("NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"),
            "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(daemon::osReleasePrettyName("PRETTY_NAME=Alpine\n"), "Alpine");
  EXPECT_EQ(daemon::osReleasePrettyName("NAME=x\n"), "Linux");
  EXPECT_EQ(daemon::memInfoTotal("MemTotal:       16384256 kB\nMemFree: 1 kB\n"), int64_t(16384256) * 1024);
  EXPECT_EQ(daemon::memInfoTotal("MemTotal: lots kB\n"), 0);
  EXPECT_EQ(daemon::memInfoTotal("MemFree: 1 kB\n"), 0);
}

TEST(HostFacts, ReadsFilesUnderItsRoots) {
  fakehttp::TempDir etc, proc;
  ASSERT_TRUE(writeFileAtomic(etc / "os-release", "PRETTY_NAME=\"Test Linux 3\"\n"));
  ASSERT_TRUE(writeFileAtomic(proc / "meminfo", "MemTotal:  2048 kB\n"));
  daemon::SystemHostFacts host(etc.path(), proc.path());
  auto f = host.facts();
  EXPECT_EQ(f.operatingSystem, "Test Linux 3");
  EXPECT_EQ(f.memTotal, 2048 * 1024);
  EXPECT_GE(f.ncpu, 1);
  EXPECT_FALSE(f.kernelVersion.empty());
  EXPECT_EQ(f.kernelVersion, host.kernelVersion());
  daemon::SystemHostFacts missing(etc / "nope", proc / "nope");
  EXPECT_EQ(missing.facts().operatingSystem, "Linux");
  EXPECT_EQ(missing.facts().memTotal, 0);
}

TEST(SystemRouter, SwarmAnswersAsANodeOutsideASwarm) {
  Fixture f;
  auto r = call(f.router, "GET", "/v1.41/swarm");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.message(),
            "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node "
            "to swarm and try again.");
  r = call(f.router, "POST", "/v1.41/swarm/leave?force=1");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.message(), "This node is not part of a swarm");
  r = call(f.router, "GET", "/v1.41/info");
  EXPECT_EQ(r.json()["Swarm"]["LocalNodeState"], "inactive");
}

TEST(SystemRouter, InfoFieldsGatedOnTheApiVersion) {
  Fixture f;
  auto j = call(f.router, "GET", "/v1.46/info").json();
  EXPECT_TRUE(j["RegistryConfig"]["AllowNondistributableArtifactsCIDRs"].is_null());
  EXPECT_TRUE(j["RegistryConfig"].contains("AllowNondistributableArtifactsHostnames"));
  EXPECT_EQ(j["ContainerdCommit"]["Expected"], j["ContainerdCommit"]["ID"]);
  EXPECT_EQ(j["BridgeNfIptables"], false);
  EXPECT_FALSE(j.contains("FirewallBackend"));
  EXPECT_EQ(j["CDISpecDirs"], json::array());
  j = call(f.router, "GET", "/v1.48/info").json();
  EXPECT_FALSE(j["RegistryConfig"].contains("AllowNondistributableArtifactsCIDRs"));
  EXPECT_TRUE(j["RuncCommit"].contains("Expected"));
  EXPECT_FALSE(j.contains("FirewallBackend"));
  j = call(f.router, "GET", "/v1.49/info").json();
  EXPECT_FALSE(j["RuncCommit"].contains("Expected"));
  EXPECT_EQ(j["FirewallBackend"], json::parse(R"({"Driver":"nftables"})"));
  EXPECT_EQ(j["BridgeNfIp6tables"], false);
  j = call(f.router, "GET", "/v1.50/info").json();
  EXPECT_FALSE(j.contains("BridgeNfIptables"));
  EXPECT_FALSE(j.contains("BridgeNfIp6tables"));
  EXPECT_EQ(j["FirewallBackend"]["Driver"], "nftables");
}
