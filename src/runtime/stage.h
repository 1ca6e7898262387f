#pragma once
// Where starting a container process failed. The runtime reports it with
// errno; berth-monitor forwards both in its StartError message, and berthd
// derives Docker's exit codes from them (Exec + ENOENT -> 127, Exec + any
// other errno -> 126), never from message text.

#include <cstdint>

namespace berth::runtime {

enum class Stage : int32_t {
  Config = 1,    // reading / validating config.json
  Cgroup = 2,
  Stdio = 3,
  Clone = 4,
  Mounts = 5,    // rootfs, /proc, /dev, bind mounts, pivot_root
  Process = 6,   // hostname, rlimits, user, capabilities, cwd
  Exec = 7,      // execve itself: errno ENOENT -> exit 127, EACCES -> 126
};

}  // namespace berth::runtime
