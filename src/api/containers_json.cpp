#include "api/containers_json.h"

#include "common/number.h"
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

}  // namespace

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
  json execIds = c.execIds.empty() ? json(nullptr) : json(c.execIds);
  std::string netMode = c.hostConfig.value("NetworkMode", "default");
  std::string netName = netMode == "default" ? "bridge" : netMode;
  json endpoint = {{"IPAMConfig", nullptr}, {"Links", nullptr},      {"Aliases", nullptr},
                   {"NetworkID", ""},       {"EndpointID", ""},      {"Gateway", ""},
                   {"IPAddress", ""},       {"IPPrefixLen", 0},      {"IPv6Gateway", ""},
                   {"GlobalIPv6Address", ""}, {"GlobalIPv6PrefixLen", 0}, {"MacAddress", ""},
                   {"DriverOpts", nullptr}};
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
      {"NetworkSettings",
       {{"Bridge", ""},
        {"SandboxID", ""},
        {"HairpinMode", false},
        {"LinkLocalIPv6Address", ""},
        {"LinkLocalIPv6PrefixLen", 0},
        {"Ports", json::object()},
        {"SandboxKey", ""},
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
        {"Networks", {{netName, endpoint}}}}},
  };
  putSizes(j, d.sizes);
  return j;
}

json containerSummaryJson(const container::ContainerSummary& s, int64_t now) {
  const container::Container& c = s.record;
  std::string netMode = c.hostConfig.value("NetworkMode", "default");
  json ports = json::array();
  if (c.config.contains("ExposedPorts") && c.config["ExposedPorts"].is_object())
    for (auto& [k, v] : c.config["ExposedPorts"].items()) {
      auto slash = k.find('/');
      std::string_view num = std::string_view(k).substr(0, k.find_first_not_of("0123456789"));
      ports.push_back({{"PrivatePort", numberOr<int>(num, 0)},
                       {"Type", slash == std::string::npos ? "tcp" : k.substr(slash + 1)}});
    }
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
            {"NetworkSettings", {{"Networks", {{netMode == "default" ? "bridge" : netMode, json::object()}}}}},
            {"Mounts", mountsJson(s.mounts)}};
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
                      {"SharedSize", 0},
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
