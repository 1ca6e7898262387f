#pragma once
// linux.seccomp -> a classic BPF program, compiled with libseccomp in the
// monitor before clone; the child only installs it (STYLE.md 10).

#include <linux/filter.h>

#include <optional>
#include <string>
#include <string_view>
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

// The program an earlier start compiled from a linux.seccomp JSON text
// (spec.h seccompSpan), kept in the same cache under that exact text
// (compared in full on read, so equal text, equal program); nullopt when
// there is none. The text version prefix of the key changes with the
// compiled form, as seccompKey's does.
std::optional<SeccompProgram> cachedSeccompForText(std::string_view text, const std::string& cacheDir);
// Keeps prog for the text (best effort). The caller vouches that prog is
// compileSeccomp of what parseSpec makes of that text as linux.seccomp.
void cacheSeccompForText(std::string_view text, const SeccompProgram& prog, const std::string& cacheDir);

// Installs the program in the calling thread (seccomp(2) SET_MODE_FILTER).
// Needs no_new_privs or CAP_SYS_ADMIN. Async-signal-safe.
int installSeccomp(const SeccompProgram& p);

}  // namespace berth::runtime
