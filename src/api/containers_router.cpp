#include "api/containers_router.h"

#include "api/container_decode.h"
#include "common/util.h"

namespace berth::api {

using container::Service;

Result<int64_t> parseUnixTimestamp(const std::string& s) {
  if (s.empty()) return int64_t(0);
  auto dot = s.find('.');
  try {
    size_t used = 0;
    int64_t sec = std::stoll(s.substr(0, dot), &used);
    if (used != s.substr(0, dot).size()) throw std::invalid_argument(s);
    int64_t ns = 0;
    if (dot != std::string::npos) {
      std::string frac = s.substr(dot + 1);
      if (frac.size() > 9) frac = frac.substr(0, 9);
      while (frac.size() < 9) frac += '0';
      ns = std::stoll(frac);
    }
    return sec * 1000000000 + ns;
  } catch (...) {
    return errorf(Code::InvalidArgument, "invalid timestamp: {}", s);
  }
}

namespace {

std::optional<int> optInt(const Request& req, const std::string& key) {
  if (!req.has(key) || req.q(key).empty()) return std::nullopt;
  try {
    return std::stoi(req.q(key));
  } catch (...) {
    return std::nullopt;
  }
}

void reply(ResponseWriter& res, const Result<>& r, int okStatus = 204) {
  if (!r) res.error(r.error());
  else res.empty(okStatus);
}

}  // namespace

void registerContainerRoutes(Router& r, Service& svc) {
  const std::string id = "/containers/([^/]+)";

  r.add("POST", "/containers/create", [&svc](Request& req, ResponseWriter& res) {
    auto body = req.decodeBody(decodeCreateBody);
    if (!body) return res.error(body.error());
    auto c = svc.create(req.q("name"), *body);
    if (!c) return res.error(c.error());
    res.json(201, {{"Id", c->id}, {"Warnings", c->warnings}});
  });

  r.add("GET", "/containers/json", [&svc](Request& req, ResponseWriter& res) {
    auto f = parseFilters(req.q("filters"));
    if (!f) return res.error(f.error());
    int limit = optInt(req, "limit").value_or(-1);
    bool all = req.qBool("all") || limit > 0;
    auto l = svc.list(all, limit, req.qBool("size"), *f);
    if (!l) return res.error(l.error());
    res.json(200, *l);
  });

  r.add("POST", "/containers/prune", [&svc](Request& req, ResponseWriter& res) {
    auto f = parseFilters(req.q("filters"));
    if (!f) return res.error(f.error());
    auto p = svc.prune(*f);
    if (!p) return res.error(p.error());
    res.json(200, *p);
  });

  r.add("GET", id + "/json", [&svc](Request& req, ResponseWriter& res) {
    auto j = svc.inspect(req.params[0], req.qBool("size"));
    if (!j) return res.error(j.error());
    res.json(200, *j);
  });

  r.add("POST", id + "/start", [&svc](Request& req, ResponseWriter& res) { reply(res, svc.start(req.params[0])); });
  r.add("POST", id + "/stop", [&svc](Request& req, ResponseWriter& res) {
    reply(res, svc.stop(req.params[0], optInt(req, "t")));
  });
  r.add("POST", id + "/restart", [&svc](Request& req, ResponseWriter& res) {
    reply(res, svc.restart(req.params[0], optInt(req, "t")));
  });
  r.add("POST", id + "/kill", [&svc](Request& req, ResponseWriter& res) {
    reply(res, svc.kill(req.params[0], req.q("signal", "KILL")));
  });
  r.add("POST", id + "/rename", [&svc](Request& req, ResponseWriter& res) {
    reply(res, svc.rename(req.params[0], req.q("name")));
  });
  r.add("POST", id + "/resize", [&svc](Request& req, ResponseWriter& res) {
    auto h = optInt(req, "h"), w = optInt(req, "w");
    if (!h || !w) return res.error(Error{Code::InvalidArgument, 0, "invalid resize parameters"});
    reply(res, svc.resize(req.params[0], *h, *w), 200);
  });
  r.add("DELETE", id, [&svc](Request& req, ResponseWriter& res) {
    reply(res, svc.remove(req.params[0], req.qBool("force"), req.qBool("v")));
  });

  r.add("POST", id + "/wait", [&svc](Request& req, ResponseWriter& res) {
    auto cid = svc.resolveId(req.params[0]);
    if (!cid) return res.error(cid.error());
    std::string cond = req.q("condition");
    if (!cond.empty() && cond != "not-running" && cond != "next-exit" && cond != "removed")
      return res.error(Error{Code::InvalidArgument, 0, "invalid condition: \"" + cond + "\""});
    auto base = svc.waitBaseline(*cid);
    if (!base) return res.error(base.error());
    auto out = res.stream(200, "application/json");
    auto code = svc.wait(*cid, cond, *base, [&] { return out->clientGone(); });
    if (!code) {
      if (code.error().code == Code::Cancelled) return;
      out->writeJsonLine({{"Error", {{"Message", code.error().message}}}, {"StatusCode", -1}});
      return;
    }
    out->writeJsonLine({{"Error", nullptr}, {"StatusCode", *code}});
  });

  r.add("POST", id + "/attach", [&svc](Request& req, ResponseWriter& res) {
    auto cid = svc.resolveId(req.params[0]);
    if (!cid) return res.error(cid.error());
    container::AttachOptions o;
    o.stdinWanted = req.qBool("stdin");
    o.stdoutWanted = req.qBool("stdout");
    o.stderrWanted = req.qBool("stderr");
    o.logs = req.qBool("logs");
    o.detachKeys = req.q("detachKeys");
    auto raw = res.hijack();
    (void)svc.attach(*cid, o, *raw);
  });

  r.add("GET", id + "/logs", [&svc](Request& req, ResponseWriter& res) {
    auto cid = svc.resolveId(req.params[0]);
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
      try {
        o.tail = std::stoll(tail);
      } catch (...) {
        o.tail = -1;
      }
    }
    auto out = res.stream(200, "");
    (void)svc.logs(*cid, o, *out);
  });

  r.add("GET", id + "/stats", [&svc](Request& req, ResponseWriter& res) {
    auto cid = svc.resolveId(req.params[0]);
    if (!cid) return res.error(cid.error());
    bool stream = !req.has("stream") || req.qBool("stream");
    bool oneShot = req.qBool("one-shot");
    if (oneShot && stream)
      return res.error(Error{Code::InvalidArgument, 0, "cannot have stream=true and one-shot=true"});
    auto out = res.stream(200, "application/json");
    (void)svc.stats(*cid, stream, oneShot, *out);
  });
  r.add("GET", id + "/top", [&svc](Request& req, ResponseWriter& res) {
    auto t = svc.top(req.params[0], req.q("ps_args"));
    if (!t) return res.error(t.error());
    res.json(200, *t);
  });
  r.add("POST", id + "/pause", [&svc](Request& req, ResponseWriter& res) { reply(res, svc.pause(req.params[0])); });
  r.add("POST", id + "/unpause", [&svc](Request& req, ResponseWriter& res) { reply(res, svc.unpause(req.params[0])); });
  r.add("POST", id + "/update", [&svc](Request& req, ResponseWriter& res) {
    auto body = req.decodeBody(decodeUpdateBody);
    if (!body) return res.error(body.error());
    auto u = svc.update(req.params[0], *body);
    if (!u) return res.error(u.error());
    res.json(200, *u);
  });

  r.add("GET", id + "/changes", [&svc](Request& req, ResponseWriter& res) {
    auto ch = svc.changes(req.params[0]);
    if (!ch) return res.error(ch.error());
    nlohmann::json out = nlohmann::json::array();
    for (auto& c : *ch) out.push_back({{"Path", c.path}, {"Kind", int(c.kind)}});
    res.json(200, out);
  });

  r.add("GET", id + "/export", [&svc](Request& req, ResponseWriter& res) {
    std::unique_ptr<StreamWriter> out;
    auto r = svc.exportRootfs(req.params[0], [&] {
      out = res.stream(200, "application/octet-stream");
      return out.get();
    });
    if (!r && !res.started()) res.error(r.error());
  });

  // docker cp. HEAD is registered before GET (a HEAD falls back to GET).
  r.add("HEAD", id + "/archive", [&svc](Request& req, ResponseWriter& res) {
    if (req.q("path").empty()) return res.error(Error{Code::InvalidArgument, 0, "bad parameter: path cannot be empty"});
    auto st = svc.archiveStat(req.params[0], req.q("path"));
    if (!st) return res.error(st.error());
    res.setHeader("X-Docker-Container-Path-Stat", container::base64Encode(st->toJson().dump()));
    res.empty(200);
  });
  r.add("GET", id + "/archive", [&svc](Request& req, ResponseWriter& res) {
    if (req.q("path").empty()) return res.error(Error{Code::InvalidArgument, 0, "bad parameter: path cannot be empty"});
    std::unique_ptr<StreamWriter> out;
    auto r = svc.archiveGet(req.params[0], req.q("path"), [&](const container::PathStat& st) {
      res.setHeader("X-Docker-Container-Path-Stat", container::base64Encode(st.toJson().dump()));
      out = res.stream(200, "application/x-tar");
      return out.get();
    });
    if (!r && !res.started()) res.error(r.error());
  });
  r.add("PUT", id + "/archive", [&svc](Request& req, ResponseWriter& res) {
    if (req.q("path").empty()) return res.error(Error{Code::InvalidArgument, 0, "bad parameter: path cannot be empty"});
    container::ExtractOptions o;
    o.noOverwriteDirNonDir = req.qBool("noOverwriteDirNonDir");
    o.copyUIDGID = req.qBool("copyUIDGID");
    BodyReader* body = req.body;
    reply(res, svc.archivePut(req.params[0], req.q("path"), o, [body](char* b, size_t n) { return body->read(b, n); }),
          200);
  });

  r.add("POST", "/commit", [&svc](Request& req, ResponseWriter& res) {
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
    auto img = svc.commit(o);
    if (!img) return res.error(img.error());
    res.json(201, {{"Id", *img}});
  });

  // system df lives here: the container service sees both containers and images.
  r.add("GET", "/system/df", [&svc](Request&, ResponseWriter& res) {
    auto df = svc.diskUsage();
    if (!df) return res.error(df.error());
    res.json(200, *df);
  });

  r.add("POST", id + "/exec", [&svc](Request& req, ResponseWriter& res) {
    auto body = req.decodeBody(decodeExecCreateBody);
    if (!body) return res.error(body.error());
    auto x = svc.execCreate(req.params[0], *body);
    if (!x) return res.error(x.error());
    res.json(201, {{"Id", *x}});
  });

  r.add("POST", "/exec/([^/]+)/start", [&svc](Request& req, ResponseWriter& res) {
    auto body = req.decodeBody(decodeExecStartBody);
    if (!body) return res.error(body.error());
    bool detach = body->detach;
    auto info = svc.execInspect(req.params[0]);
    if (!info) return res.error(info.error());
    if (detach) return reply(res, svc.execStart(req.params[0], true, nullptr), 200);
    auto raw = res.hijack();
    (void)svc.execStart(req.params[0], false, raw.get());
  });
  r.add("POST", "/exec/([^/]+)/resize", [&svc](Request& req, ResponseWriter& res) {
    auto h = optInt(req, "h"), w = optInt(req, "w");
    if (!h || !w) return res.error(Error{Code::InvalidArgument, 0, "invalid resize parameters"});
    reply(res, svc.execResize(req.params[0], *h, *w), 200);
  });
  r.add("GET", "/exec/([^/]+)/json", [&svc](Request& req, ResponseWriter& res) {
    auto j = svc.execInspect(req.params[0]);
    if (!j) return res.error(j.error());
    res.json(200, *j);
  });
}

}  // namespace berth::api
