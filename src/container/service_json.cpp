// Inspect and list: Docker's JSON shapes (engine-api.md §5).

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include <algorithm>
#include <regex>

#include "common/util.h"
#include "container/service_impl.h"

namespace berth::container {

using json = nlohmann::json;

namespace {

std::string commandLine(const Container& c) {
  std::string s = c.path;
  for (auto& a : c.args) s += " " + a;
  return s;
}

int64_t dirSize(const std::string& path);

}  // namespace

json ServiceImpl::inspectJson(const Entry& e, bool size) {
  const Container& c = e.c;
  const ContainerState& s = c.state;
  std::string dir = dirOf(c.id);
  json state = {{"Status", stateName(s.status)},
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
      {"ResolvConfPath", dir + "/resolv.conf"},
      {"HostnamePath", dir + "/hostname"},
      {"HostsPath", dir + "/hosts"},
      {"LogPath", logPathOf(c.id)},
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
       {{"Data", {{"UpperDir", dir + "/upper"}, {"WorkDir", dir + "/work"}, {"MergedDir", dir + "/merged"}}},
        {"Name", "overlay2"}}},
      {"Mounts", mountsJson(c)},
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
  if (size) {
    int64_t rw = dirSize(dir + "/upper");
    int64_t img = 0;
    if (auto r = images_.resolve(c.imageId)) img = r->size;
    j["SizeRw"] = rw;
    j["SizeRootFs"] = rw + img;
  }
  return j;
}

json ServiceImpl::summaryJson(const Entry& e, bool size) {
  const Container& c = e.c;
  std::string netMode = c.hostConfig.value("NetworkMode", "default");
  json ports = json::array();
  if (c.config.contains("ExposedPorts") && c.config["ExposedPorts"].is_object())
    for (auto& [k, v] : c.config["ExposedPorts"].items()) {
      auto slash = k.find('/');
      int port = std::atoi(k.substr(0, slash).c_str());
      ports.push_back({{"PrivatePort", port}, {"Type", slash == std::string::npos ? "tcp" : k.substr(slash + 1)}});
    }
  json j = {{"Id", c.id},
            {"Names", {"/" + c.name}},
            {"Image", c.config.value("Image", c.imageId)},
            {"ImageID", c.imageId},
            {"Command", commandLine(c)},
            {"Created", c.created / 1000000000},
            {"Ports", ports},
            {"Labels", c.config.value("Labels", json::object())},
            {"State", stateName(c.state.status)},
            {"Status", statusText(c.state, nowNanos())},
            {"HostConfig", {{"NetworkMode", netMode}}},
            {"NetworkSettings", {{"Networks", {{netMode == "default" ? "bridge" : netMode, json::object()}}}}},
            {"Mounts", mountsJson(c)}};
  if (size) {
    int64_t rw = dirSize(dirOf(c.id) + "/upper");
    int64_t img = 0;
    if (auto r = images_.resolve(c.imageId)) img = r->size;
    j["SizeRw"] = rw;
    j["SizeRootFs"] = rw + img;
  }
  return j;
}

Result<json> ServiceImpl::inspect(const std::string& ref, bool size) {
  std::lock_guard lk(mu_);
  TRY_ASSIGN(auto e, getLocked(ref));
  return inspectJson(*e, size);
}

Result<json> ServiceImpl::list(bool all, int limit, bool size, const Filters& filters) {
  TRY(checkFilterKeys(filters, {"id", "name", "label", "status", "ancestor", "exited", "before", "since",
                                     "volume", "network", "publish", "expose", "health", "isolation", "is-task"}));
  for (auto& st : filters.count("status") ? filters.at("status") : std::vector<std::string>{})
    if (!parseState(st)) return errorf(Code::InvalidArgument, "Invalid filter 'status={}'", st);
  std::lock_guard lk(mu_);
  std::vector<std::shared_ptr<Entry>> entries;
  for (auto& [id, e] : byId_)
    if (!e->removed) entries.push_back(e);
  std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a->c.created > b->c.created; });

  auto matchAny = [&](const char* key, auto pred) {
    auto it = filters.find(key);
    if (it == filters.end() || it->second.empty()) return true;
    for (auto& v : it->second)
      if (pred(v)) return true;
    return false;
  };
  int64_t beforeT = INT64_MAX, sinceT = INT64_MIN;
  if (auto it = filters.find("before"); it != filters.end())
    for (auto& v : it->second) {
      auto b = findLocked(v);
      if (!b) return errorf(Code::NotFound, "No such container: {}", v);
      beforeT = b->c.created;
    }
  if (auto it = filters.find("since"); it != filters.end())
    for (auto& v : it->second) {
      auto b = findLocked(v);
      if (!b) return errorf(Code::NotFound, "No such container: {}", v);
      sinceT = b->c.created;
    }
  bool hasStatus = filters.count("status") > 0;
  json out = json::array();
  for (auto& e : entries) {
    const Container& c = e->c;
    bool running = c.state.status == State::Running || c.state.status == State::Paused ||
                   c.state.status == State::Restarting;
    if (!all && !running && !hasStatus) continue;
    if (c.created >= beforeT || c.created <= sinceT) continue;
    if (!matchAny("id", [&](const std::string& v) { return startsWith(c.id, v); })) continue;
    if (!matchAny("name", [&](const std::string& v) {
          try {
            return std::regex_search("/" + c.name, std::regex(v));
          } catch (...) {
            return c.name.find(v) != std::string::npos;
          }
        }))
      continue;
    if (!matchAny("status", [&](const std::string& v) { return v == stateName(c.state.status); })) continue;
    if (!matchAny("exited", [&](const std::string& v) {
          return c.state.status == State::Exited && std::to_string(c.state.exitCode) == v;
        }))
      continue;
    if (!matchAny("ancestor", [&](const std::string& v) {
          return c.config.value("Image", "") == v || startsWith(c.imageId, v) || startsWith(c.imageId, "sha256:" + v);
        }))
      continue;
    // volume=NAME or a mount destination, as Docker's
    if (!matchAny("volume", [&](const std::string& v) {
          for (auto& m : c.mountPoints)
            if (m.value("Name", "") == v || m.value("Destination", "") == v) return true;
          return false;
        }))
      continue;
    if (auto it = filters.find("label"); it != filters.end()) {
      json labels = c.config.value("Labels", json::object());
      bool ok = true;
      for (auto& v : it->second) {  // every label filter must match
        auto eq = v.find('=');
        std::string k = v.substr(0, eq);
        if (!labels.contains(k)) ok = false;
        else if (eq != std::string::npos && labels[k] != v.substr(eq + 1)) ok = false;
      }
      if (!ok) continue;
    }
    out.push_back(summaryJson(*e, size));
    if (limit > 0 && int(out.size()) >= limit) break;
  }
  return out;
}

namespace {

int64_t dirSizeAt(int dirfd, dev_t dev);

int64_t dirSize(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return 0;
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  return dirSizeAt(fd, st.st_dev);
}

int64_t dirSizeAt(int fd, dev_t dev) {
  DIR* d = fdopendir(fd);
  if (!d) {
    close(fd);
    return 0;
  }
  int64_t total = 0;
  while (dirent* ent = readdir(d)) {
    if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..")) continue;
    struct stat st;
    if (fstatat(dirfd(d), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (st.st_dev != dev) continue;
      int sub = openat(dirfd(d), ent->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) total += dirSizeAt(sub, dev);
    } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
      total += st.st_size;
    }
  }
  closedir(d);
  return total;
}

}  // namespace

}  // namespace berth::container
