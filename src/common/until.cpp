#include "common/until.h"

#include <algorithm>
#include <cctype>

#include "common/number.h"
#include "common/util.h"

namespace berth {

std::optional<int64_t> parseGoDuration(const std::string& s) {
  if (s.empty()) return std::nullopt;
  double total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && (isdigit((unsigned char)s[j]) || s[j] == '.')) j++;
    if (j == i || j == s.size()) return std::nullopt;
    auto parsed = parseNumber<double>(std::string_view(s).substr(i, j - i));
    if (!parsed) return std::nullopt;
    double v = *parsed;
    char u = s[j];
    if (u == 'h') {
      v *= 3600;
    } else if (u == 'm' && (j + 1 >= s.size() || s[j + 1] != 's')) {
      v *= 60;
    } else if (u == 's') {
    } else {
      return std::nullopt;
    }
    total += v;
    i = j + 1;
  }
  return int64_t(total * 1e9);
}

Result<int64_t> parseUntil(const std::string& v, int64_t now) {
  if (auto d = parseGoDuration(v)) return now - *d;
  if (!v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return isdigit((unsigned char)c) || c == '.'; })) {
    auto dot = v.find('.');
    if (auto sec = parseNumber<int64_t>(std::string_view(v).substr(0, dot))) return *sec * 1000000000;
  }
  if (auto t = parseRfc3339(v)) return *t;
  if (auto t = parseRfc3339(v + "Z")) return *t;
  return errorf(Code::InvalidArgument, "invalid filter 'until={}'", v);
}

}  // namespace berth
