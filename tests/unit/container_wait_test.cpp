// container::Lifecycle::wait with an answer callback: the thread whose work
// ends the wait (here a removal) answers, the waiting thread returns the
// same code after that. A real container service over SQLite and a
// one-file image, no start.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "container_service_fixture.h"

using namespace berth;
using json = nlohmann::json;

namespace {

class WaitAnswer : public fixtures::RealContainerService {
 protected:
  void SetUp() override {
    RealContainerService::SetUp();
    if (HasFatalFailure()) return;
    auto c = svc_->create({"w", json{{"Image", "one:file"}, {"HostConfig", {{"NetworkMode", "none"}}}}});
    ASSERT_TRUE(c) << c.error().message;
    id_ = c->id;
  }
  std::string id_;
};

}  // namespace

TEST_F(WaitAnswer, TheRemovalAnswersTheWaiterOnItsOwnThread) {
  auto base = svc_->waitBaseline(id_);
  ASSERT_TRUE(base);
  std::atomic<int> answers{0};
  std::thread::id answeredOn;
  int answeredCode = -1;
  Result<int> waited = -1;
  std::thread waiter([&] {
    waited = svc_->wait(id_, "removed", *base, [] { return false; }, [&](int code) {
      answeredOn = std::this_thread::get_id();
      answeredCode = code;
      answers++;
    });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the waiter is waiting
  EXPECT_EQ(answers.load(), 0);
  ASSERT_TRUE(svc_->remove(id_, false, false));
  // The removal's own thread (this one) answered before remove() returned.
  EXPECT_EQ(answers.load(), 1);
  EXPECT_EQ(answeredOn, std::this_thread::get_id());
  waiter.join();
  ASSERT_TRUE(waited) << waited.error().message;
  EXPECT_EQ(*waited, answeredCode);
  EXPECT_EQ(answers.load(), 1);
}

// Over already (a created container is not running): wait() returns at once
// and leaves the answer to its caller.
TEST_F(WaitAnswer, AWaitOverAtOnceDoesNotCallTheAnswer) {
  auto base = svc_->waitBaseline(id_);
  ASSERT_TRUE(base);
  int answers = 0;
  auto r = svc_->wait(id_, "not-running", *base, [] { return false; }, [&](int) { answers++; });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(answers, 0);
}

// A waiter that gave up (its client went away) is not answered later.
TEST_F(WaitAnswer, ACancelledWaiterIsNotAnswered) {
  auto base = svc_->waitBaseline(id_);
  ASSERT_TRUE(base);
  int answers = 0;
  auto r = svc_->wait(id_, "removed", *base, [] { return true; }, [&](int) { answers++; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::Cancelled);
  ASSERT_TRUE(svc_->remove(id_, false, false));
  EXPECT_EQ(answers, 0);
}

// A removal ends every wait on the container: a next-exit one is answered
// by the removing thread too (before the directory is dealt with).
TEST_F(WaitAnswer, TheRemovalAnswersANextExitWaiterToo) {
  auto base = svc_->waitBaseline(id_);
  ASSERT_TRUE(base);
  std::atomic<int> answers{0};
  std::thread::id answeredOn;
  Result<int> waited = -1;
  std::thread waiter([&] {
    waited = svc_->wait(id_, "next-exit", *base, [] { return false; }, [&](int) {
      answeredOn = std::this_thread::get_id();
      answers++;
    });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the waiter is waiting
  ASSERT_TRUE(svc_->remove(id_, false, false));
  EXPECT_EQ(answers.load(), 1);
  EXPECT_EQ(answeredOn, std::this_thread::get_id());
  waiter.join();
  EXPECT_TRUE(waited) << waited.error().message;
  EXPECT_EQ(answers.load(), 1);
}
