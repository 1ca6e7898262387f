// What the engine gained for CRI containers (docs/cri-containers.md):
// HostConfig.MaskedPaths / ReadonlyPaths, linux.rootfsPropagation for
// slave and shared binds, the cri-log driver's options, the namespace label.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <string>

#include "common/util.h"
#include "container/log_opts.h"
#include "container/mounts.h"
#include "container/namespaces.h"
#include "container/spec.h"
#include "runtime/spec.h"

using namespace berth;
using namespace berth::container;
using json = nlohmann::json;

namespace {

class CriEngineSpec : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-crispec-XXXXXX";
    dir_ = mkdtemp(tmpl);
    ASSERT_TRUE(mkdirAll(dir_ + "/etc"));
    ASSERT_TRUE(writeFileAtomic(dir_ + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"));
    c_.id = std::string(64, 'c');
    c_.path = "sh";
    c_.config = {{"Env", {"PATH=/bin"}}};
    c_.hostConfig = {{"NetworkMode", "default"}};
  }
  void TearDown() override { (void)removeAll(dir_); }
  json build() {
    auto s = buildSpec(c_, SpecPaths{"/b", {dir_}, "berth", ""});
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return s ? *s : json();
  }
  std::string dir_;
  Container c_;
};

}  // namespace

TEST_F(CriEngineSpec, MaskedAndReadonlyPathsFromHostConfig) {
  json s = build();  // not given: Docker's defaults
  EXPECT_GT(s["linux"]["maskedPaths"].size(), 5u);
  EXPECT_GT(s["linux"]["readonlyPaths"].size(), 3u);
  c_.hostConfig["MaskedPaths"] = {"/proc/kcore"};
  c_.hostConfig["ReadonlyPaths"] = json::array();
  s = build();
  EXPECT_EQ(s["linux"]["maskedPaths"], json({"/proc/kcore"}));
  EXPECT_EQ(s["linux"]["readonlyPaths"], json::array());  // given empty: none
  c_.hostConfig["MaskedPaths"] = nullptr;  // null: the defaults again
  EXPECT_GT(build()["linux"]["maskedPaths"].size(), 5u);
  c_.hostConfig["MaskedPaths"] = {"/proc/kcore"};
  c_.hostConfig["Privileged"] = true;  // privileged: none at all
  EXPECT_FALSE(build()["linux"].contains("maskedPaths"));
}

TEST_F(CriEngineSpec, RootfsPropagationFollowsTheBinds) {
  EXPECT_FALSE(build()["linux"].contains("rootfsPropagation"));
  MountPoint slave{.type = "bind", .source = "/srv", .destination = "/a", .propagation = "rslave"};
  MountPoint shared{.type = "bind", .source = "/srv", .destination = "/b", .propagation = "rshared"};
  MountPoint priv{.type = "bind", .source = "/srv", .destination = "/c", .propagation = "rprivate"};
  c_.mountPoints = json::array({priv.toJson()});
  EXPECT_FALSE(build()["linux"].contains("rootfsPropagation"));
  c_.mountPoints = json::array({priv.toJson(), slave.toJson()});
  EXPECT_EQ(build()["linux"]["rootfsPropagation"], "rslave");
  c_.mountPoints = json::array({shared.toJson(), slave.toJson()});
  EXPECT_EQ(build()["linux"]["rootfsPropagation"], "rshared");

  // the runtime reads it: the mount namespace starts as a slave of the
  // host's (rslave) or stays in its peer groups (rshared)
  auto spec = [](const char* prop) {
    json j = {{"ociVersion", "1.0.2"},
              {"process", {{"args", {"true"}}, {"cwd", "/"}}},
              {"root", {{"path", "rootfs"}}},
              {"linux", {{"rootfsPropagation", prop}}}};
    auto s = runtime::parseSpec(j.dump(), "/bundle");
    EXPECT_TRUE(s);
    return s ? std::string(s->rootfsShared ? "shared" : s->rootfsSlave ? "slave" : "private") : "";
  };
  EXPECT_EQ(spec("rslave"), "slave");
  EXPECT_EQ(spec("slave"), "slave");
  EXPECT_EQ(spec("rshared"), "shared");
  EXPECT_EQ(spec("shared"), "shared");
  EXPECT_EQ(spec("rprivate"), "private");
  EXPECT_EQ(spec(""), "private");
}

TEST(CriEngine, CriLogDriverOptions) {
  auto ok = jsonFileLimits({{"Type", "cri-log"}, {"Config", {{"path", "/var/log/pods/p/c/0.log"}}}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->driver, "cri-log");
  EXPECT_EQ(ok->path, "/var/log/pods/p/c/0.log");
  EXPECT_EQ(ok->maxSize, 0);  // berth never rotates it: kubelet does
  for (json cfg : {json::object(), json{{"path", "relative.log"}}, json{{"path", ""}}, json{{"path", 3}}}) {
    auto bad = jsonFileLimits({{"Type", "cri-log"}, {"Config", cfg}});
    ASSERT_FALSE(bad) << cfg.dump();
    EXPECT_EQ(bad.error().code, Code::InvalidArgument);
  }
}

TEST(CriEngine, NamespaceLabel) {
  EXPECT_EQ(namespaceOf(json{{"Labels", {{"io.berth.namespace", "k8s.io"}}}}), "k8s.io");
  EXPECT_EQ(namespaceOf(json{{"Labels", {{"a", "b"}}}}), "");
  EXPECT_EQ(namespaceOf(json{{"Labels", nullptr}}), "");
  EXPECT_EQ(namespaceOf(json{{"Labels", {{"io.berth.namespace", 1}}}}), "");
  EXPECT_EQ(namespaceOf(json("x")), "");
}

TEST_F(CriEngineSpec, GroupAddReachesExecsToo) {
  // appendGroupAdd is what both the init (buildSpec) and an exec use
  ASSERT_TRUE(writeFileAtomic(dir_ + "/etc/group", "root:x:0:\naudio:x:29:\n"));
  ResolvedUser u;
  ASSERT_TRUE(appendGroupAdd(u, json{{"GroupAdd", {"audio", "1234"}}}, {dir_}));
  EXPECT_EQ(u.additionalGids, (std::vector<uint32_t>{29, 1234}));
  ResolvedUser none;
  ASSERT_TRUE(appendGroupAdd(none, json::object(), {dir_}));
  EXPECT_TRUE(none.additionalGids.empty());
  EXPECT_FALSE(appendGroupAdd(none, json{{"GroupAdd", {"nosuchgroup"}}}, {dir_}));
  c_.hostConfig["GroupAdd"] = {"1234"};
  EXPECT_EQ(build()["process"]["user"]["additionalGids"], json({1234}));
}
