// The diff walker and the whiteout-aware tar writers over temp dirs (root:
// overlay whiteouts are 0/0 char devices, opaque dirs a trusted.* xattr).
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>

#include "common/fd.h"
#include "container/changes.h"
#include "fake_http.h"
#include "snapshot/snapshotter.h"

using namespace berth;
using container::Change;
using container::ChangeKind;
using fakehttp::TempDir;

namespace {

void mkdirMode(const std::string& p, mode_t m) {
  ASSERT_EQ(::mkdir(p.c_str(), m), 0) << p;
  ASSERT_EQ(::chmod(p.c_str(), m), 0);
}
void writeF(const std::string& p, const std::string& s) { ASSERT_TRUE(writeFileAtomic(p, s)); }

// lower: etc/{x,keep}, tmp/, opq/a. upper: etc/keep changed, etc/x deleted,
// opq made opaque with opq/b, tmp/new added, proc/ (a runtime mount point).
struct Fixture {
  TempDir tmp;
  std::string lower = tmp / "lower", upper = tmp / "upper";
  Fixture() {
    mkdirMode(lower, 0755);
    mkdirMode(lower + "/etc", 0755);
    writeF(lower + "/etc/x", "x");
    writeF(lower + "/etc/keep", "old");
    mkdirMode(lower + "/tmp", 01777);
    mkdirMode(lower + "/opq", 0755);
    writeF(lower + "/opq/a", "a");
    mkdirMode(lower + "/same", 0755);

    mkdirMode(upper, 0755);
    mkdirMode(upper + "/etc", 0755);
    writeF(upper + "/etc/keep", "new");
    EXPECT_EQ(::mknod((upper + "/etc/x").c_str(), S_IFCHR, makedev(0, 0)), 0);
    mkdirMode(upper + "/tmp", 01777);
    writeF(upper + "/tmp/new", "hello");
    EXPECT_EQ(::setxattr((upper + "/tmp/new").c_str(), "user.k", "v", 1, 0), 0);
    EXPECT_EQ(::link((upper + "/tmp/new").c_str(), (upper + "/tmp/link").c_str()), 0);
    EXPECT_EQ(::symlink("/etc/keep", (upper + "/tmp/sym").c_str()), 0);
    mkdirMode(upper + "/opq", 0755);
    EXPECT_EQ(::setxattr((upper + "/opq").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
    writeF(upper + "/opq/b", "b");
    mkdirMode(upper + "/proc", 0755);
    mkdirMode(upper + "/same", 0755);  // copied up, nothing changed below
  }
};

struct TarEntry {
  mode_t type;
  std::string data, link, symlink;
  std::map<std::string, std::string> xattrs;
};

std::vector<std::pair<std::string, TarEntry>> readTar(const std::string& bytes) {
  std::vector<std::pair<std::string, TarEntry>> out;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, bytes.data(), bytes.size()), ARCHIVE_OK);
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    TarEntry t;
    t.type = archive_entry_filetype(e);
    if (const char* h = archive_entry_hardlink(e)) t.link = h;
    if (const char* s = archive_entry_symlink(e)) t.symlink = s;
    archive_entry_xattr_reset(e);
    const char* name;
    const void* val;
    size_t size;
    while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK)
      t.xattrs[name] = std::string(static_cast<const char*>(val), size);
    char buf[4096];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) t.data.append(buf, size_t(n));
    out.emplace_back(archive_entry_pathname(e), t);
  }
  archive_read_free(a);
  return out;
}

std::string collect(const std::function<Result<>(const container::TarSink&)>& fn) {
  std::string bytes;
  auto r = fn([&](const void* d, size_t n) {
    bytes.append(static_cast<const char*>(d), n);
    return true;
  });
  EXPECT_TRUE(r) << r.error().message;
  return bytes;
}

}  // namespace

TEST(ContainerChanges, AddedChangedDeletedLikeDockerDiff) {
  Fixture f;
  auto ch = container::computeChanges(f.upper, {f.lower});
  ASSERT_TRUE(ch) << ch.error().message;
  std::vector<std::pair<std::string, int>> got;
  for (auto& c : *ch) got.emplace_back(c.path, int(c.kind));
  std::vector<std::pair<std::string, int>> want = {
      {"/etc", 0},   {"/etc/keep", 0}, {"/etc/x", 2},   {"/opq", 0},     {"/opq/b", 1},
      {"/tmp", 0},   {"/tmp/link", 1}, {"/tmp/new", 1}, {"/tmp/sym", 1},
  };
  EXPECT_EQ(got, want);
  EXPECT_TRUE((*ch)[3].opaque);
}

TEST(ContainerChanges, MissingUpperIsAnError) {
  TempDir tmp;
  EXPECT_FALSE(container::computeChanges(tmp / "nope", {}));
}

TEST(ContainerChanges, LayerTarHasOciWhiteoutsAndRoundTrips) {
  Fixture f;
  auto ch = container::computeChanges(f.upper, {f.lower});
  ASSERT_TRUE(ch);
  std::string bytes = collect([&](auto& sink) { return container::writeLayerTar(f.upper, *ch, sink); });
  auto entries = readTar(bytes);
  std::vector<std::string> names;
  for (auto& [n, e] : entries) names.push_back(n);
  std::vector<std::string> want = {"etc/",     "etc/keep",  "etc/.wh.x", "opq/",     "opq/.wh..wh..opq",
                                   "opq/b",    "tmp/",      "tmp/link",  "tmp/new",  "tmp/sym"};
  EXPECT_EQ(names, want);
  std::map<std::string, TarEntry> byName(entries.begin(), entries.end());
  EXPECT_EQ(byName["etc/keep"].data, "new");
  EXPECT_EQ(byName["tmp/link"].data, "hello");
  EXPECT_EQ(byName["tmp/new"].link, "tmp/link");
  EXPECT_EQ(byName["tmp/sym"].symlink, "/etc/keep");
  EXPECT_EQ(byName["tmp/link"].xattrs["user.k"], "v");
  EXPECT_EQ(byName["opq/"].xattrs.count("trusted.overlay.opaque"), 0u);

  // Unpacked by the snapshotter, the layer has overlay whiteouts again.
  std::string p = f.tmp / "layer.tar", dest = f.tmp / "unpacked";
  ASSERT_TRUE(writeFileAtomic(p, bytes));
  ASSERT_TRUE(mkdirAll(dest));
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  auto st = snapshot::unpackLayer(fd.get(), dest);
  ASSERT_TRUE(st) << st.error().message;
  struct stat wh;
  ASSERT_EQ(::lstat((dest + "/etc/x").c_str(), &wh), 0);
  EXPECT_TRUE(S_ISCHR(wh.st_mode));
  EXPECT_EQ(wh.st_rdev, makedev(0, 0));
  char v[4] = {};
  EXPECT_EQ(::getxattr((dest + "/opq").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
}

TEST(ContainerChanges, MergedTarAppliesWhiteoutsAndOpaqueDirs) {
  Fixture f;
  std::string bytes = collect([&](auto& sink) { return container::writeMergedTar(f.upper, {f.lower}, sink); });
  auto entries = readTar(bytes);
  std::map<std::string, TarEntry> byName(entries.begin(), entries.end());
  EXPECT_EQ(byName.count("etc/x"), 0u);
  EXPECT_EQ(byName.count("opq/a"), 0u);
  EXPECT_EQ(byName["opq/b"].data, "b");
  EXPECT_EQ(byName["etc/keep"].data, "new");
  EXPECT_EQ(byName.count("tmp/new") + byName.count("tmp/link"), 2u);
  EXPECT_EQ(byName.count("same/"), 1u);
  for (auto& [n, e] : entries) EXPECT_FALSE(n.starts_with("./")) << n;
}
