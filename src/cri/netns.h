#pragma once
// A pod's network namespace pinned to a file (a bind mount of an nsfs
// file), as `ip netns` and containerd keep theirs: the namespace outlives
// the process that made it, so CNI DEL can run after the pause exited, and
// berthd finds it again after a restart. gRPC-free.

#include <string>

#include "common/result.h"

namespace berth::cri {

// Bind-mounts source (a /proc/PID/ns/net or /proc/self/fd/N) onto target,
// an empty file created with its parent directories. AlreadyExists when
// target is already a mount of a namespace.
Result<> pinNetns(const std::string& source, const std::string& target);

// A new network namespace, with lo up (127.0.0.1, ::1), pinned at target
// (as pinNetns): the calling thread unshares its network namespace, pins
// it and returns to its own (setns) before this returns, also on failure;
// should that return fail, the process aborts rather than keep a thread in
// a pod's namespace. The pod's namespace exists before its pause starts
// (the pause joins it by path), so CNI ADD can run while the pause starts,
// as containerd pins its pods' namespaces first. AlreadyExists as
// pinNetns; nothing is left behind on failure.
Result<> createPinnedNetns(const std::string& target);

// Unmounts (detached) and unlinks target; a missing target is fine.
Result<> unpinNetns(const std::string& target);

// Whether target is a pinned namespace (an nsfs mount).
bool isPinnedNetns(const std::string& target);

}  // namespace berth::cri
