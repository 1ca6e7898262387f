#include "runtime/seccomp.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>

#include "common/fd.h"
#include "common/util.h"

namespace berth::runtime {

namespace {

Result<uint32_t> actionOf(const std::string& a, std::optional<uint32_t> errnoRet) {
  if (a == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (a == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errnoRet.value_or(EPERM));
  if (a == "SCMP_ACT_KILL" || a == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (a == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (a == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (a == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errnoRet.value_or(EPERM));
  if (a == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  return errorf(Code::InvalidArgument, "seccomp: unsupported action \"{}\"", a);
}

Result<scmp_compare> opOf(const std::string& o) {
  if (o == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (o == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (o == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (o == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
  if (o == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (o == "SCMP_CMP_GT") return SCMP_CMP_GT;
  if (o == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
  return errorf(Code::InvalidArgument, "seccomp: unsupported operator \"{}\"", o);
}

struct Ctx {
  scmp_filter_ctx c;
  ~Ctx() {
    if (c) seccomp_release(c);
  }
};

}  // namespace

Result<SeccompProgram> compileSeccomp(const Seccomp& p, SeccompLayout layout) {
  TRY_ASSIGN(uint32_t defAction, actionOf(p.defaultAction, p.defaultErrnoRet));
  Ctx ctx{seccomp_init(defAction)};
  if (!ctx.c) return makeError(Code::Internal, "seccomp: init failed");
  // Exported, not loaded by libseccomp: no_new_privs is the spec's choice.
  seccomp_attr_set(ctx.c, SCMP_FLTATR_CTL_NNP, 0);
  // A binary search over the syscall numbers instead of one comparison per
  // rule: Docker's profile is ~1,240 instructions instead of ~990, but the
  // kernel installs it 3x faster (its action cache evaluates the filter for
  // every syscall number at install: ~10 instead of ~300 comparisons each)
  // and every filtered syscall runs fewer of them. Same decisions
  // (tests/unit/runtime_seccomp_test.cpp runs both). libseccomp < 2.5 has
  // no such attribute and keeps the linear layout.
  if (layout == SeccompLayout::BinaryTree) (void)seccomp_attr_set(ctx.c, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  for (const auto& a : p.architectures) {
    std::string name = toLower(startsWith(a, "SCMP_ARCH_") ? a.substr(10) : a);
    uint32_t arch = seccomp_arch_resolve_name(name.c_str());
    if (arch == 0) continue;  // an architecture this libseccomp does not know
    int r = seccomp_arch_add(ctx.c, arch);
    if (r != 0 && r != -EEXIST) return sysError(-r, "seccomp: add architecture {}", a);
  }
  for (const auto& rule : p.syscalls) {
    TRY_ASSIGN(uint32_t action, actionOf(rule.action, rule.errnoRet));
    if (action == defAction) continue;  // libseccomp refuses rules equal to the default
    std::vector<scmp_arg_cmp> cmps;
    bool sameIndex = false;
    for (const auto& arg : rule.args) {
      TRY_ASSIGN(scmp_compare op, opOf(arg.op));
      if (arg.index > 5) return errorf(Code::InvalidArgument, "seccomp: argument index {} out of range", arg.index);
      for (const auto& c : cmps) sameIndex |= c.arg == arg.index;
      cmps.push_back({arg.index, op, arg.value, arg.valueTwo});
    }
    for (const auto& name : rule.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;
      int r;
      if (!sameIndex) {
        r = seccomp_rule_add_array(ctx.c, action, nr, unsigned(cmps.size()), cmps.data());
      } else {
        // Two conditions on one argument: libseccomp wants one rule each (OR), as runc does.
        r = 0;
        for (const auto& c : cmps)
          if ((r = seccomp_rule_add_array(ctx.c, action, nr, 1, &c)) != 0) break;
      }
      if (r != 0 && r != -EEXIST) return sysError(-r, "seccomp: add rule for {}", name);
    }
  }
  UniqueFd mem(int(syscall(SYS_memfd_create, "seccomp", MFD_CLOEXEC)));
  if (!mem) return sysError(errno, "memfd_create");
  if (int r = seccomp_export_bpf(ctx.c, mem.get()); r != 0) return sysError(-r, "seccomp: export filter");
  off_t size = ::lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) return makeError(Code::Internal, "seccomp: bad filter size");
  SeccompProgram prog;
  prog.filter.resize(size_t(size) / sizeof(sock_filter));
  if (::pread(mem.get(), prog.filter.data(), size_t(size), 0) != size) return sysError(errno, "seccomp: read filter");
  return prog;
}

std::string seccompKey(const Seccomp& p) {
  std::string k = "v2|" + p.defaultAction + "|" + (p.defaultErrnoRet ? std::to_string(*p.defaultErrnoRet) : "-") + "|";
  for (const auto& a : p.architectures) k += a + ",";
  for (const auto& r : p.syscalls) {
    k += "\n" + r.action + "|" + (r.errnoRet ? std::to_string(*r.errnoRet) : "-") + "|";
    for (const auto& n : r.names) k += n + ",";
    for (const auto& a : r.args)
      k += "|" + std::to_string(a.index) + ":" + std::to_string(a.value) + ":" + std::to_string(a.valueTwo) + ":" + a.op;
  }
  return k;
}

namespace {

// A cache file: <cacheDir>/<fnv64 of key>.bpf holding "<key size>\n<key>"
// and the program; the key is compared in full on read.
std::string cachePath(std::string_view key, const std::string& cacheDir) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  char name[40];
  std::snprintf(name, sizeof name, "/%016llx.bpf", static_cast<unsigned long long>(h));
  return cacheDir + name;
}

std::string cacheHeader(std::string_view key) { return std::to_string(key.size()) + "\n" + std::string(key); }

std::optional<SeccompProgram> cacheRead(std::string_view key, const std::string& cacheDir) {
  // Read straight into the program: no second copy of the file.
  UniqueFd fd(::open(cachePath(key, cacheDir).c_str(), O_RDONLY | O_CLOEXEC));
  std::string header = cacheHeader(key);
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) != 0 || size_t(st.st_size) <= header.size() ||
      (size_t(st.st_size) - header.size()) % sizeof(sock_filter) != 0)
    return std::nullopt;
  std::string head(header.size(), '\0');
  SeccompProgram prog;
  prog.filter.resize((size_t(st.st_size) - header.size()) / sizeof(sock_filter));
  size_t body = prog.filter.size() * sizeof(sock_filter);
  if (::pread(fd.get(), head.data(), head.size(), 0) == ssize_t(head.size()) && head == header &&
      ::pread(fd.get(), prog.filter.data(), body, off_t(header.size())) == ssize_t(body))
    return prog;
  return std::nullopt;
}

void cacheWrite(std::string_view key, const SeccompProgram& prog, const std::string& cacheDir) {
  if (!mkdirAll(cacheDir, 0700)) return;
  std::string data = cacheHeader(key);
  data.append(reinterpret_cast<const char*>(prog.filter.data()), prog.filter.size() * sizeof(sock_filter));
  (void)writeFileReplace(cachePath(key, cacheDir), data, 0600);
}

// Keys of programs cached under a linux.seccomp JSON text; canonical keys
// (seccompKey) start with "v".
constexpr std::string_view kTextKeyPrefix = "text2|";

}  // namespace

Result<SeccompProgram> compileSeccompCached(const Seccomp& profile, const std::string& cacheDir) {
  std::string key = seccompKey(profile);
  if (auto prog = cacheRead(key, cacheDir)) return std::move(*prog);
  TRY_ASSIGN(SeccompProgram prog, compileSeccomp(profile));
  cacheWrite(key, prog, cacheDir);
  return prog;
}

std::optional<SeccompProgram> cachedSeccompForText(std::string_view text, const std::string& cacheDir) {
  return cacheRead(std::string(kTextKeyPrefix) + std::string(text), cacheDir);
}

void cacheSeccompForText(std::string_view text, const SeccompProgram& prog, const std::string& cacheDir) {
  cacheWrite(std::string(kTextKeyPrefix) + std::string(text), prog, cacheDir);
}

int installSeccomp(const SeccompProgram& p) {
  sock_fprog prog{static_cast<unsigned short>(p.filter.size()), const_cast<sock_filter*>(p.filter.data())};
  return int(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog));
}

}  // namespace berth::runtime
