// src/cri/pod_store.h: sandbox records, their files and lookups.
#include "cri/pod_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "common/util.h"
#include "fake_http.h"

using namespace berth;
using namespace berth::cri;
using fakehttp::TempDir;

namespace {

Sandbox sample(char c) {
  Sandbox s;
  s.id = std::string(64, c);
  s.metadata = {"web", "uid-" + std::string(1, c), "default", 2};
  s.hostname = "web-host";
  s.logDirectory = "/var/log/pods/x";
  s.runtimeHandler = "runc";
  s.cgroupParent = "/kubepods/pod1";
  s.namespaces.network = NamespaceMode::Node;
  s.namespaces.pid = NamespaceMode::Pod;
  s.namespaces.ipc = NamespaceMode::Node;
  s.labels = {{"app", "web"}};
  s.annotations = {{"a", "b"}};
  s.sysctls = {{"net.ipv4.ip_unprivileged_port_start", "0"}};
  s.dns = {{"10.0.0.10"}, {"svc.local"}, {"ndots:5"}};
  s.portMappings = {{"udp", 53, 5353, "127.0.0.1"}};
  s.createdAt = 1234567890123;
  s.netnsPath = "/run/x/netns";
  s.ip = "10.222.0.5";
  s.additionalIps = {"fd00::5"};
  s.cniResult = nlohmann::json{{"cniVersion", "1.0.0"}};
  s.resolvConfPath = "/r";
  s.hostsPath = "/h";
  return s;
}

}  // namespace

TEST(CriPodStore, RecordRoundTrip) {
  Sandbox s = sample('a');
  auto back = Sandbox::fromJson(nlohmann::json::parse(s.toJson().dump()));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->toJson(), s.toJson());
  EXPECT_EQ(back->metadata.attempt, 2u);
  EXPECT_EQ(back->namespaces.pid, NamespaceMode::Pod);
  EXPECT_EQ(back->portMappings.at(0).hostPort, 5353);
  EXPECT_EQ(back->dns.options, std::vector<std::string>{"ndots:5"});
}

TEST(CriPodStore, BadRecordsRefused) {
  for (const char* bad : {"[]", "{}", R"({"id":"abc"})", R"({"id":"../../etc/passwd"})",
                          R"({"id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","createdAt":"x"})"}) {
    auto r = Sandbox::fromJson(nlohmann::json::parse(bad));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Code::InvalidArgument);
  }
}

TEST(CriPodStore, PutLookupListRemoveAndReload) {
  TempDir tmp;
  std::string dir = tmp / "sandboxes";
  {
    PodStore st(dir, nullptr);
    ASSERT_TRUE(st.load());
    ASSERT_TRUE(st.put(sample('a')));
    Sandbox b = sample('b');
    b.id = "ab" + std::string(62, 'b');
    ASSERT_TRUE(st.put(b));
    ASSERT_TRUE(st.put(sample('c')));
    // Full id, unique prefix, ambiguous prefix, unknown.
    auto r = st.sandbox(std::string(64, 'c'));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->state, SandboxState::NotReady);  // no container service: never ready
    r = st.sandbox("cc");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, std::string(64, 'c'));
    r = st.sandbox("a");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Code::NotFound);
    r = st.sandbox("aaa");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, std::string(64, 'a'));
    for (const char* ref : {"", "d", "zz"}) {
      auto miss = st.sandbox(ref);
      ASSERT_FALSE(miss) << ref;
      EXPECT_EQ(miss.error().code, Code::NotFound);
      EXPECT_NE(miss.error().message.find("not found"), std::string::npos);
    }
    EXPECT_EQ(st.list().size(), 3u);
    EXPECT_EQ(st.findByMetadata(sample('c').metadata), std::string(64, 'c'));
    PodMetadata other = sample('c').metadata;
    other.attempt = 3;
    EXPECT_FALSE(st.findByMetadata(other));
    ASSERT_TRUE(st.remove(std::string(64, 'c')));
    ASSERT_TRUE(st.remove(std::string(64, 'c')));  // missing is fine
    EXPECT_FALSE(st.sandbox(std::string(64, 'c')));
    Sandbox bad = sample('a');
    bad.id = "short";
    EXPECT_FALSE(st.put(bad));
  }
  // A corrupt file and a file whose name is not its id are skipped.
  std::ofstream(dir + "/" + std::string(64, 'e') + ".json") << "{not json";
  std::ofstream(dir + "/" + std::string(64, 'f') + ".json") << sample('a').toJson().dump();
  PodStore again(dir, nullptr);
  ASSERT_TRUE(again.load());
  auto all = again.list();
  ASSERT_EQ(all.size(), 2u);
  auto a = again.sandbox(std::string(64, 'a'));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->toJson(), sample('a').toJson());
  struct stat st;
  ASSERT_EQ(::stat((dir + "/" + std::string(64, 'a') + ".json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}
