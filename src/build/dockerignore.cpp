#include "build/dockerignore.h"

namespace berth::build {

namespace {

std::vector<std::string_view> splitSlash(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}

std::string_view trimSpace(std::string_view s) {
  auto sp = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && sp(s.front())) s.remove_prefix(1);
  while (!s.empty() && sp(s.back())) s.remove_suffix(1);
  return s;
}

// Go's filepath.Dir for '/' paths.
std::string dirOf(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  return cleanPath(path.substr(0, slash + 1));
}

// The syntax check filepath.Match applies to a whole pattern.
bool validGlobSyntax(std::string_view p) {
  size_t n = p.size();
  auto getEsc = [&](size_t& i) -> bool {
    if (i >= n || p[i] == '-' || p[i] == ']') return false;
    if (p[i] == '\\') {
      ++i;
      if (i >= n) return false;
    }
    ++i;
    return true;
  };
  for (size_t i = 0; i < n;) {
    char c = p[i];
    if (c == '\\') {
      if (i + 1 >= n) return false;
      i += 2;
    } else if (c == '[') {
      ++i;
      if (i < n && p[i] == '^') ++i;
      int nrange = 0;
      for (;;) {
        if (i < n && p[i] == ']' && nrange > 0) {
          ++i;
          break;
        }
        if (!getEsc(i)) return false;
        if (i < n && p[i] == '-') {
          ++i;
          if (!getEsc(i)) return false;
        }
        ++nrange;
      }
    } else {
      ++i;
    }
  }
  return true;
}

bool shouldEscape(char c) {
  switch (c) {
    case '.': case '+': case '(': case ')': case '|': case '{': case '}': case '$':
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string cleanPath(std::string_view path) {
  if (path.empty()) return ".";
  bool rooted = path.front() == '/';
  std::vector<std::string_view> out;
  for (auto elem : splitSlash(path)) {
    if (elem.empty() || elem == ".") continue;
    if (elem == "..") {
      if (!out.empty() && out.back() != "..") {
        out.pop_back();
      } else if (!rooted) {
        out.push_back(elem);
      }
      continue;
    }
    out.push_back(elem);
  }
  std::string result = rooted ? "/" : "";
  for (size_t i = 0; i < out.size(); ++i) {
    if (i) result.push_back('/');
    result.append(out[i]);
  }
  if (result.empty()) return ".";
  return result;
}

std::vector<std::string> readDockerignore(std::string_view text) {
  std::vector<std::string> out;
  bool first = true;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    first = false;
    if (line.starts_with("#")) continue;
    line = trimSpace(line);
    if (line.empty()) continue;
    bool invert = line.front() == '!';
    if (invert) line = trimSpace(line.substr(1));
    std::string pattern(line);
    if (!pattern.empty()) {
      pattern = cleanPath(pattern);
      if (pattern.size() > 1 && pattern.front() == '/') pattern.erase(0, 1);
    }
    out.push_back(invert ? "!" + pattern : pattern);
  }
  return out;
}

bool IgnorePattern::match(std::string_view path) const {
  switch (kind_) {
    case Kind::Exact:
      return path == text_;
    case Kind::Prefix:
      return path.starts_with(std::string_view(text_).substr(0, text_.size() - 2));
    case Kind::Suffix: {
      std::string_view suffix = std::string_view(text_).substr(2);
      if (path.ends_with(suffix)) return true;
      return !suffix.empty() && suffix.front() == '/' && path == suffix.substr(1);
    }
    case Kind::Regex:
      return regex_ && std::regex_search(path.begin(), path.end(), *regex_);
  }
  return false;
}

Result<PatternMatcher> PatternMatcher::create(const std::vector<std::string>& patterns) {
  PatternMatcher pm;
  for (const auto& raw : patterns) {
    std::string_view trimmed = trimSpace(raw);
    if (trimmed.empty()) continue;
    std::string p = cleanPath(trimmed);
    IgnorePattern pat;
    if (p.front() == '!') {
      if (p.size() == 1) return makeError(Code::InvalidArgument, "illegal exclusion pattern: \"!\"");
      pat.exclusion_ = true;
      p.erase(0, 1);
      pm.exclusions_ = true;
    }
    if (!validGlobSyntax(p)) return makeError(Code::InvalidArgument, "syntax error in pattern");
    pat.text_ = p;
    pat.dirCount_ = splitSlash(p).size();

    // The compile step of moby/patternmatcher: exact, prefix ("dir/**"),
    // suffix ("**/name") or a regular expression.
    std::string re = "^";
    auto kind = IgnorePattern::Kind::Exact;
    for (size_t i = 0; i < p.size(); ++i) {
      char ch = p[i];
      if (ch == '*') {
        if (i + 1 < p.size() && p[i + 1] == '*') {
          size_t start = i;
          ++i;
          if (i + 1 < p.size() && p[i + 1] == '/') ++i;
          if (i + 1 >= p.size()) {
            if (kind == IgnorePattern::Kind::Exact) {
              kind = IgnorePattern::Kind::Prefix;
            } else {
              re += ".*";
              kind = IgnorePattern::Kind::Regex;
            }
          } else {
            re += "(.*/)?";
            kind = IgnorePattern::Kind::Regex;
          }
          if (start == 0) kind = IgnorePattern::Kind::Suffix;
        } else {
          re += "[^/]*";
          kind = IgnorePattern::Kind::Regex;
        }
      } else if (ch == '?') {
        re += "[^/]";
        kind = IgnorePattern::Kind::Regex;
      } else if (shouldEscape(ch)) {
        re += '\\';
        re += ch;
      } else if (ch == '\\') {
        if (i + 1 < p.size()) {
          re += '\\';
          re += p[++i];
          kind = IgnorePattern::Kind::Regex;
        } else {
          re += "\\\\";
        }
      } else if (ch == '[' || ch == ']') {
        re += ch;
        kind = IgnorePattern::Kind::Regex;
      } else {
        re += ch;
      }
    }
    pat.kind_ = kind;
    if (kind == IgnorePattern::Kind::Regex) {
      re += "$";
      try {
        pat.regex_.emplace(re, std::regex::ECMAScript);
      } catch (const std::regex_error&) {
        return makeError(Code::InvalidArgument, "syntax error in pattern");
      }
    }
    pm.patterns_.push_back(std::move(pat));
  }
  return pm;
}

// moby's two matchers differ only in which parent directories of a file a
// pattern is also tried on: Matches tries the one prefix with as many
// directories as the pattern has, MatchesOrParentMatches every prefix.
bool PatternMatcher::matchWithParents(std::string_view fileIn, bool everyParent) const {
  std::string file = cleanPath(fileIn);
  std::string parent = dirOf(file);
  auto parentDirs = splitSlash(parent);
  bool matched = false;
  for (const auto& pattern : patterns_) {
    if (pattern.exclusion() != matched) continue;
    bool match = pattern.match(file);
    if (!match && parent != "." && (everyParent || pattern.dirCount_ <= parentDirs.size())) {
      size_t depth = everyParent ? parentDirs.size() : pattern.dirCount_;
      std::string prefix;
      for (size_t i = 0; i < depth && !match; ++i) {
        if (i) prefix.push_back('/');
        prefix.append(parentDirs[i]);
        if (everyParent) match = pattern.match(prefix);
      }
      if (!everyParent) match = pattern.match(prefix);
    }
    if (match) matched = !pattern.exclusion();
  }
  return matched;
}

bool PatternMatcher::matches(std::string_view file) const { return matchWithParents(file, false); }

bool PatternMatcher::matchesOrParentMatches(std::string_view file) const { return matchWithParents(file, true); }

bool PatternMatcher::mustWalkExcludedDir(std::string_view dir) const {
  if (!exclusions_) return false;
  std::string dirSlash = cleanPath(dir) + "/";
  for (const auto& pattern : patterns_) {
    if (!pattern.exclusion()) continue;
    if ((pattern.text() + "/").starts_with(dirSlash)) return true;
  }
  return false;
}

namespace {

// moby's package-level Matches: a cleaned path, "." never matches, errors
// mean no match.
bool packageMatches(std::string_view file, const std::vector<std::string>& patterns, bool orParents) {
  auto pm = PatternMatcher::create(patterns);
  if (!pm) return false;
  std::string f = cleanPath(file);
  if (f == ".") return false;
  return orParents ? pm->matchesOrParentMatches(f) : pm->matches(f);
}

}  // namespace

std::vector<std::string> keepBuildFiles(std::vector<std::string> excludes, std::string_view dockerfile,
                                        bool dockerfileFromStdin) {
  if (packageMatches(".dockerignore", excludes, false)) excludes.push_back("!.dockerignore");
  if (!dockerfileFromStdin && packageMatches(dockerfile, excludes, false)) {
    std::string keep = "!";
    keep.append(dockerfile);  // (not `"!" + std::string`: g++ 12 warns -Wrestrict on it)
    excludes.push_back(std::move(keep));
  }
  return excludes;
}

std::vector<std::string> buildFilesToRemove(const std::vector<std::string>& excludes, std::string_view dockerfile) {
  std::vector<std::string> out;
  for (std::string_view f : {std::string_view(".dockerignore"), dockerfile}) {
    if (packageMatches(f, excludes, true)) out.emplace_back(f);
  }
  return out;
}

}  // namespace berth::build
