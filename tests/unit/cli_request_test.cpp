#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/flags.h"
#include "cli/run_config.h"

namespace berth::cli {
namespace {

Result<CreateRequest> build(std::vector<std::string> argv, CreateOptions o = {}) {
  FlagSet f;
  addContainerCreateFlags(f, true);
  auto pos = f.parse(argv);
  if (!pos) return std::unexpected(pos.error());
  return buildCreateRequest(f, *pos, o);
}

TEST(CliRequest, RunDefaultsLikeDockerCli) {
  auto r = build({"busybox"});
  ASSERT_TRUE(r);
  const auto& b = r->body;
  EXPECT_EQ(b["Image"], "busybox");
  EXPECT_TRUE(b["Cmd"].is_null());
  EXPECT_TRUE(b["Entrypoint"].is_null());
  EXPECT_EQ(b["AttachStdout"], true);
  EXPECT_EQ(b["HostConfig"]["NetworkMode"], "default");
  EXPECT_EQ(b["HostConfig"]["MemorySwappiness"], -1);
  EXPECT_TRUE(b["NetworkingConfig"]["EndpointsConfig"].contains("default"));
  EXPECT_EQ(r->query(), "");
  // Field order follows the docker CLI's body.
  EXPECT_EQ(b.begin().key(), "Hostname");
}

TEST(CliRequest, RunFlagsEncoding) {
  auto r = build({"-it", "--rm", "--name", "web", "-e", "A=1", "-l", "k=v", "-w", "/w", "-u", "1:2",
                  "--entrypoint", "/bin/sh", "-h", "hh", "--network", "none", "--restart", "on-failure:3",
                  "-m", "64m", "--init", "-p", "127.0.0.1:8080:80", "busybox", "echo", "hi"},
                 CreateOptions{true, {30, 100}, {}});
  ASSERT_TRUE(r) << r.error().message;
  const auto& b = r->body;
  EXPECT_EQ(r->query(), "?name=web");
  EXPECT_EQ(b["Tty"], true);
  EXPECT_EQ(b["OpenStdin"], true);
  EXPECT_EQ(b["StdinOnce"], true);
  EXPECT_EQ(b["AttachStdin"], true);
  EXPECT_EQ(b["Env"], nlohmann::ordered_json({"A=1"}));
  EXPECT_EQ(b["Labels"]["k"], "v");
  EXPECT_EQ(b["WorkingDir"], "/w");
  EXPECT_EQ(b["User"], "1:2");
  EXPECT_EQ(b["Hostname"], "hh");
  EXPECT_EQ(b["Entrypoint"], nlohmann::ordered_json({"/bin/sh"}));
  EXPECT_EQ(b["Cmd"], nlohmann::ordered_json({"echo", "hi"}));
  const auto& h = b["HostConfig"];
  EXPECT_EQ(h["AutoRemove"], true);
  EXPECT_EQ(h["NetworkMode"], "none");
  EXPECT_EQ(h["RestartPolicy"]["Name"], "on-failure");
  EXPECT_EQ(h["RestartPolicy"]["MaximumRetryCount"], 3);
  EXPECT_EQ(h["Memory"], 64 * 1024 * 1024);
  EXPECT_EQ(h["Init"], true);
  EXPECT_EQ(h["ConsoleSize"], nlohmann::ordered_json({30, 100}));
  EXPECT_EQ(h["PortBindings"]["80/tcp"][0]["HostIp"], "127.0.0.1");
  EXPECT_EQ(h["PortBindings"]["80/tcp"][0]["HostPort"], "8080");
  EXPECT_TRUE(b["ExposedPorts"].contains("80/tcp"));
  // docker sends no endpoint for a single network without endpoint options
  EXPECT_TRUE(b["NetworkingConfig"]["EndpointsConfig"].empty());
}

TEST(CliRequest, DetachedAndEmptyEntrypoint) {
  auto r = build({"-d", "--entrypoint", "", "busybox"}, CreateOptions{false, {0, 0}, {}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body["AttachStdout"], false);
  EXPECT_EQ(r->body["AttachStderr"], false);
  EXPECT_EQ(r->body["Entrypoint"], nlohmann::ordered_json({""}));
}

TEST(CliRequest, EnvLookupFromCliEnvironment) {
  auto r = build({"-e", "HOME", "-e", "UNSET_X", "busybox"}, CreateOptions{true, {0, 0}, {"HOME=/root"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body["Env"], nlohmann::ordered_json({"HOME=/root", "UNSET_X"}));
}

TEST(CliRequest, BadRestartPolicy) {
  auto r = build({"--restart", "always:3", "busybox"});
  ASSERT_FALSE(r);
}

TEST(CliRequest, CreateTakesAFullImageIdButNotABadName) {
  std::string id(64, 'e');
  auto r = build({id});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body["Image"], id);
  auto bad = build({"Busybox"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "invalid reference format: repository name (library/Busybox) must be lowercase");
}

TEST(CliRequest, NormalizeRef) {
  auto r = normalizeRef("busybox");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->repo, "docker.io/library/busybox");
  EXPECT_EQ(r->tag, "latest");
  r = normalizeRef("127.0.0.1:5000/apiprobe/uniq:v1");
  EXPECT_EQ(r->repo, "127.0.0.1:5000/apiprobe/uniq");
  EXPECT_EQ(r->tag, "v1");
  r = normalizeRef("myuser/img");
  EXPECT_EQ(r->repo, "docker.io/myuser/img");
  std::string dg = "sha256:" + std::string(64, 'c');
  r = normalizeRef("alpine@" + dg);
  EXPECT_EQ(r->repo, "docker.io/library/alpine");
  EXPECT_EQ(r->tag, dg);
  r = normalizeRef("alpine:3@" + dg);  // the digest wins, as docker pulls it
  EXPECT_EQ(r->tag, dg);
  EXPECT_FALSE(normalizeRef("alpine@sha256:abc"));
  r = normalizeRef("localhost:5000/x");
  EXPECT_EQ(r->repo, "localhost:5000/x");
  EXPECT_EQ(familiarName("docker.io/library/busybox"), "busybox");
  EXPECT_EQ(normalizeRef("Busybox").error().message,
            "invalid reference format: repository name (library/Busybox) must be lowercase");
  EXPECT_EQ(normalizeRef("").error().message, "invalid reference format");
  EXPECT_EQ(normalizeRef("a b").error().message, "invalid reference format");
  r = normalizeRef("User/img");  // an upper-case first component is a registry
  ASSERT_TRUE(r);
  EXPECT_EQ(r->repo, "User/img");
  r = normalizeRef("docker.io/busybox:1.36");
  EXPECT_EQ(r->repo, "docker.io/library/busybox");
  EXPECT_EQ(r->tag, "1.36");
}

TEST(CliRequest, QueryEncoding) {
  Query q;
  q.add("changes", "CMD [\"sh\"]").add("fromSrc", "-").add("message", "imported msg").add("repo", "a:v1");
  EXPECT_EQ(q.str(), "?changes=CMD+%5B%22sh%22%5D&fromSrc=-&message=imported+msg&repo=a%3Av1");
  EXPECT_EQ(Query().str(), "");
}

TEST(CliRequest, DaemonMessage) {
  HttpResponse r;
  r.status = 404;
  r.reason = "Not Found";
  r.headers["content-type"] = "application/json";
  r.body = "{\"message\":\"No such container: x\"}\n";
  EXPECT_EQ(daemonMessage(r, "GET", "/v1.41/containers/x/json"), "No such container: x");
  r.body = "";
  EXPECT_EQ(daemonMessage(r, "GET", "/v1.41/x"),
            "request returned Not Found for API route and version /v1.41/x, check if the server supports "
            "the requested API version");
  EXPECT_EQ(codeForStatus(409), Code::Conflict);
  EXPECT_EQ(codeForStatus(304), Code::NotModified);
}

}  // namespace
}  // namespace berth::cli
