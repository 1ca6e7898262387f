#pragma once
// Test helper: private network namespaces for the network/ tests (root only).

#include <fcntl.h>
#include <sched.h>

#include <thread>

#include "common/fd.h"
#include "common/result.h"

namespace berth::testutil {

// A new, empty network namespace, alive while the returned fd is open. It is
// made on a short-lived thread, so the calling thread keeps its namespace.
inline Result<UniqueFd> newNetns() {
  Result<UniqueFd> r = makeError(Code::Internal, "no result");
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      r = sysError(errno, "unshare(CLONE_NEWNET)");
      return;
    }
    int fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    r = fd < 0 ? Result<UniqueFd>(sysError(errno, "open netns")) : Result<UniqueFd>(UniqueFd(fd));
  });
  t.join();
  return r;
}

}  // namespace berth::testutil
