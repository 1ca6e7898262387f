// /auth and /images/search against a fake RegistryBackend: the router's
// own parts (body and query parsing, limit and filter checks, encoding).
#include <gtest/gtest.h>

#include "api/registry_router.h"
#include "fake_http.h"

using namespace berth;
using fakehttp::call;
using nlohmann::json;

namespace {

class FakeRegistry : public api::RegistryBackend {
 public:
  Result<registry::LoginResult> login(const registry::Credentials& c) override {
    logins.push_back(c);
    if (c.password != "good") return makeError(Code::PermissionDenied, "login attempt failed");
    registry::LoginResult r;
    r.identityToken = identityToken;
    return r;
  }
  Result<std::vector<registry::SearchResult>> search(const std::string& term, int limit,
                                                     const Filters& filters) override {
    searches.push_back({term, limit, filters});
    if (term == "down") return makeError(Code::Unavailable, "registry unreachable");
    return results;
  }

  struct Search {
    std::string term;
    int limit;
    Filters filters;
  };
  std::vector<registry::Credentials> logins;
  std::vector<Search> searches;
  std::vector<registry::SearchResult> results;
  std::string identityToken;
};

struct Fixture {
  FakeRegistry backend;
  api::Router router;
  Fixture() { api::registerRegistryRoutes(router, backend); }
};

}  // namespace

TEST(RegistryRouter, LoginPassesCredentialsAndServerAddress) {
  Fixture f;
  f.backend.identityToken = "tok";
  auto r = call(f.router, "POST", "/v1.41/auth",
                R"({"username":"alice","password":"good","serveraddress":"127.0.0.1:5000","identitytoken":"it"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json({{"IdentityToken", "tok"}, {"Status", "Login Succeeded"}}));
  ASSERT_EQ(f.backend.logins.size(), 1u);
  EXPECT_EQ(f.backend.logins[0].username, "alice");
  EXPECT_EQ(f.backend.logins[0].serverAddress, "127.0.0.1:5000");
  EXPECT_EQ(f.backend.logins[0].identityToken, "it");
}

TEST(RegistryRouter, LoginErrorsKeepTheirStatus) {
  Fixture f;
  auto r = call(f.router, "POST", "/auth", R"({"username":"alice","password":"bad"})");
  EXPECT_EQ(r.status, api::httpStatus(Code::PermissionDenied));
  EXPECT_EQ(r.message(), "login attempt failed");
  r = call(f.router, "POST", "/auth", R"(["not an object"])");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "invalid JSON: json: cannot unmarshal array into Go value of type registry.AuthConfig");
  r = call(f.router, "POST", "/auth", "{nope");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(f.backend.logins.size(), 1u);  // only the well-formed request reached the backend
}

TEST(RegistryRouter, SearchEncodesResults) {
  Fixture f;
  f.backend.results = {{"busybox", "tiny", 42, true, false}, {"u/x", "", 0, false, true}};
  auto r = call(f.router, "GET", "/v1.41/images/search?term=busybox");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json::parse(R"([
    {"name":"busybox","description":"tiny","star_count":42,"is_official":true,"is_automated":false},
    {"name":"u/x","description":"","star_count":0,"is_official":false,"is_automated":true}])"));
  ASSERT_EQ(f.backend.searches.size(), 1u);
  EXPECT_EQ(f.backend.searches[0].term, "busybox");
  EXPECT_EQ(f.backend.searches[0].limit, 25);
  f.backend.results.clear();
  r = call(f.router, "GET", "/images/search?term=none&limit=");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "[]");
  EXPECT_EQ(f.backend.searches.back().limit, 25);
}

TEST(RegistryRouter, SearchLimitAndFilters) {
  Fixture f;
  auto r = call(f.router, "GET",
                "/images/search?term=127.0.0.1:5000/busybox&limit=3&filters=" +
                    fakehttp::urlEncode(R"({"is-official":{"true":true},"stars":{"3":true}})"));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(f.backend.searches.size(), 1u);
  EXPECT_EQ(f.backend.searches[0].term, "127.0.0.1:5000/busybox");
  EXPECT_EQ(f.backend.searches[0].limit, 3);
  EXPECT_EQ(f.backend.searches[0].filters.at("is-official"), std::vector<std::string>{"true"});
  EXPECT_EQ(f.backend.searches[0].filters.at("stars"), std::vector<std::string>{"3"});
  EXPECT_EQ(call(f.router, "GET", "/images/search?term=x&limit=100").status, 200);
  EXPECT_EQ(call(f.router, "GET", "/images/search?term=x&limit=1").status, 200);
  EXPECT_EQ(f.backend.searches.size(), 3u);
}

TEST(RegistryRouter, SearchRefusesBadRequestsBeforeTheBackend) {
  Fixture f;
  struct Case {
    std::string query, message;
  };
  for (auto& c : std::vector<Case>{
           {"", "term is required"},
           {"term=x&limit=101", "limit 101 is outside the range of [1, 100]"},
           {"term=x&limit=0", "limit 0 is outside the range of [1, 100]"},
           {"term=x&limit=-1", "limit -1 is outside the range of [1, 100]"},
           {"term=x&limit=5x", "invalid limit specified: strconv.Atoi: parsing \"5x\": invalid syntax"},
           {"term=x&limit=99999999999", "invalid limit specified: strconv.Atoi: parsing \"99999999999\": value out of range"},
           {"term=x&filters=" + fakehttp::urlEncode(R"({"bogus":{"1":true}})"), "Invalid filter 'bogus'"},
       }) {
    auto r = call(f.router, "GET", "/images/search?" + c.query);
    EXPECT_EQ(r.status, 400) << c.query;
    EXPECT_EQ(r.message(), c.message) << c.query;
  }
  EXPECT_TRUE(f.backend.searches.empty());
}

TEST(RegistryRouter, SearchBackendErrorsKeepTheirStatus) {
  Fixture f;
  auto r = call(f.router, "GET", "/images/search?term=down");
  EXPECT_EQ(r.status, api::httpStatus(Code::Unavailable));
  EXPECT_EQ(r.message(), "registry unreachable");
}
