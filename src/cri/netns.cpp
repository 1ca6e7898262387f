#include "cri/netns.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstring>
#include <system_error>
#include <thread>

#include "common/util.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

namespace berth::cri {

bool isPinnedNetns(const std::string& target) {
  struct statfs fs;
  return ::statfs(target.c_str(), &fs) == 0 && fs.f_type == NSFS_MAGIC;
}

Result<> pinNetns(const std::string& source, const std::string& target) {
  if (isPinnedNetns(target)) return errorf(Code::AlreadyExists, "{} is already a pinned namespace", target);
  auto slash = target.rfind('/');
  if (slash != std::string::npos && slash > 0) TRY(mkdirAll(target.substr(0, slash), 0700));
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0400);
  if (fd < 0) return sysError(errno, "create {}", target);
  ::close(fd);
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    int e = errno;
    ::unlink(target.c_str());
    return sysError(e, "bind {} on {}", source, target);
  }
  return {};
}

namespace {

// lo up in the calling thread's network namespace (a new one has it down).
Result<> loopbackUp() {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return sysError(errno, "socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  Result<> r;
  if (::ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
    r = sysError(errno, "read the flags of lo");
  } else if (!(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags |= IFF_UP;
    if (::ioctl(s, SIOCSIFFLAGS, &ifr) != 0) r = sysError(errno, "bring lo up");
  }
  ::close(s);
  return r;
}

}  // namespace

Result<> createPinnedNetns(const std::string& target) {
  if (isPinnedNetns(target)) return errorf(Code::AlreadyExists, "{} is already a pinned namespace", target);
  Result<> r;
  // The thread ends with the namespace pinned: only the bind mount keeps it.
  try {
    std::thread t([&] {
      if (::unshare(CLONE_NEWNET) != 0) {
        r = sysError(errno, "create a network namespace");
        return;
      }
      r = loopbackUp();
      if (r) r = pinNetns("/proc/thread-self/ns/net", target);
    });
    t.join();
  } catch (const std::system_error& e) {
    r = errorf(Code::Unavailable, "start a thread: {}", e.what());
  }
  if (!r) return std::unexpected(r.error().wrap("pin the pod's network namespace"));
  return {};
}

Result<> unpinNetns(const std::string& target) {
  if (target.empty()) return {};
  // A namespace may be bound more than once (a retried pin): undo them all.
  for (int i = 0; i < 8 && isPinnedNetns(target); i++)
    if (::umount2(target.c_str(), MNT_DETACH) != 0) return sysError(errno, "unmount {}", target);
  if (::unlink(target.c_str()) != 0 && errno != ENOENT) return sysError(errno, "remove {}", target);
  return {};
}

}  // namespace berth::cri
