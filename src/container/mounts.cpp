#include "container/mounts.h"

#include <sys/stat.h>

#include <algorithm>

#include "common/util.h"

namespace berth::container {

using json = nlohmann::json;

namespace {

const std::vector<std::string> kPropagations = {"private", "rprivate", "shared", "rshared", "slave", "rslave"};

bool isPropagation(const std::string& s) {
  return std::find(kPropagations.begin(), kPropagations.end(), s) != kPropagations.end();
}

Error invalidSpec(const std::string& raw) {
  return Error{Code::InvalidArgument, 0, fmt::format("invalid volume specification: '{}'", raw)};
}

Error invalidConfig(const std::string& type, const std::string& what) {
  return Error{Code::InvalidArgument, 0, fmt::format("invalid mount config for type \"{}\": {}", type, what)};
}

Result<> checkDestination(const std::string& type, const std::string& dest) {
  if (dest.empty() || dest[0] != '/')
    return std::unexpected(invalidConfig(type, fmt::format("invalid mount path: '{}' mount path must be absolute", dest)));
  if (cleanMountPath(dest) == "/") return makeError(Code::InvalidArgument, "invalid specification: destination can't be '/'");
  return {};
}

json strMap(const std::map<std::string, std::string>& m) {
  json j = json::object();
  for (auto& [k, v] : m) j[k] = v;
  return j;
}

std::map<std::string, std::string> mapOf(const json& j) {
  std::map<std::string, std::string> out;
  if (j.is_object())
    for (auto& [k, v] : j.items())
      if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

}  // namespace

std::string cleanMountPath(const std::string& p) {
  std::vector<std::string> parts;
  for (auto& s : split(p, '/')) {
    if (s.empty() || s == ".") continue;
    if (s == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(s);
  }
  std::string out;
  for (auto& s : parts) out += "/" + s;
  return out.empty() ? "/" : out;
}

json MountPoint::toJson() const {
  return json{{"Type", type},
              {"Name", name},
              {"Source", source},
              {"Destination", destination},
              {"Mode", mode},
              {"RW", rw},
              {"Propagation", propagation},
              {"CopyData", copyData},
              {"Anonymous", anonymous},
              {"CreateSource", createSource},
              {"NonRecursive", nonRecursive},
              {"FromTmpfsFlag", fromTmpfsFlag},
              {"TmpfsOptions", tmpfsOptions},
              {"VolumeLabels", strMap(volumeLabels)},
              {"VolumeOptions", strMap(volumeOptions)},
              {"RuntimeType", runtimeType},
              {"RuntimeSource", runtimeSource},
              {"RuntimeOptions", runtimeOptions}};
}

MountPoint MountPoint::fromJson(const json& j) {
  MountPoint m;
  if (!j.is_object()) return m;
  m.type = j.value("Type", "");
  m.name = j.value("Name", "");
  m.source = j.value("Source", "");
  m.destination = j.value("Destination", "");
  m.mode = j.value("Mode", "");
  m.rw = j.value("RW", true);
  m.propagation = j.value("Propagation", "");
  m.copyData = j.value("CopyData", true);
  m.anonymous = j.value("Anonymous", false);
  m.createSource = j.value("CreateSource", false);
  m.nonRecursive = j.value("NonRecursive", false);
  m.fromTmpfsFlag = j.value("FromTmpfsFlag", false);
  m.tmpfsOptions = j.value("TmpfsOptions", "");
  m.volumeLabels = mapOf(j.value("VolumeLabels", json::object()));
  m.volumeOptions = mapOf(j.value("VolumeOptions", json::object()));
  m.runtimeType = j.value("RuntimeType", "");
  m.runtimeSource = j.value("RuntimeSource", "");
  m.runtimeOptions = j.value("RuntimeOptions", std::vector<std::string>{});
  return m;
}

json MountPoint::inspectJson() const {
  json j;
  j["Type"] = type;
  if (type == "volume") j["Name"] = name;
  j["Source"] = source;
  j["Destination"] = destination;
  if (type == "volume") j["Driver"] = "local";
  j["Mode"] = mode;
  j["RW"] = rw;
  j["Propagation"] = propagation;
  return j;
}

json MountPoint::specJson() const {
  std::vector<std::string> opts;
  json m;
  m["destination"] = destination;
  if (type == "tmpfs") {
    m["type"] = "tmpfs";
    m["source"] = "tmpfs";
    opts = {"nosuid", "nodev", "noexec"};
    for (auto& o : split(tmpfsOptions, ','))
      if (!o.empty()) opts.push_back(o);
  } else if (type == "volume" && !runtimeType.empty() && runtimeType != "bind") {
    m["type"] = runtimeType;
    m["source"] = runtimeSource;
    opts = runtimeOptions;
  } else {
    m["type"] = "bind";
    m["source"] = type == "volume" && !runtimeSource.empty() ? runtimeSource : source;
    opts.push_back(nonRecursive ? "bind" : "rbind");
    opts.push_back(propagation.empty() ? "rprivate" : propagation);
  }
  if (!rw) opts.push_back("ro");
  m["options"] = opts;
  return m;
}

Result<MountPoint> parseBind(const std::string& raw) {
  auto parts = split(raw, ':');
  if (parts.empty() || parts.size() > 3) return std::unexpected(invalidSpec(raw));
  for (auto& p : parts)
    if (p.empty()) return std::unexpected(invalidSpec(raw));
  MountPoint m;
  std::string src, dst, mode;
  if (parts.size() == 1) {
    dst = parts[0];
  } else {
    src = parts[0];
    dst = parts[1];
    if (parts.size() == 3) mode = parts[2];
  }
  m.type = src.empty() ? "volume" : (src[0] == '/' ? "bind" : "volume");
  if (auto r = checkDestination(m.type, dst); !r) return std::unexpected(r.error());
  m.destination = cleanMountPath(dst);
  int rwCount = 0, propCount = 0, labelCount = 0, copyCount = 0;
  for (auto& o : mode.empty() ? std::vector<std::string>{} : split(mode, ',')) {
    if (o.empty()) return errorf(Code::InvalidArgument, "invalid mode: {}", mode);
    if (o == "ro" || o == "rw") {
      rwCount++;
      m.rw = o == "rw";
    } else if (isPropagation(o)) {
      propCount++;
      m.propagation = o;
    } else if (o == "z" || o == "Z") {
      labelCount++;
    } else if (o == "nocopy") {
      copyCount++;
      m.copyData = false;
    } else if (o == "cached" || o == "delegated" || o == "consistent") {
    } else {
      return errorf(Code::InvalidArgument, "invalid mode: {}", mode);
    }
  }
  if (rwCount > 1 || propCount > 1 || labelCount > 1 || copyCount > 1)
    return errorf(Code::InvalidArgument, "invalid mode: {}", mode);
  if (m.type == "bind") {
    if (copyCount) return errorf(Code::InvalidArgument, "invalid mode: {}", mode);
    m.source = cleanMountPath(src);
    m.createSource = true;
    if (m.propagation.empty()) m.propagation = "rprivate";
    m.mode = mode;
  } else {
    if (propCount) return errorf(Code::InvalidArgument, "invalid mode: {}", mode);
    m.name = src;
    m.anonymous = src.empty();
    // Docker reports "z" for a named volume without a mode.
    m.mode = mode.empty() && !src.empty() ? "z" : mode;
  }
  return m;
}

Result<MountPoint> parseApiMount(const json& j) {
  if (!j.is_object()) return makeError(Code::InvalidArgument, "invalid mount config: expected an object");
  MountPoint m;
  m.type = j.value("Type", "");
  std::string source = j.value("Source", "");
  std::string target = j.value("Target", "");
  m.rw = !j.value("ReadOnly", false);
  if (m.type != "bind" && m.type != "volume" && m.type != "tmpfs") {
    if (m.type.empty()) return makeError(Code::InvalidArgument, "invalid mount config: mount type must not be empty");
    return std::unexpected(invalidConfig(m.type, "mount type unknown"));
  }
  if (target.empty()) return std::unexpected(invalidConfig(m.type, "field Target must not be empty"));
  TRY(checkDestination(m.type, target));
  m.destination = cleanMountPath(target);
  auto has = [&](const char* k) { return j.contains(k) && !j[k].is_null(); };
  if (m.type != "bind" && has("BindOptions")) return std::unexpected(invalidConfig(m.type, "field BindOptions must not be specified"));
  if (m.type != "volume" && has("VolumeOptions")) return std::unexpected(invalidConfig(m.type, "field VolumeOptions must not be specified"));
  if (m.type != "tmpfs" && has("TmpfsOptions")) return std::unexpected(invalidConfig(m.type, "field TmpfsOptions must not be specified"));
  if (m.type == "bind") {
    if (source.empty()) return std::unexpected(invalidConfig("bind", "field Source must not be empty"));
    if (source[0] != '/')
      return std::unexpected(invalidConfig("bind", fmt::format("invalid mount path: '{}' mount path must be absolute", source)));
    m.source = cleanMountPath(source);
    struct stat st;
    if (::stat(m.source.c_str(), &st) != 0)
      return std::unexpected(invalidConfig("bind", "bind source path does not exist: " + m.source));
    json bo = j.value("BindOptions", json::object());
    if (!bo.is_object()) bo = json::object();
    m.propagation = bo.value("Propagation", "");
    if (!m.propagation.empty() && !isPropagation(m.propagation))
      return std::unexpected(invalidConfig("bind", "invalid propagation mode: " + m.propagation));
    if (m.propagation.empty()) m.propagation = "rprivate";
    m.nonRecursive = bo.value("NonRecursive", false);
  } else if (m.type == "volume") {
    m.name = source;
    m.anonymous = source.empty();
    json vo = j.value("VolumeOptions", json::object());
    if (!vo.is_object()) vo = json::object();
    m.copyData = !vo.value("NoCopy", false);
    m.volumeLabels = mapOf(vo.value("Labels", json::object()));
    json dc = vo.value("DriverConfig", json::object());
    if (dc.is_object()) {
      std::string drv = dc.value("Name", "");
      if (!drv.empty() && drv != "local")
        return errorf(Code::NotFound, "error looking up volume plugin {}: plugin \"{}\" not found", drv, drv);
      m.volumeOptions = mapOf(dc.value("Options", json::object()));
    }
  } else {
    if (!source.empty()) return std::unexpected(invalidConfig("tmpfs", "field Source must not be specified"));
    json to = j.value("TmpfsOptions", json::object());
    if (!to.is_object()) to = json::object();
    std::vector<std::string> opts;
    if (int64_t size = to.value("SizeBytes", int64_t(0)); size > 0) opts.push_back("size=" + std::to_string(size));
    else if (size < 0) return std::unexpected(invalidConfig("tmpfs", "invalid tmpfs size"));
    if (uint32_t mode = to.value("Mode", uint32_t(0)); mode != 0) opts.push_back(fmt::format("mode={:o}", mode & 07777));
    for (size_t i = 0; i < opts.size(); i++) m.tmpfsOptions += (i ? "," : "") + opts[i];
  }
  return m;
}

Result<MountPoint> parseTmpfs(const std::string& dest, const std::string& options) {
  TRY(checkDestination("tmpfs", dest));
  MountPoint m;
  m.type = "tmpfs";
  m.destination = cleanMountPath(dest);
  m.fromTmpfsFlag = true;
  std::string opts;
  for (auto& o : split(options, ',')) {
    if (o.empty()) continue;
    if (o == "ro") m.rw = false;
    else if (o == "rw") m.rw = true;
    else opts += (opts.empty() ? "" : ",") + o;
  }
  m.tmpfsOptions = opts;
  return m;
}

Result<std::pair<std::string, std::string>> parseVolumesFrom(const std::string& spec) {
  auto parts = split(spec, ':');
  if (parts.size() == 1 && !parts[0].empty()) return std::pair{parts[0], std::string()};
  if (parts.size() == 2 && !parts[0].empty()) {
    if (parts[1] != "ro" && parts[1] != "rw" && parts[1] != "z" && parts[1] != "Z")
      return errorf(Code::InvalidArgument, "invalid mode for volumes-from: {}", parts[1]);
    return std::pair{parts[0], parts[1]};
  }
  return errorf(Code::InvalidArgument, "invalid volumes-from specification: '{}'", spec);
}

Result<std::vector<MountPoint>> collectMounts(const json& hc, const json& configVolumes, const json& imageVolumes,
                                              const std::vector<MountPoint>& inherited) {
  std::vector<MountPoint> out;
  std::vector<std::string> explicitDests;  // Binds, Mounts, Tmpfs
  auto setMount = [&](MountPoint m, bool isExplicit) -> Result<> {
    if (isExplicit) {
      if (std::find(explicitDests.begin(), explicitDests.end(), m.destination) != explicitDests.end())
        return errorf(Code::InvalidArgument, "Duplicate mount point: {}", m.destination);
      explicitDests.push_back(m.destination);
    }
    for (auto& o : out)
      if (o.destination == m.destination) {
        o = std::move(m);
        return {};
      }
    out.push_back(std::move(m));
    return {};
  };
  for (auto& m : inherited) TRY(setMount(m, false));
  if (hc.contains("Binds") && hc["Binds"].is_array())
    for (auto& b : hc["Binds"]) {
      if (!b.is_string()) return makeError(Code::InvalidArgument, "invalid volume specification: Binds must be strings");
      TRY_ASSIGN(MountPoint m, parseBind(b.get<std::string>()));
      TRY(setMount(std::move(m), true));
    }
  if (hc.contains("Mounts") && hc["Mounts"].is_array())
    for (auto& j : hc["Mounts"]) {
      TRY_ASSIGN(MountPoint m, parseApiMount(j));
      TRY(setMount(std::move(m), true));
    }
  if (hc.contains("Tmpfs") && hc["Tmpfs"].is_object())
    for (auto& [dest, opts] : hc["Tmpfs"].items()) {
      TRY_ASSIGN(MountPoint m, parseTmpfs(dest, opts.is_string() ? opts.get<std::string>() : ""));
      TRY(setMount(std::move(m), true));
    }
  for (const json* vols : {&configVolumes, &imageVolumes}) {
    if (!vols->is_object()) continue;
    for (auto& [dest, unused] : vols->items()) {
      if (dest.empty() || dest[0] != '/') {
        TRY(checkDestination("volume", dest));
      }
      std::string d = cleanMountPath(dest);
      bool taken = false;
      for (auto& o : out) taken |= o.destination == d;
      if (taken) continue;
      MountPoint m;
      m.type = "volume";
      m.destination = d;
      m.anonymous = true;
      out.push_back(std::move(m));
    }
  }
  return out;
}

}  // namespace berth::container
