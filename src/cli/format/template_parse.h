#pragma once
// Internal to src/cli/format: the parse tree of a template and the parser.
// Built once by Template::parse, then shared read-only.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cli/format/template.h"

namespace berth::cli::format {

enum class NodeKind {
  List, Text, Action, If, Range, With, TemplateCall, Break, Continue,
  Pipe, Command, Field, Variable, Chain, Dot, Nil, Bool, Number, String, Identifier,
};

using NodePtr = std::shared_ptr<const Node>;

struct Node {
  NodeKind kind = NodeKind::List;
  size_t pos = 0;
  std::string text;                 // Text; String (decoded); Identifier; TemplateCall name; Number source
  std::string raw;                  // String: source form with quotes
  std::vector<std::string> idents;  // Field/Chain: names; Variable: "$x" then names
  std::vector<NodePtr> kids;        // List: items; Pipe: commands; Command: args
  NodePtr pipe, list, elseList;     // If/Range/With/Action/TemplateCall; Chain: pipe = operand
  std::vector<std::string> decl;    // Pipe: declared variables
  bool isAssign = false;            // Pipe: `=` instead of `:=`
  bool boolean = false;             // Bool
  Value number;                     // Number: int64/uint64/double
  std::string str() const;          // Go's Node.String(), for error context
};

namespace detail {

struct ParsedTemplate {
  NodePtr root;
  std::map<std::string, NodePtr> defines;
};

// Throws nothing; returns Go's parse error text on failure.
Result<ParsedTemplate> parseTemplate(const std::string& text, const std::set<std::string>& funcNames);

// Line (1-based) and column (0-based byte offset in that line) of pos.
std::pair<int, int> lineCol(const std::string& text, size_t pos);

}  // namespace detail
}  // namespace berth::cli::format
