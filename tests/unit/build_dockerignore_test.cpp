// .dockerignore reading and moby/patternmatcher semantics.
#include "build/dockerignore.h"

#include <gtest/gtest.h>

using namespace berth::build;

namespace {

TEST(BuildDockerignore, CleanPath) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "."},          {".", "."},          {"a/b", "a/b"},       {"a//b", "a/b"},
      {"a/./b/", "a/b"},  {"a/../b", "b"},     {"../a", "../a"},     {"a/../../b", "../b"},
      {"/a/../..", "/"},  {"/", "/"},          {"./a", "a"},         {"a/b/..", "a"},
  };
  for (auto [in, out] : cases) EXPECT_EQ(cleanPath(in), out) << in;
}

TEST(BuildDockerignore, ReadFile) {
  std::string text =
      "\xEF\xBB\xBF# comment\n"
      "  \n"
      "node_modules\n"
      "  *.log  \r\n"
      " # not a comment: trimmed only after the '#' check\n"
      "/build/\n"
      "!  /build/keep.txt\n"
      "./a/../b//c\n"
      "/\n"
      "!\n"
      "last";
  auto got = readDockerignore(text);
  std::vector<std::string> want = {"node_modules", "*.log", "# not a comment: trimmed only after the '#' check",
                                   "build", "!build/keep.txt", "b/c", "/", "!", "last"};
  EXPECT_EQ(got, want);
}

struct MatchCase {
  const char* pattern;
  const char* path;
  bool excluded;
};

TEST(BuildDockerignore, SinglePatternTable) {
  const MatchCase cases[] = {
      {"**", "file", true},
      {"**/", "file", true},
      {"**", "dir/file", true},
      {"**/**", "dir/file", true},
      {"dir/**", "dir/file", true},
      {"dir/**", "dir/dir2/file", true},
      {"**/dir", "dir", true},
      {"**/dir", "dir/file", true},
      {"**/dir2/*", "dir/dir2/file", true},
      {"**/dir2/**", "dir/dir2/dir3/file", true},
      {"**file", "file", true},
      {"**file", "dir/file", true},
      {"**/file", "dir/dir/file", true},
      {"**/file*", "dir/dir/file.txt", true},
      {"**/file*.txt*", "dir/dir/file.txt", true},
      {"**/**/*.txt", "dir/dir/file.txt", true},
      {"**/**/*.txt2", "dir/dir/file.txt", false},
      {"**/*.txt", "file.txt", true},
      {"a**/*.txt", "a/dir/dir/file.txt", true},
      {"a/*.txt", "a/dir/file.txt", false},
      {"a/*.txt", "a/file.txt", true},
      {"a/*.txt**", "a/file.txt", true},
      {"a[b-d]e", "ae", false},
      {"a[b-d]e", "ace", true},
      {"a[b-d]e", "aae", false},
      {"a[^b-d]e", "aze", true},
      {".*", ".foo", true},
      {".*", "foo", false},
      {"abc.def", "abcdef", false},
      {"abc.def", "abc.def", true},
      {"abc?def", "abcZdef", true},
      {"abc?def", "abcdef", false},
      {"abc?def", "abc/def", false},
      {"a\\\\", "a\\", true},
      {"a\\*b", "a*b", true},
      {"a\\*b", "axb", false},
      {"**/foo/bar", "foo/bar", true},
      {"**/foo/bar", "dir/dir2/foo/bar", true},
      {"abc/**", "abc", false},
      {"abc/**", "abc/def/ghi", true},
      {"**/.foo", ".foo", true},
      {"**/.foo", "bar.foo", false},
      {"a(b)c/def", "a(b)c/def", true},
      {"a.|)$(}+{bc", "a.|)$(}+{bc", true},
      {"dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true},
      // a directory pattern excludes what is inside it
      {"node_modules", "node_modules/x/y.js", true},
      {"docs", "src/docs/a.md", false},
      {"*/temp*", "somedir/temporary.txt", true},
      {"*/temp*", "somedir/temp", true},
      {"*/temp*", "temp", false},
      {"*/*/temp*", "somedir/subdir/temporary.txt", true},
      {"temp?", "tempa", true},
      {"temp?", "temp/x", false},
      {"*.md", "README.md", true},
      {"*.md", "docs/README.md", false},
      {"**/*.go", "vendor/a/b.go", true},
  };
  for (const auto& c : cases) {
    auto pm = PatternMatcher::create({c.pattern});
    ASSERT_TRUE(pm) << c.pattern << ": " << pm.error().message;
    EXPECT_EQ(pm->matchesOrParentMatches(c.path), c.excluded) << c.pattern << " vs " << c.path;
  }
}

struct MultiCase {
  std::vector<std::string> patterns;
  const char* path;
  bool excluded;
};

TEST(BuildDockerignore, LastMatchWinsAndExceptions) {
  const MultiCase cases[] = {
      {{"**", "!util/docker/web"}, "util/docker/web/foo", false},
      {{"**", "!util/docker/web", "util/docker/web/foo"}, "util/docker/web/foo", true},
      {{"**", "!dist/*.whl"}, "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false},
      {{"*.md", "!README.md"}, "README.md", false},
      {{"*.md", "!README.md"}, "CHANGES.md", true},
      {{"*.md", "!README*.md", "README-secret.md"}, "README-secret.md", true},
      {{"*.md", "!README*.md", "README-secret.md"}, "README-public.md", false},
      {{"!README.md", "*.md"}, "README.md", true},
      {{"build", "!build/keep"}, "build/keep", false},
      {{"build", "!build/keep"}, "build/other", true},
      {{"build", "!build/keep"}, "build/keep/inner", false},
  };
  for (const auto& c : cases) {
    auto pm = PatternMatcher::create(c.patterns);
    ASSERT_TRUE(pm);
    EXPECT_EQ(pm->matchesOrParentMatches(c.path), c.excluded) << c.path;
  }
}

TEST(BuildDockerignore, MatchesTriesOnlyTheParentAtPatternDepth) {
  auto pm = PatternMatcher::create({"a/b"});
  ASSERT_TRUE(pm);
  EXPECT_TRUE(pm->matches("a/b/c/d"));
  auto star = PatternMatcher::create({"*"});
  EXPECT_TRUE(star->matches("x/y"));
  auto deep = PatternMatcher::create({"b"});
  EXPECT_FALSE(deep->matches("a/b/c"));
  EXPECT_FALSE(deep->matchesOrParentMatches("a/b/c"));
  auto two = PatternMatcher::create({"*/b"});
  EXPECT_TRUE(two->matches("a/b/c"));
}

TEST(BuildDockerignore, LeadingSlashAndCleaning) {
  auto pm = PatternMatcher::create(readDockerignore("/secret\n./tmp/\n"));
  ASSERT_TRUE(pm);
  EXPECT_TRUE(pm->matchesOrParentMatches("secret"));
  EXPECT_TRUE(pm->matchesOrParentMatches("tmp/a"));
  EXPECT_TRUE(pm->matchesOrParentMatches("./tmp//a"));
  EXPECT_FALSE(pm->matchesOrParentMatches("sub/secret"));
}

TEST(BuildDockerignore, WalkIntoExcludedDirOnlyForAnException) {
  auto none = PatternMatcher::create({"build"});
  EXPECT_FALSE(none->hasExclusions());
  EXPECT_FALSE(none->mustWalkExcludedDir("build"));
  auto pm = PatternMatcher::create({"build", "!build/keep.txt", "vendor", "!**/LICENSE"});
  ASSERT_TRUE(pm);
  EXPECT_TRUE(pm->hasExclusions());
  EXPECT_TRUE(pm->mustWalkExcludedDir("build"));
  EXPECT_FALSE(pm->mustWalkExcludedDir("vendor"));  // Docker's walk does not look into "**/"
  EXPECT_FALSE(pm->mustWalkExcludedDir("buil"));
  auto exact = PatternMatcher::create({"a", "!a"});
  EXPECT_TRUE(exact->mustWalkExcludedDir("a"));
}

TEST(BuildDockerignore, BadPatterns) {
  const char* bad[] = {"[", "a[", "[]", "a[b-", "[-a]", "a\\", "[a-]"};
  for (const char* p : bad) {
    auto pm = PatternMatcher::create({p});
    ASSERT_FALSE(pm) << p;
    EXPECT_EQ(pm.error().message, "syntax error in pattern");
  }
  auto ex = PatternMatcher::create({"!"});
  ASSERT_FALSE(ex);
  EXPECT_EQ(ex.error().message, "illegal exclusion pattern: \"!\"");
  auto ok = PatternMatcher::create({"", "  ", "[a]", "[\\]]"});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->patterns().size(), 2u);
}

}  // namespace

namespace {

// A context walk as the classic builder does it: a file is sent unless it
// matches; an excluded directory is entered only when an exception may
// re-include something in it.
std::vector<std::string> walk(const PatternMatcher& pm, const std::vector<std::string>& tree) {
  std::vector<std::string> sent;
  std::vector<std::string> skipped;
  for (const auto& p : tree) {
    bool under = false;
    for (const auto& s : skipped) under = under || p.starts_with(s + "/");
    if (under) continue;
    bool dir = p.ends_with("/");
    std::string path = dir ? p.substr(0, p.size() - 1) : p;
    if (pm.matchesOrParentMatches(path)) {
      if (dir && !pm.mustWalkExcludedDir(path)) skipped.push_back(path);
      continue;
    }
    sent.push_back(path);
  }
  return sent;
}

TEST(BuildDockerignore, ContextWalk) {
  auto pm = PatternMatcher::create(readDockerignore(
      "# build outputs\n"
      "build\n"
      "!build/dist\n"
      "*.log\n"
      "**/*.tmp\n"
      ".git\n"));
  ASSERT_TRUE(pm);
  std::vector<std::string> tree = {"Dockerfile",     "a.log",          "src/",          "src/x.tmp",
                                   "src/main.c",     "src/sub.log",    "build/",        "build/obj.o",
                                   "build/dist/",    "build/dist/app", ".git/",         ".git/HEAD"};
  EXPECT_EQ(walk(*pm, tree), (std::vector<std::string>{"Dockerfile", "src", "src/main.c", "src/sub.log",
                                                       "build/dist", "build/dist/app"}));
}

}  // namespace

namespace {

TEST(BuildDockerignore, BuildFilesStayInTheContext) {
  using S = std::vector<std::string>;
  EXPECT_EQ(keepBuildFiles({"*.md"}, "Dockerfile", false), S{"*.md"});
  EXPECT_EQ(keepBuildFiles({"*"}, "Dockerfile", false), (S{"*", "!.dockerignore", "!Dockerfile"}));
  EXPECT_EQ(keepBuildFiles({".*", "docker"}, "docker/Dockerfile.dev", false),
            (S{".*", "docker", "!.dockerignore", "!docker/Dockerfile.dev"}));
  EXPECT_EQ(keepBuildFiles({"*"}, "Dockerfile", true), (S{"*", "!.dockerignore"}));
  EXPECT_EQ(keepBuildFiles({"["}, "Dockerfile", false), S{"["});  // a bad pattern excludes nothing here

  EXPECT_EQ(buildFilesToRemove({"*"}, "Dockerfile"), (S{".dockerignore", "Dockerfile"}));
  EXPECT_EQ(buildFilesToRemove({"Dockerfile"}, "Dockerfile"), S{"Dockerfile"});
  EXPECT_EQ(buildFilesToRemove({"docker"}, "docker/Dockerfile"), S{"docker/Dockerfile"});
  EXPECT_TRUE(buildFilesToRemove({"*.md"}, "Dockerfile").empty());
}

}  // namespace
