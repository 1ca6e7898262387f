#pragma once
// The one map from an Error to the CLI's exit status (STYLE.md 7), decided
// by the error's code, stage and errno, never by its text.

#include "common/error_status.h"
#include "common/result.h"

namespace berth::cli {

enum class ExitContext {
  Command,  // most commands (start, exec included): any failure exits 1
  Run,      // `run`'s daemon and CLI failures and every usage error: 125,
            // a process start failure 126 / 127 (docker's toStatusError)
};

inline constexpr int kExitFailure = 1;
inline constexpr int kExitRunFailure = 125;

// Command: 1. Run: a process start failure (e.stage != 0, sent by berthd)
// exits 127 / 126 by its errno (common/error_status.h startFailureExitCode),
// any other error 125.
constexpr int exitCodeFor(const Error& e, ExitContext context = ExitContext::Command) {
  if (context == ExitContext::Command) return kExitFailure;
  if (e.stage != 0)
    if (int code = startFailureExitCode(e.err); code != 0) return code;
  return kExitRunFailure;
}

}  // namespace berth::cli
