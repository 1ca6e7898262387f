// COPY / ADD sources, their hashes and the layer tar (copy.h).
#include "build/copy.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "build/dockerignore.h"
#include "common/sha256.h"
#include "common/util.h"
#include "container/archive.h"

namespace berth::build {

namespace {

std::vector<std::string> listDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string joinRel(const std::string& a, const std::string& b) { return a.empty() ? b : a + "/" + b; }

Result<> hashFileInto(Sha256& h, const std::string& abs) {
  UniqueFd fd(::open(abs.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return sysError(errno, "open {}", abs);
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return sysError(errno, "read {}", abs);
    }
    if (n == 0) break;
    h.update(buf.data(), size_t(n));
  }
  return {};
}

Result<> hashEntry(Sha256& h, const std::string& abs, const std::string& rel) {
  struct stat st;
  if (::lstat(abs.c_str(), &st) != 0) return sysError(errno, "lstat {}", abs);
  std::string head = fmt::format("{}\x1f{:o}\x1f{}\x1f{}\x1f", rel, unsigned(st.st_mode), st.st_uid, st.st_gid);
  if (S_ISREG(st.st_mode)) head += std::to_string(st.st_size);
  if (S_ISLNK(st.st_mode)) {
    char buf[4096];
    ssize_t n = ::readlink(abs.c_str(), buf, sizeof buf);
    if (n > 0) head.append(buf, size_t(n));
  }
  head += '\x1e';
  h.update(head);
  if (S_ISREG(st.st_mode)) {
    TRY(hashFileInto(h, abs));
  }
  if (S_ISDIR(st.st_mode))
    for (auto& n : listDir(abs)) TRY(hashEntry(h, abs + "/" + n, joinRel(rel, n)));
  return {};
}

}  // namespace

bool goPathMatch(std::string_view pattern, std::string_view name) {
  std::string p(pattern);
  for (size_t i = 0; i + 1 < p.size(); i++)
    if (p[i] == '[' && p[i + 1] == '^') p[i + 1] = '!';
  return ::fnmatch(p.c_str(), std::string(name).c_str(), FNM_PATHNAME) == 0;
}

Result<std::string> hashPath(const std::string& abs, bool dir) {
  Sha256 h;
  TRY(hashEntry(h, abs, ""));
  return std::string(dir ? "dir:" : "file:") + h.hex();
}

Result<std::vector<CopyInfo>> collectCopySources(const std::string& root, std::string_view orig, bool allowWildcards,
                                                 bool context) {
  std::string p(orig);
  if (context) {
    std::string c = cleanPath(p);
    if (c == ".." || startsWith(c, "../"))
      return errorf(Code::InvalidArgument, "forbidden path outside the build context: {} ()", p);
  }
  while (startsWith(p, "/")) p.erase(0, 1);
  while (startsWith(p, "./")) p.erase(0, 2);
  UniqueFd rootFd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!rootFd) return sysError(errno, "open {}", root);

  std::vector<CopyInfo> out;
  if (allowWildcards && p.find_first_of("*?[") != std::string::npos) {
    std::string pattern = cleanPath(p);
    std::function<Result<>(const std::string&)> walk = [&](const std::string& rel) -> Result<> {
      for (auto& n : listDir(rel.empty() ? root : root + "/" + rel)) {
        std::string r = joinRel(rel, n);
        struct stat st;
        if (::lstat((root + "/" + r).c_str(), &st) != 0) continue;
        if (goPathMatch(pattern, r)) {
          bool dir = S_ISDIR(st.st_mode);
          std::string abs = root + "/" + r;
          if (S_ISLNK(st.st_mode)) {
            TRY_ASSIGN(std::string res, container::resolveInRoot(rootFd.get(), "/" + r, true));
            struct stat t;
            if (::stat((root + res).c_str(), &t) != 0) continue;
            dir = S_ISDIR(t.st_mode);
            abs = root + res;
            r = res.substr(1);
          }
          TRY_ASSIGN(std::string h, hashPath(abs, dir));
          out.push_back({r, dir, h});
          continue;
        }
        if (S_ISDIR(st.st_mode)) {
          TRY(walk(r));
        }
      }
      return {};
    };
    TRY(walk(""));
    if (out.empty()) return makeError(Code::InvalidArgument, "no source files were specified");
    return out;
  }

  std::string rel = cleanPath(p);
  if (rel == ".") rel = "";
  TRY_ASSIGN(std::string resolved, container::resolveInRoot(rootFd.get(), "/" + rel, true));
  std::string abs = root + (resolved == "/" ? "" : resolved);
  struct stat st;
  if (::lstat(abs.c_str(), &st) != 0) {
    if (errno != ENOENT && errno != ENOTDIR) return sysError(errno, "lstat {}", p);
    std::string msg = fmt::format("stat {}: file does not exist", p);
    if (context) msg = "file not found in build context or excluded by .dockerignore: " + msg;
    return makeError(Code::NotFound, msg);
  }
  bool dir = S_ISDIR(st.st_mode);
  TRY_ASSIGN(std::string h, hashPath(abs, dir));
  std::string r = resolved == "/" ? "" : resolved.substr(1);
  out.push_back({r, dir, h});
  return out;
}

std::string sourcesHash(const std::vector<CopyInfo>& infos) {
  if (infos.size() == 1) return infos[0].hash;
  std::string joined;
  for (size_t i = 0; i < infos.size(); i++) {
    if (i) joined += ',';
    joined += infos[i].hash;
  }
  return "multi:" + sha256Hex(joined);
}

// ---- LayerTar ----

LayerTar::LayerTar(Sink sink) : sink_(std::move(sink)), a_(archive_write_new()) {
  archive_write_set_format_pax_restricted(a_);
  archive_write_set_bytes_in_last_block(a_, 1);
  archive_write_open(
      a_, this, nullptr,
      [](struct archive* a, void* ud, const void* buf, size_t n) -> la_ssize_t {
        auto* self = static_cast<LayerTar*>(ud);
        auto r = self->sink_(buf, n);
        if (!r) {
          self->sinkError_ = r.error();
          archive_set_error(a, EIO, "%s", r.error().message.c_str());
          return -1;
        }
        return la_ssize_t(n);
      },
      nullptr);
}

// Unless finish() succeeded, the archive is marked failed first so that
// archive_write_free does not close it: closing would pad the last entry to
// its declared size (an 8 GiB header over a few bytes of data wrote 8 GiB).
LayerTar::~LayerTar() {
  if (!finished_) archive_write_fail(a_);
  archive_write_free(a_);
}

Result<> LayerTar::fail(const std::string& what) {
  if (sinkError_) return std::unexpected(*sinkError_);
  const char* e = archive_error_string(a_);
  return errorf(Code::Internal, "{}: {}", what, e ? e : "tar error");
}

Result<> LayerTar::entry(const std::string& name, const struct stat& st, const std::string& linkTarget, int fd,
                         const std::string& src) {
  struct archive_entry* e = archive_entry_new();
  ScopeExit free_([&] { archive_entry_free(e); });
  archive_entry_copy_stat(e, &st);
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_unset_atime(e);
  archive_entry_unset_ctime(e);
  archive_entry_unset_birthtime(e);
  archive_entry_set_mtime(e, st.st_mtime, 0);
  archive_entry_set_nlink(e, 1);
  if (S_ISLNK(st.st_mode)) archive_entry_set_symlink(e, linkTarget.c_str());
  if (!S_ISREG(st.st_mode)) archive_entry_set_size(e, 0);
  if (archive_write_header(a_, e) < ARCHIVE_WARN) return fail("write " + name);
  if (S_ISREG(st.st_mode) && fd >= 0) {
    std::vector<char> buf(1 << 17);
    for (;;) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return sysError(errno, "read {}", src);
      }
      if (n == 0) break;
      if (archive_write_data(a_, buf.data(), size_t(n)) < 0) return fail("write " + name);
    }
  }
  if (archive_write_finish_entry(a_) < ARCHIVE_WARN) return fail("write " + name);
  return {};
}

Result<> LayerTar::dir(const std::string& name, uint32_t mode, Owner owner, int64_t mtime) {
  if (!dirs_.insert(name).second) return {};
  struct stat st {};
  st.st_mode = S_IFDIR | (mode & 07777);
  st.st_uid = owner.uid;
  st.st_gid = owner.gid;
  st.st_mtime = mtime;
  return entry(name + "/", st, "", -1, "");
}

Result<> LayerTar::data(const std::string& name, std::string_view content, uint32_t mode, Owner owner,
                        int64_t mtime) {
  struct stat st {};
  st.st_mode = S_IFREG | (mode & 07777);
  st.st_uid = owner.uid;
  st.st_gid = owner.gid;
  st.st_mtime = mtime;
  st.st_size = off_t(content.size());
  struct archive_entry* e = archive_entry_new();
  ScopeExit free_([&] { archive_entry_free(e); });
  archive_entry_copy_stat(e, &st);
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_unset_atime(e);
  archive_entry_unset_ctime(e);
  archive_entry_unset_birthtime(e);
  if (archive_write_header(a_, e) < ARCHIVE_WARN) return fail("write " + name);
  if (!content.empty() && archive_write_data(a_, content.data(), content.size()) < 0) return fail("write " + name);
  if (archive_write_finish_entry(a_) < ARCHIVE_WARN) return fail("write " + name);
  return {};
}

Result<> LayerTar::tree(const std::string& name, const std::string& abs, Owner owner, std::optional<uint32_t> chmod) {
  struct stat st;
  if (::lstat(abs.c_str(), &st) != 0) return sysError(errno, "lstat {}", abs);
  st.st_uid = owner.uid;
  st.st_gid = owner.gid;
  if (chmod && !S_ISLNK(st.st_mode)) st.st_mode = (st.st_mode & S_IFMT) | (*chmod & 07777);
  if (S_ISDIR(st.st_mode)) {
    if (dirs_.insert(name).second) {
      TRY(entry(name + "/", st, "", -1, abs));
    }
    for (auto& n : listDir(abs)) TRY(tree(name + "/" + n, abs + "/" + n, owner, chmod));
    return {};
  }
  if (S_ISLNK(st.st_mode)) {
    char buf[4096];
    ssize_t n = ::readlink(abs.c_str(), buf, sizeof buf);
    if (n < 0) return sysError(errno, "readlink {}", abs);
    return entry(name, st, std::string(buf, size_t(n)), -1, abs);
  }
  if (S_ISREG(st.st_mode)) {
    UniqueFd fd(::open(abs.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return sysError(errno, "open {}", abs);
    return entry(name, st, "", fd.get(), abs);
  }
  if (S_ISSOCK(st.st_mode)) return {};
  return entry(name, st, "", -1, abs);
}

Result<> LayerTar::extract(const std::string& name, const std::string& path, std::optional<Owner> owner,
                           const UnpackLimits& limits) {
  ExpansionGuard guard(limits, "archive " + path.substr(path.rfind('/') + 1));
  TRY(guard.checkFree());
  struct archive* in = archive_read_new();
  ScopeExit freeIn([&] { archive_read_free(in); });
  archive_read_support_filter_all(in);
  archive_read_support_format_tar(in);
  archive_read_support_format_gnutar(in);
  if (archive_read_open_filename(in, path.c_str(), 1 << 16) != ARCHIVE_OK)
    return errorf(Code::InvalidArgument, "open archive {}: {}", path, archive_error_string(in));
  struct archive_entry* e;
  for (;;) {
    int r = archive_read_next_header(in, &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return errorf(Code::InvalidArgument, "read archive {}: {}", path, archive_error_string(in));
    std::string p = cleanPath("/" + std::string(archive_entry_pathname(e)));
    if (p == "/") continue;
    std::string full = name.empty() ? p.substr(1) : name + p;
    archive_entry_set_pathname(e, full.c_str());
    if (const char* hl = archive_entry_hardlink(e)) {
      std::string h = cleanPath("/" + std::string(hl));
      std::string fh = name.empty() ? h.substr(1) : name + h;
      archive_entry_set_hardlink(e, fh.c_str());
    }
    if (owner) {
      archive_entry_set_uid(e, owner->uid);
      archive_entry_set_gid(e, owner->gid);
      archive_entry_set_uname(e, nullptr);
      archive_entry_set_gname(e, nullptr);
    }
    if (archive_entry_filetype(e) == AE_IFDIR) dirs_.insert(full);
    if (archive_write_header(a_, e) < ARCHIVE_WARN) return fail("write " + full);
    if (archive_entry_size(e) > 0) {
      const void* buf;
      size_t n;
      la_int64_t off;
      for (;;) {
        int rr = archive_read_data_block(in, &buf, &n, &off);
        if (rr == ARCHIVE_EOF) break;
        if (rr < ARCHIVE_WARN) return errorf(Code::InvalidArgument, "read archive {}: {}", path, archive_error_string(in));
        if (n && archive_write_data(a_, buf, n) < 0) return fail("write " + full);
        TRY(guard.check(uint64_t(archive_filter_bytes(in, -1)), uint64_t(archive_filter_bytes(in, 0)),
                        archive_filter_count(in) > 1));
      }
    }
    if (archive_write_finish_entry(a_) < ARCHIVE_WARN) return fail("write " + full);
  }
  return {};
}

Result<> LayerTar::finish() {
  if (archive_write_close(a_) != ARCHIVE_OK) return fail("finish tar");
  finished_ = true;
  return {};
}

bool isArchive(const std::string& path) {
  struct archive* in = archive_read_new();
  ScopeExit freeIn([&] { archive_read_free(in); });
  archive_read_support_filter_all(in);
  archive_read_support_format_tar(in);
  archive_read_support_format_gnutar(in);
  if (archive_read_open_filename(in, path.c_str(), 1 << 16) != ARCHIVE_OK) return false;
  struct archive_entry* e;
  return archive_read_next_header(in, &e) == ARCHIVE_OK;
}

// ---- MountedRoot ----

Result<std::unique_ptr<MountedRoot>> MountedRoot::mount(const std::vector<std::string>& lowers,
                                                        const std::string& tmpBase) {
  std::unique_ptr<MountedRoot> m(new MountedRoot());
  m->path_ = tmpBase + "/" + randomHexId().substr(0, 16);
  TRY(mkdirAll(m->path_, 0755));
  if (lowers.size() == 1) {
    if (::mount(lowers[0].c_str(), m->path_.c_str(), nullptr, MS_BIND, nullptr) != 0)
      return sysError(errno, "bind {}", lowers[0]);
    m->mounted_ = true;
    if (::mount(nullptr, m->path_.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0)
      return sysError(errno, "remount {} read-only", m->path_);
  } else if (lowers.size() > 1) {
    std::string opts = "lowerdir=";
    for (size_t i = 0; i < lowers.size(); i++) {
      if (i) opts += ':';
      opts += lowers[i];
    }
    if (::mount("overlay", m->path_.c_str(), "overlay", MS_RDONLY, opts.c_str()) != 0)
      return sysError(errno, "mount overlay on {}", m->path_);
    m->mounted_ = true;
  }
  m->fd_.reset(::open(m->path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!m->fd_) return sysError(errno, "open {}", m->path_);
  return m;
}

MountedRoot::~MountedRoot() {
  fd_.reset();
  if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  ::rmdir(path_.c_str());
}

}  // namespace berth::build
