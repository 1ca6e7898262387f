#include "build/suggest.h"
#include "common/util.h"

#include <algorithm>
#include <cctype>

namespace berth::build {

namespace {


size_t levenshtein(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string withSuggestion(std::string message, std::string_view value, const std::vector<std::string>& options,
                           bool caseSensitive) {
  std::string val = caseSensitive ? std::string(value) : toLower(value);
  std::string match;
  size_t minDist = 3;
  for (const auto& o : options) {
    std::string opt = caseSensitive ? o : toLower(o);
    if (val == opt) return message;
    size_t d = levenshtein(val, opt);
    if (d < minDist) {
      minDist = d;
      match = opt;
      if (!caseSensitive) {
        if (std::string(value) == toUpper(value) && std::string(value) != toLower(value)) match = toUpper(opt);
      }
    }
  }
  if (match.empty()) return message;
  return message + " (did you mean " + match + "?)";
}

}  // namespace berth::build
