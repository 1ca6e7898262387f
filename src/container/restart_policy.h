#pragma once
// Restart policies (HostConfig.RestartPolicy) and Docker's back-off: the
// first restart waits 100 ms, each further one twice as long (at most one
// minute); a run of 10 s or more resets the delay to 100 ms. Pure logic,
// no clocks: callers pass durations in.

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::container {

struct RestartPolicy {
  enum class Kind { No, Always, UnlessStopped, OnFailure };
  Kind kind = Kind::No;
  int maxRetry = 0;  // on-failure only; 0 = unlimited

  // From HostConfig.RestartPolicy ({"Name","MaximumRetryCount"}); a missing
  // or empty name is "no". InvalidArgument for an unknown name or a retry
  // count with another policy, worded as dockerd words it.
  static Result<RestartPolicy> fromJson(const nlohmann::json& j);
};

// Per-container back-off state, kept in memory like dockerd's restart manager.
class RestartBackoff {
 public:
  static constexpr int64_t kInitialMs = 100;
  static constexpr int64_t kMaxMs = 60000;
  static constexpr int64_t kResetAfterNanos = 10'000'000'000;

  // After an exit: whether to restart and, if so, the delay before it.
  // restartCount is the container's RestartCount before this exit;
  // manuallyStopped: a user's stop or kill (unless-stopped gives up);
  // cancelled: a stop, or a kill with SIGKILL or the stop signal (no policy
  // restarts then, not even `always`); ranNanos: how long it was up.
  struct Decision {
    bool restart = false;
    int64_t delayMs = 0;
  };
  Decision onExit(const RestartPolicy& p, int exitCode, int restartCount, bool manuallyStopped, bool cancelled,
                  int64_t ranNanos);
  void reset() { delayMs_ = 0; }
  int64_t currentDelayMs() const { return delayMs_; }

 private:
  int64_t delayMs_ = 0;
};

// At daemon start: should an exited container be started again (dockerd's
// container.ShouldRestart)? `always` even after a manual stop,
// `unless-stopped` only without one, `on-failure` for a non-zero exit
// within its retry budget.
bool restartOnDaemonStart(const RestartPolicy& p, int exitCode, int restartCount, bool manuallyStopped);

}  // namespace berth::container
