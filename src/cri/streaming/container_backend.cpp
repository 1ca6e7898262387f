#include "cri/streaming/container_backend.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/io.h"

namespace berth::cri::streaming {

using nlohmann::json;

namespace {

// Never typed by anyone: CRI sessions have no detach keys, but the exec and
// attach paths of the container service always watch for some (default
// ctrl-p,ctrl-q, which shells use for history). A long run of rare control
// bytes stands in for "none".
constexpr const char* kNoDetachKeys = "ctrl-^,ctrl-_,ctrl-],ctrl-^,ctrl-_,ctrl-],ctrl-^,ctrl-_";

// A container service stream over the client's CommandStreams.
class StreamsRaw : public RawStream {
 public:
  StreamsRaw(CommandStreams& s, bool tty) : s_(s), tty_(tty) {}
  ssize_t read(char* buf, size_t n) override {
    if (closed_) return -1;
    return s_.readStdin(buf, n);
  }
  bool write(std::string_view data) override {
    if (tty_) return s_.writeStdout(data);
    return demux_.feed(
        data, [&](std::string_view p) { return s_.writeStdout(p); },
        [&](std::string_view p) { return s_.writeStderr(p); });
  }
  void close() override {
    closed_ = true;
    s_.stopStdin();
  }
  int readFd() const override { return -1; }

 private:
  CommandStreams& s_;
  bool tty_;
  StdcopyDemuxer demux_;
  std::atomic<bool> closed_{false};
};

Result<UniqueFd> connectLocal(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sysError(errno, "socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return fd;
  int e4 = errno;
  UniqueFd fd6(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd6) {
    sockaddr_in6 a6{};
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons(uint16_t(port));
    a6.sin6_addr = in6addr_loopback;
    if (::connect(fd6.get(), reinterpret_cast<sockaddr*>(&a6), sizeof a6) == 0) return fd6;
  }
  return sysError(e4, "dial tcp 127.0.0.1:{}", port);
}

}  // namespace

Result<UniqueFd> dialInNetns(const std::string& netnsPath, int port) {
  if (port < 1 || port > 65535) return errorf(Code::InvalidArgument, "invalid port {}", port);
  if (netnsPath.empty()) return connectLocal(port);
  Result<UniqueFd> out = makeError(Code::Internal, "dial did not run");
  // setns changes only the calling thread: a thread of its own, which
  // ends with the namespace it joined.
  std::thread t([&] {
    UniqueFd ns(::open(netnsPath.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) {
      out = sysError(errno, "open network namespace {}", netnsPath);
      return;
    }
    if (::unshare(CLONE_FS) != 0 || ::setns(ns.get(), CLONE_NEWNET) != 0) {
      out = sysError(errno, "enter network namespace {}", netnsPath);
      return;
    }
    out = connectLocal(port);
  });
  t.join();
  return out;
}

Result<int> ContainerBackend::exec(const ExecSpec& spec, CommandStreams& streams) {
  json body = {{"Cmd", spec.cmd},
               {"AttachStdin", spec.stdinWanted},
               {"AttachStdout", spec.stdoutWanted},
               {"AttachStderr", spec.stderrWanted},
               {"Tty", spec.tty},
               {"DetachKeys", kNoDetachKeys}};
  TRY_ASSIGN(std::string execId, io_.execCreate(spec.containerId, container::ExecConfig{body}));

  // Resizes before the process exists are dropped by execResize: keep the
  // last one and apply it again once the process runs.
  std::mutex mu;
  std::condition_variable cv;
  std::optional<TermSize> last;
  bool finished = false;
  std::thread reapply;
  if (spec.tty) {
    streams.setResizeHandler([&](TermSize t) {
      {
        std::lock_guard lk(mu);
        last = t;
      }
      (void)io_.execResize(execId, t.height, t.width);
    });
    reapply = std::thread([&] {
      std::unique_lock lk(mu);
      for (int i = 0; i < 100 && !finished; i++) {
        lk.unlock();
        auto d = io_.execInspect(execId);
        lk.lock();
        if (!d || d->exitCode) return;
        if (d->pid > 0) {
          if (last) {
            TermSize t = *last;
            lk.unlock();
            (void)io_.execResize(execId, t.height, t.width);
          }
          return;
        }
        cv.wait_for(lk, std::chrono::milliseconds(20), [&] { return finished; });
      }
    });
  }
  container::ExecStartOptions opts;
  opts.tty = spec.tty;
  {
    std::lock_guard lk(mu);
    if (last) {
      opts.rows = last->height;
      opts.cols = last->width;
    }
  }
  StreamsRaw raw(streams, spec.tty);
  auto started = io_.execStart(execId, opts, &raw);
  {
    std::lock_guard lk(mu);
    finished = true;
    cv.notify_all();
  }
  if (reapply.joinable()) reapply.join();
  streams.setResizeHandler(nullptr);
  TRY(started);
  TRY_ASSIGN(auto details, io_.execInspect(execId));
  if (!details.exitCode) return makeError(Code::Internal, "exec ended without an exit code");
  return *details.exitCode;
}

Result<> ContainerBackend::attach(const AttachSpec& spec, CommandStreams& streams) {
  TRY_ASSIGN(bool tty, io_.isTty(spec.containerId));
  if (tty) {
    streams.setResizeHandler([&](TermSize t) { (void)io_.resize(spec.containerId, t.height, t.width); });
  }
  container::AttachOptions opts;
  opts.stdinWanted = spec.stdinWanted;
  opts.stdoutWanted = spec.stdoutWanted;
  opts.stderrWanted = spec.stderrWanted;
  opts.detachKeys = kNoDetachKeys;
  StreamsRaw raw(streams, tty);
  auto r = io_.attach(spec.containerId, opts, raw);
  streams.setResizeHandler(nullptr);
  return r;
}

NetnsResolver containerNetns(container::Queries& queries) {
  return [&queries](const std::string& id) -> Result<std::string> {
    TRY_ASSIGN(auto details, queries.inspect(id, false));
    const auto& st = details.record.state;
    if (st.status != container::State::Running)
      return errorf(Code::FailedPrecondition, "pod sandbox {} is not running", id);
    // The bind-mounted namespace when berth's network service made one;
    // else the one the sandbox's process lives in (its own for NetworkMode
    // none, the host's for host networking).
    if (!st.sandboxKey.empty()) return st.sandboxKey;
    if (st.pid > 0) return "/proc/" + std::to_string(st.pid) + "/ns/net";
    return errorf(Code::FailedPrecondition, "pod sandbox {} has no process", id);
  };
}

Result<UniqueFd> ContainerBackend::dialPort(const std::string& podSandboxId, int port) {
  TRY_ASSIGN(std::string netns, netns_(podSandboxId));
  return dialInNetns(netns, port);
}

namespace {

// Collects an ExecSync's output, each stream capped.
class Capture : public RawStream {
 public:
  ssize_t read(char*, size_t) override { return 0; }
  bool write(std::string_view data) override {
    std::lock_guard lk(mu_);
    demux_.feed(
        data, [&](std::string_view p) { return append(out_, p); }, [&](std::string_view p) { return append(err_, p); });
    return true;
  }
  void close() override {}
  int readFd() const override { return -1; }
  std::pair<std::string, std::string> take() {
    std::lock_guard lk(mu_);
    return {std::move(out_), std::move(err_)};
  }

 private:
  static bool append(std::string& s, std::string_view p) {
    if (s.size() < kExecSyncMaxOutput) s.append(p.substr(0, kExecSyncMaxOutput - s.size()));
    return true;
  }
  std::mutex mu_;
  StdcopyDemuxer demux_;
  std::string out_, err_;
};

}  // namespace

Result<ExecSyncResult> execSync(container::IO& io, const std::string& containerId, const std::vector<std::string>& cmd,
                                std::chrono::milliseconds timeout) {
  json body = {{"Cmd", cmd},          {"AttachStdin", false}, {"AttachStdout", true},
               {"AttachStderr", true}, {"Tty", false},         {"DetachKeys", kNoDetachKeys}};
  TRY_ASSIGN(std::string execId, io.execCreate(containerId, container::ExecConfig{body}));
  // Shared with the runner thread, which may outlive this call when a
  // killed command's children keep its output open.
  struct Run {
    Capture cap;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Result<> started;
  };
  auto run = std::make_shared<Run>();
  std::thread runner([&io, execId, run] {
    auto r = io.execStart(execId, container::ExecStartOptions{}, &run->cap);
    std::lock_guard lk(run->mu);
    run->started = std::move(r);
    run->done = true;
    run->cv.notify_all();
  });
  ExecSyncResult res;
  std::unique_lock lk(run->mu);
  if (timeout.count() > 0 && !run->cv.wait_for(lk, timeout, [&] { return run->done; })) {
    res.timedOut = true;
    // Kill the process (it may still be starting: wait for its pid).
    for (int i = 0; i < 200 && !run->done; i++) {
      lk.unlock();
      auto d = io.execInspect(execId);
      if (d && d->pid > 0 && d->running) ::kill(d->pid, SIGKILL);
      lk.lock();
      if (!d || d->exitCode || (d->pid > 0 && d->running)) break;
      run->cv.wait_for(lk, std::chrono::milliseconds(10), [&] { return run->done; });
    }
    // Its children may hold the output open: give them a moment, not forever.
    if (!run->cv.wait_for(lk, std::chrono::seconds(2), [&] { return run->done; })) {
      lk.unlock();
      runner.detach();
      return res;
    }
    lk.unlock();
    runner.join();
    return res;
  }
  run->cv.wait(lk, [&] { return run->done; });
  lk.unlock();
  runner.join();
  TRY(run->started);
  auto [out, err] = run->cap.take();
  res.stdoutData = std::move(out);
  res.stderrData = std::move(err);
  TRY_ASSIGN(auto details, io.execInspect(execId));
  res.exitCode = details.exitCode.value_or(-1);
  return res;
}

}  // namespace berth::cri::streaming
