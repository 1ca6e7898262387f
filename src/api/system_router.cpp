#include "api/system_router.h"

#include "api/containers_router.h"  // parseUnixTimestamp
#include "api/server.h"
#include "common/util.h"

namespace berth::api {

using json = nlohmann::json;

namespace {

// Does an event match the filters (type, event, container, image, label...)?
bool eventMatches(const Event& e, const Filters& f) {
  auto anyOf = [&](const char* key, auto pred) {
    auto it = f.find(key);
    if (it == f.end() || it->second.empty()) return true;
    for (auto& v : it->second)
      if (pred(v)) return true;
    return false;
  };
  auto attr = [&](const char* k) { return e.attributes.contains(k) ? e.attributes[k].get<std::string>() : ""; };
  if (!anyOf("type", [&](const std::string& v) { return v == e.type; })) return false;
  if (!anyOf("event", [&](const std::string& v) { return v == e.action || startsWith(e.action, v + ":"); }))
    return false;
  if (!anyOf("container", [&](const std::string& v) {
        return e.type == "container" && (startsWith(e.id, v) || attr("name") == v);
      }))
    return false;
  if (!anyOf("image", [&](const std::string& v) {
        return (e.type == "image" && (e.id == v || attr("name") == v)) || attr("image") == v;
      }))
    return false;
  if (auto it = f.find("label"); it != f.end())
    for (auto& v : it->second) {
      auto eq = v.find('=');
      std::string k = v.substr(0, eq);
      if (!e.attributes.contains(k)) return false;
      if (eq != std::string::npos && attr(k.c_str()) != v.substr(eq + 1)) return false;
    }
  return true;
}

}  // namespace

void registerSystemRoutes(Router& r, EventBus& events, SystemInfo info, HostFactsProvider& host) {
  auto ping = [](Request& req, ResponseWriter& res) {
    res.setHeader("Cache-Control", "no-cache, no-store, must-revalidate");
    res.setHeader("Pragma", "no-cache");
    res.setHeader("Swarm", "inactive");
    res.text(200, "OK", "text/plain; charset=utf-8");
  };
  r.add("GET", "/_ping", ping);
  r.add("HEAD", "/_ping", ping);

  // No swarm mode: dockerd's answers for a node outside a swarm (docker-py
  // and compose ask while tearing networks down).
  r.add("GET", "/swarm", [](Request&, ResponseWriter& res) {
    res.json(503, {{"message",
                    "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to "
                    "connect this node to swarm and try again."}});
  });
  r.add("POST", "/swarm/leave", [](Request&, ResponseWriter& res) {
    res.json(503, {{"message", "This node is not part of a swarm"}});
  });

  r.add("GET", "/version", [&host](Request&, ResponseWriter& res) {
    std::string kernel = host.kernelVersion();
    json details = {{"ApiVersion", kApiVersion}, {"Arch", "amd64"},          {"BuildTime", ""},
                    {"Experimental", "false"},  {"GitCommit", "berth"},      {"GoVersion", "n/a (C++)"},
                    {"KernelVersion", kernel}, {"MinAPIVersion", kMinApiVersion}, {"Os", "linux"}};
    res.json(200, {{"Platform", {{"Name", "berth"}}},
                   {"Components", {{{"Name", "Engine"}, {"Version", kServerVersion}, {"Details", details}}}},
                   {"Version", kServerVersion},
                   {"ApiVersion", kApiVersion},
                   {"MinAPIVersion", kMinApiVersion},
                   {"GitCommit", "berth"},
                   {"GoVersion", "n/a (C++)"},
                   {"Os", "linux"},
                   {"Arch", "amd64"},
                   {"KernelVersion", kernel},
                   {"BuildTime", ""}});
  });

  // Gated on the request's version as dockerd gates them: the
  // AllowNondistributableArtifacts* fields are null below 1.47 and gone
  // from it, the commits' Expected below 1.49 only, FirewallBackend from
  // 1.49, BridgeNfIptables/BridgeNfIp6tables below 1.50 only.
  r.add("GET", "/info", [info, &host](Request& req, ResponseWriter& res) {
    HostFacts facts = host.facts();
    json counts = info.containerCounts ? info.containerCounts() : json::object();
    json runtimes = json::object();
    for (auto& [name, path] : info.runtimes) runtimes[name] = {{"path", path}};
    json out =
             {{"ID", "berth"},
              {"Containers", counts.value("total", 0)},
              {"ContainersRunning", counts.value("running", 0)},
              {"ContainersPaused", counts.value("paused", 0)},
              {"ContainersStopped", counts.value("stopped", 0)},
              {"Images", info.imageCount ? info.imageCount() : 0},
              {"Driver", "overlay2"},
              {"DriverStatus", json::array({json::array({"Backing Filesystem", "extfs"})})},
              {"Plugins",
               {{"Volume", {"local"}}, {"Network", {"bridge", "host", "null"}}, {"Authorization", nullptr}, {"Log", {"json-file"}}}},
              {"MemoryLimit", true},
              {"SwapLimit", true},
              {"CpuCfsPeriod", true},
              {"CpuCfsQuota", true},
              {"CPUShares", true},
              {"CPUSet", true},
              {"PidsLimit", true},
              {"IPv4Forwarding", true},
              {"Debug", false},
              {"NFd", 0},
              {"OomKillDisable", true},
              {"NGoroutines", 0},
              {"SystemTime", formatRfc3339Nano(nowNanos())},
              {"LoggingDriver", info.loggingDriver},
              {"CgroupDriver", "cgroupfs"},
              {"CgroupVersion", info.cgroupVersion},
              {"NEventsListener", 0},
              {"KernelVersion", facts.kernelVersion},
              {"OperatingSystem", facts.operatingSystem},
              {"OSVersion", ""},
              {"OSType", "linux"},
              {"Architecture", "x86_64"},
              {"IndexServerAddress", "https://index.docker.io/v1/"},
              {"RegistryConfig",
               {{"InsecureRegistryCIDRs", {"127.0.0.0/8"}},
                {"IndexConfigs",
                 {{"docker.io", {{"Name", "docker.io"}, {"Mirrors", json::array()}, {"Secure", true}, {"Official", true}}}}},
                {"Mirrors", json::array()}}},
              {"NCPU", facts.ncpu},
              {"MemTotal", facts.memTotal},
              {"GenericResources", nullptr},
              {"DockerRootDir", info.dataRoot},
              {"HttpProxy", ""},
              {"HttpsProxy", ""},
              {"NoProxy", ""},
              {"Name", facts.hostname},
              {"Labels", json::array()},
              {"ExperimentalBuild", false},
              {"ServerVersion", kServerVersion},
              {"Runtimes", runtimes},
              {"DefaultRuntime", info.defaultRuntime},
              {"Swarm",
               {{"NodeID", ""}, {"NodeAddr", ""}, {"LocalNodeState", "inactive"}, {"ControlAvailable", false},
                {"Error", ""}, {"RemoteManagers", nullptr}}},
              {"LiveRestoreEnabled", true},
              {"Isolation", ""},
              {"InitBinary", ""},
              {"ContainerdCommit", {{"ID", ""}}},
              {"RuncCommit", {{"ID", ""}}},
              {"InitCommit", {{"ID", ""}}},
              {"SecurityOptions", json::array()},
              {"CDISpecDirs", json::array()},
              {"Warnings", nullptr}};
    if (req.versionBelow(147)) {
      out["RegistryConfig"]["AllowNondistributableArtifactsCIDRs"] = nullptr;
      out["RegistryConfig"]["AllowNondistributableArtifactsHostnames"] = nullptr;
    }
    if (req.versionBelow(149)) {
      for (const char* k : {"ContainerdCommit", "RuncCommit", "InitCommit"}) out[k]["Expected"] = out[k]["ID"];
    } else {
      out["FirewallBackend"] = {{"Driver", "nftables"}};  // berth's NAT and filtering are nftables
    }
    if (req.versionBelow(150)) {
      out["BridgeNfIptables"] = false;
      out["BridgeNfIp6tables"] = false;
    }
    res.json(200, out);
  });

  r.add("GET", "/events", [&events](Request& req, ResponseWriter& res) {
    auto f = parseFilters(req.q("filters"));
    if (!f) return res.error(f.error());
    if (auto k = checkFilterKeys(*f, {"type", "event", "container", "image", "label", "network", "volume", "daemon",
                                      "scope", "config", "node", "plugin", "secret", "service"});
        !k)
      return res.error(k.error());
    auto since = parseUnixTimestamp(req.q("since"));
    auto until = parseUnixTimestamp(req.q("until"));
    if (!since) return res.error(since.error());
    if (!until) return res.error(until.error());
    uint64_t seq = events.lastSeq();
    auto out = res.stream(200, "application/json");
    auto send = [&](const Event& e) {
      if (*until > 0 && e.timeNano > *until) return true;
      if (!eventMatches(e, *f)) return true;
      return out->writeJsonLine(e.toJson());
    };
    if (req.has("since"))
      for (auto& e : events.historySince(*since))
        if (e.seq <= seq && !send(e)) return;
    for (;;) {
      if (*until > 0 && nowNanos() > *until) return;
      auto batch = events.waitAfter(seq, 1000);
      for (auto& e : batch) {
        seq = e.seq;
        if (!send(e)) return;
      }
      if (out->clientGone()) return;
    }
  });
}

}  // namespace berth::api
