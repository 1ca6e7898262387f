#include "cli/manifest_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>

#include "common/util.h"

using namespace berth::cli;
using nlohmann::json;

namespace {

ImageManifestEntry entry(std::string ref, std::string mt, std::string digest, std::string arch) {
  ImageManifestEntry e;
  e.ref = std::move(ref);
  e.mediaType = std::move(mt);
  e.digest = std::move(digest);
  e.raw = R"({"schemaVersion":2,"mediaType":")" + e.mediaType + R"(","config":{"digest":"sha256:c"},"layers":[]})";
  e.size = int64_t(e.raw.size());
  ManifestPlatform p;
  p.os = "linux";
  p.architecture = std::move(arch);
  e.platform = p;
  return e;
}

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/berth-mstore-XXXXXX";
    path = ::mkdtemp(t);
  }
  ~TempDir() { (void)berth::removeAll(path); }
};

}  // namespace

TEST(ManifestStore, FilesafeNameLikeDocker) {
  EXPECT_EQ(filesafeName("127.0.0.1:5000/a/b:v1"), "127.0.0.1-5000_a_b-v1");
  EXPECT_EQ(filesafeName("docker.io/library/busybox:latest"), "docker.io_library_busybox-latest");
  EXPECT_EQ(filesafeName("r/x@sha256:ab"), "r_x@sha256-ab");
}

TEST(ManifestStore, EntryRoundTripKeepsPlatformAndRawBytes) {
  auto e = entry("r:5000/a:arm", "application/vnd.docker.distribution.manifest.v2+json", "sha256:1", "arm64");
  e.platform->variant = "v8";
  e.platform->osVersion = "10.0";
  e.platform->osFeatures = {"f1", "f2"};
  std::string text = encodeEntry(e);
  auto j = json::parse(text);
  EXPECT_EQ(j["Ref"], "r:5000/a:arm");
  EXPECT_EQ(j["Descriptor"]["platform"]["os.features"], json({"f1", "f2"}));
  EXPECT_TRUE(j.contains("SchemaV2Manifest"));
  EXPECT_FALSE(j.contains("OCIManifest"));
  auto back = decodeEntry(text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->raw, e.raw);
  EXPECT_EQ(back->digest, "sha256:1");
  EXPECT_EQ(back->size, e.size);
  ASSERT_TRUE(back->platform);
  EXPECT_EQ(back->platform->variant, "v8");
  EXPECT_EQ(back->platform->osVersion, "10.0");
  EXPECT_EQ(back->platform->osFeatures.size(), 2u);
}

TEST(ManifestStore, OciEntryStoredAsOCIManifest) {
  auto e = entry("r/a:x", "application/vnd.oci.image.manifest.v1+json", "sha256:2", "amd64");
  auto j = json::parse(encodeEntry(e));
  EXPECT_TRUE(j.contains("OCIManifest"));
  EXPECT_FALSE(j.contains("SchemaV2Manifest"));
}

TEST(ManifestStore, DecodeRejectsGarbage) {
  EXPECT_FALSE(decodeEntry("not json"));
  EXPECT_FALSE(decodeEntry(R"({"Ref":"x"})"));  // no Descriptor
  EXPECT_FALSE(decodeEntry(R"({"Ref":"x","Descriptor":{},"Raw":"%%%"})"));
}

TEST(ManifestStore, SaveLoadRemoveList) {
  TempDir d;
  const std::string list = "r:5000/a:latest";
  auto missing = loadList(d.path, list);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "No such manifest: r:5000/a:latest");
  ASSERT_TRUE(saveEntry(d.path, list, entry("r:5000/a:b", "application/vnd.docker.distribution.manifest.v2+json",
                                            "sha256:b", "arm64")));
  ASSERT_TRUE(saveEntry(d.path, list, entry("r:5000/a:a", "application/vnd.docker.distribution.manifest.v2+json",
                                            "sha256:a", "amd64")));
  auto l = loadList(d.path, list);
  ASSERT_TRUE(l);
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].ref, "r:5000/a:a");  // sorted by file name
  auto one = loadEntry(d.path, list, "r:5000/a:b");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->platform->architecture, "arm64");
  EXPECT_FALSE(loadEntry(d.path, list, "r:5000/a:zzz"));
  ASSERT_TRUE(removeList(d.path, list));
  EXPECT_FALSE(loadList(d.path, list));
}

TEST(ManifestStore, BuildListInDockersBytes) {
  auto a = entry("r/a:a", "application/vnd.docker.distribution.manifest.v2+json", "sha256:a", "amd64");
  auto b = entry("r/a:b", "application/vnd.oci.image.manifest.v1+json", "sha256:b", "arm64");
  b.platform->variant = "v8";
  auto [mt, body] = buildList({a, b});
  EXPECT_EQ(mt, "application/vnd.docker.distribution.manifest.list.v2+json");
  auto j = json::parse(body);
  EXPECT_EQ(j["schemaVersion"], 2);
  ASSERT_EQ(j["manifests"].size(), 2u);
  EXPECT_EQ(j["manifests"][1]["digest"], "sha256:b");
  EXPECT_EQ(j["manifests"][1]["size"], b.size);
  EXPECT_EQ(j["manifests"][1]["platform"]["variant"], "v8");
  EXPECT_FALSE(j["manifests"][0]["platform"].contains("variant"));
  // docker's bytes: distribution's field order, three-space indent
  EXPECT_NE(body.find("\n   \"manifests\": [\n      {\n         \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n         \"size\": "),
            std::string::npos) << body;
  auto back = entriesOfList(body);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[1].digest, "sha256:b");
  EXPECT_EQ((*back)[1].platform->variant, "v8");
  EXPECT_FALSE(entriesOfList(R"({"schemaVersion":2})"));
  auto [mt2, body2] = buildList({b});
  EXPECT_EQ(mt2, "application/vnd.oci.image.index.v1+json");  // first entry OCI
  EXPECT_EQ(json::parse(body2)["mediaType"], "application/vnd.oci.image.index.v1+json");
  EXPECT_EQ(buildList({b, a}).first, "application/vnd.oci.image.index.v1+json");
}

TEST(ManifestStore, IndentTabsKeepsKeyOrder) {
  EXPECT_EQ(indentTabs(R"({"z":1,"a":[2]})"), "{\n\t\"z\": 1,\n\t\"a\": [\n\t\t2\n\t]\n}");
  EXPECT_EQ(indentTabs("not json"), "not json");
}

TEST(ManifestStore, ValidOsArch) {
  EXPECT_TRUE(validOsArch("linux", "arm64"));
  EXPECT_TRUE(validOsArch("windows", "amd64"));
  EXPECT_FALSE(validOsArch("linux", "bogus"));
  EXPECT_FALSE(validOsArch("", ""));
}
