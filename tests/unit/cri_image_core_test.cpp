// The CRI ImageService's gRPC-free parts (cri/image_core.h).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "cri/image_core.h"
#include "fake_http.h"
#include "store/database.h"

using namespace berth;
using nlohmann::json;

namespace {

image::ImageDetail detail(const std::string& user) {
  image::ImageDetail d;
  d.record.id = "sha256:" + std::string(64, 'a');
  d.record.repoTags = {"busybox:latest", "registry.k8s.io/pause:3.9"};
  d.repoDigests = {"registry.k8s.io/pause@sha256:" + std::string(64, 'b')};
  d.record.size = 1234;
  d.record.config = {{"config", {{"User", user}}}, {"rootfs", {{"type", "layers"}}}};
  d.chainIds = {"sha256:" + std::string(64, 'c'), "sha256:" + std::string(64, 'd')};
  return d;
}

json decodeHeader(const std::string& h) {
  auto raw = base64Decode(h);
  if (!raw) return nullptr;
  return json::parse(*raw);
}

}  // namespace

TEST(CriImageCore, ImageFieldsAsContainerdFillsThem) {
  auto c = cri::toCriImage(detail(""));
  EXPECT_EQ(c.id, "sha256:" + std::string(64, 'a'));
  EXPECT_EQ(c.repoTags, (std::vector<std::string>{"docker.io/library/busybox:latest", "registry.k8s.io/pause:3.9"}));
  EXPECT_EQ(c.repoDigests, std::vector<std::string>{"registry.k8s.io/pause@sha256:" + std::string(64, 'b')});
  EXPECT_EQ(c.size, 1234u);
  EXPECT_FALSE(c.uid);
  EXPECT_EQ(c.username, "");

  c = cri::toCriImage(detail("1000:100"));
  ASSERT_TRUE(c.uid);
  EXPECT_EQ(*c.uid, 1000);
  EXPECT_EQ(c.username, "");
  c = cri::toCriImage(detail("0"));
  ASSERT_TRUE(c.uid);
  EXPECT_EQ(*c.uid, 0);
  c = cri::toCriImage(detail("nobody:nogroup"));
  EXPECT_FALSE(c.uid);
  EXPECT_EQ(c.username, "nobody");
  c = cri::toCriImage(detail("12ab"));
  EXPECT_FALSE(c.uid);
  EXPECT_EQ(c.username, "12ab");
}

TEST(CriImageCore, VerboseInfoHasChainIdAndSpec) {
  auto info = json::parse(cri::verboseInfo(detail("1")));
  EXPECT_EQ(info["chainID"], "sha256:" + std::string(64, 'd'));
  EXPECT_EQ(info["imageSpec"]["config"]["User"], "1");
  EXPECT_EQ(info["imageSpec"]["rootfs"]["type"], "layers");
}

TEST(CriImageCore, AuthConfigBecomesRegistryAuth) {
  EXPECT_EQ(*cri::registryAuthHeader({}), "");
  auto h = cri::registryAuthHeader({.username = "alice", .password = "s3cret", .serverAddress = "127.0.0.1:5000"});
  ASSERT_TRUE(h);
  EXPECT_EQ(decodeHeader(*h), (json{{"username", "alice"}, {"password", "s3cret"}, {"serveraddress", "127.0.0.1:5000"}}));
  // auth (base64 user:password) wins over username/password, as containerd.
  h = cri::registryAuthHeader({.username = "x", .password = "y", .auth = base64Encode("bob:pa:ss")});
  ASSERT_TRUE(h);
  EXPECT_EQ(decodeHeader(*h), (json{{"username", "bob"}, {"password", "pa:ss"}}));
  h = cri::registryAuthHeader({.identityToken = "idt"});
  EXPECT_EQ(decodeHeader(*h), (json{{"identitytoken", "idt"}}));
  h = cri::registryAuthHeader({.registryToken = "rt"});
  EXPECT_EQ(decodeHeader(*h), (json{{"registrytoken", "rt"}}));
  // Bad auth values are refused.
  auto bad = cri::registryAuthHeader({.auth = "!!not base64!!"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Code::InvalidArgument);
  bad = cri::registryAuthHeader({.auth = base64Encode("no-colon")});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Code::InvalidArgument);
}

TEST(CriImageCore, DirUsageCountsInodesAndHardLinksOnce) {
  fakehttp::TempDir dir;
  const std::string d = dir.path() + "/fs";
  auto none = cri::dirUsage(d);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->inodes, 0u);
  ASSERT_EQ(::mkdir(d.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((d + "/sub").c_str(), 0755), 0);
  std::ofstream(d + "/sub/a") << std::string(100000, 'x');
  ASSERT_EQ(::link((d + "/sub/a").c_str(), (d + "/b").c_str()), 0);
  ASSERT_EQ(::symlink("sub/a", (d + "/c").c_str()), 0);
  auto u = cri::dirUsage(d);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->inodes, 4u);  // fs, sub, a (= b), c
  EXPECT_GE(u->bytes, 100000u);
  EXPECT_LT(u->bytes, 200000u);
}

TEST(CriImageCore, EnsureFileImageImportsOnceIntoTheView) {
  fakehttp::TempDir dir;
  auto db = store::Database::open(dir / "berth.db");
  ASSERT_TRUE(db);
  auto docker = image::makeImageService(**db, dir.path(), {});
  auto k8s = docker->inNamespace(image::kCriNamespace);
  const std::string bin = dir.path() + "/pause-bin";
  std::ofstream(bin) << "#!/bin/sh\nexec sleep inf\n";

  auto missing = cri::ensureFileImage(*k8s, dir.path() + "/nope", "pause", "berth.local/pause:1");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::NotFound);
  EXPECT_EQ(cri::ensureFileImage(*k8s, bin, "../x", "berth.local/pause:1").error().code, Code::InvalidArgument);

  auto id = cri::ensureFileImage(*k8s, bin, "pause", "berth.local/pause:1");
  ASSERT_TRUE(id) << id.error().message;
  auto rec = k8s->resolve("berth.local/pause:1");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->id, *id);
  EXPECT_EQ(rec->config["config"]["Entrypoint"], json::array({"/pause"}));
  ASSERT_EQ(rec->lowerDirs.size(), 1u);
  struct stat st;
  ASSERT_EQ(::stat((rec->lowerDirs[0] + "/pause").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  EXPECT_EQ(*readFile(rec->lowerDirs[0] + "/pause"), "#!/bin/sh\nexec sleep inf\n");
  // Not Docker's: the name lives in k8s.io only.
  EXPECT_FALSE(docker->resolve("berth.local/pause:1"));

  // The same file again: the same image, nothing imported.
  auto again = cri::ensureFileImage(*k8s, bin, "pause", "berth.local/pause:1");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *id);
  // A changed file: a new image under the name.
  std::ofstream(bin) << "#!/bin/sh\nexec sleep 1d\n";
  auto changed = cri::ensureFileImage(*k8s, bin, "pause", "berth.local/pause:1");
  ASSERT_TRUE(changed);
  EXPECT_NE(*changed, *id);
  EXPECT_EQ(k8s->resolve("berth.local/pause:1")->id, *changed);
}
