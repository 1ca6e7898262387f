#pragma once
// linux.seccomp -> a classic BPF program, compiled with libseccomp in the
// monitor before clone; the child only installs it (STYLE.md 10).

#include <linux/filter.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/spec.h"

namespace berth::runtime {

struct SeccompProgram {
  std::vector<sock_filter> filter;
  bool empty() const { return filter.empty(); }
};

// How the program finds a syscall's rule: a binary search over the syscall
// numbers (libseccomp's SCMP_FLTATR_CTL_OPTIMIZE=2; what the runtime uses),
// or one comparison after the other (libseccomp's default; for tests that
// check both decide alike). Both make the same decisions.
enum class SeccompLayout { BinaryTree, Linear };

// Compiles the profile for the native architecture plus the listed ones.
// Syscall names the kernel headers of libseccomp do not know are skipped
// (as runc does); unknown actions or operators are InvalidArgument.
Result<SeccompProgram> compileSeccomp(const Seccomp& profile, SeccompLayout layout = SeccompLayout::BinaryTree);

// A canonical text of the profile (cache key; equal profiles, equal text;
// its version prefix changes when the compiled form does).
std::string seccompKey(const Seccomp& profile);
// compileSeccomp through a cache directory: libseccomp needs ~15 ms for
// Docker's profile, so the BPF of a profile is kept in
// cacheDir/<fnv64 of key>.bpf next to its full key (compared on read, so a
// hash collision only costs a compile). Cache failures fall back to compiling.
Result<SeccompProgram> compileSeccompCached(const Seccomp& profile, const std::string& cacheDir);

// Installs the program in the calling thread (seccomp(2) SET_MODE_FILTER).
// Needs no_new_privs or CAP_SYS_ADMIN. Async-signal-safe.
int installSeccomp(const SeccompProgram& p);

}  // namespace berth::runtime
