// berthd's listener settings: -H/TLS/limit flags and daemon.json keys, the
// socket group lookup, and the one-daemon-per-root lock.

#include <gtest/gtest.h>
#include <unistd.h>

#include "common/util.h"
#include "daemon/config.h"
#include "daemon/root_lock.h"

using namespace berth;
using namespace berth::daemon;

namespace {

// Flags over an empty daemon.json (never the host's /etc/berth/daemon.json).
Result<Config> parse(std::vector<std::string> args) {
  struct EmptyFile {
    std::string path;
    EmptyFile() {
      char tmpl[] = "/tmp/bcfg-empty-XXXXXX";
      int fd = mkstemp(tmpl);
      (void)!write(fd, "{}", 2);
      close(fd);
      path = tmpl;
    }
    ~EmptyFile() { ::unlink(path.c_str()); }
  };
  static const EmptyFile empty;
  args.insert(args.begin(), "berthd");
  args.push_back("--config-file=" + empty.path);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parseArgs(int(argv.size()), argv.data());
}

}  // namespace

TEST(ServeConfig, HostsTlsAndLimitFlags) {
  auto c = parse({"-H", "unix:///tmp/x.sock", "--host=tcp://127.0.0.1:2376", "--tlsverify", "--tlscacert", "/c/ca.pem",
                  "--tlscert=/c/cert.pem", "--tlskey", "/c/key.pem", "--api-max-header-bytes", "8192",
                  "--api-header-timeout", "5s", "--api-idle-timeout=1m", "--api-max-connections", "7", "-G", "wheel"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->serve.hosts, (std::vector<std::string>{"unix:///tmp/x.sock", "tcp://127.0.0.1:2376"}));
  EXPECT_TRUE(c->serve.tlsOn());
  EXPECT_TRUE(c->serve.verifyClients());
  EXPECT_EQ(c->serve.tlsCaCert, "/c/ca.pem");
  EXPECT_EQ(c->serve.limits.maxHeaderBytes, 8192u);
  EXPECT_EQ(c->serve.limits.headerTimeoutMs, 5000);
  EXPECT_EQ(c->serve.limits.idleTimeoutMs, 60000);
  EXPECT_EQ(c->serve.limits.maxConnections, 7);
  EXPECT_EQ(c->serve.group, "wheel");
}

TEST(ServeConfig, TlsReadingAsDockerd) {
  auto plain = parse({"-H", "tcp://127.0.0.1"});
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->serve.tlsOn());
  EXPECT_FALSE(plain->serve.authChoiceExplicit());  // refused by main()
  EXPECT_EQ(plain->serve.hosts[0], "tcp://127.0.0.1:2375");
  auto off = parse({"-H", "tcp://127.0.0.1:1", "--tls=false"});
  ASSERT_TRUE(off);
  EXPECT_TRUE(off->serve.authChoiceExplicit());
  EXPECT_FALSE(off->serve.tlsOn());
  auto tlsOnly = parse({"--tls", "-H", "tcp://127.0.0.1"});
  ASSERT_TRUE(tlsOnly);
  EXPECT_TRUE(tlsOnly->serve.verifyClients());  // --tls implies verification unless --tlsverify=false
  EXPECT_EQ(tlsOnly->serve.hosts[0], "tcp://127.0.0.1:2376");
  auto noVerify = parse({"--tls", "--tlsverify=false"});
  ASSERT_TRUE(noVerify);
  EXPECT_TRUE(noVerify->serve.tlsOn());
  EXPECT_FALSE(noVerify->serve.verifyClients());
  EXPECT_FALSE(parse({"-H", "fd://"}));
  EXPECT_FALSE(parse({"--tls=maybe"}));
  EXPECT_FALSE(parse({"--api-max-connections", "0"}));
  EXPECT_FALSE(parse({"--api-header-timeout", "5"}));
}

TEST(ServeConfig, DaemonJsonKeys) {
  char tmpl[] = "/tmp/bcfg-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string file = dir + "/daemon.json";
  ASSERT_TRUE(writeFileAtomic(file, R"({"hosts":["unix:///tmp/a.sock","tcp://127.0.0.1:9"],"tls":false,
    "api-max-json-body-bytes":1000,"api-idle-timeout":"3s","group":""})"));
  std::vector<std::string> args{"berthd", "--config-file", file, "--api-idle-timeout", "4s"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  auto c = parseArgs(int(argv.size()), argv.data());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->serve.hosts.size(), 2u);
  EXPECT_TRUE(c->serve.authChoiceExplicit());
  EXPECT_EQ(c->serve.limits.maxJsonBodyBytes, 1000u);
  EXPECT_EQ(c->serve.limits.idleTimeoutMs, 4000);  // the flag wins
  EXPECT_EQ(c->serve.group, "");
  ASSERT_TRUE(writeFileAtomic(file, R"({"api-max-connections":"many"})"));
  EXPECT_FALSE(parseArgs(int(argv.size()), argv.data()));
  (void)removeAll(dir);
}

TEST(ServeConfig, SocketGroupAsDockerd) {
  char tmpl[] = "/tmp/bgrp-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string file = dir + "/group";
  ASSERT_TRUE(writeFileAtomic(file, "root:x:0:\nberth:x:977:alice\nstaff:x:50:\n"));
  EXPECT_EQ(**socketGroup("berth", file), 977u);
  EXPECT_EQ(**socketGroup("50", file), 50u);
  EXPECT_EQ(**socketGroup("4242", file), 4242u);  // a number not in the file is used as is
  EXPECT_FALSE(*socketGroup("", file));
  ASSERT_TRUE(writeFileAtomic(file, "root:x:0:\n"));
  EXPECT_FALSE(*socketGroup("berth", file));  // the default group missing: a warning only
  auto missing = socketGroup("nosuchgroup", file);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "group nosuchgroup not found");
  (void)removeAll(dir);
}

TEST(RootLock, SecondHolderIsRefused) {
  char tmpl[] = "/tmp/block-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  auto first = lockRoot(dir, "data-root");
  ASSERT_TRUE(first) << first.error().message;
  auto second = lockRoot(dir, "data-root");  // a new open file description: flock conflicts
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Code::FailedPrecondition);
  EXPECT_NE(second.error().message.find("in use by another berthd (pid " + std::to_string(getpid()) + ")"),
            std::string::npos)
      << second.error().message;
  first->reset();
  EXPECT_TRUE(lockRoot(dir, "data-root"));
  (void)removeAll(dir);
}
