#include "container/health.h"

#include <fmt/format.h>

#include "common/util.h"

namespace berth::container {

using json = nlohmann::json;

namespace {

constexpr int64_t kSecond = 1000000000;
constexpr int64_t kDefaultInterval = 30 * kSecond;
constexpr int64_t kDefaultTimeout = 30 * kSecond;
constexpr int64_t kDefaultStartInterval = 5 * kSecond;
constexpr int kDefaultRetries = 3;

int64_t num(const json& h, const char* k) {
  if (!h.is_object()) return 0;
  auto it = h.find(k);
  return it != h.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

// Go's fmt of a fraction: digits without trailing zeros.
std::string fraction(int64_t v, int digits) {
  std::string s = fmt::format("{:0{}}", v, digits);
  while (!s.empty() && s.back() == '0') s.pop_back();
  return s.empty() ? "" : "." + s;
}

// time.Duration.String for non-negative durations.
std::string goDuration(int64_t ns) {
  if (ns == 0) return "0s";
  if (ns < 1000) return fmt::format("{}ns", ns);
  if (ns < 1000000) return fmt::format("{}{}µs", ns / 1000, fraction(ns % 1000, 3));
  if (ns < kSecond) return fmt::format("{}{}ms", ns / 1000000, fraction(ns % 1000000, 6));
  std::string out;
  int64_t h = ns / (3600 * kSecond), m = ns / (60 * kSecond) % 60;
  if (h > 0) out += fmt::format("{}h", h);
  if (h > 0 || m > 0) out += fmt::format("{}m", m);
  out += fmt::format("{}{}s", ns / kSecond % 60, fraction(ns % kSecond, 9));
  return out;
}

}  // namespace

std::optional<HealthConfig> healthConfigOf(const json& hc) {
  if (!hc.is_object() || !hc.contains("Test") || !hc["Test"].is_array() || hc["Test"].empty()) return std::nullopt;
  std::vector<std::string> test;
  for (auto& v : hc["Test"])
    if (v.is_string()) test.push_back(v.get<std::string>());
  if (test.empty() || test[0] == "NONE") return std::nullopt;
  HealthConfig c;
  if (test[0] == "CMD") {
    c.argv.assign(test.begin() + 1, test.end());
  } else if (test[0] == "CMD-SHELL") {
    std::string cmd;
    for (size_t i = 1; i < test.size(); i++) cmd += (i > 1 ? " " : "") + test[i];
    c.argv = {"/bin/sh", "-c", cmd};
  } else {
    return std::nullopt;
  }
  if (c.argv.empty()) return std::nullopt;
  auto dflt = [](int64_t v, int64_t d) { return v > 0 ? v : d; };
  c.intervalNs = dflt(num(hc, "Interval"), kDefaultInterval);
  c.timeoutNs = dflt(num(hc, "Timeout"), kDefaultTimeout);
  c.startPeriodNs = dflt(num(hc, "StartPeriod"), 0);
  c.startIntervalNs = dflt(num(hc, "StartInterval"), kDefaultStartInterval);
  c.retries = int(dflt(num(hc, "Retries"), kDefaultRetries));
  return c;
}

json mergeHealthcheck(const json& user, const json& image) {
  if (!user.is_object()) return image.is_object() ? image : json(nullptr);
  json out = user;
  if (!image.is_object()) return out;
  if (!out.contains("Test") || !out["Test"].is_array() || out["Test"].empty())
    out["Test"] = image.value("Test", json(nullptr));
  for (const char* k : {"Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"})
    if (num(out, k) == 0 && num(image, k) != 0) out[k] = image[k];
  return out;
}

bool Health::record(const HealthConfig& cfg, ProbeResult r, int64_t startedAt) {
  std::string old = status;
  if (r.output.size() > kHealthMaxOutput) r.output.resize(kHealthMaxOutput);
  if (r.exitCode == 0) {
    failingStreak = 0;
    status = kHealthHealthy;
  } else {
    // Inside the start period a container that never passed is not counted against.
    bool counts = !(status == kHealthStarting && r.start - startedAt < cfg.startPeriodNs);
    if (counts) {
      failingStreak++;
      if (failingStreak >= cfg.retries) status = kHealthUnhealthy;
    }
  }
  log.push_back(std::move(r));
  while (log.size() > kHealthMaxLog) log.pop_front();
  return status != old;
}

int64_t Health::nextDelayNs(const HealthConfig& cfg, int64_t startedAt, int64_t now) const {
  if (now - startedAt >= cfg.startPeriodNs) return cfg.intervalNs;
  return status == kHealthStarting ? cfg.startIntervalNs : cfg.intervalNs;
}

json Health::toJson() const {
  json entries = json::array();
  for (auto& r : log)
    entries.push_back({{"Start", formatRfc3339Nano(r.start)},
                       {"End", formatRfc3339Nano(r.end)},
                       {"ExitCode", r.exitCode},
                       {"Output", r.output}});
  return {{"Status", status}, {"FailingStreak", failingStreak}, {"Log", entries}};
}

json Health::toRecord() const {
  json entries = json::array();
  for (auto& r : log)
    entries.push_back({{"Start", r.start}, {"End", r.end}, {"ExitCode", r.exitCode}, {"Output", r.output}});
  return {{"Status", status}, {"FailingStreak", failingStreak}, {"Log", entries}};
}

Health Health::fromRecord(const json& j) {
  Health h;
  if (!j.is_object()) return h;
  h.status = j.value("Status", std::string(kHealthStarting));
  h.failingStreak = j.value("FailingStreak", 0);
  if (j.contains("Log") && j["Log"].is_array())
    for (auto& e : j["Log"]) {
      if (!e.is_object()) continue;
      h.log.push_back({e.value("Start", int64_t(0)), e.value("End", int64_t(0)), e.value("ExitCode", 0),
                       e.value("Output", std::string())});
    }
  while (h.log.size() > kHealthMaxLog) h.log.pop_front();
  return h;
}

std::string healthTimeoutMessage(int64_t timeoutNs) {
  return "Health check exceeded timeout (" + goDuration(timeoutNs) + ")";
}

}  // namespace berth::container
