#include "runtime/mounts.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>

#include "common/util.h"

namespace berth::runtime {

namespace {

size_t depth(const std::string& p) {
  size_t n = 0;
  for (const auto& part : split(p, '/'))
    if (!part.empty() && part != ".") n++;
  return n;
}

std::string cleanPath(const std::string& p) {
  std::string out;
  for (const auto& part : split(p, '/')) {
    if (part.empty() || part == ".") continue;
    out += "/" + part;
  }
  return out.empty() ? "/" : out;
}

Mount defaultMount(const std::string& dest) {
  if (dest == "/proc") return {dest, "proc", "proc", {"nosuid", "noexec", "nodev"}};
  if (dest == "/dev") return {dest, "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}};
  if (dest == "/dev/pts")
    return {dest, "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}};
  if (dest == "/dev/shm") return {dest, "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}};
  if (dest == "/dev/mqueue") return {dest, "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}};
  return {dest, "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}};
}

bool isDir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Creates the mount target: a directory, or an empty file when the bind
// source is not a directory. Anything already there is left as it is. The
// parents are usually there: one mkdir (or lstat and open) first, the walk
// over every parent (mkdirAll: a syscall per component) only when one is
// missing.
Result<> createTarget(const std::string& target, bool file) {
  if (!file) {
    if (::mkdir(target.c_str(), 0755) == 0 || errno == EEXIST) return {};
    return mkdirAll(target, 0755);
  }
  struct stat st;
  if (::lstat(target.c_str(), &st) == 0) return {};
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ENOENT) {
    auto slash = target.rfind('/');
    if (slash != std::string::npos && slash > 0) TRY(mkdirAll(target.substr(0, slash), 0755));
    fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  }
  if (fd < 0 && errno != EEXIST) return sysError(errno, "create {}", target);
  if (fd >= 0) ::close(fd);
  return {};
}

Result<> doMount(const char* src, const std::string& target, const char* type, unsigned long flags,
                 const std::string& data) {
  if (::mount(src, target.c_str(), type, flags, data.empty() ? nullptr : data.c_str()) != 0)
    return sysError(errno, "mount {} on {}", src ? src : "", target);
  return {};
}

// A bind mount's flags (read-only, nosuid...): a remount of target.
Result<> remountBind(const std::string& target, unsigned long flags) {
  unsigned long extra = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME |
                                 MS_RELATIME | MS_STRICTATIME);
  if (extra) {
    if (::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | extra, nullptr) != 0) {
      // The source may carry locked flags (nodev, nosuid, noexec): keep them.
      struct statvfs sv;
      unsigned long locked = 0;
      if (::statvfs(target.c_str(), &sv) == 0) {
        if (sv.f_flag & ST_NOSUID) locked |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV) locked |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC) locked |= MS_NOEXEC;
      }
      if (::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | extra | locked, nullptr) != 0)
        return sysError(errno, "remount {}", target);
    }
  }
  return {};
}

Result<> bindMount(const std::string& src, const std::string& target, bool recursive, unsigned long flags) {
  TRY(doMount(src.c_str(), target, nullptr, MS_BIND | (recursive ? MS_REC : 0), ""));
  return remountBind(target, flags);
}

// A mount of type "cgroup" (Docker puts one at /sys/fs/cgroup): the
// container's own cgroup, as runc shows it. cgroup v2 (/sys/fs/cgroup is
// cgroup2): in a private cgroup namespace a fresh cgroup2 mount (rooted at
// the namespace), else a bind of the container's directory. v1 (a tmpfs
// with one mount per hierarchy): a tmpfs, then per host hierarchy under
// /sys/fs/cgroup a fresh mount of the same controllers in a private
// namespace, or a bind of <hierarchy><cgroupsPath> (skipped when that
// directory does not exist). Read-only with "ro". Runs in the child, in its
// mount namespace, before pivot_root.
Result<> mountCgroupTree(const Mount& m, const std::string& rootfs, const std::string& cgroupsPath, bool cgroupNs,
                         const std::string& known) {
  TRY_ASSIGN(std::string target, resolveInRoot(rootfs, m.destination));
  TRY(createTarget(target, false));
  MountFlags f = parseMountOptions(m.options);
  const unsigned long base = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  const unsigned long ro = f.flags & MS_RDONLY;
  struct statfs sf;
  if (::statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
    if (cgroupNs) return doMount("cgroup2", target, "cgroup2", base | ro, "");
    return bindMount("/sys/fs/cgroup" + cgroupsPath, target, false, base | ro);
  }
  TRY(doMount("tmpfs", target, "tmpfs", base, "mode=755"));
  std::string hierarchies = known;
  if (hierarchies.empty()) {
    auto info = readFile("/proc/self/mountinfo");
    if (!info) return std::unexpected(info.error());
    hierarchies = cgroupV1Hierarchies(*info);
  }
  std::vector<std::string> binds;  // flags set at the end, for the whole tree
  for (const auto& line : split(hierarchies, '\n')) {
    auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    std::string name = line.substr(0, tab);
    std::string mp = "/sys/fs/cgroup/" + name;
    std::string dest = target + "/" + name;
    if (cgroupNs) {
      std::string controllers;
      for (const auto& o : split(line.substr(tab + 1), ','))
        if (o != "rw" && o != "ro") controllers += (controllers.empty() ? "" : ",") + o;
      TRY(createTarget(dest, false));
      TRY(doMount("cgroup", dest, "cgroup", base | ro, controllers));
    } else {
      std::string src = mp + cgroupsPath;
      if (!isDir(src)) continue;
      TRY(createTarget(dest, false));
      TRY(doMount(src.c_str(), dest, nullptr, MS_BIND, ""));
      binds.push_back(std::move(dest));
    }
  }
  if (!binds.empty()) {
    // One mount_setattr (Linux 5.12) for the tree instead of a remount
    // per bind and one for the tmpfs: ten syscalls fewer on a start.
    mount_attr attrs{};
    attrs.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | (ro ? MOUNT_ATTR_RDONLY : 0);
    if (::mount_setattr(AT_FDCWD, target.c_str(), AT_RECURSIVE, &attrs, sizeof attrs) == 0) return {};
    for (const auto& d : binds) TRY(remountBind(d, base | ro));
  }
  if (ro && ::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | base | MS_RDONLY, nullptr) != 0)
    return sysError(errno, "remount {} read-only", target);
  return {};
}

// rootPrivate: every mount of this namespace was made private first (the
// default root propagation), so a bind made now is private already.
Result<> mountOne(const Mount& m, const std::string& rootfs, bool newNetns, bool rootPrivate) {
  TRY_ASSIGN(std::string target, resolveInRoot(rootfs, m.destination));
  MountFlags f = parseMountOptions(m.options);
  bool bind = m.type == "bind" || f.bind;
  if (m.type == "cgroup" || m.type == "cgroup2") return {};  // TODO(issue 5): cgroup mounts
  if (bind) {
    TRY(createTarget(target, !isDir(m.source)));
    TRY(bindMount(m.source, target, f.recursive, f.flags));
  } else {
    TRY(createTarget(target, false));
    std::string data = f.data;
    if (m.type == "devpts" && data.find("newinstance") == std::string::npos)
      data = data.empty() ? "newinstance" : "newinstance," + data;
    if (m.type == "devpts" && data.find("ptmxmode") == std::string::npos) data += ",ptmxmode=0666";
    const char* src = m.source.empty() ? m.type.c_str() : m.source.c_str();
    auto r = doMount(src, target, m.type.c_str(), f.flags, data);
    if (!r && m.type == "sysfs" && (!newNetns || r.error().err == EPERM)) {
      // A sysfs belongs to a network namespace: bind the host's read-only.
      r = bindMount("/sys", target, true, f.flags | MS_RDONLY);
    }
    if (!r) return r;
  }
  const bool alreadyPrivate = rootPrivate && (f.propagation & ~MS_REC) == MS_PRIVATE;
  if (f.propagation && !alreadyPrivate && ::mount(nullptr, target.c_str(), nullptr, f.propagation, nullptr) != 0)
    return sysError(errno, "set propagation of {}", target);
  return {};
}

struct DevNode {
  const char* name;
  unsigned major, minor;
};
constexpr DevNode kDevices[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
                                {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

Result<> makeDevice(const std::string& path, mode_t type, unsigned major, unsigned minor, mode_t mode, uid_t uid,
                    gid_t gid) {
  // populateDev clears the umask: the mode is mknod's own.
  if (::mknod(path.c_str(), type | (mode & 07777), makedev(major, minor)) == 0) {
    if (mode & 07000) ::chmod(path.c_str(), mode & 07777);
    if (uid || gid) (void)!::chown(path.c_str(), uid, gid);
    return {};
  }
  if (errno == EEXIST) return {};
  if (errno != EPERM) return sysError(errno, "mknod {}", path);
  // No CAP_MKNOD: bind the host's node onto an empty file.
  std::string host = path.substr(path.rfind("/dev/"));
  TRY(createTarget(path, true));
  return bindMount(host, path, false, 0);
}

Result<> populateDev(const std::string& rootfs, const Spec& spec) {
  // The nodes' modes as given (one umask call each way instead of a chmod per node).
  struct RestoreMask {
    mode_t mask = ::umask(0);
    ~RestoreMask() { ::umask(mask); }
  } restoreMask;
  std::string dev = rootfs + "/dev";
  for (const auto& d : kDevices) TRY(makeDevice(dev + "/" + d.name, S_IFCHR, d.major, d.minor, 0666, 0, 0));
  for (const auto& d : spec.devices) {
    TRY_ASSIGN(std::string p, resolveInRoot(rootfs, d.path));
    auto slash = p.rfind('/');
    TRY(mkdirAll(p.substr(0, slash), 0755));
    mode_t type = d.type == "b" ? S_IFBLK : d.type == "p" ? S_IFIFO : S_IFCHR;
    TRY(makeDevice(p, type, unsigned(d.major), unsigned(d.minor), d.fileMode, d.uid, d.gid));
  }
  static constexpr std::pair<const char*, const char*> kLinks[] = {
      {"fd", "/proc/self/fd"},          {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
      {"stderr", "/proc/self/fd/2"},    {"core", "/proc/kcore"},      {"ptmx", "pts/ptmx"},
  };
  for (const auto& [name, target] : kLinks) {
    // /dev/core only where the kernel has /proc/kcore (as runc does)
    if (std::string_view(name) == "core" && ::access("/proc/kcore", F_OK) != 0) continue;
    std::string p = dev + "/" + name;
    if (::symlink(target, p.c_str()) != 0 && errno != EEXIST) return sysError(errno, "symlink {}", p);
  }
  return {};
}

// The mount that holds path's parent directory (the longest mount point
// of /proc/self/mountinfo that is a prefix of it) made private,
// non-recursively.
Result<> makeParentMountPrivate(const std::string& path) {
  auto info = readFile("/proc/self/mountinfo");
  if (!info) return std::unexpected(info.error());
  std::string dir = path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  std::string best = "/";
  for (const auto& line : split(*info, '\n')) {
    auto f = split(line, ' ');
    if (f.size() < 5) continue;
    const std::string& mp = f[4];
    bool under = mp == "/" || dir == mp || (dir.size() > mp.size() && dir.compare(0, mp.size(), mp) == 0 && dir[mp.size()] == '/');
    if (under && mp.size() > best.size()) best = mp;
  }
  if (::mount(nullptr, best.c_str(), nullptr, MS_PRIVATE, nullptr) != 0)
    return sysError(errno, "make {} private", best);
  return {};
}

Result<> pivotInto(const std::string& rootfs) {
  int oldRoot = ::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (oldRoot < 0) return sysError(errno, "open /");
  int newRoot = ::open(rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (newRoot < 0) {
    int e = errno;
    ::close(oldRoot);
    return sysError(e, "open {}", rootfs);
  }
  Result<> r;
  if (::fchdir(newRoot) != 0) r = sysError(errno, "chdir {}", rootfs);
  else if (syscall(SYS_pivot_root, ".", ".") != 0) r = sysError(errno, "pivot_root {}", rootfs);
  // "." is the old root now (stacked under the new one): made a slave
  // first, so that unmounting it never propagates to the host's mounts
  // when the namespace shares peer groups with it (rootfsShared).
  else if (::fchdir(oldRoot) != 0) r = sysError(errno, "chdir old root");
  else if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) r = sysError(errno, "make old root rslave");
  else if (::umount2(".", MNT_DETACH) != 0) r = sysError(errno, "unmount old root");
  else if (::chdir("/") != 0) r = sysError(errno, "chdir /");
  ::close(oldRoot);
  ::close(newRoot);
  return r;
}

void maskPaths(const Spec& spec) {
  for (const auto& p : spec.maskedPaths) {
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) ::mount("tmpfs", p.c_str(), "tmpfs", MS_RDONLY, nullptr);
    else ::mount("/dev/null", p.c_str(), nullptr, MS_BIND, nullptr);
  }
}

Result<> readonlyPaths(const Spec& spec) {
  for (const auto& p : spec.readonlyPaths) {
    if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      if (errno == ENOENT) continue;
      return sysError(errno, "bind {}", p);
    }
    if (::mount(nullptr, p.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, nullptr) != 0 &&
        ::mount(nullptr, p.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                nullptr) != 0)
      return sysError(errno, "remount {} read-only", p);
  }
  return {};
}

// Overlay through the new mount API, one "lowerdir+" per layer: no limit
// on the number of layers (mount(2) data is capped at one page). Linux 6.8+.
Result<> mountOverlayFs(const Overlay& o, const std::string& target) {
  int fs = ::fsopen("overlay", FSOPEN_CLOEXEC);
  if (fs < 0) return sysError(errno, "fsopen overlay");
  auto fail = [&](const char* what) {
    int e = errno;
    ::close(fs);
    return sysError(e, "overlay {} for {}", what, target);
  };
  for (const auto& layer : split(o.lowerdir, ':'))
    if (!layer.empty() && ::fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", layer.c_str(), 0) != 0)
      return fail("lowerdir+");
  if (!o.upperdir.empty() && ::fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", o.upperdir.c_str(), 0) != 0)
    return fail("upperdir");
  if (!o.workdir.empty() && ::fsconfig(fs, FSCONFIG_SET_STRING, "workdir", o.workdir.c_str(), 0) != 0)
    return fail("workdir");
  if (o.volatileUpper && ::fsconfig(fs, FSCONFIG_SET_FLAG, "volatile", nullptr, 0) != 0) return fail("volatile");
  if (::fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) return fail("create");
  int mnt = ::fsmount(fs, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0) return fail("fsmount");
  ::close(fs);
  int r = ::move_mount(mnt, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH);
  int e = errno;
  ::close(mnt);
  if (r != 0) return sysError(e, "move overlay to {}", target);
  return {};
}

}  // namespace

std::string cgroupV1Hierarchies(std::string_view mountinfo) {
  std::string out;
  for (const auto& line : split(std::string(mountinfo), '\n')) {
    // id parent maj:min root mountpoint opts [optional...] - fstype source superopts
    auto sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    auto left = split(line.substr(0, sep), ' ');
    auto right = split(line.substr(sep + 3), ' ');
    if (left.size() < 5 || right.size() < 3 || right[0] != "cgroup") continue;
    const std::string& mp = left[4];
    if (!startsWith(mp, "/sys/fs/cgroup/") || mp.find('/', 15) != std::string::npos) continue;
    std::string name = mp.substr(15);
    if (name.empty() || name.find('\t') != std::string::npos) continue;
    out += name + "\t" + right[2] + "\n";
  }
  return out;
}

std::vector<Mount> effectiveMounts(const Spec& spec) {
  std::vector<Mount> out;
  for (const char* d : {"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"}) {
    bool have = false;
    for (const auto& m : spec.mounts) have |= (cleanPath(m.destination) == d);
    if (!have) out.push_back(defaultMount(d));
  }
  for (const auto& m : spec.mounts) {
    out.push_back(m);
    out.back().destination = cleanPath(m.destination);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Mount& a, const Mount& b) { return depth(a.destination) < depth(b.destination); });
  return out;
}

Result<std::string> resolveInRoot(const std::string& root, const std::string& path) {
  std::vector<std::string> todo;  // remaining components, reversed
  auto push = [&](const std::string& p) {
    auto parts = split(p, '/');
    for (auto it = parts.rbegin(); it != parts.rend(); ++it)
      if (!it->empty() && *it != ".") todo.push_back(*it);
  };
  push(path);
  std::vector<std::string> done;
  int links = 0;
  while (!todo.empty()) {
    std::string part = std::move(todo.back());
    todo.pop_back();
    if (part == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    std::string cur = root;
    for (const auto& d : done) cur += "/" + d;
    cur += "/" + part;
    struct stat st;
    if (::lstat(cur.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
      done.push_back(std::move(part));
      continue;
    }
    if (++links > 40) return sysError(ELOOP, "resolve {} in {}", path, root);
    char buf[4096];
    ssize_t n = ::readlink(cur.c_str(), buf, sizeof buf - 1);
    if (n < 0) return sysError(errno, "readlink {}", cur);
    std::string target(buf, size_t(n));
    if (!target.empty() && target[0] == '/') done.clear();
    push(target);
  }
  std::string out = root;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  for (const auto& d : done) out += "/" + d;
  return out;
}

std::string overlayData(const Overlay& o) {
  std::string data = "lowerdir=" + o.lowerdir;
  if (!o.upperdir.empty()) data += ",upperdir=" + o.upperdir;
  if (!o.workdir.empty()) data += ",workdir=" + o.workdir;
  if (o.volatileUpper) data += ",volatile";
  return data;
}

int ptyNumber(int master) {
  int n = -1;
  return ::ioctl(master, TIOCGPTN, &n) == 0 ? n : -1;
}

Result<std::pair<int, int>> openPtyIn(const std::string& pts) {
  int master = ::open((pts + "/ptmx").c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return sysError(errno, "open {}/ptmx", pts);
  int unlock = 0, n = -1;
  if (::ioctl(master, TIOCSPTLCK, &unlock) != 0 || ::ioctl(master, TIOCGPTN, &n) != 0) {
    int e = errno;
    ::close(master);
    return sysError(e, "unlock pty");
  }
  std::string slavePath = pts + "/" + std::to_string(n);
  int slave = ::open(slavePath.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    int e = errno;
    ::close(master);
    return sysError(e, "open {}", slavePath);
  }
  return std::pair<int, int>{master, slave};
}

Result<> setupRootfs(const Spec& spec, const std::vector<Mount>& mounts, bool newNetns,
                     const std::string& consolePath, std::pair<int, int>* ptyOut,
                     const std::function<Result<>()>& beforeCgroup, const std::string* cgroupHierarchies) {
  unsigned long rootProp = spec.rootfsShared ? MS_SHARED : spec.rootfsSlave ? MS_SLAVE : MS_PRIVATE;
  if (::mount(nullptr, "/", nullptr, MS_REC | rootProp, nullptr) != 0)
    return sysError(errno, "make / {}", spec.rootfsShared ? "rshared" : spec.rootfsSlave ? "rslave" : "rprivate");
  const std::string& rootfs = spec.rootPath;
  // With a shared root the rootfs would be mounted into the host's peer
  // groups too (and pivot_root refuses a shared parent): its parent mount
  // goes private, in this namespace only.
  if (spec.rootfsShared) TRY(makeParentMountPrivate(rootfs));
  if (auto ov = spec.overlay()) {
    auto mountIt = [&](const Overlay& o) -> Result<> {
      std::string data = overlayData(o);
      return data.size() < 4000 ? doMount("overlay", rootfs, "overlay", 0, data) : mountOverlayFs(o, rootfs);
    };
    auto r = mountIt(*ov);
    if (!r && ov->volatileUpper && r.error().err == EINVAL) {
      ov->volatileUpper = false;  // a kernel before 5.10: no "volatile"
      r = mountIt(*ov);
    }
    TRY(std::move(r));
  } else {
    TRY(doMount(rootfs.c_str(), rootfs, nullptr, MS_BIND | MS_REC, ""));
  }
  bool devTmpfs = false;
  bool placed = !beforeCgroup;
  auto place = [&]() -> Result<> {
    if (placed) return {};
    placed = true;
    return beforeCgroup();
  };
  bool allPrivate = rootProp == MS_PRIVATE;
  for (const auto& m : mounts) {
    if (m.type == "cgroup") {
      TRY(place());
      TRY(mountCgroupTree(m, rootfs, spec.cgroupsPath, spec.findNamespace("cgroup") != nullptr,
                          cgroupHierarchies ? *cgroupHierarchies : std::string()));
      continue;
    }
    auto r = mountOne(m, rootfs, newNetns, allPrivate);
    if (!r) return std::unexpected(r.error());
    // A mount made shared or a slave (a -v option): later binds may join it.
    if (unsigned long prop = parseMountOptions(m.options).propagation; prop && (prop & ~MS_REC) != MS_PRIVATE)
      allPrivate = false;
    if (m.destination == "/dev" && m.type == "tmpfs") devTmpfs = true;
  }
  TRY(place());
  if (devTmpfs) TRY(populateDev(rootfs, spec));
  if (ptyOut) {
    std::string pts = rootfs + "/dev/pts";
    TRY_ASSIGN(*ptyOut, openPtyIn(pts));
    std::string slavePath = pts + "/" + std::to_string(ptyNumber(ptyOut->first));
    std::string console = rootfs + "/dev/console";
    TRY(createTarget(console, true));
    TRY(bindMount(slavePath, console, false, 0));
  } else if (!consolePath.empty()) {
    std::string console = rootfs + "/dev/console";
    TRY(createTarget(console, true));
    TRY(bindMount(consolePath, console, false, 0));
  }
  TRY(pivotInto(rootfs));
  // Sysctls go in before /proc/sys turns read-only.
  for (const auto& [key, value] : spec.sysctl) {
    std::string path = "/proc/sys/";
    for (char c : key) path += c == '.' ? '/' : c;
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return sysError(errno, "open sysctl {}", key);
    ssize_t n = ::write(fd, value.data(), value.size());
    int e = errno;
    ::close(fd);
    if (n < 0) return sysError(e, "write sysctl {}={}", key, value);
  }
  maskPaths(spec);
  TRY(readonlyPaths(spec));
  // The working directory is created (as Docker does) before / turns read-only.
  const std::string& cwd = spec.process.cwd;
  struct stat st;
  if (!cwd.empty() && ::stat(cwd.c_str(), &st) != 0) {
    auto r = mkdirAll(cwd, 0755);
    if (!r) return std::unexpected(r.error().wrap("create cwd"));
    if (spec.process.user.uid || spec.process.user.gid)
      (void)!::chown(cwd.c_str(), spec.process.user.uid, spec.process.user.gid);
  }
  if (spec.rootReadonly && ::mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0)
    return sysError(errno, "remount / read-only");
  return {};
}

}  // namespace berth::runtime
