#include "cli/tar.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "common/fd.h"
#include "common/number.h"
#include "common/util.h"

namespace berth::cli::tar {

namespace {

constexpr size_t kBlock = 512;

void putOctal(char* field, size_t width, uint64_t v) {
  std::string s = fmt::format("{:0{}o}", v, width - 1);
  std::memcpy(field, s.data(), std::min(s.size(), width - 1));
  field[width - 1] = 0;
}

void putString(char* field, size_t width, std::string_view s) {
  std::memcpy(field, s.data(), std::min(s.size(), width));
}

std::string paxRecord(std::string_view key, std::string_view value) {
  size_t body = key.size() + value.size() + 3;  // ' ' '=' '\n'
  size_t len = body + std::to_string(body).size();
  if (std::to_string(len).size() != std::to_string(body).size()) len++;
  return fmt::format("{} {}={}\n", len, key, value);
}

uint64_t parseNumber(const char* f, size_t width) {
  if (uint8_t(f[0]) & 0x80) {  // base-256
    uint64_t v = uint8_t(f[0]) & 0x7f;
    for (size_t i = 1; i < width; i++) v = (v << 8) | uint8_t(f[i]);
    return v;
  }
  uint64_t v = 0;
  for (size_t i = 0; i < width && f[i]; i++) {
    if (f[i] == ' ') continue;
    if (f[i] < '0' || f[i] > '7') break;
    v = v * 8 + uint64_t(f[i] - '0');
  }
  return v;
}

std::string fieldString(const char* f, size_t width) { return std::string(f, strnlen(f, width)); }

bool writeAll(int fd, std::string_view d) {
  while (!d.empty()) {
    ssize_t n = ::write(fd, d.data(), d.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    d.remove_prefix(size_t(n));
  }
  return true;
}

}  // namespace

// ------------------------------------------------------------------ writer

Result<> Writer::block(const char* b) {
  written_ += kBlock;
  return sink_(std::string_view(b, kBlock));
}

Result<> Writer::padEntry() {
  if (left_ != 0) return makeError(Code::Internal, "tar: short entry data");
  size_t rem = size_t(written_ % kBlock);
  if (rem) {
    std::string zeros(kBlock - rem, '\0');
    written_ += int64_t(zeros.size());
    TRY(sink_(zeros));
  }
  return {};
}

Result<> Writer::writeHeader(const Entry& e) {
  TRY(padEntry());
  std::string name = e.name, prefix;
  std::string pax;
  if (name.size() > 100) {
    // ustar prefix/name split at a '/', else a PAX path record.
    auto cut = name.rfind('/', std::min<size_t>(name.size() - 1, 155));
    if (cut != std::string::npos && cut <= 155 && name.size() - cut - 1 <= 100 && cut > 0) {
      prefix = name.substr(0, cut);
      name = name.substr(cut + 1);
    } else {
      pax += paxRecord("path", e.name);
      name = e.name.substr(0, 100);
    }
  }
  if (e.linkname.size() > 100) pax += paxRecord("linkpath", e.linkname);
  if (e.size >= (int64_t(1) << 33)) pax += paxRecord("size", std::to_string(e.size));
  if (!pax.empty()) {
    Entry x;
    x.name = "PaxHeaders/" + e.name.substr(0, 80);
    x.type = 'x';
    x.size = int64_t(pax.size());
    x.mtime = e.mtime;
    TRY(writeHeader(x));
    TRY(writeData(pax));
    TRY(padEntry());
  }
  char h[kBlock] = {};
  putString(h, 100, name);
  putOctal(h + 100, 8, e.mode & 07777);
  putOctal(h + 108, 8, e.uid);
  putOctal(h + 116, 8, e.gid);
  putOctal(h + 124, 12, e.size < (int64_t(1) << 33) ? uint64_t(e.size) : 0);
  putOctal(h + 136, 12, uint64_t(std::max<int64_t>(e.mtime, 0)));
  std::memset(h + 148, ' ', 8);
  h[156] = e.type;
  putString(h + 157, 100, e.linkname.substr(0, 100));
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  putOctal(h + 329, 8, e.devMajor);
  putOctal(h + 337, 8, e.devMinor);
  putString(h + 345, 155, prefix);
  unsigned sum = 0;
  for (size_t i = 0; i < kBlock; i++) sum += uint8_t(h[i]);
  putOctal(h + 148, 7, sum);
  h[155] = ' ';
  TRY(block(h));
  left_ = (e.type == '0' || e.type == 'x' || e.type == '7') ? e.size : 0;
  return {};
}

Result<> Writer::writeData(std::string_view data) {
  if (int64_t(data.size()) > left_) return makeError(Code::Internal, "tar: entry data longer than its size");
  left_ -= int64_t(data.size());
  written_ += int64_t(data.size());
  return sink_(data);
}

Result<> Writer::finish() {
  TRY(padEntry());
  char z[kBlock] = {};
  TRY(block(z));
  return block(z);
}

Result<> Writer::addPath(const std::string& hostPath, const std::string& tarName, bool followTop) {
  struct stat st {};
  if ((followTop ? ::stat(hostPath.c_str(), &st) : ::lstat(hostPath.c_str(), &st)) != 0)
    return sysError(errno, "lstat {}", hostPath);
  Entry e;
  e.name = tarName;
  e.mode = st.st_mode & 07777;
  e.uid = st.st_uid;
  e.gid = st.st_gid;
  e.mtime = st.st_mtim.tv_sec;
  switch (st.st_mode & S_IFMT) {
    case S_IFREG: {
      e.type = '0';
      e.size = st.st_size;
      UniqueFd fd(::open(hostPath.c_str(), O_RDONLY | O_CLOEXEC | (followTop ? 0 : O_NOFOLLOW)));
      if (!fd) return sysError(errno, "open {}", hostPath);
      TRY(writeHeader(e));
      std::vector<char> buf(1 << 16);
      int64_t left = e.size;
      while (left > 0) {
        ssize_t n = ::read(fd.get(), buf.data(), size_t(std::min<int64_t>(left, int64_t(buf.size()))));
        if (n < 0) {
          if (errno == EINTR) continue;
          return sysError(errno, "read {}", hostPath);
        }
        if (n == 0) return errorf(Code::Internal, "{}: file shrank while copying", hostPath);
        TRY(writeData(std::string_view(buf.data(), size_t(n))));
        left -= n;
      }
      return {};
    }
    case S_IFLNK: {
      e.type = '2';
      char buf[4096];
      ssize_t n = ::readlink(hostPath.c_str(), buf, sizeof buf);
      if (n < 0) return sysError(errno, "readlink {}", hostPath);
      e.linkname.assign(buf, size_t(n));
      return writeHeader(e);
    }
    case S_IFDIR: {
      e.type = '5';
      if (e.name.empty() || e.name.back() != '/') e.name += "/";
      TRY(writeHeader(e));
      DIR* d = ::opendir(hostPath.c_str());
      if (!d) return sysError(errno, "open {}", hostPath);
      std::vector<std::string> names;
      while (auto* ent = ::readdir(d)) {
        std::string n = ent->d_name;
        if (n != "." && n != "..") names.push_back(n);
      }
      ::closedir(d);
      std::sort(names.begin(), names.end());
      std::string base = tarName;
      while (!base.empty() && base.back() == '/') base.pop_back();
      for (auto& n : names) TRY(addPath(hostPath + "/" + n, base + "/" + n, false));
      return {};
    }
    case S_IFIFO: e.type = '6'; return writeHeader(e);
    case S_IFCHR:
    case S_IFBLK:
      e.type = S_ISCHR(st.st_mode) ? '3' : '4';
      e.devMajor = major(st.st_rdev);
      e.devMinor = minor(st.st_rdev);
      return writeHeader(e);
    default: return {};  // sockets are not archived
  }
}

// ------------------------------------------------------------------ reader

Result<bool> Reader::readBlock(char* b) {
  size_t got = 0;
  while (got < kBlock) {
    TRY_ASSIGN(size_t n, src_(b + got, kBlock - got));
    if (n == 0) {
      if (got == 0) return false;
      return makeError(Code::InvalidArgument, "tar: unexpected end of archive");
    }
    got += n;
  }
  return true;
}

Result<> Reader::skipRest() {
  char buf[kBlock * 8];
  while (left_ > 0) {
    TRY_ASSIGN(size_t n, read(buf, sizeof buf));
    if (n == 0) break;
  }
  while (pad_ > 0) {
    size_t want = size_t(std::min<int64_t>(pad_, int64_t(sizeof buf)));
    TRY_ASSIGN(size_t n, src_(buf, want));
    if (n == 0) return makeError(Code::InvalidArgument, "tar: unexpected end of archive");
    pad_ -= int64_t(n);
  }
  return {};
}

Result<size_t> Reader::read(char* buf, size_t n) {
  if (left_ <= 0) return size_t(0);
  size_t want = size_t(std::min<int64_t>(left_, int64_t(n)));
  TRY_ASSIGN(size_t got, src_(buf, want));
  if (got == 0) return makeError(Code::InvalidArgument, "tar: unexpected end of archive");
  left_ -= int64_t(got);
  return got;
}

Result<bool> Reader::next(Entry& e) {
  TRY(skipRest());
  std::string longName, longLink;
  std::optional<int64_t> paxSize;
  for (;;) {
    char h[kBlock];
    TRY_ASSIGN(bool more, readBlock(h));
    if (!more) return false;
    bool zero = std::all_of(h, h + kBlock, [](char c) { return c == 0; });
    if (zero) return false;  // end-of-archive marker
    unsigned sum = 0;
    for (size_t i = 0; i < kBlock; i++) sum += (i >= 148 && i < 156) ? ' ' : uint8_t(h[i]);
    if (sum != parseNumber(h + 148, 8)) return makeError(Code::InvalidArgument, "tar: invalid header checksum");
    Entry x;
    x.name = fieldString(h, 100);
    if (std::memcmp(h + 257, "ustar", 5) == 0) {
      std::string prefix = fieldString(h + 345, 155);
      if (!prefix.empty() && h[263] == '0') x.name = prefix + "/" + x.name;
    }
    x.mode = uint32_t(parseNumber(h + 100, 8)) & 07777;
    x.uid = uint32_t(parseNumber(h + 108, 8));
    x.gid = uint32_t(parseNumber(h + 116, 8));
    x.size = int64_t(parseNumber(h + 124, 12));
    x.mtime = int64_t(parseNumber(h + 136, 12));
    x.type = h[156] ? h[156] : '0';
    x.linkname = fieldString(h + 157, 100);
    x.devMajor = uint32_t(parseNumber(h + 329, 8));
    x.devMinor = uint32_t(parseNumber(h + 337, 8));
    if (paxSize) x.size = *paxSize;
    bool hasData = x.type == '0' || x.type == '7' || x.type == 'x' || x.type == 'g' || x.type == 'L' || x.type == 'K';
    left_ = hasData ? x.size : 0;
    pad_ = hasData ? (int64_t(kBlock) - x.size % int64_t(kBlock)) % int64_t(kBlock) : 0;
    if (x.type == 'x' || x.type == 'g' || x.type == 'L' || x.type == 'K') {
      if (x.size > (16 << 20)) return makeError(Code::InvalidArgument, "tar: extended header too large");
      std::string data(size_t(x.size), '\0');
      size_t got = 0;
      while (got < data.size()) {
        TRY_ASSIGN(size_t n, read(data.data() + got, data.size() - got));
        if (n == 0) break;
        got += n;
      }
      TRY(skipRest());
      if (x.type == 'L') longName = data.c_str();
      if (x.type == 'K') longLink = data.c_str();
      if (x.type == 'x') {
        size_t pos = 0;
        while (pos < data.size()) {
          size_t sp = data.find(' ', pos);
          if (sp == std::string::npos) break;
          size_t len = berth::numberOr<size_t>(std::string_view(data).substr(pos, sp - pos), 0);
          if (len == 0 || pos + len > data.size()) break;
          std::string rec = data.substr(sp + 1, pos + len - sp - 2);
          auto eq = rec.find('=');
          if (eq != std::string::npos) {
            std::string k = rec.substr(0, eq), v = rec.substr(eq + 1);
            if (k == "path") longName = v;
            else if (k == "linkpath") longLink = v;
            else if (k == "size") {
              if (auto n = berth::parseNumber<int64_t>(v)) paxSize = *n;
            }
          }
          pos += len;
        }
      }
      continue;
    }
    if (!longName.empty()) x.name = longName;
    if (!longLink.empty()) x.linkname = longLink;
    e = std::move(x);
    return true;
  }
}

std::string rebaseName(const std::string& name, const std::string& from, const std::string& to) {
  if (from.empty()) return name;
  if (name == from || name == from + "/") return to + name.substr(from.size());
  if (startsWith(name, from + "/")) return to + name.substr(from.size());
  return name;
}

// ----------------------------------------------------------------- extract

namespace {

// Components of a relative name; InvalidArgument if ".." climbs out.
Result<std::vector<std::string>> relParts(const std::string& name) {
  std::vector<std::string> out;
  for (auto& c : split(name, '/')) {
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (out.empty()) return errorf(Code::InvalidArgument, "invalid tar entry {}: outside the destination", name);
      out.pop_back();
      continue;
    }
    out.push_back(c);
  }
  return out;
}

Result<UniqueFd> openBeneath(int dirFd, const std::string& rel, int flags) {
  struct open_how how {};
  how.flags = uint64_t(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  int fd = int(::syscall(SYS_openat2, dirFd, rel.empty() ? "." : rel.c_str(), &how, sizeof how));
  if (fd < 0) return sysError(errno, "open {}", rel);
  return UniqueFd(fd);
}

Result<UniqueFd> mkdirsBeneath(int dirFd, const std::vector<std::string>& parts, size_t n) {
  std::string rel;
  UniqueFd cur;
  TRY_ASSIGN(cur, openBeneath(dirFd, "", O_PATH | O_DIRECTORY));
  for (size_t i = 0; i < n; i++) {
    rel += (rel.empty() ? "" : "/") + parts[i];
    auto next = openBeneath(dirFd, rel, O_PATH | O_DIRECTORY);
    if (!next && next.error().err == ENOENT) {
      if (::mkdirat(cur.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST) return sysError(errno, "mkdir {}", rel);
      next = openBeneath(dirFd, rel, O_PATH | O_DIRECTORY);
    }
    if (!next) return std::unexpected(next.error());
    cur = std::move(*next);
  }
  return cur;
}

}  // namespace

Result<> extract(Reader& r, const std::string& dstDir, const std::string& from, const std::string& to) {
  UniqueFd root(::open(dstDir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sysError(errno, "open {}", dstDir);
  Entry e;
  std::vector<std::pair<std::vector<std::string>, Entry>> dirs;  // modes/times applied last
  for (;;) {
    TRY_ASSIGN(bool more, r.next(e));
    if (!more) break;
    std::string name = rebaseName(e.name, from, to);
    TRY_ASSIGN(auto parts, relParts(name));
    if (parts.empty()) continue;
    TRY_ASSIGN(auto pfd, mkdirsBeneath(root.get(), parts, parts.size() - 1));
    const std::string& base = parts.back();
    struct stat st {};
    bool exists = ::fstatat(pfd.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && S_ISDIR(st.st_mode) && e.type != '5')
      return errorf(Code::InvalidArgument, "cannot overwrite directory \"{}\" with non-directory", name);
    if (exists && !S_ISDIR(st.st_mode) && e.type == '5')
      return errorf(Code::InvalidArgument, "cannot overwrite non-directory \"{}\" with directory", name);
    if (exists && !S_ISDIR(st.st_mode) && ::unlinkat(pfd.get(), base.c_str(), 0) != 0)
      return sysError(errno, "remove {}", name);
    struct timespec times[2] = {{e.mtime, 0}, {e.mtime, 0}};
    switch (e.type) {
      case '5':
        if (!exists && ::mkdirat(pfd.get(), base.c_str(), 0700) != 0) return sysError(errno, "mkdir {}", name);
        dirs.push_back({parts, e});
        break;
      case '0':
      case '7': {
        UniqueFd fd(::openat(pfd.get(), base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd) return sysError(errno, "create {}", name);
        char buf[1 << 16];
        for (;;) {
          TRY_ASSIGN(size_t n, r.read(buf, sizeof buf));
          if (n == 0) break;
          if (!writeAll(fd.get(), std::string_view(buf, n))) return sysError(errno, "write {}", name);
        }
        if (::fchmod(fd.get(), e.mode) != 0) return sysError(errno, "chmod {}", name);
        (void)::futimens(fd.get(), times);
        break;
      }
      case '2':
        if (::symlinkat(e.linkname.c_str(), pfd.get(), base.c_str()) != 0) return sysError(errno, "symlink {}", name);
        (void)::utimensat(pfd.get(), base.c_str(), times, AT_SYMLINK_NOFOLLOW);
        break;
      case '1': {
        TRY_ASSIGN(auto tparts, relParts(rebaseName(e.linkname, from, to)));
        if (tparts.empty()) return errorf(Code::InvalidArgument, "invalid hardlink {}", name);
        std::string tparent;
        for (size_t i = 0; i + 1 < tparts.size(); i++) tparent += (tparent.empty() ? "" : "/") + tparts[i];
        TRY_ASSIGN(auto tfd, openBeneath(root.get(), tparent, O_PATH | O_DIRECTORY));
        if (::linkat(tfd.get(), tparts.back().c_str(), pfd.get(), base.c_str(), 0) != 0)
          return sysError(errno, "link {}", name);
        break;
      }
      case '6':
        if (::mkfifoat(pfd.get(), base.c_str(), e.mode) != 0) return sysError(errno, "mkfifo {}", name);
        break;
      case '3':
      case '4':
        // devices need privileges the user may not have; like tar, skip on EPERM
        if (::mknodat(pfd.get(), base.c_str(), (e.type == '3' ? S_IFCHR : S_IFBLK) | e.mode,
                      makedev(e.devMajor, e.devMinor)) != 0 &&
            errno != EPERM)
          return sysError(errno, "mknod {}", name);
        break;
      default: break;  // unknown types are skipped, their data with them
    }
  }
  // Directories last, deepest first: their modes may forbid writing into them.
  std::reverse(dirs.begin(), dirs.end());
  for (auto& [parts, d] : dirs) {
    std::string rel;
    for (auto& p : parts) rel += (rel.empty() ? "" : "/") + p;
    TRY_ASSIGN(auto fd, openBeneath(root.get(), rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    if (::fchmod(fd.get(), d.mode) != 0) return sysError(errno, "chmod {}", rel);
    struct timespec times[2] = {{d.mtime, 0}, {d.mtime, 0}};
    (void)::futimens(fd.get(), times);
  }
  return {};
}

}  // namespace berth::cli::tar
