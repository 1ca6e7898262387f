// The Dockerfile shell lexer against BuildKit's documented expansion rules.
#include "build/shell_lex.h"

#include <gtest/gtest.h>

using namespace berth::build;

namespace {

EnvLookup testEnv() {
  return envFromList({"PWD=/home", "SHELL=bash", "NULL=", "space=abc  def", "leading=  ab c",
                      "trailing=ab c   ", "path=/usr/local/bin/tool.tar.gz"});
}

struct WordCase {
  const char* in;
  const char* out;  // nullptr: an error
};

TEST(BuildShellLex, ProcessWordTable) {
  const WordCase cases[] = {
      {"hello", "hello"},
      {"he'll'o", "hello"},
      {"he'llo", nullptr},
      {"he\\'llo", "he'llo"},
      {"he\\\\'llo", nullptr},
      {"abc\\tdef", "abctdef"},
      {"\"abc\\tdef\"", "abc\\tdef"},
      {"\"abc\\\\tdef\"", "abc\\tdef"},
      {"'abc\\tdef'", "abc\\tdef"},
      {"hello\\", "hello"},
      {"hello\\\\", "hello\\"},
      {"\"hello", nullptr},
      {"\"hello\\\"", nullptr},
      {"\"hel'lo\"", "hel'lo"},
      {"'hello", nullptr},
      {"'hello\\'", "hello\\"},
      {"\"''\"", "''"},
      {"$.", "$."},
      {"he$1x", "hex"},
      {"he$.x", "he$.x"},
      {"he$pwd.", "he."},
      {"he$PWD", "he/home"},
      {"he\\$PWD", "he$PWD"},
      {"he\\\\$PWD", "he\\/home"},
      {"\"he\\$PWD\"", "he$PWD"},
      {"\"he\\\\$PWD\"", "he\\/home"},
      {"\\${}", "${}"},
      {"${}", nullptr},
      {"he${}xx", nullptr},
      {"he${hi}xx", "hexx"},
      {"he${PWD}", "he/home"},
      {"he${.}", nullptr},
      {"he${XXX:-000}xx", "he000xx"},
      {"he${PWD:-000}xx", "he/homexx"},
      {"he${XXX:-$PWD}xx", "he/homexx"},
      {"he${XXX:-${PWD:-yyy}}xx", "he/homexx"},
      {"he${XXX:-${YYY:-yyy}}xx", "heyyyxx"},
      {"he${NULL:-zz}", "hezz"},
      {"he${NULL-zz}", "he"},
      {"he${XXX-zz}", "hezz"},
      {"he${XXX:YYY}", nullptr},
      {"he${XXX?}", nullptr},
      {"he${XXX:?}", nullptr},
      {"he${PWD?}", "he/home"},
      {"he${PWD:?}", "he/home"},
      {"he${NULL?}", "he"},
      {"he${NULL:?}", nullptr},
      {"he${XXX:+${PWD}}xx", "hexx"},
      {"he${PWD:+${XXX}}xx", "hexx"},
      {"he${PWD:+${SHELL}}xx", "hebashxx"},
      {"he${XXX:+000}xx", "hexx"},
      {"he${PWD:+000}xx", "he000xx"},
      {"he${NULL:+000}xx", "hexx"},
      {"he${NULL+000}xx", "he000xx"},
      {"'he${XX}'", "he${XX}"},
      {"\"he${PWD}\"", "he/home"},
      {"\"he'$PWD'\"", "he'/home'"},
      {"'$PWD'", "$PWD"},
      {"'\"hello\"'", "\"hello\""},
      {"he${PWD", nullptr},
      {"he${PWD:=000}xx", nullptr},
      {"he${PWD:+${PWD}:}xx", "he/home:xx"},
      {"he${XXX:-\\$PWD:}xx", "he$PWD:xx"},
      {"he${XXX:-\\${PWD}z}xx", "he${PWDz}xx"},
      {"\xec\x95\x88'\xeb\x85\x95'", "\xec\x95\x88\xeb\x85\x95"},
      {"${path#*/}", "usr/local/bin/tool.tar.gz"},
      {"${path##*/}", "tool.tar.gz"},
      {"${path%.*}", "/usr/local/bin/tool.tar"},
      {"${path%%.*}", "/usr/local/bin/tool"},
      {"${path#nomatch}", "/usr/local/bin/tool.tar.gz"},
      {"${path/local/opt}", "/usr/opt/bin/tool.tar.gz"},
      {"${path//o/0}", "/usr/l0cal/bin/t00l.tar.gz"},
      {"${path:#x}", nullptr},
      {"a  b", "a  b"},
      {"<<EOF", "<<EOF"},
      {"a<b", "a<b"},
  };
  auto env = testEnv();
  for (const auto& c : cases) {
    auto r = processWord(c.in, env);
    if (c.out == nullptr) {
      EXPECT_FALSE(r) << c.in << " gave " << (r ? *r : "");
    } else {
      ASSERT_TRUE(r) << c.in << ": " << r.error().message;
      EXPECT_EQ(*r, c.out) << c.in;
    }
  }
}

TEST(BuildShellLex, ErrorTexts) {
  auto env = testEnv();
  auto r = processWord("he${PWD", env);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "failed to process \"he${PWD\": syntax error: missing '}'");
  r = processWord("${}", env);
  EXPECT_EQ(r.error().message, "failed to process \"${}\": syntax error: bad substitution");
  r = processWord("'abc", env);
  EXPECT_EQ(r.error().message,
            "failed to process \"'abc\": unexpected end of statement while looking for matching single-quote");
  r = processWord("${XXX:?must be set}", env);
  EXPECT_EQ(r.error().message, "failed to process \"${XXX:?must be set}\": XXX: must be set");
  r = processWord("${XXX?}", env);
  EXPECT_EQ(r.error().message, "failed to process \"${XXX?}\": XXX: is not allowed to be unset");
  r = processWord("${X:=1}", env);
  EXPECT_EQ(r.error().message, "failed to process \"${X:=1}\": unsupported modifier (:=) in substitution");
}

struct WordsCase {
  const char* in;
  std::vector<std::string> out;
  bool error = false;
};

TEST(BuildShellLex, ProcessWordsTable) {
  const WordsCase cases[] = {
      {"hello", {"hello"}},
      {"hello${hi}bye", {"hellobye"}},
      {"hello${space}bye", {"helloabc", "defbye"}},
      {"hello\"${space}\"bye", {"helloabc  defbye"}},
      {"hello \"${space}\"bye", {"hello", "abc  defbye"}},
      {"hello${leading}def", {"hello", "ab", "cdef"}},
      {"hello\"${leading}\" def", {"hello  ab c", "def"}},
      {"hello${leading}", {"hello", "ab", "c"}},
      {"hello${trailing}", {"helloab", "c"}},
      {"hello${trailing}d", {"helloab", "c", "d"}},
      {"hello\"${trailing}\"d", {"helloab c   d"}},
      {"hello\" there  \"", {"hello there  "}},
      {"hello there     ", {"hello", "there"}},
      {"hello\\ there", {"hello there"}},
      {"hello\" there", {}, true},
      {"hello\\\" there", {"hello\"", "there"}},
      {"hello\"\\\\there\"", {"hello\\there"}},
      {"hello'\\\\there'", {"hello\\\\there"}},
      {"hello'$there'", {"hello$there"}},
      {"\"\" a", {"a"}},
      {"  a   b  ", {"a", "b"}},
      {"a=1 b=\"x y\" c='$PWD'", {"a=1", "b=x y", "c=$PWD"}},
      {"cat <<EOF >out", {"cat", "<<EOF", ">out"}},
      {"cat << EOF", {"cat", "<< EOF"}},
  };
  auto env = testEnv();
  for (const auto& c : cases) {
    auto r = processWords(c.in, env);
    if (c.error) {
      EXPECT_FALSE(r) << c.in;
      continue;
    }
    ASSERT_TRUE(r) << c.in << ": " << r.error().message;
    EXPECT_EQ(*r, c.out) << c.in;
  }
}

TEST(BuildShellLex, BacktickEscape) {
  LexOptions o;
  o.escape = '`';
  auto env = testEnv();
  EXPECT_EQ(*processWord("c:\\dir`$PWD", env, o), "c:\\dir$PWD");
  EXPECT_EQ(*processWord("a` b", env, o), "a b");
  EXPECT_EQ(*processWords("a` b c", env, o), (std::vector<std::string>{"a b", "c"}));
  EXPECT_EQ(*processWord("\"x`\"y\"", env, o), "x\"y");
}

TEST(BuildShellLex, RawAndSkipOptions) {
  auto env = testEnv();
  LexOptions raw;
  raw.rawQuotes = true;
  raw.rawEscapes = true;
  raw.skipUnsetEnv = true;
  EXPECT_EQ(*processWord("'a b' \"$X\" \\$PWD $PWD ${Y:-z}", env, raw),
            "'a b' \"$X\" \\$PWD /home ${Y:-z}");
  LexOptions noQuotes;
  noQuotes.skipProcessQuotes = true;
  EXPECT_EQ(*processWord("'a' \"b\"", env, noQuotes), "'a' \"b\"");
}

TEST(BuildShellLex, UnsetExpandsToEmptyAndEnvHelpers) {
  EXPECT_EQ(*processWord("[$NOPE]", emptyEnv()), "[]");
  auto env = envFromPairs({{"A", "1"}, {"A", "2"}});
  EXPECT_EQ(*processWord("$A", env), "2");
  auto list = envFromList({"A=1", "B", "A=3"});
  EXPECT_EQ(*processWord("$A-${B:-unset}-${B-unset}", list), "3-unset-");
  EXPECT_EQ(goQuote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
  EXPECT_EQ(goQuote(std::string("\b\f\x01", 3)), "\"\\b\\f\\x01\"");
}

}  // namespace
