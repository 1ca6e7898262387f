// src/cri/netns.h: a pod's network namespace made and pinned before its
// pause starts (root only: unshare(CLONE_NEWNET) and bind mounts).
#include "cri/netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include "common/util.h"

using namespace berth;
using namespace berth::cri;

namespace {

ino_t inodeOf(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// lo's flags inside the namespace pinned at path (-1 when unreadable).
int loFlagsIn(const std::string& path) {
  int flags = -1;
  std::thread t([&] {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    bool in = ::setns(fd, CLONE_NEWNET) == 0;
    ::close(fd);
    if (!in) return;
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (s >= 0 && ::ioctl(s, SIOCGIFFLAGS, &ifr) == 0) flags = ifr.ifr_flags;
    if (s >= 0) ::close(s);
  });
  t.join();
  return flags;
}

class CriNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    char tmpl[] = "/tmp/berth-crinetns-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (dir_.empty()) return;
    (void)unpinNetns(dir_ + "/netns/cni-a");
    (void)removeAll(dir_);
  }
  std::string dir_;
};

}  // namespace

TEST_F(CriNetns, CreatesANewNamespaceWithLoUpAndLeavesTheCallerWhereItWas) {
  const ino_t mine = inodeOf("/proc/thread-self/ns/net");
  std::string pin = dir_ + "/netns/cni-a";  // the directory is made too
  ASSERT_TRUE(createPinnedNetns(pin));
  EXPECT_TRUE(isPinnedNetns(pin));
  EXPECT_NE(inodeOf(pin), 0u);
  EXPECT_NE(inodeOf(pin), mine);                                  // a namespace of its own
  EXPECT_EQ(inodeOf("/proc/thread-self/ns/net"), mine);           // the caller's is unchanged
  int flags = loFlagsIn(pin);
  ASSERT_GE(flags, 0);
  EXPECT_TRUE(flags & IFF_UP);
  // Pinned again: refused, the first pin untouched.
  auto again = createPinnedNetns(pin);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::AlreadyExists);
  EXPECT_TRUE(isPinnedNetns(pin));
  ASSERT_TRUE(unpinNetns(pin));
  EXPECT_FALSE(isPinnedNetns(pin));
  EXPECT_NE(::access(pin.c_str(), F_OK), 0);
}

TEST_F(CriNetns, FailureLeavesNothingAndTheCallerUnmoved) {
  const ino_t mine = inodeOf("/proc/thread-self/ns/net");
  // The parent is a regular file: no directory, no pin.
  ASSERT_TRUE(writeFileReplace(dir_ + "/file", "x"));
  auto r = createPinnedNetns(dir_ + "/file/cni-b");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("pod's network namespace"), std::string::npos) << r.error().message;
  EXPECT_EQ(inodeOf("/proc/thread-self/ns/net"), mine);
  // A target whose bind mount fails (a directory: a file cannot be bound on it).
  ASSERT_TRUE(mkdirAll(dir_ + "/netns/cni-d"));
  auto d = createPinnedNetns(dir_ + "/netns/cni-d");
  ASSERT_FALSE(d);
  EXPECT_FALSE(isPinnedNetns(dir_ + "/netns/cni-d"));
  EXPECT_EQ(inodeOf("/proc/thread-self/ns/net"), mine);
}
