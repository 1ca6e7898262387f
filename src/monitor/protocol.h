#pragma once
// The wire protocol between berthd and berth-monitor (STYLE.md 11).
//
// Transport: a SOCK_STREAM unix socket. berthd spawns the monitor with one
// end of a socketpair as fd 3 (the first client); a container monitor also
// listens on --socket PATH so a restarted berthd can reconnect. Every client
// is equal: each receives the output and exit messages, any may send stdin,
// resize and signal messages.
//
// Framing: a fixed 8-byte header {uint8 type, 3 zero bytes, uint32 length in
// host byte order} followed by `length` payload bytes. Both ends run on the
// same host. Payload layouts are given per type below; integers are host
// order int32.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "runtime/stage.h"

namespace berth::monitor {

enum class MsgType : uint8_t {
  // client -> monitor
  Hello = 1,       // empty. Asks for the current state: the monitor answers
                   // Started{pid} if the process runs, or Exit if it has ended.
  Stdin = 2,       // raw bytes for the process's stdin (or pty master)
  StdinClose = 3,  // empty. Close the process's stdin (EOF); on a pty: ignored
  Resize = 4,      // {uint16 rows, uint16 cols}
  Signal = 5,      // {int32 signo}: kill(2) the container's init / exec process
  ExecStart = 6,   // OCI `process` JSON (what `berth-monitor exec --process`
                   // reads): run it in the container, from this monitor
                   // (run mode, built-in runtime: kFeatureExec). The
                   // connection becomes that process's: Started/StartError,
                   // its Stdout/Stderr, its Exit; then the monitor closes it.
                   // Stdin, StdinClose, Resize and Signal on it go to that
                   // process. A connection that sends it gets no container
                   // output. Its client going away closes the process's
                   // stdin; the process runs on, its output is dropped.
  ReopenLog = 7,   // empty. Open the log file's path again and write there from
                   // now on (the CRI's ReopenContainerLog after kubelet renamed it)
  SpareJob = 8,    // to a spare monitor only (`berth-monitor spare`), right after
                   // one byte carrying fds {stderr, lock[, gate]} (common/fd_pass.h):
                   // the arguments of `berth-monitor run`, each followed by a NUL.
                   // The spare then is that run monitor (docs/monitor.md).

  // monitor -> client
  Started = 64,    // {int32 pid, uint32 features}: host pid of the process, after
                   // execve succeeded; features (a run-mode monitor's answer,
                   // absent from monitors before them): kFeature* bits
  StartError = 65, // {int32 stage, int32 errno} + UTF-8 message: the process
                   // could not be started. The monitor exits after sending it.
  Stdout = 66,     // raw bytes (with a tty: everything the pty produced)
  Stderr = 67,     // raw bytes
  Exit = 68,       // JSON text, the same document as exit.json (ExitStatus below);
                   // sent after all output; the monitor then closes its sockets.
};

// Stages for StartError: where container setup failed (runtime/stage.h).
using runtime::Stage;

// The descriptor berthd passes a warm start's gate on (`--gate-fd 5`, after
// the lock's fd 4: monitor/lock.h).
inline constexpr int kGateFd = 5;

// A spare monitor's command line: "berth-monitor spare" and one argument of
// this many spaces, rewritten in place with its job's `run` arguments so
// /proc/PID/cmdline reads as a run monitor's (killLeftovers, pgrep). A job
// whose arguments do not fit is spawned as a monitor of its own instead.
inline constexpr size_t kSpareArgRoom = 2048;

// Started's feature bits.
inline constexpr uint32_t kFeatureExec = 1;  // understands ExecStart

struct Header {
  uint8_t type;
  uint8_t pad[3];
  uint32_t length;
};
static_assert(sizeof(Header) == 8);

// Hard cap on one message's payload; senders split larger data.
inline constexpr uint32_t kMaxPayload = 1 << 20;

// exit.json, written atomically by the container monitor into the bundle dir
// before it sends Exit, and sent as the Exit payload:
//   {"ExitCode": 137, "Signal": 9, "OOMKilled": false,
//    "StartedAt": <unix nanos>, "FinishedAt": <unix nanos>, "Pid": 1234}
// ExitCode follows Docker: the exit status, or 128 + signal number.
//
// state.json, written atomically when the process started:
//   {"Pid": 1234, "MonitorPid": 1200, "StartedAt": <unix nanos>}

inline std::string encodeHeader(MsgType t, uint32_t len) {
  Header h{static_cast<uint8_t>(t), {0, 0, 0}, len};
  return std::string(reinterpret_cast<const char*>(&h), sizeof h);
}

}  // namespace berth::monitor
