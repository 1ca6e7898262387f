// src/cri/cni.h: the CNI runtime side, with fake plugins (shell scripts that
// record their environment and stdin) and with Debian's real bridge and
// host-local plugins in private network namespaces.
#include "cri/cni.h"

#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "common/util.h"
#include "cri/netns.h"
#include "cri/pod_store.h"
#include "fake_http.h"
#include "netns_test_util.h"

using namespace berth;
using namespace berth::cri;
using fakehttp::TempDir;
using json = nlohmann::json;

namespace {

void writeText(const std::string& path, const std::string& text, int mode = 0644) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

// A fake plugin named `type` in bin: appends "<type> <command>" to calls.log,
// saves its env and stdin as <n>.env / <n>.stdin (n = call number), prints
// <type>.out if present and exits with <type>.rc (default 0).
void fakePlugin(const std::string& bin, const std::string& rec, const std::string& type) {
  std::string s = "#!/bin/sh\n"
                  "R=" + rec + "\n"
                  "n=$(wc -l < $R/calls.log 2>/dev/null || echo 0); n=$((n+0))\n"
                  "echo \"" + type + " $CNI_COMMAND\" >> $R/calls.log\n"
                  "env > $R/$n.env\n"
                  "cat > $R/$n.stdin\n"
                  "[ -f $R/" + type + ".sleep ] && sleep $(cat $R/" + type + ".sleep)\n"
                  "[ -f $R/" + type + ".out ] && cat $R/" + type + ".out\n"
                  "rc=0; [ -f $R/" + type + ".rc ] && rc=$(cat $R/" + type + ".rc)\n"
                  "exit $rc\n";
  writeText(bin + "/" + type, s, 0755);
}

std::string readAll(const std::string& p) {
  auto t = readFile(p);
  return t ? *t : std::string();
}

std::map<std::string, std::string> envOf(const std::string& p) {
  std::map<std::string, std::string> m;
  for (auto& line : split(readAll(p), '\n')) {
    auto eq = line.find('=');
    if (eq != std::string::npos) m[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return m;
}

std::string result100(const std::string& addr) {
  return json{{"cniVersion", "1.0.0"},
              {"interfaces", {{{"name", "eth0"}, {"sandbox", "/x"}}}},
              {"ips", {{{"address", addr}, {"interface", 0}}}}}
      .dump();
}

struct CniFixture : ::testing::Test {
  TempDir tmp;
  std::string conf, bin, rec;
  void SetUp() override {
    conf = tmp / "net.d";
    bin = tmp / "bin";
    rec = tmp / "rec";
    ASSERT_TRUE(mkdirAll(conf));
    ASSERT_TRUE(mkdirAll(bin));
    ASSERT_TRUE(mkdirAll(rec));
  }
  cni::Attachment attachment() {
    cni::Attachment a;
    a.containerId = std::string(64, 'a');
    a.netns = "/var/run/netns/x";
    a.args = cni::podArgs(PodMetadata{"web", "uid-1", "default", 0}, a.containerId);
    a.portMappings = {{"TCP", 80, 8080, "127.0.0.1"}, {"udp", 53, 0, ""}};
    return a;
  }
};

}  // namespace

TEST(CriCniParse, ListAndSingleConfigs) {
  auto l = cni::parseNetworkList(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"bridge"},{"type":"portmap"}]})",
                                 true, "f");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->name, "n");
  EXPECT_EQ(l->cniVersion, "1.0.0");
  ASSERT_EQ(l->plugins.size(), 2u);
  EXPECT_EQ(l->plugins[1]["type"], "portmap");
  auto s = cni::parseNetworkList(R"({"cniVersion":"0.3.1","name":"one","type":"bridge","bridge":"b"})", false, "f");
  ASSERT_TRUE(s);
  ASSERT_EQ(s->plugins.size(), 1u);
  EXPECT_EQ(s->plugins[0]["bridge"], "b");
}

TEST(CriCniParse, BadConfigsRefused) {
  for (auto [text, list] : std::vector<std::pair<std::string, bool>>{
           {"{", true},
           {"[]", true},
           {R"({"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]})", true},
           {R"({"name":"n","plugins":[]})", true},
           {R"({"name":"n","plugins":[{"bridge":"x"}]})", true},
           {R"({"name":"n","plugins":"bridge"})", true},
           {R"({"name":"n"})", false},
       }) {
    auto r = cni::parseNetworkList(text, list, "f");
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, Code::InvalidArgument) << text;
  }
}

TEST(CriCniIps, EveryResultVersion) {
  // 1.0.0: the host side's address is not the pod's; IPv4 first.
  json r = json::parse(R"({"cniVersion":"1.0.0",
    "interfaces":[{"name":"cni0"},{"name":"veth1"},{"name":"eth0","sandbox":"/run/netns/x"}],
    "ips":[{"address":"10.0.0.1/24","interface":0},{"address":"fd00::5/64","interface":2},
           {"address":"10.0.0.5/24","interface":2,"gateway":"10.0.0.1"}]})");
  auto ips = cni::podIps(r, "eth0");
  ASSERT_TRUE(ips) << ips.error().message;
  EXPECT_EQ(ips->ip, "10.0.0.5");
  EXPECT_EQ(ips->additional, std::vector<std::string>{"fd00::5"});
  // No interface index: taken.
  ips = cni::podIps(json::parse(R"({"ips":[{"address":"fd00::7/64"},{"address":"192.168.1.2/16"}]})"), "eth0");
  ASSERT_TRUE(ips);
  EXPECT_EQ(ips->ip, "192.168.1.2");
  EXPECT_EQ(ips->additional, std::vector<std::string>{"fd00::7"});
  // Only IPv6.
  ips = cni::podIps(json::parse(R"({"ips":[{"address":"fd00::7/64"}]})"), "eth0");
  ASSERT_TRUE(ips);
  EXPECT_EQ(ips->ip, "fd00::7");
  // 0.2.0.
  ips = cni::podIps(json::parse(R"({"ip4":{"ip":"10.1.2.3/16"},"ip6":{"ip":"fd00::1/64"}})"), "eth0");
  ASSERT_TRUE(ips);
  EXPECT_EQ(ips->ip, "10.1.2.3");
  EXPECT_EQ(ips->additional, std::vector<std::string>{"fd00::1"});
  // Nothing usable.
  for (const char* bad : {R"({})", R"({"ips":[]})", R"({"ips":[{"address":"nonsense/24"}]})",
                          R"({"interfaces":[{"name":"eth0"}],"ips":[{"address":"10.0.0.2/24","interface":0}]})",
                          R"({"interfaces":[],"ips":[{"address":"10.0.0.2/24","interface":4}]})", "[1]"}) {
    auto bad_ = cni::podIps(json::parse(bad), "eth0");
    ASSERT_FALSE(bad_) << bad;
    EXPECT_EQ(bad_.error().code, Code::InvalidArgument);
  }
}

TEST_F(CniFixture, NoConfigIsNotFound) {
  cni::Cni c(conf, {bin});
  auto r = c.config();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::NotFound);
  EXPECT_NE(r.error().message.find(conf), std::string::npos);
  cni::Cni missing(tmp / "nowhere", {bin});
  EXPECT_FALSE(missing.config());
  auto a = c.add(attachment());
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, Code::NotFound);
}

TEST_F(CniFixture, LexicallyFirstValidFileAndReload) {
  writeText(conf + "/20-b.conflist", R"({"cniVersion":"1.0.0","name":"b","plugins":[{"type":"x"}]})");
  writeText(conf + "/10-a.conf", R"({"cniVersion":"0.4.0","name":"a","type":"y"})");
  writeText(conf + "/05-bad.conflist", R"({"name":"broken"})");
  writeText(conf + "/01-ignored.txt", R"({"cniVersion":"1.0.0","name":"txt","type":"z"})");
  cni::Cni c(conf, {bin});
  auto r = c.config();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->name, "a");
  EXPECT_EQ(r->plugins[0]["type"], "y");
  // Changed in place (other size): re-read.
  writeText(conf + "/10-a.conf", R"({"cniVersion":"0.4.0","name":"a2","type":"yy"})");
  r = c.config();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "a2");
  // Removed: the next one.
  ::unlink((conf + "/10-a.conf").c_str());
  r = c.config();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "b");
  // A .json holding a list.
  writeText(conf + "/00-j.json", R"({"cniVersion":"1.0.0","name":"j","plugins":[{"type":"q"}]})");
  r = c.config();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "j");
}

TEST_F(CniFixture, AddChainsResultsAndSetsTheEnvironment) {
  writeText(conf + "/10.conflist", R"({"cniVersion":"1.0.0","name":"podnet","plugins":[
      {"type":"first","x":1},
      {"type":"second","capabilities":{"portMappings":true}},
      {"type":"third","prevResult":{"bogus":true}}]})");
  fakePlugin(bin, rec, "first");
  fakePlugin(bin, rec, "second");
  fakePlugin(bin, rec, "third");
  writeText(rec + "/first.out", result100("10.0.0.9/24"));
  writeText(rec + "/second.out", result100("10.0.0.10/24"));
  // third prints nothing: the result stays second's.
  std::string otherBin = tmp / "bin0";
  ASSERT_TRUE(mkdirAll(otherBin));
  cni::Cni c(conf, {otherBin, bin});
  auto a = attachment();
  auto r = c.add(a);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->ips.ip, "10.0.0.10");
  EXPECT_EQ(readAll(rec + "/calls.log"), "first ADD\nsecond ADD\nthird ADD\n");

  auto env = envOf(rec + "/0.env");
  EXPECT_EQ(env["CNI_COMMAND"], "ADD");
  EXPECT_EQ(env["CNI_CONTAINERID"], a.containerId);
  EXPECT_EQ(env["CNI_NETNS"], "/var/run/netns/x");
  EXPECT_EQ(env["CNI_IFNAME"], "eth0");
  EXPECT_EQ(env["CNI_ARGS"], "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=" +
                                 a.containerId + ";K8S_POD_UID=uid-1");
  EXPECT_EQ(env["CNI_PATH"], otherBin + ":" + bin);
  EXPECT_FALSE(env["PATH"].empty());

  json in0 = json::parse(readAll(rec + "/0.stdin"));
  EXPECT_EQ(in0["name"], "podnet");
  EXPECT_EQ(in0["cniVersion"], "1.0.0");
  EXPECT_EQ(in0["x"], 1);
  EXPECT_FALSE(in0.contains("prevResult"));
  EXPECT_FALSE(in0.contains("runtimeConfig"));  // no capability declared
  json in1 = json::parse(readAll(rec + "/1.stdin"));
  EXPECT_EQ(in1["prevResult"], json::parse(result100("10.0.0.9/24")));
  // Only mappings with a host port; protocol lower case.
  EXPECT_EQ(in1["runtimeConfig"]["portMappings"],
            json::parse(R"([{"hostPort":8080,"containerPort":80,"protocol":"tcp","hostIP":"127.0.0.1"}])"));
  json in2 = json::parse(readAll(rec + "/2.stdin"));
  EXPECT_EQ(in2["prevResult"], json::parse(result100("10.0.0.10/24")));  // the config's own is replaced
}

TEST_F(CniFixture, DelRunsInReverseWithTheAddResultAndCheckInOrder) {
  writeText(conf + "/10.conflist", R"({"cniVersion":"0.4.0","name":"n","plugins":[{"type":"first"},{"type":"second"}]})");
  fakePlugin(bin, rec, "first");
  fakePlugin(bin, rec, "second");
  cni::Cni c(conf, {bin});
  json prev = json::parse(result100("10.0.0.3/24"));
  ASSERT_TRUE(c.del(attachment(), prev));
  ASSERT_TRUE(c.check(attachment(), prev));
  EXPECT_EQ(readAll(rec + "/calls.log"), "second DEL\nfirst DEL\nfirst CHECK\nsecond CHECK\n");
  for (int i = 0; i < 4; i++) EXPECT_EQ(json::parse(readAll(rec + "/" + std::to_string(i) + ".stdin"))["prevResult"], prev);
  EXPECT_EQ(envOf(rec + "/0.env")["CNI_COMMAND"], "DEL");
  EXPECT_EQ(envOf(rec + "/3.env")["CNI_COMMAND"], "CHECK");
}

TEST_F(CniFixture, CheckSkippedBefore040AndWhenDisabled) {
  fakePlugin(bin, rec, "p");
  cni::Cni c(conf, {bin});
  writeText(conf + "/10.conflist", R"({"cniVersion":"0.3.1","name":"n","plugins":[{"type":"p"}]})");
  ASSERT_TRUE(c.check(attachment(), json::object()));
  writeText(conf + "/10.conflist", R"({"cniVersion":"1.0.0","name":"n","disableCheck":true,"plugins":[{"type":"p"}]})");
  ASSERT_TRUE(c.check(attachment(), json::object()));
  EXPECT_EQ(readAll(rec + "/calls.log"), "");
  // 0.3.1 DEL: no prevResult (introduced for DEL in 0.4.0).
  writeText(conf + "/10.conflist", R"({"cniVersion":"0.3.1","name":"n","plugins":[{"type":"p"}]})");
  ASSERT_TRUE(c.del(attachment(), json::parse(result100("10.0.0.3/24"))));
  EXPECT_FALSE(json::parse(readAll(rec + "/0.stdin")).contains("prevResult"));
}

TEST_F(CniFixture, PluginErrorStopsTheChain) {
  writeText(conf + "/10.conflist", R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"bad"},{"type":"after"}]})");
  fakePlugin(bin, rec, "bad");
  fakePlugin(bin, rec, "after");
  writeText(rec + "/bad.out", R"({"cniVersion":"1.0.0","code":11,"msg":"no addresses left","details":"range full"})");
  writeText(rec + "/bad.rc", "1");
  cni::Cni c(conf, {bin});
  auto r = c.add(attachment());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no addresses left; range full"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("plugin type=\"bad\""), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("(add)"), std::string::npos) << r.error().message;
  EXPECT_EQ(readAll(rec + "/calls.log"), "bad ADD\n");
  // DEL fails the same way.
  auto d = c.del(attachment(), json());
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("(del)"), std::string::npos);
  // An error without a JSON document: its stderr / exit status.
  ::unlink((rec + "/bad.out").c_str());
  r = c.add(attachment());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("exit status 1"), std::string::npos) << r.error().message;
}

TEST_F(CniFixture, MissingPluginBadTypeAndBadOutput) {
  cni::Cni c(conf, {bin});
  writeText(conf + "/10.conflist", R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"absent"}]})");
  auto r = c.add(attachment());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::NotFound);
  EXPECT_NE(r.error().message.find("failed to find plugin \"absent\""), std::string::npos) << r.error().message;
  writeText(conf + "/10.conflist", R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../../bin/sh"}]})");
  r = c.add(attachment());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::InvalidArgument);
  fakePlugin(bin, rec, "garbage");
  writeText(rec + "/garbage.out", "not json");
  writeText(conf + "/10.conflist", R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"garbage"}]})");
  r = c.add(attachment());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not JSON"), std::string::npos);
  // A result without an address for eth0.
  writeText(rec + "/garbage.out", R"({"cniVersion":"1.0.0","ips":[]})");
  r = c.add(attachment());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::InvalidArgument);
}

TEST_F(CniFixture, HungPluginIsKilledAtTheTimeout) {
  writeText(conf + "/10.conflist", R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"slow"}]})");
  fakePlugin(bin, rec, "slow");
  writeText(rec + "/slow.sleep", "30");
  cni::Cni c(conf, {bin}, 1);
  auto r = c.add(attachment());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::Unavailable);
  EXPECT_NE(r.error().message.find("timed out"), std::string::npos);
}

// Debian's bridge + host-local (containernetworking-plugins) for real: the
// "host" side is a private network namespace of a thread (the bridge dies
// with it), the pod a second one pinned to a file; host-local's dataDir in
// the test's temp dir. Subnet 10.222.250.0/24 (this area's octet).
TEST_F(CniFixture, RealBridgeAndHostLocal) {
  if (::geteuid() != 0 || ::access("/usr/lib/cni/bridge", X_OK) != 0 || ::access("/usr/lib/cni/host-local", X_OK) != 0)
    GTEST_SKIP() << "needs root and /usr/lib/cni/{bridge,host-local}";
  writeText(conf + "/10-pods.conflist",
            fmt::format(R"({{"cniVersion":"1.0.0","name":"pods222","plugins":[{{"type":"bridge","bridge":"cni-b222u",
      "isGateway":false,"ipMasq":false,"ipam":{{"type":"host-local","dataDir":"{}",
      "ranges":[[{{"subnet":"10.222.250.0/24"}}]]}}}}]}})",
                        tmp / "ipam"));
  auto podNs = testutil::newNetns();
  ASSERT_TRUE(podNs) << podNs.error().message;
  std::string pinned = tmp / "netns/pod";
  ASSERT_TRUE(pinNetns("/proc/self/fd/" + std::to_string(podNs->get()), pinned));
  podNs->reset();
  EXPECT_TRUE(isPinnedNetns(pinned));
  EXPECT_FALSE(pinNetns("/proc/self/ns/net", pinned));  // already pinned

  cni::Cni c(conf, {"/usr/lib/cni"});
  cni::Attachment a = attachment();
  a.netns = pinned;
  a.portMappings.clear();
  Result<cni::AddResult> added = makeError(Code::Internal, "not run");
  Result<> checked = makeError(Code::Internal, "not run"), deleted = makeError(Code::Internal, "not run");
  std::vector<std::string> podAddrs, podAddrsAfter;
  auto addrsIn = [&](const std::string& path) {
    std::vector<std::string> out;
    std::thread t([&] {
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) return;
      ::close(fd);
      ifaddrs* ifa = nullptr;
      if (::getifaddrs(&ifa) != 0) return;
      for (auto* p = ifa; p; p = p->ifa_next)
        if (p->ifa_addr && p->ifa_addr->sa_family == AF_INET) {
          char buf[64];
          ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(p->ifa_addr)->sin_addr, buf, sizeof buf);
          out.push_back(std::string(p->ifa_name) + " " + buf);
        }
      ::freeifaddrs(ifa);
    });
    t.join();
    return out;
  };
  std::thread host([&] {
    if (::unshare(CLONE_NEWNET) != 0) return;
    added = c.add(a);
    if (!added) return;
    podAddrs = addrsIn(pinned);
    checked = c.check(a, added->result);
    deleted = c.del(a, added->result);
    podAddrsAfter = addrsIn(pinned);
  });
  host.join();
  ASSERT_TRUE(added) << added.error().message;
  EXPECT_EQ(added->ips.ip.rfind("10.222.250.", 0), 0u) << added->ips.ip;
  EXPECT_TRUE(added->ips.additional.empty());
  EXPECT_NE(std::find(podAddrs.begin(), podAddrs.end(), "eth0 " + added->ips.ip), podAddrs.end());
  EXPECT_TRUE(checked) << checked.error().message;
  EXPECT_TRUE(deleted) << deleted.error().message;
  for (auto& s : podAddrsAfter) EXPECT_EQ(s.rfind("eth0", 0), std::string::npos) << s;
  // host-local released the lease.
  EXPECT_NE(::access((tmp / ("ipam/pods222/" + added->ips.ip)).c_str(), F_OK), 0);
  ASSERT_TRUE(unpinNetns(pinned));
  EXPECT_FALSE(isPinnedNetns(pinned));
  EXPECT_NE(::access(pinned.c_str(), F_OK), 0);
  EXPECT_TRUE(unpinNetns(pinned));  // missing is fine
}
