#include <gtest/gtest.h>

#include "api/containers_router.h"
#include "api/events.h"
#include "api/http.h"

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
