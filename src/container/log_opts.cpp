#include "container/log_opts.h"

#include "common/number.h"

#include <cctype>

namespace berth::container {

namespace {

// go-units RAMInBytes: a number with an optional k/m/g/t/p (b, ib) suffix, base 1024.
Result<int64_t> ramInBytes(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && (isdigit((unsigned char)s[i]) || s[i] == '.')) i++;
  if (i == 0) return errorf(Code::InvalidArgument, "invalid size: '{}'", s);
  auto num = parseNumber<double>(std::string_view(s).substr(0, i));
  if (!num) return errorf(Code::InvalidArgument, "invalid size: '{}'", s);
  double v = *num;
  std::string unit;
  for (char c : s.substr(i)) unit += char(tolower((unsigned char)c));
  double mult = 1;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib") mult = 1024.0;
  else if (unit == "m" || unit == "mb" || unit == "mib") mult = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb" || unit == "gib") mult = 1024.0 * 1024 * 1024;
  else if (unit == "t" || unit == "tb" || unit == "tib") mult = 1024.0 * 1024 * 1024 * 1024;
  else return errorf(Code::InvalidArgument, "invalid size: '{}'", s);
  return int64_t(v * mult);
}

}  // namespace

Result<JsonFileLimits> jsonFileLimits(const nlohmann::json& lc) {
  JsonFileLimits out;
  if (!lc.is_object()) return out;
  std::string type = lc.value("Type", "");
  if (type == "none") {
    out.driver = "none";
    return out;
  }
  if (type == "cri-log") {
    out.driver = type;
    nlohmann::json cfg = lc.value("Config", nlohmann::json::object());
    auto p = cfg.is_object() ? cfg.find("path") : cfg.end();
    if (!cfg.is_object() || p == cfg.end() || !p->is_string() || p->get<std::string>().empty() ||
        p->get<std::string>()[0] != '/')
      return makeError(Code::InvalidArgument, "cri-log: the log path must be absolute");
    out.path = p->get<std::string>();
    return out;
  }
  if (!type.empty() && type != "json-file" && type != "local")
    return errorf(Code::InvalidArgument, "logger: no log driver named '{}' is registered", type);
  nlohmann::json cfg = lc.value("Config", nlohmann::json::object());
  if (type == "local") {
    out.driver = "local";
    out.maxSize = 20 * 1024 * 1024;
    out.maxFiles = 5;
    out.compress = true;
    if (!cfg.is_object()) return out;
    for (auto& [k, v] : cfg.items()) {
      std::string val = v.is_string() ? v.get<std::string>() : v.dump();
      if (k == "max-size") {
        TRY_ASSIGN(out.maxSize, ramInBytes(val));
        if (out.maxSize <= 0) return makeError(Code::InvalidArgument, "max-size must be a positive number");
      } else if (k == "max-file") {
        auto n = parseNumber<int>(val);
        if (!n) return errorf(Code::InvalidArgument, "strconv.Atoi: parsing \"{}\": invalid syntax", val);
        if (*n < 1) return makeError(Code::InvalidArgument, "max-file cannot be less than 1");
        out.maxFiles = *n;
      } else if (k == "compress") {
        if (val == "true" || val == "1") out.compress = true;
        else if (val == "false" || val == "0") out.compress = false;
        else return errorf(Code::InvalidArgument, "error reading compress log option: strconv.ParseBool: parsing \"{}\": invalid syntax", val);
      } else {
        return errorf(Code::InvalidArgument, "unknown log opt '{}' for local log driver", k);
      }
    }
    return out;
  }
  if (!cfg.is_object()) return out;
  bool fileSet = false;
  for (auto& [k, v] : cfg.items()) {
    std::string val = v.is_string() ? v.get<std::string>() : v.dump();
    if (k == "max-size") {
      if (val == "-1") continue;
      TRY_ASSIGN(out.maxSize, ramInBytes(val));
      if (out.maxSize <= 0) return makeError(Code::InvalidArgument, "max-size must be a positive number");
    } else if (k == "max-file") {
      auto n = parseNumber<int>(val);
      if (!n) return errorf(Code::InvalidArgument, "strconv.Atoi: parsing \"{}\": invalid syntax", val);
      out.maxFiles = *n;
      if (out.maxFiles < 1) return makeError(Code::InvalidArgument, "max-file cannot be less than 1");
      fileSet = true;
    } else if (k == "compress") {
      if (val != "false" && val != "0") return makeError(Code::InvalidArgument, "compress is not supported by berth's json-file driver");
    } else if (k != "labels" && k != "labels-regex" && k != "env" && k != "env-regex" && k != "tag") {
      return errorf(Code::InvalidArgument, "unknown log opt '{}' for json-file log driver", k);
    }
  }
  if (fileSet && out.maxFiles > 1 && out.maxSize == 0)
    return makeError(Code::InvalidArgument, "max-file cannot be set without max-size");
  return out;
}

std::vector<std::string> rotatedLogFiles(const std::string& path, int maxFiles, bool compressed) {
  std::vector<std::string> out;
  for (int i = maxFiles - 1; i >= 1; i--) out.push_back(path + "." + std::to_string(i) + (compressed ? ".gz" : ""));
  out.push_back(path);
  return out;
}

nlohmann::json mergeLogConfig(const nlohmann::json& lc, const std::string& defaultDriver,
                              const std::map<std::string, std::string>& defaultOpts) {
  nlohmann::json out = lc.is_object() ? lc : nlohmann::json::object();
  std::string type = out.value("Type", "");
  if (type.empty()) out["Type"] = type = defaultDriver.empty() ? "json-file" : defaultDriver;
  if (!out.contains("Config") || !out["Config"].is_object()) out["Config"] = nlohmann::json::object();
  if (type == (defaultDriver.empty() ? "json-file" : defaultDriver))
    for (auto& [k, v] : defaultOpts)
      if (!out["Config"].contains(k)) out["Config"][k] = v;
  return out;
}

}  // namespace berth::container
