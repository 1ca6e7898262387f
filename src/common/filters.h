#pragma once
// The filters= argument of list and prune calls, decoded: key -> values.
// Services take Filters; the API edge decodes them from the query.

#include <regex.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth {

using Filters = std::map<std::string, std::vector<std::string>>;

// Decodes a filters= value: both the map form {"k":{"v":true}} and the list
// form {"k":["v"]}. Malformed -> InvalidArgument "invalid filter: ...".
Result<Filters> parseFilters(const std::string& raw);
// Rejects keys not in allowed: InvalidArgument "Invalid filter 'x'".
Result<> checkFilterKeys(const Filters& f, const std::vector<std::string>& allowed);

// A filter value dockerd matches with filters.Args.Match (ps name= and id=,
// network ls name= and id=, volume ls name=): it matches a field equal to
// it, or one in which it finds its regular expression (unanchored, so
// "^web$" is needed for an exact name). Go's RE2 is stood in for by POSIX
// extended expressions (glibc: no exponential blow-up for the expressions
// accepted); back-references, which RE2 refuses, are refused, and so are
// values over 1024 bytes; a value that does not compile matches only
// itself, as in dockerd (Match skips expressions that fail to compile).
class FilterPattern {
 public:
  static FilterPattern compile(const std::string& value);
  bool matches(std::string_view field) const;

 private:
  std::string text_;
  std::shared_ptr<regex_t> re_;  // null: only the exact value matches
};

// A boolean filter (is-task=), as dockerd's GetBoolOrDefault: true when a
// value is "true" or "1" and none is "false" or "0", false for the
// reverse; neither or both: InvalidArgument "invalid filter 'KEY=V1,V2'".
Result<bool> filterBool(const std::string& key, const std::vector<std::string>& values);

}  // namespace berth
