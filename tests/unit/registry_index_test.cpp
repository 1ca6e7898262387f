// registry/index.h without a network: server addresses, search terms and
// the search answer's parsing and filtering.
#include <gtest/gtest.h>

#include "registry/index.h"

using namespace berth;
using namespace berth::registry;

TEST(RegistryIndex, ServerDomain) {
  EXPECT_EQ(serverDomain(""), "docker.io");
  EXPECT_EQ(serverDomain("https://index.docker.io/v1/"), "docker.io");
  EXPECT_EQ(serverDomain("registry-1.docker.io"), "docker.io");
  EXPECT_EQ(serverDomain("docker.io"), "docker.io");
  EXPECT_EQ(serverDomain("127.0.0.1:5000"), "127.0.0.1:5000");
  EXPECT_EQ(serverDomain("http://h:1/"), "h:1");
  EXPECT_EQ(serverDomain("https://quay.io/v2/x"), "quay.io");
}

TEST(RegistryIndex, SplitSearchTerm) {
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(splitSearchTerm("busybox"), P("docker.io", "busybox"));
  EXPECT_EQ(splitSearchTerm("user/img"), P("docker.io", "user/img"));
  EXPECT_EQ(splitSearchTerm("127.0.0.1:5000/busybox"), P("127.0.0.1:5000", "busybox"));
  EXPECT_EQ(splitSearchTerm("localhost/a/b"), P("localhost", "a/b"));
  EXPECT_EQ(splitSearchTerm("quay.io/x"), P("quay.io", "x"));
  // Unlike a reference, an upper-case first component is not a registry.
  EXPECT_EQ(splitSearchTerm("User/img"), P("docker.io", "User/img"));
}

namespace {

const char* kAnswer = R"({"num_results": 4, "results": [
  {"name": "a", "description": "first", "star_count": 10, "is_official": true, "is_automated": false},
  {"name": "b", "star_count": 2, "is_official": false, "is_automated": true},
  "junk",
  {"name": "c", "description": "third", "star_count": 5, "is_official": true},
  {"name": "d", "star_count": 0}]})";

std::vector<std::string> names(const std::vector<SearchResult>& v) {
  std::vector<std::string> out;
  for (auto& r : v) out.push_back(r.name);
  return out;
}

}  // namespace

TEST(RegistryIndex, ParseSearchResults) {
  auto r = parseSearchResults(kAnswer, {}, 25);
  ASSERT_TRUE(r);
  EXPECT_EQ(names(*r), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ((*r)[0].description, "first");
  EXPECT_EQ((*r)[0].starCount, 10);
  EXPECT_TRUE((*r)[0].isOfficial);
  EXPECT_TRUE((*r)[1].isAutomated);
  EXPECT_EQ((*r)[1].description, "");
  EXPECT_EQ(names(*parseSearchResults(kAnswer, {}, 2)), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(parseSearchResults("not json", {}, 25)->empty());
  EXPECT_TRUE(parseSearchResults(R"({"results": 3})", {}, 25)->empty());
}

TEST(RegistryIndex, SearchFilters) {
  auto names_ = [](const Filters& f, int limit = 25) { return names(*parseSearchResults(kAnswer, f, limit)); };
  using V = std::vector<std::string>;
  EXPECT_EQ(names_({{"is-official", {"true"}}}), (V{"a", "c"}));
  EXPECT_EQ(names_({{"is-official", {"false"}}}), (V{"b", "d"}));
  EXPECT_EQ(names_({{"is-automated", {"1"}}}), (V{"b"}));
  EXPECT_EQ(names_({{"stars", {"5"}}}), (V{"a", "c"}));
  EXPECT_EQ(names_({{"stars", {"3"}}, {"is-official", {"true"}}}, 1), (V{"a"}));
  auto bad = parseSearchResults(kAnswer, {{"stars", {"many"}}}, 25);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Code::InvalidArgument);
  EXPECT_EQ(bad.error().message, "invalid filter 'stars=many': strconv.Atoi: parsing \"many\": invalid syntax");
}

TEST(RegistryIndex, BadStarsFilterFailsBeforeAnyRegistryIsAsked) {
  int configReads = 0;
  Index index([&] {
    configReads++;
    return RegistryConfig{};
  });
  auto r = index.search("127.0.0.1:9/x", 25, {{"stars", {"2x"}}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "invalid filter 'stars=2x': strconv.Atoi: parsing \"2x\": invalid syntax");
  EXPECT_EQ(configReads, 0);
}
