#include "cli/stdio.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/trace.h"
#include "common/util.h"

namespace berth::cli {

void writeFd(int fd, std::string_view data) {
  const char* p = data.data();
  size_t n = data.size();
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd pfd{fd, POLLOUT, 0};
        ::poll(&pfd, 1, -1);
        continue;
      }
      return;  // EPIPE and friends: the reader went away
    }
    p += w;
    n -= size_t(w);
  }
}

// ------------------------------------------------------------ FrameDemuxer

void FrameDemuxer::feed(std::string_view data) {
  while (!data.empty()) {
    if (left_ == 0) {
      size_t need = 8 - hdrLen_;
      size_t take = std::min(need, data.size());
      std::memcpy(hdr_ + hdrLen_, data.data(), take);
      hdrLen_ += take;
      data.remove_prefix(take);
      if (hdrLen_ < 8) return;
      hdrLen_ = 0;
      stream_ = hdr_[0];
      left_ = (uint32_t(hdr_[4]) << 24) | (uint32_t(hdr_[5]) << 16) | (uint32_t(hdr_[6]) << 8) |
              uint32_t(hdr_[7]);
      continue;
    }
    size_t take = std::min<size_t>(left_, data.size());
    sink_(stream_ >= 2 ? 2 : 1, data.substr(0, take));
    left_ -= uint32_t(take);
    data.remove_prefix(take);
  }
}

// ------------------------------------------------------------ detach keys

// ------------------------------------------------------------ terminal

bool isTerminal(int fd) { return ::isatty(fd) == 1; }

std::pair<int, int> terminalSize(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0) return {0, 0};
  return {ws.ws_row, ws.ws_col};
}

bool RawTerminal::enable(int fd) {
  if (fd_ >= 0) return true;
  if (::tcgetattr(fd, &saved_) != 0) return false;
  termios raw = saved_;
  ::cfmakeraw(&raw);
  raw.c_cc[VMIN] = 1;  // moby/term MakeRaw: same as cfmakeraw, OPOST off
  raw.c_cc[VTIME] = 0;
  if (::tcsetattr(fd, TCSADRAIN, &raw) != 0) return false;
  fd_ = fd;
  return true;
}

void RawTerminal::restore() {
  if (fd_ < 0) return;
  ::tcsetattr(fd_, TCSADRAIN, &saved_);
  fd_ = -1;
}

// ------------------------------------------------------------ signals

namespace {
int gSignalWriteFd = -1;  // the one SignalPipe's write end (signal handlers need a global)

void onSignalWrite(int sig) {
  int saved = errno;
  unsigned char b = uint8_t(sig);
  if (gSignalWriteFd >= 0) (void)::write(gSignalWriteFd, &b, 1);
  errno = saved;
}
}  // namespace

SignalPipe::SignalPipe(const std::vector<int>& signals) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return;
  rd_.reset(p[0]);
  wr_.reset(p[1]);
  gSignalWriteFd = p[1];
  for (int s : signals) {
    struct sigaction sa{}, old{};
    sa.sa_handler = onSignalWrite;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (::sigaction(s, &sa, &old) == 0) old_.emplace_back(s, old);
  }
}

SignalPipe::~SignalPipe() {
  for (auto& [s, old] : old_) ::sigaction(s, &old, nullptr);
  gSignalWriteFd = -1;
}

std::vector<int> SignalPipe::take() {
  std::vector<int> out;
  unsigned char buf[64];
  for (;;) {
    ssize_t n = ::read(rd_.get(), buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) out.push_back(buf[i]);
  }
  return out;
}

std::string signalName(int sig) {
  switch (sig) {
    case SIGHUP: return "HUP";
    case SIGINT: return "INT";
    case SIGQUIT: return "QUIT";
    case SIGTERM: return "TERM";
    case SIGUSR1: return "USR1";
    case SIGUSR2: return "USR2";
    case SIGWINCH: return "WINCH";
    case SIGKILL: return "KILL";
    default: return std::to_string(sig);
  }
}

// ------------------------------------------------------------ pump

Result<PumpEnd> pumpSession(Connection& conn, const PumpOptions& opts) {
  FrameDemuxer demux([&](int stream, std::string_view p) {
    writeFd(stream == 2 ? opts.err : opts.out, p);
  });
  DetachDetector detach(opts.tty ? opts.detachKeys : std::vector<uint8_t>{});
  std::vector<int> sigs = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
  if (opts.tty) sigs.push_back(SIGWINCH);
  SignalPipe sp(sigs);

  bool stdinOpen = opts.sendStdin;
  if (!stdinOpen) conn.closeWrite();
  std::string buf(32 * 1024, '\0');

  bool firstOutput = true;
  auto handleOutput = [&](size_t n) {
    std::string_view data(buf.data(), n);
    if (firstOutput && n > 0 && trace::on()) {
      int64_t t = trace::now();
      trace::record("", "first output byte", t, t);
    }
    if (n > 0) firstOutput = false;
    if (opts.tty)
      writeFd(opts.out, data);
    else
      demux.feed(data);
  };

  for (;;) {
    while (conn.hasBuffered()) {
      TRY_ASSIGN(size_t n, conn.readRaw(buf.data(), buf.size()));
      handleOutput(n);
    }
    pollfd pfds[3];
    int n = 0;
    pfds[n++] = {conn.fd(), POLLIN, 0};
    pfds[n++] = {sp.fd(), POLLIN, 0};
    int stdinIdx = -1;
    if (stdinOpen) {
      stdinIdx = n;
      pfds[n++] = {opts.in, POLLIN, 0};
    }
    int rc = ::poll(pfds, nfds_t(n), -1);
    if (rc < 0) {
      if (errno == EINTR) continue;
      return sysError(errno, "poll");
    }
    if (pfds[1].revents & POLLIN) {
      for (int s : sp.take()) {
        if (s == SIGWINCH) {
          if (opts.onResize) opts.onResize();
        } else if (opts.onSignal) {
          opts.onSignal(s);
        }
      }
    }
    if (pfds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      TRY_ASSIGN(size_t got, conn.readRaw(buf.data(), buf.size()));
      if (got == 0) return PumpEnd::StreamClosed;
      handleOutput(got);
    }
    if (stdinIdx >= 0 && (pfds[stdinIdx].revents & (POLLIN | POLLHUP | POLLERR))) {
      std::string in(16 * 1024, '\0');
      ssize_t got = ::read(opts.in, in.data(), in.size());
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        stdinOpen = false;
        conn.closeWrite();
        continue;
      }
      in.resize(size_t(got));
      if (opts.tty && !opts.detachKeys.empty()) {
        std::string fwd = detach.feed(in);
        if (!fwd.empty()) (void)conn.writeAll(fwd);
        if (detach.detached()) return PumpEnd::Detached;
      } else if (!conn.writeAll(in)) {
        stdinOpen = false;
      }
    }
  }
}

Result<> copyLogStream(Connection& conn, bool tty, int out, int err) {
  FrameDemuxer demux([&](int stream, std::string_view p) { writeFd(stream == 2 ? err : out, p); });
  std::string buf(32 * 1024, '\0');
  for (;;) {
    TRY_ASSIGN(size_t n, conn.readBody(buf.data(), buf.size()));
    if (n == 0) return {};
    if (tty)
      writeFd(out, std::string_view(buf.data(), n));
    else
      demux.feed(std::string_view(buf.data(), n));
  }
}

}  // namespace berth::cli
