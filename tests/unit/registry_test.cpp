// Pure logic of the registry client: challenges, credentials, platforms,
// manifests, insecure registries, error documents. No network.
#include <gtest/gtest.h>

#include "common/base64.h"
#include "registry/auth.h"
#include "registry/client.h"
#include "registry/manifest.h"

using namespace berth;
using namespace berth::registry;

TEST(WwwAuthenticate, BearerWithQuotedParams) {
  auto c = parseWwwAuthenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].params["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(c[0].params["service"], "registry.docker.io");
  EXPECT_EQ(c[0].params["scope"], "repository:library/busybox:pull,push");
}

TEST(WwwAuthenticate, BasicAndSeveralChallenges) {
  auto c = parseWwwAuthenticate(R"(Basic realm="Registry Realm")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].params["realm"], "Registry Realm");
  c = parseWwwAuthenticate(R"(Basic realm="a", Bearer realm="http://t/x?y=1", service=reg, error="invalid_token")");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[1].scheme, "bearer");
  EXPECT_EQ(c[1].params["realm"], "http://t/x?y=1");
  EXPECT_EQ(c[1].params["service"], "reg");
  EXPECT_EQ(c[1].params["error"], "invalid_token");
}

TEST(WwwAuthenticate, EscapesAndGarbage) {
  auto c = parseWwwAuthenticate(R"(Bearer realm="a\"b,c")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].params["realm"], "a\"b,c");
  EXPECT_TRUE(parseWwwAuthenticate("").empty());
  EXPECT_TRUE(parseWwwAuthenticate("   ,,  ").empty());
  c = parseWwwAuthenticate(R"(Bearer realm="unterminated)");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].params["realm"], "unterminated");
}

TEST(Base64, RoundTripAndAlphabets) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "user:pa ss\xff\xfe"}) {
    auto d = base64Decode(base64Encode(s));
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(base64Encode("{}"), "e30=");
  EXPECT_EQ(*base64Decode("_-8"), *base64Decode("/+8="));
  EXPECT_FALSE(base64Decode("a*b"));
}

TEST(RegistryAuth, DecodesHeaderForms) {
  auto c = decodeRegistryAuth("e30=");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->empty());
  c = decodeRegistryAuth("");
  ASSERT_TRUE(c && c->empty());
  c = decodeRegistryAuth(base64Encode(R"({"username":"u","password":"p","serveraddress":"127.0.0.1:5000"})"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "u");
  EXPECT_EQ(c->password, "p");
  EXPECT_EQ(c->serverAddress, "127.0.0.1:5000");
  // "auth" as config.json stores it.
  c = decodeRegistryAuth(base64Encode(R"({"auth":")" + base64Encode("alice:s:cret") + R"("})"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->password, "s:cret");
  auto bad = decodeRegistryAuth(base64Encode("not json"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Code::InvalidArgument);
}

TEST(Platform, ParseAndNormalise) {
  auto p = parsePlatform("linux/arm64/v8");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->string(), "linux/arm64");
  p = parsePlatform("linux/aarch64");
  EXPECT_EQ(p->string(), "linux/arm64");
  p = parsePlatform("linux/x86_64");
  EXPECT_EQ(p->string(), "linux/amd64");
  p = parsePlatform("linux/arm");
  EXPECT_EQ(p->string(), "linux/arm/v7");
  p = parsePlatform("Linux/ARM/6");
  EXPECT_EQ(p->string(), "linux/arm/v6");
  p = parsePlatform("arm64");
  EXPECT_EQ(p->string(), "linux/arm64");
  EXPECT_FALSE(parsePlatform(""));
  EXPECT_FALSE(parsePlatform("linux//"));
  EXPECT_FALSE(parsePlatform("a/b/c/d"));
  EXPECT_EQ(hostPlatform().os, "linux");
  EXPECT_FALSE(hostPlatform().architecture.empty());
}

TEST(Platform, Matching) {
  EXPECT_TRUE(platformMatches({"linux", "arm64", ""}, {"linux", "arm64", "v8"}));
  EXPECT_TRUE(platformMatches({"linux", "arm64", "v8"}, {"linux", "arm64", ""}));
  EXPECT_FALSE(platformMatches({"linux", "arm64", ""}, {"linux", "amd64", ""}));
  EXPECT_FALSE(platformMatches({"linux", "arm", "v7"}, {"linux", "arm", "v6"}));
  EXPECT_TRUE(platformMatches({"linux", "amd64", ""}, {"linux", "x86_64", ""}));
  EXPECT_FALSE(platformMatches({"windows", "amd64", ""}, {"linux", "amd64", ""}));
}

namespace {
const char* kIndex = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":10,"digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","platform":{"os":"linux","architecture":"amd64"}},
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":11,"digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":12,"digest":"sha256:3333333333333333333333333333333333333333333333333333333333333333","platform":{"os":"linux","architecture":"arm","variant":"v6"}}]})";
const char* kManifest = R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
 "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":7,"digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
 "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":100,"digest":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
           {"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":200,"digest":"sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc","urls":["https://x/y"]}]})";
}  // namespace

TEST(Manifest, IndexAndPlatformSelection) {
  auto idx = parseIndex(kIndex);
  ASSERT_TRUE(idx);
  ASSERT_EQ(idx->manifests.size(), 3u);
  auto d = selectPlatform(*idx, {"linux", "arm64", ""});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->size, 11);
  d = selectPlatform(*idx, *parsePlatform("linux/amd64"));
  EXPECT_EQ(d->size, 10);
  d = selectPlatform(*idx, *parsePlatform("linux/arm/v6"));
  EXPECT_EQ(d->size, 12);
  auto none = selectPlatform(*idx, *parsePlatform("linux/s390x"));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Code::NotFound);
  EXPECT_EQ(none.error().message, "no matching manifest for linux/s390x in the manifest list entries");
}

TEST(Manifest, ParseDockerV2) {
  auto m = parseManifest(kManifest);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->mediaType, kDockerManifest);
  EXPECT_EQ(m->config.size, 7);
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[1].size, 200);
  EXPECT_EQ(m->layers[1].urls, std::vector<std::string>{"https://x/y"});
  EXPECT_TRUE(isManifestMediaType(detectMediaType("", kManifest)));
  EXPECT_TRUE(isIndexMediaType(detectMediaType("application/json", kIndex)));
  EXPECT_EQ(detectMediaType("application/vnd.oci.image.manifest.v1+json; charset=utf-8", "{}"), kOciManifest);
}

TEST(Manifest, RejectsMalformed) {
  EXPECT_FALSE(parseManifest("not json"));
  EXPECT_FALSE(parseManifest(R"({"schemaVersion":1,"fsLayers":[]})"));
  EXPECT_FALSE(parseManifest(kIndex));
  auto bad = parseManifest(R"({"schemaVersion":2,"config":{"digest":"sha256:xyz","size":1},"layers":[]})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("invalid digest"), std::string::npos);
  EXPECT_FALSE(parseManifest(
      R"({"schemaVersion":2,"config":{"digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":-1},"layers":[]})"));
  EXPECT_FALSE(parseIndex(R"({"schemaVersion":2})"));
}

TEST(Insecure, LoopbackAndConfigured) {
  RegistryConfig cfg;
  EXPECT_TRUE(isInsecureRegistry(cfg, "127.0.0.1:5000"));
  EXPECT_TRUE(isInsecureRegistry(cfg, "127.8.9.10"));
  EXPECT_TRUE(isInsecureRegistry(cfg, "localhost:5000"));
  EXPECT_FALSE(isInsecureRegistry(cfg, "docker.io"));
  EXPECT_FALSE(isInsecureRegistry(cfg, "10.1.2.3:5000"));
  cfg.insecure = {"10.0.0.0/8", "myreg.example:443"};
  EXPECT_TRUE(isInsecureRegistry(cfg, "10.1.2.3:5000"));
  EXPECT_TRUE(isInsecureRegistry(cfg, "myreg.example:443"));
  EXPECT_FALSE(isInsecureRegistry(cfg, "myreg.example:444"));
  EXPECT_EQ(registryHost("docker.io"), "registry-1.docker.io");
  EXPECT_EQ(registryHost("127.0.0.1:5000"), "127.0.0.1:5000");
}

TEST(DistributionErrors, Text) {
  std::string body = R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]})";
  EXPECT_EQ(distributionErrorText(body), "manifest unknown: manifest unknown");
  EXPECT_EQ(distributionErrorCode(body), "MANIFEST_UNKNOWN");
  EXPECT_EQ(distributionErrorText(R"({"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]})"),
            "name unknown: repository name not known to registry");
  EXPECT_EQ(distributionErrorText("<html>"), "");
}
