// CRI ContainerConfig -> Docker create body, berth record -> CRI view, the
// ListContainers filter (src/cri/translate_container.h).
#include <gtest/gtest.h>

#include <unistd.h>

#include "common/util.h"
#include "container/mounts.h"
#include "container/namespaces.h"
#include "cri/translate_container.h"

using namespace berth;
using namespace berth::cri;
using json = nlohmann::json;

namespace {

PodContext pod() {
  PodContext p;
  p.sandboxId = std::string(64, 'a');
  p.name = "web";
  p.ns = "default";
  p.uid = "u-1";
  p.logDirectory = "/var/log/pods/x";
  p.cgroupParent = "/kubepods/podu-1";
  p.hostname = "web-host";
  return p;
}

ContainerSpec spec() {
  ContainerSpec s;
  s.name = "app";
  s.attempt = 2;
  s.image = "busybox";
  return s;
}

json bodyOf(const ContainerSpec& s, const PodContext& p = pod(), HostLimits l = {}) {
  auto r = containerCreateBody(s, p, "busybox:latest", l);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? r->body : json();
}

Code errorOf(const ContainerSpec& s, const PodContext& p = pod()) {
  auto r = containerCreateBody(s, p, "busybox:latest", {});
  return r ? Code::Ok : r.error().code;
}

}  // namespace

TEST(CriTranslate, NameImageCommandArgsEnv) {
  auto s = spec();
  s.command = {"/bin/sh", "-c"};
  s.args = {"echo hi"};
  s.workingDir = "/work";
  s.envs = {{"A", "1"}, {"B", "x=y"}};
  auto r = containerCreateBody(s, pod(), "busybox:latest", {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "k8s_app_web_default_u-1_2");
  const json& b = r->body;
  EXPECT_EQ(b["Image"], "busybox:latest");
  EXPECT_EQ(b["Entrypoint"], json({"/bin/sh", "-c"}));
  EXPECT_EQ(b["Cmd"], json({"echo hi"}));
  EXPECT_EQ(b["WorkingDir"], "/work");
  EXPECT_EQ(b["Env"], json({"HOSTNAME=web-host", "A=1", "B=x=y"}));
  EXPECT_FALSE(b["Tty"].get<bool>());
}

TEST(CriTranslate, ImageDefaultsStayWhenCommandOrArgsAreEmpty) {
  // command replaces ENTRYPOINT, args replace CMD: an empty one is not sent,
  // so the container service merges the image's (Docker's and containerd's rule).
  auto s = spec();
  s.args = {"only", "args"};
  json b = bodyOf(s);
  EXPECT_FALSE(b.contains("Entrypoint"));
  EXPECT_EQ(b["Cmd"], json({"only", "args"}));
  json none = bodyOf(spec());
  EXPECT_FALSE(none.contains("Entrypoint"));
  EXPECT_FALSE(none.contains("Cmd"));
}

TEST(CriTranslate, NameIsSanitisedForDocker) {
  auto s = spec();
  s.name = "a/b c";
  auto p = pod();
  p.uid = "1:2";
  auto r = containerCreateBody(s, p, "busybox", {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "k8s_a-b-c_web_default_1-2_2");
}

TEST(CriTranslate, LongNamesStayWithinDockersLimit) {
  auto s = spec();
  s.name = std::string(150, 'c');
  auto p = pod();
  p.name = std::string(100, 'p');
  std::string a = containerName(s, p);
  EXPECT_EQ(a.size(), 200u);
  EXPECT_EQ(a.substr(0, 10), "k8s_cccccc");
  EXPECT_EQ(a, containerName(s, p));  // the same metadata, the same name
  s.attempt = 3;  // differs only past the cut: the digest tells them apart
  EXPECT_NE(containerName(s, p), a);
  EXPECT_EQ(containerName(s, p).size(), 200u);
}

TEST(CriTranslate, LabelsAnnotationsAndNamespace) {
  auto s = spec();
  s.labels = {{"tier", "front"}};
  s.annotations = {{"note", "n1"}};
  json b = bodyOf(s);
  const json& l = b["Labels"];
  EXPECT_EQ(l["tier"], "front");
  EXPECT_EQ(l[std::string(container::kNamespaceLabel)], "k8s.io");
  EXPECT_EQ(l[kLabelSandboxId], std::string(64, 'a'));
  EXPECT_EQ(l[kLabelName], "app");
  EXPECT_EQ(l[kLabelAttempt], "2");
  EXPECT_EQ(l[kLabelImage], "busybox");
  EXPECT_EQ(b["HostConfig"]["Annotations"], json({{"note", "n1"}}));
  // a client label in berth's own prefix is refused
  s.labels = {{"io.berth.namespace", "x"}};
  EXPECT_EQ(errorOf(s), Code::InvalidArgument);
}

TEST(CriTranslate, StdioFlags) {
  auto s = spec();
  s.tty = true;
  s.stdin = true;
  s.stdinOnce = true;
  json b = bodyOf(s);
  EXPECT_TRUE(b["Tty"].get<bool>());
  EXPECT_TRUE(b["OpenStdin"].get<bool>());
  EXPECT_TRUE(b["AttachStdin"].get<bool>());
  EXPECT_TRUE(b["StdinOnce"].get<bool>());
}

TEST(CriTranslate, LogPathJoinsThePodDirectory) {
  auto s = spec();
  s.logPath = "app/0.log";
  json b = bodyOf(s);
  EXPECT_EQ(b["HostConfig"]["LogConfig"]["Type"], "cri-log");
  EXPECT_EQ(b["HostConfig"]["LogConfig"]["Config"]["path"], "/var/log/pods/x/app/0.log");
  EXPECT_EQ(b["Labels"][kLabelLogPath], "/var/log/pods/x/app/0.log");
  // no log path: no log at all
  json none = bodyOf(spec());
  EXPECT_EQ(none["HostConfig"]["LogConfig"]["Type"], "none");
  // a relative result is refused
  auto p = pod();
  p.logDirectory = "";
  EXPECT_EQ(errorOf(s, p), Code::InvalidArgument);
}

TEST(CriTranslate, PodNamespacesAndCgroupParent) {
  json hc = bodyOf(spec())["HostConfig"];
  std::string sb = "container:" + std::string(64, 'a');
  EXPECT_EQ(hc["NetworkMode"], sb);
  EXPECT_EQ(hc["IpcMode"], sb);
  EXPECT_EQ(hc["PidMode"], sb);
  EXPECT_FALSE(hc.contains("UTSMode"));
  EXPECT_EQ(hc["CgroupParent"], "kubepods/podu-1");

  auto s = spec();
  s.security.pid = NamespaceMode::Container;
  EXPECT_FALSE(bodyOf(s)["HostConfig"].contains("PidMode"));
  s.security.pid = NamespaceMode::Node;
  s.security.ipc = NamespaceMode::Node;
  s.security.network = NamespaceMode::Node;
  hc = bodyOf(s)["HostConfig"];
  EXPECT_EQ(hc["PidMode"], "host");
  EXPECT_EQ(hc["IpcMode"], "host");
  EXPECT_EQ(hc["NetworkMode"], "host");
  EXPECT_EQ(hc["UTSMode"], "host");
  s.security.pid = NamespaceMode::Target;
  EXPECT_EQ(errorOf(s), Code::InvalidArgument);  // no target id
  s.security.targetId = std::string(64, 'b');
  EXPECT_EQ(bodyOf(s)["HostConfig"]["PidMode"], "container:" + std::string(64, 'b'));
  s.security.pid = NamespaceMode(7);
  EXPECT_EQ(errorOf(s), Code::InvalidArgument);

  auto p = pod();
  p.hostNetwork = true;
  EXPECT_EQ(bodyOf(spec(), p)["HostConfig"]["NetworkMode"], "host");
}

TEST(CriTranslate, MountsWithPropagation) {
  auto s = spec();
  s.mounts = {{"/data", "/srv/data", true, Propagation::Private},
              {"/in", "/srv/in", false, Propagation::HostToContainer},
              {"/both", "/srv/both", false, Propagation::Bidirectional}};
  json m = bodyOf(s)["HostConfig"]["Mounts"];
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0], json({{"Type", "bind"},
                        {"Source", "/srv/data"},
                        {"Target", "/data"},
                        {"ReadOnly", true},
                        {"BindOptions", {{"Propagation", "rprivate"}}}}));
  EXPECT_EQ(m[1]["BindOptions"]["Propagation"], "rslave");
  EXPECT_EQ(m[1]["ReadOnly"], false);
  EXPECT_EQ(m[2]["BindOptions"]["Propagation"], "rshared");
}

TEST(CriTranslate, BadMountsAreRefused) {
  auto bad = [](MountSpec m) {
    auto s = spec();
    s.mounts = {m};
    return errorOf(s);
  };
  EXPECT_EQ(bad({"/a", "relative/path"}), Code::InvalidArgument);
  EXPECT_EQ(bad({"/a", ""}), Code::InvalidArgument);
  EXPECT_EQ(bad({"a", "/srv"}), Code::InvalidArgument);
  MountSpec idm{"/a", "/srv"};
  idm.idMapped = true;
  EXPECT_EQ(bad(idm), Code::InvalidArgument);
  MountSpec rro{"/a", "/srv"};
  rro.recursiveReadOnly = true;
  EXPECT_EQ(bad(rro), Code::InvalidArgument);
  MountSpec img{"/a", "/srv"};
  img.image = "busybox";
  EXPECT_EQ(bad(img), Code::InvalidArgument);
}

TEST(CriTranslate, MissingHostPathsAreCreatedAsContainerdDoes) {
  char tmpl[] = "/tmp/berth-crimnt-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  auto s = spec();
  s.mounts = {{"/a", dir + "/x/y"}};
  ASSERT_TRUE(prepareHostPaths(s));
  struct stat st;
  EXPECT_EQ(::stat((dir + "/x/y").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  // a path below a regular file cannot be made
  ASSERT_TRUE(writeFileAtomic(dir + "/file", "x"));
  s.mounts = {{"/a", dir + "/file/sub"}};
  EXPECT_FALSE(prepareHostPaths(s));
  (void)removeAll(dir);
}

TEST(CriTranslate, Devices) {
  auto s = spec();
  s.devices = {{"/dev/xnull", "/dev/null", "rw"}, {"", "/dev/zero", ""}};
  json d = bodyOf(s)["HostConfig"]["Devices"];
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0], json({{"PathOnHost", "/dev/null"}, {"PathInContainer", "/dev/xnull"}, {"CgroupPermissions", "rw"}}));
  EXPECT_EQ(d[1], json({{"PathOnHost", "/dev/zero"}, {"PathInContainer", "/dev/zero"}, {"CgroupPermissions", "rwm"}}));
  s.devices = {{"/dev/x", "dev/null", ""}};
  EXPECT_EQ(errorOf(s), Code::InvalidArgument);
}

TEST(CriTranslate, Resources) {
  auto s = spec();
  LinuxResources r;
  r.cpuPeriod = 100000;
  r.cpuQuota = 50000;
  r.cpuShares = 512;
  r.memoryLimit = 64 << 20;
  r.cpusetCpus = "0";
  r.cpusetMems = "0";
  r.oomScoreAdj = 500;
  s.resources = r;
  json hc = bodyOf(s)["HostConfig"];
  EXPECT_EQ(hc["CpuPeriod"], 100000);
  EXPECT_EQ(hc["CpuQuota"], 50000);
  EXPECT_EQ(hc["CpuShares"], 512);
  EXPECT_EQ(hc["Memory"], 64 << 20);
  EXPECT_EQ(hc["MemorySwap"], 64 << 20);  // no swap unless asked (containerd), not Docker's 2x
  EXPECT_EQ(hc["CpusetCpus"], "0");
  EXPECT_EQ(hc["CpusetMems"], "0");
  EXPECT_EQ(hc["OomScoreAdj"], 500);
  r.memorySwapLimit = 128 << 20;
  s.resources = r;
  EXPECT_EQ(bodyOf(s)["HostConfig"]["MemorySwap"], 128 << 20);
  // no resources: none of the fields
  hc = bodyOf(spec())["HostConfig"];
  EXPECT_FALSE(hc.contains("Memory"));
  EXPECT_FALSE(hc.contains("OomScoreAdj"));
}

TEST(CriTranslate, OomScoreAdjIsClamped) {
  auto s = spec();
  LinuxResources r;
  r.oomScoreAdj = -998;
  s.resources = r;
  HostLimits host;
  host.oomScoreAdjMin = 0;  // a daemon without CAP_SYS_RESOURCE at 0
  EXPECT_EQ(bodyOf(s, pod(), host)["HostConfig"]["OomScoreAdj"], 0);
  host.oomScoreAdjMin = -1000;
  EXPECT_EQ(bodyOf(s, pod(), host)["HostConfig"]["OomScoreAdj"], -998);
  r.oomScoreAdj = 5000;
  s.resources = r;
  EXPECT_EQ(bodyOf(s, pod(), host)["HostConfig"]["OomScoreAdj"], 1000);
  HostLimits self = hostLimits();
  EXPECT_GE(self.oomScoreAdjMin, -1000);
  EXPECT_LE(self.oomScoreAdjMin, 1000);
}

TEST(CriTranslate, UpdateBody) {
  LinuxResources r;
  r.cpuQuota = 20000;
  r.memoryLimit = 32 << 20;
  r.oomScoreAdj = 100;  // not updatable: left out
  json b = resourcesUpdateBody(r, {});
  EXPECT_EQ(b, json({{"CpuQuota", 20000}, {"Memory", 32 << 20}, {"MemorySwap", 32 << 20}}));
}

TEST(CriTranslate, UserAndGroups) {
  auto s = spec();
  s.security.runAsUser = 1000;
  EXPECT_EQ(bodyOf(s)["User"], "1000");
  s.security.runAsGroup = 2000;
  EXPECT_EQ(bodyOf(s)["User"], "1000:2000");
  s.security.runAsUsername = "nobody";
  EXPECT_EQ(bodyOf(s)["User"], "nobody:2000");
  s.security.supplementalGroups = {10, 20};
  EXPECT_EQ(bodyOf(s)["HostConfig"]["GroupAdd"], json({"10", "20"}));
  // a group alone is refused, as containerd does
  auto g = spec();
  g.security.runAsGroup = 5;
  EXPECT_EQ(errorOf(g), Code::InvalidArgument);
  // nothing set: the image's user
  EXPECT_FALSE(bodyOf(spec()).contains("User"));
  auto neg = spec();
  neg.security.supplementalGroups = {-1};
  EXPECT_EQ(errorOf(neg), Code::InvalidArgument);
}

TEST(CriTranslate, PrivilegedReadonlyCapabilitiesNoNewPrivs) {
  auto s = spec();
  s.security.readonlyRootfs = true;
  s.security.capAdd = {"NET_ADMIN"};
  s.security.capDrop = {"ALL"};
  s.security.noNewPrivs = true;
  json hc = bodyOf(s)["HostConfig"];
  EXPECT_TRUE(hc["ReadonlyRootfs"].get<bool>());
  EXPECT_FALSE(hc["Privileged"].get<bool>());
  EXPECT_EQ(hc["CapAdd"], json({"NET_ADMIN"}));
  EXPECT_EQ(hc["CapDrop"], json({"ALL"}));
  EXPECT_EQ(hc["SecurityOpt"][0], "no-new-privileges");
  // privileged needs a privileged pod
  auto p = spec();
  p.security.privileged = true;
  EXPECT_EQ(errorOf(p), Code::InvalidArgument);
  auto pp = pod();
  pp.privileged = true;
  EXPECT_TRUE(bodyOf(p, pp)["HostConfig"]["Privileged"].get<bool>());
}

TEST(CriTranslate, MaskedAndReadonlyPathsAreTakenAsGiven) {
  json hc = bodyOf(spec())["HostConfig"];
  EXPECT_EQ(hc["MaskedPaths"], json::array());  // none given: none (containerd)
  EXPECT_EQ(hc["ReadonlyPaths"], json::array());
  auto s = spec();
  s.security.maskedPaths = {"/proc/kcore"};
  s.security.readonlyPaths = {"/proc/sys"};
  hc = bodyOf(s)["HostConfig"];
  EXPECT_EQ(hc["MaskedPaths"], json({"/proc/kcore"}));
  EXPECT_EQ(hc["ReadonlyPaths"], json({"/proc/sys"}));
}

TEST(CriTranslate, Seccomp) {
  auto opts = [](const ContainerSpec& s) { return bodyOf(s)["HostConfig"].value("SecurityOpt", json::array()); };
  // not set at all: unconfined, as containerd
  EXPECT_EQ(opts(spec()), json({"seccomp=unconfined"}));
  auto s = spec();
  s.security.seccomp = SecurityProfile{SecurityProfile::Type::RuntimeDefault, ""};
  EXPECT_EQ(opts(s), json::array());  // berth's default profile
  s.security.seccomp = SecurityProfile{SecurityProfile::Type::Unconfined, ""};
  EXPECT_EQ(opts(s), json({"seccomp=unconfined"}));
  // Localhost: the profile file's content
  char tmpl[] = "/tmp/berth-criseccomp-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  ASSERT_TRUE(writeFileAtomic(dir + "/p.json", R"({"defaultAction":"SCMP_ACT_ALLOW"})"));
  s.security.seccomp = SecurityProfile{SecurityProfile::Type::Localhost, dir + "/p.json"};
  EXPECT_EQ(opts(s), json({R"(seccomp={"defaultAction":"SCMP_ACT_ALLOW"})"}));
  s.security.seccomp = SecurityProfile{SecurityProfile::Type::Localhost, dir + "/missing.json"};
  EXPECT_EQ(errorOf(s), Code::InvalidArgument);
  s.security.seccomp = SecurityProfile{SecurityProfile::Type::Localhost, "relative.json"};
  EXPECT_EQ(errorOf(s), Code::InvalidArgument);
  s.security.seccomp = SecurityProfile{SecurityProfile::Type::RuntimeDefault, "/x.json"};
  EXPECT_EQ(errorOf(s), Code::InvalidArgument);
  // the deprecated string form
  auto d = spec();
  d.security.seccompProfilePath = "runtime/default";
  EXPECT_EQ(opts(d), json::array());
  d.security.seccompProfilePath = "localhost/" + dir + "/p.json";
  EXPECT_EQ(opts(d).size(), 1u);
  d.security.seccompProfilePath = "bogus";
  EXPECT_EQ(errorOf(d), Code::InvalidArgument);
  // privileged: no filter whatever was asked
  auto p = spec();
  p.security.privileged = true;
  p.security.seccomp = SecurityProfile{SecurityProfile::Type::Unconfined, ""};
  auto pp = pod();
  pp.privileged = true;
  EXPECT_FALSE(bodyOf(p, pp)["HostConfig"].contains("SecurityOpt"));
  (void)removeAll(dir);
}

TEST(CriTranslate, AppArmorIsNotSupportedHere) {
  auto s = spec();
  s.security.apparmor = SecurityProfile{SecurityProfile::Type::Unconfined, ""};
  EXPECT_EQ(errorOf(s), Code::Ok);
  s.security.apparmor = SecurityProfile{SecurityProfile::Type::RuntimeDefault, ""};
  EXPECT_EQ(errorOf(s), Code::InvalidArgument);
  auto d = spec();
  d.security.apparmorProfile = "runtime/default";
  EXPECT_EQ(errorOf(d), Code::InvalidArgument);
}

TEST(CriTranslate, RequiredFields) {
  auto s = spec();
  s.name = "";
  EXPECT_EQ(errorOf(s), Code::InvalidArgument);
  EXPECT_FALSE(containerCreateBody(spec(), pod(), "", {}));
  auto p = pod();
  p.sandboxId = "";
  EXPECT_EQ(errorOf(spec(), p), Code::InvalidArgument);
  auto e = spec();
  e.envs = {{"", "x"}};
  EXPECT_EQ(errorOf(e), Code::InvalidArgument);
}

namespace {

container::Container recordFrom(const json& body) {
  container::Container c;
  c.id = std::string(64, 'c');
  c.imageId = "sha256:" + std::string(64, 'e');
  c.created = 1000;
  c.config = body;
  c.hostConfig = body["HostConfig"];
  c.config.erase("HostConfig");
  return c;
}

}  // namespace

TEST(CriView, FromARecord) {
  auto s = spec();
  s.labels = {{"tier", "front"}};
  s.annotations = {{"note", "n1"}};
  s.logPath = "app.log";
  s.security.runAsUser = 1000;
  LinuxResources r;
  r.memoryLimit = 64 << 20;
  r.cpuShares = 256;
  s.resources = r;
  auto c = recordFrom(bodyOf(s));
  c.mountPoints = json::array({container::MountPoint{.type = "bind", .source = "/srv", .destination = "/d",
                                                     .rw = false, .propagation = "rslave"}
                                   .toJson()});
  auto v = viewOf(c);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->id, c.id);
  EXPECT_EQ(v->sandboxId, std::string(64, 'a'));
  EXPECT_EQ(v->name, "app");
  EXPECT_EQ(v->attempt, 2u);
  EXPECT_EQ(v->image, "busybox");
  EXPECT_EQ(v->imageRef, c.imageId);
  EXPECT_EQ(v->labels, (std::map<std::string, std::string>{{"tier", "front"}}));  // berth's labels hidden
  EXPECT_EQ(v->annotations, (std::map<std::string, std::string>{{"note", "n1"}}));
  EXPECT_EQ(v->logPath, "/var/log/pods/x/app.log");
  EXPECT_EQ(v->state, CriState::Created);
  EXPECT_EQ(v->createdAt, 1000);
  EXPECT_EQ(v->resources.memoryLimit, 64 << 20);
  EXPECT_EQ(v->resources.cpuShares, 256);
  EXPECT_EQ(v->uid, 1000);
  ASSERT_EQ(v->mounts.size(), 1u);
  EXPECT_EQ(v->mounts[0].hostPath, "/srv");
  EXPECT_TRUE(v->mounts[0].readonly);
  EXPECT_EQ(v->mounts[0].propagation, Propagation::HostToContainer);
}

TEST(CriView, StatesAndReasons) {
  auto c = recordFrom(bodyOf(spec()));
  c.state.status = container::State::Running;
  c.state.startedAt = 2000;
  EXPECT_EQ(viewOf(c)->state, CriState::Running);
  EXPECT_EQ(viewOf(c)->reason, "");
  c.state.status = container::State::Exited;
  c.state.finishedAt = 3000;
  c.state.exitCode = 0;
  auto v = viewOf(c);
  EXPECT_EQ(v->state, CriState::Exited);
  EXPECT_EQ(v->reason, "Completed");
  EXPECT_EQ(v->startedAt, 2000);
  EXPECT_EQ(v->finishedAt, 3000);
  c.state.exitCode = 3;
  EXPECT_EQ(viewOf(c)->reason, "Error");
  EXPECT_EQ(viewOf(c)->exitCode, 3);
  c.state.oomKilled = true;
  c.state.exitCode = 137;
  EXPECT_EQ(viewOf(c)->reason, "OOMKilled");
  c.state.startedAt = 5000;  // stamped after the exit: never later than finished
  EXPECT_EQ(viewOf(c)->startedAt, 3000);
  c.state.status = container::State::Dead;
  EXPECT_EQ(viewOf(c)->state, CriState::Exited);
  c.state.status = container::State::Removing;
  EXPECT_EQ(viewOf(c)->state, CriState::Unknown);
}

TEST(CriView, DockerContainersAreNotCriContainers) {
  container::Container c;
  c.id = std::string(64, 'd');
  c.config = {{"Labels", {{"a", "b"}}}};
  EXPECT_FALSE(isCriContainer(c));
  auto v = viewOf(c);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, Code::NotFound);
  // a sandbox is in the namespace but is not a container
  c.config = {{"Labels", {{"io.berth.namespace", "k8s.io"}, {kLabelKind, kKindSandbox}}}};
  EXPECT_FALSE(isCriContainer(c));
}

TEST(CriView, Filter) {
  auto s = spec();
  s.labels = {{"tier", "front"}, {"app", "x"}};
  auto c = recordFrom(bodyOf(s));
  c.state.status = container::State::Running;
  auto v = *viewOf(c);
  EXPECT_TRUE(matches(v, {}));
  EXPECT_TRUE(matches(v, {.id = c.id}));
  EXPECT_FALSE(matches(v, {.id = std::string(64, 'f')}));
  EXPECT_TRUE(matches(v, {.sandboxId = std::string(64, 'a')}));
  EXPECT_FALSE(matches(v, {.sandboxId = std::string(64, 'b')}));
  EXPECT_TRUE(matches(v, {.state = CriState::Running}));
  EXPECT_FALSE(matches(v, {.state = CriState::Exited}));
  EXPECT_TRUE(matches(v, {.labelSelector = {{"tier", "front"}, {"app", "x"}}}));
  EXPECT_FALSE(matches(v, {.labelSelector = {{"tier", "front"}, {"app", "y"}}}));
  EXPECT_FALSE(matches(v, {.labelSelector = {{"missing", ""}}}));
}

TEST(CriStats, FromDockerStats) {
  json v1 = {{"read", "2026-11-28T23:00:00.5Z"},
             {"cpu_stats", {{"cpu_usage", {{"total_usage", 123456789}}}}},
             {"memory_stats", {{"usage", 10000}, {"stats", {{"total_inactive_file", 4000}}}}}};
  auto u = usageFromDockerStats(v1);
  EXPECT_EQ(u.cpuNs, 123456789u);
  EXPECT_EQ(u.memoryUsage, 10000u);
  EXPECT_EQ(u.workingSet, 6000u);
  EXPECT_EQ(u.timestamp, 1795906800500000000LL);
  json v2 = {{"memory_stats", {{"usage", 100}, {"stats", {{"inactive_file", 400}}}}}};
  u = usageFromDockerStats(v2);
  EXPECT_EQ(u.workingSet, 0u);  // never below zero
  EXPECT_EQ(u.cpuNs, 0u);
  EXPECT_EQ(usageFromDockerStats(json("garbage")).memoryUsage, 0u);
}

TEST(CriStats, CountInodes) {
  char tmpl[] = "/tmp/berth-criinodes-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  ASSERT_TRUE(mkdirAll(dir + "/a/b"));
  ASSERT_TRUE(writeFileAtomic(dir + "/a/f", "x"));
  ASSERT_EQ(::symlink("f", (dir + "/a/l").c_str()), 0);
  EXPECT_EQ(countInodes(dir), 5u);  // dir, a, a/b, a/f, a/l
  EXPECT_EQ(countInodes(dir + "/missing"), 0u);
  (void)removeAll(dir);
}
