#pragma once
// Healthchecks: the pure part (config merge and defaults, the probe
// command, the state machine of State.Health). The scheduler that runs
// probes as execs lives in service_health.cpp. Behaviour follows moby's
// daemon/health.go: defaults interval 30s, timeout 30s, start period 0,
// start interval 5s, retries 3; the last 5 probes are kept; a probe's
// output is cut at 4096 bytes; failures inside the start period do not
// count while the status is still "starting".

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::container {

inline constexpr const char* kHealthStarting = "starting";
inline constexpr const char* kHealthHealthy = "healthy";
inline constexpr const char* kHealthUnhealthy = "unhealthy";
inline constexpr size_t kHealthMaxLog = 5;
inline constexpr size_t kHealthMaxOutput = 4096;

struct HealthConfig {
  std::vector<std::string> argv;  // what the probe exec runs
  int64_t intervalNs = 0, timeoutNs = 0, startPeriodNs = 0, startIntervalNs = 0;
  int retries = 0;
};

// Config.Healthcheck (Docker's HealthcheckConfig) -> what to run, with
// defaults filled. nullopt when there is none, Test is empty or ["NONE"],
// or Test's first word is not CMD / CMD-SHELL.
std::optional<HealthConfig> healthConfigOf(const nlohmann::json& healthcheck);

// moby's merge of a create body's Healthcheck over the image's: a missing
// one takes the image's; an empty Test and zero durations/retries take the
// image's values. Returns the value to store in Config.Healthcheck (null
// when neither has one).
nlohmann::json mergeHealthcheck(const nlohmann::json& user, const nlohmann::json& image);

struct ProbeResult {
  int64_t start = 0, end = 0;  // unix nanos
  int exitCode = 0;            // -1: timed out
  std::string output;
};

// State.Health.
struct Health {
  std::string status = kHealthStarting;
  int failingStreak = 0;
  std::deque<ProbeResult> log;  // oldest first, at most kHealthMaxLog

  // Records a probe result; true when the status changed (an event is due).
  bool record(const HealthConfig& cfg, ProbeResult r, int64_t startedAt);
  // The delay before the next probe at `now` (start interval while starting
  // inside the start period, else the interval).
  int64_t nextDelayNs(const HealthConfig& cfg, int64_t startedAt, int64_t now) const;

  nlohmann::json toJson() const;  // Docker's {Status, FailingStreak, Log:[{Start,End,ExitCode,Output}]}
  // The persisted form (times as unix nanos).
  nlohmann::json toRecord() const;
  static Health fromRecord(const nlohmann::json& j);
};

// "Health check exceeded timeout (30s)" with Go's duration text.
std::string healthTimeoutMessage(int64_t timeoutNs);

}  // namespace berth::container
