#include "cri/translate_container.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/number.h"
#include "common/sha256.h"
#include "common/util.h"
#include "container/mounts.h"
#include "container/namespaces.h"

namespace berth::cri {

using json = nlohmann::json;

namespace {

// Docker names: [a-zA-Z0-9][a-zA-Z0-9_.-]*; anything else becomes '-'.
std::string nameSafe(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) c = '-';
  return out;
}

const char* propagationOption(Propagation p) {
  switch (p) {
    case Propagation::HostToContainer:
      return "rslave";
    case Propagation::Bidirectional:
      return "rshared";
    case Propagation::Private:
      break;
  }
  return "rprivate";
}

Result<> checkMode(NamespaceMode m, const char* what) {
  switch (m) {
    case NamespaceMode::Pod:
    case NamespaceMode::Container:
    case NamespaceMode::Node:
    case NamespaceMode::Target:
      return {};
  }
  return errorf(Code::InvalidArgument, "unknown {} namespace mode {}", what, int(m));
}

// containerd's generateUserString: username, else uid, each with ":gid" when
// a group is given; a group alone is refused. "" = the image's user.
Result<std::string> userString(const SecurityContext& s) {
  std::string user;
  if (!s.runAsUsername.empty()) user = s.runAsUsername;
  else if (s.runAsUser) user = std::to_string(*s.runAsUser);
  if (s.runAsGroup) {
    if (user.empty())
      return errorf(Code::InvalidArgument, "user group \"{}\" is specified without user", *s.runAsGroup);
    user += ":" + std::to_string(*s.runAsGroup);
  }
  return user;
}

// The effective seccomp profile as containerd decides it: the typed field,
// else the deprecated path string, else none (unconfined).
Result<std::optional<SecurityProfile>> seccompProfile(const SecurityContext& s) {
  if (s.seccomp) return s.seccomp;
  const std::string& p = s.seccompProfilePath;
  if (p.empty()) return std::optional<SecurityProfile>{};
  if (p == "runtime/default" || p == "docker/default") return std::optional<SecurityProfile>{SecurityProfile{}};
  if (p == "unconfined") return std::optional<SecurityProfile>{SecurityProfile{SecurityProfile::Type::Unconfined, ""}};
  if (!startsWith(p, "localhost/")) return errorf(Code::InvalidArgument, "invalid profile \"{}\"", p);
  return std::optional<SecurityProfile>{SecurityProfile{SecurityProfile::Type::Localhost, p.substr(10)}};
}

Result<> addSeccomp(json& securityOpt, const SecurityContext& s) {
  TRY_ASSIGN(auto sp, seccompProfile(s));
  if (s.privileged) return {};  // privileged: no filter at all (Docker and containerd)
  if (!sp) {
    securityOpt.push_back("seccomp=unconfined");
    return {};
  }
  if (sp->type != SecurityProfile::Type::Localhost && !sp->localhostRef.empty())
    return makeError(Code::InvalidArgument,
                     "seccomp config invalid LocalhostRef must only be set if ProfileType is Localhost");
  switch (sp->type) {
    case SecurityProfile::Type::Unconfined:
      securityOpt.push_back("seccomp=unconfined");
      return {};
    case SecurityProfile::Type::RuntimeDefault:
      return {};  // berth's default profile (Docker's)
    case SecurityProfile::Type::Localhost: {
      std::string path = sp->localhostRef;
      if (startsWith(path, "localhost/")) path = path.substr(10);
      if (path.empty() || path[0] != '/')
        return errorf(Code::InvalidArgument, "seccomp profile path must be absolute: \"{}\"", path);
      auto text = readFile(path);
      if (!text) return errorf(Code::InvalidArgument, "cannot load seccomp profile \"{}\": {}", path, text.error().message);
      securityOpt.push_back("seccomp=" + *text);
      return {};
    }
  }
  return makeError(Code::InvalidArgument, "seccomp unknown ProfileType");
}

// No AppArmor on these hosts: containerd's answer when it is not enabled.
Result<> checkAppArmor(const SecurityContext& s) {
  std::optional<SecurityProfile> ap = s.apparmor;
  if (!ap && !s.apparmorProfile.empty()) {
    if (s.apparmorProfile == "unconfined") ap = SecurityProfile{SecurityProfile::Type::Unconfined, ""};
    else ap = SecurityProfile{};
  }
  if (ap && ap->type != SecurityProfile::Type::Unconfined)
    return makeError(Code::InvalidArgument, "apparmor is not supported");
  return {};
}

int64_t clampOom(int64_t adj, const HostLimits& limits) {
  return std::clamp<int64_t>(adj, limits.oomScoreAdjMin, 1000);
}

// Resources into HostConfig (create) or an update body: Docker's names.
void putResources(json& hc, const LinuxResources& r, const HostLimits& limits, bool forUpdate) {
  if (r.cpuPeriod) hc["CpuPeriod"] = r.cpuPeriod;
  if (r.cpuQuota) hc["CpuQuota"] = r.cpuQuota;
  if (r.cpuShares) hc["CpuShares"] = r.cpuShares;
  if (!r.cpusetCpus.empty()) hc["CpusetCpus"] = r.cpusetCpus;
  if (!r.cpusetMems.empty()) hc["CpusetMems"] = r.cpusetMems;
  if (r.memoryLimit) {
    hc["Memory"] = r.memoryLimit;
    // containerd: swap = memory (no swap) unless a swap limit is given;
    // Docker would default to twice the memory.
    hc["MemorySwap"] = r.memorySwapLimit ? r.memorySwapLimit : r.memoryLimit;
  } else if (r.memorySwapLimit) {
    hc["MemorySwap"] = r.memorySwapLimit;
  }
  if (!forUpdate) hc["OomScoreAdj"] = clampOom(r.oomScoreAdj, limits);
}

std::string labelOr(const json& labels, const char* key, const std::string& dflt = "") {
  auto it = labels.find(key);
  return it != labels.end() && it->is_string() ? it->get<std::string>() : dflt;
}

}  // namespace

HostLimits hostLimits() {
  HostLimits l;
  auto status = readFile("/proc/self/status");
  bool sysResource = false;
  if (status)
    for (const auto& line : split(*status, '\n'))
      if (startsWith(line, "CapEff:"))
        sysResource = parseNumber<uint64_t>(trim(line.substr(7)), 16).value_or(0) & (uint64_t(1) << 24);
  if (!sysResource) {
    auto own = readFile("/proc/self/oom_score_adj");
    if (own) l.oomScoreAdjMin = int(parseNumber<int>(trim(*own)).value_or(0));
  }
  return l;
}

std::string containerName(const ContainerSpec& spec, const PodContext& pod) {
  std::string full = "k8s_" + nameSafe(spec.name) + "_" + nameSafe(pod.name) + "_" + nameSafe(pod.ns) + "_" +
                     nameSafe(pod.uid) + "_" + std::to_string(spec.attempt);
  // Docker names stop at 255 characters: a longer one keeps its head and
  // gets a digest of the whole, so equal metadata still collide.
  constexpr size_t kMax = 200;
  if (full.size() <= kMax) return full;
  return full.substr(0, kMax - 17) + "_" + sha256Hex(full).substr(0, 16);
}

Result<CreatePlan> containerCreateBody(const ContainerSpec& spec, const PodContext& pod, const std::string& image,
                                       const HostLimits& limits) {
  if (spec.name.empty()) return makeError(Code::InvalidArgument, "container config must include metadata with a name");
  if (image.empty()) return makeError(Code::InvalidArgument, "container config must include an image");
  if (pod.sandboxId.empty()) return makeError(Code::InvalidArgument, "a pod sandbox id is required");
  const SecurityContext& sec = spec.security;
  if (sec.privileged && !pod.privileged)
    return makeError(Code::InvalidArgument, "no privileged container allowed in sandbox");
  TRY(checkMode(sec.network, "network"));
  TRY(checkMode(sec.pid, "pid"));
  TRY(checkMode(sec.ipc, "ipc"));
  TRY(checkAppArmor(sec));

  CreatePlan plan;
  plan.name = containerName(spec, pod);
  json& b = plan.body;
  b = json::object();
  b["Image"] = image;
  if (!spec.command.empty()) b["Entrypoint"] = spec.command;
  if (!spec.args.empty()) b["Cmd"] = spec.args;
  if (!spec.workingDir.empty()) b["WorkingDir"] = spec.workingDir;
  json env = json::array();
  if (!pod.hostname.empty()) env.push_back("HOSTNAME=" + pod.hostname);
  for (const auto& [k, v] : spec.envs) {
    if (k.empty()) return makeError(Code::InvalidArgument, "an environment variable needs a name");
    env.push_back(k + "=" + v);
  }
  b["Env"] = env;
  b["Tty"] = spec.tty;
  b["OpenStdin"] = spec.stdin;
  b["AttachStdin"] = spec.stdin;
  b["StdinOnce"] = spec.stdinOnce;
  TRY_ASSIGN(std::string user, userString(sec));
  if (!user.empty()) b["User"] = user;

  json labels = json::object();
  for (const auto& [k, v] : spec.labels) {
    if (startsWith(k, kLabelPrefix))
      return errorf(Code::InvalidArgument, "label {} is reserved for berth", k);
    labels[k] = v;
  }
  labels[std::string(container::kNamespaceLabel)] = std::string(container::kCriNamespace);
  labels[kLabelKind] = kKindContainer;
  labels[kLabelSandboxId] = pod.sandboxId;
  labels[kLabelName] = spec.name;
  labels[kLabelAttempt] = std::to_string(spec.attempt);
  labels[kLabelImage] = spec.image.empty() ? image : spec.image;

  json hc = json::object();
  // Logs: <log_directory>/<log_path> in the CRI format, written by the monitor.
  std::string logPath;
  if (!spec.logPath.empty()) {
    logPath = pod.logDirectory.empty() ? spec.logPath : pod.logDirectory + "/" + spec.logPath;
    if (logPath[0] != '/')
      return errorf(Code::InvalidArgument, "log path \"{}\" must be absolute (with the pod's log directory)", logPath);
    hc["LogConfig"] = {{"Type", "cri-log"}, {"Config", {{"path", logPath}}}};
  } else {
    hc["LogConfig"] = {{"Type", "none"}, {"Config", json::object()}};
  }
  labels[kLabelLogPath] = logPath;
  b["Labels"] = labels;

  json annotations = json::object();
  for (const auto& [k, v] : spec.annotations) annotations[k] = v;
  hc["Annotations"] = annotations;

  // The pod's namespaces: network and IPC of the sandbox (or the host's),
  // PID per pod / container / node / target.
  const std::string sandbox = "container:" + pod.sandboxId;
  bool hostNet = pod.hostNetwork || sec.network == NamespaceMode::Node;
  hc["NetworkMode"] = hostNet ? "host" : sandbox;
  if (hostNet) hc["UTSMode"] = "host";
  hc["IpcMode"] = sec.ipc == NamespaceMode::Node ? "host" : sandbox;
  switch (sec.pid) {
    case NamespaceMode::Pod:
      hc["PidMode"] = sandbox;
      break;
    case NamespaceMode::Container:
      break;
    case NamespaceMode::Node:
      hc["PidMode"] = "host";
      break;
    case NamespaceMode::Target:
      if (sec.targetId.empty()) return makeError(Code::InvalidArgument, "pid namespace TARGET needs a target_id");
      hc["PidMode"] = "container:" + sec.targetId;
      break;
  }
  std::string parent = pod.cgroupParent;
  while (!parent.empty() && parent[0] == '/') parent.erase(0, 1);
  if (!parent.empty()) hc["CgroupParent"] = parent;

  // Mounts: binds with the CRI's propagation; host paths must be absolute.
  json mounts = json::array();
  for (const auto& m : spec.mounts) {
    if (m.idMapped) return errorf(Code::InvalidArgument, "idmap mounts not yet supported, but they were requested for: \"{}\"", m.hostPath);
    if (m.recursiveReadOnly) return makeError(Code::InvalidArgument, "recursive read-only mounts are not supported");
    if (!m.image.empty()) return makeError(Code::InvalidArgument, "image volume mounts are not supported");
    if (m.containerPath.empty() || m.containerPath[0] != '/')
      return errorf(Code::InvalidArgument, "mount container path \"{}\" must be absolute", m.containerPath);
    if (m.hostPath.empty() || m.hostPath[0] != '/')
      return errorf(Code::InvalidArgument, "mount host path \"{}\" must be absolute", m.hostPath);
    mounts.push_back({{"Type", "bind"},
                      {"Source", m.hostPath},
                      {"Target", m.containerPath},
                      {"ReadOnly", m.readonly},
                      {"BindOptions", {{"Propagation", propagationOption(m.propagation)}}}});
  }
  if (!mounts.empty()) hc["Mounts"] = mounts;

  json devices = json::array();
  for (const auto& d : spec.devices) {
    if (d.hostPath.empty() || d.hostPath[0] != '/')
      return errorf(Code::InvalidArgument, "device host path \"{}\" must be absolute", d.hostPath);
    std::string ctr = d.containerPath.empty() ? d.hostPath : d.containerPath;
    devices.push_back({{"PathOnHost", d.hostPath},
                       {"PathInContainer", ctr},
                       {"CgroupPermissions", d.permissions.empty() ? "rwm" : d.permissions}});
  }
  if (!devices.empty()) hc["Devices"] = devices;

  if (spec.resources) putResources(hc, *spec.resources, limits, false);

  // Security context.
  hc["Privileged"] = sec.privileged;
  hc["ReadonlyRootfs"] = sec.readonlyRootfs;
  if (!sec.capAdd.empty()) hc["CapAdd"] = sec.capAdd;
  if (!sec.capDrop.empty()) hc["CapDrop"] = sec.capDrop;
  if (!sec.supplementalGroups.empty()) {
    json groups = json::array();
    for (int64_t g : sec.supplementalGroups) {
      if (g < 0) return errorf(Code::InvalidArgument, "supplemental group {} is negative", g);
      groups.push_back(std::to_string(g));
    }
    hc["GroupAdd"] = groups;
  }
  json securityOpt = json::array();
  if (sec.noNewPrivs) securityOpt.push_back("no-new-privileges");
  TRY(addSeccomp(securityOpt, sec));
  if (!securityOpt.empty()) hc["SecurityOpt"] = securityOpt;
  // containerd's defaults are no masked and no read-only paths; the
  // client's lists (kubelet sends its defaults) are taken as they are.
  hc["MaskedPaths"] = sec.maskedPaths;
  hc["ReadonlyPaths"] = sec.readonlyPaths;
  hc["RestartPolicy"] = {{"Name", "no"}, {"MaximumRetryCount", 0}};
  b["HostConfig"] = hc;
  return plan;
}

Result<> prepareHostPaths(const ContainerSpec& spec) {
  for (const auto& m : spec.mounts) {
    struct stat st;
    if (m.hostPath.empty() || ::stat(m.hostPath.c_str(), &st) == 0) continue;
    if (errno != ENOENT) return sysError(errno, "failed to stat \"{}\"", m.hostPath);
    if (auto r = mkdirAll(m.hostPath, 0755); !r) return std::unexpected(r.error().wrap("failed to mkdir host path"));
  }
  return {};
}

json resourcesUpdateBody(const LinuxResources& r, const HostLimits& limits) {
  json b = json::object();
  putResources(b, r, limits, true);
  return b;
}

bool isCriContainer(const container::Container& c) {
  return container::namespaceOf(c.config) == container::kCriNamespace &&
         labelOr(c.config.value("Labels", json::object()), kLabelKind) == kKindContainer;
}

Result<ContainerView> viewOf(const container::Container& c) {
  if (!isCriContainer(c)) return errorf(Code::NotFound, "No such container: {}", c.id);
  const json labels = c.config.value("Labels", json::object());
  const json& hc = c.hostConfig;
  ContainerView v;
  v.id = c.id;
  v.sandboxId = labelOr(labels, kLabelSandboxId);
  v.name = labelOr(labels, kLabelName);
  v.attempt = parseNumber<uint32_t>(labelOr(labels, kLabelAttempt, "0")).value_or(0);
  v.image = labelOr(labels, kLabelImage);
  v.imageRef = c.imageId;
  v.logPath = labelOr(labels, kLabelLogPath);
  for (const auto& [k, val] : labels.items())
    if (!startsWith(k, kLabelPrefix) && val.is_string()) v.labels[k] = val.get<std::string>();
  if (auto a = hc.find("Annotations"); a != hc.end() && a->is_object())
    for (const auto& [k, val] : a->items())
      if (val.is_string()) v.annotations[k] = val.get<std::string>();
  v.createdAt = c.created;
  const auto& st = c.state;
  switch (st.status) {
    case container::State::Created:
      v.state = CriState::Created;
      break;
    case container::State::Running:
    case container::State::Paused:
    case container::State::Restarting:
      v.state = CriState::Running;
      break;
    case container::State::Exited:
    case container::State::Dead:
      v.state = CriState::Exited;
      break;
    case container::State::Removing:
      v.state = CriState::Unknown;
      break;
  }
  v.startedAt = st.startedAt;
  v.finishedAt = v.state == CriState::Exited ? st.finishedAt : 0;
  // berthd stamps the start when the monitor's Started arrives, the exit
  // with the monitor's clock: a process that ends at once can look as if
  // it ended before it started. The CRI promises started <= finished.
  if (v.finishedAt > 0 && v.startedAt > v.finishedAt) v.startedAt = v.finishedAt;
  if (v.state == CriState::Exited) {
    v.exitCode = st.exitCode;
    v.reason = st.oomKilled ? "OOMKilled" : st.exitCode == 0 ? "Completed" : "Error";
    v.message = st.error;
  }
  for (const auto& mj : c.mountPoints) {
    auto mp = container::MountPoint::fromJson(mj);
    if (mp.type != "bind") continue;
    MountSpec m;
    m.containerPath = mp.destination;
    m.hostPath = mp.source;
    m.readonly = !mp.rw;
    if (mp.propagation == "rslave" || mp.propagation == "slave") m.propagation = Propagation::HostToContainer;
    else if (mp.propagation == "rshared" || mp.propagation == "shared") m.propagation = Propagation::Bidirectional;
    v.mounts.push_back(std::move(m));
  }
  auto num = [&](const char* k) { return hc.contains(k) && hc[k].is_number_integer() ? hc[k].get<int64_t>() : 0; };
  v.resources.cpuPeriod = num("CpuPeriod");
  v.resources.cpuQuota = num("CpuQuota");
  v.resources.cpuShares = num("CpuShares");
  v.resources.memoryLimit = num("Memory");
  v.resources.memorySwapLimit = num("MemorySwap");
  v.resources.oomScoreAdj = num("OomScoreAdj");
  v.resources.cpusetCpus = hc.value("CpusetCpus", "");
  v.resources.cpusetMems = hc.value("CpusetMems", "");
  std::string user = c.config.value("User", "");
  if (!user.empty()) {
    auto colon = user.find(':');
    if (auto uid = parseNumber<int64_t>(user.substr(0, colon))) v.uid = *uid;
    if (colon != std::string::npos)
      if (auto gid = parseNumber<int64_t>(user.substr(colon + 1))) v.gid = *gid;
  } else {
    v.uid = 0;
    v.gid = 0;
  }
  return v;
}

UsageSample usageFromDockerStats(const json& s) {
  UsageSample u;
  if (!s.is_object()) return u;
  if (auto t = parseRfc3339(s.value("read", ""))) u.timestamp = *t;
  auto num = [](const json& j, const char* k) -> uint64_t {
    auto it = j.find(k);
    return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>()
           : it != j.end() && it->is_number_integer() && it->get<int64_t>() > 0 ? uint64_t(it->get<int64_t>())
                                                                                 : 0;
  };
  json cpu = s.value("cpu_stats", json::object());
  if (cpu.is_object()) u.cpuNs = num(cpu.value("cpu_usage", json::object()), "total_usage");
  json mem = s.value("memory_stats", json::object());
  if (mem.is_object()) {
    u.memoryUsage = num(mem, "usage");
    json st = mem.value("stats", json::object());
    uint64_t inactive = 0;
    if (st.is_object()) inactive = st.contains("total_inactive_file") ? num(st, "total_inactive_file") : num(st, "inactive_file");
    u.workingSet = u.memoryUsage > inactive ? u.memoryUsage - inactive : 0;
  }
  return u;
}

namespace {

uint64_t inodesAt(int fd, dev_t dev) {
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return 0;
  }
  uint64_t n = 0;
  while (dirent* ent = ::readdir(d)) {
    if (!std::strcmp(ent->d_name, ".") || !std::strcmp(ent->d_name, "..")) continue;
    n++;
    struct stat st;
    if (::fstatat(::dirfd(d), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) || st.st_dev != dev)
      continue;
    int sub = ::openat(::dirfd(d), ent->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub >= 0) n += inodesAt(sub, dev);
  }
  ::closedir(d);
  return n;
}

}  // namespace

uint64_t countInodes(const std::string& dir) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  return 1 + inodesAt(fd, st.st_dev);
}

bool matches(const ContainerView& v, const ContainerFilter& f) {
  if (!f.id.empty() && v.id != f.id) return false;
  if (!f.sandboxId.empty() && v.sandboxId != f.sandboxId) return false;
  if (f.state && v.state != *f.state) return false;
  for (const auto& [k, val] : f.labelSelector) {
    auto it = v.labels.find(k);
    if (it == v.labels.end() || it->second != val) return false;
  }
  return true;
}

}  // namespace berth::cri
