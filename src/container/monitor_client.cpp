#include "container/monitor_client.h"

#include "common/fd_pass.h"
#include "monitor/lock.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>

#include <pthread.h>
#include <sched.h>

extern char** environ;

namespace berth::container {

using monitor::Header;
using monitor::MsgType;

Result<std::unique_ptr<MonitorConn>> MonitorConn::connect(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sysError(errno, "socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return errorf(Code::InvalidArgument, "socket path too long: {}", path);
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    return std::unexpected(Error{Code::Unavailable, e, fmt::format("connect {}: {}", path, strerror(e))});
  }
  return std::make_unique<MonitorConn>(std::move(fd));
}

Result<> MonitorConn::send(MsgType t, std::string_view payload) {
  std::lock_guard lk(writeMu_);
  std::string buf = monitor::encodeHeader(t, uint32_t(payload.size()));
  buf.append(payload);
  std::string_view d = buf;
  while (!d.empty()) {
    ssize_t n = ::send(fd_.get(), d.data(), d.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(Error{Code::Unavailable, errno, "monitor connection lost"});
    }
    d.remove_prefix(size_t(n));
  }
  return {};
}

static bool readFull(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= size_t(r);
  }
  return true;
}

Result<MonitorMessage> MonitorConn::recv() {
  Header h;
  if (!readFull(fd_.get(), reinterpret_cast<char*>(&h), sizeof h))
    return makeError(Code::Unavailable, "monitor connection closed");
  if (h.length > monitor::kMaxPayload) return makeError(Code::Internal, "monitor message too large");
  MonitorMessage m{MsgType(h.type), std::string(h.length, '\0')};
  if (h.length && !readFull(fd_.get(), m.payload.data(), h.length))
    return makeError(Code::Unavailable, "monitor connection closed");
  return m;
}

void MonitorConn::shutdown() {
  if (fd_) ::shutdown(fd_.get(), SHUT_RDWR);
}

int32_t payloadInt(const std::string& p, size_t off) {
  int32_t v = 0;
  if (p.size() >= off + 4) memcpy(&v, p.data() + off, 4);
  return v;
}

std::string encodeInt(int32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }

Result<std::pair<std::unique_ptr<MonitorConn>, pid_t>> spawnMonitor(const std::vector<std::string>& argv,
                                                                     const std::string& stderrPath, int lockFd,
                                                                     int gateFd) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return sysError(errno, "socketpair");
  UniqueFd ours(sv[0]), theirs(sv[1]);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, stderrPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
  posix_spawn_file_actions_adddup2(&fa, theirs.get(), 3);
  if (lockFd >= 0) posix_spawn_file_actions_adddup2(&fa, lockFd, monitor::kLockFd);
  if (gateFd >= 0) posix_spawn_file_actions_adddup2(&fa, gateFd, monitor::kGateFd);
  posix_spawn_file_actions_addclosefrom_np(&fa, gateFd >= 0   ? monitor::kGateFd + 1
                                                : lockFd >= 0 ? monitor::kLockFd + 1
                                                              : 4);

  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                    POSIX_SPAWN_USEVFORK);

  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0].c_str(), &fa, &at, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc != 0) return sysError(rc, "spawn {}", argv[0]);
  theirs.reset();
  return std::make_pair(std::make_unique<MonitorConn>(std::move(ours)), pid);
}

SpareMonitor::SpareMonitor(std::string monitorBin) : st_(std::make_shared<State>()) {
  st_->bin = std::move(monitorBin);
}

void SpareMonitor::refill(std::shared_ptr<State> st, bool netns) {
  {
    std::lock_guard lk(st->mu);
    if (st->closed || st->conn || st->refilling) return;
    st->refilling = true;
  }
  std::thread([st, netns] {
    sched_param none{};
    ::pthread_setschedparam(::pthread_self(), SCHED_IDLE, &none);
    std::vector<std::string> argv = {st->bin, "spare"};
    if (netns) argv.push_back("--netns");
    argv.push_back(std::string(monitor::kSpareArgRoom, ' '));
    auto next = spawnMonitor(argv, "/dev/null");
    std::lock_guard lk(st->mu);
    st->refilling = false;
    if (next && !st->closed) {
      st->conn = std::move(next->first);
      st->pid = next->second;
    }
  }).detach();
}

Result<std::pair<std::unique_ptr<MonitorConn>, pid_t>> SpareMonitor::spawnRun(const std::vector<std::string>& argv,
                                                                               const std::string& stderrPath,
                                                                               int lockFd, int gateFd,
                                                                               bool newNetns) {
  std::string job;
  for (size_t i = 2; i < argv.size(); i++) job += argv[i] + '\0';
  std::unique_ptr<MonitorConn> spare;
  pid_t sparePid = 0;
  {
    std::lock_guard lk(st_->mu);
    spare = std::move(st_->conn);
    sparePid = st_->pid;
  }
  std::optional<Result<std::pair<std::unique_ptr<MonitorConn>, pid_t>>> out;
  // "run\0" + job must fit the spare's room (monitor::kSpareArgRoom).
  if (spare && lockFd >= 0 && argv.size() > 2 && argv[1] == "run" && job.size() + 4 <= monitor::kSpareArgRoom) {
    UniqueFd err(::open(stderrPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    std::vector<int> fds = {err.get(), lockFd};
    if (gateFd >= 0) fds.push_back(gateFd);
    if (err && sendByteWithFds(spare->fd(), 'j', fds) == 1 && spare->send(monitor::MsgType::SpareJob, job))
      out = std::make_pair(std::move(spare), sparePid);
  }
  if (!out) out = spawnMonitor(argv, stderrPath, lockFd, gateFd);
  refill(st_, newNetns);
  return std::move(*out);
}

void SpareMonitor::close() {
  std::lock_guard lk(st_->mu);
  st_->closed = true;
  st_->conn.reset();
}

}  // namespace berth::container
