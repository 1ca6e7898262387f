// docker cp: the archive API over a container's root (archive.h).

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "common/log.h"
#include "common/util.h"
#include "container/archive.h"
#include "container/mounts.h"
#include "container/service_impl.h"
#include "container/spec.h"

namespace berth::container {

using json = nlohmann::json;

Result<> ServiceImpl::withRoot(const std::string& ref,
                               const std::function<Result<>(int rootFd, const std::string& id)>& fn) {
  std::unique_lock lk(mu_);
  TRY_ASSIGN(auto e, getLocked(ref));
  std::string id = e->c.id;
  if ((e->c.state.status == State::Running || e->c.state.status == State::Paused) && e->c.state.pid > 0) {
    // The container's own view, its mounts included.
    std::string proc = "/proc/" + std::to_string(e->c.state.pid) + "/root";
    lk.unlock();
    UniqueFd root(::open(proc.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return sysError(errno, "open root of container {}", id);
    return fn(root.get(), id);
  }
  // Stopped: mount its overlay for the call; a start waits until we are done.
  waitNotBusyLocked(lk, *e);
  dropWarmLocked(lk, *e);  // its init has the overlay mounted
  if (e->removed) return errorf(Code::NotFound, "No such container: {}", ref);
  if (e->c.state.status == State::Running || e->c.state.status == State::Paused) {
    lk.unlock();
    return withRoot(id, fn);
  }
  e->busy = true;
  std::string imageId = e->c.imageId;
  json mountPoints = e->c.mountPoints;
  lk.unlock();
  ScopeExit unbusy([&] {
    std::lock_guard g(mu_);
    e->busy = false;
    cv_.notify_all();
  });
  TRY_ASSIGN(auto layers, images_.layerDirs(imageId));
  std::string dir = dirOf(id);
  if (layers.empty()) {
    TRY(mkdirAll(dir + "/empty", 0755));
    layers.push_back(dir + "/empty");
  }
  std::string lower;
  for (auto& l : layers) lower += (lower.empty() ? "" : ":") + l;
  std::string data = "lowerdir=" + lower + ",upperdir=" + dir + "/upper,workdir=" + dir + "/work";
  std::string target = dir + "/cp-root";
  TRY(mkdirAll(target, 0700));
  if (::mount("overlay", target.c_str(), "overlay", 0, data.c_str()) != 0)
    return sysError(errno, "mount the root of container {}", id);
  // A lazy unmount of the root detaches the volumes mounted under it too.
  ScopeExit unmount([&] {
    if (::umount2(target.c_str(), MNT_DETACH) != 0) log::warn("umount {}: {}", target, strerror(errno));
    ::rmdir(target.c_str());
  });
  UniqueFd root(::open(target.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sysError(errno, "open root of container {}", id);
  TRY(mountVolumesInRoot(root.get(), mountPoints, id));
  return fn(root.get(), id);
}

namespace {

// The host directory or file a mount point shows at its destination, or ""
// when it has none to bind for a cp (tmpfs, a volume whose driver options
// mount something else, a bind whose source is gone).
std::string bindSourceOf(const MountPoint& m) {
  if (m.type == "bind") return m.source;
  if (m.type != "volume") return "";
  if (!m.runtimeType.empty() && m.runtimeType != "bind") return "";
  return m.runtimeSource.empty() ? m.source : m.runtimeSource;
}

}  // namespace

Result<> ServiceImpl::mountVolumesInRoot(int rootFd, const json& mountPoints, const std::string& id) {
  // dockerd's mountVolumes for the archive calls of a stopped container:
  // its volumes and binds bound at their destinations (created inside the
  // root as the start would; links resolved inside the root), parents
  // before children.
  std::vector<MountPoint> points;
  for (auto& pj : mountPoints) points.push_back(MountPoint::fromJson(pj));
  std::stable_sort(points.begin(), points.end(), [](const MountPoint& a, const MountPoint& b) {
    return std::count(a.destination.begin(), a.destination.end(), '/') <
           std::count(b.destination.begin(), b.destination.end(), '/');
  });
  for (const auto& m : points) {
    std::string src = bindSourceOf(m);
    if (src.empty()) continue;
    struct stat st;
    if (::stat(src.c_str(), &st) != 0) continue;
    UniqueFd dest;
    if (S_ISDIR(st.st_mode)) {
      TRY_ASSIGN(dest, mkdirsInRoot(rootFd, m.destination));
    } else {
      auto slash = m.destination.find_last_of('/');
      std::string parent = slash == 0 ? "/" : m.destination.substr(0, slash);
      TRY_ASSIGN(auto pfd, mkdirsInRoot(rootFd, parent));
      std::string base = m.destination.substr(slash + 1);
      UniqueFd f(::openat(pfd.get(), base.c_str(), O_CREAT | O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0755));
      if (!f && errno != ELOOP) return sysError(errno, "create mount point {} in container {}", m.destination, id);
      TRY_ASSIGN(dest, openInRoot(rootFd, m.destination, O_PATH));
    }
    std::string at = "/proc/self/fd/" + std::to_string(dest.get());
    if (::mount(src.c_str(), at.c_str(), nullptr, MS_BIND | (m.nonRecursive ? 0 : MS_REC), nullptr) != 0)
      return sysError(errno, "mount {} at {} for container {}", src, m.destination, id);
    if (!m.rw) {
      UniqueFd mounted;
      TRY_ASSIGN(mounted, openInRoot(rootFd, m.destination, O_PATH));
      std::string mat = "/proc/self/fd/" + std::to_string(mounted.get());
      if (::mount(nullptr, mat.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0)
        return sysError(errno, "remount {} read-only for container {}", m.destination, id);
    }
  }
  return {};
}

namespace {

Error withContainer(Error err, const std::string& ref) {
  if (err.code == Code::NotFound && endsWith(err.message, " in container")) err.message += " " + ref;
  return err;
}

}  // namespace

Result<PathStat> ServiceImpl::archiveStat(const std::string& ref, const std::string& path) {
  PathStat st;
  auto r = withRoot(ref, [&](int root, const std::string&) -> Result<> {
    TRY_ASSIGN(st, statInRoot(root, path));
    return {};
  });
  if (!r) return std::unexpected(withContainer(r.error(), ref));
  return st;
}

Result<> ServiceImpl::archiveGet(const std::string& ref, const std::string& path,
                                 const std::function<StreamWriter*(const PathStat&)>& open) {
  auto r = withRoot(ref, [&](int root, const std::string& id) -> Result<> {
    TRY_ASSIGN(auto st, statInRoot(root, path));
    StreamWriter* out = open(st);
    if (!out) return makeError(Code::Cancelled, "client went away");
    std::string chunk;
    chunk.reserve(1 << 17);
    TRY(writeTarFromRoot(root, path, [&](const void* d, size_t n) {
      chunk.append(static_cast<const char*>(d), n);
      if (chunk.size() < (1 << 17)) return true;
      bool ok = out->write(chunk);
      chunk.clear();
      return ok;
    }));
    if (!chunk.empty() && !out->write(chunk)) return makeError(Code::Cancelled, "client went away");
    json attrs;
    {
      std::lock_guard lk(mu_);
      if (auto e = findLocked(id)) attrs = eventAttrs(*e, {{"path", path}});
    }
    if (!attrs.is_null()) emit_("container", "archive-path", id, attrs);
    return {};
  });
  if (!r) return std::unexpected(withContainer(r.error(), ref));
  return {};
}

Result<> ServiceImpl::archivePut(const std::string& ref, const std::string& path, const ExtractOptions& optsIn,
                                 const TarSource& body) {
  ExtractOptions opts = optsIn;
  opts.limits = cfg_.unpackLimits;
  std::string user, imageId;
  {
    std::lock_guard lk(mu_);
    TRY_ASSIGN(auto e, getLocked(ref));
    user = e->c.config.value("User", "");
    imageId = e->c.imageId;
  }
  // dockerd: owned by root, or with copyUIDGID (cp -a) by the container's user.
  if (opts.copyUIDGID && !user.empty()) {
    TRY_ASSIGN(auto lowers, images_.layerDirs(imageId));
    TRY_ASSIGN(auto u, resolveUser(user, lowers));
    opts.uid = u.uid;
    opts.gid = u.gid;
  }
  std::string id;
  auto r = withRoot(ref, [&](int root, const std::string& cid) -> Result<> {
    id = cid;
    return extractTarToRoot(root, path, body, opts);
  });
  if (!r) return std::unexpected(withContainer(r.error(), ref));
  json attrs;
  {
    std::lock_guard lk(mu_);
    if (auto e = findLocked(id)) attrs = eventAttrs(*e);
  }
  if (!attrs.is_null()) emit_("container", "extract-to-dir", id, attrs);
  return {};
}

}  // namespace berth::container
