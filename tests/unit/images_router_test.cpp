#include <gtest/gtest.h>

#include <chrono>

#include "api/images_router.h"
#include "common/sha256.h"
#include "fake_http.h"
#include "store/database.h"

using namespace berth;
using fakehttp::call;
using fakehttp::TarBuilder;
using fakehttp::TempDir;
using fakehttp::urlEncode;
using nlohmann::json;

namespace {

struct Event {
  std::string type, action, id;
  json attrs;
};

struct RouterFixture {
  TempDir dir;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<image::ImageService> svc;
  api::Router router;
  std::vector<Event> events;
  std::vector<image::ImageUser> users;

  RouterFixture() {
    db = std::move(*store::Database::open(dir / "berth.db"));
    svc = image::makeImageService(*db, dir.path(), [this](const std::string&) { return users; });
    api::registerImageRoutes(router, *svc, [this](const std::string& t, const std::string& a, const std::string& id,
                                                  const json& attrs) { events.push_back({t, a, id, attrs}); });
  }
  std::string importTar(const std::string& tar, const std::string& query) {
    auto r = call(router, "POST", "/v1.41/images/create?fromSrc=-&" + query, tar);
    EXPECT_EQ(r.status, 200) << r.body;
    auto lines = r.lines();
    EXPECT_EQ(lines.size(), 1u);
    return lines.empty() ? "" : lines[0]["status"].get<std::string>();
  }
};

std::string rootfs(const std::string& marker = "1") { return TarBuilder().file("bin/sh", "sh", 0755).file("m", marker).str(); }

}  // namespace

TEST(ImagesRouter, ImportStreamsIdAndEmitsEvents) {
  RouterFixture f;
  auto r = call(f.router, "POST",
                "/v1.41/images/create?changes=CMD+%5B%22sh%22%5D&fromSrc=-&message=imported+msg&repo=apiprobe-imported%3Av1",
                rootfs());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.streamed);
  EXPECT_EQ(r.contentType, "application/json");
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 1u);
  std::string id = lines[0]["status"];
  EXPECT_TRUE(isValidDigest(id));
  ASSERT_EQ(f.events.size(), 2u);
  EXPECT_EQ(f.events[0].action, "tag");
  EXPECT_EQ(f.events[0].attrs["name"], "apiprobe-imported:v1");
  EXPECT_EQ(f.events[1].action, "import");
  EXPECT_EQ(f.events[1].id, id);

  auto insp = call(f.router, "GET", "/v1.41/images/apiprobe-imported:v1/json");
  ASSERT_EQ(insp.status, 200);
  auto j = insp.json();
  EXPECT_EQ(j["Id"], id);
  EXPECT_EQ(j["RepoTags"], json::array({"apiprobe-imported:v1"}));
  EXPECT_EQ(j["RepoDigests"], json::array());
  EXPECT_EQ(j["Comment"], "imported msg");
  EXPECT_EQ(j["Config"]["Cmd"], json::array({"sh"}));
  EXPECT_TRUE(j["Config"]["Env"].is_null());
  EXPECT_EQ(j["Config"]["Hostname"], "");
  EXPECT_EQ(j["Architecture"], "amd64");
  EXPECT_EQ(j["Os"], "linux");
  EXPECT_EQ(j["RootFS"]["Type"], "layers");
  EXPECT_EQ(j["RootFS"]["Layers"], json::array({sha256Digest(rootfs())}));
  EXPECT_EQ(j["GraphDriver"]["Name"], "overlay2");
  EXPECT_TRUE(j["GraphDriver"]["Data"].contains("UpperDir"));
  EXPECT_EQ(j["Size"], 3);
  EXPECT_EQ(j["VirtualSize"], 3);
  EXPECT_TRUE(parseRfc3339(j["Created"].get<std::string>()));
  EXPECT_NE(j["Metadata"]["LastTagTime"], "0001-01-01T00:00:00Z");
  // Tag travelling in `tag`, name sent normalised by the CLI.
  std::string id2 = f.importTar(rootfs("2"), "repo=docker.io%2Flibrary%2Fother&tag=t1");
  EXPECT_EQ(call(f.router, "GET", "/images/other:t1/json").json()["Id"], id2);
}

TEST(ImagesRouter, ImportImportedDefaults) {
  RouterFixture f;
  std::string id = f.importTar(rootfs(), "");
  auto j = call(f.router, "GET", "/images/" + id + "/json").json();
  EXPECT_EQ(j["Comment"], "Imported from -");
  EXPECT_TRUE(j["Config"]["Cmd"].is_null());
  EXPECT_EQ(j["RepoTags"], json::array());
  EXPECT_EQ(j["Metadata"]["LastTagTime"], "0001-01-01T00:00:00Z");
}

TEST(ImagesRouter, ImportErrorsAreHttpErrors) {
  RouterFixture f;
  auto r = call(f.router, "POST", "/images/create?fromSrc=-&repo=x", "this is not a tarball at all, not even close" + std::string(2000, '!'));
  EXPECT_EQ(r.status, 400);
  EXPECT_FALSE(r.streamed);
  EXPECT_FALSE(r.message().empty());
  r = call(f.router, "POST", "/images/create?fromSrc=-&repo=UPPER", rootfs());
  EXPECT_EQ(r.status, 400);
  r = call(f.router, "POST", "/images/create?fromSrc=-&changes=RUN+x", rootfs());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "run is not a valid change command");
  EXPECT_TRUE(f.events.empty());
}

// fromSrc=URL: the service fetches it; its errors come back as HTTP errors.
TEST(ImagesRouter, ImportFromAnUnreachableUrlIsAnHttpError) {
  RouterFixture f;
  auto r = call(f.router, "POST", "/v1.41/images/create?fromSrc=" + urlEncode("http://127.0.0.1:9/none.tar"));
  EXPECT_EQ(r.status, 500);
  EXPECT_FALSE(r.streamed);
  EXPECT_EQ(r.message().rfind("Get \"http://127.0.0.1:9/none.tar\": ", 0), 0u) << r.message();
  r = call(f.router, "POST", "/v1.41/images/create?fromSrc=" + urlEncode("ftp://127.0.0.1:9/x.tar"));
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(f.events.empty());
}

// 127.0.0.1:9: nothing listens there (loopback only; never Docker Hub).
TEST(ImagesRouter, PullFromARegistryThatIsDownIsAnHttpError) {
  RouterFixture f;
  auto start = std::chrono::steady_clock::now();
  auto r = call(f.router, "POST", "/v1.41/images/create?fromImage=127.0.0.1%3A9%2Fapiprobe%2Fx&tag=v1");
  EXPECT_EQ(r.status, 500);
  EXPECT_FALSE(r.streamed);
  EXPECT_EQ(r.message(), "Get \"https://127.0.0.1:9/v2/\": dial tcp 127.0.0.1:9: connect: connection refused");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// Errors found before any registry is contacted are plain HTTP errors.
TEST(ImagesRouter, PullAndPushArgumentErrorsAreHttpErrors) {
  RouterFixture f;
  auto r = call(f.router, "POST", "/v1.41/images/create?fromImage=127.0.0.1%3A9%2Fx&tag=v1&platform=a%2Fb%2Fc%2Fd");
  EXPECT_EQ(r.status, 400);
  EXPECT_FALSE(r.streamed);
  EXPECT_NE(r.message().find("unknown operating system or architecture"), std::string::npos) << r.message();
  r = call(f.router, "POST", "/v1.41/images/create?fromImage=127.0.0.1%3A9%2Fx&tag=bad%20tag");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "invalid tag format");
  r = call(f.router, "POST", "/v1.41/images/127.0.0.1:9/never/push?tag=v1");
  EXPECT_EQ(r.status, 404);
  EXPECT_FALSE(r.streamed);
  EXPECT_EQ(r.message(), "An image does not exist locally with the tag: 127.0.0.1:9/never");
  r = call(f.router, "POST", "/v1.41/images/UPPER/push?tag=v1");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(f.events.empty());
}

TEST(ImagesRouter, ListShapesAndFilters) {
  RouterFixture f;
  std::string a = f.importTar(rootfs("a"), "repo=apiprobe-a&tag=v1&changes=" + urlEncode("LABEL stage=one a=b"));
  std::string b = f.importTar(rootfs("b"), "repo=other&tag=v2");
  std::string c = f.importTar(rootfs("c"), "repo=other&tag=v2");  // moves the tag: b dangling
  auto r = call(f.router, "GET", "/v1.41/images/json");
  ASSERT_EQ(r.status, 200);
  auto j = r.json();
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["Id"], c);
  EXPECT_EQ(j[0]["RepoTags"], json::array({"other:v2"}));
  EXPECT_TRUE(j[0]["RepoDigests"].is_null());
  EXPECT_TRUE(j[0]["Labels"].is_null());
  EXPECT_EQ(j[0]["Containers"], -1);
  EXPECT_EQ(j[0]["SharedSize"], -1);
  EXPECT_EQ(j[0]["ParentId"], "");
  EXPECT_EQ(j[0]["Size"], j[0]["VirtualSize"]);
  EXPECT_TRUE(j[0]["Created"].is_number_integer());
  EXPECT_EQ(j[1]["Id"], b);
  EXPECT_EQ(j[1]["RepoTags"], json::array({"<none>:<none>"}));
  EXPECT_EQ(j[1]["RepoDigests"], json::array({"<none>@<none>"}));
  EXPECT_EQ(j[2]["Labels"], json({{"a", "b"}, {"stage", "one"}}));

  auto ids = [&](const std::string& query) {
    auto res = call(f.router, "GET", "/images/json?" + query);
    EXPECT_EQ(res.status, 200) << res.body;
    std::vector<std::string> out;
    for (auto& e : res.json()) out.push_back(e["Id"]);
    return out;
  };
  auto enc = [](const std::string& s) { return "filters=" + urlEncode(s); };
  EXPECT_EQ(ids(enc(R"({"dangling":{"true":true}})")), std::vector<std::string>{b});
  EXPECT_EQ(ids(enc(R"({"dangling":["false"]})")), (std::vector<std::string>{c, a}));
  EXPECT_EQ(ids(enc(R"({"reference":{"apiprobe*":true}})")), std::vector<std::string>{a});
  EXPECT_EQ(ids(enc(R"({"reference":["other:v*"]})")), std::vector<std::string>{c});
  EXPECT_EQ(ids(enc(R"({"label":["stage=one"]})")), std::vector<std::string>{a});
  EXPECT_EQ(ids(enc(R"({"label":["stage=one","a=c"]})")), std::vector<std::string>{});
  EXPECT_EQ(ids(enc(R"({"label":{"a":true}})")), std::vector<std::string>{a});
  EXPECT_EQ(ids(enc(R"({"before":["other:v2"]})")), (std::vector<std::string>{b, a}));
  EXPECT_EQ(ids(enc(R"({"since":["apiprobe-a:v1"]})")), (std::vector<std::string>{c, b}));

  auto bad = call(f.router, "GET", "/images/json?" + enc(R"({"bogus":["x"]})"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.message(), "Invalid filter 'bogus'");
  EXPECT_EQ(call(f.router, "GET", "/images/json?filters=%7Bnot-json").status, 400);
  EXPECT_EQ(call(f.router, "GET", "/images/json?" + enc(R"({"since":["nosuch"]})")).status, 404);
}

TEST(ImagesRouter, InspectUnknownIs404) {
  RouterFixture f;
  auto r = call(f.router, "GET", "/v1.41/images/127.0.0.1:5000/apiprobe/uniq:v1/json");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.message(), "No such image: 127.0.0.1:5000/apiprobe/uniq:v1");
  EXPECT_EQ(call(f.router, "GET", "/images/nosuch/history").status, 404);
  EXPECT_EQ(call(f.router, "DELETE", "/images/nosuch").status, 404);
  EXPECT_EQ(call(f.router, "POST", "/images/nosuch/tag?repo=x&tag=y").status, 404);
}

TEST(ImagesRouter, TagHistoryDelete) {
  RouterFixture f;
  std::string id = f.importTar(rootfs(), "repo=busybox&tag=local");
  f.events.clear();
  auto t = call(f.router, "POST", "/v1.41/images/busybox:local/tag?repo=docker.io%2Flibrary%2Fapiprobe-tagged&tag=x");
  EXPECT_EQ(t.status, 201);
  EXPECT_TRUE(t.body.empty());
  ASSERT_EQ(f.events.size(), 1u);
  EXPECT_EQ(f.events[0].action, "tag");
  EXPECT_EQ(f.events[0].attrs["name"], "apiprobe-tagged:x");
  t = call(f.router, "POST", "/images/busybox:local/tag?repo=127.0.0.1%3A5000%2Fapiprobe%2Fbuilt&tag=v1");
  EXPECT_EQ(t.status, 201);
  EXPECT_EQ(call(f.router, "POST", "/images/busybox:local/tag?repo=x&tag=bad%20tag").status, 400);
  EXPECT_EQ(call(f.router, "POST", "/images/busybox:local/tag?repo=").status, 400);

  auto h = call(f.router, "GET", "/images/busybox:local/history");
  ASSERT_EQ(h.status, 200);
  auto hj = h.json();
  ASSERT_EQ(hj.size(), 1u);
  EXPECT_EQ(hj[0]["Id"], id);
  EXPECT_EQ(hj[0]["Comment"], "Imported from -");
  EXPECT_EQ(hj[0]["CreatedBy"], "");
  EXPECT_EQ(hj[0]["Tags"], json::array({"127.0.0.1:5000/apiprobe/built:v1", "apiprobe-tagged:x", "busybox:local"}));

  // ID with several tags needs force.
  auto d = call(f.router, "DELETE", "/images/" + id.substr(7, 12) + "?force=False&noprune=False");
  EXPECT_EQ(d.status, 409);
  EXPECT_EQ(d.message(), "conflict: unable to delete " + id.substr(7, 12) +
                             " (must be forced) - image is referenced in multiple repositories");
  d = call(f.router, "DELETE", "/images/apiprobe-tagged:x");
  ASSERT_EQ(d.status, 200);
  EXPECT_EQ(d.json(), json::parse(R"([{"Untagged":"apiprobe-tagged:x"}])"));
  // In use by a running container: cannot be forced.
  f.users = {{std::string(64, 'e'), true}};
  d = call(f.router, "DELETE", "/images/" + id + "?force=1");
  EXPECT_EQ(d.status, 409);
  EXPECT_EQ(d.message(), "conflict: unable to delete " + id.substr(7, 12) +
                             " (cannot be forced) - image is being used by running container eeeeeeeeeeee");
  f.users.clear();
  f.events.clear();
  d = call(f.router, "DELETE", "/images/" + id + "?force=1");
  ASSERT_EQ(d.status, 200) << d.body;
  auto dj = d.json();
  ASSERT_EQ(dj.size(), 4u);
  EXPECT_EQ(dj[0], json({{"Untagged", "127.0.0.1:5000/apiprobe/built:v1"}}));
  EXPECT_EQ(dj[1], json({{"Untagged", "busybox:local"}}));
  EXPECT_EQ(dj[2], json({{"Deleted", id}}));
  EXPECT_EQ(dj[3], json({{"Deleted", sha256Digest(rootfs())}}));
  ASSERT_EQ(f.events.size(), 3u);
  EXPECT_EQ(f.events[0].action, "untag");
  EXPECT_EQ(f.events[2].action, "delete");
  EXPECT_EQ(f.events[2].id, id);
  EXPECT_EQ(call(f.router, "GET", "/images/json").json(), json::array());
}

TEST(ImagesRouter, GreedyNamesAndUnknownRoutes) {
  RouterFixture f;
  f.importTar(rootfs(), "repo=127.0.0.1%3A5000%2Fa%2Fb&tag=v1");
  EXPECT_EQ(call(f.router, "GET", "/v1.41/images/127.0.0.1:5000/a/b:v1/json").status, 200);
  EXPECT_EQ(call(f.router, "GET", "/v1.41/images/127.0.0.1:5000/a/b:v1/history").status, 200);
  EXPECT_FALSE(call(f.router, "PUT", "/images/json").matched);
}

TEST(ImagesRouter, Prune) {
  RouterFixture f;
  std::string a = f.importTar(rootfs("a"), "repo=keep&tag=1");
  std::string b = f.importTar(rootfs("b"), "");                                   // dangling
  std::string c = f.importTar(rootfs("c"), "changes=" + urlEncode("LABEL k=v"));  // dangling, labelled
  auto r = call(f.router, "POST", "/v1.41/images/prune?filters=" + urlEncode(R"({"label!":["k=v"]})"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json();
  ASSERT_EQ(j["ImagesDeleted"].size(), 2u);
  EXPECT_EQ(j["ImagesDeleted"][0], json({{"Deleted", b}}));
  EXPECT_EQ(j["SpaceReclaimed"], 3);
  EXPECT_EQ(call(f.router, "GET", "/images/" + b + "/json").status, 404);
  EXPECT_EQ(call(f.router, "GET", "/images/" + c + "/json").status, 200);
  // Nothing left to prune among dangling images without k=v.
  r = call(f.router, "POST", "/images/prune?filters=" + urlEncode(R"({"dangling":{"true":true},"label!":["k=v"]})"));
  EXPECT_TRUE(r.json()["ImagesDeleted"].is_null());
  EXPECT_EQ(r.json()["SpaceReclaimed"], 0);
  // -a: every unused image, tags included.
  r = call(f.router, "POST", "/images/prune?filters=" + urlEncode(R"({"dangling":{"false":true}})"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(call(f.router, "GET", "/images/json").json(), json::array());
  EXPECT_NE(r.body.find("keep:1"), std::string::npos);
  EXPECT_EQ(call(f.router, "POST", "/images/prune?filters=" + urlEncode(R"({"bogus":["x"]})")).status, 400);
  EXPECT_EQ(call(f.router, "POST", "/images/prune?filters=" + urlEncode(R"({"until":["nonsense"]})")).status, 400);
}

// API 1.42-1.50 additions to the image routes, gated on the request's version.
TEST(ImagesRouter, SharedSizeDescriptorAndManifests) {
  RouterFixture f;
  // the same rootfs twice: two images (different configs) on one layer
  std::string a = f.importTar(rootfs("s"), "repo=shared&tag=a&message=one");
  std::string b = f.importTar(rootfs("s"), "repo=shared&tag=b&message=two");
  std::string c = f.importTar(rootfs("own"), "repo=own&tag=c");
  ASSERT_NE(a, b);
  auto byId = [](const json& list, const std::string& id) {
    for (auto& e : list)
      if (e["Id"] == id) return e;
    return json();
  };
  auto old = call(f.router, "GET", "/v1.41/images/json?shared-size=1").json();
  EXPECT_EQ(byId(old, a)["SharedSize"], -1);  // the parameter is 1.42's
  EXPECT_FALSE(byId(old, a).contains("Descriptor"));
  auto plain = call(f.router, "GET", "/v1.50/images/json").json();
  EXPECT_EQ(byId(plain, a)["SharedSize"], -1);
  auto shared = call(f.router, "GET", "/v1.42/images/json?shared-size=1").json();
  EXPECT_GT(byId(shared, a)["Size"].get<int64_t>(), 0);
  EXPECT_EQ(byId(shared, a)["SharedSize"], byId(shared, a)["Size"]);
  EXPECT_EQ(byId(shared, b)["SharedSize"], byId(shared, b)["Size"]);
  EXPECT_EQ(byId(shared, c)["SharedSize"], 0);

  // Descriptor from 1.48, Manifests with manifests=1 from 1.47
  EXPECT_FALSE(byId(call(f.router, "GET", "/v1.47/images/json").json(), a).contains("Descriptor"));
  json d = byId(plain, a)["Descriptor"];
  EXPECT_EQ(d["mediaType"], "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(d["digest"].get<std::string>().rfind("sha256:", 0), 0u);
  EXPECT_GT(d["size"].get<int64_t>(), 0);
  EXPECT_FALSE(byId(plain, a).contains("Manifests"));
  EXPECT_FALSE(byId(call(f.router, "GET", "/v1.46/images/json?manifests=1").json(), a).contains("Manifests"));
  json m = byId(call(f.router, "GET", "/v1.47/images/json?manifests=1").json(), a)["Manifests"];
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0]["ID"], d["digest"]);
  EXPECT_EQ(m[0]["Kind"], "image");
  EXPECT_EQ(m[0]["Available"], true);
  EXPECT_EQ(m[0]["Descriptor"]["platform"]["os"], "linux");
  EXPECT_EQ(m[0]["ImageData"]["Platform"]["architecture"], "amd64");
  EXPECT_EQ(m[0]["ImageData"]["Size"]["Unpacked"], byId(plain, a)["Size"]);
  EXPECT_GT(m[0]["Size"]["Content"].get<int64_t>(), d["size"].get<int64_t>());
  EXPECT_EQ(m[0]["Size"]["Total"].get<int64_t>(),
            m[0]["Size"]["Content"].get<int64_t>() + byId(plain, a)["Size"].get<int64_t>());
  EXPECT_EQ(m[0]["ImageData"]["Containers"], json::array());
  f.users = {{"c0ffee", true}};
  m = byId(call(f.router, "GET", "/v1.50/images/json?manifests=1").json(), a)["Manifests"];
  EXPECT_EQ(m[0]["ImageData"]["Containers"], json::array({"c0ffee"}));

  // inspect: Descriptor from 1.48, Manifests with manifests=1 from 1.48
  auto in = call(f.router, "GET", "/v1.48/images/shared:a/json").json();
  EXPECT_EQ(in["Descriptor"], d);
  EXPECT_FALSE(in.contains("Manifests"));
  EXPECT_FALSE(call(f.router, "GET", "/v1.47/images/shared:a/json").json().contains("Descriptor"));
  EXPECT_EQ(call(f.router, "GET", "/v1.48/images/shared:a/json?manifests=1").json()["Manifests"][0]["ID"], d["digest"]);
}

TEST(ImagesRouter, PlatformQueryOfInspectHistorySaveLoad) {
  RouterFixture f;
  std::string id = f.importTar(rootfs("p"), "repo=plat&tag=v1");
  const std::string amd = urlEncode(R"({"os":"linux","architecture":"amd64"})");
  const std::string arm = urlEncode(R"({"os":"linux","architecture":"arm64"})");
  // inspect: 1.49
  EXPECT_EQ(call(f.router, "GET", "/v1.49/images/plat:v1/json?platform=" + amd).status, 200);
  auto r = call(f.router, "GET", "/v1.49/images/plat:v1/json?platform=" + arm);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.message(),
            "image with reference plat:v1 was found but its platform (linux/amd64) does not match the specified "
            "platform (linux/arm64)");
  EXPECT_EQ(call(f.router, "GET", "/v1.48/images/plat:v1/json?platform=" + arm).status, 200);  // not read below 1.49
  r = call(f.router, "GET", "/v1.49/images/plat:v1/json?platform=" + urlEncode(R"({"os":"linux"})"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "both OS and Architecture must be provided");
  r = call(f.router, "GET", "/v1.49/images/plat:v1/json?platform=" + urlEncode(R"({"variant":"v7"})"));
  EXPECT_EQ(r.message(), "optional platform fields provided, but OS and Architecture are missing");
  EXPECT_EQ(call(f.router, "GET", "/v1.49/images/plat:v1/json?platform=%7Bnot").status, 400);
  r = call(f.router, "GET", "/v1.49/images/plat:v1/json?manifests=1&platform=" + amd);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "conflicting options: manifests and platform options cannot both be set");
  // history: 1.48
  EXPECT_EQ(call(f.router, "GET", "/v1.48/images/plat:v1/history?platform=" + amd).status, 200);
  EXPECT_EQ(call(f.router, "GET", "/v1.48/images/plat:v1/history?platform=" + arm).status, 404);
  EXPECT_EQ(call(f.router, "GET", "/v1.47/images/plat:v1/history?platform=" + arm).status, 200);
  // save: 1.48; another platform is refused before the archive starts
  r = call(f.router, "GET", "/v1.48/images/get?names=plat%3Av1&platform=" + arm);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.message(), "no suitable export target found for platform linux/arm64");
  r = call(f.router, "GET", "/v1.48/images/get?names=plat%3Av1&platform=" + arm + "&platform=" + amd);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "multiple platform parameters not supported");
  r = call(f.router, "GET", "/v1.48/images/get?names=plat%3Av1&platform=" + amd);
  ASSERT_EQ(r.status, 200);
  std::string tar;
  for (auto& ch : r.chunks) tar += ch;
  ASSERT_FALSE(tar.empty());
  // load: 1.48; the images of another platform are skipped
  ASSERT_EQ(call(f.router, "DELETE", "/images/plat:v1").status, 200);
  r = call(f.router, "POST", "/v1.48/images/load?quiet=1&platform=" + arm, tar);
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.lines().empty()) << r.body;
  EXPECT_EQ(call(f.router, "GET", "/images/plat:v1/json").status, 404);
  r = call(f.router, "POST", "/v1.48/images/load?quiet=1&platform=" + amd, tar);
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.lines().size(), 1u);
  EXPECT_EQ(r.lines()[0]["stream"], "Loaded image: plat:v1\n");
  EXPECT_EQ(call(f.router, "GET", "/images/plat:v1/json").json()["Id"], id);
}
