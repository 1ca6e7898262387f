#include "container/changes.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "common/fd.h"
#include "common/util.h"

namespace berth::container {

namespace {

bool isWhiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

bool isOpaque(const std::string& path) {
  char v[4];
  ssize_t n = ::lgetxattr(path.c_str(), "trusted.overlay.opaque", v, sizeof v);
  return n == 1 && v[0] == 'y';
}

// Entry names of dir, sorted bytewise; a missing dir is empty.
std::vector<std::string> listDir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      out.emplace_back(e->d_name);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Mount points the runtime creates in the rootfs (Docker's init layer).
bool isInitPath(const std::string& rel) {
  static const std::set<std::string> kInit = {"dev",       "proc",         "sys",           ".dockerenv",
                                              "etc/hosts", "etc/hostname", "etc/resolv.conf"};
  return kInit.count(rel) > 0;
}

// The topmost lower entry of rel; false when absent or whited out.
bool lowerLookup(const std::vector<std::string>& lowers, const std::string& rel, struct stat* out) {
  for (auto& l : lowers) {
    if (::lstat((l + "/" + rel).c_str(), out) == 0) return !isWhiteout(*out);
  }
  return false;
}

bool walkChanges(const std::string& upper, const std::vector<std::string>& lowers, const std::string& rel,
                 std::vector<Change>& out) {
  size_t before = out.size();
  for (auto& name : listDir(rel.empty() ? upper : upper + "/" + rel)) {
    std::string child = rel.empty() ? name : rel + "/" + name;
    if (isInitPath(child)) continue;
    std::string full = upper + "/" + child;
    struct stat st;
    if (::lstat(full.c_str(), &st) != 0) continue;  // gone meanwhile (running container)
    if (isWhiteout(st)) {
      out.push_back({"/" + child, ChangeKind::Deleted, false});
      continue;
    }
    struct stat lst;
    bool inLower = lowerLookup(lowers, child, &lst);
    if (S_ISDIR(st.st_mode)) {
      bool opaque = isOpaque(full);
      size_t pos = out.size();
      bool any = walkChanges(upper, lowers, child, out);
      Change c{"/" + child, ChangeKind::Added, false};
      if (inLower) {
        c.kind = ChangeKind::Modified;
        c.opaque = opaque && S_ISDIR(lst.st_mode);
        bool same = S_ISDIR(lst.st_mode) && lst.st_mode == st.st_mode && lst.st_uid == st.st_uid &&
                    lst.st_gid == st.st_gid;
        if (same && !any && !c.opaque) continue;
      }
      out.insert(out.begin() + long(pos), std::move(c));
      continue;
    }
    out.push_back({"/" + child, inLower ? ChangeKind::Modified : ChangeKind::Added, false});
  }
  return out.size() > before;
}

// libarchive PAX writer onto a TarSink.
class TarWriter {
 public:
  explicit TarWriter(const TarSink& sink) : sink_(sink), a_(archive_write_new()) {}
  ~TarWriter() { archive_write_free(a_); }

  Result<> open() {
    archive_write_set_format_pax_restricted(a_);
    archive_write_set_bytes_in_last_block(a_, 1);
    if (archive_write_open(a_, this, nullptr, &TarWriter::writeCb, nullptr) != ARCHIVE_OK) return fail("open tar");
    return {};
  }
  Result<> close() {
    if (archive_write_close(a_) != ARCHIVE_OK) return fail("finish tar");
    return {};
  }

  // Adds the file at full (already lstat'ed) as name.
  Result<> addFile(const std::string& full, const std::string& name, const struct stat& st) {
    if (S_ISSOCK(st.st_mode)) return {};  // tar cannot hold sockets
    struct archive_entry* e = archive_entry_new();
    ScopeExit free_([&] { archive_entry_free(e); });
    archive_entry_copy_stat(e, &st);
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_unset_atime(e);
    archive_entry_unset_ctime(e);
    archive_entry_unset_birthtime(e);
    archive_entry_set_mtime(e, st.st_mtime, 0);
    bool data = false;
    if (S_ISREG(st.st_mode)) {
      if (st.st_nlink > 1) {
        auto key = std::make_pair(st.st_dev, st.st_ino);
        auto it = links_.find(key);
        if (it != links_.end()) {
          archive_entry_set_hardlink(e, it->second.c_str());
          archive_entry_set_size(e, 0);
        } else {
          links_.emplace(key, name);
          data = true;
        }
      } else {
        data = true;
      }
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(size_t(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
      ssize_t n = ::readlink(full.c_str(), target.data(), target.size());
      if (n < 0) return sysError(errno, "readlink {}", full);
      target.resize(size_t(n));
      archive_entry_set_symlink(e, target.c_str());
      archive_entry_set_size(e, 0);
    } else {
      archive_entry_set_size(e, 0);
    }
    addXattrs(full, e);
    UniqueFd fd;
    if (data) {
      fd.reset(::open(full.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) {
        if (errno == ENOENT) return {};
        return sysError(errno, "open {}", full);
      }
    }
    if (archive_write_header(a_, e) < ARCHIVE_WARN) return fail("write " + name);
    if (data) {
      std::vector<char> buf(1 << 17);
      for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0) {
          if (errno == EINTR) continue;
          return sysError(errno, "read {}", full);
        }
        if (n == 0) break;
        if (archive_write_data(a_, buf.data(), size_t(n)) < 0) return fail("write " + name);
      }
    }
    if (archive_write_finish_entry(a_) < ARCHIVE_WARN) return fail("write " + name);
    return {};
  }

  // An empty regular file (OCI whiteout marker).
  Result<> addMarker(const std::string& name, const struct stat& like) {
    struct archive_entry* e = archive_entry_new();
    ScopeExit free_([&] { archive_entry_free(e); });
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0);
    archive_entry_set_size(e, 0);
    archive_entry_set_uid(e, like.st_uid);
    archive_entry_set_gid(e, like.st_gid);
    archive_entry_set_mtime(e, like.st_mtime, 0);
    if (archive_write_header(a_, e) < ARCHIVE_WARN) return fail("write " + name);
    if (archive_write_finish_entry(a_) < ARCHIVE_WARN) return fail("write " + name);
    return {};
  }

 private:
  static la_ssize_t writeCb(struct archive* a, void* ud, const void* buf, size_t n) {
    auto* w = static_cast<TarWriter*>(ud);
    if (!w->sink_(buf, n)) {
      w->cancelled_ = true;
      archive_set_error(a, ECANCELED, "reader went away");
      return -1;
    }
    return la_ssize_t(n);
  }
  std::unexpected<Error> fail(const std::string& what) {
    if (cancelled_) return makeError(Code::Cancelled, "tar reader went away");
    const char* s = archive_error_string(a_);
    return errorf(Code::Internal, "{}: {}", what, s ? s : "unknown libarchive error");
  }
  void addXattrs(const std::string& full, struct archive_entry* e) {
    ssize_t n = ::llistxattr(full.c_str(), nullptr, 0);
    if (n <= 0) return;
    std::string names(size_t(n), '\0');
    n = ::llistxattr(full.c_str(), names.data(), names.size());
    if (n <= 0) return;
    names.resize(size_t(n));
    for (size_t i = 0; i < names.size();) {
      std::string key = names.c_str() + i;
      i += key.size() + 1;
      if (key.empty() || startsWith(key, "trusted.overlay.")) continue;
      ssize_t vn = ::lgetxattr(full.c_str(), key.c_str(), nullptr, 0);
      if (vn < 0) continue;
      std::string v(size_t(vn), '\0');
      vn = ::lgetxattr(full.c_str(), key.c_str(), v.data(), v.size());
      if (vn < 0) continue;
      archive_entry_xattr_add_entry(e, key.c_str(), v.data(), size_t(vn));
    }
  }

  const TarSink& sink_;
  struct archive* a_;
  bool cancelled_ = false;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

std::string parentOf(const std::string& rel) {
  auto s = rel.rfind('/');
  return s == std::string::npos ? "" : rel.substr(0, s + 1);
}
std::string baseOf(const std::string& rel) {
  auto s = rel.rfind('/');
  return s == std::string::npos ? rel : rel.substr(s + 1);
}

// dirs: the full paths of directory rel in each layer where it is a
// directory, topmost first.
Result<> walkMerged(TarWriter& w, const std::vector<std::string>& dirs, const std::string& rel) {
  std::map<std::string, size_t> top;  // name -> index in dirs of its topmost layer
  std::set<std::string> hidden;
  for (size_t i = 0; i < dirs.size(); i++) {
    for (auto& name : listDir(dirs[i])) {
      if (top.count(name) || hidden.count(name)) continue;
      struct stat st;
      if (::lstat((dirs[i] + "/" + name).c_str(), &st) != 0) continue;
      if (isWhiteout(st)) {
        hidden.insert(name);
      } else {
        top[name] = i;
      }
    }
    if (isOpaque(dirs[i])) break;
  }
  for (auto& [name, i] : top) {
    std::string full = dirs[i] + "/" + name;
    std::string child = rel.empty() ? name : rel + "/" + name;
    struct stat st;
    if (::lstat(full.c_str(), &st) != 0) continue;
    TRY(w.addFile(full, child, st));
    if (!S_ISDIR(st.st_mode)) continue;
    std::vector<std::string> sub = {full};
    for (size_t j = i + 1; j < dirs.size(); j++) {
      std::string p = dirs[j] + "/" + name;
      struct stat ls;
      if (::lstat(p.c_str(), &ls) != 0) continue;
      if (!S_ISDIR(ls.st_mode)) break;  // a file or whiteout hides everything below
      sub.push_back(p);
    }
    TRY(walkMerged(w, sub, child));
  }
  return {};
}

}  // namespace

Result<std::vector<Change>> computeChanges(const std::string& upper, const std::vector<std::string>& lowers) {
  struct stat st;
  if (::stat(upper.c_str(), &st) != 0) return sysError(errno, "stat {}", upper);
  std::vector<Change> out;
  walkChanges(upper, lowers, "", out);
  return out;
}

Result<> writeLayerTar(const std::string& upper, const std::vector<Change>& changes, const TarSink& sink) {
  TarWriter w(sink);
  TRY(w.open());
  for (auto& c : changes) {
    std::string rel = c.path.substr(1);
    std::string full = upper + "/" + rel;
    struct stat st;
    if (::lstat(full.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;
      return sysError(errno, "stat {}", full);
    }
    if (c.kind == ChangeKind::Deleted) {
      TRY(w.addMarker(parentOf(rel) + ".wh." + baseOf(rel), st));
      continue;
    }
    TRY(w.addFile(full, rel, st));
    if (c.opaque) TRY(w.addMarker(rel + "/.wh..wh..opq", st));
  }
  return w.close();
}

Result<> writeMergedTar(const std::string& upper, const std::vector<std::string>& lowers, const TarSink& sink) {
  TarWriter w(sink);
  TRY(w.open());
  std::vector<std::string> dirs;
  dirs.push_back(upper);
  dirs.insert(dirs.end(), lowers.begin(), lowers.end());
  TRY(walkMerged(w, dirs, ""));
  return w.close();
}

}  // namespace berth::container
