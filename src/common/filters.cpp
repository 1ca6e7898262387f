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

FilterPattern FilterPattern::compile(const std::string& value) {
  FilterPattern p;
  p.text_ = value;
  bool backref = false;
  for (size_t i = 0; i + 1 < value.size(); i++)
    if (value[i] == '\\') {
      backref = backref || (value[i + 1] >= '0' && value[i + 1] <= '9');
      i++;
    }
  if (value.size() > 1024 || backref) return p;
  auto* re = new regex_t;
  if (regcomp(re, value.c_str(), REG_EXTENDED | REG_NOSUB) != 0) {
    delete re;  // regcomp frees what it allocated when it fails
    return p;
  }
  p.re_ = std::shared_ptr<regex_t>(re, [](regex_t* r) {
    regfree(r);
    delete r;
  });
  return p;
}

bool FilterPattern::matches(std::string_view field) const {
  if (field == text_) return true;
  if (!re_) return false;
  std::string f(field);
  return regexec(re_.get(), f.c_str(), 0, nullptr, 0) == 0;
}

Result<bool> filterBool(const std::string& key, const std::vector<std::string>& values) {
  bool isTrue = false, isFalse = false;
  std::string all;
  for (const auto& v : values) {
    isTrue = isTrue || v == "true" || v == "1";
    isFalse = isFalse || v == "false" || v == "0";
    all += (all.empty() ? "" : ",") + v;
  }
  if (isTrue == isFalse) return errorf(Code::InvalidArgument, "invalid filter '{}={}'", key, all);
  return isTrue;
}

}  // namespace berth
