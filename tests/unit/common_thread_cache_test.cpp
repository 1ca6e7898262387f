#include "common/thread_cache.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

namespace {

using namespace std::chrono_literals;

// Waits up to 5 s for pred.
template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 500; i++) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

TEST(ThreadCache, ASecondJobRunsOnTheThreadTheFirstLeft) {
  berth::ThreadCache cache(2, 5000);
  std::promise<pthread_t> first, second;
  cache.run([&] { first.set_value(pthread_self()); });
  pthread_t a = first.get_future().get();
  ASSERT_TRUE(eventually([&] { return cache.idle() == 1; }));
  cache.run([&] { second.set_value(pthread_self()); });
  EXPECT_TRUE(pthread_equal(a, second.get_future().get()));
  EXPECT_TRUE(eventually([&] { return cache.idle() == 1; }));
}

TEST(ThreadCache, JobsRunAtOnceEvenWhenEveryThreadIsBusy) {
  berth::ThreadCache cache(1, 5000);
  std::mutex mu;
  std::condition_variable cv;
  int started = 0;
  bool release = false;
  for (int i = 0; i < 4; i++)
    cache.run([&] {
      std::unique_lock lk(mu);
      started++;
      cv.notify_all();
      cv.wait(lk, [&] { return release; });
    });
  {
    std::unique_lock lk(mu);
    // four jobs that block until all four have started: each has a thread
    ASSERT_TRUE(cv.wait_for(lk, 5s, [&] { return started == 4; }));
    release = true;
  }
  cv.notify_all();
  // at most maxIdle (1) threads wait afterwards; the others ended
  EXPECT_TRUE(eventually([&] { return cache.idle() == 1; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(cache.idle(), 1);
}

TEST(ThreadCache, IdleThreadsEndAfterTheirTimeAndOnDestruction) {
  berth::ThreadCache quick(4, 50);
  std::atomic<int> ran{0};
  for (int i = 0; i < 3; i++) quick.run([&] { ran++; });
  EXPECT_TRUE(eventually([&] { return ran == 3; }));
  EXPECT_TRUE(eventually([&] { return quick.idle() == 0; }));  // 50 ms without work
  auto slow = std::make_unique<berth::ThreadCache>(4, 60000);
  slow->run([&] { ran++; });
  EXPECT_TRUE(eventually([&] { return slow->idle() == 1; }));
  slow.reset();  // wakes the idle one, which ends; nothing hangs
  quick.run([&] { ran++; });
  EXPECT_TRUE(eventually([&] { return ran == 5; }));
}

}  // namespace
