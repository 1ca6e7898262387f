#include "common/thread_cache.h"

#include <chrono>
#include <thread>

namespace berth {

struct ThreadCache::State {
  std::mutex mu;
  std::condition_variable cv;
  std::function<void()> handed;  // a job for one idle thread, taken by the first to wake
  int idle = 0;
  int maxIdle;
  int idleExitMs;
  bool stopping = false;
};

ThreadCache::ThreadCache(int maxIdle, int idleExitMs) : st_(std::make_shared<State>()) {
  st_->maxIdle = maxIdle;
  st_->idleExitMs = idleExitMs;
}

ThreadCache::~ThreadCache() {
  {
    std::lock_guard lk(st_->mu);
    st_->stopping = true;
  }
  st_->cv.notify_all();
}

int ThreadCache::idle() const {
  std::lock_guard lk(st_->mu);
  return st_->idle;
}

void ThreadCache::run(std::function<void()> job) {
  {
    std::lock_guard lk(st_->mu);
    // An idle thread that has no job handed yet takes this one.
    if (!st_->stopping && st_->idle > 0 && !st_->handed) {
      st_->handed = std::move(job);
      st_->idle--;
      st_->cv.notify_one();
      return;
    }
  }
  std::thread(loop, st_, std::move(job)).detach();
}

void ThreadCache::loop(std::shared_ptr<State> st, std::function<void()> job) {
  for (;;) {
    job();
    job = nullptr;  // what it captured goes now, not when the next job comes
    std::unique_lock lk(st->mu);
    if (st->stopping || st->idle >= st->maxIdle) return;
    st->idle++;
    bool got = st->cv.wait_for(lk, std::chrono::milliseconds(st->idleExitMs),
                               [&] { return st->handed != nullptr || st->stopping; });
    if (got && st->handed) {
      // run() counted this thread out of the idle ones when it handed the job.
      job = std::move(st->handed);
      st->handed = nullptr;
      continue;
    }
    st->idle--;
    return;
  }
}

}  // namespace berth
