#include "common/until.h"

#include <algorithm>
#include <cctype>

#include "common/number.h"
#include "common/util.h"

namespace berth {

Result<int64_t> parseGoDuration(std::string_view orig) {
  auto invalid = [&] { return errorf(Code::InvalidArgument, "time: invalid duration \"{}\"", orig); };
  std::string_view s = orig;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return invalid();
  const uint64_t kMax = static_cast<uint64_t>(1) << 63;
  uint64_t d = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || (s[0] >= '0' && s[0] <= '9'))) return invalid();
    uint64_t v = 0;
    size_t i = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (v > (kMax - 1) / 10) return invalid();
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kMax) return invalid();
    }
    bool pre = i > 0;
    s.remove_prefix(i);
    uint64_t f = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t j = 0;
      bool overflow = false;
      for (; j < s.size() && s[j] >= '0' && s[j] <= '9'; ++j) {
        if (overflow) continue;
        if (f > (kMax - 1) / 10) { overflow = true; continue; }
        uint64_t y = f * 10 + static_cast<uint64_t>(s[j] - '0');
        if (y > kMax) { overflow = true; continue; }
        f = y;
        scale *= 10;
      }
      post = j > 0;
      s.remove_prefix(j);
    }
    if (!pre && !post) return invalid();
    size_t u = 0;
    while (u < s.size() && s[u] != '.' && !(s[u] >= '0' && s[u] <= '9')) ++u;
    if (u == 0) return errorf(Code::InvalidArgument, "time: missing unit in duration \"{}\"", orig);
    std::string_view unitName = s.substr(0, u);
    s.remove_prefix(u);
    uint64_t unit;
    if (unitName == "ns") unit = 1;
    else if (unitName == "us" || unitName == "\xC2\xB5s" || unitName == "\xCE\xBCs") unit = 1000;
    else if (unitName == "ms") unit = 1000000;
    else if (unitName == "s") unit = 1000000000ULL;
    else if (unitName == "m") unit = 60ULL * 1000000000ULL;
    else if (unitName == "h") unit = 3600ULL * 1000000000ULL;
    else return errorf(Code::InvalidArgument, "time: unknown unit \"{}\" in duration \"{}\"", unitName, orig);
    if (v > kMax / unit) return invalid();
    v *= unit;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
      if (v > kMax) return invalid();
    }
    d += v;
    if (d > kMax) return invalid();
  }
  if (neg) return -static_cast<int64_t>(d - 1) - 1;
  if (d > kMax - 1) return invalid();
  return static_cast<int64_t>(d);
}

Result<int64_t> parseUntil(const std::string& v, int64_t now) {
  if (auto d = parseGoDuration(v)) return now - *d;
  if (!v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return isdigit((unsigned char)c) || c == '.'; })) {
    // unix seconds[.fraction], the fraction read to nanoseconds
    auto dot = v.find('.');
    std::string frac = dot == std::string::npos ? "" : v.substr(dot + 1);
    frac = frac.substr(0, 9);
    frac.append(9 - frac.size(), '0');
    auto sec = parseNumber<int64_t>(std::string_view(v).substr(0, dot));
    auto ns = parseNumber<int64_t>(frac);
    if (sec && ns) return *sec * 1000000000 + *ns;
  }
  if (auto t = parseRfc3339(v)) return *t;
  if (auto t = parseRfc3339(v + "Z")) return *t;
  return errorf(Code::InvalidArgument, "invalid filter 'until={}'", v);
}

}  // namespace berth
