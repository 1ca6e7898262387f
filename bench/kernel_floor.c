// kernel_floor: the least work the kernel needs to start a container like
// berth's, timed. The yardstick of bench/kernel-floor.sh (issue 17: berth's
// `run --rm` is judged against it).
//
//   kernel_floor ROOTFS WORKDIR CGROUP_NAME RUNS [full]
//
// One run, timed from the first mkdir to the last rmdir:
//   - a cgroup in each of the memory, pids and cpu hierarchies (v1; on v2
//     one cgroup under the unified root);
//   - an overlay upper and work directory under WORKDIR;
//   - clone() with 6 new namespaces (mount, uts, ipc, pid, net, cgroup);
//   - in the child: join the cgroups, private propagation, overlay of ROOTFS
//     onto a mountpoint, /proc, a tmpfs /dev with null, zero, full, random,
//     urandom and tty, pivot_root, sethostname, execve("/bin/true");
//   - the parent waits, then removes the cgroups and directories.
// No seccomp, no capabilities dropped, no network set up: those are
// berth's costs on top of the floor, and the timeline shows them.
//
// With "full", the child also makes every other mount a docker-style
// container gets (berth's runtime/mounts.cpp does the same list): /dev/pts
// (devpts), /dev/shm (tmpfs), /dev/mqueue, /sys (sysfs, read-only), the
// hostname, hosts and resolv.conf bind mounts, the 12 masked paths
// (/dev/null or an empty read-only tmpfs over /proc/kcore, /sys/firmware, ...)
// and the 5 read-only /proc paths (bind + remount), and brings `lo` up.
// That is the honest yardstick for "the same work as a container": the
// plain floor is what no container runtime can go below.
//
// Prints one line per run (milliseconds), then "median p10 p90" on stderr.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char* g_rootfs;
static char g_merged[4096], g_upper[4096], g_work[4096];
static char g_cgroups[4][4096];
static int g_ncgroups;
static int g_full;

static void die(const char* what) {
  fprintf(stderr, "kernel_floor: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double nowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int writeFile(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, text, strlen(text));
  close(fd);
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int childMain(void* arg) {
  (void)arg;
  char path[8192];
  for (int i = 0; i < g_ncgroups; i++) {
    snprintf(path, sizeof path, "%.4000s/cgroup.procs", g_cgroups[i]);
    if (writeFile(path, "0") != 0) die(path);
  }
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) die("private /");
  char opts[12800];
  snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", g_rootfs, g_upper, g_work);
  if (mount("overlay", g_merged, "overlay", 0, opts) != 0) die("overlay");
  snprintf(path, sizeof path, "%s/proc", g_merged);
  if (mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) die("proc");
  snprintf(path, sizeof path, "%s/dev", g_merged);
  if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k") != 0) die("dev");
  static const struct { const char* name; unsigned maj, min; } nodes[] = {
      {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
    snprintf(path, sizeof path, "%s/dev/%s", g_merged, nodes[i].name);
    if (mknod(path, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) != 0) die(path);
  }
  if (g_full) {
    snprintf(path, sizeof path, "%s/dev/pts", g_merged);
    mkdir(path, 0755);
    if (mount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") != 0) die("devpts");
    snprintf(path, sizeof path, "%s/dev/shm", g_merged);
    mkdir(path, 01777);
    if (mount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k") != 0) die("shm");
    snprintf(path, sizeof path, "%s/dev/mqueue", g_merged);
    mkdir(path, 0755);
    if (mount("mqueue", path, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) die("mqueue");
    snprintf(path, sizeof path, "%s/sys", g_merged);
    if (mount("sysfs", path, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) != 0) die("sysfs");
    static const char* binds[] = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"};
    for (size_t i = 0; i < 3; i++) {
      snprintf(path, sizeof path, "%s%s", g_merged, binds[i]);
      if (mount("/etc/hosts", path, NULL, MS_BIND, NULL) != 0) die(path);
    }
    static const char* masked[] = {"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
                                   "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                                   "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"};
    for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++) {
      struct stat st;
      snprintf(path, sizeof path, "%s%s", g_merged, masked[i]);
      if (stat(path, &st) != 0) continue;
      if (S_ISDIR(st.st_mode)) mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL);
      else mount("/dev/null", path, NULL, MS_BIND, NULL);
    }
    static const char* ro[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
    for (size_t i = 0; i < sizeof ro / sizeof ro[0]; i++) {
      snprintf(path, sizeof path, "%s%s", g_merged, ro[i]);
      if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) != 0) continue;
      mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL);
    }
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
      ifr.ifr_flags |= IFF_UP;
      ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    if (s >= 0) close(s);
  }
  if (chdir(g_merged) != 0) die("chdir merged");
  if (syscall(SYS_pivot_root, ".", ".") != 0) die("pivot_root");
  if (umount2(".", MNT_DETACH) != 0) die("umount old root");
  if (chdir("/") != 0) die("chdir /");
  if (sethostname("floor", 5) != 0) die("sethostname");
  char* const argv[] = {"/bin/true", NULL};
  char* const envp[] = {"PATH=/bin", NULL};
  execve("/bin/true", argv, envp);
  die("execve /bin/true");
  return 1;
}

static int cmpDouble(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  if (argc != 5 && !(argc == 6 && strcmp(argv[5], "full") == 0)) {
    fprintf(stderr, "usage: %s ROOTFS WORKDIR CGROUP_NAME RUNS [full]\n", argv[0]);
    return 2;
  }
  g_full = argc == 6;
  g_rootfs = argv[1];
  if (g_full) {
    // the mount points in the image itself (lower), as berth's bundle
    // provides them: no copy-up in the timed part
    char p[4200];
    snprintf(p, sizeof p, "%s/sys", g_rootfs);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/etc", g_rootfs);
    mkdir(p, 0755);
    static const char* files[] = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"};
    for (int i = 0; i < 3; i++) {
      snprintf(p, sizeof p, "%s%s", g_rootfs, files[i]);
      int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (fd >= 0) close(fd);
    }
  }
  const char* workdir = argv[2];
  const char* cgName = argv[3];
  int runs = atoi(argv[4]);
  if (runs <= 0) runs = 1;
  struct stat st;
  int v2 = stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0;
  double* ms = calloc((size_t)runs, sizeof *ms);
  static char stack[256 * 1024];

  for (int r = 0; r < runs; r++) {
    double t0 = nowMs();
    g_ncgroups = 0;
    if (v2) {
      snprintf(g_cgroups[g_ncgroups++], sizeof g_cgroups[0], "/sys/fs/cgroup/%s-%d", cgName, r);
    } else {
      static const char* hier[] = {"memory", "pids", "cpu"};
      for (int i = 0; i < 3; i++)
        snprintf(g_cgroups[g_ncgroups++], sizeof g_cgroups[0], "/sys/fs/cgroup/%s/%s-%d", hier[i], cgName, r);
    }
    for (int i = 0; i < g_ncgroups; i++)
      if (mkdir(g_cgroups[i], 0755) != 0) die(g_cgroups[i]);
    snprintf(g_upper, sizeof g_upper, "%s/u%d", workdir, r);
    snprintf(g_work, sizeof g_work, "%s/w%d", workdir, r);
    snprintf(g_merged, sizeof g_merged, "%s/m%d", workdir, r);
    if (mkdir(g_upper, 0755) != 0 || mkdir(g_work, 0700) != 0 || mkdir(g_merged, 0755) != 0) die("mkdir overlay dirs");

    int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP | SIGCHLD;
    pid_t pid = clone(childMain, stack + sizeof stack, flags, NULL);
    if (pid < 0) die("clone");
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) die("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "kernel_floor: child failed (status %d)\n", status);
      return 1;
    }
    for (int i = 0; i < g_ncgroups; i++)
      while (rmdir(g_cgroups[i]) != 0) {
        if (errno != EBUSY) die(g_cgroups[i]);
        usleep(100);  // the exited task leaves the cgroup asynchronously
      }
    // work/ holds a root-owned "work" dir made by overlayfs; upper/ may hold
    // nothing: /bin/true writes no file.
    char inner[4200];
    snprintf(inner, sizeof inner, "%s/work", g_work);
    rmdir(inner);
    if (rmdir(g_work) != 0 || rmdir(g_upper) != 0 || rmdir(g_merged) != 0) die("rmdir overlay dirs");
    ms[r] = nowMs() - t0;
    printf("%.2f\n", ms[r]);
  }
  qsort(ms, (size_t)runs, sizeof *ms, cmpDouble);
  double median = runs % 2 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
  fprintf(stderr, "%.2f %.2f %.2f\n", median, ms[(int)(0.1 * (runs - 1))], ms[runs - 1 - (int)(0.1 * (runs - 1))]);
  free(ms);
  return 0;
}
