#include "api/build_router.h"

#include <algorithm>
#include <set>

#include "api/containers_router.h"
#include "api/go_json.h"
#include "common/base64.h"
#include "common/log.h"
#include "common/number.h"
#include "common/util.h"
#include "image/reference.h"

namespace berth::api {

namespace {

// Go's httputils.Int64ValueOrZero: unparsable values are 0.
int64_t int64OrZero(const Request& req, const std::string& key) {
  auto v = parseNumber<int64_t>(req.q(key));
  return v ? *v : 0;
}

std::string jsonType(const json& v) {
  if (v.is_string()) return "string";
  if (v.is_number()) return "number";
  if (v.is_boolean()) return "bool";
  if (v.is_array()) return "array";
  if (v.is_object()) return "object";
  return "null";
}

std::unexpected<Error> cannotUnmarshal(const json& v, std::string_view goType) {
  return errorf(Code::InvalidArgument, "json: cannot unmarshal {} into Go value of type {}", jsonType(v), goType);
}

// The JSON parameters, checked against the Go types dockerd decodes into.
Result<std::map<std::string, std::optional<std::string>>> decodeBuildArgs(const std::string& raw) {
  TRY_ASSIGN(json j, parseGoJson(raw));
  std::map<std::string, std::optional<std::string>> out;
  if (j.is_null()) return out;
  if (!j.is_object()) return cannotUnmarshal(j, "map[string]*string");
  for (auto& [k, v] : j.items()) {
    if (v.is_null()) {
      out[k] = std::nullopt;
    } else if (v.is_string()) {
      out[k] = v.get<std::string>();
    } else {
      return cannotUnmarshal(v, "string");
    }
  }
  return out;
}

Result<std::map<std::string, std::string>> decodeLabels(const std::string& raw) {
  TRY_ASSIGN(json j, parseGoJson(raw));
  std::map<std::string, std::string> out;
  if (j.is_null()) return out;
  if (!j.is_object()) return cannotUnmarshal(j, "map[string]string");
  for (auto& [k, v] : j.items()) {
    if (v.is_null()) {
      out[k] = "";
    } else if (v.is_string()) {
      out[k] = v.get<std::string>();
    } else {
      return cannotUnmarshal(v, "string");
    }
  }
  return out;
}

Result<std::vector<std::string>> decodeStrings(const std::string& raw) {
  TRY_ASSIGN(json j, parseGoJson(raw));
  std::vector<std::string> out;
  if (j.is_null()) return out;
  if (!j.is_array()) return cannotUnmarshal(j, "[]string");
  for (auto& v : j) {
    if (v.is_null()) {
      out.emplace_back();
    } else if (v.is_string()) {
      out.push_back(v.get<std::string>());
    } else {
      return cannotUnmarshal(v, "string");
    }
  }
  return out;
}

Result<json> decodeUlimits(const std::string& raw) {
  TRY_ASSIGN(json j, parseGoJson(raw));
  json out = json::array();
  if (j.is_null()) return out;
  if (!j.is_array()) return cannotUnmarshal(j, "[]*container.Ulimit");
  for (auto& v : j) {
    if (v.is_null()) continue;
    if (!v.is_object()) return cannotUnmarshal(v, "container.Ulimit");
    json u = {{"Name", ""}, {"Hard", 0}, {"Soft", 0}};
    for (auto& [k, f] : v.items()) {
      std::string lk = toLower(k);
      if (f.is_null()) continue;
      if (lk == "name") {
        if (!f.is_string())
          return errorf(Code::InvalidArgument,
                        "json: cannot unmarshal {} into Go struct field Ulimit.Name of type string", jsonType(f));
        u["Name"] = f;
      } else if (lk == "hard" || lk == "soft") {
        if (!f.is_number_integer())
          return errorf(Code::InvalidArgument, "json: cannot unmarshal {} into Go struct field Ulimit.{} of type int64",
                        f.is_number() ? "number " + f.dump() : jsonType(f), lk == "hard" ? "Hard" : "Soft");
        u[lk == "hard" ? "Hard" : "Soft"] = f;
      }
    }
    out.push_back(u);
  }
  return out;
}

Result<> decodeOutputs(const std::string& raw) {
  TRY_ASSIGN(json j, parseGoJson(raw));
  if (j.is_null()) return {};
  if (!j.is_array()) return cannotUnmarshal(j, "[]buildbackend.BuildOutput");
  for (auto& v : j)
    if (!v.is_null() && !v.is_object()) return cannotUnmarshal(v, "buildbackend.BuildOutput");
  return {};
}

template <class T>
Result<T> wrapped(Result<T> r, std::string_view context) {
  if (!r) return std::unexpected(r.error().wrap(context));
  return r;
}

// The classic builder's stream: the response starts with the first line,
// so an error before it is a plain HTTP error (dockerd's output.Flushed()).
class StreamOutput : public build::BuildOutput {
 public:
  StreamOutput(ResponseWriter& w, bool quiet, bool wantAux) : w_(w), quiet_(quiet), wantAux_(wantAux) {}

  bool stream(std::string_view text) override { return line({{"stream", std::string(text)}}); }
  bool aux(const json& obj) override {
    if (!wantAux_) return !gone();
    return line({{"aux", obj}});
  }
  void runFailed(int exitStatus) override { exitStatus_ = exitStatus; }
  bool clientGone() override { return gone(); }

  // Download progress of remote= (dockerd's ProgressReader: id "Downloading context").
  bool progress(const std::string& remote, int64_t current) {
    return line({{"status", remote}, {"progressDetail", {{"current", current}}}, {"id", "Downloading context"}});
  }

  bool gone() {
    if (gone_) return true;
    if (s_ && s_->clientGone()) gone_ = true;
    return gone_;
  }
  bool started() const { return s_ != nullptr; }

  // The error as dockerd's errf writes it.
  void fail(const Error& err) {
    if (gone()) return;
    if (quiet_ && !buffered_.empty()) flushBuffered();
    if (!s_) return w_.error(err);
    json detail = {{"message", err.message}};
    if (exitStatus_) detail = {{"code", *exitStatus_}, {"message", err.message}};
    (void)s_->writeJsonLine({{"errorDetail", detail}, {"error", err.message}});
  }
  // The end of a successful build: -q prints only the id.
  void succeed(const std::string& imageId) {
    if (gone()) return;
    if (!s_) s_ = w_.stream(200, "application/json");
    if (quiet_) (void)s_->writeJsonLine({{"stream", imageId + "\n"}});
  }

 private:
  bool line(const json& j) {
    if (gone()) return false;
    if (!s_) s_ = w_.stream(200, "application/json");
    if (quiet_) {
      // Kept for an error; the stream's head is out, so a client that
      // leaves is still noticed.
      buffered_ += j.dump() + "\n";
      return !gone();
    }
    if (!s_->writeJsonLine(j)) gone_ = true;
    return !gone();
  }
  void flushBuffered() {
    if (!s_) s_ = w_.stream(200, "application/json");
    if (!s_->write(buffered_)) gone_ = true;
    buffered_.clear();
  }

  ResponseWriter& w_;
  bool quiet_, wantAux_;
  std::unique_ptr<StreamWriter> s_;
  std::string buffered_;
  bool gone_ = false;
  std::optional<int> exitStatus_;
};

// dockerd's sanitizeRepoAndTags: normalized, tagged, deduplicated.
Result<std::vector<std::string>> sanitizeTags(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (auto& n : names) {
    if (n.empty()) continue;
    TRY_ASSIGN(auto ref, image::parseReference(n));
    if (!ref.digest.empty()) return makeError(Code::InvalidArgument, "build tag cannot contain a digest");
    std::string full = image::withDefaultTag(ref).familiarString();
    if (seen.insert(full).second) out.push_back(full);
  }
  return out;
}

void postBuild(build::Builder& builder, build::ContextSource& contexts, Request& req, ResponseWriter& res) {
  auto q = decodeBuildQuery(req);
  if (!q) return res.error(q.error());
  auto tags = sanitizeTags(q->options.tags);
  if (!tags) return res.error(tags.error());
  q->options.tags = *tags;

  StreamOutput out(res, q->options.quiet, q->wantAux);
  Result<std::unique_ptr<build::PreparedContext>> ctx;
  if (q->remote.empty()) {
    ctx = contexts.fromTar(*req.body, q->dockerfileParam);
  } else {
    std::string remote = q->remote;
    ctx = contexts.fromRemote(remote, q->dockerfileParam,
                              [&out, remote](int64_t current) { return out.progress(remote, current); });
  }
  if (!ctx) return out.fail(ctx.error());
  build::BuildOptions opts = q->options;
  // -q is the router's: the builder's text is kept for an error (dockerd's
  // notVerboseBuffer) and only the id is sent on success.
  opts.quiet = false;
  opts.contextDir = (*ctx)->dir();
  opts.dockerfile = (*ctx)->dockerfile;
  opts.dockerfileText = (*ctx)->dockerfileText;
  auto r = builder.build(opts, out);
  if (!r) {
    if (out.gone()) log::info("build stopped: the client went away");
    return out.fail(r.error());
  }
  out.succeed(r->imageId);
}

void postPrune(build::Builder& builder, const EmitFn& emit, Request& req, ResponseWriter& res) {
  auto f = parseFilters(req.q("filters"));
  if (!f) return res.error(f.error());
  build::CachePruneOptions o;
  o.all = goBoolValue(req.q("all"));
  o.filters = *f;
  for (std::string key : {"reserved-space", "keep-storage"}) {
    if (key == "reserved-space" && req.version() < 148) continue;
    std::string v = req.q(key);
    if (v.empty()) continue;
    auto n = parseAtoi(v);
    if (!n)
      return res.error(Error{Code::InvalidArgument, 0,
                             fmt::format("{} is in bytes and expects an integer, got {}: {}", key, v, n.error().message)});
    if (o.keepStorage == 0) o.keepStorage = *n;
  }
  auto rep = builder.prune(o);
  if (!rep) return res.error(rep.error().wrap("failed to prune build cache"));
  if (emit) emit("builder", "prune", "", {{"reclaimed", std::to_string(rep->spaceReclaimed)}});
  res.json(200, {{"CachesDeleted", rep->cachesDeleted.empty() ? json(nullptr) : json(rep->cachesDeleted)},
                 {"SpaceReclaimed", rep->spaceReclaimed}});
}

}  // namespace

bool goBoolValue(const std::string& v) {
  std::string s = toLower(trim(v));
  return !(s.empty() || s == "0" || s == "no" || s == "false" || s == "none");
}

Result<BuildQuery> decodeBuildQuery(const Request& req) {
  BuildQuery out;
  build::BuildOptions& o = out.options;
  out.dockerfileParam = req.q("dockerfile");
  o.dockerfile = out.dockerfileParam.empty() ? "Dockerfile" : out.dockerfileParam;
  o.quiet = goBoolValue(req.q("q"));
  o.noCache = goBoolValue(req.q("nocache"));
  o.forceRm = goBoolValue(req.q("forcerm"));
  o.pull = goBoolValue(req.q("pull"));
  o.memorySwap = int64OrZero(req, "memswap");
  o.memory = int64OrZero(req, "memory");
  o.cpuShares = int64OrZero(req, "cpushares");
  o.cpuPeriod = int64OrZero(req, "cpuperiod");
  o.cpuQuota = int64OrZero(req, "cpuquota");
  o.cpusetCpus = req.q("cpusetcpus");
  o.cpusetMems = req.q("cpusetmems");
  o.networkMode = req.q("networkmode");
  o.tags = req.qAll("t");
  o.extraHosts = req.qAll("extrahosts");
  o.target = req.q("target");
  out.remote = req.q("remote");
  if (req.has("securityopt")) return makeError(Code::InvalidArgument, "security options are not supported on linux");
  if (o.forceRm) {
    o.rm = true;
  } else {
    o.rm = req.q("rm").empty() ? true : goBoolValue(req.q("rm"));
  }
  int version = req.version();
  if (version >= 132) o.platform = req.q("platform");
  if (version >= 140 && !req.q("outputs").empty()) {
    if (auto r = decodeOutputs(req.q("outputs")); !r) return std::unexpected(r.error().wrap("invalid outputs specified"));
  }
  if (std::string s = req.q("shmsize"); !s.empty()) {
    auto v = parseNumber<int64_t>(s);
    if (!v) {
      bool numeric = s.find_first_not_of("+-0123456789") == std::string::npos && s.size() > (s[0] == '-' || s[0] == '+');
      return errorf(Code::Internal, "strconv.ParseInt: parsing \"{}\": {}", s,
                    numeric ? "value out of range" : "invalid syntax");
    }
    o.shmSize = *v;
  }
  if (std::string i = req.q("isolation"); !i.empty() && toLower(i) != "default")
    return errorf(Code::InvalidArgument, "unsupported isolation: \"{}\"", i);
  if (std::string u = req.q("ulimits"); !u.empty()) {
    TRY_ASSIGN(o.ulimits, wrapped(decodeUlimits(u), "error reading ulimit settings"));
  }
  if (std::string b = req.q("buildargs"); !b.empty()) {
    TRY_ASSIGN(o.buildArgs, wrapped(decodeBuildArgs(b), "error reading build args"));
  }
  if (std::string l = req.q("labels"); !l.empty()) {
    TRY_ASSIGN(o.labels, wrapped(decodeLabels(l), "error reading labels"));
  }
  if (std::string c = req.q("cachefrom"); !c.empty()) {
    TRY_ASSIGN(o.cacheFrom, wrapped(decodeStrings(c), "error reading cache-from"));
  }
  if (std::string v = req.q("version"); !v.empty()) {
    if (v != "1" && v != "2") return errorf(Code::InvalidArgument, "invalid version \"{}\"", v);
    // berthd has no BuildKit; dockerd without it answered this way.
    if (v == "2") return makeError(Code::InvalidArgument, "buildkit is only supported with experimental mode");
  }
  if (goBoolValue(req.q("squash"))) return makeError(Code::InvalidArgument, "squash is only supported with experimental mode");
  if (out.remote == "client-session")
    return makeError(Code::InvalidArgument,
                     "experimental session with v1 builder is no longer supported, use builder version v2 (BuildKit) instead");
  out.wantAux = version >= 130;
  // X-Registry-Config: base64url JSON {registry: AuthConfig}; decode errors
  // are ignored as dockerd ignores them.
  if (std::string h = req.header("x-registry-config"); !h.empty()) {
    std::string std64 = h;
    std::replace(std64.begin(), std64.end(), '-', '+');
    std::replace(std64.begin(), std64.end(), '_', '/');
    if (auto raw = base64Decode(std64)) {
      auto j = json::parse(*raw, nullptr, false);
      if (j.is_object()) out.authConfigs = j;
    }
  }
  return out;
}

json buildCacheJson(const build::CacheUsage& usage) {
  json out = json::array();
  for (auto& r : usage.records) out.push_back(r);
  return out;
}

void registerBuildRoutes(Router& r, build::Builder& builder, build::ContextSource& contexts, EmitFn emit) {
  r.add("POST", "/build", [&builder, &contexts](Request& req, ResponseWriter& res) {
    postBuild(builder, contexts, req, res);
  });
  r.add("POST", "/build/prune", [&builder, emit](Request& req, ResponseWriter& res) {
    postPrune(builder, emit, req, res);
  });
}

}  // namespace berth::api
