#include <gtest/gtest.h>

#include "api/volumes_router.h"
#include "fake_http.h"
#include "store/database.h"

using namespace berth;
using fakehttp::TempDir;

namespace {

struct VolumesRouterFixture : ::testing::Test {
  TempDir dir;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<volume::Service> svc;
  std::vector<std::string> inUse;
  std::vector<std::string> events;
  api::Router router;
  void SetUp() override {
    auto d = store::Database::open(":memory:");
    ASSERT_TRUE(d);
    db = std::move(*d);
    svc = std::make_unique<volume::Service>(*db, dir.path(), [this](const std::string& n) {
      return std::find(inUse.begin(), inUse.end(), n) != inUse.end() ? std::vector<std::string>{"cid"}
                                                                      : std::vector<std::string>{};
    });
    api::registerVolumeRoutes(router, *svc, [this](const std::string& type, const std::string& action,
                                                   const std::string& id, const nlohmann::json&) {
      events.push_back(type + " " + action + " " + id);
    });
  }
  fakehttp::Response post(const std::string& target, const std::string& body = "") {
    return fakehttp::call(router, "POST", target, body, {{"content-type", "application/json"}});
  }
};

}  // namespace

TEST_F(VolumesRouterFixture, CreateListInspectRemove) {
  auto r = post("/v1.41/volumes/create", R"({"Name":"v1","Labels":{"a":"b"},"DriverOpts":{}})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json()["Name"], "v1");
  EXPECT_EQ(r.json()["Mountpoint"], dir / "volumes/v1/_data");
  r = post("/v1.41/volumes/create", R"({"Name":"v1"})");  // idempotent, no second event
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(events, std::vector<std::string>{"volume create v1"});
  r = fakehttp::call(router, "GET", "/v1.41/volumes");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.json()["Volumes"].size(), 1u);
  EXPECT_TRUE(r.json()["Warnings"].is_null());
  r = fakehttp::call(router, "GET", "/v1.41/volumes?filters=" + fakehttp::urlEncode(R"({"label":{"a=c":true}})"));
  EXPECT_EQ(r.json()["Volumes"].size(), 0u);
  r = fakehttp::call(router, "GET", "/v1.41/volumes/v1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["Labels"]["a"], "b");
  inUse = {"v1"};
  r = fakehttp::call(router, "DELETE", "/v1.41/volumes/v1");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.message(), "remove v1: volume is in use - [cid]");
  inUse.clear();
  r = fakehttp::call(router, "DELETE", "/v1.41/volumes/v1");
  EXPECT_EQ(r.status, 204);
  r = fakehttp::call(router, "GET", "/v1.41/volumes/v1");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.message(), "get v1: no such volume");
  r = fakehttp::call(router, "DELETE", "/v1.41/volumes/v1?force=1");
  EXPECT_EQ(r.status, 204);
  r = post("/v1.41/volumes/create", R"({"Name":"a/b"})");
  EXPECT_EQ(r.status, 400);
  r = post("/v1.41/volumes/create", R"({"Name":"ok1","Driver":"nfs"})");
  EXPECT_EQ(r.status, 404);
}

TEST_F(VolumesRouterFixture, PruneFollowsTheApiVersion) {
  ASSERT_EQ(post("/volumes/create", R"({"Name":"named"})").status, 201);
  ASSERT_EQ(post("/volumes/create", R"({"Labels":{"com.docker.volume.anonymous":""}})").status, 201);
  // explicit all=false at 1.41: anonymous only
  auto r = post("/v1.41/volumes/prune?filters=" + fakehttp::urlEncode(R"({"all":["false"]})"));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json()["VolumesDeleted"].size(), 1u);
  EXPECT_NE(r.json()["VolumesDeleted"][0], "named");
  r = post("/v1.41/volumes/prune?filters=" + fakehttp::urlEncode(R"({"all":["maybe"]})"));
  EXPECT_EQ(r.status, 400);
  // no filter at 1.41 (docker CLI): every unused volume, as moby
  r = post("/v1.41/volumes/prune");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["VolumesDeleted"], nlohmann::json({"named"}));
  r = post("/volumes/prune");
  EXPECT_TRUE(r.json()["VolumesDeleted"].is_null());
  EXPECT_EQ(r.json()["SpaceReclaimed"], 0);
}
