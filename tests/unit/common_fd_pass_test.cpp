#include "common/fd_pass.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/fd.h"

namespace berth {
namespace {

struct Pair {
  UniqueFd a, b;
  Pair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    a.reset(sv[0]);
    b.reset(sv[1]);
  }
};

// Two fds name the same open file when their inode and device match.
bool sameFile(int x, int y) {
  struct stat sx{}, sy{};
  return ::fstat(x, &sx) == 0 && ::fstat(y, &sy) == 0 && sx.st_ino == sy.st_ino && sx.st_dev == sy.st_dev;
}

TEST(FdPass, ByteAndFdsArriveAsNewCloseOnExecFds) {
  Pair p;
  UniqueFd f1(::open("/dev/null", O_RDONLY | O_CLOEXEC)), f2(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  const int sent[] = {f1.get(), f2.get()};
  ASSERT_EQ(sendByteWithFds(p.a.get(), 'r', sent), 1);
  char c = 0;
  int got[4] = {-1, -1, -1, -1};
  size_t count = 99;
  ASSERT_EQ(recvByteWithFds(p.b.get(), &c, got, &count), 1);
  EXPECT_EQ(c, 'r');
  ASSERT_EQ(count, 2u);
  UniqueFd g1(got[0]), g2(got[1]);
  EXPECT_NE(got[0], f1.get());
  EXPECT_TRUE(sameFile(got[0], f1.get()));
  EXPECT_TRUE(sameFile(got[1], f2.get()));
  EXPECT_EQ(::fcntl(got[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

TEST(FdPass, NoFdsIsJustTheByte) {
  Pair p;
  ASSERT_EQ(sendByteWithFds(p.a.get(), 'x', {}), 1);
  char c = 0;
  int got[1] = {-1};
  size_t count = 7;
  ASSERT_EQ(recvByteWithFds(p.b.get(), &c, got, &count), 1);
  EXPECT_EQ(c, 'x');
  EXPECT_EQ(count, 0u);
}

TEST(FdPass, FdsBeyondTheReceiversRoomAreDropped) {
  Pair p;
  UniqueFd f1(::open("/dev/null", O_RDONLY | O_CLOEXEC)), f2(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const int sent[] = {f1.get(), f2.get()};
  ASSERT_EQ(sendByteWithFds(p.a.get(), 'm', sent), 1);
  char c = 0;
  int got = -1;
  size_t count = 0;
  ASSERT_EQ(recvByteWithFds(p.b.get(), &c, std::span<int>(&got, 1), &count), 1);
  EXPECT_EQ(count, 1u);
  UniqueFd g(got);
  EXPECT_TRUE(sameFile(got, f1.get()));
}

TEST(FdPass, RefusesTooManyFdsAndReportsEofAndPipes) {
  Pair p;
  std::vector<int> many(kMaxPassedFds + 1, 0);
  errno = 0;
  EXPECT_EQ(sendByteWithFds(p.a.get(), 'z', many), -1);
  EXPECT_EQ(errno, E2BIG);

  p.a.reset();  // EOF
  char c;
  int got[1];
  size_t count = 5;
  EXPECT_EQ(recvByteWithFds(p.b.get(), &c, got, &count), 0);
  EXPECT_EQ(count, 0u);

  int pfd[2];
  ASSERT_EQ(::pipe2(pfd, O_CLOEXEC), 0);
  UniqueFd r(pfd[0]), w(pfd[1]);
  ASSERT_EQ(::write(w.get(), "q", 1), 1);
  EXPECT_EQ(recvByteWithFds(r.get(), &c, got, &count), -1);
  EXPECT_EQ(errno, ENOTSOCK);  // the caller falls back to read() (runtime/launch.cpp)
}

}  // namespace
}  // namespace berth
