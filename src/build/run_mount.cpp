// RUN --mount= specifications (declared in build/dockerfile.h).
#include <charconv>
#include <cctype>
#include <cstdint>
#include <map>

#include "build/dockerfile.h"
#include "build/shell_lex.h"
#include "build/suggest.h"
#include "common/util.h"

namespace berth::build {

namespace {


}  // namespace

std::string_view mountTypeName(MountType type) {
  switch (type) {
    case MountType::Bind: return "bind";
    case MountType::Cache: return "cache";
    case MountType::Tmpfs: return "tmpfs";
    case MountType::Secret: return "secret";
    case MountType::Ssh: return "ssh";
  }
  return "";
}

namespace {

// Go's strconv.ParseBool.
std::optional<bool> parseGoBool(std::string_view v) {
  if (v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "true" || v == "True") return true;
  if (v == "0" || v == "f" || v == "F" || v == "FALSE" || v == "false" || v == "False") return false;
  return std::nullopt;
}

// CSV fields as Go's encoding/csv reads one record (quotes, "" escapes).
Result<std::vector<std::string>> csvFields(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  for (;;) {
    std::string field;
    if (i < s.size() && s[i] == '"') {
      ++i;
      for (;;) {
        if (i >= s.size()) return makeError(Code::InvalidArgument, "failed to parse csv mounts: extraneous or missing \" in quoted-field");
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field.push_back(s[i++]);
      }
      if (i < s.size() && s[i] != ',') {
        return makeError(Code::InvalidArgument, "failed to parse csv mounts: extraneous or missing \" in quoted-field");
      }
    } else {
      while (i < s.size() && s[i] != ',') {
        if (s[i] == '"') return makeError(Code::InvalidArgument, "failed to parse csv mounts: bare \" in non-quoted-field");
        field.push_back(s[i++]);
      }
    }
    out.push_back(std::move(field));
    if (i >= s.size()) return out;
    ++i;  // ','
  }
}

// docker/go-units RAMInBytes: "64m", "1.5g", "1024", binary multiples.
std::optional<int64_t> ramInBytes(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  if (i == 0) return std::nullopt;
  double num = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + i, num);
  if (ec != std::errc() || p != s.data() + i) return std::nullopt;
  std::string unit = toLower(s.substr(i));
  if (unit.size() > 1 && (unit.back() == 'b')) unit.pop_back();
  if (unit.size() > 1 && unit.back() == 'i') unit.pop_back();
  static const std::map<std::string, double> mult = {{"", 1},          {"b", 1},          {"k", 1024.0},
                                                     {"m", 1048576.0}, {"g", 1073741824.0}, {"t", 1099511627776.0},
                                                     {"p", 1125899906842624.0}};
  auto it = mult.find(unit);
  if (it == mult.end()) return std::nullopt;
  return static_cast<int64_t>(num * it->second);
}

template <class T>
std::optional<T> parseUnsigned(std::string_view v, int base) {
  T out{};
  uint64_t wide = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), wide, base);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || wide > UINT32_MAX) return std::nullopt;
  out = static_cast<T>(wide);
  return out;
}

}  // namespace

Result<MountSpec> parseMount(std::string_view spec,
                             const std::function<Result<std::string>(std::string_view)>& expand) {
  TRY_ASSIGN(auto fields, csvFields(spec));
  MountSpec m;
  bool roAuto = true;
  bool sharingSet = false;
  auto secretOrSsh = [&] { return m.type == MountType::Secret || m.type == MountType::Ssh; };
  for (const auto& field : fields) {
    auto eq = field.find('=');
    std::string key = toLower(field.substr(0, eq));
    if (eq == std::string::npos) {
      if (key == "readonly" || key == "ro") {
        m.readOnly = true;
        roAuto = false;
      } else if (key == "readwrite" || key == "rw") {
        m.readOnly = false;
        roAuto = false;
      } else if (key == "required") {
        if (!secretOrSsh()) {
          return errorf(Code::InvalidArgument, "unexpected key '{}' for mount type '{}'", key, mountTypeName(m.type));
        }
        m.required = true;
      } else {
        return errorf(Code::InvalidArgument, "invalid field '{}' must be a key=value pair", field);
      }
      continue;
    }
    std::string value = field.substr(eq + 1);
    if (expand) {
      TRY_ASSIGN(value, expand(value));
    }
    auto bad = [&] { return errorf(Code::InvalidArgument, "invalid value for {}: {}", key, value); };
    if (key == "type") {
      static const std::map<std::string, MountType> types = {{"bind", MountType::Bind},
                                                             {"cache", MountType::Cache},
                                                             {"tmpfs", MountType::Tmpfs},
                                                             {"secret", MountType::Secret},
                                                             {"ssh", MountType::Ssh}};
      auto it = types.find(toLower(value));
      if (it == types.end()) {
        return makeError(Code::InvalidArgument,
                         withSuggestion("unsupported mount type " + goQuote(value), value,
                                        {"bind", "cache", "tmpfs", "secret", "ssh"}, true));
      }
      m.type = it->second;
    } else if (key == "from") {
      m.from = value;
    } else if (key == "source" || key == "src") {
      m.source = value;
    } else if (key == "target" || key == "dst" || key == "destination") {
      m.target = value;
    } else if (key == "readonly" || key == "ro" || key == "readwrite" || key == "rw") {
      auto b = parseGoBool(value);
      if (!b) return bad();
      m.readOnly = (key == "readonly" || key == "ro") ? *b : !*b;
      roAuto = false;
    } else if (key == "required") {
      if (!secretOrSsh()) {
        return errorf(Code::InvalidArgument, "unexpected key '{}' for mount type '{}'", key, mountTypeName(m.type));
      }
      auto b = parseGoBool(value);
      if (!b) return bad();
      m.required = *b;
    } else if (key == "size") {
      if (m.type != MountType::Tmpfs) {
        return errorf(Code::InvalidArgument, "unexpected key '{}' for mount type '{}'", key, mountTypeName(m.type));
      }
      auto n = ramInBytes(value);
      if (!n) return bad();
      m.sizeBytes = *n;
    } else if (key == "id") {
      m.id = value;
    } else if (key == "sharing") {
      std::string v = toLower(value);
      if (v == "shared") {
        m.sharing = CacheSharing::Shared;
      } else if (v == "private") {
        m.sharing = CacheSharing::Private;
      } else if (v == "locked") {
        m.sharing = CacheSharing::Locked;
      } else {
        return makeError(Code::InvalidArgument, withSuggestion("unsupported sharing value " + goQuote(value), value,
                                                               {"shared", "private", "locked"}, true));
      }
      sharingSet = true;
    } else if (key == "mode") {
      auto v = parseUnsigned<uint32_t>(value, 8);
      if (!v) return errorf(Code::InvalidArgument, "invalid value {} for mode", value);
      m.mode = v;
    } else if (key == "uid" || key == "gid") {
      auto v = parseUnsigned<uint32_t>(value, 10);
      if (!v) return errorf(Code::InvalidArgument, "invalid value {} for {}", value, key);
      (key == "uid" ? m.uid : m.gid) = v;
    } else if (key == "env") {
      m.env = value;
    } else {
      static const std::vector<std::string> keys = {"type", "from", "source", "target", "readonly", "id", "sharing",
                                                    "required", "size", "mode", "uid", "gid", "src", "dst",
                                                    "destination", "ro", "rw", "readwrite", "env"};
      return makeError(Code::InvalidArgument,
                       withSuggestion(fmt::format("unexpected key '{}' in '{}'", key, field), key, keys, true));
    }
  }
  std::string typeName(mountTypeName(m.type));
  if (!(secretOrSsh() || m.type == MountType::Cache)) {
    if (m.mode) return errorf(Code::InvalidArgument, "mode not allowed for {} type mounts", goQuote(typeName));
    if (m.uid) return errorf(Code::InvalidArgument, "uid not allowed for {} type mounts", goQuote(typeName));
    if (m.gid) return errorf(Code::InvalidArgument, "gid not allowed for {} type mounts", goQuote(typeName));
  }
  if (roAuto) m.readOnly = !(m.type == MountType::Cache || m.type == MountType::Tmpfs);
  if (m.type == MountType::Secret) {
    if (!m.from.empty()) return makeError(Code::InvalidArgument, "secret mount should not have a from");
    if (sharingSet) return makeError(Code::InvalidArgument, "secret mount should not define sharing");
    if (m.source.empty() && m.target.empty() && m.id.empty()) {
      return makeError(Code::InvalidArgument, "invalid secret mount. one of source, target required");
    }
    if (!m.source.empty() && !m.id.empty()) return makeError(Code::InvalidArgument, "both source and id can't be set");
  }
  if (sharingSet && m.type != MountType::Cache) {
    return errorf(Code::InvalidArgument, "invalid cache sharing set for {} mount", typeName);
  }
  return m;
}

}  // namespace berth::build
