#pragma once
// A Go text/template subset as the docker CLI uses it for --format, over JSON.
//
// Data model. Values are nlohmann::ordered_json: objects keep insertion order,
// which is what `{{json .}}` prints (Go marshals a struct in field order, so
// build the data in docker's field order, or pass nlohmann::json and get keys
// sorted, like a Go map). Printing follows Go's fmt %v:
//   strings raw; integers exact; floats like Go (%g shortest, 1e+06);
//   bools true/false; arrays "[a b c]"; objects "map[k:v ...]" (keys sorted);
//   a missing object key "<no value>"; an explicit JSON null "<nil>" (see
//   ExecOptions::nullText).
// `range` over an object visits keys sorted, as Go does for maps.
//
// Supported: text, {{/* comments */}}, trim markers {{- -}}, fields
// .A.B, $ and $var, $x := / $x = , pipelines a | f b, parenthesised
// pipelines, literals (strings "..." and `...`, chars, ints, floats, hex,
// true/false/nil), if/else if/else, range (with else, $i, $e := ..., over
// arrays, objects, ints), with/else, break/continue, define/template/block.
// Functions: docker's json split join title lower upper pad truncate, and
// Go's and or not len index slice print printf println eq ne lt le gt ge
// html js urlquery call(unsupported at run time).
//
// Errors follow Go's text: parse errors "template: :1: function \"foo\" not
// defined"; execution errors "template: :1:2: executing \"\" at <.X>: ...".
// All come back as Code::InvalidArgument. A Template is immutable after
// parse and safe to execute from several threads.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::cli::format {

using Value = nlohmann::ordered_json;

// An extra template function: receives evaluated arguments (the piped value
// last, as Go does), returns a value or an error (reported as Go does:
// "error calling NAME: MESSAGE").
using Function = std::function<Result<Value>(const std::vector<Value>& args)>;

// A "method" on the data, like docker's {{.Label "com.x"}} on its context
// structs: when a field named NAME is evaluated and methods has NAME, the
// method is called with the receiver object and the arguments instead of a
// key lookup.
using Method = std::function<Result<Value>(const Value& receiver, const std::vector<Value>& args)>;

struct ParseOptions {
  std::map<std::string, Function> funcs;  // added to / overriding docker's set
};

struct ExecOptions {
  std::map<std::string, Method> methods;
  std::string nullText = "<nil>";  // how an explicit JSON null prints in text
  // Go's Option("missingkey=error"), as docker's inspect uses it on raw
  // JSON: a missing object key fails with `map has no entry for key "X"`.
  bool missingKeyError = false;
};

struct Node;  // parse tree, private to template.cpp

class Template {
 public:
  // Parses `text`. Errors: InvalidArgument with Go's parse error message.
  static Result<Template> parse(std::string text, ParseOptions opts = {});

  // Executes against `dot`. Errors: InvalidArgument with Go's exec message.
  Result<std::string> execute(const Value& dot, const ExecOptions& opts = {}) const;
  // Same, converting from nlohmann::json (object keys come out sorted).
  Result<std::string> execute(const nlohmann::json& dot, const ExecOptions& opts = {}) const;

  // docker's table header pass: executes with docker's HeaderFunctions
  // (json/lower/upper/title/split/join/pad/truncate return their first
  // argument unchanged) against `headers` as a map, e.g. {"ID":"CONTAINER
  // ID","Image":"IMAGE"}. A field not in the map prints "<no value>".
  // Like docker, an execution error ends the output silently (what was
  // written so far is returned).
  std::string executeHeader(const std::map<std::string, std::string>& headers) const;

  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::shared_ptr<const Node> root_;
  std::shared_ptr<const std::map<std::string, std::shared_ptr<const Node>>> defines_;
  std::shared_ptr<const std::map<std::string, Function>> funcs_;
};

// ---- docker's --format handling (cli/command/formatter) ----

// True when docker treats the format as a table: it starts with "table".
bool isTableFormat(std::string_view format);
// True for docker's "json" format keyword (one JSON object per line).
bool isJsonFormat(std::string_view format);

// docker's preFormat: drops a leading "table", trims spaces, turns the two
// characters `\t` / `\n` into a tab / newline; "json" becomes "{{json .}}".
// An empty result (format "table" alone) means: use the command's default
// table format.
std::string prepareFormat(std::string_view format);

// Header text for one field path ("ID", ".ID", "State.Status") from the
// command's header map; unknown fields give the upper-cased last segment.
std::string headerFor(std::string_view fieldPath, const std::map<std::string, std::string>& headers);

// docker's per-command header maps (formatter.*Header constants).
const std::map<std::string, std::string>& containerHeaders();  // ps
const std::map<std::string, std::string>& imageHeaders();      // images
const std::map<std::string, std::string>& volumeHeaders();     // volume ls
const std::map<std::string, std::string>& statsHeaders();      // stats

// The whole docker formatter run for a list command: parses `format`
// (after prepareFormat), executes it for each item, appends "\n" per item;
// in table mode prepends the header row and aligns through tabwrite().
// Errors: parse failures as "template parsing error: <go message>",
// execution failures likewise (docker exits 1 on both).
Result<std::string> formatList(std::string_view format, const std::vector<Value>& items,
                               const std::map<std::string, std::string>& headers,
                               const ExecOptions& opts = {});

// Go's strconv.Quote (used by %q and by docker ps COMMAND).
std::string goQuote(std::string_view s);
// Go's encoding/json with SetEscapeHTML(false), compact; docker's `json` func.
std::string goJson(const Value& v);

}  // namespace berth::cli::format
