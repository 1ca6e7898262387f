#include "container/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <climits>
#include <deque>
#include <vector>

#include "common/util.h"

namespace berth::container {

using json = nlohmann::json;

namespace {

constexpr int kMaxLinks = 40;

bool endsWithDot(std::string_view p) { return p == "." || endsWith(p, "/."); }

std::vector<std::string> components(std::string_view p) {
  std::vector<std::string> out;
  for (auto& s : split(p, '/'))
    if (!s.empty()) out.push_back(s);
  return out;
}

std::pair<std::string, std::string> splitParent(const std::string& clean) {
  auto slash = clean.rfind('/');
  if (slash == std::string::npos || clean == "/") return {"/", clean == "/" ? "" : clean};
  return {slash == 0 ? "/" : clean.substr(0, slash), clean.substr(slash + 1)};
}

std::string baseNameOf(std::string_view p) {
  if (endsWithDot(p)) return ".";
  std::string c = cleanPath(p);
  if (c == "/") return "/";
  return splitParent(c).second;
}

}  // namespace

uint32_t goFileMode(uint32_t m) {
  uint32_t out = m & 0777;
  switch (m & S_IFMT) {
    case S_IFDIR: out |= 1u << 31; break;
    case S_IFLNK: out |= 1u << 27; break;
    case S_IFIFO: out |= 1u << 25; break;
    case S_IFSOCK: out |= 1u << 24; break;
    case S_IFBLK: out |= 1u << 26; break;
    case S_IFCHR: out |= (1u << 26) | (1u << 21); break;
    default: break;
  }
  if (m & S_ISUID) out |= 1u << 23;
  if (m & S_ISGID) out |= 1u << 22;
  if (m & S_ISVTX) out |= 1u << 20;
  return out;
}

std::string base64Encode(std::string_view in) {
  static const char* kAlpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int k = 3; k >= 0; k--) out += kAlpha[(v >> (6 * k)) & 63];
  }
  if (size_t rest = in.size() - i) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (rest == 2) v |= uint8_t(in[i + 1]) << 8;
    out += kAlpha[(v >> 18) & 63];
    out += kAlpha[(v >> 12) & 63];
    out += rest == 2 ? kAlpha[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

json PathStat::toJson() const {
  return json{{"name", name}, {"size", size}, {"mode", mode}, {"mtime", formatRfc3339Nano(mtimeNanos)},
              {"linkTarget", linkTarget}};
}

std::string cleanPath(std::string_view p) {
  std::vector<std::string> out;
  for (auto& c : components(p)) {
    if (c == ".") continue;
    if (c == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(c);
  }
  std::string s;
  for (auto& c : out) s += "/" + c;
  return s.empty() ? "/" : s;
}

Result<UniqueFd> openInRoot(int rootFd, std::string_view path, int flags, int mode) {
  struct open_how how {};
  how.flags = uint64_t(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? uint64_t(mode) : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string rel = cleanPath(path).substr(1);
  if (rel.empty()) rel = ".";
  int fd = int(::syscall(SYS_openat2, rootFd, rel.c_str(), &how, sizeof how));
  if (fd < 0) return sysError(errno, "open {}", path);
  return UniqueFd(fd);
}

Result<std::string> resolveInRoot(int rootFd, std::string_view path, bool followLast) {
  std::deque<std::string> todo;
  for (auto& c : components(path)) todo.push_back(c);
  std::vector<std::string> done;
  int links = 0;
  auto joined = [&] {
    std::string s;
    for (auto& c : done) s += "/" + c;
    return s.empty() ? std::string("/") : s;
  };
  while (!todo.empty()) {
    std::string c = todo.front();
    todo.pop_front();
    if (c == "." || c.empty()) continue;
    if (c == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    if (todo.empty() && !followLast) {
      done.push_back(c);
      break;
    }
    auto parent = openInRoot(rootFd, joined(), O_PATH | O_DIRECTORY);
    std::string target;
    if (parent) {
      char buf[4096];
      ssize_t n = ::readlinkat(parent->get(), c.c_str(), buf, sizeof buf);
      if (n > 0) target.assign(buf, size_t(n));
    }
    if (target.empty()) {
      done.push_back(c);
      continue;
    }
    if (++links > kMaxLinks) return sysError(ELOOP, "resolve {}", path);
    if (target[0] == '/') done.clear();
    auto parts = components(target);
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_front(*it);
  }
  return joined();
}

Result<PathStat> statInRoot(int rootFd, std::string_view path) {
  bool follow = endsWithDot(path) || endsWith(path, "/");
  std::string clean = cleanPath(path);
  struct stat st {};
  PathStat ps;
  ps.name = baseNameOf(path);
  auto notFound = [&] { return errorf(Code::NotFound, "Could not find the file {} in container", path); };
  if (follow || clean == "/") {
    auto fd = openInRoot(rootFd, clean, O_PATH);
    if (!fd) return fd.error().err == ENOENT || fd.error().err == ENOTDIR ? notFound() : std::unexpected(fd.error());
    if (::fstat(fd->get(), &st) != 0) return sysError(errno, "stat {}", path);
    if (!S_ISDIR(st.st_mode) && (endsWith(path, "/") || endsWithDot(path))) return notFound();
  } else {
    auto [parent, base] = splitParent(clean);
    auto pfd = openInRoot(rootFd, parent, O_PATH | O_DIRECTORY);
    if (!pfd) return pfd.error().err == ENOENT || pfd.error().err == ENOTDIR ? notFound() : std::unexpected(pfd.error());
    if (::fstatat(pfd->get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return notFound();
      return sysError(errno, "stat {}", path);
    }
    if (S_ISLNK(st.st_mode)) {
      TRY_ASSIGN(ps.linkTarget, resolveInRoot(rootFd, clean, true));
    }
  }
  ps.size = st.st_size;
  ps.mode = goFileMode(st.st_mode);
  ps.mtimeNanos = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return ps;
}

// ------------------------------------------------------------------ write

namespace {

struct Writer {
  archive* a = nullptr;
  const TarSink* sink = nullptr;
  bool sinkFailed = false;
  ~Writer() {
    if (a) archive_write_free(a);
  }
};

la_ssize_t writeCb(archive*, void* ud, const void* buf, size_t n) {
  auto* w = static_cast<Writer*>(ud);
  if (!(*w->sink)(buf, n)) {
    w->sinkFailed = true;
    return -1;
  }
  return la_ssize_t(n);
}

Result<> archiveErr(archive* a, std::string_view what) {
  return errorf(Code::Internal, "{}: {}", what, archive_error_string(a) ? archive_error_string(a) : "tar error");
}

Result<> addEntry(Writer& w, int dirFd, const std::string& name, const std::string& tarName, const struct stat& st) {
  archive_entry* e = archive_entry_new();
  ScopeExit freeEntry([&] { archive_entry_free(e); });
  archive_entry_copy_stat(e, &st);
  archive_entry_set_pathname(e, S_ISDIR(st.st_mode) ? (tarName + "/").c_str() : tarName.c_str());
  UniqueFd fd;
  if (S_ISLNK(st.st_mode)) {
    char buf[4096];
    ssize_t n = ::readlinkat(dirFd, name.c_str(), buf, sizeof buf - 1);
    if (n < 0) return sysError(errno, "readlink {}", tarName);
    buf[n] = 0;
    archive_entry_set_symlink(e, buf);
    archive_entry_set_size(e, 0);
  } else if (S_ISREG(st.st_mode)) {
    fd.reset(::openat(dirFd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return sysError(errno, "open {}", tarName);
  } else {
    archive_entry_set_size(e, 0);
  }
  if (archive_write_header(w.a, e) != ARCHIVE_OK) return archiveErr(w.a, "write tar header");
  if (fd) {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0) return sysError(errno, "read {}", tarName);
      if (n == 0) break;
      if (archive_write_data(w.a, buf, size_t(n)) < 0) return archiveErr(w.a, "write tar data");
    }
  }
  return {};
}

Result<> addTree(Writer& w, int parentFd, const std::string& name, const std::string& tarName, int depth) {
  struct stat st {};
  if (::fstatat(parentFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return sysError(errno, "stat {}", tarName);
  TRY(addEntry(w, parentFd, name, tarName, st));
  if (!S_ISDIR(st.st_mode)) return {};
  if (depth > 256) return errorf(Code::InvalidArgument, "{}: directories nested too deep", tarName);
  UniqueFd dfd(::openat(parentFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dfd) return sysError(errno, "open {}", tarName);
  DIR* d = ::fdopendir(::dup(dfd.get()));
  if (!d) return sysError(errno, "opendir {}", tarName);
  std::vector<std::string> names;
  while (auto* ent = ::readdir(d)) {
    std::string n = ent->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (auto& n : names) TRY(addTree(w, dfd.get(), n, tarName + "/" + n, depth + 1));
  return {};
}

}  // namespace

Result<> writeTarFromRoot(int rootFd, std::string_view path, const TarSink& sink) {
  bool follow = endsWithDot(path) || endsWith(path, "/");
  std::string clean = cleanPath(path);
  std::string tarName = baseNameOf(path);
  UniqueFd parentFd;
  std::string name;
  if (follow || clean == "/") {
    // The directory itself, through its own fd: "." names it.
    TRY_ASSIGN(parentFd, openInRoot(rootFd, clean, O_PATH));
    name = ".";
    if (tarName == "/") tarName = ".";
  } else {
    auto [parent, base] = splitParent(clean);
    TRY_ASSIGN(parentFd, openInRoot(rootFd, parent, O_PATH | O_DIRECTORY));
    name = base;
  }
  Writer w;
  w.sink = &sink;
  w.a = archive_write_new();
  archive_write_set_format_pax_restricted(w.a);
  archive_write_set_bytes_in_last_block(w.a, 1);
  if (archive_write_open(w.a, &w, nullptr, writeCb, nullptr) != ARCHIVE_OK) return archiveErr(w.a, "tar");
  auto r = addTree(w, parentFd.get(), name, tarName, 0);
  if (w.sinkFailed) return makeError(Code::Cancelled, "client went away");
  TRY(r);
  if (archive_write_close(w.a) != ARCHIVE_OK) {
    if (w.sinkFailed) return makeError(Code::Cancelled, "client went away");
    return archiveErr(w.a, "close tar");
  }
  return {};
}

// ---------------------------------------------------------------- extract

namespace {

struct Reader {
  archive* a = nullptr;
  const TarSource* source = nullptr;
  std::vector<char> buf = std::vector<char>(1 << 18);
  std::optional<Error> sourceErr;
  bool sourceEnded = false;  // the source returned 0 (a clean end of the stream)
  ~Reader() {
    if (a) archive_read_free(a);
  }
};

la_ssize_t readCb(archive*, void* ud, const void** out) {
  auto* r = static_cast<Reader*>(ud);
  auto n = (*r->source)(r->buf.data(), r->buf.size());
  if (!n) {
    r->sourceErr = n.error();
    return -1;
  }
  if (*n == 0) r->sourceEnded = true;
  *out = r->buf.data();
  return la_ssize_t(*n);
}

// Removes a non-directory at parentFd/base so a new entry can take its
// place (never writes through an existing symlink).
Result<> clearFor(int parentFd, const std::string& base, bool newIsDir, const std::string& shown,
                  const ExtractOptions& o, bool* isDirAlready) {
  struct stat st {};
  *isDirAlready = false;
  if (::fstatat(parentFd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
  if (S_ISDIR(st.st_mode)) {
    if (newIsDir) {
      *isDirAlready = true;
      return {};
    }
    return errorf(Code::InvalidArgument, "cannot overwrite directory \"{}\" with non-directory", shown);
  }
  if (newIsDir && o.noOverwriteDirNonDir)
    return errorf(Code::InvalidArgument, "cannot overwrite non-directory \"{}\" with directory", shown);
  if (::unlinkat(parentFd, base.c_str(), 0) != 0) return sysError(errno, "remove {}", shown);
  return {};
}

}  // namespace

Result<UniqueFd> mkdirsInRoot(int rootFd, const std::string& dir) {
  auto fd = openInRoot(rootFd, dir, O_PATH | O_DIRECTORY);
  if (fd || fd.error().err != ENOENT) return fd;
  TRY_ASSIGN(std::string resolved, resolveInRoot(rootFd, dir, true));
  std::string cur = "/";
  TRY_ASSIGN(auto cfd, openInRoot(rootFd, cur, O_PATH | O_DIRECTORY));
  for (auto& c : components(resolved)) {
    cur += (cur == "/" ? "" : "/") + c;
    auto next = openInRoot(rootFd, cur, O_PATH | O_DIRECTORY);
    if (!next && next.error().err == ENOENT) {
      if (::mkdirat(cfd.get(), c.c_str(), 0755) != 0 && errno != EEXIST) return sysError(errno, "mkdir {}", cur);
      next = openInRoot(rootFd, cur, O_PATH | O_DIRECTORY);
    }
    if (!next) return std::unexpected(next.error());
    cfd = std::move(*next);
  }
  return cfd;
}

Result<> extractTarToRoot(int rootFd, std::string_view dirPathIn, const TarSource& source, const ExtractOptions& o) {
  std::string dirPath;
  TRY_ASSIGN(dirPath, resolveInRoot(rootFd, dirPathIn, true));
  {
    auto d = openInRoot(rootFd, dirPath, O_PATH);
    if (!d) {
      if (d.error().err == ENOENT || d.error().err == ENOTDIR)
        return errorf(Code::NotFound, "Could not find the file {} in container", dirPathIn);
      return std::unexpected(d.error());
    }
    struct stat st {};
    if (::fstat(d->get(), &st) != 0) return sysError(errno, "stat {}", dirPathIn);
    if (!S_ISDIR(st.st_mode)) return makeError(Code::InvalidArgument, "extraction point is not a directory");
  }
  Reader rd;
  rd.source = &source;
  rd.a = archive_read_new();
  archive_read_support_format_tar(rd.a);
  archive_read_support_format_gnutar(rd.a);
  archive_read_support_filter_all(rd.a);
  if (archive_read_open(rd.a, &rd, nullptr, readCb, nullptr) != ARCHIVE_OK) {
    if (rd.sourceErr) return std::unexpected(*rd.sourceErr);
    return errorf(Code::InvalidArgument, "invalid tar: {}", archive_error_string(rd.a));
  }
  std::string prefix = dirPath == "/" ? "" : dirPath;
  ExpansionGuard guard(o.limits, "archive");
  TRY(guard.checkFree());
  const bool compressed = archive_filter_count(rd.a) > 1;
  uint64_t total = 0;
  bool sawEntry = false, truncatedTail = false;
  for (;;) {
    if (truncatedTail) break;
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(rd.a, &e);
    if (rc == ARCHIVE_EOF) break;
    // A stream that ends cleanly right after the last entry's data, without
    // its padding or the end-of-archive blocks, is complete for Go's
    // archive/tar (dockerd); the docker CLI sends such tars (build -f with a
    // Dockerfile outside the context).
    if (rc < ARCHIVE_WARN && rd.sourceEnded && !rd.sourceErr && sawEntry) break;
    if (rc < ARCHIVE_WARN) {
      if (rd.sourceErr) return std::unexpected(*rd.sourceErr);
      return errorf(Code::InvalidArgument, "invalid tar: {}", archive_error_string(rd.a));
    }
    sawEntry = true;
    std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    std::string rel = cleanPath("/" + name);
    {
      // ".." in a name may not climb above the extraction directory.
      int depth = 0;
      for (auto& c : components(name)) {
        if (c == "..") depth--;
        else if (c != ".") depth++;
        if (depth < 0) return errorf(Code::InvalidArgument, "invalid tar entry {}: outside the extraction directory", name);
      }
    }
    if (rel == "/") continue;  // the extraction directory itself
    mode_t etype = archive_entry_filetype(e);
    if (o.skipDevices && !archive_entry_hardlink(e) && (etype == AE_IFCHR || etype == AE_IFBLK)) continue;
    if (o.refuseEscapingSymlinks && etype == AE_IFLNK && archive_entry_symlink(e)) {
      std::string target = archive_entry_symlink(e);
      if (!target.empty() && target[0] != '/') {
        int depth = 0;
        bool out = false;
        auto entryDir = components(rel);
        if (!entryDir.empty()) entryDir.pop_back();
        depth = int(entryDir.size());
        for (auto& c : components(target)) {
          if (c == "..") depth--;
          else if (c != ".") depth++;
          if (depth < 0) out = true;
        }
        if (out) return errorf(Code::InvalidArgument, "invalid symlink \"{}\" -> \"{}\"", name, target);
      }
    }
    if (o.maxBytes && etype == AE_IFREG && archive_entry_size_is_set(e)) {
      total += uint64_t(std::max<la_int64_t>(0, archive_entry_size(e)));
      if (total > o.maxBytes) return errorf(Code::InvalidArgument, "larger than the limit of {} bytes", o.maxBytes);
    }
    std::string full = prefix + rel;
    // Paths the kernel cannot name are the tar's fault (400), not ours.
    if (full.size() >= PATH_MAX)
      return errorf(Code::InvalidArgument, "invalid tar entry {}: file name too long", name.substr(0, 200));
    for (auto& comp : components(rel))
      if (comp.size() > NAME_MAX)
        return errorf(Code::InvalidArgument, "invalid tar entry {}: file name too long", name.substr(0, 200));
    auto [parent, base] = splitParent(full);
    TRY_ASSIGN(auto pfd, mkdirsInRoot(rootFd, parent));
    mode_t type = archive_entry_filetype(e);
    mode_t perm = archive_entry_perm(e) & 07777;
    uid_t uid = uid_t(o.uid);
    gid_t gid = gid_t(o.gid);
    const char* hard = archive_entry_hardlink(e);
    bool already = false;
    TRY(clearFor(pfd.get(), base, type == AE_IFDIR && !hard, name, o, &already));
    struct timespec times[2] = {{archive_entry_atime(e), archive_entry_atime_nsec(e)},
                                {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
    if (!archive_entry_atime_is_set(e)) times[0] = times[1];
    if (hard) {
      int hdepth = 0;
      for (auto& c : components(hard)) {
        if (c == "..") hdepth--;
        else if (c != ".") hdepth++;
        if (hdepth < 0) return errorf(Code::InvalidArgument, "invalid hardlink {} -> {}", name, hard);
      }
      auto [tparent, tbase] = splitParent(prefix + cleanPath(std::string("/") + hard));
      TRY_ASSIGN(auto tfd, openInRoot(rootFd, tparent, O_PATH | O_DIRECTORY));
      if (::linkat(tfd.get(), tbase.c_str(), pfd.get(), base.c_str(), 0) != 0)
        return sysError(errno, "link {} -> {}", name, hard);
      continue;
    }
    if (type == AE_IFDIR) {
      if (!already && ::mkdirat(pfd.get(), base.c_str(), 0700) != 0) return sysError(errno, "mkdir {}", name);
      UniqueFd dfd(::openat(pfd.get(), base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!dfd) return sysError(errno, "open {}", name);
      (void)::fchown(dfd.get(), uid, gid);
      if (::fchmod(dfd.get(), perm) != 0) return sysError(errno, "chmod {}", name);
    } else if (type == AE_IFREG) {
      UniqueFd fd(::openat(pfd.get(), base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!fd) return sysError(errno, "create {}", name);
      const void* buf;
      size_t n;
      la_int64_t off;
      int64_t pos = 0;
      for (;;) {
        int r = archive_read_data_block(rd.a, &buf, &n, &off);
        if (r == ARCHIVE_EOF) break;
        // The last entry's data complete and only its padding missing at a
        // clean end of the stream (as above).
        if (r < ARCHIVE_WARN && rd.sourceEnded && !rd.sourceErr && pos == archive_entry_size(e)) {
          truncatedTail = true;
          break;
        }
        if (r < ARCHIVE_WARN) {
          if (rd.sourceErr) return std::unexpected(*rd.sourceErr);
          return errorf(Code::InvalidArgument, "invalid tar: {}", archive_error_string(rd.a));
        }
        if (off != pos && ::lseek(fd.get(), off, SEEK_SET) < 0) return sysError(errno, "seek {}", name);
        const char* p = static_cast<const char*>(buf);
        size_t left = n;
        while (left > 0) {
          ssize_t w = ::write(fd.get(), p, left);
          if (w < 0) {
            if (errno == EINTR) continue;
            return sysError(errno, "write {}", name);
          }
          p += w;
          left -= size_t(w);
        }
        pos = off + int64_t(n);
        TRY(guard.check(uint64_t(archive_filter_bytes(rd.a, -1)), uint64_t(archive_filter_bytes(rd.a, 0)), compressed));
      }
      if (::ftruncate(fd.get(), archive_entry_size(e)) != 0) return sysError(errno, "truncate {}", name);
      (void)::fchown(fd.get(), uid, gid);
      if (::fchmod(fd.get(), perm) != 0) return sysError(errno, "chmod {}", name);
      (void)::futimens(fd.get(), times);
    } else if (type == AE_IFLNK) {
      const char* target = archive_entry_symlink(e);
      if (::symlinkat(target ? target : "", pfd.get(), base.c_str()) != 0) return sysError(errno, "symlink {}", name);
      (void)::fchownat(pfd.get(), base.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
      (void)::utimensat(pfd.get(), base.c_str(), times, AT_SYMLINK_NOFOLLOW);
    } else if (type == AE_IFIFO || type == AE_IFCHR || type == AE_IFBLK) {
      if (::mknodat(pfd.get(), base.c_str(), type | perm, archive_entry_rdev(e)) != 0)
        return sysError(errno, "mknod {}", name);
      (void)::fchownat(pfd.get(), base.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
    }
  }
  return {};
}

}  // namespace berth::container
