#include "common/background.h"

#include <sched.h>

#include <chrono>

namespace berth {

BackgroundQueue::~BackgroundQueue() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  // A worker that ended idle just before a post() it did not see: the rest
  // runs here.
  while (!jobs_.empty()) {
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    job();
  }
}

void BackgroundQueue::post(std::function<void()> job) {
  std::unique_lock lk(mu_);
  jobs_.push_back(std::move(job));
  posted_++;
  if (workerRunning_) {
    cv_.notify_one();
    return;
  }
  // The last worker ended idle (it set workerRunning_ false as its last
  // step under mu_): joining it is immediate.
  if (worker_.joinable()) worker_.join();
  workerRunning_ = true;
  worker_ = std::thread([this] { loop(); });
}

void BackgroundQueue::drain() {
  std::unique_lock lk(mu_);
  uint64_t target = posted_;
  doneCv_.wait(lk, [&] { return done_ >= target || (!workerRunning_ && jobs_.empty()); });
}

void BackgroundQueue::loop() {
  // This thread only (Linux applies the policy per thread).
  sched_param param{};
  bool idle = sched_setscheduler(0, SCHED_IDLE, &param) == 0;
  std::unique_lock lk(mu_);
  for (;;) {
    if (jobs_.empty()) {
      if (stopping_) break;
      if (!cv_.wait_for(lk, std::chrono::milliseconds(idleExitMs_), [&] { return !jobs_.empty() || stopping_; }))
        break;
      continue;
    }
    if (stopping_ && idle) {
      // Shutting down: what is left must not wait for an idle CPU.
      (void)sched_setscheduler(0, SCHED_OTHER, &param);
      idle = false;
    }
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lk.unlock();
    job();
    lk.lock();
    done_++;
    doneCv_.notify_all();
  }
  workerRunning_ = false;
  doneCv_.notify_all();
}

}  // namespace berth
