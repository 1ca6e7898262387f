#pragma once
// Threads kept for a moment after their work, for the next piece of work:
// what berthd would otherwise start a thread for, one per API connection or
// per container start, and which comes in bursts (the docker CLI's `run`
// opens three connections within a few milliseconds). Handing work to a
// waiting thread is a wake-up (~10 us) instead of a thread's creation and
// its stack (~50 us on the request's path, issue 17).
//
// run() hands the job to an idle thread, or starts one. A thread that ends
// a job waits up to idleExitMs for another, then ends; at most maxIdle wait
// at once (more end at once), so an idle daemon keeps no thread for it.
// Jobs may run for long (a container's monitor reader): that thread is just
// not idle meanwhile. The threads are detached: destruction wakes the idle
// ones (they end) and does not wait for running jobs, whose owners must
// outlive them as they would a detached std::thread's. Thread safe.

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

namespace berth {

class ThreadCache {
 public:
  explicit ThreadCache(int maxIdle = 4, int idleExitMs = 2000);
  ~ThreadCache();
  ThreadCache(const ThreadCache&) = delete;
  ThreadCache& operator=(const ThreadCache&) = delete;

  void run(std::function<void()> job);
  // Threads waiting for work now (tests).
  int idle() const;

 private:
  struct State;
  static void loop(std::shared_ptr<State> st, std::function<void()> job);
  std::shared_ptr<State> st_;
};

}  // namespace berth
