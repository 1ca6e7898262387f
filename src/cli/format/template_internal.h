#pragma once
// Internal to src/cli/format: Go value printing shared by the template
// engine's files.

#include <string>
#include <string_view>
#include <vector>

#include "cli/format/template.h"

namespace berth::cli::format::detail {

std::string goFloat(double f);                 // strconv 'g', -1 (fmt %v)
std::string goTypeName(const Value& v);        // "string", "int", "float64", ...
std::string formatV(const Value& v);           // fmt %v; null prints "<nil>"
std::vector<std::string> sortedKeys(const Value& obj);
size_t runeCountOf(std::string_view s);
// fmt.Sprintf subset; a null pointer argument is Go's untyped nil.
std::string goSprintf(std::string_view format, const std::vector<const Value*>& args);

}  // namespace berth::cli::format::detail
