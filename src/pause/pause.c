/* berth-pause: the process of a CRI pod sandbox (issue 16, docs/cri.md).
 *
 * Contract: holds the pod's namespaces by staying alive; prints nothing;
 * reaps every child it inherits (it is PID 1 when the pod shares its PID
 * namespace, and orphans of the pod are reparented to it); exits 0 on
 * SIGINT or SIGTERM. Any argument is ignored.
 *
 * It installs no signal handler: SIGINT, SIGTERM and SIGCHLD are blocked and
 * taken synchronously with rt_sigtimedwait. A blocked signal is queued even
 * for the init of a PID namespace, which the kernel otherwise shields from
 * signals it has no handler for.
 *
 * On x86_64 it is built without any libc (-nostdlib -static, raw system
 * calls, a few hundred bytes of code); elsewhere it uses libc's wrappers.
 */

#define PAUSE_SIGINT 2
#define PAUSE_SIGTERM 15
#define PAUSE_SIGCHLD 17
#define PAUSE_SIG_BLOCK 0
#define PAUSE_WNOHANG 1

#if defined(__x86_64__) && defined(PAUSE_NOLIBC)

#define NR_rt_sigprocmask 14
#define NR_wait4 61
#define NR_exit_group 231
#define NR_rt_sigtimedwait 128

static long sys4(long n, long a, long b, long c, long d) {
  long ret;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return ret;
}

static long block(const unsigned long* set) { return sys4(NR_rt_sigprocmask, PAUSE_SIG_BLOCK, (long)set, 0, 8); }
static long waitsig(const unsigned long* set) { return sys4(NR_rt_sigtimedwait, (long)set, 0, 0, 8); }
static long reap(void) { return sys4(NR_wait4, -1, 0, PAUSE_WNOHANG, 0); }
static void quit(int code) {
  for (;;) sys4(NR_exit_group, code, 0, 0, 0);
}

static void run(void);

__attribute__((force_align_arg_pointer, noreturn)) void _start(void) {
  run();
  quit(0);
  __builtin_unreachable();
}

#else

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

static sigset_t libcSet;
static long block(const unsigned long* set) {
  (void)set;
  return sigprocmask(SIG_BLOCK, &libcSet, 0);
}
static long waitsig(const unsigned long* set) {
  (void)set;
  return sigwaitinfo(&libcSet, 0);
}
static long reap(void) { return waitpid(-1, 0, WNOHANG); }
static void quit(int code) { _exit(code); }

static void run(void);

int main(void) {
  sigemptyset(&libcSet);
  sigaddset(&libcSet, SIGINT);
  sigaddset(&libcSet, SIGTERM);
  sigaddset(&libcSet, SIGCHLD);
  run();
  return 0;
}

#endif

static void run(void) {
  /* Bit n-1 of the kernel's sigset is signal n. */
  unsigned long set = (1UL << (PAUSE_SIGINT - 1)) | (1UL << (PAUSE_SIGTERM - 1)) | (1UL << (PAUSE_SIGCHLD - 1));
  if (block(&set) < 0) quit(1);
  for (;;) {
    long sig = waitsig(&set);
    if (sig == PAUSE_SIGINT || sig == PAUSE_SIGTERM) quit(0);
    if (sig == PAUSE_SIGCHLD)
      while (reap() > 0) {
      }
  }
}
