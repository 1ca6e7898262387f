#include "runtime/caps.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

#include "common/number.h"
#include "common/util.h"

namespace berth::runtime {

namespace {

constexpr std::string_view kCapNames[] = {
    "chown",           "dac_override",     "dac_read_search", "fowner",          "fsetid",
    "kill",            "setgid",           "setuid",          "setpcap",         "linux_immutable",
    "net_bind_service", "net_broadcast",   "net_admin",       "net_raw",         "ipc_lock",
    "ipc_owner",       "sys_module",       "sys_rawio",       "sys_chroot",      "sys_ptrace",
    "sys_pacct",       "sys_admin",        "sys_boot",        "sys_nice",        "sys_resource",
    "sys_time",        "sys_tty_config",   "mknod",           "lease",           "audit_write",
    "audit_control",   "setfcap",          "mac_override",    "mac_admin",       "syslog",
    "wake_alarm",      "block_suspend",    "audit_read",      "perfmon",         "bpf",
    "checkpoint_restore",
};

uint64_t maskOf(const std::vector<std::string>& names, int lastCap) {
  uint64_t m = 0;
  for (const auto& n : names) {
    int c = capByName(n);
    if (c >= 0 && c <= lastCap) m |= uint64_t(1) << c;
  }
  return m;
}

}  // namespace

int capByName(std::string_view name) {
  if (name.size() > 4 && (name.substr(0, 4) == "CAP_" || name.substr(0, 4) == "cap_")) name.remove_prefix(4);
  for (size_t i = 0; i < std::size(kCapNames); i++) {
    std::string_view n = kCapNames[i];
    if (n.size() != name.size()) continue;
    bool eq = true;
    for (size_t k = 0; k < n.size() && eq; k++) eq = (n[k] == (name[k] | 0x20)) || (n[k] == '_' && name[k] == '_');
    if (eq) return int(i);
  }
  return -1;
}

std::string capName(int cap) {
  if (cap < 0 || size_t(cap) >= std::size(kCapNames)) return "CAP_" + std::to_string(cap);
  std::string out = "CAP_";
  for (char c : kCapNames[cap]) out += char(c >= 'a' && c <= 'z' ? c - 32 : c);
  return out;
}

CapSets capSetsFor(const Capabilities& caps, int lastCap, uint64_t held) {
  CapSets s;
  s.bounding = maskOf(caps.bounding, lastCap);
  s.permitted = maskOf(caps.permitted, lastCap) & held;
  s.effective = maskOf(caps.effective, lastCap) & s.permitted;
  s.inheritable = maskOf(caps.inheritable, lastCap) & held;
  s.ambient = maskOf(caps.ambient, lastCap) & s.permitted & s.inheritable;
  return s;
}

int lastCapability() {
  int fd = ::open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 40;
  char buf[16] = {};
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 40;
  int v = numberOr<int>(trim(std::string_view(buf, size_t(n))), 40);
  return v > 0 && v < 64 ? v : 40;
}

uint64_t currentPermitted() {
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2] = {};
  if (syscall(SYS_capget, &h, d) != 0) return 0;
  return uint64_t(d[0].permitted) | (uint64_t(d[1].permitted) << 32);
}

Result<> dropBounding(const CapSets& sets, int lastCap) {
  for (int c = 0; c <= lastCap; c++) {
    if (sets.bounding & (uint64_t(1) << c)) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL) return sysError(errno, "drop capability {}", c);
  }
  return {};
}

Result<> applyCapSets(const CapSets& sets, int lastCap) {
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2] = {};
  d[0].effective = uint32_t(sets.effective);
  d[1].effective = uint32_t(sets.effective >> 32);
  d[0].permitted = uint32_t(sets.permitted);
  d[1].permitted = uint32_t(sets.permitted >> 32);
  d[0].inheritable = uint32_t(sets.inheritable);
  d[1].inheritable = uint32_t(sets.inheritable >> 32);
  if (syscall(SYS_capset, &h, d) != 0) return sysError(errno, "capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    return sysError(errno, "clear ambient capabilities");
  for (int c = 0; c <= lastCap; c++) {
    if (!(sets.ambient & (uint64_t(1) << c))) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) != 0) return sysError(errno, "raise ambient capability {}", c);
  }
  return {};
}

}  // namespace berth::runtime
