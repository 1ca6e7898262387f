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
  EXPECT_EQ(parseReference("UPPER").error().message,
            "invalid reference format: repository name (library/UPPER) must be lowercase");
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

TEST(ImageReference, GrammarEdges) {
  std::string hex = std::string(64, 'd');
  for (std::string good : std::vector<std::string>{
           "a__b", "a---b", "a.b.c", "a_b", "a-b_c.d", "reg-1.example.com:5000/x/y", "busybox:Latest",
           "x:_t", "x:" + std::string(128, 't'), "User/img", "A.b/c", "x@sha256+b64:" + std::string(32, 'f'),
           "x@sha256:" + hex, "localhost:1/a"}) {
    auto r = parseReference(good);
    EXPECT_TRUE(r) << good << ": " << r.error().message;
  }
  for (std::string bad : std::vector<std::string>{
           "a___b", "a._b", "a-.b", "a-", "_a", "-bad.com/x", "bad-.com/x", "a..b/x", "host:/x", "host:p/x",
           "a:1:2/x", "x:-t", "x:.t", "x@md5:abc", "x@1sha:" + std::string(32, 'f'), "x@sha256:" + hex + "g",
           "x@sha256-:" + std::string(32, 'f'), "a/b:c/d", "quay.io/A/b"}) {
    EXPECT_FALSE(parseReference(bad)) << bad;
  }
  EXPECT_EQ(parseReference("quay.io/A/b").error().message,
            "invalid reference format: repository name (A/b) must be lowercase");
  EXPECT_EQ(parseReference("127.0.0.1:5000/Up:v1").error().message,
            "invalid reference format: repository name (Up) must be lowercase");
  auto u = parseReference("User/img");
  EXPECT_EQ(u->domain, "User");
  EXPECT_EQ(u->path, "img");
}
