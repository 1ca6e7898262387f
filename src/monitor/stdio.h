#pragma once
// The process's stdio as the monitor creates it: a pty (master kept, slave
// for the child) or pipes; stdin a pipe only when wanted, else /dev/null.

#include <cstdint>
#include <string>

#include "common/fd.h"
#include "common/result.h"
#include "runtime/launch.h"

namespace berth::monitor {

struct Stdio {
  bool tty = false;
  std::string slavePath;                 // with a tty: /dev/pts/N (host)
  UniqueFd childIn, childOut, childErr;  // closed in the monitor after clone
  UniqueFd out, err;                     // monitor's read ends (out = pty master with a tty)
  UniqueFd in;                           // monitor's stdin write end (pipes only)

  runtime::ChildStdio childFds() const;
  // Closes the child's ends (after the child has been created).
  void closeChildEnds();
};

Result<Stdio> makeStdio(bool tty, bool stdinPipe, uint16_t rows, uint16_t cols);

// Receives the one fd the child sends with SCM_RIGHTS over sock (its pty
// master, runtime/launch.h consoleSocket); Internal when none came.
Result<UniqueFd> recvFd(int sock);

}  // namespace berth::monitor
