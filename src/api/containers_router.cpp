#include "api/containers_router.h"

#include "api/container_decode.h"
#include "api/containers_json.h"
#include "common/detach_keys.h"
#include "common/number.h"
#include "common/trace.h"
#include "common/util.h"

namespace berth::api {

Result<int64_t> parseUnixTimestamp(const std::string& s) {
  if (s.empty()) return int64_t(0);
  auto dot = s.find('.');
  std::string_view whole = std::string_view(s).substr(0, dot);
  auto sec = parseNumber<int64_t>(whole);
  if (!sec) return errorf(Code::InvalidArgument, "invalid timestamp: {}", s);
  int64_t ns = 0;
  if (dot != std::string::npos) {
    std::string frac = s.substr(dot + 1);
    if (frac.size() > 9) frac = frac.substr(0, 9);
    while (frac.size() < 9) frac += '0';
    auto f = parseNumber<int64_t>(frac);
    if (!f || *f < 0) return errorf(Code::InvalidArgument, "invalid timestamp: {}", s);
    ns = *f;
  }
  return *sec * 1000000000 + ns;
}

Result<int> parseAtoi(const std::string& s) {
  if (auto v = parseNumber<int>(s)) return *v;
  std::string_view digits = s;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) digits.remove_prefix(1);
  bool numeric = !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos;
  return errorf(Code::InvalidArgument, "strconv.Atoi: parsing \"{}\": {}", s,
                numeric ? "value out of range" : "invalid syntax");
}

namespace {

// An optional integer query parameter: nullopt when absent or empty.
Result<std::optional<int>> optInt(const Request& req, const std::string& key) {
  if (!req.has(key) || req.q(key).empty()) return std::optional<int>();
  TRY_ASSIGN(int v, parseAtoi(req.q(key)));
  return std::optional<int>(v);
}

void reply(ResponseWriter& res, const Result<>& r, int okStatus = 204) {
  if (!r) res.error(r.error());
  else res.empty(okStatus);
}

}  // namespace

void registerContainerRoutes(Router& r, const ContainerRoles& roles, std::function<nlohmann::json()> buildCache) {
  const std::string id = "/containers/([^/]+)";
  container::Lifecycle& life = roles.lifecycle;
  container::IO& io = roles.io;
  container::Filesystem& fs = roles.filesystem;
  container::Queries& queries = roles.queries;

  r.add("POST", "/containers/create", [&life](Request& req, ResponseWriter& res) {
    auto body = req.decodeBody(decodeCreateBody);
    if (!body) return res.error(body.error());
    auto c = life.create({req.q("name"), std::move(*body), {}, {}, /*warm=*/true});
    if (!c) return res.error(c.error());
    if (trace::on()) req.traceKey = c->id;
    res.json(201, {{"Id", c->id}, {"Warnings", c->warnings}});
  });

  r.add("GET", "/containers/json", [&queries](Request& req, ResponseWriter& res) {
    auto f = parseFilters(req.q("filters"));
    if (!f) return res.error(f.error());
    auto limit = optInt(req, "limit");
    if (!limit) return res.error(limit.error());
    container::ListOptions o;
    o.limit = limit->value_or(-1);
    o.all = req.qBool("all") || o.limit > 0;
    o.size = req.qBool("size");
    o.filters = std::move(*f);
    auto l = queries.list(o);
    if (!l) return res.error(l.error());
    int64_t now = nowNanos();
    nlohmann::json out = nlohmann::json::array();
    for (auto& s : *l) out.push_back(containerSummaryJson(s, now));
    res.json(200, out);
  });

  r.add("POST", "/containers/prune", [&life](Request& req, ResponseWriter& res) {
    auto f = parseFilters(req.q("filters"));
    if (!f) return res.error(f.error());
    auto p = life.prune(*f);
    if (!p) return res.error(p.error());
    res.json(200, containerPruneJson(*p));
  });

  r.add("GET", id + "/json", [&queries](Request& req, ResponseWriter& res) {
    auto d = queries.inspect(req.params[0], req.qBool("size"));
    if (!d) return res.error(d.error());
    res.json(200, containerInspectJson(*d));
  });

  r.add("POST", id + "/start", [&life](Request& req, ResponseWriter& res) { reply(res, life.start(req.params[0])); });
  r.add("POST", id + "/stop", [&life](Request& req, ResponseWriter& res) {
    auto t = optInt(req, "t");
    if (!t) return res.error(t.error());
    reply(res, life.stop(req.params[0], *t));
  });
  r.add("POST", id + "/restart", [&life](Request& req, ResponseWriter& res) {
    auto t = optInt(req, "t");
    if (!t) return res.error(t.error());
    reply(res, life.restart(req.params[0], *t));
  });
  r.add("POST", id + "/kill", [&life](Request& req, ResponseWriter& res) {
    reply(res, life.kill(req.params[0], req.q("signal", "KILL")));
  });
  r.add("POST", id + "/rename", [&life](Request& req, ResponseWriter& res) {
    reply(res, life.rename(req.params[0], req.q("name")));
  });
  r.add("POST", id + "/resize", [&io](Request& req, ResponseWriter& res) {
    auto h = parseAtoi(req.q("h"));
    if (!h) return res.error(h.error());
    auto w = parseAtoi(req.q("w"));
    if (!w) return res.error(w.error());
    reply(res, io.resize(req.params[0], *h, *w), 200);
  });
  container::Networking* networking = roles.networking;
  r.add("DELETE", id, [&life, networking](Request& req, ResponseWriter& res) {
    if (req.qBool("link") && networking) return reply(res, networking->removeLink(req.params[0]));
    reply(res, life.remove(req.params[0], req.qBool("force"), req.qBool("v")));
  });
  // A link's name is "/parent/alias": `docker rm --link /app/db` sends DELETE /containers//app/db?link=1.
  r.add("DELETE", "/containers/(.+)", [networking](Request& req, ResponseWriter& res) {
    if (!req.qBool("link") || !networking)
      return res.error(Error{Code::NotFound, 0, "No such container: " + req.params[0]});
    reply(res, networking->removeLink(req.params[0]));
  });

  r.add("POST", id + "/wait", [&life, &queries](Request& req, ResponseWriter& res) {
    auto cid = queries.resolveId(req.params[0]);
    if (!cid) return res.error(cid.error());
    if (trace::on()) req.traceKey = *cid;
    std::string cond = req.q("condition");
    if (!cond.empty() && cond != "not-running" && cond != "next-exit" && cond != "removed")
      return res.error(Error{Code::InvalidArgument, 0, "invalid condition: \"" + cond + "\""});
    auto base = life.waitBaseline(*cid);
    if (!base) return res.error(base.error());
    auto out = res.stream(200, "application/json");
    // The answer, written by whichever thread has it first: the exit path
    // (answer, so no thread has to wake for it) or this one after wait().
    bool answered = false;
    auto answer = [&](int code) {
      // The start timeline's "wait answer": recorded before the answer goes
      // out, so a client that asks for its spans right after reading it finds it.
      if (trace::on()) {
        int64_t t = trace::now();
        trace::record(*cid, "wait answer", t, t);
      }
      out->writeJsonLine({{"Error", nullptr}, {"StatusCode", code}});
      answered = true;
    };
    auto code = life.wait(*cid, cond, *base, [&] { return out->clientGone(); }, answer);
    if (!code) {
      if (code.error().code == Code::Cancelled) return;
      out->writeJsonLine({{"Error", {{"Message", code.error().message}}}, {"StatusCode", -1}});
      return;
    }
    if (!answered) answer(*code);
  });

  // berth's own: the start timeline of a container (common/trace.h), taken
  // (a second request gets none). 404 while berthd records no timeline.
  r.add("GET", "/berth/trace/{id}", [](Request& req, ResponseWriter& res) {
    if (!trace::on())
      return res.error(Error{Code::NotFound, 0, "berthd records no start timeline (start it with BERTH_TRACE=1)"});
    res.text(200, trace::toLines(trace::take(req.params[0])), "application/x-ndjson");
  });

  r.add("POST", id + "/attach", [&io, &queries](Request& req, ResponseWriter& res) {
    auto cid = queries.resolveId(req.params[0]);
    if (!cid) return res.error(cid.error());
    if (trace::on()) req.traceKey = *cid;
    container::AttachOptions o;
    o.stdinWanted = req.qBool("stdin");
    o.stdoutWanted = req.qBool("stdout");
    o.stderrWanted = req.qBool("stderr");
    o.logs = req.qBool("logs");
    o.detachKeys = req.q("detachKeys");
    if (!o.detachKeys.empty() && !parseDetachKeys(o.detachKeys))  // dockerd checks before the hijack
      return res.error(errorf(Code::InvalidArgument, "Invalid detach keys ({}) provided", o.detachKeys).error());
    o.stream = req.qBool("stream");
    auto tty = io.isTty(*cid);
    if (!tty) return res.error(tty.error());
    // The connection is hijacked at the stream's first use, so an error the
    // service finds before (paused, restarting) is an ordinary response.
    struct LazyRaw : RawStream {
      ResponseWriter& res;
      const char* type;
      mutable std::unique_ptr<RawStream> raw;
      LazyRaw(ResponseWriter& r, const char* t) : res(r), type(t) {}
      RawStream& get() const {
        if (!raw) raw = res.hijack(type);
        return *raw;
      }
      ssize_t read(char* buf, size_t n) override { return get().read(buf, n); }
      bool write(std::string_view data) override { return get().write(data); }
      void close() override { get().close(); }
      int readFd() const override { return get().readFd(); }
    } lazy(res, *tty || req.versionBelow(142) ? kRawStreamType : kMultiplexedStreamType);
    auto r = io.attach(*cid, o, lazy);
    if (!r && !lazy.raw) return res.error(r.error());
    if (r && !lazy.raw)  // nothing was written: still answer the request
      if (auto raw = res.hijack(lazy.type)) raw->close();
  });

  r.add("GET", id + "/logs", [&io, &queries](Request& req, ResponseWriter& res) {
    auto cid = queries.resolveId(req.params[0]);
    if (!cid) return res.error(cid.error());
    container::LogsOptions o;
    o.stdoutWanted = req.qBool("stdout");
    o.stderrWanted = req.qBool("stderr");
    if (!o.stdoutWanted && !o.stderrWanted)
      return res.error(Error{Code::InvalidArgument, 0, "Bad parameters: you must choose at least one stream"});
    o.follow = req.qBool("follow");
    o.timestamps = req.qBool("timestamps");
    auto since = parseUnixTimestamp(req.q("since"));
    auto until = parseUnixTimestamp(req.q("until"));
    if (!since) return res.error(since.error());
    if (!until) return res.error(until.error());
    o.since = *since;
    o.until = *until;
    std::string tail = req.q("tail", "all");
    if (tail != "all" && !tail.empty()) {
      auto n = parseAtoi(tail);
      if (!n) return res.error(n.error().wrap(fmt::format("invalid value for \"tail\" \"{}\"", tail)));
      o.tail = *n;
    }
    // The response starts with the first bytes: an error before any (the
    // none driver's "does not support reading") is answered as an error.
    auto tty = io.isTty(*cid);
    if (!tty) return res.error(tty.error());
    struct LazyStream : StreamWriter {
      ResponseWriter& res;
      const char* type;
      std::unique_ptr<StreamWriter> out;
      LazyStream(ResponseWriter& r, const char* t) : res(r), type(t) {}
      StreamWriter& get() {
        if (!out) out = res.stream(200, type);
        return *out;
      }
      bool write(std::string_view data) override { return get().write(data); }
      bool clientGone() override { return get().clientGone(); }
    } lazy(res, *tty || req.versionBelow(142) ? kRawStreamType : kMultiplexedStreamType);
    auto r = io.logs(*cid, o, lazy);
    if (!r && !lazy.out) return res.error(r.error());
    if (!lazy.out) lazy.get();
  });

  r.add("GET", id + "/stats", [&queries](Request& req, ResponseWriter& res) {
    auto cid = queries.resolveId(req.params[0]);
    if (!cid) return res.error(cid.error());
    bool stream = !req.has("stream") || req.qBool("stream");
    bool oneShot = req.qBool("one-shot");
    if (oneShot && stream)
      return res.error(Error{Code::InvalidArgument, 0, "cannot have stream=true and one-shot=true"});
    auto out = res.stream(200, "application/json");
    (void)queries.stats(*cid, stream, oneShot, *out);
  });
  r.add("GET", id + "/top", [&queries](Request& req, ResponseWriter& res) {
    auto t = queries.top(req.params[0], req.q("ps_args"));
    if (!t) return res.error(t.error());
    res.json(200, containerTopJson(*t));
  });
  r.add("POST", id + "/pause", [&queries](Request& req, ResponseWriter& res) { reply(res, queries.pause(req.params[0])); });
  r.add("POST", id + "/unpause", [&queries](Request& req, ResponseWriter& res) {
    reply(res, queries.unpause(req.params[0]));
  });
  r.add("POST", id + "/update", [&queries](Request& req, ResponseWriter& res) {
    auto body = req.decodeBody(decodeUpdateBody);
    if (!body) return res.error(body.error());
    auto u = queries.update(req.params[0], {std::move(*body)});
    if (!u) return res.error(u.error());
    res.json(200, containerUpdateJson(*u));
  });

  r.add("GET", id + "/changes", [&fs](Request& req, ResponseWriter& res) {
    auto ch = fs.changes(req.params[0]);
    if (!ch) return res.error(ch.error());
    res.json(200, containerChangesJson(*ch));
  });

  r.add("GET", id + "/export", [&fs](Request& req, ResponseWriter& res) {
    std::unique_ptr<StreamWriter> out;
    auto r = fs.exportRootfs(req.params[0], [&] {
      out = res.stream(200, "application/octet-stream");
      return out.get();
    });
    if (!r && !res.started()) res.error(r.error());
  });

  // docker cp. HEAD is registered before GET (a HEAD falls back to GET).
  r.add("HEAD", id + "/archive", [&fs](Request& req, ResponseWriter& res) {
    if (req.q("path").empty()) return res.error(Error{Code::InvalidArgument, 0, "bad parameter: path cannot be empty"});
    auto st = fs.archiveStat(req.params[0], req.q("path"));
    if (!st) return res.error(st.error());
    res.setHeader("X-Docker-Container-Path-Stat", container::base64Encode(st->toJson().dump()));
    res.empty(200);
  });
  r.add("GET", id + "/archive", [&fs](Request& req, ResponseWriter& res) {
    if (req.q("path").empty()) return res.error(Error{Code::InvalidArgument, 0, "bad parameter: path cannot be empty"});
    std::unique_ptr<StreamWriter> out;
    auto r = fs.archiveGet(req.params[0], req.q("path"), [&](const container::PathStat& st) {
      res.setHeader("X-Docker-Container-Path-Stat", container::base64Encode(st.toJson().dump()));
      out = res.stream(200, "application/x-tar");
      return out.get();
    });
    if (!r && !res.started()) res.error(r.error());
  });
  r.add("PUT", id + "/archive", [&fs](Request& req, ResponseWriter& res) {
    if (req.q("path").empty()) return res.error(Error{Code::InvalidArgument, 0, "bad parameter: path cannot be empty"});
    container::ExtractOptions o;
    o.noOverwriteDirNonDir = req.qBool("noOverwriteDirNonDir");
    o.copyUIDGID = req.qBool("copyUIDGID");
    BodyReader* body = req.body;
    reply(res, fs.archivePut(req.params[0], req.q("path"), o, [body](char* b, size_t n) { return body->read(b, n); }),
          200);
  });

  r.add("POST", "/commit", [&fs](Request& req, ResponseWriter& res) {
    container::CommitOptions o;
    o.container = req.q("container");
    o.repo = req.q("repo");
    o.tag = req.q("tag");
    o.comment = req.q("comment");
    o.author = req.q("author");
    o.changes = req.qAll("changes");
    o.pause = req.qBool("pause", true);
    auto body = req.decodeBody(decodeCommitConfig);
    if (!body) return res.error(body.error());
    o.config = *body;
    auto img = fs.commit(o);
    if (!img) return res.error(img.error());
    res.json(201, {{"Id", *img}});
  });

  // system df lives here: the container service sees both containers and images.
  // From API 1.42 `type` (repeatable: container, image, volume, build-cache)
  // selects what is reported; the others are null, LayersSize 0 without
  // images, as dockerd answers.
  r.add("GET", "/system/df", [&queries, buildCache](Request& req, ResponseWriter& res) {
    bool containers = true, images = true, volumes = true, cache = true;
    if (!req.versionBelow(142) && req.has("type")) {
      containers = images = volumes = cache = false;
      for (auto& t : req.qAll("type")) {
        if (t == "container") containers = true;
        else if (t == "image") images = true;
        else if (t == "volume") volumes = true;
        else if (t == "build-cache") cache = true;
        else return res.error(errorf(Code::InvalidArgument, "unknown object type: {}", t).error());
      }
    }
    auto df = queries.diskUsage();
    if (!df) return res.error(df.error());
    json out = diskUsageJson(*df, nowNanos());
    if (!req.versionBelow(144))  // VirtualSize is gone from API 1.44 on
      for (auto& img : out["Images"]) img.erase("VirtualSize");
    if (buildCache) out["BuildCache"] = buildCache();
    if (!containers) out["Containers"] = nullptr;
    if (!images) {
      out["Images"] = nullptr;
      out["LayersSize"] = 0;
    }
    if (!volumes) out["Volumes"] = nullptr;
    if (!cache) out["BuildCache"] = nullptr;
    res.json(200, out);
  });

  r.add("POST", id + "/exec", [&io](Request& req, ResponseWriter& res) {
    auto body = req.decodeBody(decodeExecCreateBody);
    if (!body) return res.error(body.error());
    // dockerd answers a plain error (500) for keys it cannot parse
    if (std::string keys = body->value("DetachKeys", ""); !keys.empty() && !parseDetachKeys(keys))
      return res.error(errorf(Code::Internal, "Invalid escape keys ({}) provided", keys).error());
    auto x = io.execCreate(req.params[0], {std::move(*body)});
    if (!x) return res.error(x.error());
    res.json(201, {{"Id", *x}});
  });

  r.add("POST", "/exec/([^/]+)/start", [&io](Request& req, ResponseWriter& res) {
    auto body = req.decodeBody(decodeExecStartBody);
    if (!body) return res.error(body.error());
    container::ExecStartOptions opts{body->detach, body->tty, body->rows, body->cols};
    auto info = io.execInspect(req.params[0]);
    if (!info) return res.error(info.error());
    if (opts.detach) return reply(res, io.execStart(req.params[0], opts, nullptr), 200);
    auto raw = res.hijack(body->tty || req.versionBelow(142) ? kRawStreamType : kMultiplexedStreamType);
    (void)io.execStart(req.params[0], opts, raw.get());
  });
  r.add("POST", "/exec/([^/]+)/resize", [&io](Request& req, ResponseWriter& res) {
    auto h = parseAtoi(req.q("h"));
    if (!h) return res.error(h.error());
    auto w = parseAtoi(req.q("w"));
    if (!w) return res.error(w.error());
    reply(res, io.execResize(req.params[0], *h, *w), 200);
  });
  r.add("GET", "/exec/([^/]+)/json", [&io](Request& req, ResponseWriter& res) {
    auto d = io.execInspect(req.params[0]);
    if (!d) return res.error(d.error());
    res.json(200, execInspectJson(*d));
  });
}

}  // namespace berth::api
