#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/fd.h"
#include "common/sha256.h"
#include "fake_http.h"
#include "snapshot/snapshotter.h"

using namespace berth;
using fakehttp::TarBuilder;
using fakehttp::TempDir;

namespace {

// Writes tar bytes to a file and unpacks it into dest.
Result<snapshot::UnpackStats> unpackBytes(const TempDir& tmp, const std::string& tar, const std::string& dest) {
  std::string p = tmp / "layer.tar";
  if (auto r = writeFileAtomic(p, tar); !r) return std::unexpected(r.error());
  UniqueFd fd(open(p.c_str(), O_RDONLY | O_CLOEXEC));
  (void)mkdirAll(dest);
  return snapshot::unpackLayer(fd.get(), dest);
}

bool pathExists(const std::string& p) {
  struct stat st;
  return lstat(p.c_str(), &st) == 0;
}

}  // namespace

TEST(SnapshotUnpack, FilesDirsLinksOwnersModes) {
  TempDir tmp;
  std::string tar = TarBuilder()
                        .dir("bin")
                        .file("bin/busybox", "#!binary", 0755)
                        .symlink("bin/sh", "/bin/busybox")
                        .hardlink("bin/ls", "bin/busybox")
                        .file("etc/owned", "x", 0600, 1000, 1001)
                        .str();
  std::string dest = tmp / "fs";
  auto st = unpackBytes(tmp, tar, dest);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->size, 8 + 12 + 1);  // busybox + symlink target + owned
  auto content = readFile(dest + "/bin/busybox");
  ASSERT_TRUE(content);
  EXPECT_EQ(*content, "#!binary");
  struct stat a, b, o;
  ASSERT_EQ(stat((dest + "/bin/busybox").c_str(), &a), 0);
  ASSERT_EQ(stat((dest + "/bin/ls").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_mode & 07777, 0755u);
  char target[256] = {};
  ASSERT_GT(readlink((dest + "/bin/sh").c_str(), target, sizeof target), 0);
  EXPECT_STREQ(target, "/bin/busybox");
  ASSERT_EQ(stat((dest + "/etc/owned").c_str(), &o), 0);
  EXPECT_EQ(o.st_uid, 1000u);
  EXPECT_EQ(o.st_gid, 1001u);
  EXPECT_EQ(o.st_mode & 07777, 0600u);
  EXPECT_EQ(o.st_mtime, 1700000000);
}

TEST(SnapshotUnpack, CompressedLayers) {
  for (std::string comp : {"gzip", "xz", "zstd", "bzip2"}) {
    TempDir tmp;
    auto st = unpackBytes(tmp, TarBuilder().file("hello", "world").str(comp), tmp / "fs");
    ASSERT_TRUE(st) << comp << ": " << st.error().message;
    EXPECT_EQ(*readFile(tmp / "fs/hello"), "world") << comp;
  }
}

TEST(SnapshotUnpack, WhiteoutsBecomeOverlayForm) {
  TempDir tmp;
  std::string tar = TarBuilder().dir("d").file("d/.wh..wh..opq", "").file(".wh.gone", "").file("sub/.wh.x", "").str();
  std::string dest = tmp / "fs";
  auto st = unpackBytes(tmp, tar, dest);
  if (!st && st.error().err == ENOTSUP) GTEST_SKIP() << "no trusted xattrs here";
  ASSERT_TRUE(st) << st.error().message;
  struct stat w;
  ASSERT_EQ(lstat((dest + "/gone").c_str(), &w), 0);
  EXPECT_TRUE(S_ISCHR(w.st_mode));
  EXPECT_EQ(w.st_rdev, makedev(0, 0));
  ASSERT_EQ(lstat((dest + "/sub/x").c_str(), &w), 0);
  EXPECT_TRUE(S_ISCHR(w.st_mode));
  EXPECT_FALSE(pathExists(dest + "/.wh.gone"));
  EXPECT_FALSE(pathExists(dest + "/d/.wh..wh..opq"));
  char v[8] = {};
  ASSERT_EQ(getxattr((dest + "/d").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  EXPECT_EQ(v[0], 'y');
}

TEST(SnapshotUnpack, DotDotEntriesDoNotEscape) {
  for (std::string name : {"../escape", "a/../../escape", "./../escape"}) {
    TempDir tmp;
    std::string dest = tmp / "deep/fs";
    auto st = unpackBytes(tmp, TarBuilder().file("ok", "1").file(name, "pwned").str(), dest);
    EXPECT_FALSE(st) << name;
    if (!st) {
      EXPECT_EQ(st.error().code, Code::InvalidArgument) << st.error().message;
    }
    EXPECT_FALSE(pathExists(tmp / "deep/escape")) << name;
    EXPECT_FALSE(pathExists(tmp / "escape")) << name;
  }
}

TEST(SnapshotUnpack, DotDotThatStaysInsideIsCleaned) {
  TempDir tmp;
  auto st = unpackBytes(tmp, TarBuilder().file("a/../b", "x").file("/abs/file", "y").str(), tmp / "fs");
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(*readFile(tmp / "fs/b"), "x");
  EXPECT_EQ(*readFile(tmp / "fs/abs/file"), "y");
}

TEST(SnapshotUnpack, SymlinkAndHardlinkTricksDoNotEscape) {
  TempDir tmp;
  std::string outside = tmp / "outside";
  ASSERT_TRUE(mkdirAll(outside));
  ASSERT_TRUE(writeFileAtomic(outside + "/secret", "s3cret"));
  {
    auto st = unpackBytes(tmp, TarBuilder().symlink("evil", outside).file("evil/pwned", "x").str(), tmp / "fs1");
    EXPECT_FALSE(st);
    EXPECT_FALSE(pathExists(outside + "/pwned"));
  }
  {
    auto st = unpackBytes(tmp, TarBuilder().symlink("evil", outside).hardlink("link", "evil/secret").str(), tmp / "fs2");
    EXPECT_FALSE(st);
    EXPECT_FALSE(pathExists(tmp / "fs2/link"));
  }
  {
    auto st = unpackBytes(tmp, TarBuilder().hardlink("link", "../outside/secret").str(), tmp / "fs3");
    EXPECT_FALSE(st);
  }
  {
    auto st = unpackBytes(tmp, TarBuilder().symlink("up", "..").file("up/x", "x").str(), tmp / "fs4");
    EXPECT_FALSE(st);
    EXPECT_FALSE(pathExists(tmp / "x"));
  }
  EXPECT_EQ(*readFile(outside + "/secret"), "s3cret");
}

TEST(SnapshotUnpack, MalformedTarIsInvalidArgument) {
  TempDir tmp;
  auto st = unpackBytes(tmp, std::string(3000, 'z'), tmp / "fs");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Code::InvalidArgument);
  std::string truncated = TarBuilder().file("big", std::string(100000, 'a')).str().substr(0, 5000);
  st = unpackBytes(tmp, truncated, tmp / "fs2");
  ASSERT_FALSE(st);
}

TEST(SnapshotUnpack, CleanEntryPath) {
  EXPECT_EQ(*snapshot::cleanEntryPath("./a/b/"), "a/b");
  EXPECT_EQ(*snapshot::cleanEntryPath("/a//b/./c"), "a/b/c");
  EXPECT_EQ(*snapshot::cleanEntryPath("a/../b"), "b");
  EXPECT_EQ(*snapshot::cleanEntryPath("./"), "");
  EXPECT_FALSE(snapshot::cleanEntryPath(".."));
  EXPECT_FALSE(snapshot::cleanEntryPath("a/../../b"));
}

TEST(Snapshotter, ApplyOnceAndRemove) {
  TempDir tmp;
  snapshot::Snapshotter snaps(tmp / "snapshots");
  ASSERT_TRUE(snaps.init());
  std::string tar = TarBuilder().file("f", "data").str();
  ASSERT_TRUE(writeFileAtomic(tmp / "l.tar", tar));
  std::string chain = sha256Digest(tar);
  EXPECT_FALSE(snaps.exists(chain));
  auto a = snaps.apply(chain, tmp / "l.tar");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_TRUE(a->created);
  EXPECT_EQ(a->stats.size, 4);
  EXPECT_EQ(*snaps.dir(chain), tmp.path() + "/snapshots/" + chain.substr(7) + "/fs");
  EXPECT_EQ(*readFile(*snaps.dir(chain) + "/f"), "data");
  auto b = snaps.apply(chain, tmp / "l.tar");
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->created);
  ASSERT_TRUE(snaps.remove(chain));
  EXPECT_FALSE(snaps.exists(chain));
  EXPECT_FALSE(snaps.dir("sha256:../../x"));
}

TEST(Snapshotter, FailedUnpackLeavesNoSnapshotAndInitCleansTemp) {
  TempDir tmp;
  snapshot::Snapshotter snaps(tmp / "snapshots");
  ASSERT_TRUE(snaps.init());
  ASSERT_TRUE(writeFileAtomic(tmp / "bad.tar", std::string(2000, 'q')));
  std::string chain = sha256Digest("bad");
  EXPECT_FALSE(snaps.apply(chain, tmp / "bad.tar"));
  EXPECT_FALSE(snaps.exists(chain));
  ASSERT_TRUE(mkdirAll(tmp / "snapshots/.tmp-leftover/fs"));
  ASSERT_TRUE(snaps.init());
  EXPECT_FALSE(pathExists(tmp / "snapshots/.tmp-leftover"));
}
