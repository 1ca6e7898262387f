#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <set>

#include "common/util.h"
#include "fake_http.h"
#include "store/database.h"
#include "volume/copyup.h"
#include "volume/volume.h"

using namespace berth;
using fakehttp::TempDir;

namespace {

struct VolumeFixture : ::testing::Test {
  TempDir dir;
  std::unique_ptr<store::Database> db;
  std::map<std::string, std::vector<std::string>> users;  // volume -> container ids
  std::unique_ptr<volume::Service> svc;
  void SetUp() override {
    auto d = store::Database::open(dir / "berth.db");
    ASSERT_TRUE(d) << d.error().message;
    db = std::move(*d);
    svc = std::make_unique<volume::Service>(*db, dir.path(), [this](const std::string& n) { return users[n]; });
  }
  std::set<std::string> names(const std::map<std::string, std::vector<std::string>>& f = {}) {
    std::set<std::string> out;
    auto l = svc->list(f);
    EXPECT_TRUE(l);
    if (l)
      for (auto& v : *l) out.insert(v.name);
    return out;
  }
};

}  // namespace

TEST_F(VolumeFixture, CreateInspectAndIdempotentCreate) {
  auto v = svc->create({"my-vol", "", {{"a", "1"}}, {}});
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->mountpoint, dir / "volumes/my-vol/_data");
  struct stat st;
  ASSERT_EQ(::stat(v->mountpoint.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  auto j = v->toJson();
  EXPECT_EQ(j["Name"], "my-vol");
  EXPECT_EQ(j["Driver"], "local");
  EXPECT_EQ(j["Scope"], "local");
  EXPECT_EQ(j["Labels"]["a"], "1");
  EXPECT_TRUE(j["Options"].is_object());
  std::string at = j["CreatedAt"].get<std::string>();
  EXPECT_EQ(at.size(), 20u) << at;  // 2006-01-02T15:04:05Z
  EXPECT_TRUE(endsWith(at, "Z"));
  // A second create of the same name returns the first volume.
  auto again = svc->create({"my-vol", "local", {}, {}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->labels.at("a"), "1");
  EXPECT_EQ(names(), std::set<std::string>{"my-vol"});
}

TEST_F(VolumeFixture, GeneratedNameAndErrors) {
  auto v = svc->create({});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->name.size(), 64u);
  auto bad = svc->create({"bad/name", "", {}, {}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Code::InvalidArgument);
  EXPECT_NE(bad.error().message.find("includes invalid characters for a local volume name"), std::string::npos);
  EXPECT_FALSE(svc->create({"x", "", {}, {}}));  // too short: [a-zA-Z0-9][a-zA-Z0-9_.-]+
  auto drv = svc->create({"vv", "nfs", {}, {}});
  ASSERT_FALSE(drv);
  EXPECT_EQ(drv.error().code, Code::NotFound);
  auto opt = svc->create({"vv", "", {}, {{"bogus", "1"}}});
  ASSERT_FALSE(opt);
  EXPECT_NE(opt.error().message.find("invalid option key: \"bogus\""), std::string::npos);
  EXPECT_FALSE(svc->create({"vv", "", {}, {{"type", "tmpfs"}}}));  // type needs device
  auto missing = svc->get("nosuch");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::NotFound);
  EXPECT_EQ(missing.error().message, "get nosuch: no such volume");
}

TEST_F(VolumeFixture, RemoveRefusedWhileInUse) {
  ASSERT_TRUE(svc->create({"used", "", {}, {}}));
  users["used"] = {"c1", "c2"};
  auto r = svc->remove("used", false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::Conflict);
  EXPECT_EQ(r.error().message, "remove used: volume is in use - [c1, c2]");
  EXPECT_FALSE(svc->remove("used", true));  // force does not override in-use
  users.clear();
  ASSERT_TRUE(svc->remove("used", false));
  struct stat st;
  EXPECT_NE(::stat((dir / "volumes/used").c_str(), &st), 0);
  EXPECT_FALSE(svc->remove("used", false));
  EXPECT_TRUE(svc->remove("used", true));  // force: missing is fine
}

TEST_F(VolumeFixture, ListFilters) {
  ASSERT_TRUE(svc->create({"alpha", "", {{"env", "prod"}, {"team", "a"}}, {}}));
  ASSERT_TRUE(svc->create({"beta", "", {{"env", "dev"}}, {}}));
  ASSERT_TRUE(svc->create({"gamma", "", {}, {}}));
  users["beta"] = {"c1"};
  EXPECT_EQ(names({{"name", {"al"}}}), std::set<std::string>{"alpha"});
  EXPECT_EQ(names({{"label", {"env"}}}), (std::set<std::string>{"alpha", "beta"}));
  EXPECT_EQ(names({{"label", {"env=prod", "team=a"}}}), std::set<std::string>{"alpha"});
  EXPECT_EQ(names({{"label", {"env=prod", "team=b"}}}), std::set<std::string>{});
  EXPECT_EQ(names({{"dangling", {"true"}}}), (std::set<std::string>{"alpha", "gamma"}));
  EXPECT_EQ(names({{"dangling", {"false"}}}), std::set<std::string>{"beta"});
  EXPECT_FALSE(svc->list({{"dangling", {"maybe"}}}));
  EXPECT_FALSE(svc->list({{"bogus", {"1"}}}));
}

TEST_F(VolumeFixture, PruneAnonymousOnlyUnlessAll) {
  ASSERT_TRUE(svc->create({"named", "", {}, {}}));
  auto anon = svc->create({"", "", {{volume::kAnonymousLabel, ""}}, {}});
  ASSERT_TRUE(anon);
  auto anonUsed = svc->create({"", "", {{volume::kAnonymousLabel, ""}}, {}});
  ASSERT_TRUE(anonUsed);
  users[anonUsed->name] = {"c"};
  ASSERT_TRUE(writeFileAtomic(anon->mountpoint + "/f", std::string(1000, 'x')));
  auto rep = svc->prune(false, {});
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->deleted, std::vector<std::string>{anon->name});
  EXPECT_EQ(rep->reclaimed, 1000u);
  EXPECT_EQ(names(), (std::set<std::string>{"named", anonUsed->name}));
  rep = svc->prune(true, {{"label!", {"keep"}}});
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->deleted, std::vector<std::string>{"named"});
  EXPECT_EQ(names(), std::set<std::string>{anonUsed->name});
}

TEST_F(VolumeFixture, DriverOptionVolumesMountInTheContainer) {
  auto t = svc->create({"tv", "", {}, {{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=1m,uid=1000"}}});
  ASSERT_TRUE(t) << t.error().message;
  auto m = svc->mountFor(*t);
  EXPECT_EQ(m.type, "tmpfs");
  EXPECT_EQ(m.source, "tmpfs");
  EXPECT_EQ(m.options, (std::vector<std::string>{"size=1m", "uid=1000"}));
  EXPECT_FALSE(volume::Service::isPlainDirectory(*t));
  auto b = svc->create({"bv", "", {}, {{"type", "none"}, {"device", "/srv/x"}, {"o", "bind"}}});
  ASSERT_TRUE(b);
  m = svc->mountFor(*b);
  EXPECT_EQ(m.type, "bind");
  EXPECT_EQ(m.source, "/srv/x");
  EXPECT_EQ(m.options, std::vector<std::string>{"rbind"});
  auto plain = svc->create({"pv", "", {}, {}});
  ASSERT_TRUE(plain);
  m = svc->mountFor(*plain);
  EXPECT_EQ(m.type, "bind");
  EXPECT_EQ(m.source, plain->mountpoint);
}

TEST_F(VolumeFixture, PersistsAcrossReopen) {
  ASSERT_TRUE(svc->create({"kept", "", {{"k", "v"}}, {{"type", "tmpfs"}, {"device", "tmpfs"}}}));
  svc.reset();
  db.reset();
  auto d = store::Database::open(dir / "berth.db");
  ASSERT_TRUE(d);
  volume::Service again(**d, dir.path(), [](const std::string&) { return std::vector<std::string>{}; });
  auto v = again.get("kept");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->labels.at("k"), "v");
  EXPECT_EQ(v->options.at("type"), "tmpfs");
}

TEST(VolumeCopyUp, MergesLayersWithWhiteoutsWithoutFollowingLinks) {
  TempDir dir;
  std::string lower = dir / "lower", upper = dir / "upper", dest = dir / "dest", outside = dir / "outside";
  for (auto& d : {lower + "/data/sub", upper + "/data", dest, outside, lower + "/linked"}) ASSERT_TRUE(mkdirAll(d));
  ASSERT_TRUE(writeFileAtomic(lower + "/data/a", "lower-a"));
  ASSERT_TRUE(writeFileAtomic(lower + "/data/gone", "x"));
  ASSERT_TRUE(writeFileAtomic(lower + "/data/sub/s", "sub"));
  ASSERT_TRUE(writeFileAtomic(upper + "/data/a", "upper-a"));
  ASSERT_EQ(::symlink("a", (upper + "/data/link").c_str()), 0);
  ::chmod((upper + "/data").c_str(), 0750);
  // overlay whiteout for /data/gone in the upper layer
  ASSERT_EQ(::mknod((upper + "/data/gone").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
  ASSERT_TRUE(volume::isEmptyDir(dest));
  ASSERT_TRUE(volume::copyImagePath({upper, lower}, "/data", dest));
  EXPECT_EQ(*readFile(dest + "/a"), "upper-a");
  EXPECT_EQ(*readFile(dest + "/sub/s"), "sub");
  struct stat st;
  EXPECT_NE(::lstat((dest + "/gone").c_str(), &st), 0);
  ASSERT_EQ(::lstat((dest + "/link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(::stat(dest.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_FALSE(volume::isEmptyDir(dest));
  // a layer whose path goes through a symlink is not followed
  ASSERT_TRUE(writeFileAtomic(outside + "/secret", "s"));
  ASSERT_EQ(::symlink(outside.c_str(), (lower + "/linked/in").c_str()), 0);
  std::string dest2 = dir / "dest2";
  ASSERT_TRUE(mkdirAll(dest2));
  ASSERT_TRUE(volume::copyImagePath({lower}, "/linked/in", dest2));
  EXPECT_TRUE(volume::isEmptyDir(dest2));
  // nothing at the path: nothing copied, no error
  ASSERT_TRUE(volume::copyImagePath({upper, lower}, "/nope", dest2));
  EXPECT_TRUE(volume::isEmptyDir(dest2));
}

TEST(VolumeSize, CountsFileBytes) {
  TempDir dir;
  ASSERT_TRUE(mkdirAll(dir / "d/e"));
  ASSERT_TRUE(writeFileAtomic(dir / "d/f", std::string(300, 'x')));
  ASSERT_TRUE(writeFileAtomic(dir / "d/e/g", std::string(700, 'x')));
  EXPECT_EQ(volume::directorySize(dir / "d"), 1000);
  EXPECT_EQ(volume::directorySize(dir / "missing"), 0);
}
