#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/sha256.h"
#include "fake_http.h"
#include "image/service.h"
#include "store/database.h"

using namespace berth;
using fakehttp::StringBody;
using fakehttp::TarBuilder;
using fakehttp::TempDir;

namespace {

struct Fixture {
  TempDir dir;
  std::unique_ptr<store::Database> db;
  std::vector<image::ImageUser> users;  // returned for every image id in usersFor
  std::string usersFor;
  std::unique_ptr<image::ImageService> svc;

  Fixture() {
    auto d = store::Database::open(dir / "berth.db");
    if (!d) throw std::runtime_error(d.error().message);
    db = std::move(*d);
    svc = image::makeImageService(*db, dir.path(), [this](const std::string& id) {
      return id == usersFor ? users : std::vector<image::ImageUser>{};
    });
  }
  Result<std::string> import(const std::string& tar, const std::string& tag = "",
                             const std::vector<std::string>& changes = {}, const std::string& msg = "") {
    StringBody body(tar, 1000);
    return svc->importImage(body, tag, changes, msg);
  }
};

std::string rootfsTar(const std::string& marker = "v1") {
  return TarBuilder().dir("bin").file("bin/sh", "#!sh", 0755).file("etc/marker", marker).str();
}

bool exists(const std::string& p) {
  struct stat st;
  return lstat(p.c_str(), &st) == 0;
}

}  // namespace

TEST(ImageService, ImportAndResolve) {
  Fixture f;
  std::string tar = rootfsTar();
  auto id = f.import(tar, "docker.io/library/busybox:local");
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_TRUE(isValidDigest(*id));

  for (std::string ref : std::vector<std::string>{"busybox:local", "docker.io/library/busybox:local", *id, id->substr(7), id->substr(7, 12),
                          id->substr(0, 10)}) {
    auto rec = f.svc->resolve(ref);
    ASSERT_TRUE(rec) << ref << ": " << rec.error().message;
    EXPECT_EQ(rec->id, *id);
  }
  auto rec = f.svc->resolve("busybox:local");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->repoTags, std::vector<std::string>{"busybox:local"});
  ASSERT_EQ(rec->lowerDirs.size(), 1u);
  std::string diffId = sha256Digest(tar);
  EXPECT_EQ(rec->lowerDirs[0], f.dir.path() + "/snapshots/" + diffId.substr(7) + "/fs");
  EXPECT_EQ(*readFile(rec->lowerDirs[0] + "/etc/marker"), "v1");
  EXPECT_EQ(rec->size, 4 + 2);
  EXPECT_GT(rec->created, 0);
  EXPECT_EQ(rec->config["architecture"], "amd64");
  EXPECT_EQ(rec->config["os"], "linux");
  EXPECT_EQ(rec->config["rootfs"]["diff_ids"], nlohmann::json::array({diffId}));
  EXPECT_EQ(rec->config["history"][0]["comment"], "Imported from -");
  // The config blob hashes to the id, the layer blob to the diff id.
  auto cfgText = readFile(f.dir.path() + "/content/blobs/sha256/" + id->substr(7));
  ASSERT_TRUE(cfgText);
  EXPECT_EQ(sha256Digest(*cfgText), *id);
  EXPECT_EQ(*readFile(f.dir.path() + "/content/blobs/sha256/" + diffId.substr(7)), tar);
}

TEST(ImageService, ImportCompressedGivesSameDiffId) {
  Fixture f;
  std::string tar = rootfsTar();
  auto a = f.import(tar);
  auto b = f.import(TarBuilder().dir("bin").file("bin/sh", "#!sh", 0755).file("etc/marker", "v1").str("gzip"));
  auto c = f.import(TarBuilder().dir("bin").file("bin/sh", "#!sh", 0755).file("etc/marker", "v1").str("zstd"));
  ASSERT_TRUE(a && b && c);
  auto ra = f.svc->inspect(*a), rb = f.svc->inspect(*b), rc = f.svc->inspect(*c);
  ASSERT_TRUE(ra && rb && rc);
  EXPECT_EQ(ra->diffIds, rb->diffIds);
  EXPECT_EQ(ra->diffIds, rc->diffIds);
  EXPECT_EQ(ra->record.lowerDirs, rb->record.lowerDirs);  // one shared snapshot
  auto s = f.db->prepare("SELECT COUNT(*) FROM layers");
  ASSERT_TRUE(*s->step());
  EXPECT_EQ(s->colInt(0), 1);
}

TEST(ImageService, ImportWithChangesAndMessage) {
  Fixture f;
  auto id = f.import(rootfsTar(), "imp:v1",
                     {"CMD [\"sh\"]", "ENV A=1 B=\"two words\"", "WORKDIR /app", "EXPOSE 80 53/udp", "LABEL x=y",
                      "USER nobody", "VOLUME /data", "ENTRYPOINT echo hi"},
                     "imported msg");
  ASSERT_TRUE(id) << id.error().message;
  auto rec = f.svc->resolve("imp:v1");
  ASSERT_TRUE(rec);
  auto& c = rec->config["config"];
  EXPECT_EQ(c["Cmd"], nlohmann::json::array({"sh"}));
  EXPECT_EQ(c["Entrypoint"], nlohmann::json::array({"/bin/sh", "-c", "echo hi"}));
  EXPECT_EQ(c["Env"], nlohmann::json::array({"A=1", "B=two words"}));
  EXPECT_EQ(c["WorkingDir"], "/app");
  EXPECT_TRUE(c["ExposedPorts"].contains("80/tcp"));
  EXPECT_TRUE(c["ExposedPorts"].contains("53/udp"));
  EXPECT_EQ(c["Labels"]["x"], "y");
  EXPECT_EQ(c["User"], "nobody");
  EXPECT_TRUE(c["Volumes"].contains("/data"));
  EXPECT_EQ(rec->config["history"][0]["comment"], "imported msg");
  EXPECT_EQ(rec->config["comment"], "imported msg");
}

TEST(ImageService, BadImportsFailCleanly) {
  Fixture f;
  auto r = f.import(std::string(5000, 'x'), "bad:1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::InvalidArgument);
  r = f.import("", "bad:1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::InvalidArgument);
  r = f.import(TarBuilder().file("../../escape", "x").str(), "bad:1");
  ASSERT_FALSE(r);
  EXPECT_FALSE(exists(f.dir / "escape"));
  r = f.import(rootfsTar(), "Bad:Upper");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::InvalidArgument);
  r = f.import(rootfsTar(), "ok:1", {"RUN echo"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "run is not a valid change command");
  {
    StringBody body(rootfsTar(), 100);
    body.failAfter(300);
    r = f.svc->importImage(body, "", {}, "");
    ASSERT_FALSE(r);
  }
  auto s = f.db->prepare("SELECT (SELECT COUNT(*) FROM images) + (SELECT COUNT(*) FROM layers)");
  ASSERT_TRUE(*s->step());
  EXPECT_EQ(s->colInt(0), 0);
  EXPECT_FALSE(f.svc->resolve("bad:1"));
}

TEST(ImageService, UnknownRefsAreNotFound) {
  Fixture f;
  ASSERT_TRUE(f.import(rootfsTar(), "busybox"));
  for (std::string ref : std::vector<std::string>{"nosuch", "nosuch:tag", "busybox:other", "sha256:" + std::string(64, 'a'),
                          std::string(64, 'b'), "fffffffffff", "localhost:5000/x@sha256:" + std::string(64, 'c'), ""}) {
    auto r = f.svc->resolve(ref);
    ASSERT_FALSE(r) << ref;
    EXPECT_EQ(r.error().code, Code::NotFound) << ref;
    EXPECT_TRUE(startsWith(r.error().message, "No such image: ")) << r.error().message;
  }
  EXPECT_EQ(f.svc->resolve("nosuch").error().message, "No such image: nosuch:latest");
}

TEST(ImageService, TagMoveLeavesOldImageDangling) {
  Fixture f;
  auto a = f.import(rootfsTar("a"), "app:1");
  auto b = f.import(rootfsTar("b"), "app:1");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(f.svc->resolve("app:1")->id, *b);
  auto list = f.svc->list(false, {});
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, *b);  // newest first
  EXPECT_EQ((*list)[1].repoTags, std::vector<std::string>{"<none>:<none>"});
  EXPECT_EQ((*list)[1].repoDigests, std::vector<std::string>{"<none>@<none>"});
  auto dangling = f.svc->list(false, {{"dangling", {"true"}}});
  ASSERT_TRUE(dangling);
  ASSERT_EQ(dangling->size(), 1u);
  EXPECT_EQ((*dangling)[0].id, *a);
}

TEST(ImageService, TagAndRemove) {
  Fixture f;
  auto id = f.import(rootfsTar(), "busybox:local");
  ASSERT_TRUE(id);
  auto t = f.svc->tag("busybox:local", "docker.io/library/other", "x");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->ref, "other:x");
  EXPECT_EQ(t->imageId, *id);
  EXPECT_FALSE(f.svc->tag("busybox:local", "other", "bad tag"));
  EXPECT_EQ(f.svc->tag("nosuch", "x", "").error().code, Code::NotFound);

  // Removing one of two tags only untags.
  auto r = f.svc->remove("other:x", false, true);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].untagged, "other:x");

  // Used by a stopped container: needs force.
  f.usersFor = *id;
  f.users = {{"c0ffee" + std::string(58, '0'), false}};
  auto c = f.svc->remove("busybox:local", false, true);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Code::Conflict);
  EXPECT_EQ(c.error().message, "conflict: unable to remove repository reference \"busybox:local\" (must force) - "
                               "container c0ffee000000 is using its referenced image " +
                                   id->substr(7, 12));
  // Running container: cannot be forced.
  f.users[0].running = true;
  c = f.svc->remove(*id, true, true);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "conflict: unable to delete " + id->substr(7, 12) +
                                   " (cannot be forced) - image is being used by running container c0ffee000000");
  f.users.clear();

  std::string snap = f.svc->resolve(*id)->lowerDirs[0];
  r = f.svc->remove("busybox:local", false, true);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].untagged, "busybox:local");
  EXPECT_EQ((*r)[1].deleted, *id);
  EXPECT_TRUE((*r)[2].layer);
  EXPECT_FALSE(f.svc->resolve(*id));
  EXPECT_FALSE(exists(snap));
  EXPECT_FALSE(exists(f.dir.path() + "/content/blobs/sha256/" + id->substr(7)));
}

TEST(ImageService, RemoveIdWithSeveralTagsNeedsForce) {
  Fixture f;
  auto id = f.import(rootfsTar(), "a:1");
  ASSERT_TRUE(id);
  ASSERT_TRUE(f.svc->tag(*id, "b", "2"));
  auto r = f.svc->remove(id->substr(7, 12), false, true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "conflict: unable to delete " + id->substr(7, 12) + " (must be forced) - image is referenced in multiple repositories");
  r = f.svc->remove(id->substr(7, 12), true, true);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_GE(r->size(), 3u);
  EXPECT_EQ((*r)[0].untagged, "a:1");
  EXPECT_EQ((*r)[1].untagged, "b:2");
  EXPECT_EQ((*r)[2].deleted, *id);
}

TEST(ImageService, ForceDeleteKeepsLayersForStoppedContainers) {
  Fixture f;
  auto id = f.import(rootfsTar(), "keep:1");
  ASSERT_TRUE(id);
  ASSERT_TRUE(f.db->run("INSERT INTO containers(id, name, image_id, created, config, state) VALUES('c','n',?,1,'{}','exited')",
                        *id));
  f.usersFor = *id;
  f.users = {{"c", false}};
  auto dirs = f.svc->layerDirs(*id);
  ASSERT_TRUE(dirs);
  auto r = f.svc->remove("keep:1", true, true);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(f.svc->resolve(*id));
  auto after = f.svc->layerDirs(*id);
  ASSERT_TRUE(after);
  EXPECT_EQ(*after, *dirs);
  EXPECT_TRUE(exists((*dirs)[0]));
  ASSERT_TRUE(f.svc->garbageCollect());
  EXPECT_TRUE(exists((*dirs)[0]));
  ASSERT_TRUE(f.db->run("DELETE FROM containers"));
  ASSERT_TRUE(f.svc->garbageCollect());
  EXPECT_FALSE(exists((*dirs)[0]));
  EXPECT_TRUE(f.svc->layerDirs(*id)->empty());
}

TEST(ImageService, HistoryAndInspect) {
  Fixture f;
  auto id = f.import(rootfsTar(), "h:1", {}, "");
  ASSERT_TRUE(id);
  auto h = f.svc->history("h:1");
  ASSERT_TRUE(h);
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].id, *id);
  EXPECT_EQ((*h)[0].comment, "Imported from -");
  EXPECT_EQ((*h)[0].size, 6);
  EXPECT_EQ((*h)[0].tags, std::vector<std::string>{"h:1"});
  auto d = f.svc->inspect("h:1");
  ASSERT_TRUE(d);
  EXPECT_GT(d->lastTagTime, 0);
  EXPECT_EQ(d->diffIds.size(), 1u);
  EXPECT_TRUE(isValidDigest(d->manifestDigest));
}
