#include <gtest/gtest.h>

#include "image/config.h"

using namespace berth;
using namespace berth::image;
using nlohmann::json;

TEST(ImageConfig, ChangesJsonAndShellForms) {
  auto c = applyChanges(json::object(), {"CMD [\"sh\", \"-c\", \"echo hi\"]", "entrypoint [\"/init\"]"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ((*c)["Cmd"], json::array({"sh", "-c", "echo hi"}));  // CMD before ENTRYPOINT is kept
  EXPECT_EQ((*c)["Entrypoint"], json::array({"/init"}));
  c = applyChanges(json::object(), {"ENTRYPOINT /init --x", "CMD echo \"a b\""});
  EXPECT_EQ((*c)["Entrypoint"], json::array({"/bin/sh", "-c", "/init --x"}));
  EXPECT_EQ((*c)["Cmd"], json::array({"/bin/sh", "-c", "echo \"a b\""}));
  c = applyChanges(json::object(), {"CMD [\"sh\""});  // not JSON: shell form like Docker
  EXPECT_EQ((*c)["Cmd"], json::array({"/bin/sh", "-c", "[\"sh\""}));
}

TEST(ImageConfig, EnvLabelForms) {
  auto c = applyChanges(json::object(), {"ENV A=1 B=\"x y\" C='q'", "ENV LEGACY some value", "ENV A=2",
                                         "LABEL a=b \"c d\"=e", "LABEL old style"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ((*c)["Env"], json::array({"A=2", "B=x y", "C=q", "LEGACY=some value"}));
  EXPECT_EQ((*c)["Labels"], json({{"a", "b"}, {"c d", "e"}, {"old", "style"}}));
  EXPECT_FALSE(applyChanges(json::object(), {"ENV =x"}));
  EXPECT_FALSE(applyChanges(json::object(), {"ENV"}));
}

TEST(ImageConfig, WorkdirUserExposeVolumeStopsignal) {
  auto c = applyChanges(json::object(), {"WORKDIR /a", "WORKDIR b", "USER 1000:1000", "EXPOSE 80 53/udp 8000-8001",
                                         "VOLUME [\"/v1\", \"/v2\"]", "VOLUME /v3 /v4", "STOPSIGNAL SIGINT",
                                         "ONBUILD RUN x"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ((*c)["WorkingDir"], "/a/b");
  EXPECT_EQ((*c)["User"], "1000:1000");
  EXPECT_EQ((*c)["ExposedPorts"],
            json({{"80/tcp", json::object()}, {"53/udp", json::object()}, {"8000/tcp", json::object()},
                  {"8001/tcp", json::object()}}));
  EXPECT_EQ((*c)["Volumes"].size(), 4u);
  EXPECT_EQ((*c)["StopSignal"], "SIGINT");
  EXPECT_EQ((*c)["OnBuild"], json::array({"RUN x"}));
  EXPECT_FALSE(applyChanges(json::object(), {"EXPOSE abc"}));
  EXPECT_FALSE(applyChanges(json::object(), {"EXPOSE 70000"}));
}

TEST(ImageConfig, InvalidInstructions) {
  for (std::string bad : {"RUN x", "FROM busybox", "COPY a b", "ADD a b", "HEALTHCHECK NONE"}) {
    auto c = applyChanges(json::object(), {bad});
    ASSERT_FALSE(c) << bad;
    EXPECT_EQ(c.error().code, Code::InvalidArgument);
  }
  EXPECT_EQ(applyChanges(json::object(), {"MAINTAINER me"}).error().message, "maintainer is not a valid change command");
}

TEST(ImageConfig, DockerShape) {
  json s = dockerConfigShape(json{{"Cmd", {"sh"}}, {"Labels", {{"a", "b"}}}});
  for (const char* k : {"Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "Tty",
                        "OpenStdin", "StdinOnce", "Env", "Cmd", "Image", "Volumes", "WorkingDir", "Entrypoint",
                        "OnBuild", "Labels"})
    EXPECT_TRUE(s.contains(k)) << k;
  EXPECT_EQ(s["Cmd"], json::array({"sh"}));
  EXPECT_TRUE(s["Env"].is_null());
  EXPECT_FALSE(s.contains("ExposedPorts"));
  EXPECT_TRUE(dockerConfigShape(nullptr)["Cmd"].is_null());
}
