#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <string>

#include "common/util.h"
#include "container/cgroup_info.h"

using namespace berth;
using namespace berth::container;

namespace {

struct TempRoot {
  std::string path;
  TempRoot() {
    char tmpl[] = "/tmp/berth-cgtest-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempRoot() { (void)removeAll(path); }
  void put(const std::string& rel, const std::string& text) {
    std::string p = path + "/" + rel;
    (void)mkdirAll(p.substr(0, p.rfind('/')), 0755);
    (void)writeFileReplace(p, text);
  }
  std::string get(const std::string& rel) { return trim(readFile(path + "/" + rel).value_or("")); }
};

}  // namespace

TEST(CgroupInfo, SampleV1) {
  TempRoot r;
  const std::string c = "/berth/abc";
  r.put("cpuacct" + c + "/cpuacct.usage", "5000000000\n");
  r.put("cpuacct" + c + "/cpuacct.usage_percpu", "3000000000 2000000000 \n");
  r.put("cpuacct" + c + "/cpuacct.stat", "user 300\nsystem 100\n");
  r.put("cpu" + c + "/cpu.stat", "nr_periods 10\nnr_throttled 4\nthrottled_time 123\n");
  r.put("memory" + c + "/memory.usage_in_bytes", "10485760\n");
  r.put("memory" + c + "/memory.max_usage_in_bytes", "20971520\n");
  r.put("memory" + c + "/memory.limit_in_bytes", "9223372036854771712\n");
  r.put("memory" + c + "/memory.stat", "cache 100\ntotal_inactive_file 4096\n");
  r.put("pids" + c + "/pids.current", "3\n");
  r.put("pids" + c + "/pids.max", "max\n");
  r.put("pids" + c + "/cgroup.procs", "10\n11\n12\n");
  r.put("blkio" + c + "/blkio.throttle.io_service_bytes", "8:0 Read 4096\n8:0 Write 8192\n8:0 Total 12288\nTotal 12288\n");
  CgroupInfo cg(r.path, c);
  EXPECT_FALSE(cg.v2());
  auto s = cg.sample();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->cpuTotalNs, 5000000000u);
  EXPECT_EQ(s->perCpuNs.size(), 2u);
  EXPECT_EQ(s->throttledPeriods, 4u);
  EXPECT_EQ(s->memUsage, 10485760u);
  EXPECT_EQ(s->memLimit, 0u);  // unlimited
  EXPECT_EQ(s->memStats["total_inactive_file"], 4096);
  EXPECT_EQ(s->pidsCurrent, 3u);
  EXPECT_EQ(s->pidsLimit, 0u);
  EXPECT_EQ(s->ioReadBytes, 4096u);
  EXPECT_EQ(s->ioWriteBytes, 8192u);
  auto pids = cg.pids();
  ASSERT_TRUE(pids);
  EXPECT_EQ(pids->size(), 3u);

  auto j = statsJson("abc", "web", *s, 100000000000ull, 2000000000, nullptr, 0, 0, 2, 8ull << 30, false);
  EXPECT_EQ(j["name"], "/web");
  EXPECT_EQ(j["memory_stats"]["limit"], 8ull << 30);  // no limit: the host's memory
  EXPECT_EQ(j["cpu_stats"]["online_cpus"], 2);
  EXPECT_EQ(j["cpu_stats"]["cpu_usage"]["percpu_usage"].size(), 2u);
  EXPECT_FALSE(j["precpu_stats"].contains("system_cpu_usage"));
  EXPECT_EQ(j["pids_stats"]["current"], 3);
  EXPECT_EQ(j["read"], "1970-01-01T00:00:02.000000000Z");
}

TEST(CgroupInfo, SampleV2AndFreezeAndUpdate) {
  TempRoot r;
  r.put("cgroup.controllers", "cpu memory pids\n");
  const std::string d = "berth/abc/";
  r.put(d + "cpu.stat", "usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 1\nnr_throttled 0\nthrottled_usec 0\n");
  r.put(d + "memory.current", "4096\n");
  r.put(d + "memory.max", "33554432\n");
  r.put(d + "memory.stat", "anon 1000\ninactive_file 100\n");
  r.put(d + "pids.current", "1\n");
  r.put(d + "pids.max", "20\n");
  r.put(d + "io.stat", "8:0 rbytes=10 wbytes=20 rios=1 wios=2\n");
  r.put(d + "cgroup.freeze", "0\n");
  r.put(d + "cgroup.events", "populated 1\nfrozen 1\n");
  r.put(d + "cpu.max", "max 100000\n");
  r.put(d + "memory.swap.max", "max\n");
  CgroupInfo cg(r.path, "/berth/abc");
  EXPECT_TRUE(cg.v2());
  auto s = cg.sample();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->cpuTotalNs, 2000000u);
  EXPECT_EQ(s->cpuUserNs, 1500000u);
  EXPECT_EQ(s->memLimit, 33554432u);
  EXPECT_EQ(s->pidsLimit, 20u);
  EXPECT_EQ(s->ioReadBytes, 10u);
  // the fake kernel already says frozen
  ASSERT_TRUE(cg.freeze(true));
  EXPECT_EQ(r.get(d + "cgroup.freeze"), "1");
  ASSERT_TRUE(cg.update({{"memory", {{"limit", 67108864}, {"swap", 134217728}}},
                         {"cpu", {{"quota", 50000}, {"period", 100000}}},
                         {"pids", {{"limit", 30}}}}));
  EXPECT_EQ(r.get(d + "memory.max"), "67108864");
  EXPECT_EQ(r.get(d + "memory.swap.max"), "67108864");
  EXPECT_EQ(r.get(d + "cpu.max"), "50000 100000");
  EXPECT_EQ(r.get(d + "pids.max"), "30");
}

TEST(CgroupInfo, ParsersAndCpuPercentInputs) {
  auto j = parseFlatKeyed("a 1\nb 22\nbad x\n\n");
  EXPECT_EQ(j["a"], 1);
  EXPECT_EQ(j["b"], 22);
  EXPECT_FALSE(j.contains("bad"));
  // user nice system idle iowait irq softirq (steal ... ignored), in USER_HZ ticks
  uint64_t ns = systemCpuNs("cpu  100 0 50 850 0 0 0 7 0 0\ncpu0 1 2 3\n");
  EXPECT_EQ(ns, 1000ull * (1000000000ull / uint64_t(sysconf(_SC_CLK_TCK))));
}
