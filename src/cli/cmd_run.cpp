// run, create, start, attach, exec: the commands that create containers or
// attach to their stdio (engine-api.md §3, §6.1).

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/registry_auth.h"
#include "cli/run_config.h"
#include "cli/stdio.h"
#include "common/trace.h"
#include "common/util.h"

extern char** environ;

namespace berth::cli {

namespace {

using json = nlohmann::json;

const char* kDefaultDetachKeys = "ctrl-p,ctrl-q";

// docker 28 prints run/create errors as "docker: <err>\n\nRun '<cmd> --help'..."
// and exits with exitCodeFor(e, Run): 125, or 126/127 for a start failure.
int runFailure(Context& ctx, const Error& e) {
  err(ctx, fmt::format("{}: {}\n\nRun '{} --help' for more information\n", ctx.prog, e.message, ctx.path));
  return exitCodeFor(e, ExitContext::Run);
}

Result<json> inspectContainer(Context& ctx, const std::string& name) {
  TRY_ASSIGN(HttpResponse r, ctx.client.callOk("GET", "/containers/" + name + "/json"));
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded()) return makeError(Code::Internal, "invalid JSON from daemon");
  return j;
}

void resizeTty(Context& ctx, const std::string& what, const std::string& id) {
  auto [rows, cols] = terminalSize(ctx.out);
  if (rows <= 0 || cols <= 0) return;
  (void)ctx.client.call("POST", fmt::format("/{}/{}/resize?h={}&w={}", what, id, rows, cols));
}

struct WaitResult {
  int status = 0;
  std::string error;
};

// Reads the body of a pending wait: {"Error":null,"StatusCode":N}.
Result<WaitResult> readWait(Connection& conn, const HttpResponse& head) {
  TRY_ASSIGN(std::string body, conn.readAllBody());
  if (head.status != 200) {
    HttpResponse r = head;
    r.body = body;
    return std::unexpected(Error{codeForStatus(head.status), 0,
                                 "Error response from daemon: " + daemonMessage(r, "POST", "wait")});
  }
  auto j = json::parse(body, nullptr, false);
  WaitResult w;
  if (j.is_object()) {
    w.status = j.value("StatusCode", 0);
    if (j.contains("Error") && j["Error"].is_object()) w.error = j["Error"].value("Message", "");
  }
  return w;
}

// Sets up the pump options shared by run/start/attach/exec.
PumpOptions pumpOptions(Context& ctx, bool tty, bool sendStdin, const std::vector<uint8_t>& keys,
                        bool sigProxy, const std::string& killTarget,
                        std::function<void()> onResize) {
  PumpOptions o;
  o.tty = tty;
  o.sendStdin = sendStdin;
  o.detachKeys = keys;
  o.in = ctx.in;
  o.out = ctx.out;
  o.err = ctx.err;
  if (sigProxy && !killTarget.empty())
    o.onSignal = [&ctx, killTarget](int sig) {
      (void)ctx.client.call("POST", "/containers/" + killTarget + "/kill?signal=" + signalName(sig));
    };
  o.onResize = std::move(onResize);
  return o;
}

// The detach keys the user asked for, as docker's CLI picks them:
// --detach-keys, else "detachKeys" of config.json, else "" (the default).
// This is what goes to the daemon (detachKeys / DetachKeys).
std::string detachKeysSpec(const FlagSet& f) {
  std::string spec = f.has("detach-keys") ? f.getString("detach-keys") : "";
  return spec.empty() ? configString("detachKeys") : spec;
}

Result<std::vector<uint8_t>> detachKeysFrom(const FlagSet& f) {
  // Like docker, an invalid --detach-keys is not a client error: the
  // default sequence is used locally and the daemon gets the user's value.
  std::string spec = detachKeysSpec(f);
  auto keys = parseDetachKeys(spec.empty() ? kDefaultDetachKeys : spec);
  return keys ? keys : parseDetachKeys(kDefaultDetachKeys);
}

// POST /containers/create, pulling on 404 like docker (honours --pull).
Result<std::string> createContainer(Context& ctx, const FlagSet& f, const CreateRequest& req,
                                    int* exitCode) {
  std::string pullPolicy = f.getString("pull");
  auto ref = normalizeRef(req.image);
  std::string display = ref ? familiarName(ref->repo) + (startsWith(ref->tag, "sha256:") ? "@" : ":") + ref->tag
                            : req.image;
  if (pullPolicy == "always") {
    auto p = pullImage(ctx, req.image, ctx.err, f.getBool("quiet"));
    if (!p) return std::unexpected(p.error());
  }
  std::string body = req.body.dump();
  auto r = ctx.client.callOk("POST", "/containers/create" + req.query(), body);
  if (!r && r.error().code == Code::NotFound && pullPolicy != "never" && pullPolicy != "always") {
    err(ctx, fmt::format("Unable to find image '{}' locally\n", display));
    auto p = pullImage(ctx, req.image, ctx.err, f.getBool("quiet"));
    if (!p) return std::unexpected(p.error());
    r = ctx.client.callOk("POST", "/containers/create" + req.query(), body);
  }
  if (!r) return std::unexpected(r.error());
  auto j = json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("Id")) return makeError(Code::Internal, "invalid create response");
  if (j.contains("Warnings") && j["Warnings"].is_array())
    for (auto& w : j["Warnings"])
      if (w.is_string()) err(ctx, "WARNING: " + w.get<std::string>() + "\n");
  (void)exitCode;
  return j["Id"].get<std::string>();
}

// With BERTH_TRACE set, `run` ends by printing the start timeline: its own
// spans (parsing, each round trip, the first output byte, the total) merged
// with berthd's for the container (GET /berth/trace/{id}: create, start,
// the monitor's and the init's phases, exit, removal, the wait answer).
// BERTH_TRACE=/path appends the spans as JSON lines to that file instead of
// printing the table on stderr. Nothing happens when tracing is off.
class TimelineAtExit {
 public:
  TimelineAtExit(Context& ctx, std::string id) : ctx_(ctx), id_(std::move(id)) {}
  ~TimelineAtExit() {
    if (!trace::on()) return;
    trace::record("", "cli total", trace::enabledAt(), trace::now());
    std::vector<trace::Span> spans = trace::take("");
    for (auto& s : spans) s.key = id_;
    std::string note;
    auto r = ctx_.client.call("GET", "/berth/trace/" + id_);
    if (r && r->status == 200) {
      auto theirs = trace::parseLines(r->body);
      if (theirs) spans.insert(spans.end(), theirs->begin(), theirs->end());
      else note = theirs.error().message;
    } else {
      note = r ? "berthd records no timeline (BERTH_TRACE unset in its environment)" : r.error().message;
    }
    spans = trace::merge(std::move(spans));
    const char* dest = std::getenv("BERTH_TRACE");
    if (dest && *dest == '/') {
      UniqueFd fd(::open(dest, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
      if (fd) writeFd(fd.get(), trace::toLines(spans));
      else err(ctx_, fmt::format("BERTH_TRACE: open {}: {}\n", dest, std::strerror(errno)));
    } else {
      err(ctx_, trace::format(spans));
    }
    if (!note.empty()) err(ctx_, "timeline: " + note + "\n");
  }

 private:
  Context& ctx_;
  std::string id_;
};

std::string attachQuery(bool in, bool out, bool errStream, const std::string& detachKeys) {
  Query q;  // Go's url.Values.Encode: sorted keys
  q.addIf(!detachKeys.empty(), "detachKeys", detachKeys);
  q.addIf(errStream, "stderr", "1");
  q.addIf(in, "stdin", "1");
  q.addIf(out, "stdout", "1");
  q.add("stream", "1");
  return q.str();
}

int runOrCreate(Context& ctx, const FlagSet& f, const std::vector<std::string>& args, bool isRun) {
  bool detach = isRun ? f.getBool("detach") : true;
  bool tty = f.getBool("tty");
  bool interactive = f.getBool("interactive");
  std::string pull = f.getString("pull");
  if (pull != "missing" && pull != "never" && pull != "always")
    return runFailure(ctx, Error{Code::InvalidArgument, 0,
                                 fmt::format("invalid pull option: '{}': must be one of \"always\", \"missing\" or \"never\"", pull)});
  if (isRun && !detach && tty && interactive && !isTerminal(ctx.in)) {
    err(ctx, "the input device is not a TTY\n");
    return kExitFailure;
  }

  CreateOptions co;
  // docker create attaches stdio in the config like run does (Attach*,
  // StdinOnce with -i), so a later `start -a -i` behaves like `run -i`.
  co.attachStdout = isRun ? !detach : true;
  if (tty) co.consoleSize = terminalSize(ctx.out);
  for (char** e = environ; e && *e; ++e) co.environ.emplace_back(*e);
  auto req = buildCreateRequest(f, args, co);
  if (!req) {
    if (startsWith(req.error().message, "invalid argument")) {  // flag value errors look like pflag's
      err(ctx, fmt::format("{}\n\nUsage:  {} [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun '{} --help' for more information\n",
                           req.error().message, ctx.path, ctx.path));
      return kExitRunFailure;
    }
    return runFailure(ctx, req.error());
  }
  for (const std::string& w : req->warnings) err(ctx, w + "\n");
  std::vector<uint8_t> keys;
  if (isRun) {
    auto k = detachKeysFrom(f);
    if (!k) return runFailure(ctx, k.error());
    keys = *k;
  }

  int code = 0;
  if (isRun && trace::on()) trace::record("", "cli parse", trace::enabledAt(), trace::now());
  auto id = createContainer(ctx, f, *req, &code);
  if (!id) {
    // docker create reports daemon errors plainly and exits 1; run adds the hint and 125.
    if (!isRun) return reportError(ctx, id.error());
    // docker's toStatusError: 127 / 126 for a start failure, else 125
    return runFailure(ctx, id.error());
  }
  if (!isRun) {
    out(ctx, *id + "\n");
    return 0;
  }
  TimelineAtExit timeline(ctx, *id);

  const json& body = req->body;
  bool attachIn = body["AttachStdin"], attachOut = body["AttachStdout"], attachErr = body["AttachStderr"];
  bool autoRemove = body["HostConfig"]["AutoRemove"];
  std::unique_ptr<Connection> attach;
  if (!detach && (attachIn || attachOut || attachErr)) {
    auto a = ctx.client.hijack(
        "POST", "/containers/" + *id + "/attach" +
                    attachQuery(attachIn, attachOut, attachErr, detachKeysSpec(f)));
    if (!a) return runFailure(ctx, a.error());
    attach = std::move(*a);
  }
  // The wait is opened before the start so its baseline precedes the
  // exit; `run -d` never reads it, so it opens none (one connection, and
  // one daemon thread, fewer per detached run).
  Result<std::pair<std::unique_ptr<Connection>, HttpResponse>> wait;
  if (!detach) {
    wait = ctx.client.stream("POST", "/containers/" + *id + "/wait?condition=" + (autoRemove ? "removed" : "next-exit"));
    if (!wait) return runFailure(ctx, wait.error());
  }

  auto started = ctx.client.callOk("POST", "/containers/" + *id + "/start");
  if (!started) {
    attach.reset();
    return runFailure(ctx, started.error());
  }
  if (detach) {
    out(ctx, *id + "\n");
    return 0;
  }

  RawTerminal raw;
  if (tty && attachIn && isTerminal(ctx.in)) raw.enable(ctx.in);
  std::function<void()> onResize;
  if (tty && isTerminal(ctx.out)) {
    resizeTty(ctx, "containers", *id);
    onResize = [&ctx, id = *id] { resizeTty(ctx, "containers", id); };
  }
  PumpEnd end = PumpEnd::StreamClosed;
  if (attach) {
    auto p = pumpSession(*attach, pumpOptions(ctx, tty, attachIn, keys, f.getBool("sig-proxy"), *id,
                                              onResize));
    if (!p) {
      raw.restore();
      return runFailure(ctx, p.error());
    }
    end = *p;
  }
  raw.restore();
  if (end == PumpEnd::Detached) return 0;
  auto w = readWait(*wait->first, wait->second);
  if (!w) return runFailure(ctx, w.error());
  if (!w->error.empty()) err(ctx, w->error + "\n");
  return w->status;
}

int cmdRun(Context& ctx, const FlagSet& f, const std::vector<std::string>& a) { return runOrCreate(ctx, f, a, true); }
int cmdCreate(Context& ctx, const FlagSet& f, const std::vector<std::string>& a) {
  return runOrCreate(ctx, f, a, false);
}

// Attaches to an existing container's stdio and returns its exit code.
// Used by `start -a` and `attach`.
int attachAndWait(Context& ctx, const std::string& name, const json& info, bool withStdin,
                  bool startIt, const FlagSet& f,
                  std::pair<std::unique_ptr<Connection>, HttpResponse>* preWait = nullptr) {
  bool tty = info["Config"].value("Tty", false);
  std::string id = info.value("Id", name);
  auto keys = detachKeysFrom(f);
  if (!keys) return reportError(ctx, keys.error());
  std::string dk = detachKeysSpec(f);
  std::unique_ptr<Connection> waitConn;
  HttpResponse waitHead;
  auto openWait = [&](const std::string& q) -> bool {
    auto w = ctx.client.stream("POST", "/containers/" + id + "/wait" + q);
    if (!w) {
      printError(ctx, w.error());
      return false;
    }
    waitConn = std::move(w->first);
    waitHead = std::move(w->second);
    return true;
  };
  if (preWait) {
    waitConn = std::move(preWait->first);
    waitHead = std::move(preWait->second);
  } else if (!startIt && !openWait("")) {
    return kExitFailure;
  }
  auto a = ctx.client.hijack("POST", "/containers/" + id + "/attach" +
                                         attachQuery(withStdin, true, true, dk));
  if (!a) return reportError(ctx, a.error());
  if (startIt) {
    if (!openWait("?condition=next-exit")) return kExitFailure;
    auto s = ctx.client.callOk("POST", "/containers/" + id + "/start");
    if (!s) return reportError(ctx, s.error());
  }
  RawTerminal raw;
  if (tty && withStdin && isTerminal(ctx.in)) raw.enable(ctx.in);
  std::function<void()> onResize;
  if (tty && isTerminal(ctx.out)) {
    if (!startIt) {
      auto [rows, cols] = terminalSize(ctx.out);
      (void)ctx.client.call("POST", fmt::format("/containers/{}/resize?h={}&w={}", id, rows + 1, cols + 1));
    }
    resizeTty(ctx, "containers", id);
    onResize = [&ctx, id] { resizeTty(ctx, "containers", id); };
  }
  bool sigProxy = f.has("sig-proxy") ? f.getBool("sig-proxy") : true;
  auto p = pumpSession(**a, pumpOptions(ctx, tty, withStdin, *keys, sigProxy, id, onResize));
  raw.restore();
  if (!p) return reportError(ctx, p.error());
  if (*p == PumpEnd::Detached) return 0;
  auto w = readWait(*waitConn, waitHead);
  if (!w) return reportError(ctx, w.error());
  return w->status;
}

int cmdStart(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  bool attach = f.getBool("attach"), interactive = f.getBool("interactive");
  if (attach || interactive) {
    if (args.size() > 1) {
      err(ctx, "Error: you cannot start and attach multiple containers at once\n");
      return kExitFailure;
    }
    auto info = inspectContainer(ctx, args[0]);
    if (!info) return reportError(ctx, info.error());
    bool withStdin = interactive && (*info)["Config"].value("OpenStdin", false);
    return attachAndWait(ctx, args[0], *info, withStdin, true, f);
  }
  std::vector<std::string> failed;
  for (const auto& name : args) {
    auto r = ctx.client.callOk("POST", "/containers/" + name + "/start");
    if (!r) {
      printError(ctx, r.error());
      failed.push_back(name);
      continue;
    }
    out(ctx, name + "\n");
  }
  if (failed.empty()) return 0;
  std::string list;
  for (size_t i = 0; i < failed.size(); ++i) list += (i ? ", " : "") + failed[i];
  err(ctx, fmt::format("Error: failed to start containers: {}\n", list));
  return kExitFailure;
}

int cmdAttach(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  // docker's order: wait (no condition) -> inspect -> attach.
  auto wait = ctx.client.stream("POST", "/containers/" + args[0] + "/wait");
  if (!wait) return reportError(ctx, wait.error());
  if (wait->second.status != 200) {
    auto b = wait->first->readAllBody();
    wait->second.body = b ? *b : "";
    err(ctx, "Error response from daemon: " + daemonMessage(wait->second, "POST", "wait") + "\n");
    return kExitFailure;
  }
  auto info = inspectContainer(ctx, args[0]);
  if (!info) return reportError(ctx, info.error());
  const json& st = (*info)["State"];
  if (!st.value("Running", false)) {
    err(ctx, "You cannot attach to a stopped container, start it first\n");
    return kExitFailure;
  }
  if (st.value("Paused", false)) {
    err(ctx, "You cannot attach to a paused container, unpause it first\n");
    return kExitFailure;
  }
  bool withStdin = !f.getBool("no-stdin") && (*info)["Config"].value("OpenStdin", false);
  return attachAndWait(ctx, args[0], *info, withStdin, false, f, &*wait);
}

int cmdExec(Context& ctx, const FlagSet& f, const std::vector<std::string>& args) {
  bool detach = f.getBool("detach"), tty = f.getBool("tty"), interactive = f.getBool("interactive");
  const std::string& name = args[0];
  // As the docker CLI, a missing container is reported before a missing
  // TTY; otherwise the exec create's own 404/409 says it (one round trip
  // fewer than docker's inspect first).
  if (tty && interactive && !detach && !isTerminal(ctx.in)) {
    auto info = inspectContainer(ctx, name);
    if (!info) return reportError(ctx, info.error());
    err(ctx, "the input device is not a TTY\n");
    return kExitFailure;
  }
  std::vector<std::string> env;
  for (auto& e : f.getList("env")) env.push_back(e);
  nlohmann::ordered_json body;
  body["User"] = f.getString("user");
  body["Privileged"] = f.getBool("privileged");
  body["Tty"] = tty;
  body["AttachStdin"] = interactive && !detach;
  body["AttachStderr"] = !detach;
  body["AttachStdout"] = !detach;
  body["Detach"] = detach;
  body["DetachKeys"] = detachKeysSpec(f);
  body["Env"] = env.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(env);
  body["WorkingDir"] = f.getString("workdir");
  body["Cmd"] = std::vector<std::string>(args.begin() + 1, args.end());
  auto created = ctx.client.callOk("POST", "/containers/" + name + "/exec", body.dump());
  if (!created) return reportError(ctx, created.error());
  auto cj = json::parse(created->body, nullptr, false);
  std::string execId = cj.is_object() ? cj.value("Id", "") : "";
  if (execId.empty()) {
    err(ctx, "invalid exec create response\n");
    return kExitFailure;
  }
  json start = {{"Detach", detach}, {"Tty", tty}};
  if (detach) {
    auto r = ctx.client.callOk("POST", "/exec/" + execId + "/start", start.dump());
    if (!r) return reportError(ctx, r.error());
    return 0;
  }
  auto keys = detachKeysFrom(f);
  if (!keys) return reportError(ctx, keys.error());
  auto conn = ctx.client.hijack("POST", "/exec/" + execId + "/start", start.dump(), "application/json");
  if (!conn) return reportError(ctx, conn.error());
  RawTerminal raw;
  if (tty && interactive && isTerminal(ctx.in)) raw.enable(ctx.in);
  std::function<void()> onResize;
  if (tty && isTerminal(ctx.out)) {
    resizeTty(ctx, "exec", execId);
    onResize = [&ctx, execId] { resizeTty(ctx, "exec", execId); };
  }
  auto p = pumpSession(**conn, pumpOptions(ctx, tty, interactive, *keys, false, "", onResize));
  raw.restore();
  if (!p) return reportError(ctx, p.error());
  if (*p == PumpEnd::Detached) return 0;
  auto r = ctx.client.callOk("GET", "/exec/" + execId + "/json");
  if (!r) return reportError(ctx, r.error());
  // ExitCode is null while the process still runs (a detach): 0, as docker.
  auto ej = json::parse(r->body, nullptr, false);
  return ej.is_object() && ej.contains("ExitCode") && ej["ExitCode"].is_number_integer() ? ej["ExitCode"].get<int>() : 0;
}

void flagsRun(FlagSet& f) { addContainerCreateFlags(f, true); }
void flagsCreate(FlagSet& f) { addContainerCreateFlags(f, false); }
void flagsStart(FlagSet& f) {
  f.addBool("attach", 'a', "Attach STDOUT/STDERR and forward signals");
  f.addString("checkpoint", 0, "Restore from this checkpoint");
  f.addString("checkpoint-dir", 0, "Use a custom checkpoint storage directory");
  f.addString("detach-keys", 0, "Override the key sequence for detaching a container");
  f.addBool("interactive", 'i', "Attach container's STDIN");
}
void flagsAttach(FlagSet& f) {
  f.addString("detach-keys", 0, "Override the key sequence for detaching a container");
  f.addBool("no-stdin", 0, "Do not attach STDIN");
  f.addBool("sig-proxy", 0, "Proxy all received signals to the process", true);
}
void flagsExec(FlagSet& f) {
  f.addBool("detach", 'd', "Detached mode: run command in the background");
  f.addString("detach-keys", 0, "Override the key sequence for detaching a container");
  f.addList("env", 'e', "Set environment variables");
  f.addList("env-file", 0, "Read in a file of environment variables");
  f.addBool("interactive", 'i', "Keep STDIN open even if not attached");
  f.addBool("privileged", 0, "Give extended privileges to the command");
  f.addBool("tty", 't', "Allocate a pseudo-TTY");
  f.addString("user", 'u', "Username or UID (format: \"<name|uid>[:<group|gid>]\")");
  f.addString("workdir", 'w', "Working directory inside the container");
  f.setInterspersed(false);
}

}  // namespace

std::vector<Command> runCommands() {
  std::vector<Command> v;
  v.push_back({"container", {"run"}, {"run"}, "[OPTIONS] IMAGE [COMMAND] [ARG...]",
               "Create and run a new container from an image", ArgRule::Min, 1, 0, false, flagsRun, cmdRun});
  v.push_back({"container", {"create"}, {"create"}, "[OPTIONS] IMAGE [COMMAND] [ARG...]",
               "Create a new container", ArgRule::Min, 1, 0, false, flagsCreate, cmdCreate});
  v.push_back({"container", {"start"}, {"start"}, "[OPTIONS] CONTAINER [CONTAINER...]",
               "Start one or more stopped containers", ArgRule::Min, 1, 0, true, flagsStart, cmdStart});
  v.push_back({"container", {"attach"}, {"attach"}, "[OPTIONS] CONTAINER",
               "Attach local standard input, output, and error streams to a running container",
               ArgRule::Exact, 1, 0, true, flagsAttach, cmdAttach});
  v.push_back({"container", {"exec"}, {"exec"}, "[OPTIONS] CONTAINER COMMAND [ARG...]",
               "Execute a command in a running container", ArgRule::Min, 2, 0, false, flagsExec, cmdExec});
  return v;
}

}  // namespace berth::cli
