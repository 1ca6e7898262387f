#include "cri/pod_store.h"

#include <dirent.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "container/service.h"

namespace berth::cri {

using json = nlohmann::json;

namespace {

json strMap(const std::map<std::string, std::string>& m) {
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

std::map<std::string, std::string> readMap(const json& j, const char* key) {
  std::map<std::string, std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return out;
  for (auto& [k, v] : it->items())
    if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

std::vector<std::string> readList(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

bool isHexId(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

json Sandbox::toJson() const {
  json ports = json::array();
  for (const auto& p : portMappings)
    ports.push_back({{"protocol", p.protocol}, {"containerPort", p.containerPort}, {"hostPort", p.hostPort},
                     {"hostIp", p.hostIp}});
  return json{
      {"id", id},
      {"metadata", {{"name", metadata.name}, {"uid", metadata.uid}, {"namespace", metadata.ns},
                    {"attempt", metadata.attempt}}},
      {"hostname", hostname},
      {"logDirectory", logDirectory},
      {"runtimeHandler", runtimeHandler},
      {"cgroupParent", cgroupParent},
      {"namespaces", {{"network", int(namespaces.network)}, {"pid", int(namespaces.pid)},
                      {"ipc", int(namespaces.ipc)}, {"targetId", namespaces.targetId}}},
      {"labels", strMap(labels)},
      {"annotations", strMap(annotations)},
      {"sysctls", strMap(sysctls)},
      {"dns", {{"servers", dns.servers}, {"searches", dns.searches}, {"options", dns.options}}},
      {"portMappings", ports},
      {"createdAt", createdAt},
      {"netnsPath", netnsPath},
      {"ip", ip},
      {"additionalIps", additionalIps},
      {"cniResult", cniResult},
      {"resolvConfPath", resolvConfPath},
      {"hostsPath", hostsPath},
  };
}

Result<Sandbox> Sandbox::fromJson(const json& j) {
  if (!j.is_object()) return errorf(Code::InvalidArgument, "sandbox record: not an object");
  try {
    Sandbox s;
    s.id = j.value("id", "");
    if (!isHexId(s.id)) return errorf(Code::InvalidArgument, "sandbox record: bad id {:?}", s.id);
    if (auto m = j.find("metadata"); m != j.end() && m->is_object()) {
      s.metadata.name = m->value("name", "");
      s.metadata.uid = m->value("uid", "");
      s.metadata.ns = m->value("namespace", "");
      s.metadata.attempt = m->value("attempt", 0u);
    }
    s.hostname = j.value("hostname", "");
    s.logDirectory = j.value("logDirectory", "");
    s.runtimeHandler = j.value("runtimeHandler", "");
    s.cgroupParent = j.value("cgroupParent", "");
    if (auto n = j.find("namespaces"); n != j.end() && n->is_object()) {
      auto mode = [&](const char* k, NamespaceMode d) {
        int v = n->value(k, int(d));
        return v >= 0 && v <= 3 ? NamespaceMode(v) : d;
      };
      s.namespaces.network = mode("network", NamespaceMode::Pod);
      s.namespaces.pid = mode("pid", NamespaceMode::Container);
      s.namespaces.ipc = mode("ipc", NamespaceMode::Pod);
      s.namespaces.targetId = n->value("targetId", "");
    }
    s.labels = readMap(j, "labels");
    s.annotations = readMap(j, "annotations");
    s.sysctls = readMap(j, "sysctls");
    if (auto d = j.find("dns"); d != j.end() && d->is_object()) {
      s.dns.servers = readList(*d, "servers");
      s.dns.searches = readList(*d, "searches");
      s.dns.options = readList(*d, "options");
    }
    if (auto p = j.find("portMappings"); p != j.end() && p->is_array()) {
      for (const auto& e : *p) {
        if (!e.is_object()) continue;
        PortMapping m;
        m.protocol = e.value("protocol", "tcp");
        m.containerPort = e.value("containerPort", 0);
        m.hostPort = e.value("hostPort", 0);
        m.hostIp = e.value("hostIp", "");
        s.portMappings.push_back(m);
      }
    }
    s.createdAt = j.value("createdAt", int64_t(0));
    s.netnsPath = j.value("netnsPath", "");
    s.ip = j.value("ip", "");
    s.additionalIps = readList(j, "additionalIps");
    s.cniResult = j.value("cniResult", json());
    s.resolvConfPath = j.value("resolvConfPath", "");
    s.hostsPath = j.value("hostsPath", "");
    return s;
  } catch (const json::exception& e) {
    return errorf(Code::InvalidArgument, "sandbox record: {}", e.what());
  }
}

PodStore::PodStore(std::string dir, container::Queries* containers)
    : dir_(std::move(dir)), containers_(containers) {}

Result<> PodStore::load() {
  TRY(mkdirAll(dir_, 0700));
  DIR* d = ::opendir(dir_.c_str());
  if (!d) return sysError(errno, "open {}", dir_);
  std::map<std::string, Sandbox> found;
  while (auto* ent = ::readdir(d)) {
    std::string name = ent->d_name;
    if (!endsWith(name, ".json")) continue;
    auto text = readFile(dir_ + "/" + name);
    if (!text) continue;
    json j = json::parse(*text, nullptr, false);
    auto s = Sandbox::fromJson(j);
    if (!s || s->id + ".json" != name) {
      log::warn("cri: skipping sandbox record {}/{}", dir_, name);
      continue;
    }
    found[s->id] = std::move(*s);
  }
  ::closedir(d);
  std::lock_guard g(mu_);
  byId_ = std::move(found);
  return {};
}

SandboxState PodStore::stateOf(const Sandbox& s) {
  if (!containers_) return SandboxState::NotReady;
  auto d = containers_->inspect(s.id, false);
  if (!d) return SandboxState::NotReady;
  if (d->record.state.status != container::State::Running) return SandboxState::NotReady;
  // A pod network torn down by StopPodSandbox is not ready even while the
  // pause still runs (a stop in progress).
  if (s.namespaces.network != NamespaceMode::Node && s.netnsPath.empty()) return SandboxState::NotReady;
  return SandboxState::Ready;
}

Result<Sandbox> PodStore::sandbox(const std::string& ref) {
  Sandbox out;
  {
    std::lock_guard g(mu_);
    if (ref.empty()) return errorf(Code::NotFound, "sandbox \"{}\" not found", ref);
    auto it = byId_.lower_bound(ref);
    if (it == byId_.end() || !startsWith(it->first, ref))
      return errorf(Code::NotFound, "sandbox \"{}\" not found", ref);
    auto next = std::next(it);
    if (it->first != ref && next != byId_.end() && startsWith(next->first, ref))
      return errorf(Code::NotFound, "sandbox \"{}\" not found: the prefix is ambiguous", ref);
    out = it->second;
  }
  out.state = stateOf(out);
  return out;
}

std::vector<Sandbox> PodStore::list() {
  std::vector<Sandbox> out;
  {
    std::lock_guard g(mu_);
    for (const auto& [id, s] : byId_) out.push_back(s);
  }
  for (auto& s : out) s.state = stateOf(s);
  return out;
}

Result<> PodStore::put(const Sandbox& s) {
  if (!isHexId(s.id)) return errorf(Code::InvalidArgument, "sandbox record: bad id {:?}", s.id);
  std::lock_guard g(mu_);
  TRY(mkdirAll(dir_, 0700));
  // Temp name and rename, no fsync (durability: pod_store.h).
  TRY(writeFileReplace(dir_ + "/" + s.id + ".json", s.toJson().dump(), 0600));
  byId_[s.id] = s;
  return {};
}

Result<> PodStore::remove(const std::string& id) {
  std::lock_guard g(mu_);
  if (isHexId(id)) {
    std::string path = dir_ + "/" + id + ".json";
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sysError(errno, "remove {}", path);
  }
  byId_.erase(id);
  return {};
}

std::optional<std::string> PodStore::findByMetadata(const PodMetadata& m) {
  std::lock_guard g(mu_);
  for (const auto& [id, s] : byId_)
    if (s.metadata.name == m.name && s.metadata.ns == m.ns && s.metadata.uid == m.uid &&
        s.metadata.attempt == m.attempt)
      return id;
  return std::nullopt;
}

}  // namespace berth::cri
