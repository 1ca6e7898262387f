#include "image/reference.h"

#include "common/sha256.h"
#include "common/util.h"

namespace berth::image {

namespace {

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isAlnum(char c) { return isLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isWordChar(char c) { return isAlnum(c) || c == '_'; }

// [a-z0-9]+ runs joined by one separator: '.', '_', "__" or any run of '-'.
bool isPathComponent(std::string_view s) {
  size_t i = 0;
  for (;;) {
    size_t start = i;
    while (i < s.size() && isLowerAlnum(s[i])) i++;
    if (i == start) return false;
    if (i == s.size()) return true;
    if (s[i] == '.') {
      i++;
    } else if (s[i] == '_') {
      i += s.substr(i, 2) == "__" ? 2 : 1;
    } else if (s[i] == '-') {
      while (i < s.size() && s[i] == '-') i++;
    } else {
      return false;
    }
  }
}

// Labels of [a-zA-Z0-9-] (no '-' at either end) joined by '.', then an
// optional ":port".
bool isDomain(std::string_view s) {
  if (auto colon = s.find(':'); colon != std::string_view::npos) {
    std::string_view port = s.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
    s = s.substr(0, colon);
  }
  for (auto& label : split(s, '.')) {
    if (label.empty() || !isAlnum(label.front()) || !isAlnum(label.back())) return false;
    for (char c : label)
      if (!isAlnum(c) && c != '-') return false;
  }
  return true;
}

// algorithm ([A-Za-z][A-Za-z0-9]* parts joined by [-_+.]) ':' 32+ hex digits.
bool isDigestSyntax(std::string_view s) {
  auto colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view alg = s.substr(0, colon), hex = s.substr(colon + 1);
  if (hex.size() < 32 || !isHex(hex)) return false;
  bool partStart = true;
  for (char c : alg) {
    if (partStart) {
      if (!isAlpha(c)) return false;
      partStart = false;
    } else if (c == '-' || c == '_' || c == '+' || c == '.') {
      partStart = true;
    } else if (!isAlnum(c)) {
      return false;
    }
  }
  return !partStart;
}

std::unexpected<Error> invalid(std::string_view why = "") {
  return makeError(Code::InvalidArgument, why.empty() ? "invalid reference format"
                                                      : "invalid reference format: " + std::string(why));
}

// splitDockerDomain: a first component with '.' or ':', "localhost", or
// upper case letters is a registry; anything else is on docker.io.
// Returns {domain, remainder}, remainder without "library/" added.
std::pair<std::string, std::string> splitDomain(std::string_view s) {
  auto first = s.find('/');
  if (first == std::string_view::npos) return {"docker.io", std::string(s)};
  std::string_view head = s.substr(0, first);
  if (head.find_first_of(".:") == std::string_view::npos && head != "localhost" && toLower(head) == head)
    return {"docker.io", std::string(s)};
  return {std::string(head), std::string(s.substr(first + 1))};
}

}  // namespace

bool isValidTag(std::string_view s) {
  if (s.empty() || s.size() > 128 || !isWordChar(s.front())) return false;
  for (char c : s)
    if (!isWordChar(c) && c != '.' && c != '-') return false;
  return true;
}

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
  {
    // ParseNormalizedNamed's first check, on the repository up to the first ':'.
    auto [domain, remainder] = splitDomain(s);
    if (domain == "docker.io" && remainder.find('/') == std::string::npos) remainder = "library/" + remainder;
    std::string remote = remainder.substr(0, remainder.find(':'));
    if (toLower(remote) != remote)
      return errorf(Code::InvalidArgument, "invalid reference format: repository name ({}) must be lowercase", remote);
  }
  Reference r;
  if (auto at = s.find('@'); at != std::string::npos) {
    std::string d = s.substr(at + 1);
    if (!isDigestSyntax(d)) return invalid();
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
  auto [domain, remainder] = splitDomain(s);
  if (domain != "docker.io" && !isDomain(domain)) return invalid();
  r.domain = domain == "index.docker.io" ? "docker.io" : domain;
  if (r.domain == "docker.io" && remainder.find('/') == std::string::npos) remainder = "library/" + remainder;
  if (toLower(remainder) != remainder) return invalid("repository name must be lowercase");
  for (auto& comp : split(remainder, '/'))
    if (!isPathComponent(comp)) return invalid();
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
