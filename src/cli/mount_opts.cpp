#include "cli/mount_opts.h"

#include "cli/format/human.h"
#include "common/number.h"
#include "common/util.h"

namespace berth::cli {

namespace {

// encoding/csv's reading of one record: commas split, double quotes group.
Result<std::vector<std::string>> csvFields(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); i++) {
    char c = s[i];
    if (quoted) {
      if (c == '"' && i + 1 < s.size() && s[i + 1] == '"') {
        cur += '"';
        i++;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (quoted) return makeError(Code::InvalidArgument, "extraneous or missing \" in quoted-field");
  out.push_back(cur);
  return out;
}

Result<bool> boolValue(const std::string& key, const std::string& v) {
  std::string l = toLower(v);
  if (l == "1" || l == "true" || l == "t") return true;
  if (l == "0" || l == "false" || l == "f") return false;
  return errorf(Code::InvalidArgument, "invalid value for {}: {}", key, v);
}

}  // namespace

Result<nlohmann::ordered_json> parseMountFlag(const std::string& value) {
  using ojson = nlohmann::ordered_json;
  auto wrap = [&](const Error& e) {
    return std::unexpected(
        Error{Code::InvalidArgument, 0, fmt::format("invalid argument \"{}\" for \"--mount\" flag: {}", value, e.message)});
  };
  auto fields = csvFields(value);
  if (!fields) return wrap(fields.error());
  std::string type = "volume", source, target;
  bool readOnly = false;
  ojson bind = ojson::object(), vol = ojson::object(), tmpfs = ojson::object();
  bool hasBind = false, hasVol = false, hasTmpfs = false;
  for (auto& field : *fields) {
    auto eq = field.find('=');
    std::string key = toLower(trim(field.substr(0, eq)));
    if (eq == std::string::npos) {
      if (key == "readonly" || key == "ro") {
        readOnly = true;
        continue;
      }
      if (key == "volume-nocopy") {
        vol["NoCopy"] = true;
        hasVol = true;
        continue;
      }
      if (key == "bind-nonrecursive") {
        bind["NonRecursive"] = true;
        hasBind = true;
        continue;
      }
      return wrap(Error{Code::InvalidArgument, 0, fmt::format("invalid field '{}' must be a key=value pair", field)});
    }
    std::string val = field.substr(eq + 1);
    if (key == "type") {
      type = val;
    } else if (key == "source" || key == "src") {
      source = val;
    } else if (key == "target" || key == "dst" || key == "destination") {
      target = val;
    } else if (key == "readonly" || key == "ro") {
      auto b = boolValue(key, val);
      if (!b) return wrap(b.error());
      readOnly = *b;
    } else if (key == "consistency") {
    } else if (key == "bind-propagation") {
      bind["Propagation"] = val;
      hasBind = true;
    } else if (key == "bind-nonrecursive") {
      auto b = boolValue(key, val);
      if (!b) return wrap(b.error());
      bind["NonRecursive"] = *b;
      hasBind = true;
    } else if (key == "volume-nocopy") {
      auto b = boolValue(key, val);
      if (!b) return wrap(b.error());
      vol["NoCopy"] = *b;
      hasVol = true;
    } else if (key == "volume-label") {
      auto e2 = val.find('=');
      vol["Labels"][val.substr(0, e2)] = e2 == std::string::npos ? "" : val.substr(e2 + 1);
      hasVol = true;
    } else if (key == "volume-driver") {
      vol["DriverConfig"]["Name"] = val;
      hasVol = true;
    } else if (key == "volume-opt") {
      auto e2 = val.find('=');
      vol["DriverConfig"]["Options"][val.substr(0, e2)] = e2 == std::string::npos ? "" : val.substr(e2 + 1);
      hasVol = true;
    } else if (key == "tmpfs-size") {
      auto n = format::ramInBytes(val);
      if (!n) return wrap(n.error());
      tmpfs["SizeBytes"] = *n;
      hasTmpfs = true;
    } else if (key == "tmpfs-mode") {
      auto m = parseNumber<uint32_t>(val, 8);
      if (!m) return wrap(Error{Code::InvalidArgument, 0, fmt::format("invalid value for {}: {}", key, val)});
      tmpfs["Mode"] = *m;
      hasTmpfs = true;
    } else {
      return wrap(Error{Code::InvalidArgument, 0, fmt::format("unexpected key '{}' in '{}'", key, field)});
    }
  }
  if (type.empty()) return wrap(Error{Code::InvalidArgument, 0, "type is required"});
  if (target.empty()) return wrap(Error{Code::InvalidArgument, 0, "target is required"});
  auto mix = [&](const char* what) {
    return wrap(Error{Code::InvalidArgument, 0, fmt::format("cannot mix '{}-*' options with mount type '{}'", what, type)});
  };
  if (hasVol && type != "volume") return mix("volume");
  if (hasBind && type != "bind") return mix("bind");
  if (hasTmpfs && type != "tmpfs") return mix("tmpfs");
  ojson m = ojson::object();
  m["Type"] = type;
  m["Source"] = source;
  m["Target"] = target;
  if (readOnly) m["ReadOnly"] = true;
  if (hasBind) m["BindOptions"] = bind;
  if (hasVol) m["VolumeOptions"] = vol;
  if (hasTmpfs) m["TmpfsOptions"] = tmpfs;
  return m;
}

}  // namespace berth::cli
