// hosts.toml parsing and lookup (registry/hosts.h).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "fake_http.h"
#include "registry/hosts.h"

using namespace berth;
using registry::HostsConfig;
using registry::loadHostsConfig;
using registry::parseHostsToml;

namespace {

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

std::vector<std::string> bases(const HostsConfig& c) {
  std::vector<std::string> out;
  for (auto& h : c.hosts) out.push_back(h.base + h.apiPath);
  return out;
}

}  // namespace

TEST(RegistryHosts, MirrorsInFileOrderThenServer) {
  // Keys deliberately not in alphabetical order: the file's order counts.
  auto c = parseHostsToml(R"(
server = "https://registry.k8s.io"

[host."http://127.0.0.1:5002"]
  capabilities = ["pull", "resolve"]

[host."https://mirror.example:443/prefix/"]
  capabilities = ["pull"]
  skip_verify = true
  ca = ["ca.pem", "/abs/other.pem"]

[host."http://127.0.0.1:5001"]
)",
                          "registry.k8s.io", "/etc/berth/certs.d/registry.k8s.io");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(bases(*c), (std::vector<std::string>{"http://127.0.0.1:5002/v2", "https://mirror.example:443/prefix/v2",
                                                 "http://127.0.0.1:5001/v2", "https://registry.k8s.io/v2"}));
  auto& h = c->hosts;
  EXPECT_TRUE(h[0].pull && h[0].resolve && !h[0].push);
  EXPECT_TRUE(h[0].plainHttp());
  EXPECT_EQ(h[0].hostPort(), "127.0.0.1:5002");
  EXPECT_FALSE(h[0].server);
  EXPECT_TRUE(h[1].pull && !h[1].resolve && !h[1].push);
  EXPECT_TRUE(h[1].skipVerify);
  EXPECT_EQ(h[1].caFiles,
            (std::vector<std::string>{"/etc/berth/certs.d/registry.k8s.io/ca.pem", "/abs/other.pem"}));
  // No capabilities key: all of them, as containerd.
  EXPECT_TRUE(h[2].pull && h[2].resolve && h[2].push);
  EXPECT_TRUE(h[3].server);
  EXPECT_TRUE(h[3].pull && h[3].resolve && h[3].push);
  EXPECT_FALSE(h[3].skipVerify);
}

TEST(RegistryHosts, ServerDefaultsAndOverridePath) {
  auto c = parseHostsToml("", "docker.io", "/d");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(bases(*c), std::vector<std::string>{"https://registry-1.docker.io/v2"});
  c = parseHostsToml("", "127.0.0.1:5000", "/d");
  ASSERT_TRUE(c);
  EXPECT_EQ(bases(*c), std::vector<std::string>{"https://127.0.0.1:5000/v2"});

  c = parseHostsToml(R"(
server = "http://127.0.0.1:9"
skip_verify = true
ca = "s.pem"
[host."http://127.0.0.1:5000/v2/mirror/ns"]
  override_path = true
[host."127.0.0.1:6000"]
)",
                     "gcr.io", "/d");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(bases(*c), (std::vector<std::string>{"http://127.0.0.1:5000/v2/mirror/ns", "https://127.0.0.1:6000/v2",
                                                 "http://127.0.0.1:9/v2"}));
  EXPECT_TRUE(c->hosts[2].skipVerify);
  EXPECT_EQ(c->hosts[2].caFiles, std::vector<std::string>{"/d/s.pem"});
}

TEST(RegistryHosts, BadFilesAreRefusedWithTheReason) {
  struct Case {
    const char* text;
    const char* message;  // a part of the error
  };
  for (auto& [text, message] : std::vector<Case>{
           {"server = ", "line 1"},
           {"server = 5", "server must be a string"},
           {"server = \"ftp://x\"", "unsupported scheme"},
           {"[host.\"http://a\"]\ncapabilities = [\"pull\", \"fly\"]", "unknown capability \"fly\""},
           {"[host.\"http://a\"]\ncapabilities = \"pull\"", "capabilities must be a list"},
           {"[host.\"http://a\"]\nskip_verify = \"yes\"", "skip_verify must be a boolean"},
           {"[host.\"http://a\"]\nca = 3", "ca must be a string or a list"},
           {"[host.\"http://a\"]\nmirror = true", "unsupported key \"mirror\""},
           {"colour = \"blue\"", "unsupported key \"colour\""},
           {"host = 3", "host must be a table"},
           {"[host.\"http://a?x=1\"]", "invalid host URL"},
       }) {
    auto c = parseHostsToml(text, "r.example", "/d");
    ASSERT_FALSE(c) << text;
    EXPECT_EQ(c.error().code, Code::InvalidArgument) << text;
    EXPECT_NE(c.error().message.find(message), std::string::npos) << text << " -> " << c.error().message;
  }
}

TEST(RegistryHosts, DirectoryLookupOrder) {
  EXPECT_EQ(registry::hostsDirCandidates("/h", "127.0.0.1:5000"),
            (std::vector<std::string>{"/h/127.0.0.1_5000_", "/h/127.0.0.1:5000", "/h/_default"}));
  EXPECT_EQ(registry::hostsDirCandidates("/h", "registry.k8s.io"),
            (std::vector<std::string>{"/h/registry.k8s.io", "/h/_default"}));

  fakehttp::TempDir dir;
  const std::string root = dir.path();
  // Nothing there: the caller's defaults.
  auto none = loadHostsConfig(root, "registry.k8s.io");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  auto off = loadHostsConfig("", "registry.k8s.io");
  ASSERT_TRUE(off);
  EXPECT_FALSE(*off);

  ASSERT_EQ(::mkdir((root + "/_default").c_str(), 0755), 0);
  writeFile(root + "/_default/hosts.toml", "[host.\"http://127.0.0.1:7000\"]\n");
  ASSERT_EQ(::mkdir((root + "/registry.k8s.io").c_str(), 0755), 0);
  writeFile(root + "/registry.k8s.io/hosts.toml", "server = \"http://127.0.0.1:9\"\n[host.\"http://127.0.0.1:5000\"]\n");
  auto k8s = loadHostsConfig(root, "registry.k8s.io");
  ASSERT_TRUE(k8s && *k8s);
  EXPECT_EQ((*k8s)->file, root + "/registry.k8s.io/hosts.toml");
  EXPECT_EQ(bases(**k8s), (std::vector<std::string>{"http://127.0.0.1:5000/v2", "http://127.0.0.1:9/v2"}));
  // Any other registry falls back to _default, its server being itself.
  auto gcr = loadHostsConfig(root, "gcr.io");
  ASSERT_TRUE(gcr && *gcr);
  EXPECT_EQ(bases(**gcr), (std::vector<std::string>{"http://127.0.0.1:7000/v2", "https://gcr.io/v2"}));
  // host_port_ wins over host:port.
  ASSERT_EQ(::mkdir((root + "/127.0.0.1_5000_").c_str(), 0755), 0);
  writeFile(root + "/127.0.0.1_5000_/hosts.toml", "server = \"http://127.0.0.1:5000\"\n");
  auto local = loadHostsConfig(root, "127.0.0.1:5000");
  ASSERT_TRUE(local && *local);
  EXPECT_EQ(bases(**local), std::vector<std::string>{"http://127.0.0.1:5000/v2"});
  // A broken file is an error naming it, not a silent fallback.
  writeFile(root + "/registry.k8s.io/hosts.toml", "server = [");
  auto broken = loadHostsConfig(root, "registry.k8s.io");
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find(root + "/registry.k8s.io/hosts.toml"), std::string::npos)
      << broken.error().message;
  // A name with a slash never reads outside the directory.
  auto sneaky = loadHostsConfig(root, "../etc");
  ASSERT_TRUE(sneaky);
  EXPECT_FALSE(*sneaky);
}
