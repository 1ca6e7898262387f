#include <gtest/gtest.h>

#include "api/containers_router.h"
#include "api/events.h"
#include "api/http.h"
#include "common/json_limits.h"

using namespace berth;
using namespace berth::api;

TEST(Filters, BothEncodings) {
  auto m = parseFilters(R"({"name":{"web":true},"status":{"exited":true,"running":false}})");
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["name"], std::vector<std::string>{"web"});
  EXPECT_EQ((*m)["status"], std::vector<std::string>{"exited"});
  auto l = parseFilters(R"({"label":["a=b","c"]})");
  ASSERT_TRUE(l);
  EXPECT_EQ((*l)["label"].size(), 2u);
  EXPECT_TRUE(parseFilters("")->empty());
}

// dockerd's filters.Args.Match: the value itself, else an unanchored regexp.
TEST(Filters, PatternsMatchAsDockerd) {
  auto web = FilterPattern::compile("^web$");
  EXPECT_TRUE(web.matches("web"));
  EXPECT_FALSE(web.matches("/web"));
  EXPECT_FALSE(web.matches("web2"));
  EXPECT_TRUE(FilterPattern::compile("eb").matches("/web"));  // unanchored
  EXPECT_TRUE(FilterPattern::compile("^/w.b$").matches("/web"));
  EXPECT_TRUE(FilterPattern::compile("a|b").matches("xbx"));
  // not an expression: only the value itself matches
  auto bracket = FilterPattern::compile("[");
  EXPECT_TRUE(bracket.matches("["));
  EXPECT_FALSE(bracket.matches("a[b"));
  // back-references (refused by Go's RE2) and overlong values never run as expressions
  EXPECT_FALSE(FilterPattern::compile("(a)\\1").matches("aa"));
  EXPECT_FALSE(FilterPattern::compile(std::string(2000, 'a') + "*").matches(std::string(2000, 'a')));
}

TEST(Filters, BoolAsGetBoolOrDefault) {
  EXPECT_EQ(filterBool("is-task", {"true"}), true);
  EXPECT_EQ(filterBool("is-task", {"1", "junk"}), true);
  EXPECT_EQ(filterBool("is-task", {"false"}), false);
  EXPECT_EQ(filterBool("is-task", {"0"}), false);
  auto both = filterBool("is-task", {"true", "false"});
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().message, "invalid filter 'is-task=true,false'");
  auto neither = filterBool("dangling", {"maybe"});
  ASSERT_FALSE(neither);
  EXPECT_EQ(neither.error().message, "invalid filter 'dangling=maybe'");
  EXPECT_EQ(httpStatus(neither.error().code), 400);
}

TEST(Filters, MalformedAndUnknown) {
  auto bad = parseFilters("{nope");
  ASSERT_FALSE(bad);
  EXPECT_EQ(httpStatus(bad.error().code), 400);
  auto f = parseFilters(R"({"bogus":["x"]})");
  auto k = checkFilterKeys(*f, {"name"});
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().message, "Invalid filter 'bogus'");
}

TEST(Router, MatchesGreedyNamesAndMethods) {
  Router r;
  int hit = 0;
  r.add("GET", "/images/(.+)/json", [&](Request&, ResponseWriter&) { hit = 1; });
  r.add("DELETE", "/containers/([^/]+)", [&](Request&, ResponseWriter&) { hit = 2; });
  Request req;
  req.method = "GET";
  req.path = "/images/127.0.0.1:5000/a/b:v1/json";
  auto* h = r.match(req);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(req.params[0], "127.0.0.1:5000/a/b:v1");
  req.method = "POST";
  EXPECT_EQ(r.match(req), nullptr);
  req.method = "DELETE";
  req.path = "/containers/abc";
  ASSERT_NE(r.match(req), nullptr);
  EXPECT_EQ(req.params[0], "abc");
}

TEST(ErrorMap, StatusCodes) {
  EXPECT_EQ(httpStatus(Code::NotFound), 404);
  EXPECT_EQ(httpStatus(Code::Conflict), 409);
  EXPECT_EQ(httpStatus(Code::InvalidArgument), 400);
  EXPECT_EQ(httpStatus(Code::NotModified), 304);
  EXPECT_EQ(httpStatus(Code::Internal), 500);
}

TEST(Timestamps, UnixWithNanos) {
  EXPECT_EQ(*parseUnixTimestamp("1577836800.000000001"), 1577836800000000001LL);
  EXPECT_EQ(*parseUnixTimestamp("1577836800"), 1577836800000000000LL);
  EXPECT_EQ(*parseUnixTimestamp("1.5"), 1500000000LL);
  EXPECT_FALSE(parseUnixTimestamp("yesterday"));
}

TEST(Events, HistoryAndWire) {
  EventBus bus(3);
  for (int i = 0; i < 5; i++) bus.publish("container", "start", "id" + std::to_string(i), {{"image", "busybox"}});
  auto all = bus.historySince(0);
  ASSERT_EQ(all.size(), 3u);  // bounded history
  EXPECT_EQ(all.front().id, "id2");
  auto j = all.back().toJson();
  EXPECT_EQ(j["status"], "start");
  EXPECT_EQ(j["from"], "busybox");
  EXPECT_EQ(j["Actor"]["ID"], "id4");
  EXPECT_EQ(j["scope"], "local");
  auto none = bus.waitAfter(bus.lastSeq(), 10);
  EXPECT_TRUE(none.empty());
}

// Every route template the routers register (legacy regex spellings
// included) against paths that must and must not match.
TEST(PathTemplate, RegisteredRouteShapes) {
  std::vector<std::string> params;
  auto t = PathTemplate::parse("/containers/([^/]+)/archive");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->match("/containers/abc/archive", params));
  EXPECT_EQ(params, std::vector<std::string>{"abc"});
  EXPECT_FALSE(t->match("/containers//archive", params));
  EXPECT_FALSE(t->match("/containers/a/b/archive", params));
  EXPECT_FALSE(t->match("/containers/abc/archive/", params));
  EXPECT_FALSE(t->match("/containers/abc", params));

  auto img = PathTemplate::parse("/images/{name...}/json");
  ASSERT_TRUE(img);
  EXPECT_TRUE(img->match("/images/127.0.0.1:5000/a/b:v1/json", params));
  EXPECT_EQ(params, std::vector<std::string>{"127.0.0.1:5000/a/b:v1"});
  EXPECT_TRUE(img->match("/images/a/json/json", params));  // greedy, as (.+) was
  EXPECT_EQ(params, std::vector<std::string>{"a/json"});
  EXPECT_FALSE(img->match("/images/json", params));
  EXPECT_FALSE(img->match("/images//json", params));

  auto del = PathTemplate::parse("/images/(.+)");
  ASSERT_TRUE(del);
  EXPECT_TRUE(del->match("/images/docker.io/library/busybox:latest", params));
  EXPECT_EQ(params, std::vector<std::string>{"docker.io/library/busybox:latest"});
  EXPECT_FALSE(del->match("/images/", params));

  auto two = PathTemplate::parse("/x/{a...}/y/{b}");
  ASSERT_TRUE(two);
  EXPECT_TRUE(two->match("/x/p/q/y/z", params));
  EXPECT_EQ(params, (std::vector<std::string>{"p/q", "z"}));

  auto root = PathTemplate::parse("/_ping");
  ASSERT_TRUE(root);
  EXPECT_TRUE(root->match("/_ping", params));
  EXPECT_FALSE(root->match("/_ping/", params));
  EXPECT_FALSE(root->match("_ping", params));

  auto nets = PathTemplate::parse("/networks/?");  // the networks router's spelling
  ASSERT_TRUE(nets);
  EXPECT_TRUE(nets->match("/networks", params));
  EXPECT_TRUE(nets->match("/networks/", params));
  EXPECT_FALSE(nets->match("/networks/x", params));
  EXPECT_FALSE(nets->match("/networks//", params));
  auto del2 = PathTemplate::parse("/containers/(.+)");
  ASSERT_TRUE(del2);
  EXPECT_TRUE(del2->match("/containers/abc", params));

  EXPECT_FALSE(PathTemplate::parse("/a/(\\d+)"));
  EXPECT_FALSE(PathTemplate::parse("/a/{x...}/{y...}"));
  EXPECT_FALSE(PathTemplate::parse("noslash"));
}

// The path that crashed std::regex (about 32,000 characters) and far longer
// ones match in linear time without recursion.
TEST(PathTemplate, HugePathsDoNotRecurse) {
  Router r;
  r.add("GET", "/containers/([^/]+)/json", [](Request&, ResponseWriter&) {});
  r.add("GET", "/images/(.+)/json", [](Request&, ResponseWriter&) {});
  Request req;
  req.method = "GET";
  req.path = "/containers/" + std::string(1 << 22, 'a') + "/json";
  ASSERT_NE(r.match(req), nullptr);
  EXPECT_EQ(req.params[0].size(), size_t(1) << 22);
  std::string many;
  for (int i = 0; i < 200000; i++) many += "a/";
  req.path = "/images/" + many + "json";
  ASSERT_NE(r.match(req), nullptr);
  EXPECT_EQ(req.params[0].size(), many.size() - 1);
}

TEST(JsonDepth, GoLimitOutsideStrings) {
  std::string deep = std::string(10001, '[') + std::string(10001, ']');
  auto e = checkJsonDepth(deep);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "invalid character '[' exceeded max depth");
  EXPECT_TRUE(checkJsonDepth(std::string(10000, '[') + std::string(10000, ']')));
  // brackets inside strings (escaped quotes included) do not count
  EXPECT_TRUE(checkJsonDepth("{\"a\":\"" + std::string(20000, '[') + "\\\"" + std::string(20000, '{') + "\"}"));
  auto j = parseJsonBounded("{\"Labels\":{\"a\":" + std::string(58000, '[') + std::string(58000, ']') + "}}");
  ASSERT_FALSE(j);
  EXPECT_EQ(httpStatus(j.error().code), 400);
  auto ok = parseJsonBounded(R"({"a":[1,{"b":"]]]"}]})");
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)["a"][1]["b"], "]]]");
  EXPECT_FALSE(parseJsonBounded("{nope"));
}
