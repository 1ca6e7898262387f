#include "cri/pods.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <system_error>
#include <thread>

#include "common/fd.h"
#include "common/io.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/trace.h"
#include "common/util.h"
#include "container/namespaces.h"
#include "container/service.h"
#include "cri/image_core.h"
#include "cri/netns.h"
#include "image/service.h"

namespace berth::cri {

using json = nlohmann::json;

namespace {

class CaptureWriter : public StreamWriter {
 public:
  bool write(std::string_view data) override {
    out.append(data);
    return true;
  }
  std::string out;
};

uint64_t u64(const json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return 0;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer()) return uint64_t(std::max<int64_t>(0, it->get<int64_t>()));
  return uint64_t(std::max(0.0, it->get<double>()));
}

const json& sub(const json& j, const char* key) {
  static const json empty = json::object();
  if (!j.is_object()) return empty;
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : empty;
}

bool ignorable(const Result<>& r) {
  return r || r.error().code == Code::NotModified || r.error().code == Code::NotFound;
}

}  // namespace

bool matchesFilter(const Sandbox& s, const SandboxFilter& f) {
  if (!f.idPrefix.empty() && !startsWith(s.id, f.idPrefix)) return false;
  if (f.state && s.state != *f.state) return false;
  for (const auto& [k, v] : f.labelSelector) {
    auto it = s.labels.find(k);
    if (it == s.labels.end() || it->second != v) return false;
  }
  return true;
}

void addDockerStats(SandboxStats& s, const json& doc, bool withNetwork) {
  const json& cpu = sub(sub(doc, "cpu_stats"), "cpu_usage");
  s.cpuUsageCoreNanos += u64(cpu, "total_usage");
  const json& mem = sub(doc, "memory_stats");
  const json& ms = sub(mem, "stats");
  uint64_t usage = u64(mem, "usage");
  // cgroup v1 names the hierarchy's totals total_*; v2 has no such prefix.
  uint64_t inactive = ms.contains("total_inactive_file") ? u64(ms, "total_inactive_file") : u64(ms, "inactive_file");
  s.memoryUsageBytes += usage;
  s.memoryWorkingSetBytes += usage > inactive ? usage - inactive : 0;
  s.memoryRssBytes += ms.contains("total_rss") ? u64(ms, "total_rss") : ms.contains("rss") ? u64(ms, "rss") : u64(ms, "anon");
  s.pageFaults += ms.contains("total_pgfault") ? u64(ms, "total_pgfault") : u64(ms, "pgfault");
  s.majorPageFaults += ms.contains("total_pgmajfault") ? u64(ms, "total_pgmajfault") : u64(ms, "pgmajfault");
  s.processes += u64(sub(doc, "pids_stats"), "current");
  if (withNetwork) {
    for (auto& [name, n] : sub(doc, "networks").items()) {
      if (name == "lo") continue;
      s.interfaces.push_back({name, u64(n, "rx_bytes"), u64(n, "rx_errors"), u64(n, "tx_bytes"), u64(n, "tx_errors")});
    }
    std::sort(s.interfaces.begin(), s.interfaces.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
  }
}

std::string sandboxName(const PodMetadata& m) {
  std::string n = fmt::format("k8s_POD_{}_{}_{}_{}", m.name, m.ns, m.uid, m.attempt);
  for (char& c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) c = '-';
  return n;
}

std::string resolvConfText(const DnsConfig& d) {
  std::string out;
  if (!d.searches.empty()) {
    out += "search";
    for (const auto& s : d.searches) out += " " + s;
    out += "\n";
  }
  for (const auto& s : d.servers) out += "nameserver " + s + "\n";
  if (!d.options.empty()) {
    out += "options";
    for (const auto& s : d.options) out += " " + s;
    out += "\n";
  }
  return out;
}

json sandboxCreateBody(const SandboxRequest& r, const std::string& imageId) {
  bool hostNet = r.namespaces.network == NamespaceMode::Node;
  json labels = {{std::string(container::kNamespaceLabel), std::string(container::kCriNamespace)},
                 {kLabelKind, kKindSandbox},
                 {"io.kubernetes.pod.name", r.metadata.name},
                 {"io.kubernetes.pod.namespace", r.metadata.ns},
                 {"io.kubernetes.pod.uid", r.metadata.uid}};
  json sysctls = json::object();
  for (const auto& [k, v] : r.sysctls) sysctls[k] = v;
  std::string cgroupParent = r.cgroupParent;
  while (startsWith(cgroupParent, "/")) cgroupParent.erase(0, 1);
  json hc = {
      {"NetworkMode", hostNet ? "host" : "none"},
      {"IpcMode", r.namespaces.ipc == NamespaceMode::Node ? "host" : "shareable"},
      {"RestartPolicy", {{"Name", "no"}}},
      {"LogConfig", {{"Type", "none"}, {"Config", json::object()}}},
      {"AutoRemove", false},
  };
  if (r.namespaces.pid == NamespaceMode::Node) hc["PidMode"] = "host";
  if (hostNet) hc["UTSMode"] = "host";
  if (!cgroupParent.empty()) hc["CgroupParent"] = cgroupParent;
  if (!sysctls.empty()) hc["Sysctls"] = sysctls;
  if (r.privileged) hc["Privileged"] = true;
  json body = {
      {"Image", imageId},
      {"Entrypoint", {"/pause"}},
      {"Cmd", json::array()},
      {"Labels", labels},
      {"AttachStdin", false},
      {"AttachStdout", false},
      {"AttachStderr", false},
      {"HostConfig", hc},
  };
  if (!hostNet) {
    std::string hostname = r.hostname;
    if (hostname.empty()) {
      char buf[256] = {};
      if (::gethostname(buf, sizeof buf - 1) == 0) hostname = buf;
    }
    if (!hostname.empty()) body["Hostname"] = hostname;
  }
  return body;
}

Pods::Pods(container::Service& containers, image::ImageService& images, PodStore& store, cni::Cni* cni,
           PodsConfig cfg)
    : containers_(containers), images_(images), store_(store), cni_(cni), cfg_(std::move(cfg)) {}

std::shared_ptr<std::mutex> Pods::lockFor(const std::string& id) {
  std::lock_guard g(mu_);
  for (auto it = locks_.begin(); it != locks_.end();) it = it->second.expired() ? locks_.erase(it) : std::next(it);
  auto& w = locks_[id];
  auto m = w.lock();
  if (!m) {
    m = std::make_shared<std::mutex>();
    w = m;
  }
  return m;
}

Result<std::string> Pods::pauseImage() {
  std::lock_guard g(imageMu_);
  {
    std::lock_guard g2(mu_);
    if (!pauseImageId_.empty() && images_.resolve(pauseImageId_)) return pauseImageId_;
  }
  auto bin = readFile(cfg_.pauseBin);
  if (!bin) return std::unexpected(bin.error().wrap("read the pause binary"));
  // The tag names the binary's digest: a new berth-pause gets a new image.
  std::string tag = "berth.local/pause:" + sha256Hex(*bin).substr(0, 12);
  auto imported = ensureFileImage(images_, cfg_.pauseBin, "pause", tag);
  if (!imported) return std::unexpected(imported.error().wrap("import the pause image"));
  std::string id = *imported;
  std::lock_guard g2(mu_);
  pauseImageId_ = id;
  return id;
}

std::vector<std::string> Pods::podContainers(const std::string& sandboxId) {
  container::ListOptions opts;
  opts.all = true;
  opts.ns = container::kCriNamespace;
  opts.filters["label"] = {std::string(kLabelSandboxId) + "=" + sandboxId};
  std::vector<std::string> out;
  auto l = containers_.list(opts);
  if (!l) return out;
  for (const auto& c : *l)
    if (c.record.id != sandboxId) out.push_back(c.record.id);
  return out;
}

Result<std::string> Pods::run(const SandboxRequest& r) {
  if (r.metadata.name.empty() || r.metadata.ns.empty() || r.metadata.uid.empty())
    return makeError(Code::InvalidArgument, "sandbox config must include metadata (name, namespace and uid)");
  if (auto other = store_.findByMetadata(r.metadata))
    return errorf(Code::AlreadyExists, "failed to reserve sandbox name {:?}: name {:?} is reserved for {:?}",
                  sandboxName(r.metadata), sandboxName(r.metadata), *other);
  const int64_t t0 = trace::on() ? trace::now() : 0;
  TRY_ASSIGN(std::string imageId, pauseImage());
  const bool podNetwork = r.namespaces.network != NamespaceMode::Node;
  // The sandbox id is chosen here and given to the pause container, so CNI
  // ADD (whose CNI_CONTAINERID it is) need not wait for the create.
  const std::string id = randomHexId();
  auto lock = lockFor(id);
  std::lock_guard g(*lock);

  // Undone in reverse unless the run completes. The pause thread, when one
  // was started, is joined before anything is undone.
  std::string pin;
  bool pinned = false, created = false, recorded = false, adding = false;
  Sandbox s;
  Result<cni::AddResult> added = makeError(Code::Internal, "CNI ADD did not run");
  Result<> paused = makeError(Code::Internal, "the sandbox container was not started");
  std::thread pauser;
  ScopeExit joinPauser([&] {
    if (pauser.joinable()) pauser.join();
  });
  ScopeExit undo([&] {
    if (pauser.joinable()) pauser.join();
    // A failed ADD may leave a partial attachment: DEL it (prevResult: the
    // result when the ADD succeeded and another step failed).
    if (adding)
      (void)cni_->del(cni::Attachment{id, pin, "eth0", cni::podArgs(r.metadata, id), r.portMappings},
                      added ? added->result : nlohmann::json());
    if (pinned) (void)unpinNetns(pin);
    if (created) (void)containers_.remove(id, true, false);
    if (recorded) (void)store_.remove(id);
  });

  // The pod's network namespace first, pinned under a name of its own (as
  // containerd's cni-<uuid>): the pause joins it by path, so CNI ADD runs
  // while the pause container is created and started instead of after.
  if (podNetwork) {
    pin = cfg_.netnsDir + "/cni-" + randomHexId().substr(0, 32);
    TRY(createPinnedNetns(pin));
    pinned = true;
  }
  if (t0) trace::record(id, "pod: pause image, netns", t0, trace::now());
  std::optional<cni::Attachment> attachment;
  if (podNetwork && cni_) {
    if (auto conf = cni_->config(); !conf) {
      // Deliberately kinder than containerd (which refuses the pod): no
      // CNI configuration means a pod with only lo (docs/cri.md).
      log::warn("cri: sandbox {}: {}; the pod gets no network", id.substr(0, 12), conf.error().message);
    } else {
      attachment = cni::Attachment{id, pin, "eth0", cni::podArgs(r.metadata, id), r.portMappings};
    }
  }

  // The pause container: created, recorded, started. On a thread of its own
  // while this one runs CNI ADD (ADD, Go plugins, is the longer of the two).
  auto startPause = [&]() -> Result<> {
    trace::Phases phase(id);
    container::CreateRequest req{sandboxName(r.metadata), sandboxCreateBody(r, imageId), pin, id};
    auto c = containers_.create(req);
    if (!c) return std::unexpected(c.error().wrap("failed to create the sandbox container"));
    created = true;
    phase("pod: create");
    s.id = id;
    s.metadata = r.metadata;
    s.hostname = r.hostname;
    s.logDirectory = r.logDirectory;
    s.runtimeHandler = r.runtimeHandler;
    s.cgroupParent = r.cgroupParent;
    s.namespaces = r.namespaces;
    s.labels = r.labels;
    s.annotations = r.annotations;
    s.sysctls = r.sysctls;
    s.dns = r.dns;
    s.portMappings = r.portMappings;
    s.createdAt = nowNanos();
    TRY_ASSIGN(auto details, containers_.inspect(id, false));
    s.resolvConfPath = details.paths.resolvConf;
    s.hostsPath = details.paths.hosts;
    if (!r.dns.servers.empty() || !r.dns.searches.empty() || !r.dns.options.empty())
      TRY(writeFileReplace(s.resolvConfPath, resolvConfText(r.dns)));
    phase("pod: inspect, resolv.conf");
    // The first record names no namespace: a pod cut short by a berthd
    // crash reads NOTREADY after the restart and reconcile() drops the pin.
    TRY(store_.put(s));
    recorded = true;
    phase("pod: record");
    if (auto st = containers_.start(id); !st)
      return std::unexpected(st.error().wrap("failed to start the sandbox container"));
    phase("pod: start pause");
    return {};
  };
  if (attachment) {
    try {
      pauser = std::thread([&] {
        try {
          paused = startPause();
        } catch (const std::exception& e) {  // never past the thread: that would terminate berthd
          paused = errorf(Code::Internal, "failed to start the sandbox container: {}", e.what());
        }
      });
    } catch (const std::system_error&) {
      paused = startPause();  // no thread to be had: one after the other
    }
    adding = true;
    const int64_t ta = t0 ? trace::now() : 0;
    added = cni_->add(*attachment);
    if (ta) trace::record(id, "pod: CNI ADD (beside the pause)", ta, trace::now());
    if (pauser.joinable()) pauser.join();
  } else {
    paused = startPause();
  }
  int64_t tFinal = t0 ? trace::now() : 0;
  TRY(paused);
  if (adding) {
    if (!added)
      return std::unexpected(added.error().wrap(fmt::format("failed to setup network for sandbox {:?}", id)));
    s.cniResult = added->result;
    s.ip = added->ips.ip;
    s.additionalIps = added->ips.additional;
  }
  s.netnsPath = pin;
  TRY(store_.put(s));
  if (t0) {
    int64_t t = trace::now();
    trace::record(id, "pod: record (final)", tFinal, t);
    trace::record(id, "pod: RunPodSandbox", t0, t);
  }
  undo.dismiss();
  return id;
}

Result<> Pods::teardownNetwork(Sandbox& s) {
  if (s.netnsPath.empty()) return {};
  if (cni_ && !s.cniResult.is_null()) {
    cni::Attachment a{s.id, s.netnsPath, "eth0", cni::podArgs(s.metadata, s.id), s.portMappings};
    auto d = cni_->del(a, s.cniResult);
    // No configuration any more: nothing to run DEL with (containerd skips too).
    if (!d && d.error().code != Code::NotFound)
      return std::unexpected(d.error().wrap(fmt::format("failed to destroy network for sandbox {:?}", s.id)));
  }
  TRY(unpinNetns(s.netnsPath));
  s.netnsPath.clear();
  s.cniResult = json();
  return store_.put(s);
}

Result<> Pods::stop(const std::string& ref) {
  TRY_ASSIGN(Sandbox s, store_.sandbox(ref));
  auto lock = lockFor(s.id);
  std::lock_guard g(*lock);
  TRY_ASSIGN(s, store_.sandbox(s.id));  // as it is now, under the lock
  // The pod's containers first, at once (containerd's timeout 0).
  for (const auto& c : podContainers(s.id)) {
    auto r = containers_.stop(c, 0);
    if (!ignorable(r)) return std::unexpected(r.error().wrap(fmt::format("failed to stop container {:?}", c)));
  }
  TRY(teardownNetwork(s));
  auto r = containers_.stop(s.id, 10);
  if (!ignorable(r)) return std::unexpected(r.error().wrap("failed to stop sandbox container"));
  return {};
}

Result<> Pods::remove(const std::string& ref) {
  auto found = store_.sandbox(ref);
  if (!found) {
    if (found.error().code == Code::NotFound) return {};
    return std::unexpected(found.error());
  }
  TRY(stop(found->id));
  auto lock = lockFor(found->id);
  std::lock_guard g(*lock);
  for (const auto& c : podContainers(found->id)) {
    auto r = containers_.remove(c, true, false);
    if (!ignorable(r)) return std::unexpected(r.error().wrap(fmt::format("failed to remove container {:?}", c)));
  }
  auto r = containers_.remove(found->id, true, false);
  if (!ignorable(r)) return std::unexpected(r.error().wrap("failed to remove sandbox container"));
  return store_.remove(found->id);
}

std::vector<Sandbox> Pods::list(const SandboxFilter& f) {
  std::vector<Sandbox> out;
  for (auto& s : store_.list())
    if (matchesFilter(s, f)) out.push_back(std::move(s));
  std::sort(out.begin(), out.end(), [](const Sandbox& a, const Sandbox& b) { return a.createdAt > b.createdAt; });
  return out;
}

int Pods::reconcile() {
  int n = 0;
  std::set<std::string> known, pins;
  for (const auto& s : store_.list()) {
    known.insert(s.id);
    if (!s.netnsPath.empty()) pins.insert(s.netnsPath);
  }
  container::ListOptions opts;
  opts.all = true;
  opts.ns = container::kCriNamespace;
  opts.filters["label"] = {std::string(kLabelKind) + "=" + kKindSandbox};
  if (auto l = containers_.list(opts)) {
    for (const auto& c : *l) {
      if (known.count(c.record.id)) continue;
      log::warn("cri: removing pause container {} (no sandbox record: a RunPodSandbox cut short)", c.record.shortId());
      if (containers_.remove(c.record.id, true, false)) n++;
    }
  }
  if (DIR* d = ::opendir(cfg_.netnsDir.c_str())) {
    std::vector<std::string> stale;
    while (auto* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      if (!pins.count(cfg_.netnsDir + "/" + name)) stale.push_back(cfg_.netnsDir + "/" + name);
    }
    ::closedir(d);
    for (const auto& p : stale) {
      log::warn("cri: removing network namespace pin {} (no sandbox record)", p);
      if (unpinNetns(p)) n++;
    }
  }
  return n;
}

Result<SandboxStats> Pods::stats(const std::string& ref) {
  TRY_ASSIGN(Sandbox s, store_.sandbox(ref));
  SandboxStats out;
  out.timestamp = nowNanos();
  std::vector<std::string> ids = {s.id};
  for (auto& c : podContainers(s.id)) ids.push_back(c);
  for (size_t i = 0; i < ids.size(); i++) {
    CaptureWriter w;
    auto r = containers_.stats(ids[i], false, true, w);
    if (!r) {
      if (i == 0) return std::unexpected(r.error());
      continue;  // a container removed meanwhile
    }
    json doc = json::parse(w.out, nullptr, false);
    if (doc.is_object()) addDockerStats(out, doc, i == 0);
  }
  return out;
}

}  // namespace berth::cri
