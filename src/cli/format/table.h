#pragma once
// docker's column output: Go's text/tabwriter as docker configures it,
// tabwriter.NewWriter(out, 10 /*minwidth*/, 1 /*tabwidth*/, 3 /*padding*/, ' ', 0).
//
// Semantics (exactly Go's): a '\t' (or '\v') terminates a cell; '\n' (or
// '\f') ends a line. The last cell of a line is not part of any column and
// is printed unpadded. A column block is a run of consecutive lines that
// have a terminated cell in that column; its width is max(minwidth, max cell
// width + padding), cells measured in UTF-8 runes. Cells are left-aligned and
// padded with spaces (so trailing spaces appear after an empty last-but-one
// cell, as with Go). Pure functions; thread-safe.

#include <string>
#include <string_view>
#include <vector>

namespace berth::cli::format {

struct TabwriterConfig {
  int minWidth = 10;
  int padding = 3;
  char padChar = ' ';
};

// Aligns text whose cells are separated by tabs, lines by '\n'.
std::string tabwrite(std::string_view textWithTabs, TabwriterConfig cfg = {});

// Rows of cells rendered through tabwrite(); each row ends with '\n'.
class Table {
 public:
  explicit Table(TabwriterConfig cfg = {}) : cfg_(cfg) {}
  void addRow(std::vector<std::string> cells);
  std::string render() const;
  size_t rows() const { return rows_.size(); }

 private:
  TabwriterConfig cfg_;
  std::vector<std::vector<std::string>> rows_;
};

// Number of UTF-8 runes (what Go's tabwriter measures).
size_t runeCount(std::string_view s);

}  // namespace berth::cli::format
