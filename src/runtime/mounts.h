#pragma once
// Root filesystem setup inside a new mount namespace: overlay root, the
// standard /proc /dev /sys mounts, bind mounts, device nodes, pivot_root,
// masked and read-only paths. Runs in the container child after clone.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "runtime/spec.h"

namespace berth::runtime {

// The mounts to make, in order: the spec's mounts plus a default for each of
// /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys the spec leaves out,
// stably sorted by path depth (parents first, as Docker does). Pure.
std::vector<Mount> effectiveMounts(const Spec& spec);

// Resolves `path` (absolute, as seen in the container) against `root` on the
// host, following symlinks without escaping root (a link to /x means
// root/x; ".." stops at root). Missing trailing components are appended as
// they are. Returns root + resolved path.
Result<std::string> resolveInRoot(const std::string& root, const std::string& path);

// overlay data string "lowerdir=..,upperdir=..,workdir=..".
std::string overlayData(const Overlay& o);

// Everything before the process setup, in a fresh mount namespace: makes /
// rprivate, mounts the root, the mounts, devices, pivot_root into it, then
// masked / read-only paths and a read-only root. newNetns: whether sysfs can
// be mounted fresh (else /sys is bound from the host read-only).
// consolePath: the pty slave (host path), bound onto /dev/console as runc
// does so ttyname() finds the terminal; empty without a terminal.
// ptyOut (run mode with a terminal, the container's own devpts): when not
// null, a pty pair is opened in the container's /dev/pts (before
// pivot_root), the slave bound onto /dev/console, and both fds returned
// (CLOEXEC) as {master, slave}.
// A new pty pair of the devpts mounted at `pts` (its ptmx node), unlocked:
// {master, slave}, both CLOEXEC and owned by the caller. ptyNumber: the N of
// the master's /dev/pts/N, -1 on error.
Result<std::pair<int, int>> openPtyIn(const std::string& pts);
int ptyNumber(int master);

// beforeCgroup (when not null) runs once, before the first mount of type
// "cgroup" or else after the last of `mounts` (before /dev is populated):
// where the caller places the process in its cgroups (the cgroup tree
// binds the container's cgroup directories, which must exist by then). Its
// error ends the setup.
// cgroupHierarchies (when not null; read after beforeCgroup ran): the
// cgroupV1Hierarchies of this mount namespace, known to the caller; null
// or empty: read from /proc/self/mountinfo when a cgroup tree is mounted.
Result<> setupRootfs(const Spec& spec, const std::vector<Mount>& mounts, bool newNetns,
                     const std::string& consolePath = "", std::pair<int, int>* ptyOut = nullptr,
                     const std::function<Result<>()>& beforeCgroup = nullptr,
                     const std::string* cgroupHierarchies = nullptr);

// The cgroup v1 hierarchies mounted directly under /sys/fs/cgroup in a
// /proc/self/mountinfo text, in its order: one "<name>\t<superopts>\n" a
// hierarchy (name: the mount point's last component). Empty when none
// (e.g. a cgroup v2 host).
std::string cgroupV1Hierarchies(std::string_view mountinfo);

}  // namespace berth::runtime
