// Tar-bomb limits (common/unpack_limits.h) and the unpack paths that use
// them: layer unpack, cp/build-context extraction, ADD's LayerTar; and the
// LayerTar that once padded an 8 GiB entry header after a failed extract.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/copy.h"
#include "common/fd.h"
#include "common/unpack_limits.h"
#include "common/util.h"
#include "container/archive.h"
#include "daemon/config.h"
#include "fake_http.h"
#include "image/archive.h"
#include "snapshot/snapshotter.h"

using namespace berth;
using fakehttp::TarBuilder;
using fakehttp::TempDir;

namespace {

// A gzip'd tar holding one file of `zeros` zero bytes: ~1000:1.
std::string gzipBomb(size_t zeros) { return TarBuilder().file("zeros", std::string(zeros, '\0')).str("gzip"); }

UnpackLimits noReserve(uint32_t ratio) {
  UnpackLimits l;
  l.maxExpansionRatio = ratio;
  l.minFreeBytes = 0;
  return l;
}

container::TarSource sourceOf(const std::string& data) {
  auto pos = std::make_shared<size_t>(0);
  return [data, pos](char* buf, size_t n) -> Result<size_t> {
    size_t k = std::min(n, data.size() - *pos);
    memcpy(buf, data.data() + *pos, k);
    *pos += k;
    return k;
  };
}

Result<daemon::Config> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "berthd");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return daemon::parseArgs(static_cast<int>(argv.size()), argv.data());
}

// One ustar header block (name and link at most 99 bytes).
std::string ustar(const std::string& name, uint64_t size, char type, const std::string& link = "", int mode = 0644) {
  std::string h(512, '\0');
  memcpy(h.data(), name.data(), name.size());
  snprintf(h.data() + 100, 8, "%07o", mode);
  snprintf(h.data() + 108, 8, "%07o", 0);
  snprintf(h.data() + 116, 8, "%07o", 0);
  snprintf(h.data() + 124, 12, "%011llo", static_cast<unsigned long long>(size));
  snprintf(h.data() + 136, 12, "%011o", 0);
  h[156] = type;
  memcpy(h.data() + 157, link.data(), link.size());
  memcpy(h.data() + 257, "ustar\0" "00", 8);
  memset(h.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char ch : h) sum += ch;
  snprintf(h.data() + 148, 8, "%06o", sum);
  return h;
}

std::string padded(std::string data) { return data + std::string((512 - data.size() % 512) % 512, '\0'); }

}  // namespace

// Regression (found by tests/e2e/hostile_tar.py, case hardlink-data-symlink):
// a pax hard link carrying data, to a symlink that points at a host file,
// made libarchive chmod that host file to the entry's mode.
TEST(UnpackLimits, LayerHardLinkWithDataNeverTouchesTheSymlinksTarget) {
  TempDir tmp;
  ASSERT_TRUE(writeFileAtomic(tmp / "victim", "victim data"));
  ASSERT_EQ(chmod((tmp / "victim").c_str(), 0600), 0);
  std::string paxBody = "10 size=5\n";
  std::string tar = ustar("s", 0, '2', tmp / "victim", 0777) + ustar("PaxHeaders/h", paxBody.size(), 'x') +
                    padded(paxBody) + ustar("h", 5, '1', "s", 0666) + padded("pwned") + std::string(1024, '\0');
  ASSERT_TRUE(writeFileAtomic(tmp / "layer.tar", tar));
  ASSERT_TRUE(mkdirAll(tmp / "root"));
  UniqueFd fd(open((tmp / "layer.tar").c_str(), O_RDONLY | O_CLOEXEC));
  auto r = snapshot::unpackLayer(fd.get(), tmp / "root", noReserve(200));
  ASSERT_TRUE(r) << r.error().message;
  struct stat st {};
  ASSERT_EQ(stat((tmp / "victim").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(*readFile(tmp / "victim"), "victim data");
  ASSERT_EQ(lstat((tmp / "root/h").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST(UnpackLimits, RatioOnlyPastTheFloorAndOnlyForCompressedInput) {
  ExpansionGuard g(noReserve(200), "layer");
  // Under the floor any ratio passes.
  EXPECT_TRUE(g.check(1, kExpansionFloor, true));
  // Past it, 200x is refused, 199x is not.
  EXPECT_TRUE(g.check(kExpansionFloor / 100, kExpansionFloor / 100 * 199, true));
  auto r = g.check(1 << 10, (1 << 10) * 200ull + kExpansionFloor, true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::InvalidArgument);
  EXPECT_NE(r.error().message.find("max-expansion-ratio"), std::string::npos) << r.error().message;
  // Uncompressed input is never a bomb; ratio 0 turns the check off.
  EXPECT_TRUE(g.check(1, 1ull << 40, false));
  ExpansionGuard off(noReserve(0), "layer");
  EXPECT_TRUE(off.check(1, 1ull << 40, true));
}

TEST(UnpackLimits, FreeSpaceReserve) {
  TempDir dir;
  UnpackLimits l;
  l.minFreeBytes = 1ull << 62;  // more than any disk
  l.fsPath = dir.path();
  ExpansionGuard g(l, "layer");
  auto r = g.checkFree();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::InvalidArgument);
  EXPECT_NE(r.error().message.find("min-free-space"), std::string::npos) << r.error().message;
  EXPECT_FALSE(g.check(1, 1, false));
  l.minFreeBytes = 1;
  EXPECT_TRUE(ExpansionGuard(l, "layer").checkFree());
  l.fsPath = "";  // no path: no check
  l.minFreeBytes = 1ull << 62;
  EXPECT_TRUE(ExpansionGuard(l, "layer").checkFree());
}

TEST(UnpackLimits, LayerGzipBombIsRefusedAndAnOrdinaryLayerIsNot) {
  TempDir tmp;
  std::string bomb = gzipBomb(24 << 20);
  ASSERT_LT(bomb.size(), 200u << 10);
  ASSERT_TRUE(writeFileAtomic(tmp / "bomb.tar.gz", bomb));
  ASSERT_TRUE(mkdirAll(tmp / "a"));
  UniqueFd fd(open((tmp / "bomb.tar.gz").c_str(), O_RDONLY | O_CLOEXEC));
  auto r = snapshot::unpackLayer(fd.get(), tmp / "a", noReserve(200));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::InvalidArgument);
  EXPECT_NE(r.error().message.find("max-expansion-ratio"), std::string::npos) << r.error().message;
  // The same layer with the limit off unpacks.
  ASSERT_TRUE(mkdirAll(tmp / "b"));
  UniqueFd fd2(open((tmp / "bomb.tar.gz").c_str(), O_RDONLY | O_CLOEXEC));
  auto ok = snapshot::unpackLayer(fd2.get(), tmp / "b", noReserve(0));
  ASSERT_TRUE(ok) << ok.error().message;
  struct stat st {};
  ASSERT_EQ(stat((tmp / "b/zeros").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 24 << 20);
  // A free-space reserve no disk meets stops the unpack before anything is written.
  UnpackLimits full;
  full.minFreeBytes = 1ull << 62;
  full.fsPath = tmp.path();
  ASSERT_TRUE(mkdirAll(tmp / "c"));
  std::string small = TarBuilder().file("f", "x").str();
  ASSERT_TRUE(writeFileAtomic(tmp / "small.tar", small));
  UniqueFd fd3(open((tmp / "small.tar").c_str(), O_RDONLY | O_CLOEXEC));
  auto nf = snapshot::unpackLayer(fd3.get(), tmp / "c", full);
  ASSERT_FALSE(nf);
  EXPECT_NE(nf.error().message.find("min-free-space"), std::string::npos);
  EXPECT_NE(access((tmp / "c/f").c_str(), F_OK), 0);
}

TEST(UnpackLimits, CpExtractionRefusesAGzipBomb) {
  TempDir tmp;
  ASSERT_TRUE(mkdirAll(tmp / "root"));
  UniqueFd root(open((tmp / "root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  container::ExtractOptions o;
  o.limits = noReserve(200);
  auto r = container::extractTarToRoot(root.get(), "/", sourceOf(gzipBomb(24 << 20)), o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::InvalidArgument);
  EXPECT_NE(r.error().message.find("max-expansion-ratio"), std::string::npos) << r.error().message;
}

TEST(UnpackLimits, CpExtractionRefusesPathsTheKernelCannotName) {
  TempDir tmp;
  ASSERT_TRUE(mkdirAll(tmp / "root"));
  UniqueFd root(open((tmp / "root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::string deep;
  for (int i = 0; i < 20; i++) deep += std::string(250, 'n') + "/";
  for (const std::string& name : {deep + "f", std::string(300, 'c')}) {
    auto r = container::extractTarToRoot(root.get(), "/", sourceOf(TarBuilder().file(name, "x").str()), {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Code::InvalidArgument) << r.error().message;
    EXPECT_NE(r.error().message.find("file name too long"), std::string::npos) << r.error().message;
  }
}

// ADD of a local tar whose only entry claims 8 GiB over 1 KiB of data: the
// extract fails, and destroying the LayerTar must not pad the entry out.
TEST(UnpackLimits, LayerTarWritesNothingMoreAfterAFailedExtract) {
  TempDir tmp;
  std::string hdr = ustar("big", (1ull << 33) - 1, '0');
  ASSERT_TRUE(writeFileAtomic(tmp / "case.tar", hdr + std::string(1024, 'B')));
  size_t written = 0;
  {
    build::LayerTar tar([&](const void*, size_t n) -> Result<> {
      written += n;
      return {};
    });
    auto r = tar.extract("add", tmp / "case.tar", std::nullopt, noReserve(200));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Code::InvalidArgument) << r.error().message;
  }
  EXPECT_LT(written, size_t(1) << 20);
}

TEST(UnpackLimits, LayerTarRefusesAGzipBomb) {
  TempDir tmp;
  ASSERT_TRUE(writeFileAtomic(tmp / "bomb.tar.gz", gzipBomb(24 << 20)));
  size_t written = 0;
  build::LayerTar tar([&](const void*, size_t n) -> Result<> {
    written += n;
    return {};
  });
  auto r = tar.extract("add", tmp / "bomb.tar.gz", std::nullopt, noReserve(200));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("max-expansion-ratio"), std::string::npos) << r.error().message;
  EXPECT_LT(written, size_t(20) << 20);
}

TEST(UnpackLimits, DaemonFlagsAndDaemonJson) {
  TempDir dir;
  auto d = parse({"--config-file", dir / "none.json"});
  ASSERT_FALSE(d);  // a named config file must exist
  ASSERT_TRUE(writeFileAtomic(dir / "empty.json", "{}"));
  d = parse({"--config-file", dir / "empty.json"});
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->unpack.maxExpansionRatio, 200u);
  EXPECT_EQ(d->unpack.minFreeBytes, 256ull << 20);
  auto f = parse({"--config-file", dir / "empty.json", "--max-expansion-ratio", "50", "--min-free-space=2g"});
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->unpack.maxExpansionRatio, 50u);
  EXPECT_EQ(f->unpack.minFreeBytes, 2ull << 30);
  EXPECT_FALSE(parse({"--config-file", dir / "empty.json", "--max-expansion-ratio", "-1"}));
  EXPECT_FALSE(parse({"--config-file", dir / "empty.json", "--min-free-space", "lots"}));
  ASSERT_TRUE(writeFileAtomic(dir / "d.json", R"({"max-expansion-ratio": 0, "min-free-space": "512m"})"));
  auto j = parse({"--config-file", dir / "d.json"});
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ(j->unpack.maxExpansionRatio, 0u);
  EXPECT_EQ(j->unpack.minFreeBytes, 512ull << 20);
  // A flag wins over the file.
  auto both = parse({"--config-file", dir / "d.json", "--min-free-space", "0"});
  ASSERT_TRUE(both);
  EXPECT_EQ(both->unpack.minFreeBytes, 0u);
  ASSERT_TRUE(writeFileAtomic(dir / "bad.json", R"({"max-expansion-ratio": "many"})"));
  EXPECT_FALSE(parse({"--config-file", dir / "bad.json"}));
  ASSERT_TRUE(writeFileAtomic(dir / "bad2.json", R"({"min-free-space": -5})"));
  EXPECT_FALSE(parse({"--config-file", dir / "bad2.json"}));
}

// docker load of a gzip'd archive: the outer archive itself is bounded.
TEST(UnpackLimits, LoadArchiveGzipBombIsRefused) {
  TempDir tmp;
  ASSERT_TRUE(mkdirAll(tmp / "out"));
  fakehttp::StringBody body(gzipBomb(24 << 20));
  auto r = image::archive::extractArchive(body, tmp / "out", noReserve(200));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::InvalidArgument);
  EXPECT_NE(r.error().message.find("max-expansion-ratio"), std::string::npos) << r.error().message;
  fakehttp::StringBody again(gzipBomb(24 << 20));
  ASSERT_TRUE(mkdirAll(tmp / "off"));
  EXPECT_TRUE(image::archive::extractArchive(again, tmp / "off", noReserve(0)));
}
