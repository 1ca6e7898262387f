#include "volume/copyup.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/util.h"

namespace berth::volume {

namespace {

bool isWhiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

bool isOpaque(const std::string& dir) {
  char v[2] = {0, 0};
  ssize_t n = ::lgetxattr(dir.c_str(), "trusted.overlay.opaque", v, sizeof v);
  return n == 1 && v[0] == 'y';
}

void clearDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  for (auto& n : names) (void)removeAll(dir + "/" + n);
}

void applyMeta(const std::string& path, const struct stat& st) {
  (void)!::lchown(path.c_str(), st.st_uid, st.st_gid);
  if (!S_ISLNK(st.st_mode)) ::chmod(path.c_str(), st.st_mode & 07777);
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  ::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

Result<> copyFile(const std::string& src, const std::string& dst, const struct stat& st) {
  int in = ::open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0) return sysError(errno, "open {}", src);
  int out = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0) {
    int e = errno;
    ::close(in);
    return sysError(e, "create {}", dst);
  }
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, size_t(left), 0);
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) n = ::sendfile(out, in, nullptr, size_t(left));
    if (n < 0) {
      int e = errno;
      ::close(in);
      ::close(out);
      return sysError(e, "copy {}", src);
    }
    if (n == 0) break;
    left -= n;
  }
  ::close(in);
  ::close(out);
  return {};
}

// Merges directory src into directory dst (which exists).
Result<> mergeTree(const std::string& src, const std::string& dst) {
  if (isOpaque(src)) clearDir(dst);
  DIR* d = ::opendir(src.c_str());
  if (!d) return sysError(errno, "open {}", src);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  for (auto& n : names) {
    std::string s = src + "/" + n, t = dst + "/" + n;
    struct stat st, tt;
    if (::lstat(s.c_str(), &st) != 0) continue;
    bool exists = ::lstat(t.c_str(), &tt) == 0;
    if (isWhiteout(st)) {
      if (exists) (void)removeAll(t);
      continue;
    }
    if (exists && !(S_ISDIR(st.st_mode) && S_ISDIR(tt.st_mode))) {
      TRY(removeAll(t));
      exists = false;
    }
    if (S_ISDIR(st.st_mode)) {
      if (!exists && ::mkdir(t.c_str(), 0700) != 0) return sysError(errno, "mkdir {}", t);
      TRY(mergeTree(s, t));
    } else if (S_ISREG(st.st_mode)) {
      TRY(copyFile(s, t, st));
    } else if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t len = ::readlink(s.c_str(), buf, sizeof buf - 1);
      if (len < 0) return sysError(errno, "readlink {}", s);
      buf[len] = 0;
      if (::symlink(buf, t.c_str()) != 0) return sysError(errno, "symlink {}", t);
    } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      if (::mknod(t.c_str(), st.st_mode, st.st_rdev) != 0) return sysError(errno, "mknod {}", t);
    } else {
      continue;  // sockets
    }
    applyMeta(t, st);
  }
  return {};
}

}  // namespace

bool isEmptyDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return true;
  bool empty = true;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty;
}

Result<> copyImagePath(const std::vector<std::string>& layersTopFirst, const std::string& path,
                       const std::string& dest) {
  std::vector<std::string> parts;
  for (auto& p : split(path, '/'))
    if (!p.empty() && p != ".") parts.push_back(p);
  for (auto it = layersTopFirst.rbegin(); it != layersTopFirst.rend(); ++it) {
    // Walk the path inside this layer without following symlinks.
    std::string cur = *it;
    bool ok = true, whiteout = false;
    for (auto& p : parts) {
      cur += "/" + p;
      struct stat st;
      if (::lstat(cur.c_str(), &st) != 0) {
        ok = false;
        break;
      }
      if (isWhiteout(st)) {
        whiteout = true;
        ok = false;
        break;
      }
      if (!S_ISDIR(st.st_mode)) {
        ok = false;
        break;
      }
    }
    if (whiteout) clearDir(dest);
    if (!ok) continue;
    TRY(mergeTree(cur, dest));
    struct stat st;
    if (::lstat(cur.c_str(), &st) == 0) applyMeta(dest, st);
  }
  return {};
}

}  // namespace berth::volume
