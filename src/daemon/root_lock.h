#pragma once
// One berthd per data-root and per exec-root: an exclusive flock on
// ROOT/berthd.lock, held from start to exit (dockerd locks its roots too).

#include <string>

#include "common/fd.h"
#include "common/result.h"

namespace berth::daemon {

// Locks dir/berthd.lock (created 0600) and writes our pid into it. The fd
// holds the lock until closed. FailedPrecondition when another process
// holds it: "... is in use by another berthd (pid N) ..."; other failures
// as sysError.
Result<UniqueFd> lockRoot(const std::string& dir, const char* what);

}  // namespace berth::daemon
