#include "cri/streaming/sessions.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <thread>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/number.h"
#include "cri/streaming/spdy.h"
#include "cri/streaming/websocket.h"

namespace berth::cri::streaming::detail {

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kChunk = 32 << 10;
// After the session ends, how long the client has to read the last frames
// and close its side before the server closes the socket.
constexpr auto kDrain = std::chrono::seconds(2);

// The upgraded connection: blocking writes under one lock, polled reads.
class Wire {
 public:
  explicit Wire(int fd) : fd_(fd) {}
  Wire(const Wire&) = delete;
  Wire& operator=(const Wire&) = delete;

  std::mutex& lock() { return mu_; }
  // Caller holds lock(). False once the peer is gone.
  bool sendLocked(std::string_view b) {
    while (!b.empty() && !broken_) {
      ssize_t n = ::send(fd_, b.data(), b.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        broken_ = true;
        break;
      }
      b.remove_prefix(size_t(n));
    }
    return !broken_;
  }
  bool send(std::string_view b) {
    std::lock_guard lk(mu_);
    return sendLocked(b);
  }
  // >0 bytes, 0 EOF, -1 error, -2 timeout.
  ssize_t recv(char* buf, size_t n, int timeoutMs) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, timeoutMs);
    if (r == 0) return -2;
    if (r < 0) return errno == EINTR ? -2 : -1;
    ssize_t got = ::recv(fd_, buf, n, 0);
    if (got < 0 && errno == EINTR) return -2;
    return got < 0 ? -1 : got;
  }
  void shutdownWrite() { ::shutdown(fd_, SHUT_WR); }

 private:
  int fd_;
  std::mutex mu_;
  bool broken_ = false;
};

int msUntil(Clock::time_point t) {
  auto d = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  return d < 0 ? 0 : int(d);
}

// The stdin queue and resize relay shared by both transports; output goes
// through the transport's sendOutput.
class SessionStreams : public CommandStreams {
 public:
  SessionStreams(const CommandRequest& req, std::function<bool(int, std::string_view)> sendOutput)
      : req_(req), sendOutput_(std::move(sendOutput)) {}

  ssize_t readStdin(char* buf, size_t n) override {
    if (!req_.stdinWanted()) return 0;
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return !queue_.empty() || eof_ || gone_; });
    if (gone_) return -1;
    if (queue_.empty()) return 0;
    std::string& front = queue_.front();
    size_t k = std::min(n, front.size());
    std::memcpy(buf, front.data(), k);
    if (k == front.size()) queue_.pop_front();
    else front.erase(0, k);
    return ssize_t(k);
  }
  bool writeStdout(std::string_view d) override { return !req_.stdoutWanted() || sendOutput_(1, d); }
  bool writeStderr(std::string_view d) override { return !req_.stderrWanted() || sendOutput_(2, d); }
  void setResizeHandler(std::function<void(TermSize)> h) override {
    std::lock_guard lk(mu_);
    handler_ = std::move(h);
    if (handler_ && last_) handler_(*last_);
  }
  void stopStdin() override {
    std::lock_guard lk(mu_);
    gone_ = true;
    cv_.notify_all();
  }

  // From the reader thread.
  void pushStdin(std::string_view d) {
    if (d.empty()) return;
    std::lock_guard lk(mu_);
    if (eof_) return;
    queue_.emplace_back(d);
    cv_.notify_all();
  }
  void endStdin() {
    std::lock_guard lk(mu_);
    eof_ = true;
    cv_.notify_all();
  }
  void pushResize(std::string_view bytes) {
    for (auto& t : resize_.feed(bytes)) {
      std::lock_guard lk(mu_);
      last_ = t;
      if (handler_) handler_(t);
    }
  }

 private:
  const CommandRequest& req_;
  std::function<bool(int, std::string_view)> sendOutput_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool eof_ = false, gone_ = false;
  ResizeDecoder resize_;
  std::function<void(TermSize)> handler_;
  std::optional<TermSize> last_;
};

std::string goList(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); i++) s += (i ? " " : "") + v[i];
  return s + "]";
}

std::string portForwardError(const std::string& sandbox, int port, const Error& e) {
  // kubelet's portForwardErrResponse: a dial failure closes the connection.
  nlohmann::json j = {{"closeConnection", true},
                      {"message", fmt::format("error forwarding port {} to pod {}, uid : {}", port, sandbox, e.message)}};
  return j.dump() + "\n";
}

}  // namespace

CommandResult runCommand(Backend& backend, const CommandRequest& req, CommandStreams& streams) {
  CommandResult r;
  if (req.isExec) {
    auto code = backend.exec(req.exec, streams);
    if (!code) {
      r.kind = CommandResult::Internal;
      r.message = "error executing command in container: " + code.error().message;
    } else if (*code != 0) {
      r.kind = CommandResult::ExitCode;
      r.exitCode = *code;
      r.message = fmt::format("error executing command {}, exit code {}", goList(req.exec.cmd), *code);
    }
    return r;
  }
  auto ok = backend.attach(req.attach, streams);
  if (!ok) {
    r.kind = CommandResult::Internal;
    r.message = "error attaching to container: " + ok.error().message;
  }
  return r;
}

// ---- SPDY/3.1 ---------------------------------------------------------

namespace {

// Sends DATA frames of at most kChunk bytes. Caller holds the wire lock.
bool sendSpdyData(Wire& w, uint32_t id, std::string_view d, bool fin) {
  do {
    std::string_view part = d.substr(0, kChunk);
    d.remove_prefix(part.size());
    if (!w.sendLocked(spdy::encodeData(id, part, fin && d.empty()))) return false;
  } while (!d.empty());
  return true;
}

enum class Pump { Idle, Frames, Ended };

// Reads what the client sent within timeoutMs and hands each whole frame to
// onFrame, answering PINGs itself. Idle: nothing arrived in time; Frames:
// the frames read so far were handled; Ended: the client closed, the read
// failed or the stream is not SPDY any more (logged).
template <class OnFrame>
Pump pumpSpdyFrames(Wire& wire, spdy::FrameDecoder& dec, std::span<char> buf, int timeoutMs, OnFrame&& onFrame) {
  ssize_t n = wire.recv(buf.data(), buf.size(), timeoutMs);
  if (n == -2) return Pump::Idle;
  if (n <= 0) return Pump::Ended;
  dec.feed(std::string_view(buf.data(), size_t(n)));
  for (;;) {
    auto f = dec.next();
    if (!f) {
      log::warn("cri streaming: {}", f.error().message);
      return Pump::Ended;
    }
    if (!*f) return Pump::Frames;
    if ((**f).type == spdy::Type::Ping) wire.send(spdy::encodePing((**f).pingId));
    else onFrame(**f);
  }
}

}  // namespace

void serveSpdyCommand(int fd, std::string leftover, Protocol protocol, const CommandRequest& req, Backend& backend,
                      std::chrono::milliseconds creationTimeout) {
  Wire wire(fd);
  spdy::FrameDecoder dec;
  spdy::HeaderCompressor comp;
  dec.feed(leftover);
  uint32_t errorId = 0, stdinId = 0, stdoutId = 0, stderrId = 0, resizeId = 0, lastId = 0;
  std::atomic<uint32_t> outIds[3] = {0, 0, 0};  // [1] stdout, [2] stderr
  SessionStreams streams(req, [&](int which, std::string_view d) {
    uint32_t id = outIds[which].load();
    if (!id) return true;
    std::lock_guard lk(wire.lock());
    return sendSpdyData(wire, id, d, false);
  });
  const bool resizing = req.tty() && protocol >= Protocol::V3;
  int expected = 1 + req.stdinWanted() + req.stdoutWanted() + req.stderrWanted() + (resizing ? 1 : 0);
  int received = 0;
  auto deadline = Clock::now() + creationTimeout;
  std::thread worker;
  std::atomic<bool> done{false};
  std::optional<Clock::time_point> drainUntil;

  auto startWorker = [&] {
    outIds[1] = stdoutId;
    outIds[2] = stderrId;
    if (protocol == Protocol::V1) {
      // kubelet's v1 handler half-closes stdin and resets the error stream
      // as soon as the streams are there (its 1.0 behaviour, kept).
      std::lock_guard lk(wire.lock());
      if (stdinId) sendSpdyData(wire, stdinId, {}, true);
      if (errorId) wire.sendLocked(spdy::encodeRstStream(errorId, spdy::kRstCancel));
    }
    worker = std::thread([&] {
      CommandResult r = runCommand(backend, req, streams);
      {
        std::lock_guard lk(wire.lock());
        if (errorId && protocol != Protocol::V1) {
          std::string doc = protocol >= Protocol::V4 ? statusDocument(r) : legacyStatusText(r);
          if (!doc.empty()) sendSpdyData(wire, errorId, doc, false);
          sendSpdyData(wire, errorId, {}, true);
        }
        if (stdoutId) sendSpdyData(wire, stdoutId, {}, true);
        if (stderrId) sendSpdyData(wire, stderrId, {}, true);
        wire.sendLocked(spdy::encodeGoAway(lastId, 0));
      }
      wire.shutdownWrite();
      done = true;
    });
  };

  char buf[65536];
  for (;;) {
    int timeout = 250;
    if (worker.joinable()) {
      if (done && !drainUntil) drainUntil = Clock::now() + kDrain;
      if (drainUntil) {
        if (Clock::now() >= *drainUntil) break;
        timeout = std::min(timeout, msUntil(*drainUntil));
      }
    } else if (Clock::now() >= deadline) {
      log::warn("cri streaming: timed out waiting for client to create streams");
      break;
    } else {
      timeout = std::min(timeout, msUntil(deadline));
    }
    auto got = pumpSpdyFrames(wire, dec, buf, timeout, [&](spdy::Frame& fr) {
      switch (fr.type) {
        case spdy::Type::SynStream: {
          lastId = std::max(lastId, fr.streamId);
          std::string type = spdy::headerValue(fr.headers, "streamtype").value_or("");
          {
            std::lock_guard lk(wire.lock());
            auto reply = spdy::encodeSynReply(comp, fr.streamId, {}, false);
            if (reply) wire.sendLocked(*reply);
          }
          uint32_t* slot = nullptr;
          if (type == "error") slot = &errorId;
          else if (type == "stdin") slot = &stdinId;
          else if (type == "stdout") slot = &stdoutId;
          else if (type == "stderr") slot = &stderrId;
          else if (type == "resize" && protocol >= Protocol::V3) slot = &resizeId;
          else log::warn("cri streaming: unexpected stream type \"{}\"", type);
          if (slot && !worker.joinable()) {
            *slot = fr.streamId;
            if (++received == expected) startWorker();
          }
          if (fr.fin() && fr.streamId == stdinId) streams.endStdin();
          break;
        }
        case spdy::Type::Data:
          if (fr.streamId && fr.streamId == stdinId) {
            streams.pushStdin(fr.data);
            if (fr.fin()) streams.endStdin();
          } else if (fr.streamId && fr.streamId == resizeId) {
            streams.pushResize(fr.data);
          }
          break;
        case spdy::Type::RstStream:
          if (fr.streamId == stdinId) streams.endStdin();
          break;
        default:
          break;  // SETTINGS, WINDOW_UPDATE, HEADERS, GOAWAY: nothing to do
      }
    });
    if (got == Pump::Ended) break;
  }
  streams.stopStdin();
  if (worker.joinable()) worker.join();
}

void serveSpdyPortForward(int fd, std::string leftover, const PortForwardSpec& spec, Backend& backend) {
  Wire wire(fd);
  spdy::FrameDecoder dec;
  spdy::HeaderCompressor comp;
  dec.feed(leftover);
  struct Pair {
    uint32_t dataId = 0, errorId = 0;
    int port = 0;
    UniqueFd target;
    std::thread copier;
    bool started = false;
  };
  std::map<std::string, std::shared_ptr<Pair>> pairs;
  std::map<uint32_t, std::shared_ptr<Pair>> byData;

  auto refuse = [&](uint32_t id, const std::string& why) {
    log::warn("cri streaming: port forward stream {} refused: {}", id, why);
    wire.send(spdy::encodeRstStream(id, spdy::kRstRefusedStream));
  };
  auto startPair = [&](const std::shared_ptr<Pair>& p) {
    p->started = true;
    auto conn = backend.dialPort(spec.podSandboxId, p->port);
    if (!conn) {
      std::lock_guard lk(wire.lock());
      sendSpdyData(wire, p->errorId, portForwardError(spec.podSandboxId, p->port, conn.error()), true);
      sendSpdyData(wire, p->dataId, {}, true);
      return;
    }
    p->target = std::move(*conn);
    int tfd = p->target.get();
    p->copier = std::thread([&wire, p, tfd] {
      char b[kChunk];
      for (;;) {
        ssize_t n = ::read(tfd, b, sizeof b);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        std::lock_guard lk(wire.lock());
        if (!sendSpdyData(wire, p->dataId, std::string_view(b, size_t(n)), false)) break;
      }
      std::lock_guard lk(wire.lock());
      sendSpdyData(wire, p->dataId, {}, true);
      sendSpdyData(wire, p->errorId, {}, true);
    });
  };

  char buf[65536];
  auto onFrame = [&](spdy::Frame& fr) {
    switch (fr.type) {
      case spdy::Type::SynStream: {
        auto portStr = spdy::headerValue(fr.headers, "port");
        if (!portStr || portStr->empty()) {
          refuse(fr.streamId, "\"port\" header is required");
          break;
        }
        auto port = parseNumber<uint16_t>(*portStr);
        if (!port || *port < 1) {
          refuse(fr.streamId, fmt::format("unable to parse \"{}\" as a port", *portStr));
          break;
        }
        std::string type = spdy::headerValue(fr.headers, "streamtype").value_or("");
        if (type != "error" && type != "data") {
          refuse(fr.streamId, fmt::format("invalid stream type \"{}\"", type));
          break;
        }
        std::string reqId = spdy::headerValue(fr.headers, "requestid").value_or("");
        if (reqId.empty())  // clients before request ids: consecutive stream ids
          reqId = std::to_string(type == "error" ? fr.streamId : fr.streamId - 2);
        {
          std::lock_guard lk(wire.lock());
          if (auto reply = spdy::encodeSynReply(comp, fr.streamId, {}, false)) wire.sendLocked(*reply);
        }
        auto& p = pairs[reqId];
        if (!p) p = std::make_shared<Pair>();
        uint32_t& slot = type == "error" ? p->errorId : p->dataId;
        if (slot || p->started) {
          wire.send(spdy::encodeRstStream(fr.streamId, spdy::kRstProtocolError));
          break;
        }
        slot = fr.streamId;
        p->port = *port;
        if (type == "data") byData[fr.streamId] = p;
        if (p->dataId && p->errorId) startPair(p);
        break;
      }
      case spdy::Type::Data: {
        auto it = byData.find(fr.streamId);
        if (it == byData.end() || !it->second->target) break;
        std::string_view d = fr.data;
        int tfd = it->second->target.get();
        while (!d.empty()) {
          ssize_t w = ::send(tfd, d.data(), d.size(), MSG_NOSIGNAL);
          if (w < 0 && errno == EINTR) continue;
          if (w <= 0) break;
          d.remove_prefix(size_t(w));
        }
        if (fr.fin()) ::shutdown(tfd, SHUT_WR);
        break;
      }
      case spdy::Type::RstStream: {
        auto it = byData.find(fr.streamId);
        if (it != byData.end() && it->second->target) ::shutdown(it->second->target.get(), SHUT_RDWR);
        break;
      }
      default:
        break;
    }
  };
  while (pumpSpdyFrames(wire, dec, buf, 1000, onFrame) != Pump::Ended) {
  }
  for (auto& [id, p] : pairs)
    if (p->target) ::shutdown(p->target.get(), SHUT_RDWR);
  for (auto& [id, p] : pairs)
    if (p->copier.joinable()) p->copier.join();
}

// ---- WebSocket --------------------------------------------------------

namespace {

constexpr uint8_t kStdinChannel = 0, kStdoutChannel = 1, kStderrChannel = 2, kErrorChannel = 3,
                  kResizeChannel = 4, kCloseSignal = 255;

bool sendWsChannel(Wire& w, const WsProtocol& p, uint8_t channel, std::string_view d) {
  return w.sendLocked(ws::encodeFrame(p.binary ? ws::kBinary : ws::kText, ws::encodeChannel(p.binary, channel, d)));
}

// Reads messages until the client closes or the connection ends; `done`
// turns true when the server side is finished (then the client gets kDrain
// to close). onData gets (channel, bytes).
void wsReadLoop(Wire& wire, ws::Decoder& dec, const WsProtocol& p, std::atomic<bool>& done,
                const std::function<void(uint8_t, std::string_view)>& onData) {
  char buf[65536];
  std::optional<Clock::time_point> drainUntil;
  for (;;) {
    int timeout = 250;
    if (done && !drainUntil) drainUntil = Clock::now() + kDrain;
    if (drainUntil) {
      if (Clock::now() >= *drainUntil) return;
      timeout = std::min(timeout, msUntil(*drainUntil));
    }
    // Frames may already be buffered (leftover of the upgrade request).
    for (;;) {
      auto m = dec.next();
      if (!m) {
        log::warn("cri streaming: {}", m.error().message);
        std::lock_guard lk(wire.lock());
        wire.sendLocked(ws::encodeFrame(ws::kClose, ws::closePayload(1002)));
        return;
      }
      if (!*m) break;
      auto& msg = **m;
      if (msg.opcode == ws::kClose) {
        std::lock_guard lk(wire.lock());
        wire.sendLocked(ws::encodeFrame(ws::kClose, msg.payload.substr(0, 2)));
        return;
      }
      if (msg.opcode == ws::kPing) {
        std::lock_guard lk(wire.lock());
        wire.sendLocked(ws::encodeFrame(ws::kPong, msg.payload));
        continue;
      }
      if (msg.opcode == ws::kPong || msg.payload.empty()) continue;
      auto cd = ws::decodeChannel(p.binary, msg.payload);
      if (!cd) continue;
      onData(cd->channel, cd->data);
    }
    ssize_t n = wire.recv(buf, sizeof buf, timeout);
    if (n == -2) continue;
    if (n <= 0) return;
    dec.feed(std::string_view(buf, size_t(n)));
  }
}

}  // namespace

void serveWsCommand(int fd, std::string leftover, const WsProtocol& protocol, const CommandRequest& req,
                    Backend& backend) {
  Wire wire(fd);
  ws::Decoder dec(true);
  dec.feed(leftover);
  SessionStreams streams(req, [&](int which, std::string_view d) {
    std::lock_guard lk(wire.lock());
    return sendWsChannel(wire, protocol, uint8_t(which), d);
  });
  {
    // An empty message on the lowest writable channel tells the client the
    // session is established (kubelet's createWebSocketStreams).
    std::lock_guard lk(wire.lock());
    uint8_t first = req.stdoutWanted() ? kStdoutChannel : req.stderrWanted() ? kStderrChannel : kErrorChannel;
    sendWsChannel(wire, protocol, first, {});
  }
  std::atomic<bool> done{false};
  std::thread worker([&] {
    CommandResult r = runCommand(backend, req, streams);
    {
      std::lock_guard lk(wire.lock());
      std::string doc = protocol.v4Status ? statusDocument(r) : legacyStatusText(r);
      if (!doc.empty()) sendWsChannel(wire, protocol, kErrorChannel, doc);
      wire.sendLocked(ws::encodeFrame(ws::kClose, ws::closePayload(1000)));
    }
    done = true;
  });
  wsReadLoop(wire, dec, protocol, done, [&](uint8_t channel, std::string_view d) {
    if (protocol.closeSignal && channel == kCloseSignal) {
      if (d.size() == 1 && uint8_t(d[0]) == kStdinChannel) streams.endStdin();
      return;
    }
    if (channel == kStdinChannel && req.stdinWanted()) streams.pushStdin(d);
    else if (channel == kResizeChannel) streams.pushResize(d);
  });
  streams.stopStdin();
  worker.join();
}

void serveWsPortForward(int fd, std::string leftover, const WsProtocol& protocol, const PortForwardSpec& spec,
                        Backend& backend) {
  Wire wire(fd);
  ws::Decoder dec(true);
  dec.feed(leftover);
  struct Port {
    int port = 0;
    UniqueFd target;
    std::thread copier;
  };
  std::vector<std::unique_ptr<Port>> ports;
  std::atomic<int> remaining{int(spec.ports.size())};
  std::atomic<bool> done{spec.ports.empty()};
  auto finishOne = [&] {
    if (--remaining == 0) {
      std::lock_guard lk(wire.lock());
      wire.sendLocked(ws::encodeFrame(ws::kClose, ws::closePayload(1000)));
      done = true;
    }
  };
  for (size_t i = 0; i < spec.ports.size(); i++) {
    auto p = std::make_unique<Port>();
    p->port = spec.ports[i];
    char le[2] = {char(p->port & 0xff), char((p->port >> 8) & 0xff)};
    {
      std::lock_guard lk(wire.lock());
      sendWsChannel(wire, protocol, uint8_t(2 * i), std::string_view(le, 2));
      sendWsChannel(wire, protocol, uint8_t(2 * i + 1), std::string_view(le, 2));
    }
    ports.push_back(std::move(p));
  }
  if (spec.ports.empty()) {
    std::lock_guard lk(wire.lock());
    wire.sendLocked(ws::encodeFrame(ws::kClose, ws::closePayload(1000)));
  }
  for (size_t i = 0; i < ports.size(); i++) {
    Port& p = *ports[i];
    auto conn = backend.dialPort(spec.podSandboxId, p.port);
    if (!conn) {
      {
        std::lock_guard lk(wire.lock());
        sendWsChannel(wire, protocol, uint8_t(2 * i + 1),
                      fmt::format("error forwarding port {} to pod {}, uid : {}", p.port, spec.podSandboxId,
                                  conn.error().message));
      }
      finishOne();
      continue;
    }
    p.target = std::move(*conn);
    int tfd = p.target.get();
    p.copier = std::thread([&, i, tfd] {
      char b[kChunk];
      for (;;) {
        ssize_t n = ::read(tfd, b, sizeof b);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        std::lock_guard lk(wire.lock());
        if (!sendWsChannel(wire, protocol, uint8_t(2 * i), std::string_view(b, size_t(n)))) break;
      }
      finishOne();
    });
  }
  wsReadLoop(wire, dec, protocol, done, [&](uint8_t channel, std::string_view d) {
    size_t i = channel / 2;
    if (channel % 2 != 0 || i >= ports.size() || !ports[i]->target) return;
    int tfd = ports[i]->target.get();
    while (!d.empty()) {
      ssize_t w = ::send(tfd, d.data(), d.size(), MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      d.remove_prefix(size_t(w));
    }
  });
  for (auto& p : ports)
    if (p->target) ::shutdown(p->target.get(), SHUT_RDWR);
  for (auto& p : ports)
    if (p->copier.joinable()) p->copier.join();
}

}  // namespace berth::cri::streaming::detail
