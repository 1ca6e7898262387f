#include "container/restart_policy.h"

#include <algorithm>

namespace berth::container {

Result<RestartPolicy> RestartPolicy::fromJson(const nlohmann::json& j) {
  RestartPolicy p;
  if (!j.is_object()) return p;
  std::string name = j.contains("Name") && j["Name"].is_string() ? j["Name"].get<std::string>() : "";
  int max = j.contains("MaximumRetryCount") && j["MaximumRetryCount"].is_number_integer()
                ? j["MaximumRetryCount"].get<int>()
                : 0;
  if (name.empty() || name == "no") p.kind = Kind::No;
  else if (name == "always") p.kind = Kind::Always;
  else if (name == "unless-stopped") p.kind = Kind::UnlessStopped;
  else if (name == "on-failure") p.kind = Kind::OnFailure;
  else return errorf(Code::InvalidArgument, "invalid restart policy: unknown policy '{}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'", name);
  if (max < 0) return makeError(Code::InvalidArgument, "invalid restart policy: maximum retry count cannot be negative");
  if (max > 0 && p.kind != Kind::OnFailure)
    return errorf(Code::InvalidArgument, "invalid restart policy: maximum retry count can only be used with 'on-failure'");
  p.maxRetry = max;
  return p;
}

RestartBackoff::Decision RestartBackoff::onExit(const RestartPolicy& p, int exitCode, int restartCount,
                                                bool manuallyStopped, bool cancelled, int64_t ranNanos) {
  Decision d;
  if (p.kind == RestartPolicy::Kind::No || cancelled) return d;
  switch (p.kind) {
    case RestartPolicy::Kind::Always: d.restart = true; break;
    case RestartPolicy::Kind::UnlessStopped: d.restart = !manuallyStopped; break;
    case RestartPolicy::Kind::OnFailure:
      d.restart = exitCode != 0 && (p.maxRetry == 0 || restartCount < p.maxRetry);
      break;
    case RestartPolicy::Kind::No: break;
  }
  if (!d.restart) return d;
  if (ranNanos >= kResetAfterNanos) delayMs_ = 0;
  delayMs_ = delayMs_ == 0 ? kInitialMs : std::min(delayMs_ * 2, kMaxMs);
  d.delayMs = delayMs_;
  return d;
}

bool restartOnDaemonStart(const RestartPolicy& p, int exitCode, int restartCount, bool manuallyStopped) {
  switch (p.kind) {
    case RestartPolicy::Kind::No: return false;
    case RestartPolicy::Kind::Always: return true;
    case RestartPolicy::Kind::UnlessStopped: return !manuallyStopped;
    case RestartPolicy::Kind::OnFailure:
      return !manuallyStopped && exitCode != 0 && (p.maxRetry == 0 || restartCount < p.maxRetry);
  }
  return false;
}

}  // namespace berth::container
