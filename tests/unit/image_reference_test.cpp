#include <gtest/gtest.h>

#include "image/reference.h"

using namespace berth;
using namespace berth::image;

TEST(ImageReference, Normalisation) {
  struct Case {
    std::string in, familiar, full;
  };
  std::string dg = "sha256:" + std::string(64, 'a');
  for (auto& c : std::vector<Case>{
           {"busybox", "busybox", "docker.io/library/busybox"},
           {"busybox:latest", "busybox:latest", "docker.io/library/busybox:latest"},
           {"docker.io/library/busybox:1.36", "busybox:1.36", "docker.io/library/busybox:1.36"},
           {"index.docker.io/library/busybox", "busybox", "docker.io/library/busybox"},
           {"docker.io/busybox", "busybox", "docker.io/library/busybox"},
           {"myuser/img:1", "myuser/img:1", "docker.io/myuser/img:1"},
           {"docker.io/myuser/img", "myuser/img", "docker.io/myuser/img"},
           {"127.0.0.1:5000/apiprobe/uniq:v1", "127.0.0.1:5000/apiprobe/uniq:v1", "127.0.0.1:5000/apiprobe/uniq:v1"},
           {"localhost/x", "localhost/x", "localhost/x"},
           {"localhost:5000/x", "localhost:5000/x", "localhost:5000/x"},
           {"quay.io/a/b-c_d.e:t", "quay.io/a/b-c_d.e:t", "quay.io/a/b-c_d.e:t"},
           {"alpine@" + dg, "alpine@" + dg, "docker.io/library/alpine@" + dg},
           {"alpine:3@" + dg, "alpine:3@" + dg, "docker.io/library/alpine:3@" + dg},
       }) {
    auto r = parseReference(c.in);
    ASSERT_TRUE(r) << c.in << ": " << r.error().message;
    EXPECT_EQ(r->familiarString(), c.familiar) << c.in;
    EXPECT_EQ(r->string(), c.full) << c.in;
  }
  auto r = parseReference("127.0.0.1:5000/a/b");
  EXPECT_EQ(r->domain, "127.0.0.1:5000");
  EXPECT_EQ(r->path, "a/b");
  EXPECT_TRUE(r->tag.empty());
  EXPECT_EQ(withDefaultTag(*r).familiarString(), "127.0.0.1:5000/a/b:latest");
  EXPECT_EQ(withDefaultTag(*parseReference("x@sha256:" + std::string(64, 'b'))).tag, "");
}

TEST(ImageReference, Invalid) {
  for (std::string bad : std::vector<std::string>{"", "UPPER", "a b", "x:", ":tag", "x::y", "x@sha256:short", "-x",
                                                  "x/", "/x", "a//b", std::string(64, 'a'), "x:" + std::string(129, 't'),
                                                  "x@sha256:" + std::string(64, 'Z')}) {
    auto r = parseReference(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, Code::InvalidArgument);
    }
  }
  EXPECT_EQ(parseReference("UPPER").error().message, "invalid reference format: repository name must be lowercase");
}

TEST(ImageReference, Tags) {
  EXPECT_TRUE(isValidTag("latest"));
  EXPECT_TRUE(isValidTag("v1.2-rc_3"));
  EXPECT_FALSE(isValidTag(".hidden"));
  EXPECT_FALSE(isValidTag("-x"));
  EXPECT_FALSE(isValidTag("a b"));
  EXPECT_FALSE(isValidTag(""));
}

TEST(ImageReference, Glob) {
  EXPECT_TRUE(globMatch("apiprobe*", "apiprobe-built:v1"));
  EXPECT_TRUE(globMatch("busybox", "busybox"));
  EXPECT_FALSE(globMatch("busybox", "busybox:latest"));
  EXPECT_TRUE(globMatch("*:v?", "x:v1"));
  EXPECT_FALSE(globMatch("*", "a/b"));
  EXPECT_TRUE(globMatch("*/*", "a/b"));
  EXPECT_TRUE(globMatch("b[a-c]x", "bbx"));
  EXPECT_FALSE(globMatch("b[^a-c]x", "bbx"));
  EXPECT_TRUE(globMatch("a\\*", "a*"));
  EXPECT_FALSE(globMatch("a\\*", "ab"));
  EXPECT_TRUE(globMatch("*a*b*", "xxaxxbxx"));
}
