#include "image/reference.h"

#include <regex>

#include "common/sha256.h"
#include "common/util.h"

namespace berth::image {

namespace {

const std::regex& pathComponentRe() {
  static const std::regex re("[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*", std::regex::optimize);
  return re;
}
const std::regex& domainRe() {
  static const std::regex re(
      "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*"
      "(?::[0-9]+)?",
      std::regex::optimize);
  return re;
}
const std::regex& tagRe() {
  static const std::regex re("[\\w][\\w.-]{0,127}", std::regex::optimize);
  return re;
}
const std::regex& digestRe() {
  static const std::regex re("[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}",
                             std::regex::optimize);
  return re;
}

std::unexpected<Error> invalid(std::string_view why = "") {
  return makeError(Code::InvalidArgument, why.empty() ? "invalid reference format"
                                                      : "invalid reference format: " + std::string(why));
}

}  // namespace

bool isValidTag(std::string_view s) { return std::regex_match(s.begin(), s.end(), tagRe()); }

std::string Reference::familiarName() const {
  if (domain != "docker.io") return name();
  if (startsWith(path, "library/") && path.find('/', 8) == std::string::npos) return path.substr(8);
  return path;
}

std::string Reference::familiarString() const {
  std::string s = familiarName();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

std::string Reference::string() const {
  std::string s = name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

Reference withDefaultTag(Reference r) {
  if (r.nameOnly()) r.tag = "latest";
  return r;
}

Result<Reference> parseReference(std::string_view in) {
  std::string s(in);
  if (s.empty()) return invalid();
  if (s.size() == 64 && isHex(s))
    return errorf(Code::InvalidArgument, "invalid repository name ({}), cannot specify 64-byte hexadecimal strings", s);
  Reference r;
  // Digest.
  if (auto at = s.find('@'); at != std::string::npos) {
    std::string d = s.substr(at + 1);
    if (!std::regex_match(d, digestRe())) return invalid();
    if (startsWith(d, "sha256:") && !isValidDigest(d)) return invalid();
    r.digest = d;
    s.resize(at);
  }
  // Tag: after the last ':' that follows the last '/'.
  auto slash = s.rfind('/');
  auto colon = s.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    std::string t = s.substr(colon + 1);
    if (!isValidTag(t)) return invalid();
    r.tag = t;
    s.resize(colon);
  }
  if (s.empty()) return invalid();
  // Domain (splitDockerDomain).
  auto first = s.find('/');
  std::string remainder;
  if (first == std::string::npos ||
      (s.substr(0, first).find_first_of(".:") == std::string::npos && s.substr(0, first) != "localhost" &&
       toLower(s.substr(0, first)) == s.substr(0, first))) {
    r.domain = "docker.io";
    remainder = s;
  } else {
    r.domain = s.substr(0, first);
    remainder = s.substr(first + 1);
    if (!std::regex_match(r.domain, domainRe())) return invalid();
  }
  if (r.domain == "index.docker.io") r.domain = "docker.io";
  if (r.domain == "docker.io" && remainder.find('/') == std::string::npos) remainder = "library/" + remainder;
  if (toLower(remainder) != remainder) return invalid("repository name must be lowercase");
  for (auto& comp : split(remainder, '/'))
    if (!std::regex_match(comp, pathComponentRe())) return invalid();
  r.path = remainder;
  if (r.name().size() > 255) return makeError(Code::InvalidArgument, "repository name must not be more than 255 characters");
  return r;
}

// Go's path.Match: '*' any run of non-'/' characters, '?' one non-'/'
// character, '[...]' a class (with '^' negation and ranges), '\' escapes.
bool globMatch(std::string_view p, std::string_view s) {
  size_t pi = 0, si = 0;
  size_t starP = std::string_view::npos, starS = 0;
  auto matchClass = [&](size_t& i, char c, bool& ok) -> bool {
    // p[i] == '['; returns false on a malformed class.
    size_t j = i + 1;
    bool neg = false;
    if (j < p.size() && (p[j] == '^' || p[j] == '!')) {
      neg = true;
      j++;
    }
    bool matched = false;
    bool firstc = true;
    while (j < p.size() && (p[j] != ']' || firstc)) {
      firstc = false;
      char lo = p[j];
      if (lo == '\\' && j + 1 < p.size()) lo = p[++j];
      char hi = lo;
      if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
        hi = p[j + 2];
        if (hi == '\\' && j + 3 < p.size()) hi = p[j + 3], j++;
        j += 2;
      }
      if (lo <= c && c <= hi) matched = true;
      j++;
    }
    if (j >= p.size()) return false;
    i = j + 1;
    ok = matched != neg;
    return true;
  };
  while (si < s.size()) {
    if (pi < p.size()) {
      char pc = p[pi];
      if (pc == '*') {
        starP = pi++;
        starS = si;
        continue;
      }
      if (pc == '?' && s[si] != '/') {
        pi++, si++;
        continue;
      }
      if (pc == '[' && s[si] != '/') {
        size_t i = pi;
        bool ok = false;
        if (!matchClass(i, s[si], ok)) return false;
        if (ok) {
          pi = i, si++;
          continue;
        }
      } else if (pc == '\\' && pi + 1 < p.size()) {
        if (p[pi + 1] == s[si]) {
          pi += 2, si++;
          continue;
        }
      } else if (pc != '*' && pc != '?' && pc != '[' && pc == s[si]) {
        pi++, si++;
        continue;
      }
    }
    // Backtrack: let the last '*' absorb one more character (never '/').
    if (starP != std::string_view::npos && s[starS] != '/') {
      pi = starP + 1;
      si = ++starS;
      continue;
    }
    return false;
  }
  while (pi < p.size() && p[pi] == '*') pi++;
  return pi == p.size();
}

}  // namespace berth::image
