// Healthchecks (container/health.h): one scheduler thread per service keeps
// the next due time of every running container with a healthcheck; a due
// probe runs as an exec (as moby's, so exec_create / exec_start / exec_die
// events come with it) on a short-lived thread, bounded by the timeout.

#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "common/util.h"
#include "container/health.h"
#include "container/service_impl.h"

namespace berth::container {

using json = nlohmann::json;

namespace {

// Collects a probe's stdout and stderr (multiplexed frames from
// execReader) up to kHealthMaxOutput bytes. read() blocks until close():
// the probe sends no stdin.
class ProbeCapture : public RawStream {
 public:
  ssize_t read(char*, size_t) override {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return closed_; });
    return 0;
  }
  bool write(std::string_view data) override {
    std::lock_guard lk(mu_);
    if (data.size() >= 8) data.remove_prefix(8);  // the frame header
    if (out_.size() < kHealthMaxOutput) out_.append(data.substr(0, kHealthMaxOutput - out_.size()));
    return true;
  }
  void close() override {
    std::lock_guard lk(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  int readFd() const override { return -1; }
  // Waits until closed or the deadline; true when closed.
  bool waitClosed(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lk(mu_);
    return cv_.wait_until(lk, deadline, [&] { return closed_; });
  }
  std::string output() {
    std::lock_guard lk(mu_);
    return out_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  std::string out_;
};

}  // namespace

void ServiceImpl::healthStartLocked(Entry& e, bool resume) {
  auto cfg = healthConfigOf(e.c.config.value("Healthcheck", json(nullptr)));
  e.healthGen++;
  if (!cfg) {
    healthDue_.erase(e.c.id);
    return;
  }
  Health h = Health::fromRecord(e.c.state.health);
  if (!resume || e.c.state.health.is_null()) {
    h.status = kHealthStarting;
    h.failingStreak = 0;
  }
  e.c.state.health = h.toRecord();
  int64_t now = nowNanos();
  healthDue_[e.c.id] = {now + h.nextDelayNs(*cfg, e.c.state.startedAt, now), e.healthGen};
  if (!healthThread_.joinable()) healthThread_ = std::thread([this] { healthLoop(); });
  healthCv_.notify_all();
}

void ServiceImpl::healthStopLocked(Entry& e) {
  e.healthGen++;
  healthDue_.erase(e.c.id);
  // moby's CloseMonitorChannel: a stopped monitor leaves the status unhealthy.
  if (!e.c.state.health.is_null()) e.c.state.health["Status"] = kHealthUnhealthy;
}

void ServiceImpl::healthLoop() {
  std::unique_lock lk(mu_);
  while (!stopping_) {
    auto next = healthDue_.end();
    for (auto it = healthDue_.begin(); it != healthDue_.end(); ++it)
      if (next == healthDue_.end() || it->second.first < next->second.first) next = it;
    if (next == healthDue_.end()) {
      healthCv_.wait(lk);
      continue;
    }
    int64_t now = nowNanos();
    if (next->second.first > now) {
      healthCv_.wait_for(lk, std::chrono::nanoseconds(next->second.first - now));
      continue;
    }
    std::string id = next->first;
    uint64_t gen = next->second.second;
    healthDue_.erase(next);
    readersRunning_++;
    std::thread([this, id, gen] {
      runProbe(id, gen);
      std::lock_guard g(mu_);
      readersRunning_--;
      cv_.notify_all();
    }).detach();
  }
}

void ServiceImpl::runProbe(const std::string& id, uint64_t gen) {
  std::optional<HealthConfig> cfg;
  json body;
  {
    std::lock_guard lk(mu_);
    auto it = byId_.find(id);
    if (it == byId_.end() || it->second->removed || it->second->healthGen != gen) return;
    const Container& c = it->second->c;
    cfg = healthConfigOf(c.config.value("Healthcheck", json(nullptr)));
    if (!cfg) return;
    body = {{"Cmd", cfg->argv}, {"AttachStdout", true}, {"AttachStderr", true}, {"Tty", false},
            {"User", c.config.value("User", "")}, {"WorkingDir", c.config.value("WorkingDir", "")}};
  }
  ProbeResult r;
  r.start = nowNanos();
  std::string execId;
  auto created = execCreate(id, ExecConfig{body});
  if (!created) {
    r.exitCode = -1;
    r.output = created.error().message;
  } else {
    execId = *created;
    auto capture = std::make_shared<ProbeCapture>();
    auto result = std::make_shared<Result<>>();
    std::thread runner([this, execId, capture, result] {
      *result = execStart(execId, ExecStartOptions{}, capture.get());
      capture->close();
    });
    auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(cfg->timeoutNs);
    bool finished = capture->waitClosed(deadline);
    if (!finished) {
      {
        std::lock_guard lk(mu_);
        if (auto x = execs_.find(execId); x != execs_.end() && x->second->mon)
          (void)x->second->mon->send(monitor::MsgType::Signal, encodeInt(SIGKILL));
      }
      capture->waitClosed(std::chrono::steady_clock::now() + std::chrono::seconds(10));
    }
    runner.join();
    if (!finished) {
      r.exitCode = -1;
      r.output = healthTimeoutMessage(cfg->timeoutNs);
    } else if (!*result) {
      r.exitCode = -1;
      r.output = result->error().message;
    } else {
      std::lock_guard lk(mu_);
      auto x = execs_.find(execId);
      r.exitCode = x != execs_.end() && x->second->hasExit ? x->second->exitCode : -1;
      r.output = capture->output();
    }
  }
  r.end = nowNanos();

  std::unique_lock lk(mu_);
  auto it = byId_.find(id);
  if (!execId.empty()) execs_.erase(execId);
  if (it == byId_.end()) return;
  auto e = it->second;
  if (!execId.empty()) std::erase(e->c.execIds, execId);
  if (e->removed || e->healthGen != gen || stopping_) return;
  Health h = Health::fromRecord(e->c.state.health);
  bool changed = h.record(*cfg, r, e->c.state.startedAt);
  e->c.state.health = h.toRecord();
  (void)saveLocked(*e);
  int64_t now = nowNanos();
  healthDue_[id] = {now + h.nextDelayNs(*cfg, e->c.state.startedAt, now), gen};
  healthCv_.notify_all();
  if (changed) emit_("container", "health_status: " + h.status, id, eventAttrs(*e));
}

}  // namespace berth::container
