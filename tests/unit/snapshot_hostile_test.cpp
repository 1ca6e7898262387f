// Hostile layer tarballs: every case unpacks into <tmp>/layers/root next to
// <tmp>/victim (and <tmp>/layers/victim) and checks that nothing outside the
// root was created or changed, and that the unpack either failed with an
// error or kept the entry inside the root.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <ftw.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>
#include <optional>

#include "common/fd.h"
#include "fake_http.h"
#include "snapshot/snapshotter.h"

using namespace berth;
using fakehttp::TempDir;

namespace {

struct HEntry {
  std::string name;
  unsigned type = AE_IFREG;
  int mode = 0644;
  std::string data, symlink, hardlink;
  dev_t rdev = 0;
  int uid = 0, gid = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

// A pax tar of arbitrary entries (names are written verbatim).
class HostileTar {
 public:
  HostileTar& file(std::string name, std::string data = "pwned", int mode = 0644) {
    HEntry e;
    e.name = std::move(name);
    e.data = std::move(data);
    e.mode = mode;
    return add(std::move(e));
  }
  HostileTar& dir(std::string name, int mode = 0755) {
    HEntry e;
    e.name = std::move(name);
    e.type = AE_IFDIR;
    e.mode = mode;
    return add(std::move(e));
  }
  HostileTar& symlink(std::string name, std::string target) {
    HEntry e;
    e.name = std::move(name);
    e.type = AE_IFLNK;
    e.mode = 0777;
    e.symlink = std::move(target);
    return add(std::move(e));
  }
  HostileTar& hardlink(std::string name, std::string target) {
    HEntry e;
    e.name = std::move(name);
    e.hardlink = std::move(target);
    return add(std::move(e));
  }
  HostileTar& add(HEntry e) {
    entries_.push_back(std::move(e));
    return *this;
  }
  std::string str() const {
    std::string out;
    struct archive* a = archive_write_new();
    archive_write_set_format_pax(a);
    archive_write_set_bytes_in_last_block(a, 1);
    archive_write_open(a, &out, nullptr, &HostileTar::writeCb, nullptr);
    for (auto& e : entries_) {
      struct archive_entry* ae = archive_entry_new();
      archive_entry_set_pathname(ae, e.name.c_str());
      archive_entry_set_filetype(ae, e.type);
      archive_entry_set_perm(ae, e.mode);
      archive_entry_set_uid(ae, e.uid);
      archive_entry_set_gid(ae, e.gid);
      archive_entry_set_mtime(ae, 1700000000, 0);
      if (e.type == AE_IFCHR || e.type == AE_IFBLK) archive_entry_set_rdev(ae, e.rdev);
      for (auto& [k, v] : e.xattrs) archive_entry_xattr_add_entry(ae, k.c_str(), v.data(), v.size());
      if (!e.symlink.empty()) archive_entry_set_symlink(ae, e.symlink.c_str());
      if (!e.hardlink.empty()) {
        archive_entry_set_hardlink(ae, e.hardlink.c_str());
        archive_entry_set_size(ae, 0);
      } else {
        archive_entry_set_size(ae, la_int64_t(e.type == AE_IFREG ? e.data.size() : 0));
      }
      EXPECT_GE(archive_write_header(a, ae), ARCHIVE_WARN) << e.name << ": " << archive_error_string(a);
      if (e.type == AE_IFREG && e.hardlink.empty() && !e.data.empty())
        archive_write_data(a, e.data.data(), e.data.size());
      archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
    return out;
  }

 private:
  static la_ssize_t writeCb(struct archive*, void* ud, const void* buf, size_t n) {
    static_cast<std::string*>(ud)->append(static_cast<const char*>(buf), n);
    return la_ssize_t(n);
  }
  std::vector<HEntry> entries_;
};

struct NodeState {
  mode_t mode;
  uid_t uid;
  gid_t gid;
  off_t size;
  nlink_t nlink;
  ino_t ino;
  int64_t mtimeNs, ctimeNs;
  std::string content;  // file data or symlink target
  std::string xattrs;
  bool operator==(const NodeState&) const = default;
};

// Everything under walkRoot except the subtree at skip, without following
// symlinks.
std::map<std::string, NodeState> snapshotTree(const std::string& walkRoot, const std::string& skip) {
  static thread_local std::map<std::string, NodeState>* out;
  static thread_local const std::string* skipP;
  std::map<std::string, NodeState> m;
  out = &m;
  skipP = &skip;
  nftw(
      walkRoot.c_str(),
      [](const char* p, const struct stat* st, int, struct FTW*) -> int {
        std::string path(p);
        if (path == *skipP || startsWith(path, *skipP + "/")) return 0;
        NodeState n{st->st_mode, st->st_uid, st->st_gid, st->st_size, st->st_nlink, st->st_ino,
                    int64_t(st->st_mtim.tv_sec) * 1000000000 + st->st_mtim.tv_nsec,
                    int64_t(st->st_ctim.tv_sec) * 1000000000 + st->st_ctim.tv_nsec, "", ""};
        if (S_ISREG(st->st_mode)) {
          if (auto c = readFile(path)) n.content = *c;
        } else if (S_ISLNK(st->st_mode)) {
          char buf[4096];
          ssize_t k = readlink(p, buf, sizeof buf);
          if (k > 0) n.content.assign(buf, size_t(k));
        }
        char names[4096];
        ssize_t k = llistxattr(p, names, sizeof names);
        if (k > 0) n.xattrs.assign(names, size_t(k));
        (*out)[path] = n;
        return 0;
      },
      64, FTW_PHYS);
  return m;
}

// readBelow: the content of file REL below DIR, walked one component at a
// time without following symlinks (REL may be longer than PATH_MAX);
// nullopt when any step fails.
std::optional<std::string> readBelow(const std::string& dir, const std::string& rel) {
  UniqueFd cur(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  size_t pos = 0;
  for (;;) {
    if (!cur) return std::nullopt;
    size_t slash = rel.find('/', pos);
    std::string name = rel.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (slash == std::string::npos) {
      UniqueFd f(openat(cur.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!f) return std::nullopt;
      std::string out;
      char buf[256];
      ssize_t n;
      while ((n = read(f.get(), buf, sizeof buf)) > 0) out.append(buf, size_t(n));
      return out;
    }
    cur = UniqueFd(openat(cur.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    pos = slash + 1;
  }
}

bool lexists(const std::string& p) {
  struct stat st;
  return lstat(p.c_str(), &st) == 0;
}

// Host paths an absolute-path escape would hit.
const std::vector<std::string> kHostPaths = {"/escape", "/victim", "/pwned", "/x", "/f", "/etc/pwned"};

class SnapshotHostile : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_ / "layers/root";
    victim_ = tmp_ / "victim";
    ASSERT_TRUE(mkdirAll(root_));
    ASSERT_TRUE(mkdirAll(victim_));
    ASSERT_TRUE(mkdirAll(tmp_ / "layers/victim"));
    ASSERT_TRUE(writeFileAtomic(victim_ + "/file", "victim data"));
    ASSERT_TRUE(writeFileAtomic(tmp_ / "layers/victim/file", "near victim"));
    ASSERT_EQ(chmod(victim_.c_str(), 0750), 0);
    for (auto& p : kHostPaths) hostBefore_[p] = lexists(p);
    before_ = snapshotTree(tmp_.path(), root_);
  }

  // Unpacks the tar into root_ and checks that nothing outside changed.
  Result<snapshot::UnpackStats> unpack(const HostileTar& t) {
    // The tar lives in its own temp dir, outside the watched tree.
    std::string p = tars_ / "layer.tar";
    EXPECT_TRUE(writeFileAtomic(p, t.str()));
    UniqueFd fd(open(p.c_str(), O_RDONLY | O_CLOEXEC));
    auto r = snapshot::unpackLayer(fd.get(), root_);
    auto after = snapshotTree(tmp_.path(), root_);
    for (auto& [path, st] : after) {
      auto it = before_.find(path);
      EXPECT_TRUE(it != before_.end()) << "created outside the root: " << path;
      if (it != before_.end()) EXPECT_TRUE(it->second == st) << "changed outside the root: " << path;
    }
    for (auto& [path, st] : before_) EXPECT_TRUE(after.count(path)) << "removed outside the root: " << path;
    for (auto& p2 : kHostPaths) EXPECT_EQ(lexists(p2), hostBefore_[p2]) << "host path touched: " << p2;
    if (!r) {
      EXPECT_FALSE(r.error().message.empty());
      EXPECT_TRUE(r.error().code == Code::InvalidArgument) << "expected InvalidArgument, got: " << r.error().message;
    }
    return r;
  }

  std::string in(const std::string& rel) const { return root_ + "/" + rel; }

  TempDir tmp_, tars_;
  std::string root_, victim_;
  std::map<std::string, NodeState> before_;
  std::map<std::string, bool> hostBefore_;
};

TEST_F(SnapshotHostile, DotDotEscape) {
  auto r = unpack(HostileTar().file("../escape"));
  EXPECT_FALSE(r);
}

TEST_F(SnapshotHostile, DotDotThroughSubdir) {
  auto r = unpack(HostileTar().file("a/../../escape"));
  EXPECT_FALSE(r);
}

TEST_F(SnapshotHostile, AbsolutePathIsRebasedInsideRoot) {
  auto r = unpack(HostileTar().file("/escape").file(tmp_ / "victim/pwned"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*readFile(in("escape")), "pwned");
  EXPECT_TRUE(lexists(in(tmp_ / "victim/pwned")));
}

TEST_F(SnapshotHostile, AbsoluteSymlinkThenWriteThrough) {
  auto r = unpack(HostileTar().symlink("link", victim_).file("link/pwned"));
  EXPECT_FALSE(r);
  auto r2 = unpack(HostileTar().symlink("link2", "/victim").file("link2/pwned"));
  EXPECT_FALSE(r2);
}

TEST_F(SnapshotHostile, RelativeSymlinkThenWriteThrough) {
  auto r = unpack(HostileTar().symlink("link", "../../victim").file("link/pwned"));
  EXPECT_FALSE(r);
}

TEST_F(SnapshotHostile, ChainedSymlinks) {
  auto r = unpack(HostileTar().symlink("a", "b").symlink("b", "../..").file("a/victim/pwned"));
  EXPECT_FALSE(r);
  auto r2 = unpack(HostileTar().symlink("c", "d").symlink("d", "../..").dir("c/victim").file("c/victim/pwned"));
  EXPECT_FALSE(r2);
}

TEST_F(SnapshotHostile, HardlinkToHostPasswd) {
  // The target is resolved inside the root, where there is no etc/passwd:
  // refused like any missing target, and nothing is created.
  auto r = unpack(HostileTar().hardlink("passwd", "/etc/passwd"));
  EXPECT_FALSE(r);
  EXPECT_FALSE(lexists(in("passwd")));
}

TEST_F(SnapshotHostile, HardlinkToAbsolutePathIsResolvedInsideRoot) {
  // /etc/passwd exists inside the layer: the link points at the layer's copy.
  auto r = unpack(HostileTar().file("etc/passwd", "root:x:0:0::/:/bin/sh\n").hardlink("pw", "/etc/passwd"));
  ASSERT_TRUE(r) << r.error().message;
  struct stat a, b;
  ASSERT_EQ(lstat(in("pw").c_str(), &a), 0);
  ASSERT_EQ(lstat(in("etc/passwd").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  auto r2 = unpack(HostileTar().hardlink("v", victim_ + "/file"));
  EXPECT_FALSE(r2);
}

TEST_F(SnapshotHostile, HardlinkToDotDotVictim) {
  EXPECT_FALSE(unpack(HostileTar().hardlink("h", "../victim/file")));
  EXPECT_FALSE(unpack(HostileTar().hardlink("h2", "../../victim/file")));
  EXPECT_FALSE(unpack(HostileTar().hardlink("h3", "a/../../victim/file")));
}

TEST_F(SnapshotHostile, HardlinkThroughSymlinkedDir) {
  auto r = unpack(HostileTar().symlink("s", victim_).hardlink("h", "s/file"));
  EXPECT_FALSE(r);
  EXPECT_FALSE(lexists(in("h")));
}

TEST_F(SnapshotHostile, HardlinkToSymlinkPointingOut) {
  // A hard link to a symlink is a second name for the symlink, never for
  // its target; writing over it replaces the link.
  auto r = unpack(HostileTar()
                      .symlink("s", victim_ + "/file")
                      .hardlink("h", "s")
                      .file("h", "overwrite")
                      .symlink("s2", "../../victim")
                      .hardlink("h2", "s2")
                      .file("h2/pwned"));
  EXPECT_FALSE(r);
  EXPECT_EQ(*readFile(victim_ + "/file"), "victim data");
  // Applied: u is a second name for the symlink itself.
  auto r2 = unpack(HostileTar().symlink("t", victim_ + "/file").hardlink("u", "t"));
  ASSERT_TRUE(r2) << r2.error().message;
  struct stat st, st2;
  ASSERT_EQ(lstat(in("u").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(lstat(in("t").c_str(), &st2), 0);
  EXPECT_EQ(st.st_ino, st2.st_ino);
}

TEST_F(SnapshotHostile, DirectoryReplacedBySymlink) {
  // The symlink replaces the directory; x/f would then go through it: refused.
  auto r = unpack(HostileTar().dir("x", 0700).file("x/keep", "k").symlink("x", victim_).file("x/f"));
  EXPECT_FALSE(r);
  EXPECT_FALSE(lexists(victim_ + "/f"));
  // Only the directory, then the symlink: applied, y ends a symlink, and the
  // deferred fixup of y's mode and times does not land on its target (the
  // victim's tree is compared by unpack()).
  auto r2 = unpack(HostileTar().dir("y", 0777).symlink("y", victim_));
  ASSERT_TRUE(r2) << r2.error().message;
  struct stat st;
  ASSERT_EQ(lstat(in("y").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  auto r3 = unpack(HostileTar().dir("z", 0700).symlink("z", "../../victim"));
  ASSERT_TRUE(r3) << r3.error().message;
  ASSERT_EQ(lstat(in("z").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_F(SnapshotHostile, SymlinkReplacedByDirectory) {
  auto r = unpack(HostileTar().symlink("x", victim_).dir("x", 0777).file("x/f", "inside"));
  ASSERT_TRUE(r) << r.error().message;
  struct stat st;
  ASSERT_EQ(lstat(in("x").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0777u);
  EXPECT_EQ(*readFile(in("x/f")), "inside");
}

TEST_F(SnapshotHostile, FileOverSymlinkReplacesTheLink) {
  auto r = unpack(HostileTar().symlink("l", victim_ + "/file").file("l", "new", 0600));
  ASSERT_TRUE(r) << r.error().message;
  struct stat st;
  ASSERT_EQ(lstat(in("l").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(*readFile(in("l")), "new");
}

TEST_F(SnapshotHostile, DeviceNodesStayInside) {
  if (geteuid() != 0) GTEST_SKIP() << "mknod needs root";
  HEntry d;
  d.name = "dev/null";
  d.type = AE_IFCHR;
  d.mode = 0666;
  d.rdev = makedev(1, 3);
  auto r = unpack(HostileTar().dir("dev").add(d));
  ASSERT_TRUE(r) << r.error().message;
  struct stat st;
  ASSERT_EQ(lstat(in("dev/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  HEntry out = d;
  out.name = "../dev-escape";
  EXPECT_FALSE(unpack(HostileTar().add(out)));
  HEntry through = d;
  through.name = "s/null";
  EXPECT_FALSE(unpack(HostileTar().symlink("s", victim_).add(through)));
}

TEST_F(SnapshotHostile, HostileWhiteouts) {
  // ".wh.../../x" cleans to "x": a plain file inside the root.
  auto r = unpack(HostileTar().file(".wh.../../x", ""));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(lexists(in("x")));
  EXPECT_FALSE(unpack(HostileTar().file("a/.wh..", "")));
  EXPECT_FALSE(unpack(HostileTar().file(".wh..", "")));
  EXPECT_FALSE(unpack(HostileTar().file("../.wh.victim", "")));
  EXPECT_FALSE(unpack(HostileTar().symlink("s", victim_).file("s/.wh.file", "")));
  EXPECT_FALSE(unpack(HostileTar().symlink("o", victim_).file("o/.wh..wh..opq", "")));
  EXPECT_FALSE(unpack(HostileTar().symlink("p", "../../victim").file("p/sub/.wh.x", "")));
}

TEST_F(SnapshotHostile, OpaqueWhiteoutAtTopLevel) {
  auto r = unpack(HostileTar().file(".wh..wh..opq", "").file("a", "1"));
  if (!r && r.error().err == ENOTSUP) GTEST_SKIP() << "no trusted xattrs here";
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  EXPECT_FALSE(lexists(in(".wh..wh..opq")));
}

TEST_F(SnapshotHostile, VeryLongNames) {
  // One component over NAME_MAX: fails cleanly.
  EXPECT_FALSE(unpack(HostileTar().file(std::string(300, 'n'))));
  // A path longer than PATH_MAX made of short components stays inside.
  std::string deep;
  for (int i = 0; i < 50; i++) deep += std::string(100, char('a' + i % 26)) + "/";
  ASSERT_GT(deep.size(), size_t(PATH_MAX));
  auto r = unpack(HostileTar().file(deep + "leaf", "deep"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(readBelow(root_, deep + "leaf"), "deep");
  // A long path that climbs out at the end.
  std::string climb = deep;
  for (int i = 0; i < 52; i++) climb += "../";
  EXPECT_FALSE(unpack(HostileTar().file(climb + "escape")));
  // A very long symlink target pointing out, then a write through it.
  std::string target;
  for (int i = 0; i < 40; i++) target += "../";
  target += "victim";
  EXPECT_FALSE(unpack(HostileTar().symlink("ls", target).file("ls/pwned")));
}

TEST_F(SnapshotHostile, SetuidIsKept) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to keep setuid with owner 0";
  auto r = unpack(HostileTar().file("bin/su", "#!", 04755).file("bin/sg", "#!", 02755));
  ASSERT_TRUE(r) << r.error().message;
  struct stat st;
  ASSERT_EQ(lstat(in("bin/su").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  ASSERT_EQ(lstat(in("bin/sg").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 02755u);
}

TEST_F(SnapshotHostile, XattrsKeptOnTheEntryOnly) {
  HEntry f;
  f.name = "xa";
  f.data = "x";
  f.xattrs = {{"user.berth.test", "value"}};
  HEntry d;
  d.name = "s";
  d.type = AE_IFDIR;
  d.mode = 0755;
  d.xattrs = {{"user.berth.test", "dir"}};
  auto r = unpack(HostileTar().add(f).symlink("s", victim_).add(d));
  if (!r && r.error().err == ENOTSUP) GTEST_SKIP() << "no user xattrs on this fs";
  ASSERT_TRUE(r) << r.error().message;
  char buf[64] = {};
  ssize_t n = lgetxattr(in("xa").c_str(), "user.berth.test", buf, sizeof buf);
  if (n < 0 && errno == ENOTSUP) GTEST_SKIP() << "no user xattrs on this fs";
  ASSERT_EQ(n, 5);
  EXPECT_EQ(std::string(buf, 5), "value");
  EXPECT_LT(getxattr(victim_.c_str(), "user.berth.test", buf, sizeof buf), 0);
}

TEST_F(SnapshotHostile, OverlayXattrsFromTheLayerAreDropped) {
  HEntry d;
  d.name = "d";
  d.type = AE_IFDIR;
  d.mode = 0755;
  d.xattrs = {{"trusted.overlay.redirect", "/etc"}, {"trusted.overlay.opaque", "y"}, {"user.keep", "1"}};
  auto r = unpack(HostileTar().add(d));
  ASSERT_TRUE(r) << r.error().message;
  char buf[64];
  EXPECT_LT(lgetxattr(in("d").c_str(), "trusted.overlay.redirect", buf, sizeof buf), 0);
  EXPECT_LT(lgetxattr(in("d").c_str(), "trusted.overlay.opaque", buf, sizeof buf), 0);
}

TEST_F(SnapshotHostile, HardlinkToDirectoryOrMissingTargetIsInvalid) {
  EXPECT_FALSE(unpack(HostileTar().dir("d").hardlink("h", "d")));
  EXPECT_FALSE(unpack(HostileTar().hardlink("h2", "nothere")));
  EXPECT_FALSE(unpack(HostileTar().hardlink("h3", "no/dir/here")));
}

TEST_F(SnapshotHostile, SnapshotterApplyLeavesNothingOnFailure) {
  std::string p = tars_ / "evil.tar";
  ASSERT_TRUE(writeFileAtomic(p, HostileTar().symlink("link", victim_).file("link/pwned").str()));
  snapshot::Snapshotter snaps(tmp_ / "layers/snaps");
  ASSERT_TRUE(snaps.init());
  std::string id = "sha256:" + std::string(64, 'a');
  auto r = snaps.apply(id, p);
  EXPECT_FALSE(r);
  EXPECT_FALSE(snaps.exists(id));
  EXPECT_FALSE(lexists(victim_ + "/pwned"));
}

}  // namespace
