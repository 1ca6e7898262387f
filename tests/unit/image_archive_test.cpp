// image save / load: archive layout, round trip, docker-archive and OCI
// inputs, hostile and malformed tars.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <gtest/gtest.h>

#include <map>

#include "api/images_router.h"
#include "common/sha256.h"
#include "fake_http.h"
#include "image/service.h"
#include "store/database.h"

using namespace berth;
using fakehttp::call;
using fakehttp::StringBody;
using fakehttp::TarBuilder;
using fakehttp::TempDir;
using nlohmann::json;

namespace {

struct Fixture {
  TempDir dir;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<image::ImageService> svc;
  api::Router router;

  Fixture() {
    auto d = store::Database::open(dir / "berth.db");
    if (!d) throw std::runtime_error(d.error().message);
    db = std::move(*d);
    svc = image::makeImageService(*db, dir.path(), nullptr);
    api::registerImageRoutes(router, *svc, nullptr);
  }
  std::string import(const std::string& tar, const std::string& tag) {
    StringBody body(tar);
    auto id = svc->importImage(body, tag, {"CMD [\"sh\"]"}, "");
    if (!id) throw std::runtime_error(id.error().message);
    return *id;
  }
  // Files of the content ingest dir (must be empty after a load).
  std::vector<std::string> ingestLeftovers() {
    std::vector<std::string> out;
    if (DIR* d = opendir((dir.path() + "/content/ingest").c_str())) {
      while (dirent* e = readdir(d))
        if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.push_back(e->d_name);
      closedir(d);
    }
    return out;
  }
};

std::string rootfs(const std::string& marker) {
  return TarBuilder().dir("bin").file("bin/sh", "#!sh", 0755).file("etc/marker", marker).str();
}

// Reads a tar into name -> contents (regular files only).
std::map<std::string, std::string> untar(const std::string& data) {
  std::map<std::string, std::string> out;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_open_memory(a, data.data(), data.size());
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    std::string body(size_t(archive_entry_size(e)), '\0');
    if (!body.empty()) archive_read_data(a, body.data(), body.size());
    out[archive_entry_pathname(e)] = body;
  }
  archive_read_free(a);
  return out;
}

std::string joined(const std::vector<std::string>& chunks) {
  std::string s;
  for (auto& c : chunks) s += c;
  return s;
}

}  // namespace

TEST(ImageArchive, SaveWritesOciLayoutAndManifestJson) {
  Fixture f;
  std::string tar = rootfs("a");
  std::string id = f.import(tar, "busybox:latest");
  auto r = call(f.router, "GET", "/v1.41/images/get?names=busybox");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.streamed);
  EXPECT_EQ(r.contentType, "application/x-tar");
  auto files = untar(joined(r.chunks));
  ASSERT_TRUE(files.count("manifest.json"));
  ASSERT_TRUE(files.count("index.json"));
  ASSERT_TRUE(files.count("oci-layout"));
  auto m = json::parse(files["manifest.json"]);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0]["Config"], "blobs/sha256/" + id.substr(7));
  EXPECT_EQ(m[0]["RepoTags"], json::array({"busybox:latest"}));
  std::string diff = sha256Digest(tar);
  EXPECT_EQ(m[0]["Layers"], json::array({"blobs/sha256/" + diff.substr(7)}));
  EXPECT_EQ(files["blobs/sha256/" + diff.substr(7)], tar);
  EXPECT_EQ(sha256Digest(files["blobs/sha256/" + id.substr(7)]), id);
  auto idx = json::parse(files["index.json"]);
  ASSERT_EQ(idx["manifests"].size(), 1u);
  auto& desc = idx["manifests"][0];
  EXPECT_EQ(desc["annotations"]["io.containerd.image.name"], "docker.io/library/busybox:latest");
  EXPECT_EQ(desc["annotations"]["org.opencontainers.image.ref.name"], "latest");
  std::string mtext = files["blobs/sha256/" + desc["digest"].get<std::string>().substr(7)];
  EXPECT_EQ(sha256Digest(mtext), desc["digest"]);
  EXPECT_EQ(json::parse(mtext)["config"]["digest"], id);
  // /images/{name}/get is the same archive.
  auto one = call(f.router, "GET", "/v1.41/images/busybox:latest/get");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(untar(joined(one.chunks)).count("manifest.json"), 1u);
}

TEST(ImageArchive, SaveUnknownImageIs404BeforeStreaming) {
  Fixture f;
  auto r = call(f.router, "GET", "/v1.41/images/get?names=nosuch");
  EXPECT_EQ(r.status, 404);
  EXPECT_FALSE(r.streamed);
  EXPECT_EQ(r.message(), "No such image: nosuch:latest");
}

TEST(ImageArchive, SaveRmiLoadRoundTripKeepsId) {
  Fixture f;
  std::string id = f.import(rootfs("rt"), "rt:1");
  auto saved = call(f.router, "GET", "/v1.41/images/get?names=rt%3A1");
  ASSERT_EQ(saved.status, 200);
  ASSERT_TRUE(f.svc->remove("rt:1", false, true));
  ASSERT_FALSE(f.svc->resolve(id));
  auto r = call(f.router, "POST", "/v1.41/images/load?quiet=0", joined(saved.chunks));
  ASSERT_EQ(r.status, 200) << r.body;
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["status"], "Loading layer");
  EXPECT_EQ(lines[0]["id"].get<std::string>().size(), 12u);
  EXPECT_EQ(lines[1]["stream"], "Loaded image: rt:1\n");
  auto rec = f.svc->resolve("rt:1");
  ASSERT_TRUE(rec) << rec.error().message;
  EXPECT_EQ(rec->id, id);
  EXPECT_EQ(*readFile(rec->lowerDirs[0] + "/etc/marker"), "rt");
  EXPECT_TRUE(f.ingestLeftovers().empty());
}

TEST(ImageArchive, LoadsClassicDockerArchiveWithTwoLayers) {
  Fixture f;
  std::string l1 = TarBuilder().dir("bin").file("bin/sh", "#!sh", 0755).str();
  std::string l2 = TarBuilder().file("etc/marker", "two").str();
  json cfg = {{"architecture", "amd64"},
              {"os", "linux"},
              {"config", {{"Cmd", {"sh"}}}},
              {"rootfs", {{"type", "layers"}, {"diff_ids", {sha256Digest(l1), sha256Digest(l2)}}}}};
  std::string cfgText = cfg.dump();
  std::string cfgHex = sha256Hex(cfgText);
  json manifest = json::array({{{"Config", cfgHex + ".json"},
                                {"RepoTags", {"apiprobe-built:v1"}},
                                {"Layers", {"aaaa/layer.tar", "bbbb/layer.tar"}}}});
  std::string archive = TarBuilder()
                            .file("aaaa/VERSION", "1.0")
                            .file("aaaa/json", "{}")
                            .file("aaaa/layer.tar", l1)
                            .file("bbbb/VERSION", "1.0")
                            .file("bbbb/json", "{}")
                            .symlink("bbbb/layer.tar", "../cccc/layer.tar")
                            .file("cccc/layer.tar", l2)
                            .file(cfgHex + ".json", cfgText)
                            .file("manifest.json", manifest.dump())
                            .file("repositories", R"({"apiprobe-built":{"v1":"bbbb"}})")
                            .str();
  auto r = call(f.router, "POST", "/v1.41/images/load?quiet=1", archive);
  ASSERT_EQ(r.status, 200) << r.body;
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["stream"], "Loaded image: apiprobe-built:v1\n");
  auto rec = f.svc->resolve("apiprobe-built:v1");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->id, "sha256:" + cfgHex);
  ASSERT_EQ(rec->lowerDirs.size(), 2u);
  EXPECT_EQ(*readFile(rec->lowerDirs[0] + "/etc/marker"), "two");
  auto detail = f.svc->inspect("apiprobe-built:v1");
  ASSERT_TRUE(detail);
  EXPECT_EQ(detail->chainIds[1], sha256Digest(sha256Digest(l1) + " " + sha256Digest(l2)));
}

TEST(ImageArchive, LoadsPlainOciLayoutWithGzipLayerUntagged) {
  Fixture f;
  std::string layer = rootfs("oci");
  std::string gz = TarBuilder().dir("bin").file("bin/sh", "#!sh", 0755).file("etc/marker", "oci").str("gzip");
  json cfg = {{"architecture", "amd64"},
              {"os", "linux"},
              {"rootfs", {{"type", "layers"}, {"diff_ids", {sha256Digest(layer)}}}}};
  std::string cfgText = cfg.dump();
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                   {"config", {{"digest", sha256Digest(cfgText)}, {"size", cfgText.size()}}},
                   {"layers", {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                                {"digest", sha256Digest(gz)},
                                {"size", gz.size()}}}}};
  std::string mText = manifest.dump();
  json index = {{"schemaVersion", 2},
                {"manifests", {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                {"digest", sha256Digest(mText)},
                                {"size", mText.size()}}}}};
  auto blob = [](const std::string& s) { return "blobs/sha256/" + sha256Hex(s); };
  std::string archive = TarBuilder()
                            .file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})")
                            .file("index.json", index.dump())
                            .file(blob(mText), mText)
                            .file(blob(cfgText), cfgText)
                            .file(blob(gz), gz)
                            .str();
  auto r = call(f.router, "POST", "/v1.41/images/load?quiet=1", archive);
  ASSERT_EQ(r.status, 200) << r.body;
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["stream"], "Loaded image ID: " + sha256Digest(cfgText) + "\n");
  auto rec = f.svc->resolve(sha256Digest(cfgText));
  ASSERT_TRUE(rec);
  EXPECT_EQ(*readFile(rec->lowerDirs[0] + "/etc/marker"), "oci");
}

// dockerd answers 200 and puts the error in the JSON stream
// ({"errorDetail":{"message":M},"error":M}); docker-py raises ImageLoadError.
std::string loadError(const fakehttp::Response& r) {
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.streamed);
  auto lines = r.lines();
  if (lines.empty() || !lines.back().contains("error")) {
    ADD_FAILURE() << "no error line in the load stream";
    return "";
  }
  EXPECT_EQ(lines.back()["errorDetail"]["message"], lines.back()["error"]);
  return lines.back()["error"].get<std::string>();
}

TEST(ImageArchive, LoadRejectsBadInput) {
  Fixture f;
  // not a tar
  auto r = call(f.router, "POST", "/v1.41/images/load?quiet=1", std::string(3000, 'x'));
  EXPECT_NE(loadError(r), "");
  // a tar without manifest.json or index.json
  r = call(f.router, "POST", "/v1.41/images/load?quiet=1", TarBuilder().file("hello", "x").str());
  EXPECT_NE(loadError(r).find("manifest.json"), std::string::npos);
  // a hostile path
  r = call(f.router, "POST", "/v1.41/images/load?quiet=1", TarBuilder().file("../evil", "x").str());
  EXPECT_NE(loadError(r), "");
  struct stat st;
  EXPECT_NE(lstat((f.dir.path() + "/content/evil").c_str(), &st), 0);
  // a layer whose diff id does not match the config
  std::string layer = rootfs("x");
  json cfg = {{"rootfs", {{"type", "layers"}, {"diff_ids", {sha256Digest("other")}}}}};
  std::string cfgText = cfg.dump();
  std::string hex = sha256Hex(cfgText);
  json manifest = json::array({{{"Config", hex + ".json"}, {"RepoTags", {"bad:1"}}, {"Layers", {"l/layer.tar"}}}});
  r = call(f.router, "POST", "/v1.41/images/load?quiet=1",
           TarBuilder().file(hex + ".json", cfgText).file("l/layer.tar", layer).file("manifest.json", manifest.dump()).str());
  EXPECT_NE(loadError(r).find("invalid diffID"), std::string::npos);
  EXPECT_FALSE(f.svc->resolve("bad:1"));
  // a config whose digest does not match its name
  manifest[0]["Config"] = std::string(64, 'a') + ".json";
  r = call(f.router, "POST", "/v1.41/images/load?quiet=1",
           TarBuilder()
               .file(std::string(64, 'a') + ".json", cfgText)
               .file("l/layer.tar", layer)
               .file("manifest.json", manifest.dump())
               .str());
  EXPECT_NE(loadError(r), "");
  EXPECT_TRUE(f.ingestLeftovers().empty());
}
