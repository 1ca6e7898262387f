#include "monitor/session.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "common/memory.h"
#include "common/trace.h"
#include "common/util.h"
#include "monitor/run.h"

namespace berth::monitor {

namespace {

constexpr size_t kBackpressure = 256 << 10;  // stop reading output above this per client
constexpr size_t kKeepCapacity = 64 << 10;   // larger idle buffers are freed (RSS)
constexpr size_t kReadChunk = 32 << 10;
constexpr int kIdleMs = 2000;  // quiet this long after traffic: trim memory

void releaseIfBig(std::string& s) {
  if (s.empty() && s.capacity() > kKeepCapacity) std::string().swap(s);
}

void setNonblock(int fd) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl >= 0) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int64_t monoMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

Session::Session() = default;

Session::~Session() {
  if (!socketPath_.empty()) ::unlink(socketPath_.c_str());
}

Result<> Session::init() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return sysError(errno, "block SIGCHLD");
  sigFd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigFd_) return sysError(errno, "signalfd");
  return {};
}

void Session::addClient(UniqueFd fd) {
  ::fcntl(fd.get(), F_SETFD, FD_CLOEXEC);
  setNonblock(fd.get());
  Client c;
  c.fd = std::move(fd);
  c.id = nextClientId_++;
  clients_.push_back(std::move(c));
}

Result<> Session::listen(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return errorf(Code::InvalidArgument, "socket path too long: {}", path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return sysError(errno, "socket");
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return sysError(errno, "bind {}", path);
  socketPath_ = path;
  if (::listen(fd.get(), 16) != 0) return sysError(errno, "listen {}", path);
  listenFd_ = std::move(fd);
  return {};
}

void Session::setOutput(UniqueFd out, UniqueFd err, bool tty) {
  tty_ = tty;
  if (out) setNonblock(out.get());
  if (err) setNonblock(err.get());
  if (tty) ptyMaster_ = out.get();
  outFds_[0] = std::move(out);
  outFds_[1] = std::move(err);
}

void Session::setStdin(UniqueFd in) {
  if (in) setNonblock(in.get());
  stdin_ = std::move(in);
}

void Session::broadcast(MsgType t, std::string_view payload) {
  for (auto& c : clients_) {
    if (c.dead || c.execClient || c.pending) continue;
    if (t == MsgType::Stdout || t == MsgType::Stderr) appendChunked(c.out, t, payload);
    else c.out += encodeMessage(t, payload);
    flushClient(c);
  }
}

void Session::started(pid_t pid) {
  pid_ = pid;
  broadcast(MsgType::Started, startedPayload());
}

std::string Session::startedPayload() const {
  std::string p = encodeInt32(pid_);
  if (features_) p += encodeInt32(int32_t(features_));
  return p;
}

void Session::flushClient(Client& c) {
  while (!c.dead && c.outPos < c.out.size()) {
    ssize_t n = ::send(c.fd.get(), c.out.data() + c.outPos, c.out.size() - c.outPos, MSG_NOSIGNAL);
    if (n > 0) {
      c.outPos += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    c.dead = true;
  }
  if (c.outPos == c.out.size()) {
    c.out.clear();
    c.outPos = 0;
    releaseIfBig(c.out);
    if (c.closeWhenSent) c.dead = true;
  } else if (c.outPos > kKeepCapacity) {
    c.out.erase(0, c.outPos);
    c.outPos = 0;
  }
}

void Session::handleMessage(Client& c, Message& m) {
  if (c.execClient) {
    if (ExecProc* x = execOf(c)) handleExecMessage(*x, m);
    return;
  }
  c.pending = false;
  switch (m.type) {
    case MsgType::Hello:
      if (!exitJson_.empty()) c.out += encodeMessage(MsgType::Exit, exitJson_);
      else if (pid_ > 0) c.out += encodeMessage(MsgType::Started, startedPayload());
      break;
    case MsgType::ExecStart:
      if (execLauncher_ && pid_ > 0 && !exited_) startExec(c, m.payload);
      break;
    case MsgType::Stdin:
      if (stdin_ || ptyMaster_ >= 0) {
        stdinBuf_ += m.payload;
        flushStdin();
      }
      break;
    case MsgType::StdinClose:
      if (!tty_) {
        stdinCloseWanted_ = true;
        flushStdin();
      }
      break;
    case MsgType::Resize: {
      uint16_t rows, cols;
      if (tty_ && ptyMaster_ >= 0 && decodeResize(m.payload, rows, cols)) {
        winsize ws{rows, cols, 0, 0};
        ::ioctl(ptyMaster_, TIOCSWINSZ, &ws);
      }
      break;
    }
    case MsgType::ReopenLog:
      if (log_) {
        if (auto r = log_->reopen(); !r) logError(r.error().message);
      }
      break;
    case MsgType::Signal: {
      int32_t sig;
      if (pid_ > 0 && !exited_ && decodeInt32(m.payload, sig)) ::kill(pid_, sig);
      break;
    }
    default:
      break;  // unknown or monitor->client types: ignored
  }
}

void Session::handleClientInput(Client& c) {
  char buf[kReadChunk];
  for (;;) {
    ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
    if (n > 0) {
      c.in.feed(std::string_view(buf, size_t(n)));
      while (auto m = c.in.next()) handleMessage(c, *m);
      if (c.in.invalid()) c.dead = true;
      if (size_t(n) < sizeof buf) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    c.dead = true;  // EOF or error: the client went away
    break;
  }
  flushClient(c);
}

void Session::flushStdin() {
  int fd = tty_ ? ptyMaster_ : stdin_.get();
  while (fd >= 0 && !stdinBuf_.empty()) {
    ssize_t n = ::write(fd, stdinBuf_.data(), stdinBuf_.size());
    if (n > 0) {
      stdinBuf_.erase(0, size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    stdinBuf_.clear();  // the process closed its stdin
    if (!tty_) stdin_.reset();
    return;
  }
  releaseIfBig(stdinBuf_);
  if (stdinCloseWanted_ && stdinBuf_.empty()) closeStdin();
}

void Session::closeStdin() {
  if (!tty_) stdin_.reset();
  stdinCloseWanted_ = false;
}

void Session::readOutput(int idx) {
  char buf[kReadChunk];
  for (int rounds = 0; rounds < 4; rounds++) {
    ssize_t n = ::read(outFds_[idx].get(), buf, sizeof buf);
    if (n > 0) {
      if (trace::on() && !firstOutputMono_) firstOutputMono_ = trace::now();
      std::string_view data(buf, size_t(n));
      broadcast(idx == 0 ? MsgType::Stdout : MsgType::Stderr, data);
      if (log_) log_->write(idx, data, nowNanos());
      if (size_t(n) < sizeof buf) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    // EOF, or EIO on a pty master once every slave is closed.
    if (tty_ && idx == 0) {
      ptyMaster_ = -1;
      stdinBuf_.clear();
    }
    outFds_[idx].reset();
    return;
  }
}

bool Session::backpressured() const {
  for (const auto& c : clients_)
    if (!c.dead && c.out.size() - c.outPos > kBackpressure) return true;
  return false;
}

void Session::acceptClients() {
  for (;;) {
    int fd = ::accept4(listenFd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    addClient(UniqueFd(fd));
    // Its first message says what it is: Hello (an attach: then the
    // broadcasts) or ExecStart (only its own process's messages).
    clients_.back().pending = true;
  }
}

void Session::dropDeadClients() {
  for (auto& c : clients_) {
    if (!c.dead || !c.execClient) continue;
    // Its exec runs on without a client: stdin closes, output is dropped.
    if (ExecProc* x = execOf(c)) {
      x->client = 0;
      x->stdinBuf.clear();
      if (!x->tty) x->in.reset();
    }
  }
  std::erase_if(clients_, [](const Client& c) { return c.dead; });
}

Session::Client* Session::clientById(uint64_t id) {
  for (auto& c : clients_)
    if (c.id == id && !c.dead) return &c;
  return nullptr;
}

Session::ExecProc* Session::execOf(const Client& c) {
  for (auto& x : execs_)
    if (x.client == c.id) return &x;
  return nullptr;
}

void Session::startExec(Client& c, std::string_view processJson) {
  c.execClient = true;
  auto r = execLauncher_(processJson);
  if (!r) {
    logError(r.error().error.message);
    c.out += encodeMessage(MsgType::StartError,
                           encodeStartError(r.error().stage, r.error().error.err, r.error().error.message));
    c.closeWhenSent = true;
    return;
  }
  ExecProc x;
  x.client = c.id;
  x.pid = r->pid;
  x.tty = r->tty;
  x.startedAt = r->startedAt;
  if (r->out) setNonblock(r->out.get());
  if (r->err) setNonblock(r->err.get());
  if (r->in) setNonblock(r->in.get());
  x.out[0] = std::move(r->out);
  x.out[1] = std::move(r->err);
  x.in = std::move(r->in);
  execs_.push_back(std::move(x));
  c.out += encodeMessage(MsgType::Started, encodeInt32(r->pid));
}

void Session::handleExecMessage(ExecProc& x, Message& m) {
  switch (m.type) {
    case MsgType::Stdin:
      if (x.tty ? x.out[0].valid() : x.in.valid()) {
        x.stdinBuf += m.payload;
        flushExecStdin(x);
      }
      break;
    case MsgType::StdinClose:
      if (!x.tty) {
        x.stdinCloseWanted = true;
        flushExecStdin(x);
      }
      break;
    case MsgType::Resize: {
      uint16_t rows, cols;
      if (x.tty && x.out[0].valid() && decodeResize(m.payload, rows, cols)) {
        winsize ws{rows, cols, 0, 0};
        ::ioctl(x.out[0].get(), TIOCSWINSZ, &ws);
      }
      break;
    }
    case MsgType::Signal: {
      int32_t sig;
      if (!x.exited && decodeInt32(m.payload, sig)) ::kill(x.pid, sig);
      break;
    }
    default:
      break;
  }
}

void Session::flushExecStdin(ExecProc& x) {
  int fd = x.tty ? x.out[0].get() : x.in.get();
  while (fd >= 0 && !x.stdinBuf.empty()) {
    ssize_t n = ::write(fd, x.stdinBuf.data(), x.stdinBuf.size());
    if (n > 0) {
      x.stdinBuf.erase(0, size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    x.stdinBuf.clear();
    if (!x.tty) x.in.reset();
    return;
  }
  releaseIfBig(x.stdinBuf);
  if (x.stdinCloseWanted && x.stdinBuf.empty()) {
    if (!x.tty) x.in.reset();
    x.stdinCloseWanted = false;
  }
}

void Session::readExecOutput(ExecProc& x, int idx) {
  char buf[kReadChunk];
  for (int rounds = 0; rounds < 4; rounds++) {
    ssize_t n = ::read(x.out[idx].get(), buf, sizeof buf);
    if (n > 0) {
      if (Client* c = clientById(x.client)) {
        appendChunked(c->out, idx == 0 ? MsgType::Stdout : MsgType::Stderr, std::string_view(buf, size_t(n)));
        flushClient(*c);
      }
      if (size_t(n) < sizeof buf) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (x.tty && idx == 0) x.stdinBuf.clear();
    x.out[idx].reset();
    return;
  }
}

void Session::completeExecs(bool force) {
  int64_t now = monoMs();
  for (auto& x : execs_) {
    if (!x.exited) continue;
    bool drained = !x.out[0].valid() && !x.out[1].valid();
    if (!drained && !force && (x.drainDeadline < 0 || now < x.drainDeadline)) continue;
    if (Client* c = clientById(x.client)) {
      c->out += encodeMessage(MsgType::Exit, exitJson(x.status, false, x.startedAt, x.finishedAt, x.pid));
      c->closeWhenSent = true;
      flushClient(*c);
    }
    x.pid = -1;  // done
  }
  std::erase_if(execs_, [](const ExecProc& x) { return x.pid < 0; });
}

void Session::endExecs() {
  for (auto& x : execs_)
    if (!x.exited) ::kill(x.pid, SIGKILL);
  for (auto& x : execs_) {
    if (x.exited) continue;
    int st = 0;
    while (::waitpid(x.pid, &st, 0) < 0 && errno == EINTR) {
    }
    x.exited = true;
    x.status = st;
    x.finishedAt = nowNanos();
  }
  completeExecs(true);
}

void Session::reap() {
  signalfd_siginfo si;
  while (::read(sigFd_.get(), &si, sizeof si) == sizeof si) {
  }
  for (;;) {
    int st;
    pid_t p = ::waitpid(-1, &st, WNOHANG);
    if (p <= 0) return;
    if (p == pid_ && !exited_) {
      exited_ = true;
      finishedAt_ = nowNanos();
      if (trace::on()) reapedMono_ = trace::now();
      status_ = st;
      continue;
    }
    for (auto& x : execs_)
      if (x.pid == p && !x.exited) {
        x.exited = true;
        x.status = st;
        x.finishedAt = nowNanos();
        x.drainDeadline = monoMs() + 2000;
      }
  }
}

int Session::runUntilExit(int drainMs) {
  int64_t deadline = -1;
  bool busy = false;
  std::vector<pollfd> pfds;
  for (;;) {
    dropDeadClients();
    bool outputOpen = outFds_[0].valid() || outFds_[1].valid();
    if (exited_) {
      if (!outputOpen) break;
      if (deadline < 0) deadline = monoMs() + drainMs;
      if (monoMs() >= deadline) break;
    }
    pfds.clear();
    pfds.push_back({sigFd_.get(), POLLIN, 0});
    pfds.push_back({listenFd_.get(), short(listenFd_ ? POLLIN : 0), 0});
    bool bp = backpressured();
    for (auto& fd : outFds_) pfds.push_back({fd.valid() && !bp ? fd.get() : -1, POLLIN, 0});
    int inFd = tty_ ? ptyMaster_ : stdin_.get();
    pfds.push_back({!stdinBuf_.empty() ? inFd : -1, POLLOUT, 0});
    size_t firstClient = pfds.size();
    for (auto& c : clients_)
      pfds.push_back({c.fd.get(), short(POLLIN | (c.outPos < c.out.size() ? POLLOUT : 0)), 0});
    // Inline execs: output (unless its client is backed up), stdin.
    size_t firstExec = pfds.size();
    int64_t wake = deadline;
    for (auto& x : execs_) {
      Client* c = clientById(x.client);
      bool xbp = c && c->out.size() - c->outPos > kBackpressure;
      for (auto& fd : x.out) pfds.push_back({fd.valid() && !xbp ? fd.get() : -1, POLLIN, 0});
      int xin = x.tty ? x.out[0].get() : x.in.get();
      pfds.push_back({!x.stdinBuf.empty() ? xin : -1, POLLOUT, 0});
      if (x.drainDeadline >= 0 && (wake < 0 || x.drainDeadline < wake)) wake = x.drainDeadline;
    }
    size_t nExecs = execs_.size();
    int timeout = wake >= 0 ? int(std::max<int64_t>(0, wake - monoMs())) : busy ? kIdleMs : -1;
    int n = ::poll(pfds.data(), pfds.size(), timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (n == 0 && busy && deadline < 0) {
      // Quiet again after traffic: give back the pages the relay touched.
      dropStartupPages();
      busy = false;
    }
    if (n > 0) busy = true;
    if (pfds[0].revents) reap();
    if (pfds[1].revents) acceptClients();
    for (int i = 0; i < 2; i++)
      if (pfds[2 + i].revents) readOutput(i);
    if (pfds[4].revents) flushStdin();
    // Exec fds before client input: a client message may start an exec
    // (execs_ grows) or drop one.
    for (size_t k = 0; k < nExecs && k < execs_.size(); k++) {
      ExecProc& x = execs_[k];
      size_t at = firstExec + 3 * k;
      for (int i = 0; i < 2; i++)
        if (pfds[at + i].revents && x.out[i].valid()) readExecOutput(x, i);
      if (pfds[at + 2].revents) flushExecStdin(x);
    }
    size_t nClients = clients_.size();
    for (size_t i = firstClient; i < firstExec && i - firstClient < nClients; i++) {
      Client& c = clients_[i - firstClient];
      if (pfds[i].revents & POLLIN) handleClientInput(c);
      else if (pfds[i].revents & (POLLHUP | POLLERR)) c.dead = true;
      if (!c.dead && (pfds[i].revents & POLLOUT)) flushClient(c);
    }
    completeExecs(false);
  }
  for (auto& fd : outFds_) fd.reset();
  ptyMaster_ = -1;
  stdin_.reset();
  if (log_) log_->flush(nowNanos());
  return status_;
}

void Session::finish(const std::string& exitJson, int timeoutMs) {
  if (!exitJson.empty()) {
    exitJson_ = exitJson;
    broadcast(MsgType::Exit, exitJson);
  }
  int64_t deadline = monoMs() + timeoutMs;
  std::vector<pollfd> pfds;
  for (;;) {
    dropDeadClients();
    pfds.clear();
    for (auto& c : clients_)
      if (c.outPos < c.out.size()) pfds.push_back({c.fd.get(), POLLOUT, 0});
    if (pfds.empty()) break;
    int64_t left = deadline - monoMs();
    if (left <= 0) break;
    if (::poll(pfds.data(), pfds.size(), int(left)) < 0 && errno != EINTR) break;
    for (auto& c : clients_) flushClient(c);
  }
  // Socket path and lock go before the clients see EOF: a monitor started
  // for the same container on that EOF must not lose its new socket to our
  // unlink, nor find the lock still held.
  stopListening();
  lock_.reset();
  clients_.clear();
}

void Session::stopListening() {
  listenFd_.reset();
  if (!socketPath_.empty()) {
    ::unlink(socketPath_.c_str());
    socketPath_.clear();
  }
}

void logError(std::string_view msg) {
  std::string line = fmt::format("berth-monitor: {}\n", msg);
  (void)!::write(2, line.data(), line.size());
}

}  // namespace berth::monitor
