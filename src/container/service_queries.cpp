// Inspect and list: the records and the facts beside them (sizes, paths,
// mounts). api/containers_json.cpp shapes them into Docker's JSON.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include <algorithm>
#include <set>

#include "common/number.h"
#include "common/util.h"
#include "container/namespaces.h"
#include "container/service_impl.h"

namespace berth::container {

namespace {

// The health status ps --filter health= matches: State.Health.Status once
// the healthcheck code (container/health.h) has recorded one; otherwise
// "none" without a healthcheck (none configured, or Test ["NONE"]) and
// "starting" with one.
std::string healthStatusOf(const Container& c) {
  if (c.state.health.is_object()) return c.state.health.value("Status", "starting");
  auto h = c.config.find("Healthcheck");
  if (h == c.config.end() || !h->is_object()) return "none";
  auto test = h->find("Test");
  if (test == h->end() || !test->is_array() || test->empty()) return "none";
  if ((*test)[0] == "NONE") return "none";
  return "starting";
}

int64_t dirSize(const std::string& path);

// A publish=/expose= filter value: "80", "80/udp", "8000-8080/tcp".
struct PortFilter {
  int lo = 0, hi = 0;
  std::string proto = "tcp";
};

Result<PortFilter> parsePortFilter(const std::string& v) {
  PortFilter f;
  std::string ports = v;
  if (auto slash = v.find('/'); slash != std::string::npos) {
    ports = v.substr(0, slash);
    f.proto = toLower(v.substr(slash + 1));
  }
  auto dash = ports.find('-');
  auto lo = parseNumber<int>(ports.substr(0, dash));
  auto hi = dash == std::string::npos ? lo : parseNumber<int>(ports.substr(dash + 1));
  if (!lo || !hi || *lo < 0 || *hi > 65535 || *lo > *hi)
    return errorf(Code::InvalidArgument, "invalid port range: {}", v);  // not dockerd's exact text
  f.lo = *lo;
  f.hi = *hi;
  return f;
}

// key: "8080/tcp" (an ExposedPorts key or a published host port).
bool portFilterMatches(const PortFilter& f, const std::string& key) {
  auto slash = key.find('/');
  auto n = parseNumber<int>(key.substr(0, slash));
  std::string proto = slash == std::string::npos ? "tcp" : key.substr(slash + 1);
  return n && *n >= f.lo && *n <= f.hi && proto == f.proto;
}

}  // namespace

ContainerSizes ServiceImpl::sizesOf(const Container& c) {
  ContainerSizes sz;
  sz.rw = dirSize(dirOf(c.id) + "/upper");
  int64_t img = 0;
  if (auto r = images_.resolve(c.imageId)) img = r->size;
  sz.rootFs = sz.rw + img;
  return sz;
}

ContainerSummary ServiceImpl::summaryOf(const Entry& e, bool size) {
  ContainerSummary s{e.c, listedMounts(e.c), std::nullopt, {}};
  if (size) s.sizes = sizesOf(e.c);
  return s;
}

Result<ContainerDetails> ServiceImpl::inspect(const std::string& ref, bool size) {
  auto d = inspectRecord(ref, size);
  if (d) d->endpoints = liveEndpoints(d->record);
  return d;
}

Result<ContainerDetails> ServiceImpl::inspectRecord(const std::string& ref, bool size) {
  std::lock_guard lk(mu_);
  TRY_ASSIGN(auto e, getLocked(ref));
  const Container& c = e->c;
  std::string dir = dirOf(c.id);
  ContainerDetails d;
  d.record = c;
  d.paths = {dir + "/resolv.conf", dir + "/hostname", dir + "/hosts", logPathOf(c).ends_with("-json.log") ? logPathOf(c) : std::string(),
             dir + "/upper",       dir + "/work",     dir + "/merged"};
  d.mounts = listedMounts(c);
  if (size) d.sizes = sizesOf(c);
  return d;
}

Result<std::vector<ContainerSummary>> ServiceImpl::list(const ListOptions& opts) {
  const Filters& filters = opts.filters;
  const bool all = opts.all;
  const int limit = opts.limit;
  TRY(checkFilterKeys(filters, {"id", "name", "label", "status", "ancestor", "exited", "before", "since",
                                     "volume", "network", "publish", "expose", "health", "isolation", "is-task"}));
  for (auto& st : filters.count("status") ? filters.at("status") : std::vector<std::string>{})
    if (!parseState(st)) return errorf(Code::InvalidArgument, "Invalid filter 'status={}'", st);
  // publish=PORT[-PORT][/PROTO] matches published host ports (live), expose= the exposed ones.
  std::optional<std::vector<PortFilter>> publish;
  if (auto it = filters.find("publish"); it != filters.end() && !it->second.empty()) {
    publish.emplace();
    for (auto& v : it->second) {
      TRY_ASSIGN(auto f, parsePortFilter(v));
      publish->push_back(f);
    }
  }
  std::unique_lock lk(mu_);
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
  // name= and id= values match as dockerd's filters.Args.Match: the value
  // itself, else the value as an unanchored regular expression; name= is
  // tried against the name with and without its leading '/'.
  std::vector<FilterPattern> namePatterns, idPatterns;
  if (auto it = filters.find("name"); it != filters.end())
    for (auto& v : it->second) namePatterns.push_back(FilterPattern::compile(v));
  if (auto it = filters.find("id"); it != filters.end())
    for (auto& v : it->second) idPatterns.push_back(FilterPattern::compile(v));
  // is-task=true|1|false|0: berth runs no swarm tasks, so true lists none.
  std::optional<bool> isTask;
  if (auto it = filters.find("is-task"); it != filters.end() && !it->second.empty()) {
    TRY_ASSIGN(isTask, filterBool("is-task", it->second));
  }
  // health= values are checked as dockerd checks them and matched against
  // healthStatusOf().
  if (auto it = filters.find("health"); it != filters.end())
    for (auto& v : it->second)
      if (v != "none" && v != "starting" && v != "healthy" && v != "unhealthy")
        return errorf(Code::InvalidArgument,
                      "invalid filter 'health={}': invalid value for health ({}): must be one of none, starting, "
                      "healthy, unhealthy",
                      v, v);
  // ancestor=REF: the images the references resolve to (name, name:tag,
  // id, digest) and all their descendants, as dockerd; when none
  // resolves, nothing matches.
  std::optional<std::set<std::string>> ancestors;
  if (auto it = filters.find("ancestor"); it != filters.end() && !it->second.empty()) {
    ancestors.emplace();
    lk.unlock();
    for (auto& v : it->second) {
      auto img = images_.resolve(v);
      if (!img) continue;
      std::vector<std::string> todo = {img->id};
      while (!todo.empty()) {
        std::string id = todo.back();
        todo.pop_back();
        if (!ancestors->insert(id).second) continue;
        if (auto kids = images_.children(id))
          for (auto& k : *kids) todo.push_back(k.id);
      }
    }
    lk.lock();
  }
  std::vector<ContainerSummary> out;
  for (auto& e : entries) {
    const Container& c = e->c;
    if (namespaceOf(c.config) != opts.ns) continue;
    bool running = c.state.status == State::Running || c.state.status == State::Paused ||
                   c.state.status == State::Restarting;
    if (!all && !running && !hasStatus) continue;
    if (c.created >= beforeT || c.created <= sinceT) continue;
    if (!idPatterns.empty() && !std::ranges::any_of(idPatterns, [&](auto& p) { return p.matches(c.id); })) continue;
    if (!namePatterns.empty()) {
      std::string slashed = "/" + c.name;
      if (!std::ranges::any_of(namePatterns, [&](auto& p) { return p.matches(slashed) || p.matches(c.name); }))
        continue;
    }
    if (isTask && *isTask) continue;
    if (!matchAny("health", [&](const std::string& v) { return v == healthStatusOf(c); })) continue;
    if (!matchAny("status", [&](const std::string& v) { return v == stateName(c.state.status); })) continue;
    if (!matchAny("exited", [&](const std::string& v) {
          return c.state.status == State::Exited && std::to_string(c.state.exitCode) == v;
        }))
      continue;
    if (ancestors && !ancestors->count(c.imageId)) continue;
    // volume=NAME (a bind's source) or a mount destination, as dockerd
    if (!matchAny("volume", [&](const std::string& v) {
          for (auto& m : c.mountPoints) {
            std::string name = m.value("Name", "");
            if (name == v || (name.empty() && m.value("Source", "") == v) || m.value("Destination", "") == v)
              return true;
          }
          return false;
        }))
      continue;
    // network=NAME or a NetworkID prefix, over the intent (stopped ones too), as dockerd.
    if (!matchAny("network", [&](const std::string& v) {
          if (!c.networks.is_object()) return false;
          for (auto& [name, ep] : c.networks.items())
            if (name == v || (ep.is_object() && startsWith(ep.value("NetworkID", ""), v))) return true;
          return false;
        }))
      continue;
    if (filters.count("expose")) {
      bool ok = false;
      for (auto& v : filters.at("expose")) {
        auto r = parsePortFilter(v);
        if (!r) return std::unexpected(r.error());
        if (c.config.contains("ExposedPorts") && c.config["ExposedPorts"].is_object())
          for (auto& [k, x] : c.config["ExposedPorts"].items())
            if (portFilterMatches(*r, k)) ok = true;
      }
      if (!ok) continue;
    }
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
    out.push_back(summaryOf(*e, opts.size));
    if (!publish && limit > 0 && int(out.size()) >= limit) break;
  }
  lk.unlock();
  std::vector<ContainerSummary> kept;
  for (auto& s : out) {
    s.endpoints = liveEndpoints(s.record);
    if (publish) {
      bool ok = false;
      for (auto& f : *publish)
        for (auto& ep : s.endpoints)
          for (auto& m : ep.ports)
            if (portFilterMatches(f, std::to_string(m.hostPort) + "/" + m.container.proto)) ok = true;
      if (!ok) continue;
    }
    kept.push_back(std::move(s));
    if (limit > 0 && int(kept.size()) >= limit) break;
  }
  return kept;
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
