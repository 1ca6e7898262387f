// docker cp's path resolution and tar streams inside a container root
// (src/container/archive.h), with the CLI's tar writer/reader (src/cli/tar.h)
// on the other end.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "cli/tar.h"
#include "common/fd.h"
#include "common/util.h"
#include "container/archive.h"

using namespace berth;
using namespace berth::container;

namespace {

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-archive-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ + "/root";
    host_ = base_ + "/host";
    for (auto d : {root_, root_ + "/etc", root_ + "/tmp", root_ + "/d", root_ + "/d/sub", host_})
      ASSERT_EQ(::mkdir(d.c_str(), 0755), 0);
    write(root_ + "/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    write(root_ + "/d/f", "hello");
    write(root_ + "/d/sub/g", "deep");
    write(host_ + "/secret", "host only");
    // links that would leave the root if followed on the host
    ASSERT_EQ(::symlink("/etc", (root_ + "/tmp/hostetc").c_str()), 0);
    ASSERT_EQ(::symlink("../../../../../../etc", (root_ + "/tmp/up").c_str()), 0);
    ASSERT_EQ(::symlink(host_.c_str(), (root_ + "/tmp/hostdir").c_str()), 0);
    ASSERT_EQ(::symlink("loop2", (root_ + "/loop1").c_str()), 0);
    ASSERT_EQ(::symlink("loop1", (root_ + "/loop2").c_str()), 0);
    rootFd_.reset(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(rootFd_);
  }
  void TearDown() override { (void)removeAll(base_); }

  static void write(const std::string& p, const std::string& data) {
    std::ofstream(p) << data;
  }
  static std::string read(const std::string& p) {
    auto r = readFile(p);
    return r ? *r : "<missing>";
  }
  bool exists(const std::string& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0;
  }
  // A tar built with the CLI's writer: (name, type, data/linkname).
  static std::string makeTar(const std::vector<std::tuple<std::string, char, std::string>>& entries) {
    std::string out;
    cli::tar::Writer w([&](std::string_view d) -> Result<> {
      out.append(d);
      return {};
    });
    for (auto& [name, type, data] : entries) {
      cli::tar::Entry e;
      e.name = name;
      e.type = type;
      e.mode = type == '5' ? 0755 : 0644;
      if (type == '0') e.size = int64_t(data.size());
      else e.linkname = data;
      EXPECT_TRUE(w.writeHeader(e));
      if (type == '0') {
        EXPECT_TRUE(w.writeData(data));
      }
    }
    EXPECT_TRUE(w.finish());
    return out;
  }
  Result<> extract(const std::string& dir, const std::string& tarBytes, ExtractOptions o = {}) {
    size_t pos = 0;
    return extractTarToRoot(rootFd_.get(), dir, [&](char* b, size_t n) -> Result<size_t> {
      size_t k = std::min(n, tarBytes.size() - pos);
      std::memcpy(b, tarBytes.data() + pos, k);
      pos += k;
      return k;
    }, o);
  }
  std::vector<std::string> tarNames(const std::string& path) {
    std::string bytes;
    auto r = writeTarFromRoot(rootFd_.get(), path, [&](const void* d, size_t n) {
      bytes.append(static_cast<const char*>(d), n);
      return true;
    });
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    size_t pos = 0;
    cli::tar::Reader rd([&](char* b, size_t n) -> Result<size_t> {
      size_t k = std::min(n, bytes.size() - pos);
      std::memcpy(b, bytes.data() + pos, k);
      pos += k;
      return k;
    });
    std::vector<std::string> names;
    cli::tar::Entry e;
    while (true) {
      auto more = rd.next(e);
      EXPECT_TRUE(more);
      if (!more || !*more) break;
      names.push_back(e.name + (e.type == '2' ? " -> " + e.linkname : ""));
    }
    return names;
  }

  std::string base_, root_, host_;
  UniqueFd rootFd_;
};

TEST(ArchivePath, CleanPathStopsAtRoot) {
  EXPECT_EQ(cleanPath("/a/./b/../c"), "/a/c");
  EXPECT_EQ(cleanPath("../../x"), "/x");
  EXPECT_EQ(cleanPath("/"), "/");
  EXPECT_EQ(cleanPath("a/b/"), "/a/b");
}

TEST(ArchivePath, GoFileModeAndBase64) {
  EXPECT_EQ(goFileMode(S_IFDIR | 0755), (1u << 31) | 0755);
  EXPECT_EQ(goFileMode(S_IFLNK | 0777), (1u << 27) | 0777);
  EXPECT_EQ(goFileMode(S_IFREG | S_ISUID | 0755), (1u << 23) | 0755);
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
}

TEST_F(ArchiveTest, ResolvesLinksInsideTheRoot) {
  EXPECT_EQ(*resolveInRoot(rootFd_.get(), "/tmp/hostetc/passwd", true), "/etc/passwd");
  EXPECT_EQ(*resolveInRoot(rootFd_.get(), "/tmp/up", true), "/etc");
  EXPECT_EQ(*resolveInRoot(rootFd_.get(), "/tmp/up", false), "/tmp/up");
  EXPECT_EQ(*resolveInRoot(rootFd_.get(), "/tmp/hostdir/secret", true), host_ + "/secret");
  EXPECT_EQ(*resolveInRoot(rootFd_.get(), "/../../d/f", true), "/d/f");
  auto loop = resolveInRoot(rootFd_.get(), "/loop1", true);
  ASSERT_FALSE(loop);
  EXPECT_EQ(loop.error().err, ELOOP);
}

TEST_F(ArchiveTest, StatLikeDockerCp) {
  auto f = statInRoot(rootFd_.get(), "/d/f");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->name, "f");
  EXPECT_EQ(f->size, 5);
  EXPECT_FALSE(f->isDir());
  auto l = statInRoot(rootFd_.get(), "/tmp/hostetc");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->linkTarget, "/etc");
  EXPECT_TRUE(l->mode & (1u << 27));
  auto followed = statInRoot(rootFd_.get(), "/tmp/hostetc/");
  ASSERT_TRUE(followed);
  EXPECT_TRUE(followed->isDir());
  auto missing = statInRoot(rootFd_.get(), "/nope/x");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::NotFound);
  EXPECT_EQ(missing.error().message, "Could not find the file /nope/x in container");
  // a host path reached through a link is not found: it is looked up in the root
  EXPECT_FALSE(statInRoot(rootFd_.get(), "/tmp/hostdir/secret"));
  EXPECT_EQ(statInRoot(rootFd_.get(), "/d/f/").error().code, Code::NotFound);
}

TEST_F(ArchiveTest, TarNamesFollowDocker) {
  EXPECT_EQ(tarNames("/d"), (std::vector<std::string>{"d/", "d/f", "d/sub/", "d/sub/g"}));
  EXPECT_EQ(tarNames("/d/."), (std::vector<std::string>{"./", "./f", "./sub/", "./sub/g"}));
  EXPECT_EQ(tarNames("/d/f"), (std::vector<std::string>{"f"}));
  // a link is archived as a link, never followed out of the root
  EXPECT_EQ(tarNames("/tmp/hostetc"), (std::vector<std::string>{"hostetc -> /etc"}));
  EXPECT_EQ(tarNames("/tmp/up/"), (std::vector<std::string>{"up/", "up/passwd"}));
}

TEST_F(ArchiveTest, ExtractThroughAHostLinkStaysInside) {
  ASSERT_TRUE(extract("/tmp/hostetc", makeTar({{"pwned", '0', "x"}})));
  EXPECT_EQ(read(root_ + "/etc/pwned"), "x");
  EXPECT_FALSE(exists("/etc/pwned"));
  ASSERT_TRUE(extract("/tmp", makeTar({{"up/pwned2", '0', "y"}})));
  EXPECT_EQ(read(root_ + "/etc/pwned2"), "y");
  EXPECT_FALSE(exists("/etc/pwned2"));
  // a tar that plants a link and then writes through it
  ASSERT_TRUE(extract("/tmp", makeTar({{"evil", '2', "/"}, {"evil/escaped", '0', "z"}})));
  EXPECT_EQ(read(root_ + "/escaped"), "z");
  // a link to a host path resolves in the root: no such dir there, created inside
  ASSERT_TRUE(extract("/tmp", makeTar({{"hostdir/planted", '0', "p"}})));
  EXPECT_FALSE(exists(host_ + "/planted"));
  EXPECT_EQ(read(root_ + host_ + "/planted"), "p");
}

TEST_F(ArchiveTest, ExtractRejectsEscapesAndBadInput) {
  auto up = extract("/d", makeTar({{"../../x", '0', "x"}}));
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().code, Code::InvalidArgument);
  auto hard = extract("/d", makeTar({{"h", '1', "../../etc/passwd"}}));
  ASSERT_FALSE(hard);
  auto notDir = extract("/d/f", makeTar({{"x", '0', "x"}}));
  ASSERT_FALSE(notDir);
  EXPECT_EQ(notDir.error().message, "extraction point is not a directory");
  auto missing = extract("/nope", makeTar({{"x", '0', "x"}}));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Code::NotFound);
  auto garbage = extract("/d", std::string(1024, 'g'));
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, Code::InvalidArgument);
  ExtractOptions o;
  o.noOverwriteDirNonDir = true;
  auto over = extract("/", makeTar({{"d", '0', "x"}}), o);
  ASSERT_FALSE(over);
  EXPECT_EQ(read(root_ + "/d/f"), "hello");
}

TEST_F(ArchiveTest, ExtractFilesDirsLinksAndOwner) {
  ExtractOptions o;
  o.uid = 1234;
  o.gid = 5678;
  ASSERT_TRUE(extract("/d", makeTar({{"new/", '5', ""}, {"new/a", '0', "A"}, {"new/l", '2', "a"},
                                     {"new/h", '1', "new/a"}, {"f", '0', "replaced"}}), o));
  EXPECT_EQ(read(root_ + "/d/new/a"), "A");
  EXPECT_EQ(read(root_ + "/d/new/l"), "A");
  EXPECT_EQ(read(root_ + "/d/new/h"), "A");
  EXPECT_EQ(read(root_ + "/d/f"), "replaced");
  struct stat st;
  ASSERT_EQ(::stat((root_ + "/d/new/a").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_nlink, 2u);
}

TEST(CliTar, RoundTripLongNamesAndRebase) {
  std::string bytes;
  cli::tar::Writer w([&](std::string_view d) -> Result<> {
    bytes.append(d);
    return {};
  });
  std::string longName(150, 'n');
  std::string longer = std::string(120, 'a') + "/" + std::string(120, 'b');
  for (auto& n : {std::string("top/"), "top/" + longName, longer}) {
    cli::tar::Entry e;
    e.name = n;
    e.type = n.back() == '/' ? '5' : '0';
    e.size = e.type == '0' ? 3 : 0;
    ASSERT_TRUE(w.writeHeader(e));
    if (e.type == '0') {
      ASSERT_TRUE(w.writeData("abc"));
    }
  }
  ASSERT_TRUE(w.finish());
  EXPECT_EQ(bytes.size() % 512, 0u);
  size_t pos = 0;
  cli::tar::Reader r([&](char* b, size_t n) -> Result<size_t> {
    size_t k = std::min(n, bytes.size() - pos);
    std::memcpy(b, bytes.data() + pos, k);
    pos += k;
    return k;
  });
  cli::tar::Entry e;
  std::vector<std::string> names;
  while (*r.next(e)) {
    names.push_back(e.name);
    if (e.type == '0') {
      char buf[8];
      EXPECT_EQ(*r.read(buf, sizeof buf), 3u);
      EXPECT_EQ(std::string(buf, 3), "abc");
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"top/", "top/" + longName, longer}));
  EXPECT_EQ(cli::tar::rebaseName("d/x", "d", "e"), "e/x");
  EXPECT_EQ(cli::tar::rebaseName("d/", "d", "e"), "e/");
  EXPECT_EQ(cli::tar::rebaseName("dd/x", "d", "e"), "dd/x");
  EXPECT_EQ(cli::tar::rebaseName("./x", ".", "e"), "e/x");
}

}  // namespace
