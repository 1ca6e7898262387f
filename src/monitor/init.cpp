// berth-monitor as a container's init (--init): PID 1 that runs the command
// as its child, forwards signals to it and reaps every zombie. Mounted at
// /dev/init and started as `/dev/init -- CMD ARGS...` (Docker's layout).

#include "monitor/init.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace berth::monitor {

int initMain(int argc, char** argv) {
  int first = 1;
  if (first < argc && std::strcmp(argv[first], "--") == 0) first++;
  if (first >= argc) {
    static const char kUsage[] = "usage: init -- COMMAND [ARG...]\n";
    (void)!::write(2, kUsage, sizeof kUsage - 1);
    return 2;
  }
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  pid_t child = ::fork();
  if (child < 0) {
    (void)!::write(2, "init: fork failed\n", 18);
    return 1;
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &old, nullptr);
    // Its own process group, in the foreground of a terminal if there is one
    // (so ^C reaches it as it would without an init).
    ::setpgid(0, 0);
    if (::isatty(0)) {
      ::signal(SIGTTOU, SIG_IGN);
      ::tcsetpgrp(0, ::getpid());
      ::signal(SIGTTOU, SIG_DFL);
    }
    ::execvp(argv[first], argv + first);
    int e = errno;
    (void)!::write(2, "init: exec ", 11);
    (void)!::write(2, argv[first], std::strlen(argv[first]));
    (void)!::write(2, ": ", 2);
    const char* msg = std::strerror(e);
    (void)!::write(2, msg, std::strlen(msg));
    (void)!::write(2, "\n", 1);
    _exit(e == ENOENT ? 127 : 126);
  }
  for (;;) {
    siginfo_t si;
    timespec tick{1, 0};
    int sig = ::sigtimedwait(&all, &si, &tick);
    if (sig > 0 && sig != SIGCHLD) {
      // To the child's process group, like tini -g: shells' children hear it too.
      if (::kill(-child, sig) != 0) ::kill(child, sig);
    }
    // Reap everything; the command's own exit ends the init.
    for (;;) {
      int status;
      pid_t p = ::waitpid(-1, &status, WNOHANG);
      if (p <= 0) break;
      if (p != child) continue;
      // Orphans left behind get SIGKILL from the kernel when PID 1 exits.
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    }
  }
}

}  // namespace berth::monitor
