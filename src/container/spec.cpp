#include "container/spec.h"

#include "common/util.h"
#include "container/mounts.h"

namespace berth::container {

using json = nlohmann::json;

const std::vector<std::string>& defaultCapabilities() {
  static const std::vector<std::string> caps = {
      "CAP_CHOWN",      "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER", "CAP_MKNOD",
      "CAP_NET_RAW",    "CAP_SETGID",       "CAP_SETUID",           "CAP_SETFCAP", "CAP_SETPCAP",
      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};
  return caps;
}

static const std::vector<std::string>& allCapabilities() {
  static const std::vector<std::string> caps = {
      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
      "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
      "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
      "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
      "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
      "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
      "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
      "CAP_CHECKPOINT_RESTORE"};
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
      out.uid = uint32_t(std::stoul(f[2]));
      out.gid = uint32_t(std::stoul(f[3]));
      out.home = f[5];
      userName = f[0];
      found = true;
      break;
    }
  }
  if (!found) {
    if (!allDigits(u)) return errorf(Code::Internal, "unable to find user {}: no matching entries in passwd file", u);
    out.uid = uint32_t(std::stoul(u));
    out.gid = 0;
  }
  if (!g.empty()) {
    bool gfound = false;
    for (auto& line : split(group, '\n')) {
      auto f = split(line, ':');
      if (f.size() < 3) continue;
      if (f[0] == g || (allDigits(g) && f[2] == g)) {
        out.gid = uint32_t(std::stoul(f[2]));
        gfound = true;
        break;
      }
    }
    if (!gfound) {
      if (!allDigits(g)) return errorf(Code::Internal, "unable to find group {}: no matching entries in group file", g);
      out.gid = uint32_t(std::stoul(g));
    }
  } else if (!userName.empty()) {
    // supplementary groups of a named user, as Docker does
    for (auto& line : split(group, '\n')) {
      auto f = split(line, ':');
      if (f.size() < 4) continue;
      for (auto& m : split(f[3], ','))
        if (m == userName && allDigits(f[2])) out.additionalGids.push_back(uint32_t(std::stoul(f[2])));
    }
  }
  return out;
}

json processSpec(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& cwd,
                 const ResolvedUser& user, bool tty, int rows, int cols, bool privileged) {
  const auto& caps = privileged ? allCapabilities() : defaultCapabilities();
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

Result<json> buildSpec(const Container& c, const SpecPaths& paths) {
  const json& cfg = c.config;
  const json& hc = c.hostConfig;
  std::string userStr = cfg.value("User", "");
  TRY_ASSIGN(ResolvedUser user, resolveUser(userStr, paths.lowerDirs));

  std::vector<std::string> argv;
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

  json spec;
  spec["ociVersion"] = "1.0.2";
  spec["process"] = processSpec(argv, env, cfg.value("WorkingDir", ""), user, tty, rows, cols, privileged);
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
                    {"options", {"nosuid", "noexec", "nodev", "ro"}}});
  for (const char* f : {"resolv.conf", "hostname", "hosts"}) {
    mounts.push_back({{"destination", std::string("/etc/") + f},
                      {"type", "bind"},
                      {"source", paths.bundleDir + "/" + f},
                      {"options", {"rbind", "rprivate"}}});
  }
  appendUserMounts(mounts, c.mountPoints);
  spec["mounts"] = mounts;

  json ns = json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}});
  std::string netMode = hc.value("NetworkMode", "default");
  if (netMode != "host") ns.push_back({{"type", "network"}});
  json linux;
  linux["namespaces"] = ns;
  linux["cgroupsPath"] = "/" + paths.cgroupParent + "/" + c.id;
  json res = json::object();
  if (int64_t mem = hc.value("Memory", int64_t(0)); mem > 0) {
    res["memory"]["limit"] = mem;
    if (int64_t swap = hc.value("MemorySwap", int64_t(0)); swap != 0) res["memory"]["swap"] = swap;
  }
  if (int64_t nano = hc.value("NanoCpus", int64_t(0)); nano > 0) {
    res["cpu"]["period"] = 100000;
    res["cpu"]["quota"] = nano / 10000;
  }
  if (int64_t shares = hc.value("CpuShares", int64_t(0)); shares > 0) res["cpu"]["shares"] = shares;
  if (hc.contains("PidsLimit") && hc["PidsLimit"].is_number_integer() && hc["PidsLimit"].get<int64_t>() > 0)
    res["pids"]["limit"] = hc["PidsLimit"].get<int64_t>();
  linux["resources"] = res;
  if (!privileged) {
    linux["maskedPaths"] = {"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                            "/sys/firmware", "/sys/devices/virtual/powercap"};
    linux["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  }
  spec["linux"] = linux;

  std::string lower;
  for (auto& d : paths.lowerDirs) {
    if (!lower.empty()) lower += ":";
    lower += d;
  }
  spec["annotations"] = {{"berth.overlay.lowerdir", lower},
                         {"berth.overlay.upperdir", paths.bundleDir + "/upper"},
                         {"berth.overlay.workdir", paths.bundleDir + "/work"},
                         {"berth.stdin", cfg.value("OpenStdin", false) ? "1" : "0"}};
  return spec;
}

}  // namespace berth::container
