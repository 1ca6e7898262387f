#include "container/security.h"

#include "common/json_limits.h"

#include "common/number.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <optional>

#include "common/util.h"
#include "runtime/stage.h"

namespace berth::container {

using json = nlohmann::json;

namespace {

const std::vector<std::string>& dockerDefaultCaps() {
  static const std::vector<std::string> caps = {
      "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",     "CAP_MKNOD",
      "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",           "CAP_SETFCAP",    "CAP_SETPCAP",
      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",     "CAP_AUDIT_WRITE"};
  return caps;
}

std::string normaliseCap(const std::string& in) {
  std::string s;
  for (char c : in) s += char(std::toupper(static_cast<unsigned char>(c)));
  if (s == "ALL") return s;
  if (!startsWith(s, "CAP_")) s = "CAP_" + s;
  return s;
}

Result<std::vector<std::string>> capList(const json& hc, const char* key) {
  std::vector<std::string> out;
  auto it = hc.find(key);
  if (it == hc.end() || it->is_null()) return out;
  if (!it->is_array()) return errorf(Code::InvalidArgument, "invalid {}: not a list", key);
  const auto& all = allCapabilityNames();
  for (const auto& v : *it) {
    if (!v.is_string()) return errorf(Code::InvalidArgument, "invalid {}: not a list of strings", key);
    std::string n = normaliseCap(v.get<std::string>());
    if (n != "ALL" && std::find(all.begin(), all.end(), n) == all.end())
      return errorf(Code::InvalidArgument, "invalid {}: unknown capability: \"{}\"", key, n);
    out.push_back(n);
  }
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// ---- Docker's default seccomp profile -------------------------------------

// Allowed for every container.
constexpr const char* kAllowed[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset", "chdir",
    "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64",
    "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
    "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
    "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
    "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
    "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
    "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr",
    "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
    "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd",
    "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
    "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
    "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list",
    "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid",
    "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
    "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get",
    "ioprio_set", "io_setup", "io_submit", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
    "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr",
    "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise",
    "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod",
    "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify",
    "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink",
    "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
    "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2", "pause",
    "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll",
    "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease",
    "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
    "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages",
    "removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction",
    "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop",
    "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid",
    "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
    "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32",
    "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area",
    "set_tid_address", "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown",
    "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice",
    "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range",
    "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun",
    "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
    "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
    "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes",
    "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
};

struct CapRule {
  const char* cap;
  std::vector<const char*> names;
};

const std::vector<CapRule>& capRules() {
  static const std::vector<CapRule> rules = {
      {"CAP_DAC_READ_SEARCH", {"open_by_handle_at"}},
      {"CAP_SYS_ADMIN",
       {"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
        "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd",
        "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare"}},
      {"CAP_SYS_BOOT", {"reboot"}},
      {"CAP_SYS_CHROOT", {"chroot"}},
      {"CAP_SYS_MODULE", {"delete_module", "init_module", "finit_module"}},
      {"CAP_SYS_PACCT", {"acct"}},
      {"CAP_SYS_PTRACE", {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"}},
      {"CAP_SYS_RAWIO", {"iopl", "ioperm"}},
      {"CAP_SYS_TIME", {"settimeofday", "stime", "clock_settime", "clock_settime64"}},
      {"CAP_SYS_TTY_CONFIG", {"vhangup"}},
      {"CAP_SYS_NICE", {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
      {"CAP_SYSLOG", {"syslog"}},
      {"CAP_BPF", {"bpf"}},
      {"CAP_PERFMON", {"perf_event_open"}},
  };
  return rules;
}

constexpr uint64_t kCloneNamespaceFlags = 0x7E020000;  // CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
constexpr int kEPERM = 1, kENOSYS = 38;
constexpr uint64_t kAfVsock = 40;

json buildDefaultProfile() {
  json p;
  p["defaultAction"] = "SCMP_ACT_ERRNO";
  p["defaultErrnoRet"] = kEPERM;
  p["archMap"] = json::array({{{"architecture", "SCMP_ARCH_X86_64"},
                               {"subArchitectures", {"SCMP_ARCH_X86", "SCMP_ARCH_X32"}}}});
  json sys = json::array();
  json names = json::array();
  for (const char* n : kAllowed) names.push_back(n);
  sys.push_back({{"names", names}, {"action", "SCMP_ACT_ALLOW"}});
  sys.push_back({{"names", {"socket"}},
                 {"action", "SCMP_ACT_ALLOW"},
                 {"args", {{{"index", 0}, {"value", kAfVsock}, {"op", "SCMP_CMP_NE"}}}}});
  for (uint64_t persona : {0x0ull, 0x8ull, 0x20000ull, 0x20008ull, 0xffffffffull})
    sys.push_back({{"names", {"personality"}},
                   {"action", "SCMP_ACT_ALLOW"},
                   {"args", {{{"index", 0}, {"value", persona}, {"op", "SCMP_CMP_EQ"}}}}});
  sys.push_back({{"names", {"arch_prctl", "modify_ldt"}},
                 {"action", "SCMP_ACT_ALLOW"},
                 {"includes", {{"arches", {"amd64", "x32", "x86"}}}}});
  sys.push_back({{"names", {"process_vm_readv", "process_vm_writev", "ptrace"}},
                 {"action", "SCMP_ACT_ALLOW"},
                 {"includes", {{"minKernel", "4.8"}}}});
  for (const auto& r : capRules()) {
    json n = json::array();
    for (const char* s : r.names) n.push_back(s);
    sys.push_back({{"names", n}, {"action", "SCMP_ACT_ALLOW"}, {"includes", {{"caps", {r.cap}}}}});
  }
  sys.push_back({{"names", {"clone"}},
                 {"action", "SCMP_ACT_ALLOW"},
                 {"args", {{{"index", 0}, {"value", kCloneNamespaceFlags}, {"valueTwo", 0}, {"op", "SCMP_CMP_MASKED_EQ"}}}},
                 {"excludes", {{"caps", {"CAP_SYS_ADMIN"}}}}});
  // glibc falls back to clone when clone3 answers ENOSYS.
  sys.push_back({{"names", {"clone3"}},
                 {"action", "SCMP_ACT_ERRNO"},
                 {"errnoRet", kENOSYS},
                 {"excludes", {{"caps", {"CAP_SYS_ADMIN"}}}}});
  p["syscalls"] = sys;
  return p;
}

std::vector<std::string> stringList(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

bool knownAction(const std::string& a) {
  static const char* kActions[] = {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                                   "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
                                   "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",         "SCMP_ACT_NOTIFY"};
  for (const char* k : kActions)
    if (a == k) return true;
  return false;
}

bool knownOp(const std::string& o) {
  static const char* kOps[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",       "SCMP_CMP_EQ",
                               "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};
  for (const char* k : kOps)
    if (o == k) return true;
  return false;
}

// Whether a syscall entry's includes/excludes hold for caps on amd64.
bool ruleApplies(const json& rule, const std::vector<std::string>& caps) {
  if (auto inc = rule.find("includes"); inc != rule.end() && inc->is_object()) {
    for (const auto& c : stringList(*inc, "caps"))
      if (!contains(caps, c)) return false;
    auto arches = stringList(*inc, "arches");
    if (!arches.empty() && !contains(arches, "amd64")) return false;
    // minKernel: every kernel berth supports is newer than the profile's 4.x gates.
  }
  if (auto exc = rule.find("excludes"); exc != rule.end() && exc->is_object()) {
    for (const auto& c : stringList(*exc, "caps"))
      if (contains(caps, c)) return false;
    if (contains(stringList(*exc, "arches"), "amd64")) return false;
  }
  return true;
}

}  // namespace

const std::vector<std::string>& allCapabilityNames() {
  static const std::vector<std::string> caps = {
      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
      "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
      "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
      "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
      "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
      "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
      "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
      "CAP_CHECKPOINT_RESTORE"};
  return caps;
}

Result<std::vector<std::string>> effectiveCapabilities(const json& hc) {
  TRY_ASSIGN(auto adds, capList(hc, "CapAdd"));
  TRY_ASSIGN(auto drops, capList(hc, "CapDrop"));
  if (hc.value("Privileged", false)) return allCapabilityNames();
  std::vector<std::string> base;
  if (contains(adds, "ALL")) {
    base = allCapabilityNames();
  } else if (!contains(drops, "ALL")) {
    base = dockerDefaultCaps();
  }
  std::vector<std::string> out;
  for (const auto& c : base)
    if (!contains(drops, c)) out.push_back(c);
  for (const auto& c : adds)
    if (c != "ALL" && !contains(out, c)) out.push_back(c);
  return out;
}

Result<SecurityOptions> parseSecurityOptions(const json& opts) {
  SecurityOptions out;
  if (opts.is_null()) return out;
  if (!opts.is_array()) return makeError(Code::InvalidArgument, "invalid SecurityOpt: not a list");
  int i = 0;
  for (const auto& v : opts) {
    i++;
    if (!v.is_string()) return errorf(Code::InvalidArgument, "invalid --security-opt {}: not a string", i);
    std::string o = v.get<std::string>();
    if (o == "no-new-privileges") {
      out.noNewPrivileges = true;
      continue;
    }
    auto sep = o.find('=');
    if (sep == std::string::npos) sep = o.find(':');  // the deprecated "key:value" form
    if (sep == std::string::npos) return errorf(Code::InvalidArgument, "invalid --security-opt {}: \"{}\"", i, o);
    std::string key = o.substr(0, sep), val = o.substr(sep + 1);
    if (key == "seccomp") {
      if (val == "unconfined") {
        out.seccompUnconfined = true;
        out.seccompProfile.clear();
      } else if (val == "builtin") {
        out.seccompUnconfined = false;
      } else {
        out.seccompProfile = val;
      }
    } else if (key == "no-new-privileges") {
      if (val != "true" && val != "false")
        return errorf(Code::InvalidArgument, "invalid --security-opt 2: \"{}\"", o);
      out.noNewPrivileges = val == "true";
    } else if (key == "apparmor" || key == "label" || key == "systempaths" || key == "writable-cgroups") {
      // No AppArmor/SELinux here; accepted like Docker on a host without them.
    } else {
      return errorf(Code::InvalidArgument, "invalid --security-opt {}: \"{}\"", i, o);
    }
  }
  return out;
}

const json& defaultSeccompProfile() {
  static const json p = buildDefaultProfile();
  return p;
}

namespace {

// The default profile for one capability set, as the OCI object and as its text.
struct BuiltSeccomp {
  json doc;
  std::shared_ptr<const std::string> text;
};

std::shared_ptr<const BuiltSeccomp> defaultSeccompBuilt(const std::vector<std::string>& caps) {
  static std::mutex mu;
  static std::map<std::vector<std::string>, std::shared_ptr<const BuiltSeccomp>> built;
  {
    std::lock_guard lk(mu);
    if (auto it = built.find(caps); it != built.end()) return it->second;
  }
  // The default profile is well formed: this cannot fail.
  auto b = std::make_shared<BuiltSeccomp>();
  b->doc = seccompForSpec(defaultSeccompProfile(), caps).value_or(json::object());
  b->text = std::make_shared<const std::string>(b->doc.dump());
  std::lock_guard lk(mu);
  if (built.size() < 64) built.emplace(caps, b);
  return b;
}

}  // namespace

json defaultSeccompForSpec(const std::vector<std::string>& caps) { return defaultSeccompBuilt(caps)->doc; }

std::shared_ptr<const std::string> defaultSeccompTextForSpec(const std::vector<std::string>& caps) {
  return defaultSeccompBuilt(caps)->text;
}

Result<json> seccompForSpec(const std::string& text, const std::vector<std::string>& caps) {
  // The profile comes from the request (--security-opt seccomp=FILE sends its text).
  auto p = parseJsonBounded(text);
  if (!p) return errorf(Code::InvalidArgument, "decoding seccomp profile failed: {}", p.error().message);
  return seccompForSpec(*p, caps);
}

Result<json> seccompForSpec(const json& p, const std::vector<std::string>& caps) {
  if (!p.is_object()) return makeError(Code::InvalidArgument, "decoding seccomp profile failed: not an object");
  std::string def = p.value("defaultAction", "");
  if (!knownAction(def))
    return errorf(Code::InvalidArgument, "seccomp profile: unknown defaultAction \"{}\"", def);
  json out;
  out["defaultAction"] = def;
  auto errnoOf = [](const json& j, const char* key) -> std::optional<uint32_t> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer() || it->get<int64_t>() < 0) return std::nullopt;
    return uint32_t(it->get<int64_t>());
  };
  if (auto e = errnoOf(p, "defaultErrnoRet")) out["defaultErrnoRet"] = *e;
  json arches = json::array();
  if (auto am = p.find("archMap"); am != p.end() && am->is_array()) {
    for (const auto& a : *am) {
      if (a.value("architecture", "") != "SCMP_ARCH_X86_64") continue;
      arches.push_back("SCMP_ARCH_X86_64");
      for (const auto& s : stringList(a, "subArchitectures")) arches.push_back(s);
    }
  } else {
    for (const auto& a : stringList(p, "architectures")) arches.push_back(a);
  }
  if (!arches.empty()) out["architectures"] = arches;
  json syscalls = json::array();
  if (auto sc = p.find("syscalls"); sc != p.end()) {
    if (!sc->is_array()) return makeError(Code::InvalidArgument, "seccomp profile: syscalls is not a list");
    for (const auto& r : *sc) {
      if (!r.is_object()) return makeError(Code::InvalidArgument, "seccomp profile: syscall rule is not an object");
      std::string action = r.value("action", "");
      if (!knownAction(action))
        return errorf(Code::InvalidArgument, "seccomp profile: unknown action \"{}\"", action);
      auto names = stringList(r, "names");
      if (std::string n = r.value("name", ""); !n.empty()) names.push_back(n);
      if (names.empty()) continue;
      if (!ruleApplies(r, caps)) continue;
      json o = {{"names", names}, {"action", action}};
      if (auto e = errnoOf(r, "errnoRet")) o["errnoRet"] = *e;
      if (auto a = r.find("args"); a != r.end() && a->is_array() && !a->empty()) {
        json args = json::array();
        for (const auto& arg : *a) {
          std::string op = arg.value("op", "");
          if (!knownOp(op)) return errorf(Code::InvalidArgument, "seccomp profile: unknown operator \"{}\"", op);
          uint64_t index = arg.value("index", uint64_t(0));
          if (index > 5) return errorf(Code::InvalidArgument, "seccomp profile: argument index {} out of range", index);
          args.push_back({{"index", index},
                          {"value", arg.value("value", uint64_t(0))},
                          {"valueTwo", arg.value("valueTwo", uint64_t(0))},
                          {"op", op}});
        }
        o["args"] = args;
      }
      syscalls.push_back(o);
    }
  }
  out["syscalls"] = syscalls;
  return out;
}

json defaultDeviceRules(bool privileged) {
  if (privileged) return json::array({{{"allow", true}, {"access", "rwm"}}});
  auto rule = [](const char* type, int64_t major, int64_t minor, const char* access) {
    json r = {{"allow", true}, {"type", type}, {"access", access}};
    if (major >= 0) r["major"] = major;
    if (minor >= 0) r["minor"] = minor;
    return r;
  };
  return json::array({
      {{"allow", false}, {"access", "rwm"}},
      rule("c", -1, -1, "m"),   rule("b", -1, -1, "m"),  // mknod of any node (its use stays denied)
      rule("c", 1, 3, "rwm"),   rule("c", 1, 5, "rwm"),  rule("c", 1, 7, "rwm"),  // null zero full
      rule("c", 1, 8, "rwm"),   rule("c", 1, 9, "rwm"),                            // random urandom
      rule("c", 5, 0, "rwm"),   rule("c", 5, 1, "rwm"),  rule("c", 5, 2, "rwm"),  // tty console ptmx
      rule("c", 136, -1, "rwm"),                                                   // pts/*
      rule("c", 10, 200, "rwm"),                                                   // net/tun
  });
}

Result<DeviceSpecs> hostDevices(const json& list) {
  DeviceSpecs out;
  if (!list.is_array()) return out;
  for (const auto& d : list) {
    if (!d.is_object()) continue;
    std::string host = d.value("PathOnHost", ""), cont = d.value("PathInContainer", "");
    std::string perms = d.value("CgroupPermissions", "rwm");
    if (cont.empty()) cont = host;
    if (perms.empty()) perms = "rwm";
    if (perms.find_first_not_of("rwm") != std::string::npos)
      return errorf(Code::InvalidArgument, "invalid device cgroup permissions \"{}\" for {}", perms, host);
    struct stat st;
    if (::stat(host.c_str(), &st) != 0)
      // A start-stage error (create checks it early): run exits 127 as for dockerd's start failure.
      return std::unexpected(Error{
          Code::InvalidArgument, ENOENT,
          fmt::format("error gathering device information while adding custom device \"{}\": no such file or directory",
                      host),
          int(runtime::Stage::Mounts)});
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
      return errorf(Code::InvalidArgument, "error gathering device information while adding custom device \"{}\": not a device node",
                    host);
    std::string type = S_ISCHR(st.st_mode) ? "c" : "b";
    int64_t maj = major(st.st_rdev), min = minor(st.st_rdev);
    out.devices.push_back({{"path", cont}, {"type", type}, {"major", maj}, {"minor", min},
                           {"fileMode", st.st_mode & 07777}, {"uid", st.st_uid}, {"gid", st.st_gid}});
    out.rules.push_back({{"allow", true}, {"type", type}, {"major", maj}, {"minor", min}, {"access", perms}});
  }
  return out;
}

Result<> validateSysctl(const std::string& key, bool hostNetwork, bool hostIpc, bool hostUts) {
  static const char* kIpc[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                               "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
  for (const char* k : kIpc)
    if (key == k) {
      if (hostIpc) return errorf(Code::InvalidArgument, "sysctl \"{}\" not allowed in host IPC namespace", key);
      return {};
    }
  if (startsWith(key, "fs.mqueue.")) {
    if (hostIpc) return errorf(Code::InvalidArgument, "sysctl \"{}\" not allowed in host IPC namespace", key);
    return {};
  }
  if (key == "kernel.domainname" || key == "kernel.hostname") {
    if (hostUts) return errorf(Code::InvalidArgument, "sysctl \"{}\" not allowed in host UTS namespace", key);
    return {};
  }
  if (startsWith(key, "net.")) {
    if (hostNetwork) return errorf(Code::InvalidArgument, "sysctl \"{}\" not allowed in host network namespace", key);
    return {};
  }
  return errorf(Code::InvalidArgument, "sysctl \"{}\" is not in a separate kernel namespace", key);
}

std::string rlimitName(const std::string& n) {
  static const char* kNames[] = {"as",      "core",  "cpu",    "data",   "fsize",  "locks",
                                 "memlock", "msgqueue", "nice", "nofile", "nproc",  "rss",
                                 "rtprio",  "rttime", "sigpending", "stack"};
  for (const char* k : kNames)
    if (n == k) {
      std::string up;
      for (char c : n) up += char(std::toupper(static_cast<unsigned char>(c)));
      return "RLIMIT_" + up;
    }
  return "";
}

Result<json> rlimitsFor(const json& ulimits, const RlimitQuery& q) {
  json out = json::array();
  if (!ulimits.is_array()) return out;
  static constexpr std::pair<const char*, int> kRes[] = {
      {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_CPU", RLIMIT_CPU},
      {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_FSIZE", RLIMIT_FSIZE},       {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_NOFILE", RLIMIT_NOFILE},   {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK}};
  for (const auto& u : ulimits) {
    if (!u.is_object()) continue;
    std::string name = u.value("Name", "");
    std::string type = rlimitName(name);
    if (type.empty()) return errorf(Code::InvalidArgument, "invalid ulimit type: {}", name);
    int64_t soft = u.value("Soft", int64_t(0)), hard = u.value("Hard", int64_t(0));
    if (soft > hard)
      return errorf(Code::InvalidArgument, "ulimit soft limit must be less than or equal to hard limit: {} > {}", soft, hard);
    uint64_t s = soft < 0 ? RLIM_INFINITY : uint64_t(soft), h = hard < 0 ? RLIM_INFINITY : uint64_t(hard);
    if (!q.canRaise && q.hostHard) {
      for (const auto& [n, res] : kRes) {
        if (type != n) continue;
        uint64_t max = q.hostHard(res);
        if (h > max)
          return errorf(Code::InvalidArgument,
                        "ulimit {}: hard limit {} is above the host's hard limit {}; raising it needs "
                        "CAP_SYS_RESOURCE, which this host does not grant",
                        name, hard, max == RLIM_INFINITY ? std::string("unlimited") : std::to_string(max));
      }
    }
    out.push_back({{"type", type}, {"hard", h}, {"soft", s}});
  }
  return out;
}

json resourcesFor(const json& hc) {
  auto i64 = [&](const char* k) -> int64_t {
    auto it = hc.find(k);
    return it != hc.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
  };
  json res = json::object();
  int64_t mem = i64("Memory"), swap = i64("MemorySwap"), resv = i64("MemoryReservation");
  if (mem > 0) {
    res["memory"]["limit"] = mem;
    // Docker: as much swap as memory; past INT64_MAX / 2 that is unlimited
    // (2 * 2^63-1 would wrap to -2, which the kernel refuses).
    if (swap == 0) res["memory"]["swap"] = mem > INT64_MAX / 2 ? int64_t{-1} : mem * 2;
    else if (swap > 0) res["memory"]["swap"] = swap;
    else res["memory"]["swap"] = -1;
  }
  if (resv > 0) res["memory"]["reservation"] = resv;
  if (int64_t shares = i64("CpuShares"); shares > 0) res["cpu"]["shares"] = shares;
  if (int64_t nano = i64("NanoCpus"); nano > 0) {
    res["cpu"]["period"] = 100000;
    res["cpu"]["quota"] = nano / 10000;  // 1e9 nano-CPUs = one period
  } else {
    if (int64_t p = i64("CpuPeriod"); p > 0) res["cpu"]["period"] = p;
    if (int64_t q = i64("CpuQuota"); q > 0) res["cpu"]["quota"] = q;
  }
  if (std::string cpus = hc.value("CpusetCpus", ""); !cpus.empty()) res["cpu"]["cpus"] = cpus;
  if (std::string mems = hc.value("CpusetMems", ""); !mems.empty()) res["cpu"]["mems"] = mems;
  if (auto it = hc.find("PidsLimit"); it != hc.end() && it->is_number_integer() && it->get<int64_t>() != 0)
    res["pids"]["limit"] = it->get<int64_t>() < 0 ? -1 : it->get<int64_t>();
  if (int64_t w = i64("BlkioWeight"); w > 0) res["blockIO"]["weight"] = w;
  return res;
}

namespace {

// "0-2,4" -> true when every listed CPU is < online.
bool cpusetValid(const std::string& s, int online, bool* available) {
  *available = true;
  for (const auto& part : split(s, ',')) {
    if (part.empty()) return false;
    auto dash = part.find('-');
    std::string a = part.substr(0, dash), b = dash == std::string::npos ? a : part.substr(dash + 1);
    if (a.empty() || b.empty() || a.find_first_not_of("0123456789") != std::string::npos ||
        b.find_first_not_of("0123456789") != std::string::npos)
      return false;
    auto lo = parseNumber<long>(a), hi = parseNumber<long>(b);
    if (!lo || !hi || *hi < *lo) return false;
    if (*hi >= online) *available = false;
  }
  return true;
}

}  // namespace

Result<> validateHostConfig(const json& hc, int onlineCpus) {
  auto i64 = [&](const char* k) -> int64_t {
    auto it = hc.find(k);
    return it != hc.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
  };
  constexpr int64_t kMinMemory = 6 * 1024 * 1024;
  int64_t mem = i64("Memory"), swap = i64("MemorySwap"), resv = i64("MemoryReservation");
  if (mem > 0 && mem < kMinMemory) return makeError(Code::InvalidArgument, "Minimum memory limit allowed is 6MB");
  if (swap > 0 && mem == 0)
    return makeError(Code::InvalidArgument, "You should always set the Memory limit when using Memoryswap limit, see usage");
  if (swap > 0 && swap < mem)
    return makeError(Code::InvalidArgument, "Minimum memoryswap limit should be larger than memory limit, see usage");
  if (resv > 0 && resv < kMinMemory) return makeError(Code::InvalidArgument, "Minimum memory reservation allowed is 6MB");
  if (mem > 0 && resv > 0 && mem < resv)
    return makeError(Code::InvalidArgument,
                     "Minimum memory limit can not be less than memory reservation limit, see usage");
  int64_t nano = i64("NanoCpus");
  if (nano > 0 && (i64("CpuPeriod") > 0 || i64("CpuQuota") > 0))
    return makeError(Code::InvalidArgument, "Conflicting options: Nano CPUs and CPU Period cannot both be set");
  if (nano < 0 || nano > int64_t(onlineCpus) * 1000000000)
    return errorf(Code::InvalidArgument, "Range of CPUs is from 0.01 to {}.00, as there are only {} CPUs available",
                  onlineCpus, onlineCpus);
  if (int64_t q = i64("CpuQuota"); q > 0 && q < 1000)
    return makeError(Code::InvalidArgument, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
  if (int64_t p = i64("CpuPeriod"); p > 0 && (p < 1000 || p > 1000000))
    return makeError(Code::InvalidArgument, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
  if (int64_t w = i64("BlkioWeight"); w > 0 && (w < 10 || w > 1000))
    return makeError(Code::InvalidArgument, "Range of blkio weight is from 10 to 1000");
  if (int64_t o = i64("OomScoreAdj"); o < -1000 || o > 1000)
    return errorf(Code::InvalidArgument, "Invalid value {}, range for oom score adj is [-1000, 1000]", o);
  if (std::string cpus = hc.value("CpusetCpus", ""); !cpus.empty()) {
    bool avail;
    if (!cpusetValid(cpus, onlineCpus, &avail))
      return errorf(Code::InvalidArgument, "Invalid value {} for cpuset cpus", cpus);
    if (!avail)
      return errorf(Code::InvalidArgument, "Requested CPUs are not available - requested {}, available: 0-{}", cpus,
                    onlineCpus - 1);
  }
  TRY(effectiveCapabilities(hc));
  if (auto d = hc.find("Devices"); d != hc.end() && d->is_array()) TRY(hostDevices(*d));
  TRY_ASSIGN(auto sec, parseSecurityOptions(hc.value("SecurityOpt", json(nullptr))));
  if (!sec.seccompProfile.empty() && !hc.value("Privileged", false))
    TRY(seccompForSpec(sec.seccompProfile, std::vector<std::string>{}));
  if (auto s = hc.find("Sysctls"); s != hc.end() && s->is_object()) {
    bool hostNet = hc.value("NetworkMode", "") == "host", hostIpc = hc.value("IpcMode", "") == "host",
         hostUts = hc.value("UTSMode", "") == "host";
    for (auto it = s->begin(); it != s->end(); ++it) TRY(validateSysctl(it.key(), hostNet, hostIpc, hostUts));
  }
  for (const char* k : {"IpcMode", "PidMode", "UTSMode"}) {
    std::string m = hc.value(k, "");
    bool joins = std::string(k) != "UTSMode" && m.starts_with("container:");
    if (joins && m.size() == 10) return errorf(Code::InvalidArgument, "invalid {}: \"{}\"", k, m);
    bool ok = m.empty() || m == "host" || joins ||
              (std::string(k) == "IpcMode" && (m == "private" || m == "shareable" || m == "none"));
    if (!ok) return errorf(Code::InvalidArgument, "invalid {}: \"{}\" is not supported by berth", k, m);
  }
  return {};
}

}  // namespace berth::container
