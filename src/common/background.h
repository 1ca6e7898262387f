#pragma once
// Work nobody waits for (a removed container's directory), run in order on
// one worker thread at SCHED_IDLE: it gets a CPU only when nothing else
// wants one, so it never delays a request, an exit being recorded or the
// client that waits for them (on a 2-core host, the removal's unlinks ran
// beside the wait answer and the docker CLI's exit).
//
// The worker starts with the first post() and ends after idleExitMs
// without work (a later post() starts another), so an idle daemon keeps no
// thread for it. Destruction runs what is still queued, back at normal
// priority, then joins the worker. Thread safety: post() and drain() may be
// called from any thread.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace berth {

class BackgroundQueue {
 public:
  explicit BackgroundQueue(int idleExitMs = 2000) : idleExitMs_(idleExitMs) {}
  ~BackgroundQueue();
  BackgroundQueue(const BackgroundQueue&) = delete;
  BackgroundQueue& operator=(const BackgroundQueue&) = delete;

  // Queues job; it runs after every job posted before it.
  void post(std::function<void()> job);
  // Returns once every job posted before the call has run.
  void drain();

 private:
  void loop();

  const int idleExitMs_;
  std::mutex mu_;
  std::condition_variable cv_;      // work or stopping, for the worker
  std::condition_variable doneCv_;  // a job done or the worker gone, for drain()
  std::deque<std::function<void()>> jobs_;
  uint64_t posted_ = 0, done_ = 0;
  bool workerRunning_ = false;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace berth
