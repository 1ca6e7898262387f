#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "common/util.h"
#include "container/security.h"
#include "container/spec.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"

using namespace berth::container;
using nlohmann::json;

namespace {

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// Every syscall name the OCI seccomp object allows unconditionally or by rule.
std::vector<std::string> allowedNames(const json& seccomp) {
  std::vector<std::string> out;
  for (const auto& r : seccomp["syscalls"])
    if (r["action"] == "SCMP_ACT_ALLOW")
      for (const auto& n : r["names"]) out.push_back(n.get<std::string>());
  return out;
}

const json* ruleFor(const json& seccomp, const std::string& name) {
  for (const auto& r : seccomp["syscalls"])
    for (const auto& n : r["names"])
      if (n == name) return &r;
  return nullptr;
}

}  // namespace

TEST(ContainerSecurity, DefaultCapabilitiesAreDockers) {
  auto caps = effectiveCapabilities(json::object());
  ASSERT_TRUE(caps);
  EXPECT_EQ(caps->size(), 14u);
  EXPECT_TRUE(has(*caps, "CAP_NET_BIND_SERVICE"));
  EXPECT_FALSE(has(*caps, "CAP_SYS_ADMIN"));
  EXPECT_FALSE(has(*caps, "CAP_NET_ADMIN"));
}

TEST(ContainerSecurity, CapAddDropAndAll) {
  auto r = effectiveCapabilities(json{{"CapAdd", {"sys_admin", "CAP_NET_ADMIN"}}, {"CapDrop", {"chown"}}});
  ASSERT_TRUE(r);
  EXPECT_TRUE(has(*r, "CAP_SYS_ADMIN"));
  EXPECT_TRUE(has(*r, "CAP_NET_ADMIN"));
  EXPECT_FALSE(has(*r, "CAP_CHOWN"));
  EXPECT_EQ(r->size(), 15u);

  r = effectiveCapabilities(json{{"CapDrop", {"ALL"}}, {"CapAdd", {"NET_RAW"}}});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, std::vector<std::string>{"CAP_NET_RAW"});

  r = effectiveCapabilities(json{{"CapAdd", {"ALL"}}, {"CapDrop", {"MKNOD"}}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), allCapabilityNames().size() - 1);
  EXPECT_FALSE(has(*r, "CAP_MKNOD"));

  r = effectiveCapabilities(json{{"Privileged", true}, {"CapDrop", {"ALL"}}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), allCapabilityNames().size());

  r = effectiveCapabilities(json{{"CapAdd", {"NOPE"}}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "invalid CapAdd: unknown capability: \"CAP_NOPE\"");
}

TEST(ContainerSecurity, SecurityOptions) {
  auto o = parseSecurityOptions(json{"seccomp=unconfined", "no-new-privileges"});
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->seccompUnconfined);
  EXPECT_TRUE(o->noNewPrivileges);
  o = parseSecurityOptions(json{"no-new-privileges=false", "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}", "label=disable"});
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->noNewPrivileges);
  EXPECT_EQ(o->seccompProfile, "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}");
  o = parseSecurityOptions(json{"no-new-privileges", "bogus"});
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().message, "invalid --security-opt 2: \"bogus\"");
  EXPECT_TRUE(parseSecurityOptions(json(nullptr)));
}

TEST(ContainerSecurity, DefaultSeccompDependsOnCapabilities) {
  auto caps = *effectiveCapabilities(json::object());
  auto s = seccompForSpec(defaultSeccompProfile(), caps);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ((*s)["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_EQ((*s)["defaultErrnoRet"], 1);
  EXPECT_EQ((*s)["architectures"], json({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
  auto allowed = allowedNames(*s);
  EXPECT_TRUE(has(allowed, "read"));
  EXPECT_TRUE(has(allowed, "chroot"));  // CAP_SYS_CHROOT is a default
  EXPECT_TRUE(has(allowed, "arch_prctl"));
  for (const char* denied : {"mount", "umount2", "unshare", "setns", "reboot", "init_module", "kexec_load",
                             "open_by_handle_at", "clock_settime"})
    EXPECT_FALSE(has(allowed, denied)) << denied;
  // clone only without namespace flags; clone3 answers ENOSYS
  const json* clone = ruleFor(*s, "clone");
  ASSERT_NE(clone, nullptr);
  EXPECT_EQ((*clone)["args"][0]["op"], "SCMP_CMP_MASKED_EQ");
  EXPECT_EQ((*clone)["args"][0]["value"], 0x7E020000u);
  const json* clone3 = ruleFor(*s, "clone3");
  ASSERT_NE(clone3, nullptr);
  EXPECT_EQ((*clone3)["action"], "SCMP_ACT_ERRNO");
  EXPECT_EQ((*clone3)["errnoRet"], 38);

  caps.push_back("CAP_SYS_ADMIN");
  caps.push_back("CAP_SYS_BOOT");
  s = seccompForSpec(defaultSeccompProfile(), caps);
  ASSERT_TRUE(s);
  allowed = allowedNames(*s);
  EXPECT_TRUE(has(allowed, "mount"));
  EXPECT_TRUE(has(allowed, "unshare"));
  EXPECT_TRUE(has(allowed, "reboot"));
  clone = ruleFor(*s, "clone");
  ASSERT_NE(clone, nullptr);
  EXPECT_FALSE(clone->contains("args"));  // unrestricted with CAP_SYS_ADMIN
  clone3 = ruleFor(*s, "clone3");
  EXPECT_EQ((*clone3)["action"], "SCMP_ACT_ALLOW");
}

TEST(ContainerSecurity, DefaultSeccompForSpecIsKeptPerCapabilitySet) {
  auto caps = *effectiveCapabilities(json::object());
  auto more = caps;
  more.push_back("CAP_SYS_ADMIN");
  // Twice each, interleaved: the kept result is the built one, per set.
  for (int round = 0; round < 2; round++) {
    EXPECT_EQ(defaultSeccompForSpec(caps), *seccompForSpec(defaultSeccompProfile(), caps));
    EXPECT_EQ(defaultSeccompForSpec(more), *seccompForSpec(defaultSeccompProfile(), more));
  }
  EXPECT_NE(defaultSeccompForSpec(caps), defaultSeccompForSpec(more));
  EXPECT_EQ(defaultSeccompForSpec({}), *seccompForSpec(defaultSeccompProfile(), std::vector<std::string>{}));
}

TEST(ContainerSecurity, SeccompProfileParsing) {
  auto s = seccompForSpec(std::string(R"({"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],
    "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13},
                {"name":"chmod","action":"SCMP_ACT_KILL"},
                {"names":["ptrace"],"action":"SCMP_ACT_ERRNO","includes":{"caps":["CAP_SYS_PTRACE"]}}]})"),
                          std::vector<std::string>{});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ((*s)["syscalls"].size(), 2u);
  EXPECT_EQ((*s)["syscalls"][0]["errnoRet"], 13);
  EXPECT_EQ((*s)["syscalls"][1]["names"], json({"chmod"}));

  auto bad = seccompForSpec(std::string("{not json"), {});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("decoding seccomp profile failed"), std::string::npos);
  bad = seccompForSpec(std::string(R"({"defaultAction":"SCMP_ACT_NOPE"})"), {});
  ASSERT_FALSE(bad);
  bad = seccompForSpec(std::string(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ALLOW","args":[{"index":9,"value":0,"op":"SCMP_CMP_EQ"}]}]})"), {});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("index 9"), std::string::npos);
}

TEST(ContainerSecurity, DefaultSeccompCompilesWithLibseccomp) {
  auto s = seccompForSpec(defaultSeccompProfile(), *effectiveCapabilities(json::object()));
  ASSERT_TRUE(s);
  std::string text = json{{"ociVersion", "1.0.2"},
                          {"process", {{"args", {"true"}}}},
                          {"root", {{"path", "/r"}}},
                          {"linux", {{"seccomp", *s}, {"sysctl", {{"net.ipv4.ip_forward", "1"}}}}}}
                         .dump();
  auto spec = berth::runtime::parseSpec(text, "/b");
  ASSERT_TRUE(spec) << spec.error().message;
  ASSERT_TRUE(spec->seccomp);
  EXPECT_EQ(spec->sysctl.at("net.ipv4.ip_forward"), "1");
  EXPECT_EQ(spec->seccomp->defaultErrnoRet, 1u);
  auto prog = berth::runtime::compileSeccomp(*spec->seccomp);
  ASSERT_TRUE(prog) << prog.error().message;
  EXPECT_GT(prog->filter.size(), 300u);

  // the cache gives the same program, from the file the second time
  char tmpl[] = "/tmp/berth-seccache-XXXXXX";
  std::string cache = mkdtemp(tmpl);
  auto first = berth::runtime::compileSeccompCached(*spec->seccomp, cache);
  auto second = berth::runtime::compileSeccompCached(*spec->seccomp, cache);
  ASSERT_TRUE(first && second);
  ASSERT_EQ(first->filter.size(), prog->filter.size());
  ASSERT_EQ(second->filter.size(), prog->filter.size());
  EXPECT_EQ(std::memcmp(second->filter.data(), prog->filter.data(), prog->filter.size() * sizeof(sock_filter)), 0);
  auto other = *spec->seccomp;
  other.syscalls.pop_back();
  EXPECT_NE(berth::runtime::seccompKey(other), berth::runtime::seccompKey(*spec->seccomp));
  (void)berth::removeAll(cache);

  berth::runtime::Seccomp bad;
  bad.defaultAction = "SCMP_ACT_WHAT";
  EXPECT_FALSE(berth::runtime::compileSeccomp(bad));
}

TEST(ContainerSecurity, DevicesRulesAndHostDevices) {
  auto rules = defaultDeviceRules(false);
  EXPECT_EQ(rules[0]["allow"], false);
  bool nullAllowed = false;
  for (const auto& r : rules)
    if (r.value("major", -1) == 1 && r.value("minor", -1) == 3 && r["allow"] == true) nullAllowed = true;
  EXPECT_TRUE(nullAllowed);
  EXPECT_EQ(defaultDeviceRules(true).size(), 1u);

  auto d = hostDevices(json::array({{{"PathOnHost", "/dev/null"}, {"PathInContainer", "/dev/n"}, {"CgroupPermissions", "rw"}}}));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->devices[0]["path"], "/dev/n");
  EXPECT_EQ(d->devices[0]["major"], 1);
  EXPECT_EQ(d->devices[0]["minor"], 3);
  EXPECT_EQ(d->rules[0]["access"], "rw");
  auto missing = hostDevices(json::array({{{"PathOnHost", "/dev/nope-x"}}}));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("\"/dev/nope-x\": no such file or directory"), std::string::npos);
  EXPECT_FALSE(hostDevices(json::array({{{"PathOnHost", "/dev/null"}, {"CgroupPermissions", "rwx"}}})));
}

TEST(ContainerSecurity, Sysctls) {
  EXPECT_TRUE(validateSysctl("net.ipv4.ip_forward", false, false, false));
  EXPECT_FALSE(validateSysctl("net.ipv4.ip_forward", true, false, false));
  EXPECT_TRUE(validateSysctl("kernel.shmmax", false, false, false));
  EXPECT_FALSE(validateSysctl("kernel.shmmax", false, true, false));
  EXPECT_TRUE(validateSysctl("fs.mqueue.msg_max", false, false, false));
  auto r = validateSysctl("vm.swappiness", false, false, false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "sysctl \"vm.swappiness\" is not in a separate kernel namespace");
}

namespace {
uint64_t fakeHard(int) { return 1024; }
}  // namespace

TEST(ContainerSecurity, Rlimits) {
  RlimitQuery q{false, fakeHard};
  auto r = rlimitsFor(json::array({{{"Name", "nofile"}, {"Soft", 100}, {"Hard", 200}}}), q);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0]["type"], "RLIMIT_NOFILE");
  EXPECT_EQ((*r)[0]["soft"], 100);
  EXPECT_EQ((*r)[0]["hard"], 200);
  r = rlimitsFor(json::array({{{"Name", "nofile"}, {"Soft", 100}, {"Hard", 2048}}}), q);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("hard limit 2048 is above the host's hard limit 1024"), std::string::npos);
  EXPECT_NE(r.error().message.find("CAP_SYS_RESOURCE"), std::string::npos);
  q.canRaise = true;
  EXPECT_TRUE(rlimitsFor(json::array({{{"Name", "nofile"}, {"Soft", 100}, {"Hard", 2048}}}), q));
  EXPECT_FALSE(rlimitsFor(json::array({{{"Name", "bogus"}, {"Soft", 1}, {"Hard", 1}}}), q));
  EXPECT_FALSE(rlimitsFor(json::array({{{"Name", "nproc"}, {"Soft", 10}, {"Hard", 1}}}), q));
  EXPECT_EQ(rlimitName("memlock"), "RLIMIT_MEMLOCK");
}

TEST(ContainerSecurity, ResourcesFollowDockersDefaults) {
  auto r = resourcesFor(json{{"Memory", 32 << 20}, {"NanoCpus", 500000000}, {"CpuShares", 512}, {"PidsLimit", 20},
                             {"CpusetCpus", "0"}, {"BlkioWeight", 300}, {"MemoryReservation", 16 << 20}});
  EXPECT_EQ(r["memory"]["limit"], 32 << 20);
  EXPECT_EQ(r["memory"]["swap"], 64 << 20);  // as much swap as memory
  EXPECT_EQ(r["memory"]["reservation"], 16 << 20);
  EXPECT_EQ(r["cpu"]["quota"], 50000);
  EXPECT_EQ(r["cpu"]["period"], 100000);
  EXPECT_EQ(r["cpu"]["shares"], 512);
  EXPECT_EQ(r["cpu"]["cpus"], "0");
  EXPECT_EQ(r["pids"]["limit"], 20);
  EXPECT_EQ(r["blockIO"]["weight"], 300);
  r = resourcesFor(json{{"Memory", 32 << 20}, {"MemorySwap", -1}, {"PidsLimit", -1}});
  EXPECT_EQ(r["memory"]["swap"], -1);
  EXPECT_EQ(r["pids"]["limit"], -1);
  EXPECT_TRUE(resourcesFor(json::object()).empty());
}

TEST(ContainerSecurity, ValidateHostConfigMessages) {
  auto msg = [](const json& hc) {
    auto r = validateHostConfig(hc, 2);
    return r ? std::string() : r.error().message;
  };
  EXPECT_EQ(msg(json{{"Memory", 1 << 20}}), "Minimum memory limit allowed is 6MB");
  EXPECT_EQ(msg(json{{"NanoCpus", int64_t(3e9)}}), "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available");
  EXPECT_EQ(msg(json{{"Memory", 32 << 20}, {"MemorySwap", 16 << 20}}),
            "Minimum memoryswap limit should be larger than memory limit, see usage");
  EXPECT_EQ(msg(json{{"BlkioWeight", 5}}), "Range of blkio weight is from 10 to 1000");
  EXPECT_EQ(msg(json{{"OomScoreAdj", 1001}}), "Invalid value 1001, range for oom score adj is [-1000, 1000]");
  EXPECT_EQ(msg(json{{"CpusetCpus", "5"}}), "Requested CPUs are not available - requested 5, available: 0-1");
  EXPECT_EQ(msg(json{{"CpusetCpus", "a-"}}), "Invalid value a- for cpuset cpus");
  EXPECT_EQ(msg(json{{"Sysctls", {{"vm.swappiness", "1"}}}}), "sysctl \"vm.swappiness\" is not in a separate kernel namespace");
  EXPECT_EQ(msg(json{{"Memory", 32 << 20}, {"NanoCpus", int64_t(1e9)}, {"CpusetCpus", "0-1"}, {"PidMode", "host"}}), "");
  EXPECT_EQ(msg(json{{"PidMode", "container:abc"}, {"IpcMode", "container:abc"}}), "");
  EXPECT_EQ(msg(json{{"IpcMode", "shareable"}}), "");
  EXPECT_EQ(msg(json{{"PidMode", "container:"}}), "invalid PidMode: \"container:\"");
  EXPECT_EQ(msg(json{{"UTSMode", "container:abc"}}), "invalid UTSMode: \"container:abc\" is not supported by berth");
}

// ---- spec generation: the host config's security and resource fields in config.json

namespace {

class SpecGen : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-specgen-XXXXXX";
    dir_ = mkdtemp(tmpl);
    ASSERT_TRUE(berth::mkdirAll(dir_ + "/etc"));
    ASSERT_TRUE(berth::writeFileAtomic(dir_ + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"));
    ASSERT_TRUE(berth::writeFileAtomic(dir_ + "/etc/group", "root:x:0:\naudio:x:29:\n"));
    c_.id = std::string(64, 'b');
    c_.path = "sh";
    c_.config = {{"Env", {"PATH=/bin"}}};
    c_.hostConfig = {{"NetworkMode", "default"}};
  }
  void TearDown() override { (void)berth::removeAll(dir_); }
  json build() {
    auto s = buildSpec(c_, SpecPaths{"/b", {dir_}, "berth", "/usr/bin/berth-monitor"});
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return s ? *s : json();
  }
  bool hasNs(const json& s, const char* type) {
    for (const auto& n : s["linux"]["namespaces"])
      if (n["type"] == type) return true;
    return false;
  }
  std::string dir_;
  Container c_;
};

}  // namespace

// config.json's text (the default profile's cached text spliced in) is
// buildSpec's document, whatever the profile: default, another capability
// set, a profile of the user's, none.
TEST_F(SpecGen, SpecTextIsTheDocument) {
  SpecPaths paths{"/b", {dir_}, "berth", "/usr/bin/berth-monitor"};
  auto same = [&](const char* what) {
    auto doc = buildSpec(c_, paths);
    auto text = buildSpecText(c_, paths);
    ASSERT_TRUE(doc && text) << what;
    EXPECT_EQ(json::parse(text->text), *doc) << what;
    EXPECT_EQ(text->cgroupsPath, (*doc)["linux"]["cgroupsPath"]) << what;
  };
  same("default");
  EXPECT_NE(buildSpecText(c_, paths)->text.find("\"SCMP_ACT_ERRNO\""), std::string::npos);
  c_.hostConfig["CapAdd"] = {"SYS_ADMIN"};
  same("cap-add SYS_ADMIN");
  c_.hostConfig["SecurityOpt"] = {R"(seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]})"};
  same("a profile of the user's");
  c_.hostConfig["SecurityOpt"] = {"seccomp=unconfined"};
  same("unconfined");
  EXPECT_FALSE(buildSpec(c_, paths)->at("linux").contains("seccomp"));
  // A label or annotation spelling the member does not move it.
  c_.hostConfig["SecurityOpt"] = json::array();
  c_.hostConfig["Annotations"] = {{"x", R"("seccomp":null)"}};
  same("an annotation that spells the member");
}

TEST_F(SpecGen, DefaultConfinement) {
  json s = build();
  EXPECT_EQ(s["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(s["process"]["noNewPrivileges"], false);
  EXPECT_EQ(s["linux"]["resources"]["devices"][0]["allow"], false);
  EXPECT_TRUE(s["linux"]["maskedPaths"].size() > 5);
  for (const char* ns : {"pid", "ipc", "uts", "mount", "network"}) EXPECT_TRUE(hasNs(s, ns)) << ns;
  EXPECT_FALSE(s["process"].contains("rlimits"));
  EXPECT_EQ(s["process"]["args"], json({"sh"}));
}

TEST_F(SpecGen, PrivilegedAndSecurityOptions) {
  c_.hostConfig["Privileged"] = true;
  json s = build();
  EXPECT_FALSE(s["linux"].contains("seccomp"));
  EXPECT_FALSE(s["linux"].contains("maskedPaths"));
  EXPECT_EQ(s["process"]["capabilities"]["bounding"].size(), allCapabilityNames().size());
  EXPECT_EQ(s["linux"]["resources"]["devices"], json::array({{{"allow", true}, {"access", "rwm"}}}));
  c_.hostConfig = {{"SecurityOpt", {"seccomp=unconfined", "no-new-privileges"}}, {"CapDrop", {"ALL"}}};
  s = build();
  EXPECT_FALSE(s["linux"].contains("seccomp"));
  EXPECT_EQ(s["process"]["noNewPrivileges"], true);
  EXPECT_TRUE(s["process"]["capabilities"]["bounding"].empty());
}

TEST_F(SpecGen, ModesResourcesAndExtras) {
  c_.hostConfig = {{"PidMode", "host"}, {"IpcMode", "host"}, {"UTSMode", "host"}, {"NetworkMode", "host"},
                   {"CgroupParent", "custom/parent"}, {"Memory", 32 << 20}, {"PidsLimit", 20},
                   {"OomScoreAdj", 300}, {"GroupAdd", {"audio", "4242"}}, {"Init", true},
                   {"Ulimits", {{{"Name", "nofile"}, {"Soft", 10}, {"Hard", 20}}}},
                   {"Sysctls", {{"kernel.shmmax", "1000"}}}};
  c_.hostConfig["IpcMode"] = "private";  // a sysctl of the IPC namespace needs one
  json s = build();
  EXPECT_FALSE(hasNs(s, "pid"));
  EXPECT_FALSE(hasNs(s, "uts"));
  EXPECT_FALSE(hasNs(s, "network"));
  EXPECT_TRUE(hasNs(s, "ipc"));
  EXPECT_FALSE(s.contains("hostname"));  // the host's name stays
  EXPECT_EQ(s["linux"]["cgroupsPath"], "/custom/parent/" + c_.id);
  EXPECT_EQ(s["linux"]["resources"]["memory"]["limit"], 32 << 20);
  EXPECT_EQ(s["linux"]["resources"]["pids"]["limit"], 20);
  EXPECT_EQ(s["process"]["oomScoreAdj"], 300);
  EXPECT_EQ(s["process"]["user"]["additionalGids"], json({29, 4242}));
  EXPECT_EQ(s["process"]["args"], json({"/dev/init", "--", "sh"}));
  bool initMount = false;
  for (const auto& m : s["mounts"])
    if (m["destination"] == "/dev/init" && m["source"] == "/usr/bin/berth-monitor") initMount = true;
  EXPECT_TRUE(initMount);
  EXPECT_EQ(s["process"]["rlimits"][0]["type"], "RLIMIT_NOFILE");
  EXPECT_EQ(s["linux"]["sysctl"]["kernel.shmmax"], "1000");

  c_.hostConfig = {{"GroupAdd", {"nosuchgroup"}}};
  auto bad = buildSpec(c_, SpecPaths{"/b", {dir_}, "berth", ""});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "Unable to find group nosuchgroup: no matching entries in group file");
}

TEST_F(SpecGen, ExecInheritsConfinement) {
  json s = build();
  json proc = processSpec({"true"}, {}, "/", ResolvedUser{}, false, 0, 0, defaultCapabilities());
  inheritConfinement(proc, s, false);
  EXPECT_EQ(proc["berthSeccomp"], s["linux"]["seccomp"]);
  EXPECT_EQ(proc["capabilities"], s["process"]["capabilities"]);
  inheritConfinement(proc, s, true);
  EXPECT_EQ(proc["capabilities"]["bounding"].size(), allCapabilityNames().size());
}
