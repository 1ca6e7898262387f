#pragma once
// .dockerignore: reading the file and matching build-context paths the way
// moby/patternmatcher (and the classic builder's context walk) does.
// Paths use '/' and are relative to the context root. Pure logic;
// a PatternMatcher is immutable after create() and safe to share.

#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::build {

// Go's filepath.Clean for '/' paths: collapses "//", removes "." elements,
// resolves ".." lexically; "" becomes ".".
std::string cleanPath(std::string_view path);

// The patterns of a .dockerignore file, in order: a UTF-8 BOM dropped,
// lines starting with '#' skipped (only at column 0, as Docker does),
// whitespace trimmed, blank lines skipped; a leading '!' kept as the
// exception marker (whitespace after it trimmed); each pattern cleaned and
// a leading '/' removed ("/" alone stays "/").
std::vector<std::string> readDockerignore(std::string_view text);

// One compiled pattern (see PatternMatcher).
class IgnorePattern {
 public:
  const std::string& text() const { return text_; }  // cleaned, without '!'
  bool exclusion() const { return exclusion_; }      // a '!' exception

  // Whether `path` (cleaned, relative) matches this pattern by itself
  // (no parent logic).
  bool match(std::string_view path) const;

 private:
  friend class PatternMatcher;
  enum class Kind { Exact, Prefix, Suffix, Regex };
  std::string text_;
  bool exclusion_ = false;
  size_t dirCount_ = 1;  // path elements of the pattern
  Kind kind_ = Kind::Exact;
  std::optional<std::regex> regex_;
};

// Matches paths against .dockerignore patterns: a pattern is
// matched against the path and against the path's leading directories (so
// "foo" excludes everything under foo/); later patterns override earlier
// ones; an exception ("!x") re-includes.
//
// Pattern syntax: `*` any run of non-'/' characters, `?` one non-'/'
// character, `[...]` a character class (`[^...]` negated), `\` escapes the
// next character, `**` any number of directories (also none). A malformed
// pattern is refused by create() with InvalidArgument "syntax error in
// pattern"; "!" alone with `illegal exclusion pattern: "!"`.
class PatternMatcher {
 public:
  static Result<PatternMatcher> create(const std::vector<std::string>& patterns);

  // moby's Matches: is `file` excluded? Only the parent directories at the
  // pattern's own depth are tried for the parent match.
  bool matches(std::string_view file) const;

  // moby's MatchesOrParentMatches: like matches() but any parent directory
  // matching a pattern counts. This is what decides exclusion of a file
  // when the context is walked.
  bool matchesOrParentMatches(std::string_view file) const;

  // Whether a directory that matches must still be descended into because
  // an exception pattern could re-include something below it (the classic
  // builder's walk: an exception whose text starts with "<dir>/").
  bool mustWalkExcludedDir(std::string_view dir) const;

  bool hasExclusions() const { return exclusions_; }
  const std::vector<IgnorePattern>& patterns() const { return patterns_; }

 private:
  // matches() (everyParent false) and matchesOrParentMatches() (true).
  bool matchWithParents(std::string_view file, bool everyParent) const;
  std::vector<IgnorePattern> patterns_;
  bool exclusions_ = false;
};

// The docker CLI's TrimBuildFilesFromExcludes: the context it sends must
// still hold .dockerignore and the Dockerfile, so when the patterns would
// exclude one of them (moby's Matches), "!.dockerignore" / "!<dockerfile>"
// is appended (not for a Dockerfile read from stdin). Malformed patterns
// exclude nothing here, as in the CLI.
std::vector<std::string> keepBuildFiles(std::vector<std::string> excludes, std::string_view dockerfile,
                                        bool dockerfileFromStdin);

// The daemon's side (moby removeDockerfile): which of ".dockerignore" and
// `dockerfile` the received context must drop before the build because the
// context's .dockerignore patterns exclude them (matchesOrParentMatches).
std::vector<std::string> buildFilesToRemove(const std::vector<std::string>& excludes, std::string_view dockerfile);

}  // namespace berth::build
