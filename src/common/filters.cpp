#include "common/filters.h"

#include <nlohmann/json.hpp>

#include "common/json_limits.h"
#include "common/util.h"

namespace berth {

Result<Filters> parseFilters(const std::string& raw) {
  Filters out;
  if (trim(raw).empty()) return out;
  auto parsed = parseJsonBounded(raw);
  if (!parsed) return errorf(Code::InvalidArgument, "invalid filter: {}", parsed.error().message);
  nlohmann::json j = std::move(*parsed);
  if (!j.is_object()) return makeError(Code::InvalidArgument, "invalid filter: not an object");
  for (auto& [key, val] : j.items()) {
    auto& vec = out[key];
    if (val.is_object()) {
      for (auto& [v, on] : val.items())
        if (!on.is_boolean() || on.get<bool>()) vec.push_back(v);
    } else if (val.is_array()) {
      for (auto& v : val) {
        if (!v.is_string()) return errorf(Code::InvalidArgument, "invalid filter value for '{}'", key);
        vec.push_back(v.get<std::string>());
      }
    } else if (val.is_string()) {
      vec.push_back(val.get<std::string>());
    } else {
      return errorf(Code::InvalidArgument, "invalid filter value for '{}'", key);
    }
  }
  return out;
}

Result<> checkFilterKeys(const Filters& f, const std::vector<std::string>& allowed) {
  for (auto& [k, v] : f) {
    bool ok = false;
    for (auto& a : allowed)
      if (a == k) ok = true;
    if (!ok) return errorf(Code::InvalidArgument, "Invalid filter '{}'", k);
  }
  return {};
}

}  // namespace berth
