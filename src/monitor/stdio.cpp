#include "monitor/stdio.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <span>

#include "common/fd_pass.h"

namespace berth::monitor {

runtime::ChildStdio Stdio::childFds() const {
  return {childIn.get(), childOut.get(), childErr.get(), tty};
}

void Stdio::closeChildEnds() {
  childIn.reset();
  childOut.reset();
  childErr.reset();
}

Result<Stdio> makeStdio(bool tty, bool stdinPipe, uint16_t rows, uint16_t cols) {
  Stdio s;
  s.tty = tty;
  if (tty) {
    UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) return sysError(errno, "open pty master");
    if (::grantpt(master.get()) != 0) return sysError(errno, "grantpt");
    if (::unlockpt(master.get()) != 0) return sysError(errno, "unlockpt");
    char name[128];
    if (::ptsname_r(master.get(), name, sizeof name) != 0) return sysError(errno, "ptsname");
    s.slavePath = name;
    UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) return sysError(errno, "open {}", name);
    if (rows || cols) {
      winsize ws{rows, cols, 0, 0};
      ::ioctl(master.get(), TIOCSWINSZ, &ws);
    }
    s.childIn.reset(::dup(slave.get()));
    s.childErr.reset(::dup(slave.get()));
    ::fcntl(s.childIn.get(), F_SETFD, FD_CLOEXEC);
    ::fcntl(s.childErr.get(), F_SETFD, FD_CLOEXEC);
    s.childOut = std::move(slave);
    s.out = std::move(master);
    return s;
  }
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return sysError(errno, "pipe");
  s.out.reset(p[0]);
  s.childOut.reset(p[1]);
  if (::pipe2(p, O_CLOEXEC) != 0) return sysError(errno, "pipe");
  s.err.reset(p[0]);
  s.childErr.reset(p[1]);
  if (stdinPipe) {
    if (::pipe2(p, O_CLOEXEC) != 0) return sysError(errno, "pipe");
    s.childIn.reset(p[0]);
    s.in.reset(p[1]);
  } else {
    s.childIn.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!s.childIn) return sysError(errno, "open /dev/null");
  }
  return s;
}

// One fd sent with SCM_RIGHTS (the child's pty master, runtime/launch.h).
Result<UniqueFd> recvFd(int sock) {
  char one;
  int fd = -1;
  size_t count = 0;
  ssize_t n = recvByteWithFds(sock, &one, std::span<int>(&fd, 1), &count);
  if (n < 0) return sysError(errno, "receive pty master");
  if (n != 1 || count != 1) return makeError(Code::Internal, "no pty master from the container");
  return UniqueFd(fd);
}

}  // namespace berth::monitor
