#include "volume/volume.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <algorithm>

#include "common/filters.h"
#include "common/log.h"
#include "common/util.h"

namespace berth::volume {

using json = nlohmann::json;

namespace {

json mapJson(const std::map<std::string, std::string>& m) {
  json j = json::object();
  for (auto& [k, v] : m) j[k] = v;
  return j;
}

std::map<std::string, std::string> parseMap(const std::string& text) {
  std::map<std::string, std::string> out;
  if (text.empty()) return out;
  auto j = json::parse(text, nullptr, false);
  if (j.is_object())
    for (auto& [k, v] : j.items())
      if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

int64_t sizeAt(int dirfd, dev_t dev) {
  int64_t total = 0;
  DIR* d = ::fdopendir(dirfd);
  if (!d) {
    ::close(dirfd);
    return 0;
  }
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    struct stat st;
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (st.st_dev != dev) continue;
      int fd = ::openat(::dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) total += sizeAt(fd, dev);
    } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
      total += st.st_size;
    }
  }
  ::closedir(d);
  return total;
}

// label filter "k" or "k=v" against labels.
bool labelMatches(const std::map<std::string, std::string>& labels, const std::string& f) {
  auto eq = f.find('=');
  if (eq == std::string::npos) return labels.count(f) != 0;
  auto it = labels.find(f.substr(0, eq));
  return it != labels.end() && it->second == f.substr(eq + 1);
}

}  // namespace

json Volume::toJson() const {
  // Docker prints CreatedAt with seconds precision in the daemon's zone (UTC here).
  std::string at = formatRfc3339Nano(created - created % 1000000000);
  if (auto dot = at.find('.'); dot != std::string::npos) at = at.substr(0, dot) + "Z";  // time.RFC3339
  return json{{"CreatedAt", at},
              {"Driver", driver},
              {"Labels", mapJson(labels)},
              {"Mountpoint", mountpoint},
              {"Name", name},
              {"Options", mapJson(options)},
              {"Scope", "local"}};
}

bool nameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (!first && (c == '_' || c == '.' || c == '-'));
}

// ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$, by hand: linear whatever the input.
bool validName(const std::string& name) {
  if (name.size() < 2) return false;
  for (size_t i = 0; i < name.size(); i++)
    if (!nameChar(name[i], i == 0)) return false;
  return true;
}

Result<> validateOptions(const std::map<std::string, std::string>& opts) {
  for (auto& [k, v] : opts)
    if (k != "type" && k != "device" && k != "o" && k != "size")
      return errorf(Code::InvalidArgument, "invalid option key: \"{}\"", k);
  if (opts.count("size"))
    return makeError(Code::InvalidArgument, "quota size requested but no quota support");
  if (opts.count("type") && !opts.count("device"))
    return makeError(Code::InvalidArgument, "missing required option: \"device\"");
  if (opts.count("device") && !opts.count("type"))
    return makeError(Code::InvalidArgument, "missing required option: \"type\"");
  return {};
}

int64_t directorySize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  return sizeAt(fd, st.st_dev);
}

Service::Service(store::Database& db, std::string dataRoot, UsersFn users)
    : db_(db), root_(std::move(dataRoot) + "/volumes"), users_(std::move(users)) {}

Volume Service::fromRow(store::Stmt& s) const {
  Volume v;
  v.name = s.colText(0);
  v.driver = s.colText(1);
  v.labels = parseMap(s.colText(2));
  v.options = parseMap(s.colText(3));
  v.created = s.colInt(4);
  v.mountpoint = root_ + "/" + v.name + "/_data";
  return v;
}

Result<std::optional<Volume>> Service::load(const std::string& name) {
  TRY_ASSIGN(store::Stmt s, db_.query("SELECT name, driver, labels, options, created FROM volumes WHERE name = ?", name));
  TRY_ASSIGN(bool row, s.step());
  if (!row) return std::optional<Volume>{};
  return std::optional<Volume>(fromRow(s));
}

Result<Volume> Service::create(const CreateOptions& opts) {
  std::string name = opts.name.empty() ? randomHexId() : opts.name;
  // A volume name is a directory name: at most kMaxNameLength bytes.
  if (name.size() > kMaxNameLength)
    return errorf(Code::InvalidArgument, "create {}...: volume name too long: {} characters, at most {} are allowed",
                  name.substr(0, 32), name.size(), kMaxNameLength);
  if (!validName(name))
    return errorf(Code::InvalidArgument,
                  "create {}: \"{}\" includes invalid characters for a local volume name, only "
                  "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use "
                  "absolute path",
                  name, name);
  std::string driver = opts.driver.empty() ? "local" : opts.driver;
  if (driver != "local")
    return errorf(Code::NotFound, "create {}: error looking up volume plugin {}: plugin \"{}\" not found", name,
                  driver, driver);
  if (auto r = validateOptions(opts.options); !r) return std::unexpected(r.error().wrap("create " + name));
  std::lock_guard lk(mu_);
  TRY_ASSIGN(auto existing, load(name));
  if (existing) return *existing;
  Volume v;
  v.name = name;
  v.driver = driver;
  v.labels = opts.labels;
  v.options = opts.options;
  v.created = nowNanos();
  v.mountpoint = dirOf(name) + "/_data";
  TRY(mkdirAll(root_, 0701));
  TRY(mkdirAll(dirOf(name), 0701));
  TRY(mkdirAll(v.mountpoint, 0755));
  auto r = db_.run("INSERT INTO volumes(name, driver, labels, options, created) VALUES(?,?,?,?,?)", v.name, v.driver,
                   mapJson(v.labels).dump(), mapJson(v.options).dump(), v.created);
  if (!r) {
    (void)removeAll(dirOf(name));
    return std::unexpected(r.error().wrap("create " + name));
  }
  return v;
}

Result<Volume> Service::get(const std::string& name) {
  TRY_ASSIGN(auto v, load(name));
  if (!v) return errorf(Code::NotFound, "get {}: no such volume", name);
  return *v;
}

Result<std::vector<Volume>> Service::list(const std::map<std::string, std::vector<std::string>>& filters) {
  std::vector<Volume> all;
  {
    TRY_ASSIGN(store::Stmt s, db_.prepare("SELECT name, driver, labels, options, created FROM volumes ORDER BY name"));
    for (;;) {
      TRY_ASSIGN(bool row, s.step());
      if (!row) break;
      all.push_back(fromRow(s));
    }
  }
  for (auto& [k, vals] : filters) {
    if (k != "dangling" && k != "name" && k != "label" && k != "driver")
      return errorf(Code::InvalidArgument, "invalid filter '{}'", k);
    if (k == "dangling")
      for (auto& v : vals)
        if (v != "true" && v != "false" && v != "1" && v != "0")
          return errorf(Code::InvalidArgument, "invalid filter 'dangling={}'", v);
  }
  std::vector<Volume> out;
  for (auto& v : all) {
    bool ok = true;
    for (auto& [k, vals] : filters) {
      if (vals.empty()) continue;
      bool any = k == "label";  // label filters must all match; the others are alternatives
      for (auto& f : vals) {
        if (k == "name") any |= FilterPattern::compile(f).matches(v.name);  // dockerd's filters.Match
        else if (k == "driver") any |= v.driver == f;
        else if (k == "label") any &= labelMatches(v.labels, f);
        else if (k == "dangling") any |= (users_(v.name).empty() == (f == "true" || f == "1"));
      }
      ok &= any;
    }
    if (ok) out.push_back(std::move(v));
  }
  return out;
}

Result<> Service::remove(const std::string& name, bool force) {
  std::lock_guard lk(mu_);
  TRY_ASSIGN(auto v, load(name));
  if (!v) {
    if (force) return {};
    return errorf(Code::NotFound, "get {}: no such volume", name);
  }
  auto users = users_(name);
  if (!users.empty()) {
    std::string ids;
    for (auto& u : users) ids += (ids.empty() ? "" : ", ") + u;
    return errorf(Code::Conflict, "remove {}: volume is in use - [{}]", name, ids);
  }
  TRY(db_.run("DELETE FROM volumes WHERE name = ?", name));
  if (auto r = removeAll(dirOf(name)); !r) log::warn("remove volume dir {}: {}", name, r.error().message);
  return {};
}

Result<Service::PruneReport> Service::prune(bool all, const std::map<std::string, std::vector<std::string>>& filters) {
  for (auto& [k, vals] : filters)
    if (k != "label" && k != "label!" && k != "all")
      return errorf(Code::InvalidArgument, "invalid filter '{}'", k);
  TRY_ASSIGN(auto vols, list({}));
  PruneReport rep;
  for (auto& v : vols) {
    if (!all && !v.anonymous()) continue;
    bool ok = true;
    if (auto it = filters.find("label"); it != filters.end())
      for (auto& f : it->second) ok &= labelMatches(v.labels, f);
    if (auto it = filters.find("label!"); it != filters.end())
      for (auto& f : it->second) ok &= !labelMatches(v.labels, f);
    if (!ok || !users_(v.name).empty()) continue;
    int64_t size = isPlainDirectory(v) ? directorySize(v.mountpoint) : 0;
    auto r = remove(v.name, false);
    if (!r) {
      if (r.error().code == Code::Conflict) continue;
      return std::unexpected(r.error());
    }
    rep.deleted.push_back(v.name);
    rep.reclaimed += uint64_t(size);
  }
  return rep;
}

MountSpec Service::mountFor(const Volume& v) const {
  MountSpec m;
  if (v.options.empty()) {
    m.source = v.mountpoint;
    m.options = {"rbind"};
    return m;
  }
  std::string type = v.options.count("type") ? v.options.at("type") : "none";
  std::string o = v.options.count("o") ? v.options.at("o") : "";
  std::vector<std::string> opts;
  bool bind = type == "none";
  for (auto& part : split(o, ',')) {
    if (part.empty()) continue;
    if (part == "bind" || part == "rbind") {
      bind = true;
      continue;
    }
    opts.push_back(part);
  }
  m.source = v.options.count("device") ? v.options.at("device") : "";
  if (bind) {
    m.type = "bind";
    opts.insert(opts.begin(), "rbind");
  } else {
    m.type = type;
  }
  m.options = opts;
  return m;
}

}  // namespace berth::volume
