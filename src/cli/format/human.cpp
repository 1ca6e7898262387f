#include "cli/format/human.h"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <limits>

#include "cli/format/template.h"
#include "cli/format/utf8.h"
#include "common/number.h"

namespace berth::cli::format {

namespace {

const char* const kDecimalAbbrs[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
const char* const kBinaryAbbrs[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};

// go-units getSizeAndUnit + Sprintf("%.*g%s"). C's %g and Go's %g agree for
// an explicit precision (both round the exact binary value half-to-even and
// switch to %e when exp < -4 || exp >= precision).
std::string customSize(double size, double base, const char* const* abbrs, int precision) {
  int i = 0;
  while (size >= base && i < 8) {
    size /= base;
    ++i;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g%s", precision, size, abbrs[i]);
  return buf;
}

Result<int64_t> parseSize(std::string_view s, int64_t k) {
  auto bad = [&] { return errorf(Code::InvalidArgument, "invalid size: '{}'", s); };
  // (?i)^(\d+(\.\d+)*) ?([kmgtp])?i?b?$
  size_t i = 0;
  auto digits = [&] {
    size_t st = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > st;
  };
  if (!digits()) return bad();
  int dots = 0;
  while (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return bad();
    ++dots;
  }
  std::string num(s.substr(0, i));
  if (i < s.size() && s[i] == ' ') ++i;
  int64_t mul = 1;
  if (i < s.size()) {
    switch (s[i] | 0x20) {
      case 'k': mul = k; ++i; break;
      case 'm': mul = k * k; ++i; break;
      case 'g': mul = k * k * k; ++i; break;
      case 't': mul = k * k * k * k; ++i; break;
      case 'p': mul = k * k * k * k * k; ++i; break;
      default: break;
    }
  }
  if (i < s.size() && (s[i] | 0x20) == 'i') ++i;
  if (i < s.size() && (s[i] | 0x20) == 'b') ++i;
  if (i != s.size()) return bad();
  if (dots > 1) return errorf(Code::InvalidArgument, "strconv.ParseFloat: parsing \"{}\": invalid syntax", num);
  auto parsed = parseNumber<double>(num);
  if (!parsed) return bad();
  double v = *parsed * static_cast<double>(mul);
  // go-units returns int64(size): out of range, Go on amd64 gives MinInt64
  // (the docker CLI then refuses it as too small); a C++ cast would be UB.
  if (!(v >= -0x1p63 && v < 0x1p63)) return INT64_MIN;
  return static_cast<int64_t>(v);
}

}  // namespace

std::string humanSizeWithPrecision(double size, int precision) {
  return customSize(size, 1000.0, kDecimalAbbrs, precision);
}

std::string bytesSize(double size) { return customSize(size, 1024.0, kBinaryAbbrs, 4); }

Result<int64_t> fromHumanSize(std::string_view s) { return parseSize(s, 1000); }
Result<int64_t> ramInBytes(std::string_view s) { return parseSize(s, 1024); }

std::string truncateId(std::string_view id) {
  if (auto c = id.find(':'); c != std::string_view::npos) id = id.substr(c + 1);
  if (id.size() > 12) id = id.substr(0, 12);
  return std::string(id);
}

namespace {

// go-runewidth's RuneWidth, simplified to the common tables.
int runeWidth(char32_t r) {
  if (r == 0) return 0;
  if (r < 0x20 || (r >= 0x7F && r < 0xA0)) return 0;
  if ((r >= 0x0300 && r <= 0x036F) || (r >= 0x200B && r <= 0x200F) || (r >= 0x20D0 && r <= 0x20FF) ||
      (r >= 0xFE00 && r <= 0xFE0F) || r == 0xFEFF)
    return 0;
  if ((r >= 0x1100 && r <= 0x115F) || (r >= 0x2E80 && r <= 0x303E) || (r >= 0x3041 && r <= 0x33FF) ||
      (r >= 0x3400 && r <= 0x4DBF) || (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0xA000 && r <= 0xA4CF) ||
      (r >= 0xAC00 && r <= 0xD7A3) || (r >= 0xF900 && r <= 0xFAFF) || (r >= 0xFE30 && r <= 0xFE4F) ||
      (r >= 0xFF00 && r <= 0xFF60) || (r >= 0xFFE0 && r <= 0xFFE6) || (r >= 0x1F300 && r <= 0x1F64F) ||
      (r >= 0x1F900 && r <= 0x1F9FF) || (r >= 0x20000 && r <= 0x3FFFD))
    return 2;
  return 1;
}

std::vector<std::string_view> runes(std::string_view s, std::vector<char32_t>* values = nullptr) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < s.size();) {
    size_t n;
    char32_t r = detail::decodeRune(s, i, &n);
    if (values) values->push_back(r);
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace

int displayWidth(std::string_view s) {
  int w = 0;
  for (size_t i = 0; i < s.size();) {
    size_t n;
    w += runeWidth(detail::decodeRune(s, i, &n));
    i += n;
  }
  return w;
}

std::string ellipsis(std::string_view s, int maxDisplayWidth) {
  if (maxDisplayWidth <= 0) return "";
  std::vector<char32_t> values;
  auto rs = runes(s, &values);
  if (rs.empty()) return "";
  auto join = [&](size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) out.append(rs[i]);
    return out;
  };
  if (maxDisplayWidth == 1) return std::string(rs[0]);
  if (s.size() == rs.size()) {  // ASCII (bytes == runes)
    if (static_cast<int>(s.size()) <= maxDisplayWidth) return std::string(s);
    return join(maxDisplayWidth - 1) + "…";
  }
  std::vector<int> display;
  int width = 0;
  for (char32_t r : values) {
    width += runeWidth(r);
    display.push_back(width);
  }
  if (width <= maxDisplayWidth) return std::string(s);
  for (size_t i = 0; i + 1 < display.size(); ++i) {
    if (display[i] <= maxDisplayWidth - 1 && display[i + 1] > maxDisplayWidth - 1) return join(i + 1) + "…";
  }
  return std::string(s);
}

std::string psCommand(std::string_view command, bool noTrunc) {
  if (noTrunc) return goQuote(command);
  return goQuote(ellipsis(command, 20));
}


namespace {
// Go's fmtFrac: v's low `prec` digits as a fraction, trailing zeros dropped.
std::string fracPart(uint64_t& v, int prec) {
  std::string digits;
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    int digit = static_cast<int>(v % 10);
    print = print || digit != 0;
    if (print) digits.insert(digits.begin(), static_cast<char>('0' + digit));
    v /= 10;
  }
  return print ? "." + digits : "";
}
}  // namespace

std::string formatGoDuration(int64_t nanos) {
  if (nanos == 0) return "0s";
  bool neg = nanos < 0;
  uint64_t u = neg ? static_cast<uint64_t>(-(nanos + 1)) + 1 : static_cast<uint64_t>(nanos);
  std::string out;
  if (u < 1000000000ULL) {
    std::string unit;
    std::string frac;
    if (u < 1000) {
      unit = "ns";
    } else if (u < 1000000) {
      frac = fracPart(u, 3);
      unit = "\xC2\xB5s";
    } else {
      frac = fracPart(u, 6);
      unit = "ms";
    }
    out = std::to_string(u) + frac + unit;
  } else {
    std::string frac = fracPart(u, 9);
    out = std::to_string(u % 60) + frac + "s";
    u /= 60;
    if (u > 0) {
      out = std::to_string(u % 60) + "m" + out;
      u /= 60;
      if (u > 0) out = std::to_string(u) + "h" + out;
    }
  }
  return neg ? "-" + out : out;
}

// ---- --since / --until ----

namespace {

int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

bool readInt(std::string_view& s, size_t n, int& out) {
  if (s.size() < n) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  s.remove_prefix(n);
  return true;
}

bool eat(std::string_view& s, char c) {
  if (s.empty() || s[0] != c) return false;
  s.remove_prefix(1);
  return true;
}

// Parses the layouts docker's GetTimestamp chooses between:
// 2006-01-02[T15[:04[:05[.999999999]]]][Z07:00]. withZone: a zone must
// (true) or must not (false) be present.
Result<std::pair<int64_t, int64_t>> parseTime(std::string_view value, bool withZone, int localOffset) {
  auto bad = [&](std::string_view why) {
    return errorf(Code::InvalidArgument, "parsing time \"{}\": {}", value, why);
  };
  std::string_view s = value;
  int year, month, day, hour = 0, minute = 0, second = 0;
  int64_t nanos = 0;
  if (!readInt(s, 4, year) || !eat(s, '-') || !readInt(s, 2, month) || !eat(s, '-') || !readInt(s, 2, day))
    return bad("cannot parse date");
  if (eat(s, 'T')) {
    if (!readInt(s, 2, hour)) return bad("cannot parse hour");
    if (eat(s, ':')) {
      if (!readInt(s, 2, minute)) return bad("cannot parse minute");
      if (!s.empty() && s[0] == ':') {
        s.remove_prefix(1);
        if (!readInt(s, 2, second)) return bad("cannot parse second");
        if (!s.empty() && (s[0] == '.' || s[0] == ',')) {
          s.remove_prefix(1);
          size_t n = 0;
          int64_t scale = 100000000;
          while (n < s.size() && s[n] >= '0' && s[n] <= '9') {
            if (n < 9) {
              nanos += (s[n] - '0') * scale;
              scale /= 10;
            }
            ++n;
          }
          if (n == 0) return bad("cannot parse fraction");
          s.remove_prefix(n);
        }
      }
    }
  }
  int offset = localOffset;
  if (withZone) {
    if (eat(s, 'Z')) {
      offset = 0;
    } else if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
      int sign = s[0] == '-' ? -1 : 1;
      s.remove_prefix(1);
      int oh, om;
      if (!readInt(s, 2, oh) || !eat(s, ':') || !readInt(s, 2, om)) return bad("cannot parse zone");
      offset = sign * (oh * 3600 + om * 60);
    } else {
      return bad("missing zone");
    }
  }
  if (!s.empty()) return bad(fmt::format("extra text: \"{}\"", s));
  using namespace std::chrono;
  year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                     std::chrono::day{static_cast<unsigned>(day)}};
  if (month < 1 || month > 12) return bad("month out of range");
  if (!ymd.ok()) return bad("day out of range");
  if (hour > 23) return bad("hour out of range");
  if (minute > 59) return bad("minute out of range");
  if (second > 59) return bad("second out of range");
  int64_t days = sys_days(ymd).time_since_epoch().count();
  int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset;
  return std::pair<int64_t, int64_t>{secs, nanos};
}

bool isUnixTimestamp(std::string_view v) {
  auto allDigits = [](std::string_view d) {
    if (d.empty()) return false;
    size_t i = (d[0] == '-' || d[0] == '+') ? 1 : 0;
    if (i == d.size()) return false;
    for (; i < d.size(); ++i)
      if (d[i] < '0' || d[i] > '9') return false;
    return true;
  };
  auto dot = v.find('.');
  if (dot == std::string_view::npos) return allDigits(v);
  return allDigits(v.substr(0, dot)) && allDigits(v.substr(dot + 1));
}

}  // namespace

Result<std::string> getTimestamp(std::string_view value, int64_t nowUnixNanos, int localUtcOffsetSeconds) {
  if (value != "0") {
    if (auto d = parseGoDuration(value)) return std::to_string(floorDiv(nowUnixNanos - *d, 1000000000LL));
  }
  bool inLocation = value.find_first_of("zZ+") == std::string_view::npos &&
                    std::count(value.begin(), value.end(), '-') != 3;
  auto t = parseTime(value, !inLocation, localUtcOffsetSeconds);
  if (!t) {
    if (value.find('-') != std::string_view::npos) return std::unexpected(t.error());
    if (!isUnixTimestamp(value))
      return errorf(Code::InvalidArgument, "failed to parse value as time or duration: \"{}\"", value);
    return std::string(value);
  }
  return fmt::format("{}.{:09d}", t->first, t->second);
}

int localUtcOffset(int64_t unixSeconds) {
  time_t t = static_cast<time_t>(unixSeconds);
  struct tm tm {};
  if (!localtime_r(&t, &tm)) return 0;
  return static_cast<int>(tm.tm_gmtoff);
}

}  // namespace berth::cli::format
