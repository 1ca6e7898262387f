// The container service's side of networking (issue 12): the start/stop
// path's sandbox and endpoints, connect/disconnect, legacy links.
// Decisions that need no service state live in networking.cpp.

#include <fcntl.h>
#include <chrono>
#include <unistd.h>

#include "common/fd.h"
#include "common/log.h"
#include "common/util.h"
#include "container/service_impl.h"

namespace berth::container {

using json = nlohmann::json;

namespace {

// In place (open, truncate, write): the file is bind-mounted into a
// running container, whose mount keeps the inode a rename would replace.
Result<> rewriteInPlace(const std::string& path, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return std::unexpected(sysError(errno, "open {}", path));
  while (!data.empty()) {
    ssize_t n = ::write(fd.get(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(sysError(errno, "write {}", path));
    }
    data.remove_prefix(size_t(n));
  }
  return {};
}

std::vector<std::string> strList(const json& j, const char* key) {
  std::vector<std::string> out;
  if (j.is_object() && j.contains(key) && j[key].is_array())
    for (auto& v : j[key])
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

bool running(State s) { return s == State::Running || s == State::Paused; }

}  // namespace

std::vector<network::Endpoint> ServiceImpl::liveEndpoints(const Container& c) {
  if (!networks_ || c.state.sandboxKey.empty()) return {};
  return networks_->endpointsOf(c.id);
}

void ServiceImpl::stopNetworking(const std::string& id, const std::string& networkMode) {
  if (!networks_ || !usesSandbox(networkMode)) return;
  auto t0 = std::chrono::steady_clock::now();
  if (auto r = networks_->removeSandbox(id); !r)
    log::warn("container {}: remove network sandbox: {}", id.substr(0, 12), r.error().message);
  log::debug("container {}: network teardown {:.2f} ms", id.substr(0, 12),
             std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
}

Result<> ServiceImpl::writeSandboxFiles(const Container& c) {
  auto files = networks_->sandboxFiles(c.id, c.config.value("Hostname", c.shortId()), c.config.value("Domainname", ""),
                                       strList(c.hostConfig, "ExtraHosts"), strList(c.hostConfig, "Dns"),
                                       strList(c.hostConfig, "DnsSearch"), strList(c.hostConfig, "DnsOptions"));
  if (!files) return std::unexpected(files.error());
  std::string dir = dirOf(c.id);
  TRY(rewriteInPlace(dir + "/hosts", files->hosts));
  TRY(rewriteInPlace(dir + "/resolv.conf", files->resolvConf));
  return {};
}

Result<AttachedNetworks> ServiceImpl::startNetworking(Container& c) {
  // Legacy links (default bridge only, as dockerd): the linked containers
  // must run; their address goes into env vars and /etc/hosts.
  struct Linked {
    std::string id, name, alias;
    json env, exposed;
  };
  std::vector<Linked> linked;
  const std::string mode = c.hostConfig.value("NetworkMode", "bridge");
  if (mode == "bridge") {
    std::lock_guard lk(mu_);
    for (auto& l : strList(c.hostConfig, "Links")) {
      auto pl = parseLink(l);
      if (!pl) continue;
      auto t = findLocked(pl->first);
      if (!t) return errorf(Code::InvalidArgument, "could not get container for {}: No such container: {}",
                            pl->first, pl->first);
      if (!running(t->c.state.status))
        return errorf(Code::InvalidArgument, "Cannot link to a non running container: /{} AS /{}/{}", t->c.name,
                      c.name, pl->second);
      linked.push_back({t->c.id, t->c.name, pl->second, t->c.config.value("Env", json::array()),
                        t->c.config.value("ExposedPorts", json(nullptr))});
    }
  }
  std::vector<std::string> pairs;
  std::vector<std::string> env;
  for (auto& l : linked) {
    pairs.push_back(l.name + ":" + l.alias);
    std::string ip;
    for (auto& ep : networks_->endpointsOf(l.id))
      if (ep.networkName == "bridge") ip = ep.ipv4;
    for (auto& v : linkEnv(l.alias, l.name, c.name, ip, l.exposed, l.env)) env.push_back(std::move(v));
  }
  if (!env.empty()) {
    // The container's own variables win over the link's (dockerd's order).
    json own = c.config.value("Env", json::array());
    auto keyOf = [](const std::string& s) { return s.substr(0, s.find('=')); };
    json merged = json::array();
    for (auto& v : env) {
      bool shadowed = false;
      for (auto& o : own)
        if (o.is_string() && keyOf(o.get<std::string>()) == keyOf(v)) shadowed = true;
      if (!shadowed) merged.push_back(v);
    }
    for (auto& o : own) merged.push_back(o);
    c.config["Env"] = merged;
  }
  TRY_ASSIGN(auto attached, attachNetworks(*networks_, c, pairs));
  std::string dir = dirOf(c.id);
  auto w = writeFileReplace(dir + "/hosts", attached.files.hosts);
  if (w) w = writeFileReplace(dir + "/resolv.conf", attached.files.resolvConf);
  if (!w) {
    stopNetworking(c.id, mode);
    return std::unexpected(w.error());
  }
  return attached;
}

Result<> ServiceImpl::connect(const std::string& containerRef, const std::string& networkRef,
                              const json& settingsIn) {
  if (!networks_) return errorf(Code::NotFound, "network {} not found", networkRef);
  json settings = settingsIn.is_object() ? settingsIn : json::object();
  std::unique_lock lk(mu_);
  TRY_ASSIGN(auto e, getLocked(containerRef));
  waitNotBusyLocked(lk, *e);
  dropWarmLocked(lk, *e);  // a warm start has no sandbox to change
  if (e->removed) return errorf(Code::NotFound, "No such container: {}", containerRef);
  const std::string mode = e->c.hostConfig.value("NetworkMode", "bridge");
  if (isContainerMode(mode))
    return makeError(Code::InvalidArgument,
                     "container sharing network namespace with another container or host cannot be connected to any "
                     "other network");
  TRY_ASSIGN(auto info, networks_->resolve(networkRef));
  if (info.name == "host" || mode == "host")
    return makeError(Code::InvalidArgument,
                     "container cannot be disconnected from host network or connected to host network");
  if (info.name == "none" || mode == "none")
    return makeError(Code::InvalidArgument,
                     "container cannot be connected to multiple networks with one of the networks in private (none) "
                     "mode");
  if (info.name == "bridge") {
    const json ipam = settings.value("IPAMConfig", json::object());
    if ((ipam.is_object() && (!ipam.value("IPv4Address", "").empty() || !ipam.value("IPv6Address", "").empty())))
      return makeError(Code::InvalidArgument,
                       "invalid endpoint settings:\nuser specified IP address is supported on user defined networks "
                       "only");
    if (settings.contains("Aliases") && settings["Aliases"].is_array() && !settings["Aliases"].empty())
      return makeError(Code::InvalidArgument,
                       "invalid endpoint settings:\nnetwork-scoped alias is supported only for containers in user "
                       "defined networks");
  }
  std::string existing;
  for (auto& [k, v] : e->c.networks.items())
    if (k == info.name || (v.is_object() && v.value("NetworkID", "") == info.id)) existing = k;
  settings["NetworkID"] = info.id;
  if (!running(e->c.state.status)) {
    // Stopped: the intent only (dockerd ignores a second connect).
    if (!existing.empty()) return {};
    e->c.networks[info.name] = settings;
    return saveLocked(*e);
  }
  if (!existing.empty())
    return errorf(Code::PermissionDenied, "endpoint with name {} already exists in network {}", e->c.name, info.name);
  e->busy = true;
  Container c = e->c;
  lk.unlock();
  auto ep = networks_->attach(info.id, endpointRequest(c, settings, false));
  Result<> files = ep ? writeSandboxFiles(c) : Result<>{};
  if (ep && !files) {
    (void)networks_->detach(info.id, c.id);
    ep = std::unexpected(files.error());
  }
  lk.lock();
  e->busy = false;
  cv_.notify_all();
  if (!ep) return std::unexpected(ep.error());
  e->c.networks[info.name] = settings;
  return saveLocked(*e);
}

Result<> ServiceImpl::disconnect(const std::string& containerRef, const std::string& networkRef, bool force) {
  std::unique_lock lk(mu_);
  TRY_ASSIGN(auto e, getLocked(containerRef));
  waitNotBusyLocked(lk, *e);
  dropWarmLocked(lk, *e);  // a warm start has no sandbox to change
  if (e->removed) return errorf(Code::NotFound, "No such container: {}", containerRef);
  const std::string mode = e->c.hostConfig.value("NetworkMode", "bridge");
  Result<network::NetworkInfo> info = networks_ ? networks_->resolve(networkRef)
                                                : Result<network::NetworkInfo>(errorf(Code::NotFound, "network {} not found", networkRef));
  bool live = running(e->c.state.status);
  if (!info) {
    // A network that is gone: a stopped container (or force) drops the intent by name.
    if ((!live || force) && e->c.networks.contains(networkRef)) {
      e->c.networks.erase(networkRef);
      return saveLocked(*e);
    }
    return std::unexpected(info.error());
  }
  if (info->name == "host" || mode == "host")
    return makeError(Code::InvalidArgument,
                     "container cannot be disconnected from host network or connected to host network");
  std::string key;
  for (auto& [k, v] : e->c.networks.items())
    if (k == info->name || (v.is_object() && v.value("NetworkID", "") == info->id)) key = k;
  if (key.empty())
    return errorf(Code::PermissionDenied, "container {} is not connected to network {}", e->c.id, info->name);
  if (!live || e->c.state.sandboxKey.empty()) {
    e->c.networks.erase(key);
    return saveLocked(*e);
  }
  e->busy = true;
  Container c = e->c;
  lk.unlock();
  auto r = networks_->detach(info->id, c.id);
  if (r) r = writeSandboxFiles(c);
  lk.lock();
  e->busy = false;
  cv_.notify_all();
  if (!r && r.error().code != Code::NotFound) return r;
  e->c.networks.erase(key);
  return saveLocked(*e);
}

Result<> ServiceImpl::removeLink(const std::string& linkName) {
  // "/parent/alias" (dockerd's getParentAndAlias: "Conflict, cannot remove the default link name of the container").
  std::string name = linkName;
  if (!name.empty() && name[0] != '/') name = "/" + name;
  auto slash = name.rfind('/');
  if (slash == 0) return makeError(Code::Conflict, "Conflict, cannot remove the default link name of the container");
  std::string parent = name.substr(1, slash - 1), alias = name.substr(slash + 1);
  std::unique_lock lk(mu_);
  auto p = findLocked(parent);
  if (!p) return errorf(Code::Internal, "Cannot get parent /{} for link name {}", parent, name);
  json links = p->c.hostConfig.value("Links", json::array());
  json kept = json::array();
  bool found = false;
  for (auto& l : links) {
    auto pl = l.is_string() ? parseLink(l.get<std::string>()) : std::nullopt;
    if (pl && pl->second == alias) {
      found = true;
      continue;
    }
    kept.push_back(l);
  }
  if (!found) return errorf(Code::NotFound, "No such container: {}", linkName);
  p->c.hostConfig["Links"] = kept;
  return saveLocked(*p);
}

}  // namespace berth::container
