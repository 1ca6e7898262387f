#include <gtest/gtest.h>

#include "cli/format/table.h"

using berth::cli::format::runeCount;
using berth::cli::format::Table;
using berth::cli::format::tabwrite;
using berth::cli::format::TabwriterConfig;

TEST(CliFormatTabwriter, MinWidthAndPadding) {
  // minwidth 10: short cells pad to 10; the last cell is not padded
  EXPECT_EQ(tabwrite("a\tb\n"), "a         b\n");
  EXPECT_EQ(tabwrite("ID\tNAME\n1\tx\n"), "ID        NAME\n1         x\n");
}

TEST(CliFormatTabwriter, WideCellAddsPadding3) {
  EXPECT_EQ(tabwrite("CONTAINER ID\tIMAGE\nabc\tbusybox\n"),
            "CONTAINER ID   IMAGE\n"
            "abc            busybox\n");
}

TEST(CliFormatTabwriter, DockerPsLayout) {
  std::string in =
      "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES\n"
      "5181709d33f1\tbusybox:local\t\"sleep 1000\"\t8 seconds ago\tUp 8 seconds\t\tapiprobe-d1\n";
  std::string want =
      "CONTAINER ID   IMAGE           COMMAND        CREATED         STATUS         PORTS     NAMES\n"
      "5181709d33f1   busybox:local   \"sleep 1000\"   8 seconds ago   Up 8 seconds             apiprobe-d1\n";
  EXPECT_EQ(tabwrite(in), want);
}

TEST(CliFormatTabwriter, EmptyCellsStillPadded) {
  EXPECT_EQ(tabwrite("a\t\tc\n"), "a                   c\n");
  // an empty last-but-one cell leaves trailing padding, as Go does
  EXPECT_EQ(tabwrite("a\t\n"), "a         \n");
}

TEST(CliFormatTabwriter, RunesNotBytes) {
  EXPECT_EQ(runeCount("héllo…"), 6u);
  EXPECT_EQ(tabwrite("héllo wörld!\tx\nab\ty\n"), "héllo wörld!   x\nab             y\n");
}

TEST(CliFormatTabwriter, ColumnBlocksAreLocal) {
  // A line without tabs ends the column block: widths are computed per block.
  std::string in = "aaaaaaaaaaaaaaaa\tb\nplain line\nc\td\n";
  EXPECT_EQ(tabwrite(in), "aaaaaaaaaaaaaaaa   b\nplain line\nc         d\n");
}

TEST(CliFormatTabwriter, ShortLinesEndInnerColumns) {
  // Go's nested blocks: column 1 spans only the lines that have it.
  std::string in = "a\tbbbbbbbbbbbbbbbb\tc\nd\te\nf\tg\th\n";
  EXPECT_EQ(tabwrite(in),
            "a         bbbbbbbbbbbbbbbb   c\n"
            "d         e\n"
            "f         g         h\n");
}

TEST(CliFormatTabwriter, NoTrailingNewlineAndEmpty) {
  EXPECT_EQ(tabwrite(""), "");
  EXPECT_EQ(tabwrite("a\tb"), "a         b");
  EXPECT_EQ(tabwrite("x\n"), "x\n");
  EXPECT_EQ(tabwrite("a\t"), "a");  // an unterminated empty cell does not count
}

TEST(CliFormatTabwriter, CustomConfig) {
  TabwriterConfig cfg;
  cfg.minWidth = 0;
  cfg.padding = 1;
  cfg.padChar = '.';
  EXPECT_EQ(tabwrite("a\tb\naaa\tc\n", cfg), "a...b\naaa.c\n");
}

TEST(CliFormatTable, RendersRows) {
  Table t;
  t.addRow({"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"});
  t.addRow({"busybox", "latest", "ce76fd92d2c8", "2 weeks ago", "4.26MB"});
  EXPECT_EQ(t.rows(), 2u);
  EXPECT_EQ(t.render(),
            "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n"
            "busybox      latest    ce76fd92d2c8   2 weeks ago   4.26MB\n");
}

TEST(CliFormatTable, EmptyTable) {
  Table t;
  EXPECT_EQ(t.render(), "");
}
