// container::Lifecycle::create with the two fields only the CRI sets
// (CreateRequest::id and ::netnsPath; the Engine API's router never does):
// a real container service over SQLite and a one-file image, no start.
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>

#include "container_service_fixture.h"

using namespace berth;
using json = nlohmann::json;

namespace {

class CreateInternal : public fixtures::RealContainerService {
 protected:
  static json body(const std::string& networkMode) {
    return {{"Image", "one:file"}, {"HostConfig", {{"NetworkMode", networkMode}}}};
  }
};

}  // namespace

TEST_F(CreateInternal, GivenIdIsUsedAndReservedByItsDirectory) {
  const std::string id = std::string(63, 'a') + "1";
  auto c = svc_->create({"first", body("none"), "", id});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->id, id);
  auto d = svc_->inspect(id, false);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->record.name, "first");
  ASSERT_TRUE(writeFileReplace(dir_ / ("containers/" + id + "/marker"), "x"));
  // The same id again: Conflict, and the first container's files untouched.
  auto again = svc_->create({"second", body("none"), "", id});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::Conflict);
  EXPECT_EQ(::access((dir_ / ("containers/" + id + "/marker")).c_str(), F_OK), 0);
  EXPECT_FALSE(svc_->inspect("second", false));
  // A directory left with that id (no record): Conflict, left alone.
  const std::string stray = std::string(63, 'b') + "2";
  ASSERT_TRUE(mkdirAll(dir_ / ("containers/" + stray)));
  ASSERT_TRUE(writeFileReplace(dir_ / ("containers/" + stray + "/keep"), "x"));
  auto onStray = svc_->create({"third", body("none"), "", stray});
  ASSERT_FALSE(onStray);
  EXPECT_EQ(onStray.error().code, Code::Conflict);
  EXPECT_EQ(::access((dir_ / ("containers/" + stray + "/keep")).c_str(), F_OK), 0);
}

TEST_F(CreateInternal, BadIdsAreRefused) {
  for (std::string bad : {std::string("abc"), std::string(63, 'a'), std::string(65, 'a'), std::string(64, 'A'),
                          std::string(63, 'a') + "g", std::string(62, 'a') + "/."}) {
    auto c = svc_->create({"", body("none"), "", bad});
    ASSERT_FALSE(c) << bad;
    EXPECT_EQ(c.error().code, Code::InvalidArgument) << bad;
  }
  auto l = svc_->list(container::ListOptions{.all = true});
  ASSERT_TRUE(l);
  EXPECT_TRUE(l->empty());
}

TEST_F(CreateInternal, NetnsPathOnlyWithNetworkModeNoneAndKeptInTheRecord) {
  auto bad = svc_->create({"br", body("bridge"), "/run/x/cri/netns/cni-1"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Code::InvalidArgument);
  auto host = svc_->create({"host", body("host"), "/run/x/cri/netns/cni-1"});
  ASSERT_FALSE(host);
  EXPECT_EQ(host.error().code, Code::InvalidArgument);
  auto c = svc_->create({"joined", body("none"), "/run/x/cri/netns/cni-1"});
  ASSERT_TRUE(c) << c.error().message;
  auto d = svc_->inspect(c->id, false);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->record.netnsPath, "/run/x/cri/netns/cni-1");
  EXPECT_FALSE(d->record.hostConfig.contains("NetnsPath"));
  // An Engine API body cannot smuggle one in: a HostConfig key is not it.
  json sneaky = body("none");
  sneaky["HostConfig"]["NetnsPath"] = "/proc/1/ns/net";
  sneaky["NetnsPath"] = "/proc/1/ns/net";
  auto s = svc_->create({"sneaky", sneaky});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(svc_->inspect(s->id, false)->record.netnsPath, "");
}
