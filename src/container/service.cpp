#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <cstring>
#include <tuple>

#include "common/error_status.h"
#include "common/log.h"
#include "common/number.h"
#include "common/trace.h"
#include "common/until.h"
#include "common/util.h"
#include "container/cgroup_info.h"
#include "container/health.h"
#include "container/log_opts.h"
#include "container/mounts.h"
#include "container/namespaces.h"
#include "container/security.h"
#include "container/service_impl.h"
#include "container/spec.h"
#include "monitor/lock.h"
#include "runtime/stage.h"

namespace berth::container {

using json = nlohmann::json;
using monitor::MsgType;

Result<int> parseSignal(const std::string& raw) {
  static const std::pair<const char*, int> kSignals[] = {
      {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},     {"TRAP", SIGTRAP},
      {"ABRT", SIGABRT}, {"IOT", SIGIOT},     {"BUS", SIGBUS},   {"FPE", SIGFPE},     {"KILL", SIGKILL},
      {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
      {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
      {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU},
      {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
      {"POLL", SIGPOLL}, {"PWR", SIGPWR},     {"SYS", SIGSYS}};
  std::string s = raw;
  for (auto& ch : s) ch = char(toupper((unsigned char)ch));
  if (s.empty()) return SIGKILL;
  if (isdigit((unsigned char)s[0])) {
    if (auto n = parseNumber<int>(s); n && *n > 0 && *n < 65) return *n;
    return errorf(Code::InvalidArgument, "Invalid signal: {}", raw);
  }
  if (startsWith(s, "SIG")) s = s.substr(3);
  for (auto& [name, num] : kSignals)
    if (s == name) return num;
  if (startsWith(s, "RTMIN")) {
    int off = 0;
    if (s.size() > 5) off = numberOr<int>(std::string_view(s).substr(5), 0);
    return SIGRTMIN + off;
  }
  return errorf(Code::InvalidArgument, "Invalid signal: {}", raw);
}

namespace {

// Whether a restart after berthd restarts depends on State.StoppedByUser
// (restartOnDaemonStart): only then must a stop or kill save it before
// the signal; otherwise the exit's save records it.
bool stopMarkMatters(const json& hostConfig) {
  auto p = RestartPolicy::fromJson(hostConfig.value("RestartPolicy", json::object()));
  return p && (p->kind == RestartPolicy::Kind::UnlessStopped || p->kind == RestartPolicy::Kind::OnFailure);
}

}  // namespace

std::unique_ptr<Service> makeService(ServiceConfig cfg, ContainerStore& store, image::ImageService& images,
                                     EmitFn emit, volume::Service* volumes, network::Service* networks) {
  return std::make_unique<ServiceImpl>(std::move(cfg), store, images, std::move(emit), volumes, networks);
}

ServiceImpl::ServiceImpl(ServiceConfig cfg, ContainerStore& store, image::ImageService& images, EmitFn emit,
                         volume::Service* volumes, network::Service* networks)
    : cfg_(std::move(cfg)),
      store_(store),
      images_(images),
      emit_(std::move(emit)),
      volumes_(volumes),
      networks_(networks) {}

ServiceImpl::~ServiceImpl() { shutdown(); }

std::shared_ptr<Entry> ServiceImpl::findLocked(const std::string& refIn) {
  std::string ref = refIn;
  if (!ref.empty() && ref[0] == '/') ref = ref.substr(1);
  if (ref.empty()) return nullptr;
  if (auto it = byId_.find(ref); it != byId_.end() && !it->second->removed) return it->second;
  for (auto& [id, e] : byId_)
    if (!e->removed && e->c.name == ref) return e;
  std::shared_ptr<Entry> found;
  for (auto& [id, e] : byId_) {
    if (!e->removed && startsWith(id, ref)) {
      if (found) return nullptr;  // ambiguous
      found = e;
    }
  }
  return found;
}

Result<std::shared_ptr<Entry>> ServiceImpl::getLocked(const std::string& ref) {
  auto e = findLocked(ref);
  if (!e) return errorf(Code::NotFound, "No such container: {}", ref);
  return e;
}

Result<std::string> ServiceImpl::resolveId(const std::string& ref) {
  std::lock_guard lk(mu_);
  TRY_ASSIGN(auto e, getLocked(ref));
  return e->c.id;
}

Result<> ServiceImpl::saveLocked(Entry& e) { return store_.save(e.c); }

void ServiceImpl::recordLocked(Entry& e, State to) {
  if (auto r = transition(e.c.state, to); !r) log::error("container {}: {}", e.c.shortId(), r.error().message);
}

json ServiceImpl::eventAttrs(const Entry& e, json extra) {
  json a = json::object();
  if (e.c.config.contains("Labels") && e.c.config["Labels"].is_object())
    for (auto& [k, v] : e.c.config["Labels"].items())
      if (v.is_string()) a[k] = v;
  a["image"] = e.c.config.value("Image", e.c.imageId);
  a["name"] = e.c.name;
  for (auto& [k, v] : extra.items()) a[k] = v;
  return a;
}

std::string ServiceImpl::generateName() {
  static const char* kLeft[] = {"admiring", "brave", "clever", "dazzling", "eager", "festive", "gallant",
                                "happy", "jolly", "keen", "lucid", "modest", "nifty", "quirky", "serene",
                                "trusting", "upbeat", "vibrant", "wizardly", "zealous"};
  static const char* kRight[] = {"albattani", "bohr", "curie", "darwin", "euler", "fermi", "galileo",
                                 "hopper", "jennings", "kepler", "lovelace", "meitner", "noether", "pascal",
                                 "ritchie", "shannon", "turing", "volhard", "wozniak", "yonath"};
  for (int attempt = 0;; attempt++) {
    std::string id = randomHexId();
    // id is 64 hex digits: its first bytes pick the words.
    auto hexAt = [&](size_t pos, size_t n) { return parseNumber<unsigned>(id.substr(pos, n), 16).value_or(0); };
    std::string name = std::string(kLeft[hexAt(0, 4) % 20]) + "_" + kRight[hexAt(4, 4) % 20];
    if (attempt > 5) name += std::to_string(hexAt(8, 2));
    if (!findLocked(name)) return name;
  }
}

namespace {

// Image env first; the container's entries override by key.
std::vector<std::string> mergeEnv(const json& imageEnv, const json& env) {
  std::vector<std::string> out;
  auto keyOf = [](const std::string& s) { return s.substr(0, s.find('=')); };
  if (imageEnv.is_array())
    for (auto& v : imageEnv)
      if (v.is_string()) out.push_back(v.get<std::string>());
  if (env.is_array()) {
    for (auto& v : env) {
      if (!v.is_string()) continue;
      std::string s = v.get<std::string>();
      bool replaced = false;
      for (auto& o : out)
        if (keyOf(o) == keyOf(s)) {
          o = s;
          replaced = true;
        }
      if (!replaced) out.push_back(s);
    }
  }
  return out;
}

bool isNullOrEmpty(const json& j) { return j.is_null() || (j.is_array() && j.empty()); }

// Longest container name berthd accepts (dockerd has no bound; docs/security.md).
constexpr size_t kMaxContainerNameLength = 255;

// ^/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$ (dockerd's), by hand: linear whatever the
// input; the caller bounds the length.
bool validContainerName(std::string_view name) {
  if (!name.empty() && name[0] == '/') name.remove_prefix(1);
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); i++) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return false;
  }
  return true;
}

Result<> checkContainerName(const std::string& name) {
  if (name.size() > kMaxContainerNameLength)
    return errorf(Code::InvalidArgument, "Invalid container name ({}...): {} characters, at most {} are allowed",
                  name.substr(0, 32), name.size(), kMaxContainerNameLength);
  if (!validContainerName(name))
    return errorf(Code::InvalidArgument, "Invalid container name ({}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
  return {};
}

}  // namespace

Result<CreateResult> ServiceImpl::create(const CreateRequest& req) {
  const int64_t tCreate = trace::on() ? trace::now() : 0;
  const std::string& nameIn = req.name;
  const json& body = req.body;
  if (!body.is_object()) return makeError(Code::InvalidArgument, "config cannot be empty in order to create a container");
  std::string imageRef = body.value("Image", "");
  if (imageRef.empty()) return makeError(Code::InvalidArgument, "No image specified (Image field is empty)");
  auto img = images_.resolve(imageRef);
  if (!img) {
    if (img.error().code == Code::NotFound) return errorf(Code::NotFound, "No such image: {}", imageRef);
    return std::unexpected(img.error());
  }
  const json icfg = img->config.value("config", json::object());

  Container c;
  // A spare bundle directory's id when one is ready (prepareBundle renames it).
  SpareBundle spare = req.id.empty() ? takeSpareBundle() : SpareBundle{};
  ScopeExit spareBack([&] {
    if (!spare.id.empty()) returnSpareBundle(std::move(spare));
  });
  c.id = !req.id.empty() ? req.id : !spare.id.empty() ? spare.id : randomHexId();
  if (!req.id.empty() &&
      (req.id.size() != 64 || req.id.find_first_not_of("0123456789abcdef") != std::string::npos))
    return errorf(Code::InvalidArgument, "invalid container id {:?}", req.id);
  c.imageId = img->id;
  c.created = nowNanos();

  json cfg = json::object();
  for (auto& [k, v] : body.items())
    if (k != "HostConfig" && k != "NetworkingConfig") cfg[k] = v;
  cfg["Image"] = imageRef;
  cfg["Env"] = mergeEnv(icfg.value("Env", json::array()), body.value("Env", json::array()));
  bool hasPath = false;
  for (auto& v : cfg["Env"])
    if (startsWith(v.get<std::string>(), "PATH=")) hasPath = true;
  if (!hasPath) cfg["Env"].insert(cfg["Env"].begin(), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  json entry = body.contains("Entrypoint") ? body["Entrypoint"] : json(nullptr);
  json cmd = body.contains("Cmd") ? body["Cmd"] : json(nullptr);
  if (entry.is_string()) entry = json::array({entry});
  if (cmd.is_string()) cmd = json::array({cmd});
  if (isNullOrEmpty(entry)) {
    entry = icfg.value("Entrypoint", json(nullptr));
    if (isNullOrEmpty(cmd)) cmd = icfg.value("Cmd", json(nullptr));
  } else if (entry.is_array() && entry.size() == 1 && entry[0] == "") {
    entry = nullptr;  // --entrypoint "" resets the image's entrypoint
  }
  cfg["Entrypoint"] = entry;
  cfg["Cmd"] = cmd;
  std::vector<std::string> argv;
  for (auto* part : {&entry, &cmd})
    if (part->is_array())
      for (auto& a : *part)
        if (a.is_string()) argv.push_back(a.get<std::string>());
  if (argv.empty()) return makeError(Code::InvalidArgument, "No command specified");
  c.path = argv[0];
  c.args.assign(argv.begin() + 1, argv.end());
  if (cfg.value("WorkingDir", "").empty()) cfg["WorkingDir"] = icfg.value("WorkingDir", "");
  if (cfg.value("User", "").empty()) cfg["User"] = icfg.value("User", "");
  if (cfg.value("Hostname", "").empty()) cfg["Hostname"] = c.shortId();
  if (!cfg.contains("Domainname")) cfg["Domainname"] = "";
  json labels = icfg.value("Labels", json::object());
  if (!labels.is_object()) labels = json::object();
  if (body.contains("Labels") && body["Labels"].is_object())
    for (auto& [k, v] : body["Labels"].items()) labels[k] = v;
  cfg["Labels"] = labels;
  if (!cfg.contains("StopSignal") && icfg.contains("StopSignal")) cfg["StopSignal"] = icfg["StopSignal"];
  if (json h = mergeHealthcheck(body.value("Healthcheck", json(nullptr)), icfg.value("Healthcheck", json(nullptr)));
      !h.is_null())
    cfg["Healthcheck"] = h;
  for (const char* k : {"AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce"})
    if (!cfg.contains(k) || !cfg[k].is_boolean()) cfg[k] = false;
  if (!cfg.contains("Volumes") || cfg["Volumes"].is_null()) cfg["Volumes"] = icfg.value("Volumes", json(nullptr));
  if (!cfg.contains("OnBuild")) cfg["OnBuild"] = nullptr;
  c.config = cfg;

  json hc = body.value("HostConfig", json::object());
  if (!hc.is_object()) hc = json::object();
  auto dflt = [&](const char* k, json v) {
    if (!hc.contains(k) || hc[k].is_null() || (hc[k].is_string() && hc[k].get<std::string>().empty()))
      hc[k] = std::move(v);
  };
  hc["LogConfig"] = mergeLogConfig(hc.value("LogConfig", json::object()), cfg_.logDriver, cfg_.logOpts);
  dflt("IpcMode", "private");
  dflt("CgroupnsMode", "host");
  if (std::string m = hc["CgroupnsMode"].is_string() ? hc["CgroupnsMode"].get<std::string>() : std::string();
      m != "host" && m != "private")
    return errorf(Code::InvalidArgument, "invalid cgroup namespace mode: {}", m);
  dflt("Runtime", "berth");
  if (std::string rt = hc["Runtime"].is_string() ? hc["Runtime"].get<std::string>() : std::string();
      rt != "berth" && !cfg_.runtimes.count(rt))
    return errorf(Code::InvalidArgument, "unknown or invalid runtime name: {}", rt);
  if (hc.value("ShmSize", int64_t(0)) <= 0) hc["ShmSize"] = 67108864;
  if (!hc.contains("RestartPolicy") || !hc["RestartPolicy"].is_object() ||
      hc["RestartPolicy"].value("Name", "").empty())
    hc["RestartPolicy"] = {{"Name", "no"}, {"MaximumRetryCount", 0}};
  TRY_ASSIGN(auto policy, RestartPolicy::fromJson(hc["RestartPolicy"]));
  TRY_ASSIGN(auto logLimits, jsonFileLimits(hc["LogConfig"]));
  if (logLimits.driver == "cri-log" && namespaceOf(cfg) != kCriNamespace)
    return makeError(Code::InvalidArgument, "logger: no log driver named 'cri-log' is registered");
  if (policy.kind != RestartPolicy::Kind::No && hc.value("AutoRemove", false))
    return makeError(Code::InvalidArgument, "can't create 'AutoRemove' container with restart policy");
  // Networks: NetworkMode and EndpointsConfig resolved and checked; the
  // intent is kept with the record. A container:X donor is looked up at
  // start, as dockerd does.
  std::vector<std::string> warnings;
  LinkLookup lookup = [this](const std::string& ref) -> std::optional<LinkTarget> {
    std::lock_guard g(mu_);
    auto l = findLocked(ref);
    if (!l) return std::nullopt;
    return LinkTarget{l->c.id, l->c.name, l->c.config.value("Env", json::array()),
                      l->c.config.value("ExposedPorts", json(nullptr))};
  };
  TRY_ASSIGN(c.networks, planNetworks(cfg, !body.value("Hostname", "").empty(), hc,
                                      body.value("NetworkingConfig", json::object()), networks_, lookup, warnings));
  // Counted once, as dockerd's runtime.NumCPU() is (sysconf reads a file each time).
  static const int onlineCpus = int(::sysconf(_SC_NPROCESSORS_ONLN));
  TRY(validateHostConfig(hc, onlineCpus));
  TRY(checkNetnsJoin(hc.value("NetworkMode", ""), req.netnsPath));
  c.netnsPath = req.netnsPath;
  c.hostConfig = hc;
  std::vector<std::string> createdVolumes;
  TRY_ASSIGN(c.mountPoints, resolveMounts(hc, cfg["Volumes"], icfg.value("Volumes", json(nullptr)), createdVolumes));
  // A warm start (docs/monitor.md) begins now, beside the rest of the
  // create: its spec is built while the directory and the record are
  // written; the monitor waits for the record (warmGo), or for nothing.
  std::shared_ptr<WarmGo> warmGo = req.warm && warmable(c) ? warmUpEarly(c) : nullptr;
  ScopeExit noWarm([&] {
    if (warmGo) warmGo->committed.set_value(nullptr);
  });
  ScopeExit dropVolumes([&] {
    for (auto& v : createdVolumes) (void)volumes_->remove(v, true);
  });
  // The bundle directory is the new id's alone: made before mu_, so
  // concurrent creates do not queue behind each other's file writes.
  auto e = std::make_shared<Entry>();
  e->c = std::move(c);
  const int64_t tFiles = tCreate ? trace::now() : 0;
  if (!req.id.empty()) {
    // A caller's id: prepareBundle's mkdir of its directory reserves it.
    std::lock_guard g(mu_);
    if (byId_.count(req.id)) return errorf(Code::Conflict, "container id {} is already in use", req.id);
  }
  spareBack.dismiss();
  auto prepared = prepareBundle(*e, spare);
  if (req.id.empty()) refillSpareBundles();
  TRY(std::move(prepared));
  ScopeExit dropBundle([&] { (void)removeAll(dirOf(e->c.id)); });

  const int64_t tLock = tCreate ? trace::now() : 0;
  std::unique_lock lk(mu_);
  std::string name = nameIn;
  if (!name.empty()) {
    TRY(checkContainerName(name));
    if (name[0] == '/') name = name.substr(1);
    for (auto& [id, other] : byId_)
      if (!other->removed && other->c.name == name)
        return errorf(Code::Conflict,
                      "Conflict. The container name \"/{}\" is already in use by container \"{}\". You have to "
                      "remove (or rename) that container to be able to reuse that name.",
                      name, id);
  } else {
    name = generateName();
  }
  Container& c2 = e->c;
  c2.name = name;
  // HostConfig.Links as dockerd stores them: "/linked:/container/alias".
  if (c2.hostConfig.contains("Links") && c2.hostConfig["Links"].is_array()) {
    json links = json::array();
    for (auto& l : c2.hostConfig["Links"]) {
      auto pl = l.is_string() ? parseLink(l.get<std::string>()) : std::nullopt;
      if (!pl) continue;
      auto target = findLocked(pl->first);
      links.push_back("/" + (target ? target->c.name : pl->first) + ":/" + name + "/" + pl->second);
    }
    c2.hostConfig["Links"] = links;
  }
  const int64_t tDb = tCreate ? trace::now() : 0;
  TRY(saveLocked(*e));
  if (tCreate) {
    int64_t t = trace::now();
    trace::record(e->c.id, "create: config, mounts", tCreate, tFiles);
    trace::record(e->c.id, "create: dirs and files", tFiles, tLock);
    trace::record(e->c.id, "create: name, lock", tLock, tDb);
    trace::record(e->c.id, "create: database write", tDb, t);
  }
  byId_[e->c.id] = e;
  dropVolumes.dismiss();
  dropBundle.dismiss();
  if (warmGo) {
    bool warm = warmSlotLocked(*e);
    e->warming = warm;
    warmGo->committed.set_value(warm ? e : nullptr);
    warmGo.reset();
  }
  std::string id = e->c.id;
  json attrs = eventAttrs(*e);
  lk.unlock();
  for (auto& v : createdVolumes) emit_("volume", "create", v, {{"driver", "local"}});
  emit_("container", "create", id, attrs);
  return CreateResult{id, warnings};
}

std::string ServiceImpl::logPathOf(const Container& c) const {
  auto lim = jsonFileLimits(c.hostConfig.value("LogConfig", json::object()));
  if (lim && lim->driver == "local") return dirOf(c.id) + "/local-logs/container.log";
  if (lim && lim->driver == "none") return "";
  if (lim && lim->driver == "cri-log") return lim->path;
  return dirOf(c.id) + "/" + c.id + "-json.log";
}

namespace {

// The whole of data to fd (opened by the caller: an error is its open's).
Result<> writeToAt(const UniqueFd& fd, const std::string& dir, const char* name, std::string_view data) {
  if (!fd) return sysError(errno, "open {}/{}", dir, name);
  while (!data.empty()) {
    ssize_t n = ::write(fd.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sysError(errno, "write {}/{}", dir, name);
    data.remove_prefix(size_t(n));
  }
  return {};
}

// Writes a file that must not exist yet, in place: no temporary name and
// no rename (a crash leaves a directory without a record, which the
// start-up check removes: docs/crash-safety.md).
Result<> writeNewFileAt(int dirFd, const std::string& dir, const char* name, std::string_view data) {
  return writeToAt(UniqueFd(::openat(dirFd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)), dir, name, data);
}

// The parts of a bundle directory that do not depend on the container:
// upper (0755: the container's root directory, as in the image), work and
// merged, and hosts. dfd: the new, empty directory.
Result<> makeBundleSkeleton(int dfd, const std::string& dir) {
  for (auto [sub, mode] : {std::pair{"upper", 0755}, std::pair{"work", 0700}, std::pair{"merged", 0700}}) {
    if (::mkdirat(dfd, sub, 0700) != 0) return sysError(errno, "mkdir {}/{}", dir, sub);
    // mkdir's mode goes through the umask.
    if (mode != 0700 && ::fchmodat(dfd, sub, mode, 0) != 0) return sysError(errno, "chmod {}/{}", dir, sub);
  }
  static constexpr std::string_view kHosts =
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
      "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";
  return writeNewFileAt(dfd, dir, "hosts", kHosts);
}

// The host's /etc/resolv.conf as it is now (device, inode, size, mtime):
// a copy made under the same stamp is still its content. "" when unknown.
std::string resolvConfStamp() {
  struct stat st;
  if (::stat("/etc/resolv.conf", &st) != 0) return "";
  return fmt::format("{}:{}:{}:{}.{}", st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

// An existing file of the bundle written anew (a spare's that does not fit).
Result<> rewriteFileAt(int dirFd, const std::string& dir, const char* name, std::string_view data) {
  return writeToAt(UniqueFd(::openat(dirFd, name, O_WRONLY | O_TRUNC | O_CLOEXEC)), dir, name, data);
}

}  // namespace

ServiceImpl::SpareBundle ServiceImpl::takeSpareBundle() {
  std::lock_guard g(spareMu_);
  if (spareBundles_.empty()) return {};
  SpareBundle b = std::move(spareBundles_.back());
  spareBundles_.pop_back();
  return b;
}

void ServiceImpl::returnSpareBundle(SpareBundle b) {
  std::lock_guard g(spareMu_);
  spareBundles_.push_back(std::move(b));
}

void ServiceImpl::refillSpareBundles() {
  {
    std::lock_guard g(spareMu_);
    if (spareStopped_ || spareRefillPosted_ || spareBundles_.size() >= kSpareBundles) return;
    spareRefillPosted_ = true;
  }
  background_.post([this] {
    const std::string root = cfg_.dataRoot + "/containers";
    for (;;) {
      {
        std::lock_guard g(spareMu_);
        if (spareStopped_ || spareBundles_.size() >= kSpareBundles) {
          spareRefillPosted_ = false;
          return;
        }
      }
      SpareBundle b{randomHexId(), resolvConfStamp()};
      std::string dir = root + "/" + std::string(kSpareBundlePrefix) + b.id;
      Result<> made = ::mkdir(dir.c_str(), 0700) == 0 ? Result<>() : sysError(errno, "mkdir {}", dir);
      if (made) {
        // Also what a create usually writes: the default hostname (the
        // short id) and the host's resolv.conf, read after its stamp.
        UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        made = dfd ? makeBundleSkeleton(dfd.get(), dir) : sysError(errno, "open {}", dir);
        if (made) made = writeNewFileAt(dfd.get(), dir, "hostname", b.id.substr(0, 12) + "\n");
        if (made) made = writeNewFileAt(dfd.get(), dir, "resolv.conf", readFile("/etc/resolv.conf").value_or(""));
      }
      std::lock_guard g(spareMu_);
      if (!made || spareStopped_) {
        // Nothing is retried until the next create; a failure is the
        // create's own path again (a full disk says so there).
        if (!made) log::debug("spare bundle: {}", made.error().message);
        (void)removeAll(dir);
        spareRefillPosted_ = false;
        return;
      }
      spareBundles_.push_back(std::move(b));
    }
  });
}

Result<> ServiceImpl::prepareBundle(Entry& e, const SpareBundle& spareBundle) {
  const std::string& spareId = spareBundle.id;
  // A new id's directory: made here and nowhere else, so every entry is
  // new and written in place, relative to the directory's fd. A spare
  // bundle (refillSpareBundles) already holds what does not depend on
  // the container.
  std::string dir = dirOf(e.c.id);
  const std::string spareDir = cfg_.dataRoot + "/containers/" + std::string(kSpareBundlePrefix) + spareId;
  bool spare = !spareId.empty() && ::rename(spareDir.c_str(), dir.c_str()) == 0;
  if (!spareId.empty() && !spare) (void)removeAll(spareDir);  // whatever is left of it
  int made = spare ? 0 : ::mkdir(dir.c_str(), 0700);
  if (made != 0 && errno == ENOENT) {
    TRY(mkdirAll(cfg_.dataRoot + "/containers", 0711));  // a data-root berthd's main did not prepare
    made = ::mkdir(dir.c_str(), 0700);
  }
  if (made != 0) {
    // Only a caller's id (CreateRequest::id) can be taken: a leftover
    // directory stays as it is.
    if (errno == EEXIST) return errorf(Code::Conflict, "container id {} is already in use", e.c.id);
    return sysError(errno, "mkdir {}", dir);
  }
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) return sysError(errno, "open {}", dir);
  std::string hostname = e.c.config.value("Hostname", e.c.shortId());
  if (spare) {
    // Its hostname and resolv.conf stay when they are this container's.
    if (hostname != e.c.shortId()) TRY(rewriteFileAt(dfd.get(), dir, "hostname", hostname + "\n"));
    if (spareBundle.resolvStamp.empty() || resolvConfStamp() != spareBundle.resolvStamp)
      TRY(rewriteFileAt(dfd.get(), dir, "resolv.conf", readFile("/etc/resolv.conf").value_or("")));
    return {};
  }
  TRY(makeBundleSkeleton(dfd.get(), dir));
  TRY(writeNewFileAt(dfd.get(), dir, "hostname", hostname + "\n"));
  auto resolv = readFile("/etc/resolv.conf");
  TRY(writeNewFileAt(dfd.get(), dir, "resolv.conf", resolv ? *resolv : std::string("")));
  return {};
}

namespace {

// The monitor lock for a start: Conflict when a monitor still holds it.
Result<UniqueFd> lockForStart(const std::string& dir) {
  // A monitor that has just sent Exit drops the lock before its sockets
  // close, so a held lock here is a monitor berthd does not know as running.
  // Wait a little anyway: the check below is the last word on duplicates.
  for (int waited = 0;; waited += 5) {
    auto l = monitor::tryLock(dir);
    if (l || l.error().code != Code::Conflict) return l;
    if (waited >= 2000) {
      pid_t owner = monitor::lockOwner(dir);
      return errorf(Code::Conflict, "container is already running (its monitor, pid {}, still holds {})", owner,
                    monitor::lockPath(dir));
    }
    ::usleep(5000);
  }
}

}  // namespace

Result<std::pair<std::unique_ptr<MonitorConn>, pid_t>> ServiceImpl::spawnForStart(
    Container& c, const std::vector<std::string>& layers, const std::map<std::string, std::string>& nsJoins,
    const std::string& netFilesDir, int gateFd, SpawnFailure& failed, trace::Phases& phase,
    std::string& cgroupsPath, Result<SpecText>* built) {
  std::string dir = dirOf(c.id);
  Result<SpecText> spec = built ? std::move(*built) : Result<SpecText>(SpecText{});
  if (!built) {
    auto lower = layers;
    if (lower.empty()) {
      TRY(mkdirAll(dir + "/empty", 0755));
      lower.push_back(dir + "/empty");
    }
    spec = buildSpecText(c, SpecPaths{dir, lower, cfg_.cgroupParent, cfg_.monitorBin, nsJoins, netFilesDir});
  }
  if (spec) {
    if (auto pm = prepareMounts(c, layers); !pm) spec = std::unexpected(pm.error());
  }
  if (!spec) {
    failed.message = spec.error().message;
    failed.err = spec.error().err;
    failed.stage = spec.error().stage != 0 ? spec.error().stage : int(runtime::Stage::Config);
    return std::pair<std::unique_ptr<MonitorConn>, pid_t>{};
  }
  cgroupsPath = spec->cgroupsPath;
  (void)mkdirAll(dir, 0700);
  (void)mkdirAll(cfg_.execRoot + "/m", 0700);
  ::unlink((dir + "/exit.json").c_str());
  // A volatile overlay (--rm) leaves work/work/incompat/volatile, and the
  // kernel refuses to mount that work dir again while it is there.
  if (c.hostConfig.value("AutoRemove", false)) (void)removeAll(dir + "/work/work");
  TRY(writeFileReplace(dir + "/config.json", spec->text));
  phase("start: spec, config.json");
  std::vector<std::string> argv = {cfg_.monitorBin, "run", "--bundle", dir, "--id", c.id,
                                   "--socket", socketOf(c.id), "--log", logPathOf(c),
                                   "--cgroup-root", cfg_.cgroupRoot};
  if (auto lim = jsonFileLimits(c.hostConfig.value("LogConfig", json::object()))) {
    if (lim->driver != "json-file") argv.insert(argv.end(), {"--log-driver", lim->driver});
    if (lim->maxSize > 0)
      argv.insert(argv.end(), {"--log-max-size", std::to_string(lim->maxSize), "--log-max-file",
                               std::to_string(lim->maxFiles)});
    if (lim->compress) argv.push_back("--log-compress");
  }
  if (auto rt = c.hostConfig.value("Runtime", "berth"); rt != "berth") {
    auto it = cfg_.runtimes.find(rt);
    if (it == cfg_.runtimes.end()) return errorf(Code::InvalidArgument, "unknown or invalid runtime name: {}", rt);
    argv.push_back("--runtime");
    argv.push_back(it->second);
  }
  // The start's intent, crash-atomic (monitor/lock.h): from here until
  // the monitor ends, the lock says a monitor runs this container; restore
  // and a second start see it whatever berthd's record says.
  TRY_ASSIGN(auto lock, lockForStart(dir));
  argv.insert(argv.end(), {"--lock-fd", std::to_string(monitor::kLockFd)});
  if (gateFd >= 0) argv.insert(argv.end(), {"--gate-fd", std::to_string(monitor::kGateFd)});
  if (trace::on()) {
    phase("start: monitor lock");
    argv.insert(argv.end(), {"--trace", std::to_string(trace::now())});
    ::unlink((dir + "/trace.jsonl").c_str());
  }
  auto spawned = spare_.spawnRun(argv, dir + "/monitor.log", lock.get(), gateFd,
                                 c.hostConfig.value("NetworkMode", "") == "none" && c.netnsPath.empty());
  if (!spawned) return std::unexpected(spawned.error().wrap("start monitor"));
  phase("spawn monitor");
  return spawned;
}

namespace {

// A -v bind whose source directory does not exist yet (the start makes it).
bool missingBindSource(const Container& c) {
  for (auto& pj : c.mountPoints) {
    MountPoint m = MountPoint::fromJson(pj);
    struct stat st;
    if (m.type == "bind" && m.createSource && ::stat(m.source.c_str(), &st) != 0) return true;
  }
  return false;
}

}  // namespace

bool ServiceImpl::warmable(const Container& c) const {
  if (cfg_.warmTtl.count() <= 0 || !c.netnsPath.empty() || c.hostConfig.value("Runtime", "berth") != "berth")
    return false;
  for (const char* key : {"PidMode", "IpcMode", "NetworkMode"})
    if (c.hostConfig.value(key, "").starts_with("container:")) return false;
  const std::string netMode = c.hostConfig.value("NetworkMode", "bridge");
  if (networks_ && usesSandbox(netMode) && needsSandbox(*networks_, c)) return false;
  // dockerd makes a missing -v source directory at the start, not before.
  return !missingBindSource(c);
}

bool ServiceImpl::warmSlotLocked(const Entry& e) const {
  if (stopping_ || e.c.state.status != State::Created) return false;
  int warm = 0;
  for (auto& [id, other] : byId_) warm += (other->warm || other->warming) ? 1 : 0;
  return warm < kMaxWarm;
}

std::shared_ptr<ServiceImpl::WarmGo> ServiceImpl::warmUpEarly(const Container& c) {
  auto go = std::make_shared<WarmGo>();
  {
    std::lock_guard lk(mu_);
    if (stopping_) return nullptr;
    readersRunning_++;
  }
  threads_.run([this, c, go] {
    // Before the record is committed, beside the create: the spec, which
    // reads nothing the create writes (the image's layers, the record's
    // config; not its name, links or directory).
    const int64_t t0 = trace::on() ? trace::now() : 0;
    auto layers = images_.layerDirs(c.imageId);
    std::optional<Result<SpecText>> spec;
    if (layers && !layers->empty())
      spec = buildSpecText(c, SpecPaths{dirOf(c.id), *layers, cfg_.cgroupParent, cfg_.monitorBin, {}, ""});
    const int64_t t1 = t0 ? trace::now() : 0;
    std::shared_ptr<Entry> e = go->committed.get_future().get();
    if (e) {
      if (t0) trace::record(c.id, "warm: spec, beside the create", t0, t1);
      warmUp(e, c, layers, spec ? &*spec : nullptr);
    }
    std::lock_guard lk(mu_);
    readersRunning_--;
    cv_.notify_all();
  });
  return go;
}

void ServiceImpl::warmUp(const std::shared_ptr<Entry>& e, Container c, const Result<std::vector<std::string>>& layers,
                         Result<SpecText>* spec) {
  // spawnForStart's phases, as "warm: spec, config.json", "warm: spawn monitor"...
  trace::Phases phase(c.id, "warm: ", "start: ");
  // Any failure here is left to the start, which tries again the usual way.
  std::unique_ptr<WarmMonitor> made;
  std::string cgroupsPath;
  int gate[2];
  if (layers && ::pipe2(gate, O_CLOEXEC) == 0) {
    UniqueFd gateRead(gate[0]), gateWrite(gate[1]);
    SpawnFailure failed;
    auto spawned = spawnForStart(c, *layers, {}, "", gateRead.get(), failed, phase, cgroupsPath, spec);
    if (spawned && failed.message.empty())
      made = std::make_unique<WarmMonitor>(WarmMonitor{std::move(spawned->first), spawned->second,
                                                       std::move(gateWrite)});
  }
  std::unique_lock lk(mu_);
  e->warming = false;
  // config.json was written (whether the spawn then worked or not).
  if (!cgroupsPath.empty()) e->cgroupsPath = std::move(cgroupsPath);
  if (made && !stopping_ && !e->removed && !e->busy && e->c.state.status == State::Created) {
    e->warm = std::move(made);
    cv_.notify_all();
    // Kept until a start takes it, something drops it, or the TTL.
    cv_.wait_for(lk, cfg_.warmTtl, [&] { return !e->warm || stopping_; });
    made = std::move(e->warm);
  }
  cv_.notify_all();
  lk.unlock();
  if (made) dropWarm(std::move(made));
}

void ServiceImpl::dropWarm(std::unique_ptr<WarmMonitor> w) {
  // EOF at the gate: the init exits without exec, the monitor sends
  // StartError, removes the cgroup and ends; its EOF means all is gone.
  w->gate.reset();
  while (w->conn->recv()) {
  }
}

void ServiceImpl::dropWarmLocked(std::unique_lock<std::mutex>& lk, Entry& e) {
  if (!e.warming && !e.warm) return;
  cv_.wait_for(lk, std::chrono::seconds(10), [&] { return !e.warming; });
  auto w = std::move(e.warm);
  if (!w) return;
  cv_.notify_all();
  lk.unlock();
  dropWarm(std::move(w));
  lk.lock();
}

Result<> ServiceImpl::start(const std::string& ref) { return startImpl(ref, std::nullopt); }

Result<> ServiceImpl::startImpl(const std::string& ref, std::optional<uint64_t> policyGen) {
  std::unique_lock lk(mu_);
  TRY_ASSIGN(auto e, getLocked(ref));
  if (policyGen) {
    // A policy restart runs only if nothing cancelled it meanwhile (a cp
    // into the stopped container may hold it for a moment).
    waitNotBusyLocked(lk, *e);
    if (stopping_ || e->removed || e->busy || e->restartGen != *policyGen ||
        e->c.state.status != State::Restarting)
      return makeError(Code::Cancelled, "restart cancelled");
  } else {
    waitNotBusyLocked(lk, *e);
    // A warm start's monitor, still spawning: wait for it (a millisecond).
    cv_.wait_for(lk, std::chrono::seconds(10), [&] { return !e->warming; });
    if (e->removed) return errorf(Code::NotFound, "No such container: {}", ref);
  }
  // The last run's monitor is still unmounting and removing the cgroup:
  // its EOF clears this (a notification; lockForStart below is the last word).
  if (e->finishing && !e->busy) {
    cv_.wait_for(lk, std::chrono::seconds(60), [&] { return !e->finishing || e->removed || e->busy; });
    if (policyGen && (stopping_ || e->removed || e->restartGen != *policyGen ||
                      e->c.state.status != State::Restarting))
      return makeError(Code::Cancelled, "restart cancelled");
    if (e->removed) return errorf(Code::NotFound, "No such container: {}", ref);
  }
  if (e->c.state.status == State::Running || e->c.state.status == State::Paused)
    return makeError(Code::NotModified, "container already started");
  if (e->busy) return errorf(Code::Conflict, "container {} is busy", e->c.id);
  if (!canTransition(e->c.state.status, State::Running))
    return errorf(Code::Conflict, "container {} is marked for removal and cannot be started", e->c.id);
  // --pid/--ipc/--network container:X join X's namespaces: X must run now.
  std::map<std::string, std::string> nsJoins;
  std::string netFilesDir;
  std::string donorHostname;
  auto resolveJoins = [&]() -> Result<> {
    for (auto [key, type, proc] : {std::tuple{"PidMode", "pid", "pid"}, std::tuple{"IpcMode", "ipc", "ipc"},
                                   std::tuple{"NetworkMode", "network", "net"}}) {
      std::string mode = e->c.hostConfig.value(key, "");
      if (!mode.starts_with("container:")) continue;
      std::string ref = mode.substr(10);
      auto d = findLocked(ref);
      if (!d) return errorf(Code::NotFound, "No such container: {}", ref);
      bool net = std::string(type) == "network";
      if (d->c.id == e->c.id)
        return makeError(Code::InvalidArgument, net ? "cannot join own network" : "cannot join own namespace");
      if (d->c.state.status != State::Running && d->c.state.status != State::Paused) {
        if (net) return errorf(Code::Conflict, "cannot join network of a non running container: {}", ref);
        return errorf(Code::Conflict, "container {} is not running", ref);
      }
      if (std::string(type) == "ipc" && d->c.hostConfig.value("IpcMode", "") != "shareable")
        return errorf(Code::InvalidArgument,
                      "container {}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)", ref);
      nsJoins[type] = fmt::format("/proc/{}/ns/{}", d->c.state.pid, proc);
      if (net) {
        netFilesDir = dirOf(d->c.id);
        donorHostname = d->c.config.value("Hostname", "");
        if (donorHostname.empty()) donorHostname = d->c.shortId();
      }
    }
    return {};
  };
  if (auto j = resolveJoins(); !j) {
    // As dockerd: a failed start records the error; --rm removes the container.
    e->c.state.error = j.error().message;
    e->c.state.exitCode = 128;
    if (e->c.state.status == State::Restarting) {
      recordLocked(*e, State::Exited);
      e->c.state.finishedAt = nowNanos();
      e->exitSeq++;
    }
    (void)saveLocked(*e);
    if (e->c.hostConfig.value("AutoRemove", false)) (void)removeLocked(lk, e);
    cv_.notify_all();
    return std::unexpected(j.error());
  }
  if (!policyGen) {
    // A user's start cancels a pending policy restart and begins a new
    // restart history (dockerd resets RestartCount and the back-off).
    e->restartGen++;
    e->c.state.restartCount = 0;
    e->backoff.reset();
  }
  // Only a user's start of a created container finds a warm monitor.
  std::unique_ptr<WarmMonitor> warm = std::move(e->warm);
  e->busy = true;
  // A warm start: its process runs now, the bookkeeping below comes after.
  // Its config.json and monitor were made at create, from this record
  // (nothing changed it since: dropWarmLocked). A monitor that failed
  // meanwhile has its StartError waiting below; the byte then goes nowhere.
  const int64_t tReleased = warm && trace::on() ? trace::now() : 0;
  if (warm) {
    (void)::write(warm->gate.get(), "s", 1);
    warm->gate.reset();
  }
  ScopeExit unbusy([&] {
    if (lk.owns_lock()) {
      e->busy = false;
    } else {
      std::lock_guard g(mu_);
      e->busy = false;
    }
  });
  Container c = e->c;
  // A cold start writes config.json anew: until its path is known again
  // below, cgroupPathOf reads the file.
  if (!warm) e->cgroupsPath.clear();
  cv_.notify_all();  // the warm monitor's keeper: it is taken
  lk.unlock();
  trace::Phases phase(c.id);

  const std::string netMode = c.hostConfig.value("NetworkMode", "bridge");
  std::string sandboxKey;
  Result<std::pair<std::unique_ptr<MonitorConn>, pid_t>> spawned;
  MonitorMessage first{MsgType::StartError, ""};
  SpawnFailure failed;
  std::string cgroupsPath;  // a cold start's (a warm one's is in the entry already)
  if (warm) {
    spawned = std::make_pair(std::move(warm->conn), warm->pid);
    if (tReleased) trace::record(c.id, "start: warm monitor released", tReleased, tReleased);
  }
  // layerDirs works even after `rmi -f` untagged and deleted the image: its
  // layers live while a container names it.
  auto layers = warm ? Result<std::vector<std::string>>() : images_.layerDirs(c.imageId);
  if (!layers) return errorf(Code::NotFound, "No such image: {}", c.imageId);
  // Bridge and user networks: a sandbox with its endpoints and /etc files
  // before the monitor spawns; undone below if the start fails.
  if (!warm) phase("start: state, layers");
  if (!warm && networks_ && usesSandbox(netMode) && needsSandbox(*networks_, c)) {
    auto attached = startNetworking(c);
    phase("network setup");
    if (!attached) {
      lk.lock();
      // As dockerd: the container stays as it was, with the error and 128.
      e->c.state.error = attached.error().message;
      e->c.state.exitCode = 128;
      if (e->c.state.status == State::Restarting) {
        recordLocked(*e, State::Exited);
        e->c.state.finishedAt = nowNanos();
        e->exitSeq++;
      }
      (void)saveLocked(*e);
      e->busy = false;
      unbusy.dismiss();
      if (e->c.hostConfig.value("AutoRemove", false)) (void)removeLocked(lk, e);
      cv_.notify_all();
      return std::unexpected(attached.error());
    }
    sandboxKey = attached->sandboxKey;
    nsJoins["network"] = sandboxKey;
  }
  ScopeExit undoNetwork([&] {
    if (!sandboxKey.empty()) stopNetworking(c.id, netMode);
  });
  // A namespace pinned by the CRI before the start (Container::netnsPath).
  if (!c.netnsPath.empty()) nsJoins["network"] = c.netnsPath;
  if (!donorHostname.empty()) c.config["Hostname"] = donorHostname;
  if (!warm) {
    TRY_ASSIGN(spawned, spawnForStart(c, *layers, nsJoins, netFilesDir, -1, failed, phase, cgroupsPath));
  }
  std::string& failure = failed.message;
  int& failErrno = failed.err;
  int& failStage = failed.stage;
  if (failure.empty()) {
    auto m = spawned->first->recv();
    phase("monitor start to Started");
    if (!m) {
      failure = "monitor exited before starting the container";
      failStage = int(runtime::Stage::Config);
    } else {
      first = std::move(*m);
      if (first.type == MsgType::StartError) {
        failStage = payloadInt(first.payload);
        failErrno = payloadInt(first.payload, 4);
        failure = first.payload.size() > 8 ? first.payload.substr(8) : std::string("container start failed");
      } else if (first.type != MsgType::Started) {
        failure = "unexpected message from monitor";
        failStage = int(runtime::Stage::Config);
      }
    }
  }

  if (!failure.empty() && !sandboxKey.empty()) {
    undoNetwork.dismiss();
    stopNetworking(c.id, netMode);
  }
  lk.lock();
  if (!cgroupsPath.empty()) e->cgroupsPath = std::move(cgroupsPath);
  if (!failure.empty()) {
    std::string msg = fmt::format("failed to create task for container: OCI runtime create failed: {}: unknown", failure);
    e->c.state.error = msg;
    int exitCode = startFailureExitCode(failErrno);
    e->c.state.exitCode = exitCode != 0 ? exitCode : 128;
    if (e->c.state.status == State::Restarting) {
      recordLocked(*e, State::Exited);
      e->c.state.finishedAt = nowNanos();
      e->exitSeq++;
    }
    (void)saveLocked(*e);
    e->busy = false;
    unbusy.dismiss();
    if (e->c.hostConfig.value("AutoRemove", false)) (void)removeLocked(lk, e);
    cv_.notify_all();
    return std::unexpected(Error{Code::InvalidArgument, failErrno, msg, failStage});
  }
  std::shared_ptr<MonitorConn> mon(std::move(spawned->first));
  e->mon = mon;
  recordLocked(*e, State::Running);
  e->c.state.pid = payloadInt(first.payload);
  e->monitorExec = uint32_t(payloadInt(first.payload, 4)) & monitor::kFeatureExec;
  e->c.state.monitorPid = spawned->second;
  e->c.state.startedAt = nowNanos();
  e->c.state.finishedAt = 0;
  e->c.state.exitCode = 0;
  e->c.state.error.clear();
  e->c.state.oomKilled = false;
  e->c.state.stoppedByUser = false;
  e->c.state.commitFreeze = false;
  e->execBase.reset();
  e->c.state.sandboxKey = sandboxKey;
  undoNetwork.dismiss();
  e->exitOnNext = false;
  healthStartLocked(*e);
  (void)saveLocked(*e);
  if (!e->pendingStdin.empty()) {
    (void)mon->send(MsgType::Stdin, e->pendingStdin);
    e->pendingStdin.clear();
  }
  if (e->pendingStdinClose) {
    (void)mon->send(MsgType::StdinClose);
    e->pendingStdinClose = false;
  }
  spawnReaderLocked(e, mon);
  json attrs = eventAttrs(*e);
  e->busy = false;
  unbusy.dismiss();
  cv_.notify_all();
  lk.unlock();
  emit_("container", "start", c.id, attrs);
  phase("start: record running");
  return {};
}

void ServiceImpl::spawnReaderLocked(std::shared_ptr<Entry> e, std::shared_ptr<MonitorConn> mon) {
  readersRunning_++;
  threads_.run([this, e, mon] {
    readerLoop(e, mon);
    std::lock_guard lk(mu_);
    readersRunning_--;
    cv_.notify_all();
  });
}

void ServiceImpl::readerLoop(std::shared_ptr<Entry> e, std::shared_ptr<MonitorConn> mon) {
  for (;;) {
    auto m = mon->recv();
    if (!m) break;
    if (m->type == MsgType::Stdout || m->type == MsgType::Stderr) {
      std::vector<std::shared_ptr<AttachSession>> sessions;
      {
        std::lock_guard lk(mu_);
        sessions = e->sessions;
      }
      for (auto& s : sessions) s->writeOutput(m->type, m->payload);
    } else if (m->type == MsgType::Exit) {
      const int64_t tExit = trace::on() ? trace::now() : 0;
      json doc;
      try {
        doc = json::parse(m->payload);
      } catch (...) {
        doc = json::object();
      }
      // The exit is recorded now: the process is dead and exit.json
      // written. The monitor closes the socket only once the container's
      // mount namespace and cgroup are gone (docs/monitor.md); the unmount
      // syncs the upper file system, tens to hundreds of ms under load, so
      // stop, kill, wait and rm do not wait for it. A start does (it would
      // join a dying cgroup, or mount an overlay still in use): it waits
      // until `finishing` clears at that EOF.
      std::string cgPath;
      {
        std::lock_guard lk(mu_);
        e->finishing = mon;
        cgPath = cgroupPathOf(*e);
      }
      if (tExit) {  // before a removal deletes the file
        collectMonitorTrace(e->c.id);
        trace::record(e->c.id, "exit: monitor trace read (tracing only)", tExit, trace::now());
      }
      handleExit(e, doc);
      const int64_t tCleanup = tExit ? trace::now() : 0;
      while (mon->recv()) {
      }
      // Off the critical path now; a --rm client may have its timeline already.
      if (tCleanup) trace::record(e->c.id, "exit: monitor cleanup (async)", tCleanup, trace::now());
      bool removed;
      {
        std::lock_guard lk(mu_);
        if (e->finishing == mon) e->finishing.reset();
        removed = e->removed && !stopping_;
        cv_.notify_all();
      }
      // Removed meanwhile (rm, AutoRemove): the removal left this monitor
      // alone; whatever it could not clean up goes now.
      if (removed && !CgroupInfo(cfg_.cgroupRoot, cgPath).existingDirs().empty()) killLeftovers(e->c.id, cgPath);
      return;
    } else if (m->type == MsgType::Started) {
      std::lock_guard lk(mu_);
      e->c.state.pid = payloadInt(m->payload);
      if (e->mon == mon) e->monitorExec = uint32_t(payloadInt(m->payload, 4)) & monitor::kFeatureExec;
    }
  }
  // The connection ended without an Exit message.
  {
    std::lock_guard lk(mu_);
    if (stopping_ || e->mon != mon) return;
  }
  // The monitor may have written exit.json before dying.
  handleExit(e, recordedExit(e->c.id, "container monitor exited unexpectedly"));
}

json ServiceImpl::recordedExit(const std::string& id, const std::string& fallbackError) {
  json doc = json::object();
  if (auto f = readFile(dirOf(id) + "/exit.json")) {
    try {
      doc = json::parse(*f);
    } catch (...) {
    }
  }
  if (!doc.is_object()) doc = json::object();
  if (!doc.contains("ExitCode")) {
    doc["ExitCode"] = 255;
    doc["Error"] = fallbackError;
  }
  return doc;
}

void ServiceImpl::collectMonitorTrace(const std::string& id) {
  std::string path = dirOf(id) + "/trace.jsonl";
  auto text = readFile(path);
  if (!text) return;
  ::unlink(path.c_str());
  if (auto spans = trace::parseLines(*text)) trace::add(id, std::move(*spans));
  else log::warn("container {}: {}", id, spans.error().message);
}

void ServiceImpl::handleExit(const std::shared_ptr<Entry>& e, const json& doc) {
  const int64_t tRecord = trace::on() ? trace::now() : 0;
  std::unique_lock lk(mu_);
  if (e->removed) return;
  // The process is gone: its endpoints and sandbox go before anything can
  // start it again (a policy restart makes new ones).
  if (!e->c.state.sandboxKey.empty() || usesSandbox(e->c.hostConfig.value("NetworkMode", ""))) {
    std::string id = e->c.id, mode = e->c.hostConfig.value("NetworkMode", "");
    lk.unlock();
    stopNetworking(id, mode);
    lk.lock();
    if (e->removed) return;
    e->c.state.sandboxKey.clear();
  }
  e->mon.reset();
  e->monitorExec = false;
  healthStopLocked(*e);
  e->c.state.exitCode = doc.value("ExitCode", 255);
  e->c.state.oomKilled = doc.value("OOMKilled", false);
  int64_t fin = doc.value("FinishedAt", int64_t(0));
  e->c.state.finishedAt = fin > 0 ? fin : nowNanos();
  RestartBackoff::Decision again;
  if (auto policy = RestartPolicy::fromJson(e->c.hostConfig.value("RestartPolicy", json::object()));
      policy && !stopping_ && !e->busy) {
    int64_t ran = e->c.state.startedAt > 0 ? e->c.state.finishedAt - e->c.state.startedAt : 0;
    again = e->backoff.onExit(*policy, e->c.state.exitCode, e->c.state.restartCount, e->c.state.stoppedByUser,
                              e->exitOnNext, ran);
  }
  if (again.restart) {
    recordLocked(*e, State::Restarting);
    e->c.state.restartCount++;
    scheduleRestartLocked(e, again.delayMs);
  } else {
    recordLocked(*e, State::Exited);
  }
  e->c.state.pid = 0;
  e->c.state.monitorPid = 0;
  if (doc.contains("Error") && doc["Error"].is_string()) e->c.state.error = doc["Error"];
  e->exitSeq++;
  // An AutoRemove container's row is deleted right below (removeLocked):
  // its exit is not written first. A crash in between leaves it recorded
  // as running with its monitor gone, which restore() takes as an exit
  // while berthd was down (exit.json is still there) and removes it then.
  const bool autoRemove = e->c.hostConfig.value("AutoRemove", false);
  const bool removeNext = autoRemove && !again.restart && !e->busy && !e->removing;
  if (!e->removing && !removeNext) (void)saveLocked(*e);
  for (auto& s : e->sessions) {
    std::lock_guard sl(s->mu);
    s->done = true;
    if (!s->closed && s->raw) s->raw->close();
  }
  std::string id = e->c.id;
  json attrs = eventAttrs(*e, {{"exitCode", std::to_string(e->c.state.exitCode)}});
  // Published with mu_ held, before waiters wake: a stop/restart that saw
  // this exit emits its own event only after the die.
  emit_("container", "die", id, attrs);
  cv_.notify_all();
  answerWaitersLocked(lk, *e);
  lk.unlock();
  if (tRecord) trace::record(id, "exit: record exited", tRecord, trace::now());
  if (autoRemove) {
    lk.lock();
    bool removed = false;
    if (!e->removed && !e->busy) removed = removeLocked(lk, e, false, true).has_value();
    // Not removed after all (busy meanwhile, or the row's removal failed):
    // the exit, or the Dead state, is written as without AutoRemove.
    if (removeNext && !removed && !e->removed && !e->removing) (void)saveLocked(*e);
  }
}

bool ServiceImpl::waitExitLocked(std::unique_lock<std::mutex>& lk, Entry& e, uint64_t baseline, int timeoutMs) {
  return cv_.wait_for(lk, std::chrono::milliseconds(timeoutMs),
                      [&] { return e.exitSeq > baseline || e.removed; });
}

void ServiceImpl::waitNotBusyLocked(std::unique_lock<std::mutex>& lk, Entry& e) {
  cv_.wait_for(lk, std::chrono::seconds(60), [&] { return !e.busy || e.removed; });
}

void ServiceImpl::scheduleRestartLocked(std::shared_ptr<Entry> e, int64_t delayMs) {
  uint64_t gen = ++e->restartGen;
  readersRunning_++;
  std::thread([this, e, gen, delayMs] {
    bool go;
    {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(delayMs),
                   [&] { return stopping_ || e->removed || e->restartGen != gen; });
      go = !stopping_ && !e->removed && e->restartGen == gen;
    }
    if (go) {
      if (auto r = startImpl(e->c.id, gen); !r && r.error().code != Code::Cancelled)
        log::warn("restart policy: start {}: {}", e->c.shortId(), r.error().message);
    }
    std::lock_guard lk(mu_);
    readersRunning_--;
    cv_.notify_all();
  }).detach();
}

void ServiceImpl::cancelRestartLocked(Entry& e) {
  e.restartGen++;
  if (e.c.state.status == State::Restarting) {
    recordLocked(e, State::Exited);
    e.exitSeq++;
  }
  cv_.notify_all();
}

Result<> ServiceImpl::kill(const std::string& ref, const std::string& signal) {
  TRY_ASSIGN(int sig, parseSignal(signal.empty() ? "KILL" : signal));
  std::unique_lock lk(mu_);
  TRY_ASSIGN(auto e, getLocked(ref));
  if (e->c.state.status != State::Running && e->c.state.status != State::Paused &&
      e->c.state.status != State::Restarting)
    return errorf(Code::Conflict, "Cannot kill container: {}: Container {} is not running", ref, e->c.id);
  // As dockerd: any kill counts as a manual stop (unless-stopped gives up);
  // SIGKILL or the stop signal also ends `always` restarts.
  std::string stopSig = e->c.config.value("StopSignal", "");
  auto stopNum = parseSignal(stopSig.empty() ? "TERM" : stopSig);
  if (sig == SIGKILL || stopSig.empty() || (stopNum && *stopNum == sig)) e->exitOnNext = true;
  e->c.state.stoppedByUser = true;
  if (e->c.state.status == State::Restarting || stopMarkMatters(e->c.hostConfig)) (void)saveLocked(*e);
  if (e->c.state.status == State::Restarting) {
    if (e->exitOnNext) {
      cancelRestartLocked(*e);
      (void)saveLocked(*e);
    }
    return {};
  }
  // Published before the signal, with mu_ held: the die event comes after.
  emit_("container", "kill", e->c.id, eventAttrs(*e, {{"signal", std::to_string(sig)}}));
  uint64_t base = e->exitSeq;
  if (e->mon) TRY(e->mon->send(MsgType::Signal, encodeInt(sig)));
  else if (e->c.state.pid > 0) ::kill(e->c.state.pid, sig);
  thawIfPausedLocked(*e);
  // As dockerd: SIGKILL answers once the container is dead (State.Running
  // false, ExitCode 137 recorded); other signals answer at once.
  if (sig == SIGKILL && !waitExitLocked(lk, *e, base, 30000))
    return errorf(Code::Internal, "tried to kill container, but did not receive an exit event");
  return {};
}

Result<> ServiceImpl::stop(const std::string& ref, std::optional<int> timeout) {
  std::unique_lock lk(mu_);
  TRY_ASSIGN(auto e, getLocked(ref));
  waitNotBusyLocked(lk, *e);
  if (e->removed) return errorf(Code::NotFound, "No such container: {}", ref);
  if (e->c.state.status == State::Restarting) {
    // Between two policy restarts: cancel the pending one; it stays down.
    e->c.state.stoppedByUser = true;
    e->exitOnNext = true;
    cancelRestartLocked(*e);
    (void)saveLocked(*e);
    std::string id = e->c.id;
    json attrs = eventAttrs(*e);
    lk.unlock();
    emit_("container", "stop", id, attrs);
    return {};
  }
  if (e->c.state.status != State::Running && e->c.state.status != State::Paused)
    return makeError(Code::NotModified, "container already stopped");
  int t = timeout ? *timeout : e->c.config.value("StopTimeout", 10);
  int sig = SIGTERM;
  if (auto s = e->c.config.value("StopSignal", ""); !s.empty())
    if (auto p = parseSignal(s)) sig = *p;
  e->c.state.stoppedByUser = true;
  e->exitOnNext = true;
  if (stopMarkMatters(e->c.hostConfig)) (void)saveLocked(*e);
  uint64_t base = e->exitSeq;
  std::string id = e->c.id;
  // The kill event goes out before the signal (mu_ held): its die, emitted
  // by the reader after it takes mu_, always comes later.
  auto send = [&](int s) {
    emit_("container", "kill", id, eventAttrs(*e, {{"signal", std::to_string(s)}}));
    if (e->mon) (void)e->mon->send(MsgType::Signal, encodeInt(s));
    else if (e->c.state.pid > 0) ::kill(e->c.state.pid, s);
    thawIfPausedLocked(*e);
  };
  if (t != 0) send(sig);
  bool exited = t < 0 ? (waitExitLocked(lk, *e, base, INT32_MAX), true) : waitExitLocked(lk, *e, base, t * 1000);
  if (!exited) {
    send(SIGKILL);
    if (!waitExitLocked(lk, *e, base, 30000)) return errorf(Code::Internal, "container {} did not stop", id);
  }
  json attrs = eventAttrs(*e);
  lk.unlock();
  emit_("container", "stop", id, attrs);
  return {};
}

Result<> ServiceImpl::restart(const std::string& ref, std::optional<int> timeout) {
  auto s = stop(ref, timeout);
  if (!s && s.error().code != Code::NotModified) return s;
  auto r = start(ref);
  if (!r && r.error().code != Code::NotModified) return r;
  std::string id;
  json attrs;
  {
    std::lock_guard lk(mu_);
    if (auto e = findLocked(ref)) {
      id = e->c.id;
      attrs = eventAttrs(*e);
    }
  }
  if (!id.empty()) emit_("container", "restart", id, attrs);
  return {};
}

Result<> ServiceImpl::removeLocked(std::unique_lock<std::mutex>& lk, std::shared_ptr<Entry> e, bool removeVolumes,
                                   bool dirInBackground) {
  dropWarmLocked(lk, *e);  // before the record goes: its monitor uses the directory
  if (e->removed) return {};
  TRY(transition(e->c.state, State::Removing));
  const int64_t tRemove = trace::on() ? trace::now() : 0;
  bool dropVolumes = removeVolumes || e->c.hostConfig.value("AutoRemove", false);
  json mountPoints = e->c.mountPoints;
  std::string id = e->c.id;
  std::string imageId = e->c.imageId;
  json attrs = eventAttrs(*e);
  if (auto r = store_.remove(id); !r) {
    recordLocked(*e, State::Dead);
    return r;
  }
  e->removed = true;
  byId_.erase(id);
  // The removal ends every wait on it; this thread answers them: the
  // "removed" ones once the directory, volumes and images are dealt with
  // (below, without waiting for mu_ again), the others right away.
  std::vector<std::shared_ptr<Entry::Waiter>> endedNow, endedAtCleanup;
  for (auto& w : claimWaitersLocked(*e, true))
    (w->condition == "removed" ? endedAtCleanup : endedNow).push_back(w);
  cv_.notify_all();
  std::string netMode = e->c.hostConfig.value("NetworkMode", "");
  // A monitor still finishing the last run (its Exit came, its EOF not yet)
  // is left to finish: its reader checks the cgroup after its EOF.
  const bool monitorFinishing = e->finishing != nullptr;
  std::string cgPath = monitorFinishing ? std::string() : cgroupPathOf(*e);
  lk.unlock();
  if (tRemove) trace::record(id, "removal: record", tRemove, trace::now());
  answerClaimed(endedNow);
  stopNetworking(id, netMode);
  // Nothing of it may outlive its record: a monitor still holding the lock
  // or processes left in its cgroup (docs/crash-safety.md) are killed.
  if (!monitorFinishing && (monitor::lockState(dirOf(id)) == monitor::LockState::Held ||
                            !CgroupInfo(cfg_.cgroupRoot, cgPath).existingDirs().empty()))
    killLeftovers(id, cgPath);
  if (dirInBackground) {
    background_.post([dir = dirOf(id)] {
      if (auto rr = removeAll(dir); !rr) log::warn("remove container dir: {}", rr.error().message);
    });
  } else {
    const int64_t tDir = tRemove ? trace::now() : 0;
    auto rr = removeAll(dirOf(id));
    if (!rr) log::warn("remove container dir: {}", rr.error().message);
    if (tDir) trace::record(id, "removal: directory", tDir, trace::now());
  }
  emit_("container", "destroy", id, attrs);
  if (dropVolumes) removeAnonymousVolumes(mountPoints);
  // Layers of an image deleted (rmi -f) while this container used it can go now.
  if (!images_.resolve(imageId))
    if (auto gc = images_.garbageCollect(); !gc) log::warn("image gc: {}", gc.error().message);
  if (tRemove) trace::record(id, "removal", tRemove, trace::now());
  // wait?condition=removed (run --rm) is answered only now: the client may
  // list volumes or images next.
  answerClaimed(endedAtCleanup);
  lk.lock();
  e->cleanedUp = true;
  answeredLocked(endedNow);
  answeredLocked(endedAtCleanup);
  cv_.notify_all();
  return {};
}

Result<> ServiceImpl::remove(const std::string& ref, bool force, bool removeVolumes) {
  std::unique_lock lk(mu_);
  TRY_ASSIGN(auto e, getLocked(ref));
  if (force) {
    e->exitOnNext = true;
    waitNotBusyLocked(lk, *e);
    if (e->removed) return {};
  }
  if (e->c.state.status == State::Restarting) {
    if (!force)
      return errorf(Code::Conflict,
                    "You cannot remove a restarting container {}. Stop the container before attempting removal or "
                    "force remove",
                    e->c.id);
    cancelRestartLocked(*e);
  }
  if (e->c.state.status == State::Running || e->c.state.status == State::Paused) {
    if (!force)
      return errorf(Code::Conflict,
                    "You cannot remove a running container {}. Stop the container before attempting removal or "
                    "force remove",
                    e->c.id);
    uint64_t base = e->exitSeq;
    e->exitOnNext = true;  // a policy start that ran while we waited reset it
    // Its exit is not saved: the record is deleted right after (saved
    // below if that does not happen; a crash meanwhile: restore reads
    // exit.json).
    e->removing = true;
    if (e->mon) (void)e->mon->send(MsgType::Signal, encodeInt(SIGKILL));
    else if (e->c.state.pid > 0) ::kill(e->c.state.pid, SIGKILL);
    thawIfPausedLocked(*e);
    bool exited = waitExitLocked(lk, *e, base, 30000);
    e->removing = false;
    if (!exited) return errorf(Code::Internal, "could not kill container {}", e->c.id);
    if (e->removed) return {};  // AutoRemove got there first
    // An exit of its own just before the kill may have scheduled a restart.
    if (e->c.state.status == State::Restarting) cancelRestartLocked(*e);
    if (e->busy) {
      (void)saveLocked(*e);
      return errorf(Code::Conflict, "removal of container {} is already in progress", e->c.id);
    }
    auto r = removeLocked(lk, e, removeVolumes, true);
    if (!r && !e->removed) (void)saveLocked(*e);
    return r;
  }
  if (e->busy) return errorf(Code::Conflict, "removal of container {} is already in progress", e->c.id);
  // As for --rm, the directory goes after the answer (removeLocked).
  return removeLocked(lk, e, removeVolumes, true);
}

namespace {

bool labelMatches(const json& labels, const std::string& f) {
  auto eq = f.find('=');
  std::string k = f.substr(0, eq);
  if (!labels.is_object() || !labels.contains(k)) return false;
  if (eq == std::string::npos) return true;
  return labels[k].is_string() && labels[k].get<std::string>() == f.substr(eq + 1);
}

}  // namespace

Result<PruneReport> ServiceImpl::prune(const Filters& filters) {
  TRY(checkFilterKeys(filters, {"until", "label", "label!"}));
  std::optional<int64_t> until;
  if (auto it = filters.find("until"); it != filters.end())
    for (auto& v : it->second) {
      TRY_ASSIGN(until, parseUntil(v, nowNanos()));
    }
  std::vector<std::pair<std::string, int64_t>> victims;
  {
    std::lock_guard lk(mu_);
    for (auto& [id, e] : byId_) {
      const auto st = e->c.state.status;
      if (e->removed || e->busy ||
          (st != State::Created && st != State::Exited && st != State::Dead))
        continue;
      if (until && e->c.created >= *until) continue;
      if (!namespaceOf(e->c.config).empty()) continue;
      const json labels = e->c.config.value("Labels", json::object());
      bool ok = true;
      if (auto it = filters.find("label"); it != filters.end())
        for (auto& f : it->second) ok = ok && labelMatches(labels, f);
      if (auto it = filters.find("label!"); it != filters.end())
        for (auto& f : it->second) ok = ok && !labelMatches(labels, f);
      if (!ok) continue;
      victims.emplace_back(id, sizesOf(e->c).rw);
    }
  }
  PruneReport report;
  for (auto& [id, size] : victims) {
    std::unique_lock lk(mu_);
    auto it = byId_.find(id);
    if (it == byId_.end() || it->second->removed || it->second->busy) continue;
    auto st = it->second->c.state.status;
    if (st != State::Created && st != State::Exited && st != State::Dead) continue;
    if (auto r = removeLocked(lk, it->second); !r) {
      log::warn("prune {}: {}", id.substr(0, 12), r.error().message);
      continue;
    }
    report.deleted.push_back(id);
    report.spaceReclaimed += size;
  }
  emit_("container", "prune", "", {{"reclaimed", std::to_string(report.spaceReclaimed)}});
  return report;
}

Result<> ServiceImpl::rename(const std::string& ref, const std::string& newNameIn) {
  std::string newName = newNameIn;
  TRY(checkContainerName(newName));
  if (newName[0] == '/') newName = newName.substr(1);
  std::unique_lock lk(mu_);
  TRY_ASSIGN(auto e, getLocked(ref));
  for (auto& [id, other] : byId_)
    if (!other->removed && other->c.name == newName)
      return errorf(Code::Conflict,
                    "Conflict. The container name \"/{}\" is already in use by container \"{}\". You have to "
                    "remove (or rename) that container to be able to reuse that name.",
                    newName, id);
  std::string old = e->c.name;
  e->c.name = newName;
  TRY(saveLocked(*e));
  json attrs = eventAttrs(*e, {{"oldName", "/" + old}});
  std::string id = e->c.id;
  lk.unlock();
  emit_("container", "rename", id, attrs);
  return {};
}

Result<> ServiceImpl::resize(const std::string& ref, int h, int w) {
  std::lock_guard lk(mu_);
  TRY_ASSIGN(auto e, getLocked(ref));
  if (e->c.state.status != State::Running) return errorf(Code::Conflict, "Container {} is not running", e->c.id);
  if (!e->mon) return {};
  uint16_t dims[2] = {uint16_t(h), uint16_t(w)};
  return e->mon->send(MsgType::Resize, std::string_view(reinterpret_cast<const char*>(dims), sizeof dims));
}

Result<> ServiceImpl::reopenLog(const std::string& ref) {
  std::lock_guard lk(mu_);
  TRY_ASSIGN(auto e, getLocked(ref));
  if (e->c.state.status != State::Running) return errorf(Code::Conflict, "Container {} is not running", e->c.id);
  if (!e->mon) return errorf(Code::Unavailable, "no connection to the monitor of container {}", e->c.id);
  // The file exists when this returns (kubelet checks); the monitor opens
  // it in append mode once it reads the message.
  if (std::string path = logPathOf(e->c); !path.empty()) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!fd) return sysError(errno, "create log {}", path);
  }
  return e->mon->send(MsgType::ReopenLog);
}

Result<uint64_t> ServiceImpl::waitBaseline(const std::string& id) {
  std::lock_guard lk(mu_);
  TRY_ASSIGN(auto e, getLocked(id));
  return e->exitSeq;
}

namespace {

// Whether a wait(condition, baseline) on e is over (mu_ held).
bool waitDone(const Entry& e, const std::string& condition, uint64_t baseline) {
  if (condition == "removed") return e.cleanedUp;
  if (condition == "next-exit") return e.exitSeq > baseline || e.removed;
  // not-running: as dockerd, an exit after the baseline ends the wait even
  // when the restart policy is about to start the container again.
  return e.removed || e.exitSeq > baseline ||
         (e.c.state.status != State::Running && e.c.state.status != State::Paused &&
          e.c.state.status != State::Restarting);
}

}  // namespace

Result<int> ServiceImpl::wait(const std::string& ref, const std::string& condition, uint64_t baseline,
                              const std::function<bool()>& cancelled, const std::function<void(int)>& answer) {
  if (!condition.empty() && condition != "not-running" && condition != "next-exit" && condition != "removed")
    return errorf(Code::InvalidArgument, "invalid condition: \"{}\"", condition);
  std::unique_lock lk(mu_);
  std::shared_ptr<Entry> e;
  if (auto it = byId_.find(ref); it != byId_.end()) e = it->second;
  else e = findLocked(ref);
  if (!e) return errorf(Code::NotFound, "No such container: {}", ref);
  // With an answer callback, the exit path may answer for this thread
  // (answerWaitersLocked); registered while waiting, with mu_ held.
  std::shared_ptr<Entry::Waiter> w;
  if (answer) {
    w = std::make_shared<Entry::Waiter>();
    w->condition = condition;
    w->baseline = baseline;
    w->answer = &answer;
    e->waiters.push_back(w);
  }
  ScopeExit unregister([&] {
    if (w) std::erase(e->waiters, w);
  });
  for (;;) {
    if (w && w->state != Entry::Waiter::Waiting) {
      cv_.wait(lk, [&] { return w->state == Entry::Waiter::Answered; });
      return w->code;
    }
    if (waitDone(*e, condition, baseline)) return e->c.state.exitCode;
    cv_.wait_for(lk, std::chrono::milliseconds(500));
    if (w && w->state != Entry::Waiter::Waiting) continue;
    if (stopping_) return makeError(Code::Cancelled, "daemon shutting down");
    if (!waitDone(*e, condition, baseline) && cancelled && cancelled())
      return makeError(Code::Cancelled, "client went away");
  }
}

std::vector<std::shared_ptr<Entry::Waiter>> ServiceImpl::claimWaitersLocked(Entry& e, bool removal) {
  std::vector<std::shared_ptr<Entry::Waiter>> out;
  for (auto& w : e.waiters) {
    if (w->state != Entry::Waiter::Waiting || !(removal || waitDone(e, w->condition, w->baseline))) continue;
    w->state = Entry::Waiter::Answering;
    w->code = e.c.state.exitCode;
    out.push_back(w);
  }
  return out;
}

void ServiceImpl::answerClaimed(const std::vector<std::shared_ptr<Entry::Waiter>>& ws) {
  for (auto& w : ws) (*w->answer)(w->code);
}

void ServiceImpl::answeredLocked(const std::vector<std::shared_ptr<Entry::Waiter>>& ws) {
  for (auto& w : ws) w->state = Entry::Waiter::Answered;
}

void ServiceImpl::answerWaitersLocked(std::unique_lock<std::mutex>& lk, Entry& e) {
  auto ready = claimWaitersLocked(e, false);
  if (ready.empty()) return;
  lk.unlock();
  answerClaimed(ready);
  lk.lock();
  answeredLocked(ready);
  cv_.notify_all();
}

Result<bool> ServiceImpl::isTty(const std::string& id) {
  std::lock_guard lk(mu_);
  TRY_ASSIGN(auto e, getLocked(id));
  return e->c.tty();
}

std::vector<image::ImageUser> ServiceImpl::imageUsers(const std::string& imageId) {
  std::lock_guard lk(mu_);
  std::vector<image::ImageUser> out;
  for (auto& [id, e] : byId_)
    if (!e->removed && e->c.imageId == imageId)
      out.push_back({id, e->c.state.status == State::Running || e->c.state.status == State::Paused});
  return out;
}

Counts ServiceImpl::counts() {
  std::lock_guard lk(mu_);
  Counts c;
  for (auto& [id, e] : byId_) {
    if (e->removed || !namespaceOf(e->c.config).empty()) continue;  // Docker's namespace only
    c.total++;
    if (e->c.state.status == State::Running) c.running++;
    else if (e->c.state.status == State::Paused) c.paused++;
    else c.stopped++;
  }
  return c;
}

Result<> ServiceImpl::restore() {
  removeSpareBundles(true);  // a previous berthd's
  TRY_ASSIGN(auto all, store_.loadAll());
  std::vector<std::shared_ptr<Entry>> live, stopped;
  {
    std::lock_guard lk(mu_);
    for (auto& c : all) {
      auto e = std::make_shared<Entry>();
      e->c = std::move(c);
      byId_[e->c.id] = e;
      if (e->c.state.status == State::Running || e->c.state.status == State::Paused ||
          e->c.state.status == State::Restarting) {
        live.push_back(e);
      } else {
        if (e->c.state.status == State::Removing) recordLocked(*e, State::Dead);
        stopped.push_back(e);
      }
    }
  }
  killStrayExecMonitors();
  // Crash-atomic start (docs/crash-safety.md): a container recorded as not
  // running whose monitor lock is held was being started when berthd died.
  // Its monitor is adopted (it runs: Running) or killed; what a dead
  // monitor left in the cgroup of a stopped container is killed.
  for (auto& e : stopped) {
    if (monitor::lockState(dirOf(e->c.id)) == monitor::LockState::Held) {
      if (adoptInterruptedStart(e)) live.push_back(e);
      continue;
    }
    std::string cgPath;
    {
      std::lock_guard lk(mu_);
      cgPath = cgroupPathOf(*e);
    }
    if (!CgroupInfo(cfg_.cgroupRoot, cgPath).existingDirs().empty()) {
      log::warn("container {}: removing the leftovers of its cgroup", e->c.shortId());
      killLeftovers(e->c.id, cgPath);
    }
  }
  // The network service rebuilds what the containers that may still run
  // use and removes everything else; those found dead below lose theirs
  // in handleExit. Before any start, so nothing new is swept away.
  if (networks_) {
    std::vector<std::string> running;
    for (auto& e : live) running.push_back(e->c.id);
    if (auto r = networks_->restore(running); !r) log::error("restore networks: {}", r.error().message);
  }
  for (auto& e : live) {
    auto conn = connectMonitor(e->c.id);
    if (conn) {
      std::shared_ptr<MonitorConn> mon(std::move(*conn));
      if (mon->send(MsgType::Hello)) {
        std::lock_guard lk(mu_);
        e->mon = mon;
        reconcileFreezerLocked(*e);
        if (e->c.state.status == State::Restarting) {
          // berthd died while a policy restart was starting it: it runs.
          recordLocked(*e, State::Running);
          if (e->c.state.startedAt <= e->c.state.finishedAt) e->c.state.startedAt = nowNanos();
          (void)saveLocked(*e);
        }
        healthStartLocked(*e, true);
        spawnReaderLocked(e, mon);
        log::info("restored container {} (pid {})", e->c.shortId(), e->c.state.pid);
        continue;
      }
    }
    // The monitor is gone: whatever it left in the cgroup goes too.
    {
      std::string cgPath;
      {
        std::lock_guard lk(mu_);
        cgPath = cgroupPathOf(*e);
      }
      if (!CgroupInfo(cfg_.cgroupRoot, cgPath).existingDirs().empty()) killLeftovers(e->c.id, cgPath);
    }
    if (e->c.state.status == State::Restarting) {
      // Between two policy restarts when berthd went down: that exit was
      // already counted; just run the pending restart.
      std::lock_guard lk(mu_);
      log::info("restart policy: container {} was restarting, starting it", e->c.shortId());
      scheduleRestartLocked(e, 0);
      continue;
    }
    // The monitor is gone: take the exit it recorded.
    json doc = recordedExit(e->c.id, "container monitor is gone");
    log::info("container {} exited while the daemon was down (code {})", e->c.shortId(), doc.value("ExitCode", 255));
    handleExit(e, doc);
  }
  // dockerd's restore: containers whose policy says so come back now.
  std::lock_guard lk(mu_);
  for (auto& [id, e] : byId_) {
    if (e->removed || e->c.state.status != State::Exited) continue;
    auto policy = RestartPolicy::fromJson(e->c.hostConfig.value("RestartPolicy", json::object()));
    if (!policy || !restartOnDaemonStart(*policy, e->c.state.exitCode, e->c.state.restartCount,
                                         e->c.state.stoppedByUser))
      continue;
    log::info("restart policy: starting container {} again", e->c.shortId());
    recordLocked(*e, State::Restarting);
    scheduleRestartLocked(e, 0);
  }
  return {};
}

void ServiceImpl::shutdown() {
  std::unique_lock lk(mu_);
  if (stopping_) return;
  stopping_ = true;
  spare_.close();
  {
    std::lock_guard g(spareMu_);
    spareStopped_ = true;
  }
  removeSpareBundles(false);
  for (auto& [id, e] : byId_) {
    if (e->mon) e->mon->shutdown();
    if (e->finishing) e->finishing->shutdown();
  }
  for (auto& [id, x] : execs_)
    if (x->mon) x->mon->shutdown();
  cv_.notify_all();
  healthCv_.notify_all();
  cv_.wait_for(lk, std::chrono::seconds(5), [&] { return readersRunning_ == 0; });
  if (healthThread_.joinable()) {
    lk.unlock();
    healthThread_.join();
  }
}

}  // namespace berth::container
