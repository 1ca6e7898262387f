#include <gtest/gtest.h>

#include "cli/flags.h"
#include "cli/run_config.h"

namespace berth::cli {
namespace {

FlagSet runFlags() {
  FlagSet f;
  addContainerCreateFlags(f, true);
  return f;
}

TEST(CliFlags, CombinedShortBoolsAndPositionalsStopParsing) {
  FlagSet f = runFlags();
  auto r = f.parse({"-it", "--rm", "busybox", "sh", "-c", "echo -e hi"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(f.getBool("interactive"));
  EXPECT_TRUE(f.getBool("tty"));
  EXPECT_TRUE(f.getBool("rm"));
  EXPECT_EQ(*r, (std::vector<std::string>{"busybox", "sh", "-c", "echo -e hi"}));
}

TEST(CliFlags, ValueForms) {
  FlagSet f = runFlags();
  auto r = f.parse({"-e", "A=1", "--env=B=2", "-eC=3", "-e=D=4", "--name", "web", "-w/tmp", "img"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(f.getList("env"), (std::vector<std::string>{"A=1", "B=2", "C=3", "D=4"}));
  EXPECT_EQ(f.getString("name"), "web");
  EXPECT_EQ(f.getString("workdir"), "/tmp");
  EXPECT_TRUE(f.changed("name"));
  EXPECT_FALSE(f.changed("user"));
}

TEST(CliFlags, ShortGroupEndingInValueFlag) {
  FlagSet f = runFlags();
  auto r = f.parse({"-ite", "X=1", "img"});
  ASSERT_TRUE(r);
  EXPECT_EQ(f.getList("env"), std::vector<std::string>{"X=1"});
  EXPECT_TRUE(f.getBool("tty"));
}

TEST(CliFlags, BoolWithExplicitValue) {
  FlagSet f = runFlags();
  ASSERT_TRUE(f.parse({"--rm=false", "--sig-proxy=false", "img"}));
  EXPECT_FALSE(f.getBool("rm"));
  EXPECT_FALSE(f.getBool("sig-proxy"));
  FlagSet g = runFlags();
  auto r = g.parse({"--rm=xx", "img"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "invalid argument \"xx\" for \"--rm\" flag: strconv.ParseBool: parsing \"xx\": invalid syntax");
}

TEST(CliFlags, Errors) {
  FlagSet f = runFlags();
  auto r = f.parse({"--bogus", "img"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "unknown flag: --bogus");
  FlagSet g = runFlags();
  r = g.parse({"-e"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "flag needs an argument: 'e' in -e");
  FlagSet h = runFlags();
  r = h.parse({"--name"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "flag needs an argument: --name");
  FlagSet k;
  k.addBool("all", 'a', "all");
  r = k.parse({"-x"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "unknown shorthand flag: 'x' in -x");
  FlagSet n;
  n.addInt("last", 'n', "last", -1);
  r = n.parse({"-n", "abc"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "invalid argument \"abc\" for \"-n, --last\" flag: strconv.ParseInt: parsing \"abc\": invalid syntax");
}

TEST(CliFlags, InterspersedAndDoubleDash) {
  FlagSet f;
  f.addBool("force", 'f', "force");
  auto r = f.parse({"a", "-f", "b", "--", "-c"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(f.getBool("force"));
  EXPECT_EQ(*r, (std::vector<std::string>{"a", "b", "-c"}));
}

TEST(CliFlags, HelpRequests) {
  FlagSet f = runFlags();  // -h is --hostname for run
  ASSERT_TRUE(f.parse({"-h", "myhost", "img"}));
  EXPECT_FALSE(f.helpRequested());
  EXPECT_EQ(f.getString("hostname"), "myhost");
  FlagSet g = runFlags();
  ASSERT_TRUE(g.parse({"--help"}));
  EXPECT_TRUE(g.helpRequested());
  FlagSet k;
  k.addBool("all", 'a', "all");
  ASSERT_TRUE(k.parse({"-h"}));
  EXPECT_TRUE(k.helpRequested());
}

TEST(CliFlags, UsagesLikePflag) {
  FlagSet f;
  f.addBool("all", 'a', "Show all containers (default shows just running)");
  f.addInt("last", 'n', "Show n last created containers (includes all states)", -1);
  f.addString("tail", 0, "Number of lines", "all");
  EXPECT_EQ(f.usages(79),
            "  -a, --all           Show all containers (default shows just running)\n"
            "  -n, --last int      Show n last created containers (includes all\n"
            "                      states) (default -1)\n"
            "      --tail string   Number of lines (default \"all\")\n");
}

}  // namespace
}  // namespace berth::cli
