#include "common/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <limits>

#include "common/fd.h"
#include <fmt/core.h>

namespace berth {

std::string randomHexId() {
  unsigned char b[32];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = getrandom(b + got, sizeof b - got, 0);
    if (n > 0) got += size_t(n);
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (unsigned char c : b) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

int64_t nowNanos() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// UTC by arithmetic (the proleptic Gregorian calendar from days since the
// epoch), not gmtime_r + strftime: in a static binary those pull glibc's
// time zone and scanf code (~80 KB of text) into berth-monitor and berth-dns.
std::string formatRfc3339Nano(int64_t ns) {
  if (ns <= 0) return "0001-01-01T00:00:00Z";
  int64_t sec = ns / 1000000000;
  long frac = long(ns % 1000000000);
  int64_t days = sec / 86400, rem = sec % 86400;
  int64_t z = days + 719468;  // days since 0000-03-01
  int64_t era = z / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t day = doy - (153 * mp + 2) / 5 + 1;
  int64_t month = mp < 10 ? mp + 3 : mp - 9;
  int64_t year = yoe + era * 400 + (month <= 2);
  char buf[64];
  snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%09ldZ", (long long)year, (long long)month,
           (long long)day, (long long)(rem / 3600), (long long)(rem / 60 % 60), (long long)(rem % 60), frac);
  return buf;
}

Result<int64_t> parseRfc3339(std::string_view s) {
  if (s == "0001-01-01T00:00:00Z") return 0;
  tm t{};
  std::string str(s);
  const char* p = strptime(str.c_str(), "%Y-%m-%dT%H:%M:%S", &t);
  if (!p) return errorf(Code::InvalidArgument, "invalid time {}", s);
  int64_t frac = 0;
  if (*p == '.') {
    p++;
    int digits = 0;
    while (isdigit((unsigned char)*p)) {
      if (digits < 9) {
        frac = frac * 10 + (*p - '0');
        digits++;
      }
      p++;
    }
    while (digits++ < 9) frac *= 10;
  }
  int64_t offset = 0;
  if (*p == '+' || *p == '-') {
    int hh = 0, mm = 0;
    if (sscanf(p + 1, "%d:%d", &hh, &mm) != 2) return errorf(Code::InvalidArgument, "invalid time {}", s);
    offset = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
  } else if (*p != 'Z') {
    return errorf(Code::InvalidArgument, "invalid time {}", s);
  }
  int64_t sec = int64_t(timegm(&t)) - offset;
  return sec * 1000000000 + frac;
}

Result<std::string> readFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return sysError(errno, "open {}", path);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sysError(errno, "read {}", path);
    }
    if (n == 0) break;
    out.append(buf, size_t(n));
  }
  return out;
}

static Result<> replaceFile(const std::string& path, std::string_view data, int mode, bool sync) {
  std::string tmp = path + ".tmp" + std::to_string(getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return sysError(errno, "create {}", tmp);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::unlink(tmp.c_str());
      return sysError(e, "write {}", tmp);
    }
    off += size_t(n);
  }
  if (sync && ::fsync(fd.get()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return sysError(e, "fsync {}", tmp);
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return sysError(e, "rename {}", path);
  }
  if (!sync) return {};
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd) ::fsync(dfd.get());
  return {};
}

Result<> writeFileAtomic(const std::string& path, std::string_view data, int mode) {
  return replaceFile(path, data, mode, true);
}

Result<> writeFileReplace(const std::string& path, std::string_view data, int mode) {
  return replaceFile(path, data, mode, false);
}

Result<bool> spreadSubdirs(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return sysError(errno, "open {}", dir);
  int flags = 0;
  if (::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) != 0) return false;
  if (flags & FS_TOPDIR_FL) return true;
  flags |= FS_TOPDIR_FL;
  if (::ioctl(fd.get(), FS_IOC_SETFLAGS, &flags) != 0) return false;
  // Some file systems accept the call and drop flags they do not keep.
  if (::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) != 0) return false;
  return (flags & FS_TOPDIR_FL) != 0;
}

Result<> mkdirAll(const std::string& path, int mode) {
  if (path.empty()) return {};
  // From the leaf up: an existing directory costs one mkdir and one stat,
  // a new one under an existing parent one mkdir; only missing parents
  // recurse (the hot callers' parents exist).
  if (::mkdir(path.c_str(), mode) == 0) return {};
  if (errno == ENOENT) {
    size_t end = path.find_last_not_of('/');
    size_t slash = end == std::string::npos ? std::string::npos : path.rfind('/', end);
    if (slash == std::string::npos || slash == 0) return sysError(ENOENT, "mkdir {}", path);
    TRY(mkdirAll(path.substr(0, slash), mode));
    if (::mkdir(path.c_str(), mode) == 0) return {};
  }
  if (errno != EEXIST) return sysError(errno, "mkdir {}", path);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return sysError(errno, "stat {}", path);
  if (!S_ISDIR(st.st_mode)) return errorf(Code::AlreadyExists, "{} exists and is not a directory", path);
  return {};
}

static Result<> removeAt(int dirfd, const char* name, dev_t dev) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return sysError(errno, "stat {}", name);
  }
  if (S_ISDIR(st.st_mode)) {
    if (st.st_dev != dev) return errorf(Code::Conflict, "refusing to remove {}: a mount point", name);
    UniqueFd fd(openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return sysError(errno, "open {}", name);
    DIR* d = fdopendir(fd.release());
    if (!d) return sysError(errno, "opendir {}", name);
    Result<> r;
    while (dirent* e = readdir(d)) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      r = removeAt(::dirfd(d), e->d_name, dev);
      if (!r) break;
    }
    closedir(d);
    if (!r) return r;
    if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) return sysError(errno, "rmdir {}", name);
    return {};
  }
  if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT) return sysError(errno, "unlink {}", name);
  return {};
}

Result<> removeAll(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return sysError(errno, "stat {}", path);
  }
  auto r = removeAt(AT_FDCWD, path.c_str(), st.st_dev);
  if (!r) return std::unexpected(r.error().wrap("remove " + path));
  return {};
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    if (p == std::string_view::npos) {
      out.emplace_back(s.substr(start));
      return out;
    }
    out.emplace_back(s.substr(start, p - start));
    start = p + 1;
  }
}

bool startsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool endsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && isspace((unsigned char)s[b])) b++;
  while (e > b && isspace((unsigned char)s[e - 1])) e--;
  return std::string(s.substr(b, e - b));
}

std::string toLower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = char(tolower((unsigned char)c));
  return out;
}

std::string toUpper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = char(toupper((unsigned char)c));
  return out;
}

std::string humanDurationNanos(int64_t nanos) {
  constexpr int64_t kSecond = 1000000000LL, kMinute = 60 * kSecond, kHour = 60 * kMinute;
  int64_t seconds = nanos / kSecond;
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return fmt::format("{} seconds", seconds);
  int64_t minutes = nanos / kMinute;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return fmt::format("{} minutes", minutes);
  int64_t hours = nanos > std::numeric_limits<int64_t>::max() - kHour / 2 ? nanos / kHour
                                                                           : (nanos + kHour / 2) / kHour;
  if (hours == 1) return "About an hour";
  if (hours < 48) return fmt::format("{} hours", hours);
  if (hours < 24 * 7 * 2) return fmt::format("{} days", hours / 24);
  if (hours < 24 * 30 * 2) return fmt::format("{} weeks", hours / 24 / 7);
  if (hours < 24 * 365 * 2) return fmt::format("{} months", hours / 24 / 30);
  return fmt::format("{} years", nanos / kHour / 24 / 365);
}

bool parseBool(std::string_view s) {
  auto l = toLower(s);
  return l == "1" || l == "true" || l == "yes";
}

}  // namespace berth
