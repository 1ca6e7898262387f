// libFuzzer target: the layer tar reader (src/snapshot/snapshotter.*
// unpackLayer), libarchive driven by berth's path checks: cleanEntryPath,
// whiteouts, hard links, symlinks, xattrs, device nodes.
// Input: a layer as a registry serves it (plain tar, or gzip/bzip2/xz/zstd).
// Each input is unpacked into a fresh directory BASE/root beside an empty
// BASE/decoy, BASE a temp dir made once under $TMPDIR (default /tmp) and
// removed at exit. As root, the target first enters its own mount namespace
// and mounts a 256 MiB tmpfs on BASE: a decompression bomb fills that, not
// the disk, and the tmpfs vanishes with the process.
// Checks: no crash, no UB, no leak; nothing lands outside BASE/root (BASE
// holds exactly root and decoy, decoy stays empty) whatever the tar says;
// cleanEntryPath of every fuzz input stays relative and free of "..".

#include <dirent.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "common/util.h"
#include "snapshot/snapshotter.h"

namespace {

std::string gBase;

void removeBase() {
  if (gBase.empty()) return;
  ::umount2(gBase.c_str(), MNT_DETACH);  // the tmpfs, when mounted
  (void)berth::removeAll(gBase);
}

std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.insert(n);
    }
    ::closedir(d);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* tmp = getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/berth-fuzz-tar.XXXXXX";
  if (!::mkdtemp(tmpl.data())) {
    perror("mkdtemp");
    std::abort();
  }
  gBase = tmpl;
  std::atexit(removeBase);
  if (::geteuid() == 0) {
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", gBase.c_str(), "tmpfs", MS_NOSUID, "size=256m,mode=0700") != 0) {
      perror("tar fuzz: private tmpfs");
      std::abort();
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view name(reinterpret_cast<const char*>(data), std::min<size_t>(size, 256));
  if (auto clean = berth::snapshot::cleanEntryPath(name)) {
    if (clean->starts_with("/") || *clean == ".." || clean->starts_with("../") || clean->find("/../") != std::string::npos ||
        clean->ends_with("/.."))
      std::abort();
  }

  std::string root = gBase + "/root", decoy = gBase + "/decoy";
  if (::mkdir(root.c_str(), 0755) != 0 || ::mkdir(decoy.c_str(), 0755) != 0) std::abort();
  int fd = ::memfd_create("layer", MFD_CLOEXEC);
  if (fd < 0) std::abort();
  for (size_t off = 0; off < size;) {
    ssize_t n = ::write(fd, data + off, size - off);
    if (n <= 0) std::abort();
    off += size_t(n);
  }
  ::lseek(fd, 0, SEEK_SET);
  (void)berth::snapshot::unpackLayer(fd, root);
  ::close(fd);

  if (entries(gBase) != std::set<std::string>{"root", "decoy"} || !entries(decoy).empty()) {
    fprintf(stderr, "tar fuzz: an entry escaped the layer root\n");
    std::abort();
  }
  if (!berth::removeAll(root) || !berth::removeAll(decoy)) std::abort();
  return 0;
}
