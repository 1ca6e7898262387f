#include "monitor/json_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

#include <zlib.h>

#include "common/util.h"

namespace berth::monitor {

namespace {

// Gzips src into dst (through dst.tmp, renamed once complete), then removes
// src. On failure src is renamed to dst without ".gz" so nothing is lost.
void gzipFile(const std::string& src, const std::string& dst) {
  std::string tmp = dst + ".tmp";
  UniqueFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  gzFile out = in ? gzopen(tmp.c_str(), "wb6") : nullptr;
  bool ok = out != nullptr;
  char buf[65536];
  while (ok) {
    ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    ok = gzwrite(out, buf, unsigned(n)) == int(n);
  }
  if (out && gzclose(out) != Z_OK) ok = false;
  if (ok && ::rename(tmp.c_str(), dst.c_str()) == 0) {
    ::unlink(src.c_str());
  } else {
    ::unlink(tmp.c_str());
    ::rename(src.c_str(), dst.substr(0, dst.size() - 3).c_str());
  }
}

constexpr char kHex[] = "0123456789abcdef";

// Go's utf8.DecodeRune: length of a valid sequence at s, or 0 if invalid.
size_t validRuneLength(const unsigned char* s, size_t n, uint32_t& rune) {
  unsigned char b0 = s[0];
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) len = 2;
  else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (n < len) return 0;
  if (s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < len; i++)
    if (s[i] < 0x80 || s[i] > 0xBF) return 0;
  if (len == 2) rune = (uint32_t(b0 & 0x1F) << 6) | (s[1] & 0x3F);
  else if (len == 3) rune = (uint32_t(b0 & 0x0F) << 12) | (uint32_t(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
  else
    rune = (uint32_t(b0 & 0x07) << 18) | (uint32_t(s[1] & 0x3F) << 12) | (uint32_t(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
  return len;
}

}  // namespace

void appendJsonString(std::string& out, std::string_view bytes) {
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  out.reserve(out.size() + n + 2);
  out.push_back('"');
  size_t start = 0;
  for (size_t i = 0; i < n;) {
    unsigned char b = s[i];
    if (b < 0x80) {
      if (b >= 0x20 && b != '\\' && b != '"' && b != '<' && b != '>' && b != '&') {
        i++;
        continue;
      }
      out.append(bytes.data() + start, i - start);
      switch (b) {
        case '\\': out += "\\\\"; break;
        case '"': out += "\\\""; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          out += "\\u00";
          out.push_back(kHex[b >> 4]);
          out.push_back(kHex[b & 0xF]);
      }
      start = ++i;
      continue;
    }
    uint32_t rune = 0;
    size_t len = validRuneLength(s + i, n - i, rune);
    if (len == 0) {
      out.append(bytes.data() + start, i - start);
      out += "\\ufffd";
      start = ++i;
      continue;
    }
    if (rune == 0x2028 || rune == 0x2029) {
      out.append(bytes.data() + start, i - start);
      out += "\\u202";
      out.push_back(kHex[rune & 0xF]);
      i += len;
      start = i;
      continue;
    }
    i += len;
  }
  out.append(bytes.data() + start, n - start);
  out.push_back('"');
}

std::string formatGoRfc3339Nano(int64_t ns) {
  time_t sec = time_t(ns / 1000000000);
  long frac = long(ns % 1000000000);
  if (frac < 0) {
    frac += 1000000000;
    sec--;
  }
  tm t;
  gmtime_r(&sec, &t);
  char buf[64];
  size_t len = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  if (frac) {
    char f[16];
    snprintf(f, sizeof f, ".%09ld", frac);
    size_t fl = 10;
    while (f[fl - 1] == '0') fl--;
    f[fl] = 0;
    len += size_t(snprintf(buf + len, sizeof buf - len, "%s", f));
  }
  snprintf(buf + len, sizeof buf - len, "Z");
  return buf;
}

std::string encodeLogLine(std::string_view log, std::string_view stream, int64_t ns) {
  std::string out;
  out.reserve(log.size() + 80);
  out += "{\"log\":";
  appendJsonString(out, log);
  out += ",\"stream\":\"";
  out.append(stream);
  out += "\",\"time\":\"";
  out += formatGoRfc3339Nano(ns);
  out += "\"}\n";
  return out;
}

std::string encodeCriLine(std::string_view piece, std::string_view stream, int64_t ns, bool final) {
  bool full = final;
  if (!piece.empty() && piece.back() == '\n') {
    full = true;
    piece.remove_suffix(1);
    if (!piece.empty() && piece.back() == '\r') piece.remove_suffix(1);
  }
  std::string out = formatGoRfc3339Nano(ns);
  out.reserve(out.size() + piece.size() + 12);
  out += ' ';
  out.append(stream);
  out += full ? " F " : " P ";
  out.append(piece);
  out += '\n';
  return out;
}

Result<JsonLogWriter> JsonLogWriter::open(const std::string& path, int64_t maxSize, int maxFiles, bool compress,
                                          LogFormat format) {
  JsonLogWriter w;
  w.compress_ = compress;
  w.format_ = format;
  if (compress) {
    auto slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) (void)mkdirAll(path.substr(0, slash), 0700);
  }
  w.fd_.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!w.fd_) return sysError(errno, "open log {}", path);
  struct stat st;
  if (::fstat(w.fd_.get(), &st) == 0) w.size_ = st.st_size;
  w.path_ = path;
  w.maxSize_ = maxSize;
  w.maxFiles_ = maxFiles < 1 ? 1 : maxFiles;
  return w;
}

void JsonLogWriter::write(int stream, std::string_view data, int64_t now) {
  splitLines(pending_[stream & 1], data, kMaxLine, [&](std::string_view line) { emit(stream, line, now); });
}

void JsonLogWriter::flush(int64_t now) {
  for (int s = 0; s < 2; s++) {
    if (pending_[s].empty()) continue;
    std::string line = std::move(pending_[s]);
    pending_[s].clear();
    emit(s, line, now, true);
  }
}

Result<> JsonLogWriter::reopen() {
  if (path_.empty()) return {};
  UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd) return sysError(errno, "reopen log {}", path_);
  struct stat st;
  size_ = ::fstat(fd.get(), &st) == 0 ? st.st_size : 0;
  fd_ = std::move(fd);
  return {};
}

void JsonLogWriter::emit(int stream, std::string_view line, int64_t now, bool final) {
  if (!fd_) return;
  const char* name = stream ? "stderr" : "stdout";
  std::string rec = format_ == LogFormat::Cri ? encodeCriLine(line, name, now, final) : encodeLogLine(line, name, now);
  if (maxSize_ > 0 && size_ > 0 && size_ + int64_t(rec.size()) > maxSize_) rotate();
  size_t off = 0;
  while (off < rec.size()) {
    ssize_t n = ::write(fd_.get(), rec.data() + off, rec.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // disk full etc.: the log loses the line, the clients don't
    }
    off += size_t(n);
  }
  size_ += int64_t(rec.size());
}

void JsonLogWriter::rotate() {
  if (maxFiles_ <= 1) {
    if (::ftruncate(fd_.get(), 0) == 0) size_ = 0;
    return;
  }
  if (compress_) {
    // PATH.N.gz shift up (the oldest falls off), then PATH is gzipped to PATH.1.gz.
    for (int i = maxFiles_ - 1; i >= 2; i--) {
      std::string from = path_ + "." + std::to_string(i - 1) + ".gz", to = path_ + "." + std::to_string(i) + ".gz";
      ::rename(from.c_str(), to.c_str());
    }
    gzipFile(path_, path_ + ".1.gz");
  } else {
    for (int i = maxFiles_ - 1; i >= 1; i--) {
      std::string from = i == 1 ? path_ : path_ + "." + std::to_string(i - 1);
      std::string to = path_ + "." + std::to_string(i);
      ::rename(from.c_str(), to.c_str());
    }
  }
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0640));
  size_ = 0;
}

}  // namespace berth::monitor
