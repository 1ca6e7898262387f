#include "api/containers_json.h"

#include "common/number.h"
#include "container/health.h"
#include "common/util.h"

namespace berth::api {

using json = nlohmann::json;
using container::State;

namespace {

std::string commandLine(const container::Container& c) {
  std::string s = c.path;
  for (auto& a : c.args) s += " " + a;
  return s;
}

json mountsJson(const std::vector<container::MountPoint>& mounts) {
  json out = json::array();
  for (auto& m : mounts) out.push_back(m.inspectJson());
  return out;
}

void putSizes(json& j, const std::optional<container::ContainerSizes>& sizes) {
  if (!sizes) return;
  j["SizeRw"] = sizes->rw;
  j["SizeRootFs"] = sizes->rootFs;
}

json strsOrNull(const json& settings, const char* key) {
  if (!settings.is_object() || !settings.contains(key) || !settings[key].is_array() || settings[key].empty())
    return nullptr;
  return settings[key];
}

json strsOrNull(const std::vector<std::string>& v) { return v.empty() ? json(nullptr) : json(v); }

// One Networks.<name> entry: the intent, and the live endpoint when there is one.
json endpointJson(const json& intent, const network::Endpoint* ep) {
  json ipam = intent.is_object() ? intent.value("IPAMConfig", json(nullptr)) : json(nullptr);
  if (ipam.is_object() && ipam.empty()) ipam = nullptr;
  json j = {{"IPAMConfig", ipam},
            {"Links", strsOrNull(intent, "Links")},
            {"Aliases", strsOrNull(intent, "Aliases")},
            {"MacAddress", intent.is_object() ? intent.value("MacAddress", "") : ""},
            {"DriverOpts", intent.is_object() ? intent.value("DriverOpts", json(nullptr)) : json(nullptr)},
            {"GwPriority", intent.is_object() ? intent.value("GwPriority", 0) : 0},
            {"NetworkID", intent.is_object() ? intent.value("NetworkID", "") : ""},
            {"EndpointID", ""},
            {"Gateway", ""},
            {"IPAddress", ""},
            {"IPPrefixLen", 0},
            {"IPv6Gateway", ""},
            {"GlobalIPv6Address", ""},
            {"GlobalIPv6PrefixLen", 0},
            {"DNSNames", nullptr}};
  if (ep) {
    if (!ep->aliases.empty()) j["Aliases"] = ep->aliases;
    if (!ep->links.empty()) j["Links"] = ep->links;
    j["MacAddress"] = ep->mac;
    j["NetworkID"] = ep->networkId;
    j["EndpointID"] = ep->endpointId;
    j["Gateway"] = ep->gateway;
    j["IPAddress"] = ep->ipv4;
    j["IPPrefixLen"] = ep->ipv4PrefixLen;
    j["IPv6Gateway"] = ep->gateway6;
    j["GlobalIPv6Address"] = ep->ipv6;
    j["GlobalIPv6PrefixLen"] = ep->ipv6PrefixLen;
    j["DNSNames"] = strsOrNull(ep->dnsNames);
  }
  return j;
}

const network::Endpoint* findEndpoint(const std::vector<network::Endpoint>& eps, const std::string& name,
                                      const json& intent) {
  std::string id = intent.is_object() ? intent.value("NetworkID", "") : "";
  for (auto& ep : eps)
    if (ep.networkName == name || (!id.empty() && ep.networkId == id)) return &ep;
  return nullptr;
}

}  // namespace

json endpointsJson(const container::Container& c, const std::vector<network::Endpoint>& endpoints) {
  json out = json::object();
  json intents = c.networks.is_object() ? c.networks : json::object();
  // A record from before issue 12 has no intent: its NetworkMode's network.
  std::string mode = c.hostConfig.value("NetworkMode", "bridge");
  if (intents.empty() && !mode.starts_with("container:")) intents[mode == "default" ? "bridge" : mode] = json::object();
  for (auto& [name, intent] : intents.items()) out[name] = endpointJson(intent, findEndpoint(endpoints, name, intent));
  // A live endpoint the intent does not name (should not happen): show it.
  for (auto& ep : endpoints)
    if (!out.contains(ep.networkName)) out[ep.networkName] = endpointJson(json::object(), &ep);
  return out;
}

json networkSettingsJson(const container::Container& c, const std::vector<network::Endpoint>& endpoints) {
  bool live = !c.state.sandboxKey.empty();
  std::vector<network::PortMapping> mappings;
  for (auto& ep : endpoints) mappings.insert(mappings.end(), ep.ports.begin(), ep.ports.end());
  json ports = json::object();
  if (live) ports = network::portsJson(mappings, c.config.value("ExposedPorts", json(nullptr)));
  json networks = endpointsJson(c, endpoints);
  json j = {{"Bridge", ""},
            {"SandboxID", live ? c.id : ""},
            {"SandboxKey", c.state.sandboxKey},
            {"HairpinMode", false},
            {"LinkLocalIPv6Address", ""},
            {"LinkLocalIPv6PrefixLen", 0},
            {"Ports", ports},
            {"SecondaryIPAddresses", nullptr},
            {"SecondaryIPv6Addresses", nullptr},
            {"EndpointID", ""},
            {"Gateway", ""},
            {"GlobalIPv6Address", ""},
            {"GlobalIPv6PrefixLen", 0},
            {"IPAddress", ""},
            {"IPPrefixLen", 0},
            {"IPv6Gateway", ""},
            {"MacAddress", ""},
            {"Networks", networks}};
  // dockerd fills the top-level fields from the default bridge's endpoint only.
  if (networks.contains("bridge")) {
    const json& b = networks["bridge"];
    for (const char* k : {"EndpointID", "Gateway", "GlobalIPv6Address", "GlobalIPv6PrefixLen", "IPAddress",
                          "IPPrefixLen", "IPv6Gateway", "MacAddress"})
      j[k] = b[k];
  }
  return j;
}

json containerInspectJson(const container::ContainerDetails& d) {
  const container::Container& c = d.record;
  const container::ContainerState& s = c.state;
  json state = {{"Status", container::stateName(s.status)},
                {"Running", s.status == State::Running || s.status == State::Paused || s.status == State::Restarting},
                {"Paused", s.status == State::Paused},
                {"Restarting", s.status == State::Restarting},
                {"OOMKilled", s.oomKilled},
                {"Dead", s.status == State::Dead},
                {"Pid", s.pid},
                {"ExitCode", s.exitCode},
                {"Error", s.error},
                {"StartedAt", formatRfc3339Nano(s.startedAt)},
                {"FinishedAt", formatRfc3339Nano(s.finishedAt)}};
  if (s.health.is_object()) state["Health"] = container::Health::fromRecord(s.health).toJson();
  json execIds = c.execIds.empty() ? json(nullptr) : json(c.execIds);
  json j = {
      {"Id", c.id},
      {"Created", formatRfc3339Nano(c.created)},
      {"Path", c.path},
      {"Args", c.args},
      {"State", state},
      {"Image", c.imageId},
      {"ResolvConfPath", d.paths.resolvConf},
      {"HostnamePath", d.paths.hostname},
      {"HostsPath", d.paths.hosts},
      {"LogPath", d.paths.log},
      {"Name", "/" + c.name},
      {"RestartCount", s.restartCount},
      {"Driver", "overlay2"},
      {"Platform", "linux"},
      {"MountLabel", ""},
      {"ProcessLabel", ""},
      {"AppArmorProfile", ""},
      {"ExecIDs", execIds},
      {"HostConfig", c.hostConfig},
      {"GraphDriver",
       {{"Data", {{"UpperDir", d.paths.upper}, {"WorkDir", d.paths.work}, {"MergedDir", d.paths.merged}}},
        {"Name", "overlay2"}}},
      {"Mounts", mountsJson(d.mounts)},
      {"Config", c.config},
      {"NetworkSettings", networkSettingsJson(c, d.endpoints)},
  };
  putSizes(j, d.sizes);
  return j;
}

json containerSummaryJson(const container::ContainerSummary& s, int64_t now) {
  const container::Container& c = s.record;
  std::string netMode = c.hostConfig.value("NetworkMode", "bridge");
  std::vector<network::PortMapping> mappings;
  for (auto& ep : s.endpoints) mappings.insert(mappings.end(), ep.ports.begin(), ep.ports.end());
  json ports = network::portsSummaryJson(mappings, c.config.value("ExposedPorts", json(nullptr)));
  json networks = endpointsJson(c, s.endpoints);
  json j = {{"Id", c.id},
            {"Names", {"/" + c.name}},
            {"Image", c.config.value("Image", c.imageId)},
            {"ImageID", c.imageId},
            {"Command", commandLine(c)},
            {"Created", c.created / 1000000000},
            {"Ports", ports},
            {"Labels", c.config.value("Labels", json::object())},
            {"State", container::stateName(c.state.status)},
            {"Status", container::statusText(c.state, now)},
            {"HostConfig", {{"NetworkMode", netMode}}},
            {"NetworkSettings", {{"Networks", networks}}},
            {"Mounts", mountsJson(s.mounts)}};
  // API 1.46: the container's annotations, omitted when empty
  if (auto a = c.hostConfig.find("Annotations"); a != c.hostConfig.end() && a->is_object() && !a->empty())
    j["HostConfig"]["Annotations"] = *a;
  putSizes(j, s.sizes);
  return j;
}

json containerPruneJson(const container::PruneReport& r) {
  return json{{"ContainersDeleted", r.deleted.empty() ? json(nullptr) : json(r.deleted)},
              {"SpaceReclaimed", r.spaceReclaimed}};
}

json execInspectJson(const container::ExecDetails& d) {
  return json{{"ID", d.id},
              {"Running", d.running},
              {"ExitCode", d.exitCode ? json(*d.exitCode) : json(nullptr)},
              {"ProcessConfig",
               {{"tty", d.tty},
                {"entrypoint", d.entrypoint},
                {"arguments", d.arguments},
                {"privileged", d.privileged},
                {"user", d.user}}},
              {"OpenStdin", d.openStdin},
              {"OpenStderr", d.openStderr},
              {"OpenStdout", d.openStdout},
              {"CanRemove", false},
              {"ContainerID", d.containerId},
              {"DetachKeys", d.detachKeys},
              {"Pid", d.pid}};
}

json containerTopJson(const container::TopResult& t) {
  json procs = json::array();
  for (auto& p : t.processes) procs.push_back(p);
  return json{{"Titles", t.titles}, {"Processes", procs}};
}

json containerUpdateJson(const container::UpdateResult& u) {
  return json{{"Warnings", u.warnings.empty() ? json::array() : json(u.warnings)}};
}

json containerChangesJson(const std::vector<container::Change>& changes) {
  json out = json::array();
  for (auto& c : changes) out.push_back({{"Path", c.path}, {"Kind", int(c.kind)}});
  return out;
}

json diskUsageJson(const container::DiskUsage& du, int64_t now) {
  json containers = json::array();
  for (auto& c : du.containers) containers.push_back(containerSummaryJson(c, now));
  json images = json::array();
  auto orNull = [](const std::vector<std::string>& v) { return v.empty() ? json(nullptr) : json(v); };
  for (auto& u : du.images) {
    const image::ImageSummary& s = u.image;
    images.push_back({{"Containers", u.containers},
                      {"Created", s.created / 1000000000},
                      {"Id", s.id},
                      {"Labels", s.labels},
                      {"ParentId", s.parentId},
                      {"RepoDigests", orNull(s.repoDigests)},
                      {"RepoTags", orNull(s.repoTags)},
                      {"SharedSize", s.sharedSize},
                      {"Size", s.size},
                      {"VirtualSize", s.size}});
  }
  json volumes = json::array();
  for (auto& v : du.volumes) {
    json j = v.volume.toJson();
    j["UsageData"] = {{"RefCount", v.refCount}, {"Size", v.size}};
    volumes.push_back(j);
  }
  return json{{"LayersSize", du.layersSize},
              {"Images", images},
              {"Containers", containers},
              {"Volumes", volumes},
              {"BuildCache", json::array()}};
}

}  // namespace berth::api
