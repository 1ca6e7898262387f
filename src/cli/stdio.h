#pragma once
// Container stdio for attach / run / exec / logs: multiplexed frame demux,
// client-side detach keys, raw terminal mode, signal forwarding, and the
// pump that moves bytes between the local terminal and a hijacked socket.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <signal.h>
#include <termios.h>

#include "cli/client.h"
#include "common/detach_keys.h"
#include "common/fd.h"
#include "common/result.h"

namespace berth::cli {

// Decodes Docker's multiplexed stream: [STREAM,0,0,0,SIZE_BE32] + payload.
// Stream 0/1 → stdout sink, 2/3 → stderr sink (3 is "systemerr").
// Bytes may be fed in any split. Not thread safe.
class FrameDemuxer {
 public:
  using Sink = std::function<void(int stream, std::string_view payload)>;
  explicit FrameDemuxer(Sink sink) : sink_(std::move(sink)) {}
  void feed(std::string_view data);
  // True when the input ended on a frame boundary.
  bool idle() const { return hdrLen_ == 0 && left_ == 0; }

 private:
  Sink sink_;
  unsigned char hdr_[8];
  size_t hdrLen_ = 0;
  uint32_t left_ = 0;
  int stream_ = 1;
};

// parseDetachKeys and DetachDetector live in common (berthd uses them too).
using berth::DetachDetector;
using berth::parseDetachKeys;

// Puts a terminal fd in raw mode; restores it on destruction / restore().
class RawTerminal {
 public:
  RawTerminal() = default;
  ~RawTerminal() { restore(); }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  bool enable(int fd);
  void restore();

 private:
  int fd_ = -1;
  termios saved_{};
};

bool isTerminal(int fd);
// Rows and columns of the terminal on fd; {0,0} when not a terminal.
std::pair<int, int> terminalSize(int fd);

// Catches the given signals into a self-pipe while alive; restores the
// previous dispositions on destruction. One instance at a time (the signal
// handler needs one process-wide pipe fd).
class SignalPipe {
 public:
  explicit SignalPipe(const std::vector<int>& signals);
  ~SignalPipe();
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;
  int fd() const { return rd_.get(); }
  // Drains pending signal numbers.
  std::vector<int> take();

 private:
  UniqueFd rd_, wr_;
  std::vector<std::pair<int, struct sigaction>> old_;
};

// Signal number → docker's name without "SIG" ("INT", "TERM", "WINCH").
std::string signalName(int sig);

struct PumpOptions {
  bool tty = false;
  bool sendStdin = false;          // copy local stdin to the socket, then half-close
  std::vector<uint8_t> detachKeys;  // only used with tty && sendStdin
  std::function<void(int sig)> onSignal;  // forwarded signals (INT, TERM, ...)
  std::function<void()> onResize;          // SIGWINCH with a tty
  int in = 0, out = 1, err = 2;
};

enum class PumpEnd { StreamClosed, Detached };

// Moves bytes until the daemon closes the stream (or detach keys). Without
// sendStdin the write side is shut down immediately (docker CLI behaviour).
Result<PumpEnd> pumpSession(Connection& conn, const PumpOptions& opts);

// Copies a logs body to out/err: demuxed when !tty, raw when tty.
Result<> copyLogStream(Connection& conn, bool tty, int out, int err);

// write(2) everything, ignoring EPIPE.
void writeFd(int fd, std::string_view data);

}  // namespace berth::cli
