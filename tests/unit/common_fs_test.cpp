#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "common/fd.h"
#include "common/util.h"

using namespace berth;

namespace {

// A fresh directory under parent; removed at the end.
struct TempDir {
  std::string path;
  explicit TempDir(const std::string& parent) {
    std::string t = parent + "/berth-spread-XXXXXX";
    if (::mkdtemp(t.data())) path = t;
  }
  ~TempDir() {
    if (!path.empty()) (void)removeAll(path);
  }
};

int flagsOf(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  int flags = -1;
  if (!fd || ::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) != 0) return -1;
  return flags;
}

bool onFs(const std::string& dir, long magic) {
  struct statfs s {};
  return ::statfs(dir.c_str(), &s) == 0 && s.f_type == magic;
}

}  // namespace

TEST(SpreadSubdirs, SetsTheTopDirFlagOnExt4AndKeepsTheOthers) {
  TempDir d("/tmp");
  ASSERT_FALSE(d.path.empty());
  if (!onFs(d.path, EXT4_SUPER_MAGIC)) GTEST_SKIP() << "/tmp is not ext2/3/4";
  int before = flagsOf(d.path);
  ASSERT_GE(before, 0);
  ASSERT_EQ(before & FS_TOPDIR_FL, 0);
  auto r = spreadSubdirs(d.path);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(*r);
  int after = flagsOf(d.path);
  EXPECT_EQ(after, before | FS_TOPDIR_FL);
  // Again: already set, nothing changes.
  r = spreadSubdirs(d.path);
  ASSERT_TRUE(r);
  EXPECT_TRUE(*r);
  EXPECT_EQ(flagsOf(d.path), after);
  // Subdirectories do not inherit it: only dir's children are spread.
  ASSERT_TRUE(mkdirAll(d.path + "/c", 0700));
  EXPECT_EQ(flagsOf(d.path + "/c") & FS_TOPDIR_FL, 0);
}

TEST(SpreadSubdirs, FalseWhereTheFileSystemHasNoSuchFlag) {
  if (!onFs("/dev/shm", TMPFS_MAGIC)) GTEST_SKIP() << "/dev/shm is not a tmpfs";
  TempDir d("/dev/shm");
  ASSERT_FALSE(d.path.empty());
  auto r = spreadSubdirs(d.path);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(*r);
}

TEST(SpreadSubdirs, MissingDirectoryIsAnError) {
  auto r = spreadSubdirs("/nonexistent-berth-dir/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().err, ENOENT);
  EXPECT_NE(r.error().message.find("/nonexistent-berth-dir/x"), std::string::npos);
}

TEST(MkdirAll, CreatesMissingParentsWithTheMode) {
  TempDir d("/tmp");
  ASSERT_FALSE(d.path.empty());
  mode_t old = ::umask(0);
  auto r = mkdirAll(d.path + "/a/b/c", 0750);
  ::umask(old);
  ASSERT_TRUE(r) << r.error().message;
  for (const char* p : {"/a", "/a/b", "/a/b/c"}) {
    struct stat st {};
    ASSERT_EQ(::stat((d.path + p).c_str(), &st), 0) << p;
    EXPECT_TRUE(S_ISDIR(st.st_mode)) << p;
    EXPECT_EQ(st.st_mode & 0777, 0750u) << p;
  }
  // Existing, with a trailing slash or a doubled one: fine, nothing changes.
  EXPECT_TRUE(mkdirAll(d.path + "/a/b/c", 0700));
  EXPECT_TRUE(mkdirAll(d.path + "/a/b/", 0700));
  EXPECT_TRUE(mkdirAll(d.path + "/a//b/d/", 0700));
  struct stat st {};
  EXPECT_EQ(::stat((d.path + "/a/b/d").c_str(), &st), 0);
  EXPECT_TRUE(mkdirAll(""));
}

TEST(MkdirAll, AFileInTheWayIsAnError) {
  TempDir d("/tmp");
  ASSERT_FALSE(d.path.empty());
  ASSERT_TRUE(writeFileReplace(d.path + "/f", "x"));
  auto leaf = mkdirAll(d.path + "/f", 0755);
  ASSERT_FALSE(leaf);
  EXPECT_EQ(leaf.error().code, Code::AlreadyExists);
  EXPECT_NE(leaf.error().message.find("not a directory"), std::string::npos);
  auto below = mkdirAll(d.path + "/f/g/h", 0755);
  ASSERT_FALSE(below);
  EXPECT_EQ(below.error().err, ENOTDIR);
  // A relative path whose first component is missing: created (from the cwd).
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(::chdir(d.path.c_str()), 0);
  auto rel = mkdirAll("r/s", 0755);
  ASSERT_EQ(::chdir(cwd), 0);
  ASSERT_TRUE(rel) << rel.error().message;
  struct stat st {};
  EXPECT_EQ(::stat((d.path + "/r/s").c_str(), &st), 0);
}
