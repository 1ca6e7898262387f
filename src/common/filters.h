#pragma once
// The filters= argument of list and prune calls, decoded: key -> values.
// Services take Filters; the API edge decodes them from the query.

#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace berth {

using Filters = std::map<std::string, std::vector<std::string>>;

// Decodes a filters= value: both the map form {"k":{"v":true}} and the list
// form {"k":["v"]}. Malformed -> InvalidArgument "invalid filter: ...".
Result<Filters> parseFilters(const std::string& raw);
// Rejects keys not in allowed: InvalidArgument "Invalid filter 'x'".
Result<> checkFilterKeys(const Filters& f, const std::vector<std::string>& allowed);

}  // namespace berth
