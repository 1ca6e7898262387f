#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "runtime/caps.h"
#include "runtime/cgroups.h"
#include "runtime/launch.h"
#include "runtime/mounts.h"
#include "runtime/spec.h"

using namespace berth::runtime;

namespace {

const char* kConfig = R"({
  "ociVersion": "1.0.2",
  "process": {
    "terminal": true, "consoleSize": {"height": 24, "width": 80},
    "user": {"uid": 1000, "gid": 1001, "additionalGids": [10, 20]},
    "args": ["sh", "-c", "echo hi"],
    "env": ["PATH=/usr/bin:/bin", "HOME=/root"],
    "cwd": "/work",
    "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_BOGUS"], "effective": ["CAP_CHOWN"],
                     "permitted": ["CAP_CHOWN", "CAP_KILL"]},
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 1024}, {"type": "RLIMIT_NOPE", "hard": 1, "soft": 1}],
    "noNewPrivileges": true,
    "oomScoreAdj": 100
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "box",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/etc/hosts", "type": "bind", "source": "/var/lib/berth/c/hosts", "options": ["rbind", "ro"]},
    {"destination": "/data", "source": "vol", "options": ["bind"]}
  ],
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "network", "path": "/run/netns/x"}],
    "cgroupsPath": "/berth/abc",
    "resources": {"memory": {"limit": 1048576, "swap": 2097152}, "cpu": {"shares": 512, "quota": 50000, "period": 100000},
                  "pids": {"limit": 64},
                  "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]},
    "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438}],
    "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"]
  },
  "annotations": {"berth.overlay.lowerdir": "/l1:/l2", "berth.overlay.upperdir": "/u", "berth.overlay.workdir": "/w",
                  "berth.stdin": "1"}
})";

}  // namespace

TEST(RuntimeSpec, ParsesEverythingTheRuntimeReads) {
  auto s = parseSpec(kConfig, "/bundle");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(s->process.terminal);
  EXPECT_EQ(s->process.consoleHeight, 24);
  EXPECT_EQ(s->process.consoleWidth, 80);
  EXPECT_EQ(s->process.user.uid, 1000u);
  EXPECT_EQ(s->process.user.gid, 1001u);
  EXPECT_EQ(s->process.user.additionalGids, (std::vector<gid_t>{10, 20}));
  EXPECT_EQ(s->process.args.size(), 3u);
  EXPECT_EQ(s->process.cwd, "/work");
  ASSERT_TRUE(s->process.capabilities);
  EXPECT_EQ(s->process.capabilities->bounding.size(), 3u);
  ASSERT_EQ(s->process.rlimits.size(), 1u);  // unknown rlimit dropped
  EXPECT_EQ(s->process.rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(s->process.rlimits[0].soft, 1024u);
  EXPECT_TRUE(s->process.noNewPrivileges);
  EXPECT_EQ(s->process.oomScoreAdj, 100);
  EXPECT_EQ(s->rootPath, "/bundle/rootfs");
  EXPECT_TRUE(s->rootReadonly);
  EXPECT_EQ(s->hostname, "box");
  ASSERT_EQ(s->mounts.size(), 3u);
  EXPECT_EQ(s->mounts[2].type, "bind");  // inferred from options
  EXPECT_EQ(s->mounts[2].source, "/bundle/vol");
  ASSERT_EQ(s->namespaces.size(), 3u);
  EXPECT_EQ(s->findNamespace("network")->path, "/run/netns/x");
  EXPECT_EQ(s->findNamespace("uts"), nullptr);
  EXPECT_EQ(s->cgroupsPath, "/berth/abc");
  EXPECT_EQ(s->resources.memoryLimit, 1048576);
  EXPECT_EQ(s->resources.memorySwap, 2097152);
  EXPECT_EQ(s->resources.cpuShares, 512u);
  EXPECT_EQ(s->resources.cpuQuota, 50000);
  EXPECT_EQ(s->resources.pidsLimit, 64);
  ASSERT_EQ(s->resources.devices.size(), 2u);
  EXPECT_EQ(s->resources.devices[0].type, "a");
  EXPECT_EQ(s->resources.devices[0].major, -1);
  ASSERT_EQ(s->devices.size(), 1u);
  EXPECT_EQ(s->devices[0].fileMode, 0666u);
  EXPECT_EQ(s->maskedPaths.size(), 1u);
  auto ov = s->overlay();
  ASSERT_TRUE(ov);
  EXPECT_EQ(overlayData(*ov), "lowerdir=/l1:/l2,upperdir=/u,workdir=/w");
  EXPECT_FALSE(ov->volatileUpper);
  EXPECT_TRUE(s->stdinWanted());
}

TEST(RuntimeSpec, VolatileOverlayOnlyWhenAnnotated) {
  auto doc = [](std::string_view v) {
    return fmt::format(R"({{"process":{{"args":["x"]}},"root":{{"path":"/r"}},"annotations":{{)"
                       R"("berth.overlay.lowerdir":"/l","berth.overlay.upperdir":"/u","berth.overlay.workdir":"/w"{}}}}})",
                       v);
  };
  auto on = parseSpec(doc(R"(,"berth.overlay.volatile":"1")"), "/b");
  ASSERT_TRUE(on);
  ASSERT_TRUE(on->overlay());
  EXPECT_EQ(overlayData(*on->overlay()), "lowerdir=/l,upperdir=/u,workdir=/w,volatile");
  for (auto other : {R"(,"berth.overlay.volatile":"0")", R"(,"berth.overlay.volatile":"yes")", ""}) {
    auto off = parseSpec(doc(other), "/b");
    ASSERT_TRUE(off) << other;
    EXPECT_EQ(overlayData(*off->overlay()), "lowerdir=/l,upperdir=/u,workdir=/w") << other;
  }
}

TEST(RuntimeSpec, RejectsBadDocuments) {
  EXPECT_FALSE(parseSpec("{", "/b"));
  EXPECT_FALSE(parseSpec("[]", "/b"));
  EXPECT_FALSE(parseSpec(R"({"root":{"path":"/r"}})", "/b"));
  EXPECT_FALSE(parseSpec(R"({"process":{"args":[]},"root":{"path":"/r"}})", "/b"));
  EXPECT_FALSE(parseSpec(R"({"process":{"args":["x"]}})", "/b"));
  auto bad = parseSpec(R"({"process":{"args":["x"]},"root":{"path":"/r"},"mounts":[{"destination":"rel"}]})", "/b");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, berth::Code::InvalidArgument);
  // wrong types are errors, not exceptions
  EXPECT_FALSE(parseSpec(R"({"process":{"args":["x"],"terminal":"yes"},"root":{"path":"/r"}})", "/b"));
  auto noOverlay = parseSpec(R"({"process":{"args":["x"]},"root":{"path":"/r"}})", "/b");
  ASSERT_TRUE(noOverlay);
  EXPECT_FALSE(noOverlay->overlay());
  EXPECT_FALSE(noOverlay->stdinWanted());
  EXPECT_EQ(noOverlay->process.cwd, "/");
}

TEST(RuntimeSpec, ParsesProcessForExec) {
  auto p = parseProcess(R"({"args":["ls","-l"],"env":["A=1"],"cwd":"/tmp","user":{"uid":5,"gid":6}})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->args[1], "-l");
  EXPECT_EQ(p->user.uid, 5u);
  EXPECT_FALSE(p->capabilities);
  EXPECT_FALSE(p->berthStdin);
  EXPECT_TRUE(parseProcess(R"({"args":["cat"],"berthStdin":true})")->berthStdin);
  EXPECT_FALSE(parseProcess(R"({"env":[]})"));
}

TEST(RuntimeSpec, MountOptions) {
  auto f = parseMountOptions({"rbind", "ro", "nosuid", "rprivate", "mode=755", "size=64m"});
  EXPECT_TRUE(f.bind);
  EXPECT_TRUE(f.recursive);
  EXPECT_EQ(f.flags, static_cast<unsigned long>(MS_RDONLY | MS_NOSUID));
  EXPECT_EQ(f.propagation, static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  EXPECT_EQ(f.data, "mode=755,size=64m");
  auto g = parseMountOptions({"ro", "rw", "nodev"});
  EXPECT_EQ(g.flags, static_cast<unsigned long>(MS_NODEV));
}

TEST(RuntimeSpec, EnvValue) {
  std::vector<std::string> env{"PATHX=1", "PATH=/a:/b", "EMPTY="};
  EXPECT_EQ(envValue(env, "PATH"), "/a:/b");
  EXPECT_EQ(envValue(env, "EMPTY"), "");
  EXPECT_FALSE(envValue(env, "NOPE"));
}

TEST(RuntimeCaps, NamesAndSets) {
  EXPECT_EQ(capByName("CAP_CHOWN"), 0);
  EXPECT_EQ(capByName("cap_sys_admin"), 21);
  EXPECT_EQ(capByName("NET_RAW"), 13);
  EXPECT_EQ(capByName("CAP_CHECKPOINT_RESTORE"), 40);
  EXPECT_EQ(capByName("CAP_NOPE"), -1);
  Capabilities c;
  c.bounding = {"CAP_CHOWN", "CAP_KILL", "CAP_BOGUS", "CAP_CHECKPOINT_RESTORE"};
  c.permitted = {"CAP_CHOWN", "CAP_KILL", "CAP_SYS_RESOURCE"};
  c.effective = {"CAP_CHOWN", "CAP_SETUID"};
  c.inheritable = {"CAP_KILL"};
  c.ambient = {"CAP_KILL", "CAP_CHOWN"};
  uint64_t held = ~uint64_t(0) & ~(uint64_t(1) << 24);  // no CAP_SYS_RESOURCE
  auto s = capSetsFor(c, 39, held);
  EXPECT_EQ(s.bounding, (1u << 0) | (1u << 5));  // 40 is beyond lastCap 39
  EXPECT_EQ(s.permitted, (1u << 0) | (1u << 5));
  EXPECT_EQ(s.effective, 1u << 0);  // effective within permitted
  EXPECT_EQ(s.ambient, 1u << 5);    // ambient within permitted & inheritable
}

TEST(RuntimeLaunch, ExecCandidatesAndMessages) {
  EXPECT_EQ(execCandidates("/bin/sh", {}), (std::vector<std::string>{"/bin/sh"}));
  EXPECT_EQ(execCandidates("./x", {"PATH=/a"}), (std::vector<std::string>{"./x"}));
  EXPECT_EQ(execCandidates("ls", {"PATH=/a::/b"}), (std::vector<std::string>{"/a/ls", "./ls", "/b/ls"}));
  EXPECT_EQ(execCandidates("ls", {}).front(), "/usr/local/sbin/ls");
  EXPECT_EQ(execErrorMessage("foo", true, ENOENT), "exec: \"foo\": executable file not found in $PATH");
  EXPECT_NE(execErrorMessage("/foo", false, ENOENT).find("no such file or directory"), std::string::npos);
  EXPECT_NE(execErrorMessage("/etc", false, EACCES).find("permission denied"), std::string::npos);
}

TEST(RuntimeMounts, EffectiveMountsAddDefaultsParentsFirst) {
  Spec s;
  s.mounts = {{"/etc/hosts", "bind", "/h", {"bind"}}, {"/dev//", "tmpfs", "tmpfs", {}}, {"/data/sub", "bind", "/x", {"bind"}},
              {"/data", "bind", "/y", {"bind"}}};
  auto m = effectiveMounts(s);
  std::vector<std::string> dests;
  for (const auto& x : m) dests.push_back(x.destination);
  // /dev from the spec (normalised) is kept, the other standard ones added.
  EXPECT_EQ(dests, (std::vector<std::string>{"/proc", "/sys", "/dev", "/data", "/dev/pts", "/dev/shm",
                                             "/dev/mqueue", "/etc/hosts", "/data/sub"}));
  EXPECT_EQ(m[2].type, "tmpfs");
  EXPECT_EQ(m[4].type, "devpts");
}

TEST(RuntimeMounts, ResolveInRootStaysInside) {
  char tmpl[] = "/tmp/berth-resolve-XXXXXX";
  ASSERT_TRUE(mkdtemp(tmpl));
  std::string root = tmpl;
  ASSERT_EQ(mkdir((root + "/etc").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((root + "/real").c_str(), 0755), 0);
  ASSERT_EQ(symlink("/real", (root + "/abs").c_str()), 0);
  ASSERT_EQ(symlink("../../../../real", (root + "/etc/up").c_str()), 0);
  ASSERT_EQ(symlink("loop2", (root + "/loop1").c_str()), 0);
  ASSERT_EQ(symlink("loop1", (root + "/loop2").c_str()), 0);
  EXPECT_EQ(*resolveInRoot(root, "/etc/hosts"), root + "/etc/hosts");
  EXPECT_EQ(*resolveInRoot(root, "/abs/x"), root + "/real/x");
  EXPECT_EQ(*resolveInRoot(root, "/etc/up/y"), root + "/real/y");
  EXPECT_EQ(*resolveInRoot(root, "/../../etc"), root + "/etc");
  EXPECT_FALSE(resolveInRoot(root, "/loop1/x"));
  std::string cmd = "rm -rf " + root;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

TEST(RuntimeCgroups, JoinPath) {
  EXPECT_EQ(joinCgroupPath("/sys/fs/cgroup/memory", "/berth/abc"), "/sys/fs/cgroup/memory/berth/abc");
  EXPECT_EQ(joinCgroupPath("/sys/fs/cgroup/", "berth//abc/"), "/sys/fs/cgroup/berth/abc");
}

TEST(RuntimeCgroups, CreateInFakeV1Root) {
  char tmpl[] = "/tmp/berth-cg-XXXXXX";
  ASSERT_TRUE(mkdtemp(tmpl));
  std::string root = tmpl;
  // A fake hierarchy: plain dirs, so limits land in plain files.
  ASSERT_EQ(mkdir((root + "/memory").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((root + "/pids").c_str(), 0755), 0);
  Resources r;
  r.memoryLimit = 4096;
  r.pidsLimit = 0;
  // On plain directories the limit files do not exist yet: create fails
  // writing memory.limit_in_bytes (the kernel creates them in a real cgroupfs).
  auto cg = Cgroup::create(root, "/p/c", r);
  EXPECT_FALSE(cg);
  auto ok = Cgroup::create(root, "/p/c", Resources{});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->dirs().size(), 2u);
  EXPECT_FALSE(ok->v2());
  struct stat st;
  EXPECT_EQ(stat((root + "/memory/p/c").c_str(), &st), 0);
  EXPECT_TRUE(ok->remove(0));
  EXPECT_NE(stat((root + "/memory/p/c").c_str(), &st), 0);
  EXPECT_EQ(stat((root + "/memory/p").c_str(), &st), 0);  // parents are left alone
  std::string cmd = "rm -rf " + root;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

TEST(RuntimeMounts, CgroupV1HierarchiesFromMountinfo) {
  std::string info =
      "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
      "42 35 0:32 / /sys/fs/cgroup/memory/deeper rw - cgroup cgroup rw,memory\n"
      "43 27 0:39 / /mnt/cgroup/pids rw - cgroup cgroup rw,pids\n"
      "garbage\n";
  EXPECT_EQ(berth::runtime::cgroupV1Hierarchies(info),
            "cpu,cpuacct\trw,cpu,cpuacct\nmemory\trw,memory\nsystemd\trw,xattr,name=systemd\n");
  EXPECT_EQ(berth::runtime::cgroupV1Hierarchies("41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"), "");
}
