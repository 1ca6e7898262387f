// src/cri/pods.h: the pure parts of pod sandboxes (create body, names,
// resolv.conf, the pause image's tar, stats, filters).
#include "cri/pods.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

using namespace berth;
using namespace berth::cri;
using json = nlohmann::json;

namespace {

SandboxRequest request() {
  SandboxRequest r;
  r.metadata = {"web", "uid-1", "default", 1};
  r.hostname = "web-0";
  r.cgroupParent = "/kubepods/podx";
  r.sysctls = {{"net.ipv4.ip_unprivileged_port_start", "0"}};
  return r;
}

}  // namespace

TEST(CriPods, CreateBodyForAPodNetwork) {
  json b = sandboxCreateBody(request(), "sha256:abc");
  EXPECT_EQ(b["Image"], "sha256:abc");
  EXPECT_EQ(b["Entrypoint"], json::array({"/pause"}));
  EXPECT_EQ(b["Hostname"], "web-0");
  EXPECT_EQ(b["Labels"]["io.berth.namespace"], "k8s.io");
  EXPECT_EQ(b["Labels"][kLabelKind], kKindSandbox);
  EXPECT_EQ(b["Labels"]["io.kubernetes.pod.uid"], "uid-1");
  const json& hc = b["HostConfig"];
  EXPECT_EQ(hc["NetworkMode"], "none");
  EXPECT_EQ(hc["IpcMode"], "shareable");  // pod containers join it
  EXPECT_FALSE(hc.contains("PidMode"));   // a PID namespace of its own
  EXPECT_FALSE(hc.contains("UTSMode"));
  EXPECT_EQ(hc["CgroupParent"], "kubepods/podx");
  EXPECT_EQ(hc["Sysctls"]["net.ipv4.ip_unprivileged_port_start"], "0");
  EXPECT_EQ(hc["RestartPolicy"]["Name"], "no");  // never restarted by surprise
  EXPECT_EQ(hc["LogConfig"]["Type"], "none");
  EXPECT_FALSE(hc.contains("Privileged"));
}

TEST(CriPods, CreateBodyForHostNamespaces) {
  SandboxRequest r = request();
  r.namespaces.network = NamespaceMode::Node;
  r.namespaces.pid = NamespaceMode::Node;
  r.namespaces.ipc = NamespaceMode::Node;
  r.cgroupParent.clear();
  r.sysctls.clear();
  r.privileged = true;
  json b = sandboxCreateBody(r, "sha256:abc");
  const json& hc = b["HostConfig"];
  EXPECT_EQ(hc["NetworkMode"], "host");
  EXPECT_EQ(hc["PidMode"], "host");
  EXPECT_EQ(hc["IpcMode"], "host");
  EXPECT_EQ(hc["UTSMode"], "host");
  EXPECT_FALSE(b.contains("Hostname"));
  EXPECT_FALSE(hc.contains("CgroupParent"));
  EXPECT_FALSE(hc.contains("Sysctls"));
  EXPECT_EQ(hc["Privileged"], true);
  // PID shared within the pod: the sandbox still has its own namespace.
  r = request();
  r.namespaces.pid = NamespaceMode::Pod;
  EXPECT_FALSE(sandboxCreateBody(r, "x")["HostConfig"].contains("PidMode"));
}

TEST(CriPods, NamesAndResolvConf) {
  EXPECT_EQ(sandboxName({"web", "default", "uid-1", 3}), "k8s_POD_web_uid-1_default_3");
  EXPECT_EQ(sandboxName({"a b/c", "ns", "u:1", 0}), "k8s_POD_a-b-c_u-1_ns_0");
  EXPECT_EQ(resolvConfText({{"10.0.0.10", "10.0.0.11"}, {"svc.cluster.local", "cluster.local"}, {"ndots:5"}}),
            "search svc.cluster.local cluster.local\nnameserver 10.0.0.10\nnameserver 10.0.0.11\noptions ndots:5\n");
  EXPECT_EQ(resolvConfText({{"1.1.1.1"}, {}, {}}), "nameserver 1.1.1.1\n");
  EXPECT_EQ(resolvConfText({}), "");
}

TEST(CriPods, PauseTarHoldsOneExecutableFile) {
  std::string bin(1000, 'x');
  bin[0] = '\x7f';
  std::string tar = pauseTar(bin);
  EXPECT_EQ(tar.size() % 512, 0u);
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  ASSERT_EQ(archive_read_open_memory(a, tar.data(), tar.size()), ARCHIVE_OK);
  struct archive_entry* e;
  ASSERT_EQ(archive_read_next_header(a, &e), ARCHIVE_OK);
  EXPECT_STREQ(archive_entry_pathname(e), "pause");
  EXPECT_EQ(archive_entry_perm(e), 0755);
  EXPECT_EQ(archive_entry_filetype(e), AE_IFREG);
  EXPECT_EQ(archive_entry_size(e), 1000);
  std::string data(1000, '\0');
  EXPECT_EQ(archive_read_data(a, data.data(), data.size()), 1000);
  EXPECT_EQ(data, bin);
  EXPECT_EQ(archive_read_next_header(a, &e), ARCHIVE_EOF);
  archive_read_free(a);
}

TEST(CriPods, StatsSumContainersAndTakeTheSandboxNetwork) {
  json sandbox = json::parse(R"({"cpu_stats":{"cpu_usage":{"total_usage":1000}},
    "memory_stats":{"usage":4096,"stats":{"total_inactive_file":1024,"total_rss":2048,"total_pgfault":7,"total_pgmajfault":1}},
    "pids_stats":{"current":1},
    "networks":{"eth0":{"rx_bytes":10,"rx_errors":1,"tx_bytes":20,"tx_errors":2}}})");
  json ctr = json::parse(R"({"cpu_stats":{"cpu_usage":{"total_usage":500}},
    "memory_stats":{"usage":100,"stats":{"inactive_file":200,"anon":50,"pgfault":3,"pgmajfault":0}},
    "pids_stats":{"current":3},
    "networks":{"eth0":{"rx_bytes":99}}})");
  SandboxStats s;
  addDockerStats(s, sandbox, true);
  addDockerStats(s, ctr, false);
  addDockerStats(s, json::parse(R"({"cpu_stats":"bad","memory_stats":[],"pids_stats":{"current":-4}})"), false);
  EXPECT_EQ(s.cpuUsageCoreNanos, 1500u);
  EXPECT_EQ(s.memoryUsageBytes, 4196u);
  EXPECT_EQ(s.memoryWorkingSetBytes, 3072u);  // 4096-1024, and 0 (not negative) for 100-200
  EXPECT_EQ(s.memoryRssBytes, 2098u);
  EXPECT_EQ(s.pageFaults, 10u);
  EXPECT_EQ(s.majorPageFaults, 1u);
  EXPECT_EQ(s.processes, 4u);
  ASSERT_EQ(s.interfaces.size(), 1u);
  EXPECT_EQ(s.interfaces[0].name, "eth0");
  EXPECT_EQ(s.interfaces[0].rxBytes, 10u);
  EXPECT_EQ(s.interfaces[0].txErrors, 2u);
}

TEST(CriPods, Filters) {
  Sandbox s;
  s.id = std::string(64, 'a');
  s.labels = {{"app", "web"}, {"tier", "front"}};
  s.state = SandboxState::Ready;
  EXPECT_TRUE(matchesFilter(s, {}));
  EXPECT_TRUE(matchesFilter(s, {"aaa", SandboxState::Ready, {{"app", "web"}}}));
  EXPECT_FALSE(matchesFilter(s, {"ab", std::nullopt, {}}));
  EXPECT_FALSE(matchesFilter(s, {"", SandboxState::NotReady, {}}));
  EXPECT_FALSE(matchesFilter(s, {"", std::nullopt, {{"app", "db"}}}));
  EXPECT_FALSE(matchesFilter(s, {"", std::nullopt, {{"app", "web"}, {"zone", "a"}}}));
}
