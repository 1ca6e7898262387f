#include "cli/format/table.h"

#include <algorithm>
#include <functional>

namespace berth::cli::format {

size_t runeCount(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

namespace {

struct Cell {
  std::string_view text;
  size_t width = 0;
};
using Line = std::vector<Cell>;

// Splits like Go's tabwriter builds its cells: every '\t'/'\v' terminates a
// cell, '\n'/'\f' terminates the last cell of a line. At end of input an
// unterminated, non-empty cell is kept; an empty one is not.
std::vector<Line> splitLines(std::string_view text) {
  std::vector<Line> lines;
  Line cur;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\t' || c == '\v' || c == '\n' || c == '\f') {
      std::string_view t = text.substr(start, i - start);
      cur.push_back(Cell{t, runeCount(t)});
      start = i + 1;
      if (c == '\n' || c == '\f') {
        lines.push_back(std::move(cur));
        cur.clear();
      }
    }
  }
  if (start < text.size()) {
    std::string_view t = text.substr(start);
    cur.push_back(Cell{t, runeCount(t)});
  }
  lines.push_back(std::move(cur));  // the last line has no newline
  return lines;
}

class Formatter {
 public:
  Formatter(const std::vector<Line>& lines, const TabwriterConfig& cfg) : lines_(lines), cfg_(cfg) {}

  std::string run() {
    format(0, lines_.size());
    return std::move(out_);
  }

 private:
  void writeLines(size_t line0, size_t line1) {
    for (size_t i = line0; i < line1; ++i) {
      const Line& line = lines_[i];
      for (size_t j = 0; j < line.size(); ++j) {
        const Cell& c = line[j];
        out_.append(c.text);
        if (j < widths_.size() && static_cast<size_t>(widths_[j]) > c.width) {
          out_.append(widths_[j] - c.width, cfg_.padChar);
        }
      }
      if (i + 1 < lines_.size()) out_.push_back('\n');
    }
  }

  // Go's tabwriter.format: recursive over columns, widths_ as a stack.
  void format(size_t line0, size_t line1) {
    size_t column = widths_.size();
    for (size_t t = line0; t < line1; ++t) {
      if (column + 1 >= lines_[t].size()) continue;
      writeLines(line0, t);
      line0 = t;
      int width = cfg_.minWidth;
      for (; t < line1; ++t) {
        const Line& line = lines_[t];
        if (column + 1 >= line.size()) break;
        int w = static_cast<int>(line[column].width) + cfg_.padding;
        width = std::max(width, w);
      }
      widths_.push_back(width);
      format(line0, t);
      widths_.pop_back();
      line0 = t;  // line t has no cell in this column: the loop may skip it
    }
    writeLines(line0, line1);
  }

  const std::vector<Line>& lines_;
  const TabwriterConfig& cfg_;
  std::vector<int> widths_;
  std::string out_;
};

}  // namespace

std::string tabwrite(std::string_view textWithTabs, TabwriterConfig cfg) {
  auto lines = splitLines(textWithTabs);
  return Formatter(lines, cfg).run();
}

void Table::addRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }

std::string Table::render() const {
  std::string text;
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i) text.push_back('\t');
      text += row[i];
    }
    text.push_back('\n');
  }
  return tabwrite(text, cfg_);
}

}  // namespace berth::cli::format
