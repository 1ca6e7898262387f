#include "runtime/spec.h"

#include <sys/mount.h>
#include <sys/resource.h>

#include <nlohmann/json.hpp>

namespace berth::runtime {

using nlohmann::json;

namespace {

std::vector<std::string> strings(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

template <class T>
std::optional<T> number(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<T>();
}

std::string str(const json& j, const char* key, std::string def = "") {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return def;
  return it->get<std::string>();
}

Seccomp seccompFromJson(const json& j) {
  Seccomp s;
  s.defaultAction = str(j, "defaultAction");
  s.defaultErrnoRet = number<uint32_t>(j, "defaultErrnoRet");
  s.architectures = strings(j, "architectures");
  if (auto sc = j.find("syscalls"); sc != j.end() && sc->is_array()) {
    for (const auto& r : *sc) {
      if (!r.is_object()) continue;
      SeccompRule rule;
      rule.names = strings(r, "names");
      rule.action = str(r, "action");
      rule.errnoRet = number<uint32_t>(r, "errnoRet");
      if (auto a = r.find("args"); a != r.end() && a->is_array())
        for (const auto& arg : *a)
          if (arg.is_object())
            rule.args.push_back({arg.value("index", 0u), arg.value("value", uint64_t(0)),
                                 arg.value("valueTwo", uint64_t(0)), str(arg, "op")});
      s.syscalls.push_back(std::move(rule));
    }
  }
  return s;
}

Process processFromJson(const json& p) {
  Process out;
  out.terminal = p.value("terminal", false);
  if (auto cs = p.find("consoleSize"); cs != p.end() && cs->is_object()) {
    out.consoleHeight = cs->value("height", 0);
    out.consoleWidth = cs->value("width", 0);
  }
  if (auto u = p.find("user"); u != p.end() && u->is_object()) {
    out.user.uid = u->value("uid", 0u);
    out.user.gid = u->value("gid", 0u);
    if (auto g = u->find("additionalGids"); g != u->end() && g->is_array())
      for (const auto& v : *g)
        if (v.is_number()) out.user.additionalGids.push_back(v.get<gid_t>());
  }
  out.args = strings(p, "args");
  out.env = strings(p, "env");
  out.cwd = str(p, "cwd", "/");
  if (out.cwd.empty()) out.cwd = "/";
  if (auto c = p.find("capabilities"); c != p.end() && c->is_object()) {
    Capabilities caps;
    caps.bounding = strings(*c, "bounding");
    caps.effective = strings(*c, "effective");
    caps.inheritable = strings(*c, "inheritable");
    caps.permitted = strings(*c, "permitted");
    caps.ambient = strings(*c, "ambient");
    out.capabilities = std::move(caps);
  }
  if (auto r = p.find("rlimits"); r != p.end() && r->is_array()) {
    for (const auto& v : *r) {
      Rlimit rl;
      rl.resource = rlimitByName(str(v, "type"));
      rl.soft = v.value("soft", uint64_t(0));
      rl.hard = v.value("hard", uint64_t(0));
      if (rl.resource >= 0) out.rlimits.push_back(rl);
    }
  }
  out.noNewPrivileges = p.value("noNewPrivileges", false);
  out.oomScoreAdj = number<int>(p, "oomScoreAdj");
  out.berthStdin = p.value("berthStdin", false);
  if (auto sc = p.find("berthSeccomp"); sc != p.end() && sc->is_object()) out.berthSeccomp = seccompFromJson(*sc);
  return out;
}

void resourcesFromJson(const json& r, Resources& out) {
  if (auto m = r.find("memory"); m != r.end() && m->is_object()) {
    out.memoryLimit = number<int64_t>(*m, "limit");
    out.memorySwap = number<int64_t>(*m, "swap");
    out.memoryReservation = number<int64_t>(*m, "reservation");
  }
  if (auto c = r.find("cpu"); c != r.end() && c->is_object()) {
    out.cpuShares = number<uint64_t>(*c, "shares");
    out.cpuQuota = number<int64_t>(*c, "quota");
    out.cpuPeriod = number<uint64_t>(*c, "period");
    if (auto s = str(*c, "cpus"); !s.empty()) out.cpusetCpus = s;
    if (auto s = str(*c, "mems"); !s.empty()) out.cpusetMems = s;
  }
  if (auto p = r.find("pids"); p != r.end() && p->is_object()) out.pidsLimit = number<int64_t>(*p, "limit");
  if (auto b = r.find("blockIO"); b != r.end() && b->is_object()) out.blkioWeight = number<uint16_t>(*b, "weight");
  if (auto d = r.find("devices"); d != r.end() && d->is_array()) {
    for (const auto& v : *d) {
      DeviceRule rule;
      rule.allow = v.value("allow", false);
      rule.type = str(v, "type", "a");
      if (rule.type.empty()) rule.type = "a";
      rule.major = number<int64_t>(v, "major").value_or(-1);
      rule.minor = number<int64_t>(v, "minor").value_or(-1);
      rule.access = str(v, "access", "rwm");
      out.devices.push_back(rule);
    }
  }
}

}  // namespace

int rlimitByName(std::string_view name) {
  static constexpr std::pair<std::string_view, int> kTable[] = {
      {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
      {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
      {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
      {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
  };
  for (const auto& [n, v] : kTable)
    if (n == name) return v;
  return -1;
}

MountFlags parseMountOptions(const std::vector<std::string>& options) {
  struct Opt {
    std::string_view name;
    bool clear;
    unsigned long flag;
  };
  static constexpr Opt kFlags[] = {
      {"ro", false, MS_RDONLY},        {"rw", true, MS_RDONLY},
      {"nosuid", false, MS_NOSUID},    {"suid", true, MS_NOSUID},
      {"nodev", false, MS_NODEV},      {"dev", true, MS_NODEV},
      {"noexec", false, MS_NOEXEC},    {"exec", true, MS_NOEXEC},
      {"sync", false, MS_SYNCHRONOUS}, {"async", true, MS_SYNCHRONOUS},
      {"remount", false, MS_REMOUNT},  {"mand", false, MS_MANDLOCK},
      {"nomand", true, MS_MANDLOCK},   {"dirsync", false, MS_DIRSYNC},
      {"noatime", false, MS_NOATIME},  {"atime", true, MS_NOATIME},
      {"nodiratime", false, MS_NODIRATIME}, {"diratime", true, MS_NODIRATIME},
      {"relatime", false, MS_RELATIME}, {"norelatime", true, MS_RELATIME},
      {"strictatime", false, MS_STRICTATIME}, {"nostrictatime", true, MS_STRICTATIME},
      {"defaults", false, 0},
  };
  static constexpr std::pair<std::string_view, unsigned long> kProp[] = {
      {"private", MS_PRIVATE},  {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},    {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},      {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  MountFlags out;
  for (const auto& o : options) {
    if (o == "bind") {
      out.bind = true;
      continue;
    }
    if (o == "rbind") {
      out.bind = out.recursive = true;
      continue;
    }
    bool known = false;
    for (const auto& f : kFlags) {
      if (f.name == o) {
        if (f.clear) out.flags &= ~f.flag;
        else out.flags |= f.flag;
        known = true;
        break;
      }
    }
    for (const auto& [n, v] : kProp) {
      if (n == o) {
        out.propagation = v;
        known = true;
        break;
      }
    }
    if (known) continue;
    if (!out.data.empty()) out.data += ',';
    out.data += o;
  }
  return out;
}

std::optional<std::string> envValue(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& e : env)
    if (e.size() > key.size() && e[key.size()] == '=' && std::string_view(e).substr(0, key.size()) == key)
      return e.substr(key.size() + 1);
  return std::nullopt;
}

std::optional<Overlay> Spec::overlay() const {
  auto l = annotations.find("berth.overlay.lowerdir");
  auto u = annotations.find("berth.overlay.upperdir");
  auto w = annotations.find("berth.overlay.workdir");
  if (l == annotations.end()) return std::nullopt;
  Overlay o;
  o.lowerdir = l->second;
  if (u != annotations.end()) o.upperdir = u->second;
  if (w != annotations.end()) o.workdir = w->second;
  auto v = annotations.find("berth.overlay.volatile");
  o.volatileUpper = v != annotations.end() && v->second == "1";
  return o;
}

bool Spec::stdinWanted() const {
  auto it = annotations.find("berth.stdin");
  return it != annotations.end() && it->second == "1";
}

const Namespace* Spec::findNamespace(std::string_view type) const {
  for (const auto& n : namespaces)
    if (n.type == type) return &n;
  return nullptr;
}

std::optional<std::pair<size_t, size_t>> seccompSpan(std::string_view json) {
  return memberSpan(json, {"linux", "seccomp"});
}

std::optional<std::pair<size_t, size_t>> memberSpan(std::string_view s, std::initializer_list<std::string_view> path) {
  const size_t n = s.size();
  size_t i = 0;
  auto ws = [&] {
    while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) i++;
  };
  auto skipString = [&] {  // at '"'; after the closing quote
    for (i++; i < n;) {
      char c = s[i++];
      if (c == '\\') i++;
      else if (c == '"') return i <= n;
    }
    return false;
  };
  auto skipValue = [&] {
    ws();
    if (i >= n) return false;
    if (s[i] == '"') return skipString();
    if (s[i] == '{' || s[i] == '[') {
      int depth = 0;
      while (i < n) {
        char c = s[i];
        if (c == '"') {
          if (!skipString()) return false;
          continue;
        }
        if (c == '{' || c == '[') depth++;
        else if ((c == '}' || c == ']') && --depth == 0) {
          i++;
          return true;
        }
        i++;
      }
      return false;
    }
    size_t b = i;
    while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n' && s[i] != '\r' &&
           s[i] != '\t')
      i++;
    return i > b;
  };
  // The object at i: the start of the value of member `want`, when it is
  // there exactly once; i ends after the object.
  auto member = [&](std::string_view want) -> std::optional<size_t> {
    ws();
    if (i >= n || s[i] != '{') return std::nullopt;
    i++;
    std::optional<size_t> found;
    bool twice = false;
    ws();
    if (i < n && s[i] == '}') {
      i++;
      return std::nullopt;
    }
    for (;;) {
      ws();
      if (i >= n || s[i] != '"') return std::nullopt;
      size_t k = i + 1;
      if (!skipString()) return std::nullopt;
      std::string_view key = s.substr(k, i - 1 - k);
      ws();
      if (i >= n || s[i] != ':') return std::nullopt;
      i++;
      ws();
      if (key == want) {
        twice |= found.has_value();
        found = i;
      }
      if (!skipValue()) return std::nullopt;
      ws();
      if (i < n && s[i] == ',') {
        i++;
        continue;
      }
      if (i < n && s[i] == '}') {
        i++;
        break;
      }
      return std::nullopt;
    }
    if (twice) return std::nullopt;
    return found;
  };
  if (path.size() == 0) return std::nullopt;
  for (std::string_view key : path) {
    auto at = member(key);
    if (!at) return std::nullopt;
    i = *at;
  }
  size_t start = i;
  if (!skipValue()) return std::nullopt;
  return std::pair<size_t, size_t>{start, i - start};
}

Result<Spec> parseSpec(std::string_view text, const std::string& bundleDir) {
  try {
    json j = json::parse(text);
    if (!j.is_object()) return makeError(Code::InvalidArgument, "config.json: not an object");
    Spec s;
    auto p = j.find("process");
    if (p == j.end() || !p->is_object()) return makeError(Code::InvalidArgument, "config.json: no process");
    s.process = processFromJson(*p);
    if (s.process.args.empty()) return makeError(Code::InvalidArgument, "config.json: process.args is empty");
    if (auto r = j.find("root"); r != j.end() && r->is_object()) {
      s.rootPath = str(*r, "path");
      s.rootReadonly = r->value("readonly", false);
    }
    if (s.rootPath.empty()) return makeError(Code::InvalidArgument, "config.json: root.path is empty");
    if (s.rootPath[0] != '/') s.rootPath = bundleDir + "/" + s.rootPath;
    s.hostname = str(j, "hostname");
    if (auto m = j.find("mounts"); m != j.end() && m->is_array()) {
      for (const auto& v : *m) {
        Mount mt;
        mt.destination = str(v, "destination");
        mt.type = str(v, "type");
        mt.source = str(v, "source");
        mt.options = strings(v, "options");
        if (mt.destination.empty() || mt.destination[0] != '/')
          return errorf(Code::InvalidArgument, "config.json: mount destination \"{}\" is not absolute", mt.destination);
        if (mt.type.empty()) {
          for (const auto& o : mt.options)
            if (o == "bind" || o == "rbind") mt.type = "bind";
        }
        if (mt.type == "bind" && !mt.source.empty() && mt.source[0] != '/')
          mt.source = bundleDir + "/" + mt.source;
        s.mounts.push_back(std::move(mt));
      }
    }
    if (auto l = j.find("linux"); l != j.end() && l->is_object()) {
      if (auto ns = l->find("namespaces"); ns != l->end() && ns->is_array())
        for (const auto& v : *ns) s.namespaces.push_back({str(v, "type"), str(v, "path")});
      s.cgroupsPath = str(*l, "cgroupsPath");
      if (auto r = l->find("resources"); r != l->end() && r->is_object()) resourcesFromJson(*r, s.resources);
      if (auto d = l->find("devices"); d != l->end() && d->is_array()) {
        for (const auto& v : *d) {
          Device dev;
          dev.path = str(v, "path");
          dev.type = str(v, "type", "c");
          dev.major = v.value("major", int64_t(0));
          dev.minor = v.value("minor", int64_t(0));
          dev.fileMode = v.value("fileMode", 0666u);
          dev.uid = v.value("uid", 0u);
          dev.gid = v.value("gid", 0u);
          if (!dev.path.empty() && dev.path[0] == '/') s.devices.push_back(dev);
        }
      }
      if (auto rp = l->find("rootfsPropagation"); rp != l->end() && rp->is_string()) {
        std::string v = rp->get<std::string>();
        s.rootfsShared = v == "shared" || v == "rshared";
        s.rootfsSlave = v == "slave" || v == "rslave";
      }
      s.maskedPaths = strings(*l, "maskedPaths");
      s.readonlyPaths = strings(*l, "readonlyPaths");
      if (auto sc = l->find("sysctl"); sc != l->end() && sc->is_object())
        for (auto it = sc->begin(); it != sc->end(); ++it)
          if (it->is_string()) s.sysctl[it.key()] = it->get<std::string>();
      if (auto sc = l->find("seccomp"); sc != l->end() && sc->is_object()) s.seccomp = seccompFromJson(*sc);
    }
    if (auto a = j.find("annotations"); a != j.end() && a->is_object())
      for (auto it = a->begin(); it != a->end(); ++it)
        if (it->is_string()) s.annotations[it.key()] = it->get<std::string>();
    return s;
  } catch (const std::exception& e) {
    return errorf(Code::InvalidArgument, "config.json: {}", e.what());
  }
}

Result<Process> parseProcess(std::string_view text) {
  try {
    json j = json::parse(text);
    if (!j.is_object()) return makeError(Code::InvalidArgument, "process: not an object");
    Process p = processFromJson(j);
    if (p.args.empty()) return makeError(Code::InvalidArgument, "process: args is empty");
    return p;
  } catch (const std::exception& e) {
    return errorf(Code::InvalidArgument, "process: {}", e.what());
  }
}

}  // namespace berth::runtime
