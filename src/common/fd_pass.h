#pragma once
// One byte over a unix socket with file descriptors attached (SCM_RIGHTS):
// how the container's init hands its pty master to the monitor and the
// monitor hands the cgroup files to the init. Header-only and free of
// allocation, so the init may call it between clone and exec.

#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <span>

namespace berth {

// The most fds one message carries.
inline constexpr size_t kMaxPassedFds = 32;

// Sends byte with fds attached (none when empty). sendmsg's result, EINTR
// retried: 1 when sent, -1 with errno (E2BIG for more than kMaxPassedFds).
// The fds stay the caller's.
inline ssize_t sendByteWithFds(int sock, char byte, std::span<const int> fds) {
  if (fds.size() > kMaxPassedFds) {
    errno = E2BIG;
    return -1;
  }
  iovec iov{&byte, 1};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = ctl;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(cm), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n;
}

// Receives one byte into *byte and the fds that came with it (close-on-exec)
// into fds, *count of them; fds beyond fds.size() (at most kMaxPassedFds)
// are closed by the kernel. recvmsg's result, EINTR retried: 1 for the byte,
// 0 at EOF, -1 with errno (ENOTSOCK when sock is a pipe).
inline ssize_t recvByteWithFds(int sock, char* byte, std::span<int> fds, size_t* count) {
  *count = 0;
  iovec iov{byte, 1};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = CMSG_SPACE(sizeof(int) * (fds.size() < kMaxPassedFds ? fds.size() : kMaxPassedFds));
  ssize_t n;
  do n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return n;
  for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t got = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t k = 0; k < got && *count < fds.size(); k++)
      std::memcpy(&fds[(*count)++], CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
  }
  return n;
}

}  // namespace berth
