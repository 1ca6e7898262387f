#include "daemon/root_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/util.h"

namespace berth::daemon {

Result<UniqueFd> lockRoot(const std::string& dir, const char* what) {
  std::string path = dir + "/berthd.lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return sysError(errno, "open {}", path);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    if (e != EWOULDBLOCK) return sysError(e, "lock {}", path);
    std::string holder = trim(readFile(path).value_or(""));
    return errorf(Code::FailedPrecondition,
                  "{} {} is in use by another berthd{} (lock {}): is berthd already running with this {}?", what, dir,
                  holder.empty() ? "" : " (pid " + holder + ")", path, what);
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) == 0) (void)!::pwrite(fd.get(), pid.data(), pid.size(), 0);
  return fd;
}

}  // namespace berth::daemon
