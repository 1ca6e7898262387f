#include "container/spec.h"

#include "common/number.h"

#include <sys/resource.h>

#include <cstdlib>

#include "common/util.h"
#include "container/mounts.h"
#include "container/security.h"

namespace berth::container {

using json = nlohmann::json;

const std::vector<std::string>& defaultCapabilities() {
  static const std::vector<std::string> caps = [] {
    auto r = effectiveCapabilities(json::object());
    return r ? *r : std::vector<std::string>{};
  }();
  return caps;
}

namespace {

// The container's own mounts (volumes, binds, tmpfs) after the defaults; a
// default at the same destination (/etc/hosts, /dev/shm, ...) gives way.
void appendUserMounts(json& mounts, const json& mountPoints) {
  for (auto& pj : mountPoints) {
    json m = MountPoint::fromJson(pj).specJson();
    for (auto it = mounts.begin(); it != mounts.end();) {
      if ((*it)["destination"] == m["destination"]) it = mounts.erase(it);
      else ++it;
    }
    mounts.push_back(std::move(m));
  }
}

// Finds etc/<file> in the topmost layer that has it.
std::string readImageFile(const std::vector<std::string>& lowerDirs, const std::string& rel) {
  for (auto& d : lowerDirs) {
    auto r = readFile(d + "/" + rel);
    if (r) return *r;
  }
  return "";
}

bool allDigits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// --group-add NAME|GID against the image's /etc/group text.
Result<uint32_t> resolveGroup(const std::string& g, const std::string& groupFile) {
  for (auto& line : split(groupFile, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 3 || !allDigits(f[2])) continue;
    auto id = parseNumber<uint32_t>(f[2]);
    if (id && (f[0] == g || (allDigits(g) && f[2] == g))) return *id;
  }
  if (auto id = parseNumber<uint32_t>(g); id && allDigits(g)) return *id;
  return errorf(Code::InvalidArgument, "Unable to find group {}: no matching entries in group file", g);
}

uint64_t hostHardLimit(int resource) {
  rlimit r{};
  if (::getrlimit(resource, &r) != 0) return RLIM_INFINITY;
  return r.rlim_max;
}

// CAP_SYS_RESOURCE in the daemon's bounding set (the monitor inherits it).
bool daemonCanRaiseRlimits() {
  auto status = readFile("/proc/self/status");
  if (!status) return false;
  for (const auto& line : split(*status, '\n')) {
    if (!startsWith(line, "CapBnd:")) continue;
    uint64_t bnd = parseNumber<uint64_t>(trim(line.substr(7)), 16).value_or(0);
    return bnd & (uint64_t(1) << 24);
  }
  return false;
}

}  // namespace

Result<ResolvedUser> resolveUser(const std::string& user, const std::vector<std::string>& lowerDirs) {
  ResolvedUser out;
  std::string u = user, g;
  if (auto colon = user.find(':'); colon != std::string::npos) {
    u = user.substr(0, colon);
    g = user.substr(colon + 1);
  }
  if (u.empty()) u = "0";
  std::string passwd = readImageFile(lowerDirs, "etc/passwd");
  std::string group = readImageFile(lowerDirs, "etc/group");
  bool found = false;
  std::string userName;
  for (auto& line : split(passwd, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 7) continue;
    if (f[0] == u || (allDigits(u) && f[2] == u)) {
      auto uid = parseNumber<uint32_t>(f[2]), gid = parseNumber<uint32_t>(f[3]);
      if (!uid || !gid) continue;  // a corrupt line matches nobody
      out.uid = *uid;
      out.gid = *gid;
      out.home = f[5];
      userName = f[0];
      found = true;
      break;
    }
  }
  if (!found) {
    auto uid = allDigits(u) ? parseNumber<uint32_t>(u) : std::nullopt;
    if (!uid) return errorf(Code::Internal, "unable to find user {}: no matching entries in passwd file", u);
    out.uid = *uid;
    out.gid = 0;
  }
  if (!g.empty()) {
    bool gfound = false;
    for (auto& line : split(group, '\n')) {
      auto f = split(line, ':');
      if (f.size() < 3) continue;
      auto gid = parseNumber<uint32_t>(f[2]);
      if (gid && (f[0] == g || (allDigits(g) && f[2] == g))) {
        out.gid = *gid;
        gfound = true;
        break;
      }
    }
    if (!gfound) {
      auto gid = allDigits(g) ? parseNumber<uint32_t>(g) : std::nullopt;
      if (!gid) return errorf(Code::Internal, "unable to find group {}: no matching entries in group file", g);
      out.gid = *gid;
    }
  } else if (!userName.empty()) {
    // supplementary groups of a named user, as Docker does
    for (auto& line : split(group, '\n')) {
      auto f = split(line, ':');
      if (f.size() < 4) continue;
      for (auto& m : split(f[3], ','))
        if (auto gid = parseNumber<uint32_t>(f[2]); m == userName && gid) out.additionalGids.push_back(*gid);
    }
  }
  return out;
}

Result<> appendGroupAdd(ResolvedUser& user, const json& hc, const std::vector<std::string>& lowerDirs) {
  auto ga = hc.find("GroupAdd");
  if (ga == hc.end() || !ga->is_array()) return {};
  std::string groups = readImageFile(lowerDirs, "etc/group");
  for (const auto& g : *ga) {
    if (!g.is_string()) continue;
    TRY_ASSIGN(uint32_t gid, resolveGroup(g.get<std::string>(), groups));
    user.additionalGids.push_back(gid);
  }
  return {};
}

json processSpec(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& cwd,
                 const ResolvedUser& user, bool tty, int rows, int cols, const std::vector<std::string>& caps) {
  json p;
  p["terminal"] = tty;
  if (tty && rows > 0 && cols > 0) p["consoleSize"] = {{"height", rows}, {"width", cols}};
  p["user"] = {{"uid", user.uid}, {"gid", user.gid}};
  if (!user.additionalGids.empty()) p["user"]["additionalGids"] = user.additionalGids;
  p["args"] = argv;
  p["env"] = env;
  p["cwd"] = cwd.empty() ? "/" : cwd;
  p["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  p["noNewPrivileges"] = false;
  return p;
}

void inheritConfinement(json& proc, const json& spec, bool privilegedExec) {
  if (!spec.is_object()) return;
  if (auto p = spec.find("process"); p != spec.end() && p->is_object()) {
    if (auto c = p->find("capabilities"); c != p->end() && !privilegedExec) proc["capabilities"] = *c;
    if (auto n = p->find("noNewPrivileges"); n != p->end()) proc["noNewPrivileges"] = *n;
    if (auto r = p->find("rlimits"); r != p->end()) proc["rlimits"] = *r;
  }
  if (privilegedExec) {
    const auto& all = allCapabilityNames();
    proc["capabilities"] = {{"bounding", all}, {"effective", all}, {"permitted", all}};
  }
  if (auto l = spec.find("linux"); l != spec.end() && l->is_object())
    if (auto s = l->find("seccomp"); s != l->end()) proc["berthSeccomp"] = *s;
}

namespace {

// buildSpec; with seccompText, the default profile (when it applies) is
// left out as linux.seccomp = null and its cached text handed back instead.
Result<json> buildSpecDoc(const Container& c, const SpecPaths& paths,
                          std::shared_ptr<const std::string>* seccompText) {
  const json& cfg = c.config;
  const json& hc = c.hostConfig;
  std::string userStr = cfg.value("User", "");
  TRY_ASSIGN(ResolvedUser user, resolveUser(userStr, paths.lowerDirs));

  std::vector<std::string> argv;
  bool init = hc.contains("Init") && hc["Init"].is_boolean() && hc["Init"].get<bool>() && !paths.initBin.empty();
  if (init) argv = {"/dev/init", "--"};
  argv.push_back(c.path);
  for (auto& a : c.args) argv.push_back(a);
  std::vector<std::string> env = cfg.value("Env", std::vector<std::string>{});
  bool hasHome = false;
  for (auto& e : env)
    if (startsWith(e, "HOME=")) hasHome = true;
  if (!hasHome) env.push_back("HOME=" + user.home);
  bool tty = cfg.value("Tty", false);
  int rows = 0, cols = 0;
  if (hc.contains("ConsoleSize") && hc["ConsoleSize"].is_array() && hc["ConsoleSize"].size() == 2) {
    rows = hc["ConsoleSize"][0].get<int>();
    cols = hc["ConsoleSize"][1].get<int>();
  }
  bool privileged = hc.value("Privileged", false);
  TRY(appendGroupAdd(user, hc, paths.lowerDirs));
  TRY_ASSIGN(auto caps, effectiveCapabilities(hc));
  TRY_ASSIGN(auto sec, parseSecurityOptions(hc.value("SecurityOpt", json(nullptr))));

  json spec;
  spec["ociVersion"] = "1.0.2";
  spec["process"] = processSpec(argv, env, cfg.value("WorkingDir", ""), user, tty, rows, cols, caps);
  spec["process"]["noNewPrivileges"] = sec.noNewPrivileges;
  if (auto oom = hc.value("OomScoreAdj", 0); oom != 0) spec["process"]["oomScoreAdj"] = oom;
  {
    RlimitQuery q;
    q.canRaise = daemonCanRaiseRlimits();
    q.hostHard = hostHardLimit;
    TRY_ASSIGN(json rl, rlimitsFor(hc.value("Ulimits", json::array()), q));
    if (!rl.empty()) spec["process"]["rlimits"] = rl;
  }
  spec["root"] = {{"path", paths.bundleDir + "/merged"}, {"readonly", hc.value("ReadonlyRootfs", false)}};
  spec["hostname"] = cfg.value("Hostname", c.shortId());

  json mounts = json::array();
  mounts.push_back({{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"},
                    {"options", {"nosuid", "noexec", "nodev"}}});
  mounts.push_back({{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                    {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}});
  mounts.push_back({{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
                    {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}});
  int64_t shm = hc.value("ShmSize", int64_t(67108864));
  if (shm <= 0) shm = 67108864;
  mounts.push_back({{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"},
                    {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=" + std::to_string(shm)}}});
  mounts.push_back({{"destination", "/dev/mqueue"}, {"type", "mqueue"}, {"source", "mqueue"},
                    {"options", {"nosuid", "noexec", "nodev"}}});
  mounts.push_back({{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"},
                    {"options", {"nosuid", "noexec", "nodev", privileged ? "rw" : "ro"}}});
  // The container's own cgroup (runtime/mounts.cpp mountCgroupTree), as Docker mounts it.
  mounts.push_back({{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"}, {"source", "cgroup"},
                    {"options", {"nosuid", "noexec", "nodev", privileged ? "rw" : "ro"}}});
  for (const char* f : {"resolv.conf", "hostname", "hosts"}) {
    mounts.push_back({{"destination", std::string("/etc/") + f},
                      {"type", "bind"},
                      {"source", (paths.netFilesDir.empty() ? paths.bundleDir : paths.netFilesDir) + "/" + f},
                      {"options", {"rbind", "rprivate"}}});
  }
  appendUserMounts(mounts, c.mountPoints);
  if (init)
    mounts.push_back({{"destination", "/dev/init"},
                      {"type", "bind"},
                      {"source", paths.initBin},
                      {"options", {"bind", "ro", "nosuid", "nodev"}}});
  spec["mounts"] = mounts;
  // A bind with slave or shared propagation needs the container's mount
  // namespace to receive the host's mounts (as runc's rootfsPropagation).
  std::string rootProp;
  for (const auto& m : mounts)
    for (const auto& o : m.value("options", json::array())) {
      if (!o.is_string()) continue;
      std::string opt = o.get<std::string>();
      if (opt == "rshared" || opt == "shared") rootProp = "rshared";
      else if ((opt == "rslave" || opt == "slave") && rootProp.empty()) rootProp = "rslave";
    }

  std::string netMode = hc.value("NetworkMode", "default");
  bool hostPid = hc.value("PidMode", "") == "host", hostIpc = hc.value("IpcMode", "") == "host",
       hostUts = hc.value("UTSMode", "") == "host";
  json ns = json::array();
  auto addNs = [&](const char* type) {
    json n = {{"type", type}};
    if (auto it = paths.nsJoins.find(type); it != paths.nsJoins.end()) n["path"] = it->second;
    ns.push_back(std::move(n));
  };
  if (!hostPid) addNs("pid");
  if (!hostIpc) addNs("ipc");
  if (!hostUts) addNs("uts");
  else spec.erase("hostname");  // the host's name stays
  addNs("mount");
  if (netMode != "host") addNs("network");
  if (hc.value("CgroupnsMode", "") == "private") addNs("cgroup");
  json linux;
  linux["namespaces"] = ns;
  if (!rootProp.empty()) linux["rootfsPropagation"] = rootProp;
  std::string cgParent = hc.value("CgroupParent", "");
  if (cgParent.empty()) cgParent = paths.cgroupParent;
  linux["cgroupsPath"] = "/" + cgParent + "/" + c.id;
  json res = resourcesFor(hc);
  res["devices"] = defaultDeviceRules(privileged);
  TRY_ASSIGN(DeviceSpecs devs, hostDevices(hc.value("Devices", json::array())));
  for (auto& r : devs.rules) res["devices"].push_back(r);
  if (!devs.devices.empty()) linux["devices"] = devs.devices;
  linux["resources"] = res;
  if (auto sc = hc.find("Sysctls"); sc != hc.end() && sc->is_object() && !sc->empty()) {
    json sysctl = json::object();
    for (auto it = sc->begin(); it != sc->end(); ++it) {
      TRY(validateSysctl(it.key(), netMode == "host", hostIpc, hostUts));
      sysctl[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
    }
    linux["sysctl"] = sysctl;
  }
  if (!privileged && !sec.seccompUnconfined) {
    if (sec.seccompProfile.empty() && seccompText) {
      *seccompText = defaultSeccompTextForSpec(caps);
      linux["seccomp"] = nullptr;
    } else {
      auto seccomp = sec.seccompProfile.empty() ? Result<json>(defaultSeccompForSpec(caps))
                                                : seccompForSpec(sec.seccompProfile, caps);
      if (!seccomp) return std::unexpected(seccomp.error());
      linux["seccomp"] = std::move(*seccomp);
    }
  }
  if (!privileged) {
    // HostConfig.MaskedPaths / ReadonlyPaths replace the defaults when
    // given (an empty list: none), as dockerd does; privileged: none.
    auto given = [&](const char* key) { return hc.contains(key) && hc[key].is_array(); };
    linux["maskedPaths"] = given("MaskedPaths")
                               ? hc["MaskedPaths"]
                               : json{"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                                      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                                      "/sys/firmware", "/sys/devices/virtual/powercap"};
    linux["readonlyPaths"] = given("ReadonlyPaths")
                                 ? hc["ReadonlyPaths"]
                                 : json{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  }
  spec["linux"] = std::move(linux);

  std::string lower;
  for (auto& d : paths.lowerDirs) {
    if (!lower.empty()) lower += ":";
    lower += d;
  }
  spec["annotations"] = {{"berth.overlay.lowerdir", lower},
                         {"berth.overlay.upperdir", paths.bundleDir + "/upper"},
                         {"berth.overlay.workdir", paths.bundleDir + "/work"},
                         {"berth.stdin", cfg.value("OpenStdin", false) ? "1" : "0"}};
  // --rm: the upper dir goes with the container, a crash cannot lose
  // anything worth a sync (runtime/spec.h Overlay::volatileUpper).
  if (hc.value("AutoRemove", false)) spec["annotations"]["berth.overlay.volatile"] = "1";
  // HostConfig.Annotations (API 1.43) go to the runtime as dockerd passes
  // them; berth's own keys above cannot be overridden.
  if (auto a = hc.find("Annotations"); a != hc.end() && a->is_object())
    for (auto& [k, v] : a->items())
      if (v.is_string() && !spec["annotations"].contains(k)) spec["annotations"][k] = v;
  return spec;
}

}  // namespace

Result<json> buildSpec(const Container& c, const SpecPaths& paths) { return buildSpecDoc(c, paths, nullptr); }

Result<SpecText> buildSpecText(const Container& c, const SpecPaths& paths) {
  std::shared_ptr<const std::string> seccomp;
  TRY_ASSIGN(json doc, buildSpecDoc(c, paths, &seccomp));
  SpecText out;
  if (auto l = doc.find("linux"); l != doc.end() && l->is_object()) out.cgroupsPath = l->value("cgroupsPath", "");
  out.text = doc.dump();
  if (!seccomp) return out;
  // The one null member of that name (compact dump: no spaces; inside a
  // string its quotes would be escaped).
  static constexpr std::string_view kHole = "\"seccomp\":null";
  size_t at = out.text.find(kHole);
  if (at == std::string::npos || out.text.find(kHole, at + 1) != std::string::npos)
    return makeError(Code::Internal, "spec: no single linux.seccomp member to fill in");
  out.text.replace(at + kHole.size() - 4, 4, *seccomp);
  return out;
}

}  // namespace berth::container
