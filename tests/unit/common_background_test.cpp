// common/background.h: one idle-priority worker, jobs in order, an idle
// worker ends and a later post starts another, destruction runs the rest.

#include <gtest/gtest.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "common/background.h"

using namespace berth;

TEST(BackgroundQueue, RunsJobsInOrderAtIdlePriority) {
  BackgroundQueue q;
  std::mutex mu;
  std::vector<int> order;
  std::vector<int> policies;
  for (int i = 0; i < 5; i++)
    q.post([&, i] {
      std::lock_guard lk(mu);
      order.push_back(i);
      policies.push_back(sched_getscheduler(0));
    });
  q.drain();
  std::lock_guard lk(mu);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  for (int p : policies) EXPECT_EQ(p, SCHED_IDLE);
  EXPECT_NE(sched_getscheduler(0), SCHED_IDLE);  // the caller's own policy is untouched
}

TEST(BackgroundQueue, AnIdleWorkerEndsAndTheNextPostStartsAnother) {
  BackgroundQueue q(20);
  std::atomic<int> ran{0};
  std::thread::id first, second;
  q.post([&] {
    first = std::this_thread::get_id();
    ran++;
  });
  q.drain();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // past idleExitMs: the worker ended
  q.post([&] {
    second = std::this_thread::get_id();
    ran++;
  });
  q.drain();
  EXPECT_EQ(ran.load(), 2);
  EXPECT_NE(first, std::thread::id());
  EXPECT_NE(second, std::thread::id());
}

TEST(BackgroundQueue, DestructionRunsWhatIsQueued) {
  std::atomic<int> ran{0};
  {
    BackgroundQueue q;
    q.post([&] { std::this_thread::sleep_for(std::chrono::milliseconds(20)); ran++; });
    for (int i = 0; i < 3; i++) q.post([&] { ran++; });
  }
  EXPECT_EQ(ran.load(), 4);
}

