#include <map>
#include <set>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>

#include "common/util.h"
#include "container/model.h"
#include "container/service.h"
#include "container/spec.h"

using namespace berth;
using namespace berth::container;

TEST(ContainerModel, HumanDurationFollowsGoUnits) {
  EXPECT_EQ(humanDuration(0), "Less than a second");
  EXPECT_EQ(humanDuration(1), "1 second");
  EXPECT_EQ(humanDuration(47), "47 seconds");
  EXPECT_EQ(humanDuration(60), "About a minute");
  EXPECT_EQ(humanDuration(119), "About a minute");
  EXPECT_EQ(humanDuration(180), "3 minutes");
  EXPECT_EQ(humanDuration(3600), "About an hour");
  EXPECT_EQ(humanDuration(5 * 3600), "5 hours");
  EXPECT_EQ(humanDuration(3 * 86400), "3 days");
  EXPECT_EQ(humanDuration(21 * 86400), "3 weeks");
  EXPECT_EQ(humanDuration(90 * 86400), "3 months");
  EXPECT_EQ(humanDuration(3 * 365 * 86400), "3 years");
}

TEST(ContainerModel, StatusText) {
  ContainerState s;
  int64_t now = 1000LL * 1000000000;
  EXPECT_EQ(statusText(s, now), "Created");
  s.status = State::Running;
  s.startedAt = now - 8LL * 1000000000;
  EXPECT_EQ(statusText(s, now), "Up 8 seconds");
  s.status = State::Paused;
  EXPECT_EQ(statusText(s, now), "Up 8 seconds (Paused)");
  s.status = State::Exited;
  s.exitCode = 3;
  s.finishedAt = now - 7LL * 1000000000;
  EXPECT_EQ(statusText(s, now), "Exited (3) 7 seconds ago");
}

TEST(ContainerModel, TransitionTableIsExactlyTheServiceMoves) {
  using S = State;
  const S all[] = {S::Created, S::Running, S::Paused, S::Restarting, S::Removing, S::Exited, S::Dead};
  // from -> the states it may move to (model.h).
  const std::map<S, std::set<S>> allowed = {
      {S::Created, {S::Running, S::Removing}},
      {S::Running, {S::Paused, S::Restarting, S::Exited}},
      {S::Paused, {S::Running, S::Restarting, S::Exited}},
      {S::Restarting, {S::Running, S::Exited}},
      {S::Exited, {S::Running, S::Restarting, S::Removing}},
      {S::Removing, {S::Dead}},
      {S::Dead, {S::Removing}},
  };
  for (S from : all)
    for (S to : all)
      EXPECT_EQ(canTransition(from, to), allowed.at(from).count(to) == 1)
          << stateName(from) << " -> " << stateName(to);
}

TEST(ContainerModel, TransitionAnswersConflictAndKeepsTheState) {
  ContainerState s;
  ASSERT_TRUE(transition(s, State::Running));
  EXPECT_EQ(s.status, State::Running);
  auto r = transition(s, State::Removing);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::Conflict);
  EXPECT_EQ(r.error().message, "cannot move container from running to removing");
  EXPECT_EQ(s.status, State::Running);
  ASSERT_TRUE(transition(s, State::Paused));
  EXPECT_FALSE(transition(s, State::Paused));  // pausing twice is not a move
  ASSERT_TRUE(transition(s, State::Exited));
  ASSERT_TRUE(transition(s, State::Removing));
  ASSERT_TRUE(transition(s, State::Dead));
  EXPECT_FALSE(transition(s, State::Running));  // a dead container cannot start
  EXPECT_FALSE(transition(s, State::Created));
}

TEST(ContainerModel, StateRoundTrip) {
  ContainerState s;
  s.status = State::Exited;
  s.exitCode = 137;
  s.oomKilled = true;
  s.finishedAt = 42;
  auto back = ContainerState::fromJson(s.toJson());
  EXPECT_EQ(back.status, State::Exited);
  EXPECT_EQ(back.exitCode, 137);
  EXPECT_TRUE(back.oomKilled);
  EXPECT_EQ(back.finishedAt, 42);
}

TEST(ContainerModel, NetnsPathIsKeptBesideHostConfig) {
  Container c;
  c.id = std::string(64, 'a');
  c.hostConfig = {{"NetworkMode", "none"}};
  c.netnsPath = "/run/berth/cri/netns/cni-0123";
  json doc = c.configDoc();
  EXPECT_EQ(doc["NetnsPath"], "/run/berth/cri/netns/cni-0123");
  EXPECT_FALSE(doc["HostConfig"].contains("NetnsPath"));  // nothing an Engine API body could carry
  auto back = Container::fromRow(c.id, "n", "sha256:x", 1, doc.dump(), c.state.toJson().dump());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->netnsPath, c.netnsPath);
  // A record without it (every Docker API container): none.
  c.netnsPath.clear();
  EXPECT_FALSE(c.configDoc().contains("NetnsPath"));
  back = Container::fromRow(c.id, "n", "sha256:x", 1, c.configDoc().dump(), c.state.toJson().dump());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->netnsPath, "");
}

TEST(ContainerModel, CorruptRowIsAnError) {
  auto c = Container::fromRow("abc", "n", "sha256:x", 1, "{bad", "{}");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Code::Internal);
}

TEST(Signals, DockerForms) {
  EXPECT_EQ(*parseSignal("KILL"), SIGKILL);
  EXPECT_EQ(*parseSignal("SIGKILL"), SIGKILL);
  EXPECT_EQ(*parseSignal("sigterm"), SIGTERM);
  EXPECT_EQ(*parseSignal("9"), 9);
  EXPECT_EQ(*parseSignal("WINCH"), SIGWINCH);
  EXPECT_FALSE(parseSignal("BOGUS"));
  EXPECT_FALSE(parseSignal("0"));
  EXPECT_FALSE(parseSignal("99"));
}

class UserResolution : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-user-XXXXXX";
    dir_ = mkdtemp(tmpl);
    ASSERT_TRUE(mkdirAll(dir_ + "/etc"));
    ASSERT_TRUE(writeFileAtomic(dir_ + "/etc/passwd",
                                "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
                                "app:x:1000:1000::/home/app:/bin/sh\n"));
    ASSERT_TRUE(writeFileAtomic(dir_ + "/etc/group", "root:x:0:\nusers:x:100:app\nnogroup:x:65534:\n"));
  }
  void TearDown() override { (void)removeAll(dir_); }
  std::string dir_;
};

TEST_F(UserResolution, NamesAndNumbers) {
  auto r = resolveUser("app", {dir_});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->uid, 1000u);
  EXPECT_EQ(r->gid, 1000u);
  EXPECT_EQ(r->home, "/home/app");
  ASSERT_EQ(r->additionalGids.size(), 1u);
  EXPECT_EQ(r->additionalGids[0], 100u);

  auto n = resolveUser("1234:5678", {dir_});
  ASSERT_TRUE(n);
  EXPECT_EQ(n->uid, 1234u);
  EXPECT_EQ(n->gid, 5678u);

  auto g = resolveUser("nobody:users", {dir_});
  ASSERT_TRUE(g);
  EXPECT_EQ(g->uid, 65534u);
  EXPECT_EQ(g->gid, 100u);

  auto root = resolveUser("", {dir_});
  ASSERT_TRUE(root);
  EXPECT_EQ(root->uid, 0u);
  EXPECT_EQ(root->home, "/root");
}

TEST_F(UserResolution, UnknownNameIsDockersError) {
  auto r = resolveUser("ghost", {dir_});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("unable to find user ghost: no matching entries in passwd file"), std::string::npos);
}

TEST(Spec, DefaultsMatchDocker) {
  Container c;
  c.id = std::string(64, 'a');
  c.path = "sh";
  c.args = {"-c", "true"};
  c.config = {{"Env", {"PATH=/bin"}}, {"Tty", false}, {"OpenStdin", true}};
  c.hostConfig = {{"NetworkMode", "default"}};
  auto spec = buildSpec(c, SpecPaths{"/b", {"/l1", "/l2"}, "berth-x"});
  ASSERT_TRUE(spec);
  auto& s = *spec;
  EXPECT_EQ(s["hostname"], "aaaaaaaaaaaa");
  EXPECT_EQ(s["process"]["args"], nlohmann::json({"sh", "-c", "true"}));
  EXPECT_EQ(s["linux"]["cgroupsPath"], "/berth-x/" + c.id);
  EXPECT_EQ(s["annotations"]["berth.overlay.lowerdir"], "/l1:/l2");
  EXPECT_EQ(s["annotations"]["berth.stdin"], "1");
  EXPECT_FALSE(s["annotations"].contains("berth.overlay.volatile"));  // the upper dir is kept
  c.hostConfig["AutoRemove"] = true;
  EXPECT_EQ((*buildSpec(c, SpecPaths{"/b", {"/l1"}, "p"}))["annotations"]["berth.overlay.volatile"], "1");
  c.hostConfig.erase("AutoRemove");
  EXPECT_EQ(s["process"]["capabilities"]["bounding"].size(), defaultCapabilities().size());
  bool hasNet = false;
  for (auto& n : s["linux"]["namespaces"])
    if (n["type"] == "network") hasNet = true;
  EXPECT_TRUE(hasNet);
  c.hostConfig["NetworkMode"] = "host";
  auto host = buildSpec(c, SpecPaths{"/b", {"/l1"}, "p"});
  for (auto& n : (*host)["linux"]["namespaces"]) EXPECT_NE(n["type"], "network");
}

TEST(Spec, ContainerModesJoinTheGivenNamespaces) {
  Container c;
  c.id = std::string(64, 'b');
  c.path = "true";
  c.config = {{"Env", {"PATH=/bin"}}};
  c.hostConfig = {{"NetworkMode", "container:x"}, {"PidMode", "container:x"}, {"IpcMode", "container:x"}};
  SpecPaths paths{"/b", {"/l1"}, "p"};
  paths.nsJoins = {{"pid", "/proc/42/ns/pid"}, {"ipc", "/proc/42/ns/ipc"}, {"network", "/proc/42/ns/net"}};
  paths.netFilesDir = "/donor";
  auto spec = buildSpec(c, paths);
  ASSERT_TRUE(spec);
  std::map<std::string, std::string> got;
  for (auto& n : (*spec)["linux"]["namespaces"]) got[n["type"]] = n.value("path", "");
  EXPECT_EQ(got, (std::map<std::string, std::string>{{"pid", "/proc/42/ns/pid"},
                                                     {"ipc", "/proc/42/ns/ipc"},
                                                     {"network", "/proc/42/ns/net"},
                                                     {"uts", ""},
                                                     {"mount", ""}}));
  int shared = 0;
  for (auto& m : (*spec)["mounts"])
    if (m["destination"] == "/etc/hosts" || m["destination"] == "/etc/resolv.conf" || m["destination"] == "/etc/hostname") {
      EXPECT_EQ(m["source"].get<std::string>().rfind("/donor/", 0), 0u) << m.dump();
      shared++;
    }
  EXPECT_EQ(shared, 3);
}
