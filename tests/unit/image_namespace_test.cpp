// Image name namespaces (image/service.h, ImageService::inNamespace): the
// default (Docker's) view and the CRI's k8s.io view over one store.
#include <gtest/gtest.h>
#include <sys/stat.h>

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
  std::unique_ptr<image::ImageService> docker;
  std::unique_ptr<image::ImageService> k8s;

  Fixture() {
    auto d = store::Database::open(dir / "berth.db");
    if (!d) throw std::runtime_error(d.error().message);
    db = std::move(*d);
    docker = image::makeImageService(*db, dir.path(), [this](const std::string& id) {
      return id == usersFor ? users : std::vector<image::ImageUser>{};
    });
    k8s = docker->inNamespace(image::kCriNamespace);
  }
  Result<std::string> import(image::ImageService& svc, const std::string& marker, const std::string& tag) {
    StringBody body(TarBuilder().dir("bin").file("bin/sh", "#!sh", 0755).file("etc/marker", marker).str(), 1000);
    return svc.importImage(body, tag, {}, "");
  }
  // Saves ref from src and loads the archive into dst: the same image id
  // named in dst's namespace too.
  bool loadInto(image::ImageService& dst, image::ImageService& src, const std::string& ref) {
    std::vector<std::string> chunks;
    fakehttp::FakeStream out(&chunks);
    if (!src.save({ref}, [&]() -> StreamWriter* { return &out; })) return false;
    std::string tar;
    for (auto& c : chunks) tar += c;
    StringBody body(tar, 1 << 16);
    return bool(dst.load(body, {}));
  }
  std::vector<std::string> ids(image::ImageService& svc) {
    std::vector<std::string> out;
    auto l = svc.list(false, {});
    if (!l) throw std::runtime_error(l.error().message);
    for (auto& s : *l) out.push_back(s.id);
    return out;
  }
};

bool exists(const std::string& p) {
  struct stat st;
  return lstat(p.c_str(), &st) == 0;
}

}  // namespace

TEST(ImageNamespace, ViewsReportTheirNamespace) {
  Fixture f;
  EXPECT_EQ(f.docker->nameSpace(), "");
  EXPECT_EQ(f.k8s->nameSpace(), "k8s.io");
  EXPECT_EQ(f.k8s->inNamespace("")->nameSpace(), "");
}

TEST(ImageNamespace, NamesAreSeparate) {
  Fixture f;
  auto d = f.import(*f.docker, "d", "app:1");
  auto k = f.import(*f.k8s, "k", "registry.k8s.io/pause:3.9");
  ASSERT_TRUE(d && k);
  EXPECT_EQ(f.ids(*f.docker), std::vector<std::string>{*d});
  EXPECT_EQ(f.ids(*f.k8s), std::vector<std::string>{*k});
  EXPECT_EQ(f.docker->resolve("registry.k8s.io/pause:3.9").error().code, Code::NotFound);
  EXPECT_EQ(f.k8s->resolve("app:1").error().code, Code::NotFound);
  // A full id: the engine's view finds any image (containers run by id),
  // the k8s.io view only its own; prefixes are per namespace.
  EXPECT_TRUE(f.docker->resolve(*k));
  EXPECT_FALSE(f.k8s->resolve(*d));
  EXPECT_FALSE(f.docker->resolve(k->substr(7, 12)));
  EXPECT_TRUE(f.k8s->resolve(k->substr(7, 12)));
  // The same name in both namespaces names different images.
  auto d2 = f.import(*f.docker, "d2", "registry.k8s.io/pause:3.9");
  ASSERT_TRUE(d2);
  EXPECT_EQ(f.docker->resolve("registry.k8s.io/pause:3.9")->id, *d2);
  EXPECT_EQ(f.k8s->resolve("registry.k8s.io/pause:3.9")->id, *k);
  EXPECT_EQ(f.k8s->resolve(*k)->repoTags, std::vector<std::string>{"registry.k8s.io/pause:3.9"});
  // Docker's rmi does not see the CRI's image, not even by id.
  EXPECT_EQ(f.docker->remove(*k, true, false).error().code, Code::NotFound);
  // Docker's prune does not take it for dangling.
  auto pr = f.docker->prune({});
  ASSERT_TRUE(pr);
  EXPECT_TRUE(pr->deleted.empty());
  EXPECT_TRUE(f.k8s->resolve(*k));
  // Nor does `image prune -a` take the CRI's images.
  pr = f.docker->prune({{"dangling", {"false"}}});
  ASSERT_TRUE(pr) << pr.error().message;
  EXPECT_FALSE(pr->deleted.empty());
  EXPECT_FALSE(f.docker->resolve("app:1"));
  EXPECT_TRUE(f.k8s->resolve("registry.k8s.io/pause:3.9"));
  EXPECT_EQ(f.ids(*f.k8s), std::vector<std::string>{*k});
}

TEST(ImageNamespace, SharedImageSurvivesRemovalInOneNamespace) {
  Fixture f;
  auto id = f.import(*f.docker, "same", "busybox:1");
  ASSERT_TRUE(id);
  // A Docker image is not the k8s.io view's to tag, even by id ...
  EXPECT_EQ(f.k8s->tag(*id, "busybox", "1").error().code, Code::NotFound);
  // ... but loading the same content names it there too.
  ASSERT_TRUE(f.loadInto(*f.k8s, *f.docker, "busybox:1"));
  EXPECT_EQ(f.ids(*f.k8s), std::vector<std::string>{*id});
  auto dirs = f.docker->layerDirs(*id);
  ASSERT_TRUE(dirs && dirs->size() == 1);

  auto r = f.k8s->remove("busybox:1", false, false);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].untagged, "busybox:1");
  EXPECT_EQ((*r)[0].deleted, "");
  EXPECT_TRUE(f.ids(*f.k8s).empty());
  EXPECT_EQ(f.ids(*f.docker), std::vector<std::string>{*id});
  EXPECT_TRUE(exists((*dirs)[0]));

  // And the other way round: Docker's rmi of its last name keeps the image
  // while k8s.io names it.
  ASSERT_TRUE(f.loadInto(*f.k8s, *f.docker, "busybox:1"));
  r = f.docker->remove("busybox:1", false, true);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].untagged, "busybox:1");
  EXPECT_TRUE(f.docker->layerDirs(*id) && exists((*dirs)[0]));
  EXPECT_TRUE(f.ids(*f.docker).empty()) << "named only in k8s.io: not Docker's dangling image";
  EXPECT_EQ(f.ids(*f.k8s), std::vector<std::string>{*id});

  // The last name anywhere goes: so does the image and its layer.
  r = f.k8s->remove(*id, false, false);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].untagged, "busybox:1");
  EXPECT_EQ((*r)[1].deleted, *id);
  EXPECT_TRUE((*r)[2].layer);
  EXPECT_FALSE(exists((*dirs)[0]));
  // Removing again: NotFound (the CRI front end turns that into success).
  EXPECT_EQ(f.k8s->remove(*id, false, false).error().code, Code::NotFound);
}

TEST(ImageNamespace, CriRemovalIgnoresContainersButKeepsTheirLayers) {
  Fixture f;
  auto id = f.import(*f.k8s, "run", "registry.k8s.io/app:1");
  ASSERT_TRUE(id);
  ASSERT_TRUE(f.db->run("INSERT INTO containers(id, name, image_id, created, config, state) "
                        "VALUES('c','n',?,1,'{}','running')",
                        *id));
  f.usersFor = *id;
  f.users = {{"c", true}};
  auto dirs = f.k8s->layerDirs(*id);
  ASSERT_TRUE(dirs && dirs->size() == 1);
  // Docker would answer 409 "cannot be forced"; the CRI's RemoveImage succeeds.
  auto r = f.k8s->remove("registry.k8s.io/app:1", false, false);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(f.k8s->resolve(*id));
  EXPECT_TRUE(f.ids(*f.docker).empty()) << "not left as Docker's dangling image";
  ASSERT_TRUE(f.docker->garbageCollect());
  EXPECT_TRUE(exists((*dirs)[0])) << "the running container's layers stay";
  ASSERT_TRUE(f.db->run("DELETE FROM containers"));
  ASSERT_TRUE(f.docker->garbageCollect());
  EXPECT_FALSE(exists((*dirs)[0]));
}

TEST(ImageNamespace, DockerDanglingImagesStayDockers) {
  Fixture f;
  auto a = f.import(*f.docker, "a", "");
  ASSERT_TRUE(a);
  EXPECT_EQ(f.ids(*f.docker), std::vector<std::string>{*a});
  EXPECT_TRUE(f.ids(*f.k8s).empty());
  EXPECT_FALSE(f.k8s->resolve(*a));
}

TEST(ImageNamespace, LoadAndSaveUseTheViewsNames) {
  Fixture f;
  auto id = f.import(*f.docker, "s", "saved:1");
  ASSERT_TRUE(id);
  std::vector<std::string> chunks;
  fakehttp::FakeStream out(&chunks);
  ASSERT_TRUE(f.docker->save({"saved:1"}, [&]() -> StreamWriter* { return &out; }));
  std::string tar;
  for (auto& c : chunks) tar += c;
  StringBody body(tar, 1 << 16);
  auto loaded = f.k8s->load(body, {});
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].id, *id);
  EXPECT_EQ(f.k8s->resolve("saved:1")->id, *id);
  // A name-only save through the k8s.io view saves its names only.
  ASSERT_TRUE(f.docker->remove("saved:1", false, false));
  EXPECT_TRUE(f.ids(*f.docker).empty());
  std::vector<std::string> chunks2;
  fakehttp::FakeStream out2(&chunks2);
  ASSERT_TRUE(f.k8s->save({"saved"}, [&]() -> StreamWriter* { return &out2; }));
  EXPECT_FALSE(chunks2.empty());
  EXPECT_EQ(f.docker->save({"saved"}, [&]() -> StreamWriter* { return &out2; }).error().code, Code::NotFound);
}

TEST(ImageNamespace, MigrationKeepsOldNamesInTheDefaultNamespace) {
  TempDir dir;
  {
    // A version 3 database as berthd wrote it before namespaces.
    auto d = store::Database::open(dir / "berth.db");
    ASSERT_TRUE(d);
    ASSERT_TRUE((*d)->exec("DROP TABLE tags; DROP TABLE digests; "
                           "CREATE TABLE tags (ref TEXT PRIMARY KEY, image_id TEXT NOT NULL REFERENCES images(id) "
                           "ON DELETE CASCADE, created INTEGER NOT NULL); "
                           "CREATE TABLE digests (ref TEXT PRIMARY KEY, image_id TEXT NOT NULL REFERENCES images(id) "
                           "ON DELETE CASCADE, created INTEGER NOT NULL); "
                           "INSERT INTO images(id, config, created, size, added) VALUES('sha256:" +
                           std::string(64, 'a') + "', '{}', 1, 0, 1); "
                           "INSERT INTO tags VALUES('old:1', 'sha256:" + std::string(64, 'a') + "', 5); "
                           "INSERT INTO digests VALUES('old@sha256:" + std::string(64, 'b') + "', 'sha256:" +
                           std::string(64, 'a') + "', 5); PRAGMA user_version = 3;"));
  }
  auto d = store::Database::open(dir / "berth.db");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(*(*d)->schemaVersion(), store::kSchemaVersion);
  auto s = (*d)->query("SELECT ns, ref FROM tags UNION ALL SELECT ns, ref FROM digests ORDER BY 2");
  ASSERT_TRUE(s);
  std::vector<std::pair<std::string, std::string>> rows;
  while (*s->step()) rows.emplace_back(s->colText(0), s->colText(1));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (std::pair<std::string, std::string>{"", "old:1"}));
  EXPECT_EQ(rows[1].first, "");
  // The same ref may now exist once per namespace.
  EXPECT_TRUE((*d)->run("INSERT INTO tags(ns, ref, image_id, created) VALUES('k8s.io', 'old:1', ?, 6)",
                        "sha256:" + std::string(64, 'a')));
  EXPECT_FALSE((*d)->run("INSERT INTO tags(ns, ref, image_id, created) VALUES('', 'old:1', ?, 6)",
                         "sha256:" + std::string(64, 'a')));
}
