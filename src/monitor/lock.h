#pragma once
// The container's monitor lock (docs/crash-safety.md): DIR/monitor.lock in
// the bundle, flock(2)ed exclusively while a run-mode monitor may run the
// container. berthd takes the lock before it spawns the monitor and hands
// the locked descriptor over as fd 4 (`--lock-fd 4`): the open file
// description, and with it the lock, lives exactly as long as berthd holds it
// before the spawn or the monitor after it. So at any moment, even right
// after a SIGKILL of berthd, "locked" means "a monitor of this container is
// alive (or about to be)", and a second monitor for the same bundle can never
// start. The monitor writes its pid into the file. Header-only: berthd and
// berth-monitor share it without sharing a library.

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/fd.h"
#include "common/number.h"
#include "common/result.h"

namespace berth::monitor {

inline constexpr const char* kLockFileName = "monitor.lock";
// The descriptor berthd passes the locked file on.
inline constexpr int kLockFd = 4;

inline std::string lockPath(const std::string& bundle) { return bundle + "/" + kLockFileName; }

// Takes the lock of bundle without waiting. Conflict when another process
// holds it; the error from open(2) otherwise. The fd is O_CLOEXEC.
inline Result<UniqueFd> tryLock(const std::string& bundle) {
  UniqueFd fd(::open(lockPath(bundle).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return sysError(errno, "open {}", lockPath(bundle));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return makeError(Code::Conflict, "the container's monitor is running");
    return sysError(errno, "flock {}", lockPath(bundle));
  }
  return fd;
}

enum class LockState { None, Free, Held };

// Whether a monitor holds the lock of bundle (None: no lock file, a bundle
// never started by a monitor that locks). Takes and drops the lock when it is
// free: a concurrent tryLock may fail for that instant.
inline LockState lockState(const std::string& bundle) {
  UniqueFd fd(::open(lockPath(bundle).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return LockState::None;
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return errno == EWOULDBLOCK ? LockState::Held : LockState::Free;
  return LockState::Free;
}

// The pid the monitor wrote into the lock file (0 when none).
inline pid_t lockOwner(const std::string& bundle) {
  UniqueFd fd(::open(lockPath(bundle).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return 0;
  char buf[32];
  ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  std::string_view s(buf, size_t(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  return parseNumber<pid_t>(s).value_or(0);
}

// The monitor's side: records its pid in the locked file.
inline void writeLockOwner(int fd, pid_t pid) {
  std::string s = std::to_string(pid) + "\n";
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, s.data(), s.size(), 0);
}

}  // namespace berth::monitor
