// Attach, logs and exec: the streaming parts of the container service.

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <optional>
#include <fstream>
#include <thread>

#include <zlib.h>

#include "common/detach_keys.h"
#include "common/error_status.h"
#include "common/log.h"
#include "common/util.h"
#include "container/log_opts.h"
#include "container/service_impl.h"
#include "container/spec.h"
#include "runtime/stage.h"

namespace berth::container {

using json = nlohmann::json;
using monitor::MsgType;

namespace {

// The whole of a gzipped rotated log (the local driver).
Result<std::string> readGzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return sysError(errno, "open {}", path);
  std::string out;
  char buf[65536];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, size_t(n));
  gzclose(f);
  return out;
}

// Docker's stdcopy frame: [stream, 0, 0, 0, size BE32] + payload.
std::string muxFrame(int stream, std::string_view data) {
  std::string f(8, '\0');
  f[0] = char(stream);
  uint32_t n = uint32_t(data.size());
  f[4] = char((n >> 24) & 0xff);
  f[5] = char((n >> 16) & 0xff);
  f[6] = char((n >> 8) & 0xff);
  f[7] = char(n & 0xff);
  f.append(data);
  return f;
}

}  // namespace

bool AttachSession::writeOutput(MsgType stream, std::string_view data) {
  bool isErr = stream == MsgType::Stderr;
  if ((isErr && !wantStderr) || (!isErr && !wantStdout)) return true;
  std::lock_guard lk(mu);
  if (closed || !raw) return false;
  return raw->write(tty ? std::string(data) : muxFrame(isErr ? 2 : 1, data));
}

void ServiceImpl::sendStdinLocked(Entry& e, std::string_view data) {
  if (e.mon) (void)e.mon->send(MsgType::Stdin, data);
  else if (e.c.state.status == State::Created || e.c.state.status == State::Exited) e.pendingStdin.append(data);
}

Result<> ServiceImpl::attach(const std::string& ref, const AttachOptions& opts, RawStream& raw) {
  auto s = std::make_shared<AttachSession>();
  std::shared_ptr<Entry> e;
  bool stdinOnce = false;
  {
    std::lock_guard lk(mu_);
    TRY_ASSIGN(e, getLocked(ref));
    if (e->c.state.status == State::Paused)
      return errorf(Code::Conflict, "container {} is paused, unpause the container before attach", ref);
    if (e->c.state.status == State::Restarting)
      return errorf(Code::Conflict, "container {} is restarting, wait until the container is running", ref);
  }
  if (opts.logs) {
    // dockerd replays the whole log in the attach framing, then attaches
    // (output written between the two is not replayed, as with dockerd).
    // A driver that cannot be read is reported in the stream.
    struct RawWriter : StreamWriter {
      RawStream& raw;
      explicit RawWriter(RawStream& r) : raw(r) {}
      bool write(std::string_view data) override { return raw.write(data); }
    } w(raw);
    LogsOptions lo;
    lo.stdoutWanted = opts.stdoutWanted;
    lo.stderrWanted = opts.stderrWanted;
    if (lo.stdoutWanted || lo.stderrWanted) {
      if (auto r = logs(ref, lo, w); !r) {
        std::string msg = "Error attaching: " + r.error().message + "\n";
        bool tty;
        {
          std::lock_guard lk(mu_);
          tty = e->c.tty();
        }
        (void)raw.write(tty ? msg : muxFrame(1, msg));
        raw.close();
        return {};
      }
    }
  }
  if (!opts.stream) {
    json attrs;
    {
      std::lock_guard lk(mu_);
      attrs = eventAttrs(*e);
    }
    emit_("container", "attach", e->c.id, attrs);
    raw.close();
    return {};
  }
  {
    std::lock_guard lk(mu_);
    if (e->removed) return errorf(Code::NotFound, "No such container: {}", ref);
    s->raw = &raw;
    s->wantStdin = opts.stdinWanted && e->c.config.value("OpenStdin", false);
    s->wantStdout = opts.stdoutWanted;
    s->wantStderr = opts.stderrWanted;
    s->tty = e->c.tty();
    stdinOnce = e->c.config.value("StdinOnce", false);
    e->sessions.push_back(s);
  }
  json attrs;
  {
    std::lock_guard lk(mu_);
    attrs = eventAttrs(*e);
  }
  emit_("container", "attach", e->c.id, attrs);

  // Server-side detach keys (dockerd's escape proxy): API clients that do
  // not watch for them themselves detach too; the container keeps running.
  std::optional<DetachDetector> detector;
  if (s->wantStdin) {
    auto keys = parseDetachKeys(opts.detachKeys.empty() ? kDefaultDetachKeys : std::string_view(opts.detachKeys));
    if (!keys) keys = parseDetachKeys(kDefaultDetachKeys);
    detector.emplace(*keys);
  }
  bool readClient = true, detached = false;
  char buf[32768];
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (s->done || stopping_ || e->removed) break;
    }
    if (!readClient) {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(500), [&] { return s->done || stopping_ || e->removed; });
      continue;
    }
    ssize_t n = raw.read(buf, sizeof buf);
    if (n > 0) {
      if (s->wantStdin) {
        std::string fwd = detector->feed(std::string_view(buf, size_t(n)));
        std::lock_guard lk(mu_);
        if (!fwd.empty()) sendStdinLocked(*e, fwd);
      }
      if (detector && detector->detached()) {
        detached = true;
        break;
      }
      continue;
    }
    if (n < 0) break;  // client gone
    // EOF: the client half-closed its side.
    if (!s->wantStdin) {
      readClient = false;
      continue;
    }
    if (stdinOnce && !s->tty) {
      std::lock_guard lk(mu_);
      if (e->mon) (void)e->mon->send(MsgType::StdinClose);
      else e->pendingStdinClose = true;
      readClient = false;
      continue;
    }
    break;  // tty / !StdinOnce: EOF ends this session, the container keeps running
  }
  {
    std::lock_guard lk(mu_);
    std::erase(e->sessions, s);
  }
  {
    std::lock_guard sl(s->mu);
    s->closed = true;
  }
  raw.close();
  if (detached) {
    json dattrs;
    {
      std::lock_guard lk(mu_);
      dattrs = eventAttrs(*e);
    }
    emit_("container", "detach", e->c.id, dattrs);
  }
  return {};
}

Result<> ServiceImpl::logs(const std::string& ref, const LogsOptions& opts, StreamWriter& out) {
  std::shared_ptr<Entry> e;
  {
    std::lock_guard lk(mu_);
    TRY_ASSIGN(e, getLocked(ref));
  }
  bool tty = e->c.tty();
  auto limits = jsonFileLimits(e->c.hostConfig.value("LogConfig", json::object()));
  if (limits && (limits->driver == "none" || limits->driver == "cri-log"))
    return makeError(Code::Unavailable, "configured logging driver does not support reading");
  std::string path = logPathOf(e->c);

  struct Line {
    bool isErr;
    int64_t t;
    std::string text;
  };
  auto parseLine = [](std::string_view l) -> std::optional<Line> {
    try {
      json j = json::parse(l);
      auto ts = parseRfc3339(j.value("time", ""));
      return Line{j.value("stream", "stdout") == "stderr", ts ? *ts : 0, j.value("log", "")};
    } catch (...) {
      return std::nullopt;
    }
  };
  auto emitLine = [&](const Line& ln) -> bool {
    if (ln.isErr ? !opts.stderrWanted : !opts.stdoutWanted) return true;
    if (opts.since > 0 && ln.t < opts.since) return true;
    if (opts.until > 0 && ln.t > opts.until) return true;
    std::string payload = opts.timestamps ? formatRfc3339Nano(ln.t) + " " + ln.text : ln.text;
    return out.write(tty ? payload : muxFrame(ln.isErr ? 2 : 1, payload));
  };

  std::string partial;
  auto parseAll = [&](std::vector<Line>& lines) {
    size_t start = 0, nl;
    while ((nl = partial.find('\n', start)) != std::string::npos) {
      if (auto ln = parseLine(std::string_view(partial).substr(start, nl - start))) lines.push_back(std::move(*ln));
      start = nl + 1;
    }
    partial.erase(0, start);
  };
  std::vector<Line> lines;
  // Rotated files first, oldest first (max-file > 1).
  int maxFiles = limits ? limits->maxFiles : 1;
  bool gz = limits && limits->compress;
  auto files = rotatedLogFiles(path, maxFiles, gz);
  for (size_t i = 0; i + 1 < files.size(); i++) {
    if (auto text = gz ? readGzip(files[i]) : readFile(files[i])) {
      partial = std::move(*text);
      if (!partial.empty() && partial.back() != '\n') partial += '\n';
      parseAll(lines);
      partial.clear();
    }
  }
  FILE* f = fopen(path.c_str(), "re");
  auto drain = [&](std::vector<Line>& out) {
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) partial.append(buf, n);
    clearerr(f);
    parseAll(out);
  };
  auto readNew = [&](std::vector<Line>& out) {
    if (!f) f = fopen(path.c_str(), "re");
    if (!f) return;
    drain(out);
    // Rotated under us (the live file was renamed): finish the old one, go on with the new.
    struct stat cur, open;
    if (::stat(path.c_str(), &cur) == 0 && ::fstat(fileno(f), &open) == 0 && cur.st_ino != open.st_ino) {
      drain(out);
      fclose(f);
      f = fopen(path.c_str(), "re");
      partial.clear();
      if (f) drain(out);
    } else if (::fstat(fileno(f), &open) == 0 && open.st_size < ftell(f)) {
      // max-file 1: truncated in place
      fseek(f, 0, SEEK_SET);
      partial.clear();
      drain(out);
    }
  };
  ScopeExit closeFile([&] {
    if (f) fclose(f);
  });

  readNew(lines);
  size_t from = 0;
  if (opts.tail >= 0 && size_t(opts.tail) < lines.size()) from = lines.size() - size_t(opts.tail);
  for (size_t i = from; i < lines.size(); i++)
    if (!emitLine(lines[i])) return {};
  if (!opts.follow) return {};
  for (;;) {
    bool running;
    {
      std::lock_guard lk(mu_);
      running = !e->removed && (e->c.state.status == State::Running || e->c.state.status == State::Paused ||
                                e->c.state.status == State::Restarting);
    }
    lines.clear();
    readNew(lines);
    for (auto& ln : lines)
      if (!emitLine(ln)) return {};
    if (!running) return {};
    if (opts.until > 0 && nowNanos() > opts.until) return {};
    if (out.clientGone()) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Result<std::string> ServiceImpl::execCreate(const std::string& ref, const ExecConfig& config) {
  const json& body = config.body;
  if (!body.is_object()) return makeError(Code::InvalidArgument, "exec config cannot be empty");
  json cmd = body.value("Cmd", json(nullptr));
  if (!cmd.is_array() || cmd.empty()) return makeError(Code::InvalidArgument, "No exec command specified");
  std::unique_lock lk(mu_);
  TRY_ASSIGN(auto e, getLocked(ref));
  if (e->c.state.status == State::Paused) return errorf(Code::Conflict, "Container {} is paused, unpause the container before exec", e->c.id);
  if (e->c.state.status != State::Running) return errorf(Code::Conflict, "Container {} is not running", e->c.id);
  auto x = std::make_shared<Exec>();
  x->id = randomHexId();
  x->containerId = e->c.id;
  x->config = body;
  execs_[x->id] = x;
  e->c.execIds.push_back(x->id);
  std::string cmdline;
  for (auto& a : cmd) cmdline += (cmdline.empty() ? "" : " ") + a.get<std::string>();
  json attrs = eventAttrs(*e, {{"execID", x->id}});
  std::string cid = e->c.id;
  lk.unlock();
  emit_("container", "exec_create: " + cmdline, cid, attrs);
  return x->id;
}

void ServiceImpl::execReader(std::shared_ptr<Exec> x, RawStream* stream, bool tty) {
  int exitCode = 126;
  for (;;) {
    auto m = x->mon->recv();
    if (!m) break;
    if (m->type == MsgType::Stdout || m->type == MsgType::Stderr) {
      if (stream) {
        bool err = m->type == MsgType::Stderr;
        bool wantOut = x->config.value("AttachStdout", true), wantErr = x->config.value("AttachStderr", true);
        if ((err && !wantErr) || (!err && !wantOut)) continue;
        stream->write(tty ? m->payload : muxFrame(err ? 2 : 1, m->payload));
      }
    } else if (m->type == MsgType::Exit) {
      try {
        exitCode = json::parse(m->payload).value("ExitCode", 126);
      } catch (...) {
      }
      break;
    }
  }
  std::string cid;
  json dieAttrs;
  {
    std::lock_guard lk(mu_);
    if (auto ce = byId_.find(x->containerId); ce != byId_.end())
      dieAttrs = eventAttrs(*ce->second, {{"execID", x->id}, {"exitCode", std::to_string(exitCode)}});
    else
      dieAttrs = {{"execID", x->id}, {"exitCode", std::to_string(exitCode)}};
    x->exitCode = exitCode;
    x->hasExit = true;
    x->running = false;
    x->mon.reset();
    cid = x->containerId;
    cv_.notify_all();
  }
  emit_("container", "exec_die", cid, dieAttrs);
}

Result<> ServiceImpl::execStart(const std::string& execId, const ExecStartOptions& opts, RawStream* stream) {
  const bool detach = opts.detach;
  std::shared_ptr<Exec> x;
  std::shared_ptr<Entry> e;
  {
    std::lock_guard lk(mu_);
    auto it = execs_.find(execId);
    if (it == execs_.end()) return errorf(Code::NotFound, "No such exec instance: {}", execId);
    x = it->second;
    if (x->started) return errorf(Code::Conflict, "Error: Exec command {} has already run", execId);
    auto ce = byId_.find(x->containerId);
    if (ce == byId_.end() || ce->second->c.state.status != State::Running)
      return errorf(Code::Conflict, "Container {} is not running", x->containerId);
    e = ce->second;
    x->started = true;
    x->running = true;
  }
  const json& b = x->config;
  // The process gets a pty when the exec was created with Tty; the stream's
  // framing follows the start request (dockerd's postContainerExecStart).
  const bool ptyProcess = b.value("Tty", false);
  const bool tty = opts.tty;
  // A start failure: the exec records exitCode; a detached start answers
  // the error (with stage and errno when the monitor reported them), an
  // attached one writes its text into the stream like dockerd.
  auto fail = [&](int code, const std::string& msg, int stage = 0, int err = 0) -> Result<> {
    {
      std::lock_guard lk(mu_);
      x->running = false;
      x->hasExit = true;
      x->exitCode = code;
      cv_.notify_all();
    }
    if (detach || !stream) return std::unexpected(Error{Code::Internal, err, msg, stage});
    std::string text = msg + "\r\n";
    stream->write(tty ? text : muxFrame(1, text));
    stream->close();
    return {};
  };

  std::string userStr = b.value("User", "");
  if (userStr.empty()) userStr = e->c.config.value("User", "");
  std::string dir = dirOf(e->c.id);
  // The run's confinement and layers: read once, then shared by its execs.
  std::shared_ptr<const ExecBase> base;
  int64_t run;  // which run it is read for: startedAt changes at each start
  {
    std::lock_guard lk(mu_);
    base = e->execBase;
    run = e->c.state.startedAt;
  }
  if (!base) {
    auto fresh = std::make_shared<ExecBase>();
    if (auto dirs = images_.layerDirs(e->c.imageId)) fresh->lowerDirs = *dirs;
    json cspec;
    if (auto text = readFile(dir + "/config.json")) cspec = json::parse(*text, nullptr, false);
    if (cspec.is_object()) {
      fresh->spec = json::object();
      if (auto p = cspec.find("process"); p != cspec.end() && p->is_object()) {
        json& proc = fresh->spec["process"] = json::object();
        for (const char* k : {"capabilities", "noNewPrivileges", "rlimits"})
          if (auto v = p->find(k); v != p->end()) proc[k] = *v;
      }
      if (auto l = cspec.find("linux"); l != cspec.end() && l->is_object())
        if (auto sc = l->find("seccomp"); sc != l->end()) fresh->spec["linux"] = {{"seccomp", *sc}};
    }
    std::lock_guard lk(mu_);
    // Kept only while the run it was read for goes on (a start clears it).
    if (!e->execBase && e->mon && e->c.state.status == State::Running && e->c.state.startedAt == run)
      e->execBase = fresh;
    base = std::move(fresh);
  }
  const std::vector<std::string>& lower = base->lowerDirs;
  auto user = resolveUser(userStr, lower);
  if (!user) return fail(126, user.error().message);
  if (auto g = appendGroupAdd(*user, e->c.hostConfig, lower); !g) return fail(126, g.error().message);
  std::vector<std::string> env = e->c.config.value("Env", std::vector<std::string>{});
  if (b.contains("Env") && b["Env"].is_array())
    for (auto& v : b["Env"])
      if (v.is_string()) env.push_back(v.get<std::string>());
  std::string cwd = b.value("WorkingDir", "");
  if (cwd.empty()) cwd = e->c.config.value("WorkingDir", "");
  std::vector<std::string> argv = b["Cmd"].get<std::vector<std::string>>();
  int rows = opts.rows, cols = opts.cols;
  if (rows == 0 && cols == 0 && b.contains("ConsoleSize") && b["ConsoleSize"].is_array() &&
      b["ConsoleSize"].size() == 2) {
    rows = b["ConsoleSize"][0].get<int>();
    cols = b["ConsoleSize"][1].get<int>();
  }
  json proc = processSpec(argv, env, cwd, *user, ptyProcess, rows, cols, defaultCapabilities());
  inheritConfinement(proc, base->spec, b.value("Privileged", false));
  if (b.value("AttachStdin", false)) proc["berthStdin"] = true;
  bool inlineExec;
  pid_t targetPid;
  {
    std::lock_guard lk(mu_);
    inlineExec = e->monitorExec;
    targetPid = e->c.state.pid;
  }
  std::shared_ptr<MonitorConn> mon;
  std::string procPath;
  if (inlineExec) {
    // The container's monitor runs it (ExecStart, monitor/protocol.h): no
    // process spawned, no file written.
    auto conn = MonitorConn::connect(socketOf(e->c.id));
    if (!conn) return fail(126, fmt::format("container {} is not running", e->c.id));
    mon = std::move(*conn);
    if (auto r = mon->send(MsgType::ExecStart, proc.dump()); !r) return fail(126, r.error().message);
  } else {
    // A monitor of its own (a monitor started before ExecStart existed,
    // or an external runtime's).
    (void)mkdirAll(dir + "/execs", 0700);
    procPath = dir + "/execs/" + x->id + ".json";
    if (auto w = writeFileReplace(procPath, proc.dump()); !w) return fail(126, w.error().message);
    std::vector<std::string> args = {cfg_.monitorBin, "exec", "--pid", std::to_string(targetPid), "--process",
                                     procPath};
    auto spawned = spawnMonitor(args, dir + "/monitor.log");
    if (!spawned) return fail(126, spawned.error().message);
    mon = std::move(spawned->first);
  }
  auto first = mon->recv();
  if (!procPath.empty()) ::unlink(procPath.c_str());
  if (!first || first->type != MsgType::Started) {
    int stage = first ? payloadInt(first->payload) : int(runtime::Stage::Exec);
    int err = first ? payloadInt(first->payload, 4) : 0;
    std::string msg = first && first->payload.size() > 8 ? first->payload.substr(8) : "exec failed";
    int code = startFailureExitCode(err) == 127 ? 127 : 126;
    return fail(code, "OCI runtime exec failed: exec failed: unable to start container process: " + msg + ": unknown",
                stage, err);
  }
  std::string cmdline;
  for (auto& a : argv) cmdline += (cmdline.empty() ? "" : " ") + a;
  {
    std::lock_guard lk(mu_);
    x->pid = payloadInt(first->payload);
    x->mon = mon;
  }
  json startAttrs;
  {
    std::lock_guard lk(mu_);
    startAttrs = eventAttrs(*e, {{"execID", x->id}});
  }
  emit_("container", "exec_start: " + cmdline, e->c.id, startAttrs);
  if (detach || !stream) {
    std::thread([this, x] { execReader(x, nullptr, false); }).detach();
    return {};
  }
  // Client stdin -> process, on its own thread; output on this one.
  bool wantStdin = b.value("AttachStdin", false);
  // Server-side detach keys (DetachKeys of the exec, default ctrl-p,ctrl-q):
  // the client's connection ends, the process keeps running.
  std::optional<DetachDetector> detector;
  if (wantStdin) {
    std::string spec = b.value("DetachKeys", "");
    auto keys = parseDetachKeys(spec.empty() ? kDefaultDetachKeys : std::string_view(spec));
    if (!keys) keys = parseDetachKeys(kDefaultDetachKeys);
    detector.emplace(*keys);
  }
  std::string cid = e->c.id;
  std::thread in([this, stream, mon, wantStdin, &detector, cid, execId] {
    char buf[32768];
    for (;;) {
      ssize_t n = stream->read(buf, sizeof buf);
      if (n <= 0) {
        if (n == 0 && wantStdin) (void)mon->send(MsgType::StdinClose);
        return;
      }
      if (!wantStdin) continue;
      std::string fwd = detector->feed(std::string_view(buf, size_t(n)));
      if (!fwd.empty()) (void)mon->send(MsgType::Stdin, fwd);
      if (detector->detached()) {
        if (int fd = stream->readFd(); fd >= 0) ::shutdown(fd, SHUT_RDWR);
        emit_("container", "exec_detach", cid, {{"execID", execId}});
        return;
      }
    }
  });
  execReader(x, stream, tty);
  stream->close();
  in.join();
  return {};
}

Result<ExecDetails> ServiceImpl::execInspect(const std::string& execId) {
  std::lock_guard lk(mu_);
  auto it = execs_.find(execId);
  if (it == execs_.end()) return errorf(Code::NotFound, "No such exec instance: {}", execId);
  auto& x = *it->second;
  const json& b = x.config;
  std::vector<std::string> cmd = b.value("Cmd", std::vector<std::string>{});
  ExecDetails d;
  d.id = x.id;
  d.containerId = x.containerId;
  d.running = x.running;
  if (x.hasExit) d.exitCode = x.exitCode;
  d.pid = x.pid;
  d.tty = b.value("Tty", false);
  d.privileged = b.value("Privileged", false);
  d.openStdin = b.value("AttachStdin", false);
  d.openStdout = b.value("AttachStdout", false);
  d.openStderr = b.value("AttachStderr", false);
  if (!cmd.empty()) d.entrypoint = cmd[0];
  if (cmd.size() > 1) d.arguments.assign(cmd.begin() + 1, cmd.end());
  d.user = b.value("User", "");
  d.detachKeys = b.value("DetachKeys", "");
  return d;
}

Result<> ServiceImpl::execResize(const std::string& execId, int h, int w) {
  std::lock_guard lk(mu_);
  auto it = execs_.find(execId);
  if (it == execs_.end()) return errorf(Code::NotFound, "No such exec instance: {}", execId);
  if (!it->second->mon) return {};
  uint16_t dims[2] = {uint16_t(h), uint16_t(w)};
  return it->second->mon->send(MsgType::Resize, std::string_view(reinterpret_cast<const char*>(dims), sizeof dims));
}

}  // namespace berth::container
