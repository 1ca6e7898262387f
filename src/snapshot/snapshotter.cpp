#include "snapshot/snapshotter.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <vector>

#include "common/fd.h"
#include "common/sha256.h"
#include "common/util.h"

namespace berth::snapshot {

namespace {

constexpr int kExtractFlags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER |
                              ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                              ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;

std::string archiveErr(struct archive* a, std::string_view what) {
  const char* s = archive_error_string(a);
  return fmt::format("{}: {}", what, s ? s : "unknown libarchive error");
}

// Opens the directory rel (relative to the cwd = layer root) without
// following symlinks in any component. create: mkdir missing components.
Result<UniqueFd> openDirInRoot(const std::string& rel, bool create) {
  UniqueFd cur(::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cur) return sysError(errno, "open layer root");
  if (rel.empty()) return cur;
  for (const auto& comp : split(rel, '/')) {
    if (comp.empty()) continue;
    int fd = ::openat(cur.get(), comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(cur.get(), comp.c_str(), 0755) != 0 && errno != EEXIST) return sysError(errno, "mkdir {}", rel);
      fd = ::openat(cur.get(), comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      if (errno == ELOOP || errno == ENOTDIR)
        return errorf(Code::InvalidArgument, "invalid tar entry: path {:?} goes through a symlink or non-directory", rel);
      return sysError(errno, "open {}", rel);
    }
    cur.reset(fd);
  }
  return cur;
}

std::pair<std::string, std::string> splitParent(const std::string& rel) {
  auto slash = rel.rfind('/');
  if (slash == std::string::npos) return {"", rel};
  return {rel.substr(0, slash), rel.substr(slash + 1)};
}

// Overlay's own xattrs (trusted.overlay.opaque/redirect/metacopy/origin)
// steer how overlayfs merges layers; a layer may only express whiteouts and
// opaque directories through OCI .wh. entries, never set them directly.
void dropOverlayXattrs(struct archive_entry* e) {
  if (archive_entry_xattr_reset(e) == 0) return;
  struct Xattr {
    std::string name;
    std::string value;
  };
  std::vector<Xattr> keep;
  bool dropped = false;
  const char* name;
  const void* value;
  size_t size;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    if (startsWith(name, "trusted.overlay.")) {
      dropped = true;
      continue;
    }
    keep.push_back({name, std::string(static_cast<const char*>(value), size)});
  }
  if (!dropped) return;
  archive_entry_xattr_clear(e);
  for (auto& x : keep) archive_entry_xattr_add_entry(e, x.name.c_str(), x.value.data(), x.value.size());
}

// Runs in a thread whose cwd is the layer root (its own fs_struct).
Result<UnpackStats> unpackHere(int tarFd, const UnpackLimits& limits) {
  UnpackStats st;
  ExpansionGuard guard(limits, "layer");
  TRY(guard.checkFree());
  struct archive* a = archive_read_new();
  struct archive* ext = archive_write_disk_new();
  ScopeExit free_([&] {
    archive_read_free(a);
    archive_write_free(ext);
  });
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  archive_write_disk_set_options(ext, kExtractFlags);
  // No archive_write_disk_set_standard_lookup: keep the tar's numeric ids,
  // never map names through the host's passwd/group.
  if (archive_read_open_fd(a, tarFd, 1 << 17) != ARCHIVE_OK)
    return makeError(Code::InvalidArgument, archiveErr(a, "invalid layer tar"));

  for (;;) {
    struct archive_entry* e = nullptr;
    int rc = archive_read_next_header(a, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return makeError(Code::InvalidArgument, archiveErr(a, "invalid layer tar"));
    st.entries++;
    const char* rawName = archive_entry_pathname(e);
    if (!rawName) return makeError(Code::InvalidArgument, "invalid layer tar: entry without a name");
    TRY_ASSIGN(std::string rel, cleanEntryPath(rawName));
    if (rel.empty()) {
      // The root itself ("./"): apply its mode and owner, nothing to create.
      if (archive_entry_filetype(e) == AE_IFDIR) {
        ::chmod(".", archive_entry_perm(e));
        if (::lchown(".", uid_t(archive_entry_uid(e)), gid_t(archive_entry_gid(e))) != 0) { /* best effort */ }
      }
      continue;
    }
    auto [parent, base] = splitParent(rel);

    // OCI whiteouts -> overlay whiteouts.
    if (startsWith(base, ".wh.")) {
      TRY_ASSIGN(UniqueFd pfd, openDirInRoot(parent, true));
      if (base == ".wh..wh..opq") {
        if (::fsetxattr(pfd.get(), "trusted.overlay.opaque", "y", 1, 0) != 0)
          return sysError(errno, "set opaque xattr on {:?}", parent);
      } else if (!startsWith(base, ".wh..wh.")) {
        std::string victim = base.substr(4);
        if (victim.empty() || victim == "." || victim == "..")
          return errorf(Code::InvalidArgument, "invalid whiteout {:?}", rel);
        (void)::unlinkat(pfd.get(), victim.c_str(), 0);
        if (::mknodat(pfd.get(), victim.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0)
          return sysError(errno, "create whiteout for {:?}", parent.empty() ? victim : parent + "/" + victim);
      }
      continue;  // other .wh..wh.* entries are aufs metadata
    }

    archive_entry_set_pathname(e, rel.c_str());
    dropOverlayXattrs(e);
    if (const char* hl = archive_entry_hardlink(e)) {
      TRY_ASSIGN(std::string target, cleanEntryPath(hl));
      if (target.empty()) return errorf(Code::InvalidArgument, "invalid hard link {:?} to the root", rel);
      // The link target's directories must be real directories in the root
      // and the target an earlier entry of the layer (a missing target is a
      // bad layer, not a missing host file).
      auto [tparent, tbase] = splitParent(target);
      auto tdir = openDirInRoot(tparent, false);
      if (!tdir && tdir.error().err == ENOENT)
        return errorf(Code::InvalidArgument, "invalid hard link {:?}: target {:?} is not in the layer", rel, target);
      if (!tdir) return std::unexpected(tdir.error());
      struct stat tst;
      if (::fstatat(tdir->get(), tbase.c_str(), &tst, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT)
          return errorf(Code::InvalidArgument, "invalid hard link {:?}: target {:?} is not in the layer", rel, target);
        return sysError(errno, "stat hard link target {:?}", target);
      }
      if (S_ISDIR(tst.st_mode))
        return errorf(Code::InvalidArgument, "invalid hard link {:?}: target {:?} is a directory", rel, target);
      archive_entry_set_hardlink(e, target.c_str());
      // A pax hard link may carry data and metadata; libarchive then applies
      // the entry's mode, owner and times with calls that follow symlinks,
      // so a hard link to a symlink pointing out of the root would chmod the
      // host file it names. A hard link here is only a name: no data, no
      // metadata of its own.
      archive_entry_set_size(e, 0);
    } else if (archive_entry_filetype(e) == AE_IFREG) {
      st.size += archive_entry_size(e);
    } else if (archive_entry_filetype(e) == AE_IFLNK) {
      if (const char* t = archive_entry_symlink(e)) st.size += int64_t(strlen(t));
    }

    rc = archive_write_header(ext, e);
    if (rc < ARCHIVE_WARN) {
      Code c = rc == ARCHIVE_FAILED ? Code::InvalidArgument : Code::Internal;
      return makeError(c, archiveErr(ext, fmt::format("unpack {:?}", rel)));
    }
    if (archive_entry_size(e) > 0 && !archive_entry_hardlink(e)) {
      const void* buf;
      size_t size;
      la_int64_t off;
      for (;;) {
        rc = archive_read_data_block(a, &buf, &size, &off);
        if (rc == ARCHIVE_EOF) break;
        if (rc < ARCHIVE_WARN) return makeError(Code::InvalidArgument, archiveErr(a, "invalid layer tar"));
        if (archive_write_data_block(ext, buf, size, off) < ARCHIVE_WARN)
          return makeError(Code::Internal, archiveErr(ext, fmt::format("write {:?}", rel)));
        TRY(guard.check(uint64_t(archive_filter_bytes(a, -1)), uint64_t(archive_filter_bytes(a, 0)),
                        archive_filter_count(a) > 1));
      }
    }
    rc = archive_write_finish_entry(ext);
    if (rc < ARCHIVE_WARN) return makeError(Code::Internal, archiveErr(ext, fmt::format("finish {:?}", rel)));
  }
  if (archive_write_close(ext) < ARCHIVE_WARN) return makeError(Code::Internal, archiveErr(ext, "finish unpack"));
  return st;
}

}  // namespace

Result<std::string> cleanEntryPath(std::string_view name) {
  std::vector<std::string> parts;
  for (auto& comp : split(name, '/')) {
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      if (parts.empty())
        return errorf(Code::InvalidArgument, "invalid tar entry {:?}: path escapes the layer root", std::string(name));
      parts.pop_back();
      continue;
    }
    parts.push_back(comp);
  }
  std::string out;
  for (auto& p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

Result<UnpackStats> unpackLayer(int tarFd, const std::string& destDir, const UnpackLimits& limits) {
  UniqueFd dfd(::open(destDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) return sysError(errno, "open {}", destDir);
  Result<UnpackStats> out = makeError(Code::Internal, "unpack did not run");
  // The unpack thread gets its own cwd/umask (CLONE_FS) so libarchive's
  // relative paths and its chdir-based symlink checks stay inside destDir
  // without touching the daemon's cwd.
  std::thread t([&] {
    if (::unshare(CLONE_FS) != 0) {
      out = sysError(errno, "unshare(CLONE_FS)");
      return;
    }
    if (::fchdir(dfd.get()) != 0) {
      out = sysError(errno, "chdir {}", destDir);
      return;
    }
    ::umask(0);
    out = unpackHere(tarFd, limits);
  });
  t.join();
  return out;
}

// ---- Snapshotter ----

Result<> Snapshotter::init() {
  TRY(mkdirAll(root_, 0700));
  if (DIR* d = ::opendir(root_.c_str())) {
    std::vector<std::string> stale;
    while (dirent* e = ::readdir(d))
      if (startsWith(e->d_name, ".tmp-")) stale.push_back(root_ + "/" + e->d_name);
    ::closedir(d);
    for (auto& p : stale) (void)removeAll(p);
  }
  return {};
}

Result<std::string> Snapshotter::dir(std::string_view chainId) const {
  if (!isValidDigest(chainId)) return errorf(Code::InvalidArgument, "invalid chain id {:?}", std::string(chainId));
  return root_ + "/" + std::string(chainId.substr(7)) + "/fs";
}

bool Snapshotter::exists(std::string_view chainId) const {
  auto d = dir(chainId);
  struct stat st;
  return d && ::stat(d->c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<Snapshotter::Applied> Snapshotter::apply(std::string_view chainId, const std::string& tarPath) {
  TRY_ASSIGN(std::string fsDir, dir(chainId));
  Applied res;
  if (exists(chainId)) return res;
  std::string tmp = root_ + "/.tmp-" + randomHexId().substr(0, 16);
  ScopeExit cleanup([&] { (void)removeAll(tmp); });
  if (::mkdir(tmp.c_str(), 0700) != 0) return sysError(errno, "mkdir {}", tmp);
  std::string tmpFs = tmp + "/fs";
  if (::mkdir(tmpFs.c_str(), 0755) != 0) return sysError(errno, "mkdir {}", tmpFs);
  UniqueFd tar(::open(tarPath.c_str(), O_RDONLY | O_CLOEXEC));
  if (!tar) return sysError(errno, "open {}", tarPath);
  TRY_ASSIGN(res.stats, unpackLayer(tar.get(), tmpFs, limits_));
  {
    UniqueFd fd(::open(tmpFs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd || ::syncfs(fd.get()) != 0) return sysError(errno, "sync {}", tmpFs);
  }
  std::string final_ = root_ + "/" + std::string(chainId.substr(7));
  if (::rename(tmp.c_str(), final_.c_str()) != 0) {
    if (errno == EEXIST || errno == ENOTEMPTY) return res;  // another unpack won; ours is dropped
    return sysError(errno, "rename {} to {}", tmp, final_);
  }
  cleanup.dismiss();
  UniqueFd rfd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (rfd) ::fsync(rfd.get());
  res.created = true;
  return res;
}

Result<> Snapshotter::remove(std::string_view chainId) {
  TRY_ASSIGN(std::string fsDir, dir(chainId));
  std::string top = fsDir.substr(0, fsDir.size() - 3);
  // Rename first so a crash never leaves a half-removed snapshot under its id.
  std::string tmp = root_ + "/.tmp-rm-" + randomHexId().substr(0, 16);
  if (::rename(top.c_str(), tmp.c_str()) != 0) {
    if (errno == ENOENT) return {};
    return sysError(errno, "rename {}", top);
  }
  return removeAll(tmp);
}

}  // namespace berth::snapshot
