// The CLI's contexts (cli/context_store.h), the endpoint choice
// (cli/endpoint.h) and the ssh:// transport's pieces (cli/client.h).
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/client.h"
#include "cli/context_store.h"
#include "cli/endpoint.h"
#include "common/sha256.h"
#include "common/util.h"

namespace berth::cli {
namespace {

class ContextStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-ctx-test.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { (void)removeAll(dir_); }
  std::string dir_;
};

TEST_F(ContextStoreTest, CreateWritesDockersLayout) {
  ContextStore store(dir_);
  ContextInfo c;
  c.name = "remote1";
  c.description = "a box";
  c.host = "tcp://10.0.0.1:2376";
  ContextTls tls{"CA", "CERT", "KEY"};
  ASSERT_TRUE(store.create(c, tls));
  std::string hex = sha256Hex("remote1");
  auto meta = readFile(dir_ + "/contexts/meta/" + hex + "/meta.json");
  ASSERT_TRUE(meta);
  EXPECT_EQ(*meta,
            R"({"Name":"remote1","Metadata":{"Description":"a box"},"Endpoints":{"docker":{"Host":"tcp://10.0.0.1:2376","SkipTLSVerify":false}}})");
  EXPECT_EQ(*readFile(dir_ + "/contexts/tls/" + hex + "/docker/key.pem"), "KEY");
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/contexts/tls/" + hex + "/docker/key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto got = store.get("remote1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->host, "tcp://10.0.0.1:2376");
  EXPECT_EQ(got->description, "a box");
  EXPECT_TRUE(got->hasCa && got->hasCert && got->hasKey);
  TlsClientOptions t = contextTls(*got, store);
  EXPECT_TRUE(t.tls && t.verify);
  EXPECT_EQ(t.caFile, dir_ + "/contexts/tls/" + hex + "/docker/ca.pem");

  ASSERT_TRUE(store.remove("remote1"));
  EXPECT_FALSE(store.exists("remote1"));
  auto gone = store.remove("remote1");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().message, "context \"remote1\" does not exist");
}

TEST_F(ContextStoreTest, MissingContextHasDockersMessage) {
  ContextStore store(dir_);
  auto r = store.get("nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::NotFound);
  EXPECT_EQ(r.error().message, "context \"nope\": context not found: open " + dir_ + "/contexts/meta/" +
                                   sha256Hex("nope") + "/meta.json: no such file or directory");
}

TEST_F(ContextStoreTest, ListSortsAndSkipsBrokenMetadata) {
  ContextStore store(dir_);
  for (const char* n : {"zeta", "alpha"}) {
    ContextInfo c;
    c.name = n;
    c.host = "unix:///x.sock";
    ASSERT_TRUE(store.create(c, {}));
  }
  ASSERT_TRUE(mkdirAll(dir_ + "/contexts/meta/junk", 0755));
  ASSERT_TRUE(writeFileAtomic(dir_ + "/contexts/meta/junk/meta.json", "{not json"));
  auto all = store.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "alpha");
  EXPECT_EQ(all[1].name, "zeta");
  EXPECT_FALSE(all[0].hasCa);
  EXPECT_FALSE(contextTls(all[0], store).tls);  // no TLS files, no skip: plain
}

TEST_F(ContextStoreTest, CurrentContextKeepsOtherConfigKeys) {
  ASSERT_TRUE(writeFileAtomic(dir_ + "/config.json", R"({"auths":{"r.example":{"auth":"eDp5"}},"psFormat":"x"})"));
  ContextStore store(dir_);
  EXPECT_EQ(store.currentContext(), "");
  ASSERT_TRUE(store.setCurrentContext("prod"));
  EXPECT_EQ(store.currentContext(), "prod");
  auto j = nlohmann::json::parse(*readFile(dir_ + "/config.json"));
  EXPECT_EQ(j["auths"]["r.example"]["auth"], "eDp5");
  EXPECT_EQ(j["psFormat"], "x");
  ASSERT_TRUE(store.setCurrentContext("default"));
  j = nlohmann::json::parse(*readFile(dir_ + "/config.json"));
  EXPECT_FALSE(j.contains("currentContext"));
  EXPECT_EQ(j["psFormat"], "x");
}

TEST(ContextName, DockersRule) {
  EXPECT_TRUE(validContextName("ab"));
  EXPECT_TRUE(validContextName("my-ctx_1.2+x"));
  EXPECT_FALSE(validContextName("a"));
  EXPECT_FALSE(validContextName("bad name"));
  EXPECT_FALSE(validContextName("-lead"));
  EXPECT_FALSE(validContextName("a/b"));
  EXPECT_FALSE(validContextName(""));
}

TEST_F(ContextStoreTest, PrecedenceAsDockers) {
  ContextStore store(dir_);
  ContextInfo c;
  c.name = "ctx";
  c.host = "tcp://ctx:1";
  ASSERT_TRUE(store.create(c, {}));
  c.name = "cur";
  c.host = "tcp://cur:1";
  ASSERT_TRUE(store.create(c, {}));
  ASSERT_TRUE(store.setCurrentContext("cur"));

  EndpointInputs in;
  auto host = [&] {
    auto e = resolveEndpoint(in, store);
    return e ? e->contextName + " " + e->host : "error: " + e.error().message;
  };
  EXPECT_EQ(host(), "cur tcp://cur:1");  // currentContext
  in.envContext = "ctx";
  EXPECT_EQ(host(), "ctx tcp://ctx:1");  // DOCKER_CONTEXT > currentContext
  in.envHost = "unix:///env.sock";
  EXPECT_EQ(host(), "default unix:///env.sock");  // DOCKER_HOST > DOCKER_CONTEXT
  in.contextFlag = "cur";
  EXPECT_EQ(host(), "cur tcp://cur:1");  // --context > DOCKER_HOST
  in.hosts = {"unix:///a.sock", "unix:///b.sock"};
  EXPECT_EQ(host(), "error: conflicting options: cannot specify both --host and --context");
  in.contextFlag.clear();
  EXPECT_EQ(host(), "default unix:///b.sock");  // -H, the last one
  in = {};
  ASSERT_TRUE(store.setCurrentContext(""));
  EXPECT_EQ(host(), std::string("default ") + kDefaultHost);
  in.envContext = "gone";
  EXPECT_EQ(host().rfind("error: context \"gone\": context not found: open ", 0), 0u) << host();
}

TEST(SshCommand, DockersArgumentsWithBerthRemote) {
  auto a = sshCommandFor("ssh://me@host.example:2222");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, (std::vector<std::string>{"ssh", "-o", "ConnectTimeout=30", "-T", "-l", "me", "-p", "2222", "--",
                                          "host.example", "berth", "system", "dial-stdio"}));
  a = sshCommandFor("ssh://host/run/x.sock");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, (std::vector<std::string>{"ssh", "-o", "ConnectTimeout=30", "-T", "--", "host", "berth",
                                          "--host=unix:///run/x.sock", "system", "dial-stdio"}));
  a = sshCommandFor("ssh://[::1]:22/");
  ASSERT_TRUE(a);
  EXPECT_EQ((*a)[5], "22");
  EXPECT_EQ((*a)[7], "::1");
  EXPECT_EQ((*a)[8], "berth");
  EXPECT_EQ((*a)[9], "system");

  EXPECT_EQ(sshCommandFor("ssh://u:pw@h").error().message, "plain-text password is not supported");
  EXPECT_EQ(sshCommandFor("ssh://h?x=1").error().message, "query parameters are not allowed: \"x=1\"");
  EXPECT_EQ(sshCommandFor("ssh://h#f").error().message, "fragments are not allowed: \"f\"");
  EXPECT_EQ(sshCommandFor("ssh://me@").error().message, "hostname is empty");
  EXPECT_FALSE(sshCommandFor("ssh://h:notaport"));
  auto bad = Client::create("ssh://u:pw@h");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "ssh host connection is not valid: plain-text password is not supported");
}

TEST(CommandConnection, SpeaksHttpOverAChildsStdio) {
  // A "remote" that reads the request head and answers it.
  auto c = Connection::dialCommand(
      {"sh", "-c", "while read -r l && [ \"$l\" != \"$(printf '\\r')\" ]; do :; done; "
                   "printf 'HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok'"});
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE((*c)->send("GET", "/_ping", {{"Content-Length", "0"}}, ""));
  auto head = (*c)->readHead();
  ASSERT_TRUE(head) << head.error().message;
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(*(*c)->readAllBody(), "ok");
}

TEST(CommandConnection, AFailedCommandExplainsItself) {
  auto c = Connection::dialCommand({"sh", "-c", "echo 'ssh: connect to host h port 1: Connection refused' >&2; exit 255"});
  ASSERT_TRUE(c);
  auto sent = (*c)->send("GET", "/_ping", {{"Content-Length", "0"}}, "");
  auto head = sent ? (*c)->readHead() : Result<HttpResponse>(std::unexpected(sent.error()));
  ASSERT_FALSE(head);
  EXPECT_EQ(head.error().code, Code::Unavailable);
  EXPECT_NE(head.error().message.find("error during connect: command [sh -c"), std::string::npos) << head.error().message;
  EXPECT_NE(head.error().message.find("has exited with exit status 255"), std::string::npos) << head.error().message;
  EXPECT_NE(head.error().message.find("stderr=ssh: connect to host h port 1: Connection refused"), std::string::npos)
      << head.error().message;
}

}  // namespace
}  // namespace berth::cli
