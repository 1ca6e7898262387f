// makeBuilder: the classic builder on the container and image services
// (moby builder/dockerfile: builder.go, evaluator.go, dispatchers.go,
// internals.go). One BuildRun per build: the stages the target needs, each
// as soon as the stages it uses are built (several at once), their output
// in file order; every instruction commits an image whose ContainerConfig
// is the cache key, RUN runs a container, COPY/ADD/WORKDIR write their
// layer directly (no container), metadata steps commit a config-only image.
#include "build/builder.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <regex>
#include <thread>

#include "build/builder_impl.h"
#include "common/fd.h"
#include "common/number.h"
#include "build/copy.h"
#include "build/dispatch.h"
#include "build/dockerignore.h"
#include "build/shell_lex.h"
#include "common/sha256.h"
#include "common/util.h"
#include "container/archive.h"
#include "container/changes.h"
#include "container/service.h"
#include "container/spec.h"
#include "image/config.h"
#include "image/service.h"
#include "image/url_source.h"

namespace berth::build {

// ---- BuildRun ----

BuildRun::BuildRun(BuilderImpl& b, const BuildOptions& opts, BuildOutput& out)
    : b_(b), opts_(opts), out_(out), args_(opts.buildArgs) {}

bool BuildRun::say(StageState& st, std::string_view text) {
  if (opts_.quiet || cancel_) return !cancel_;
  if (!ordered_->text(st.lane, text)) cancel_ = true;
  return !cancel_;
}

bool BuildRun::sayDirect(std::string_view text) {
  if (opts_.quiet || cancel_) return !cancel_;
  bool ok = ordered_ ? ordered_->direct(text) : out_.stream(text);
  if (!ok) cancel_ = true;
  return !cancel_;
}

bool BuildRun::cancelled() {
  if (cancel_) return true;
  if (ordered_ && ordered_->pollGone()) cancel_ = true;
  return cancel_;
}

Result<> BuildRun::checkGone() {
  if (cancel_) return makeError(Code::Cancelled, "context canceled");
  return {};
}

std::vector<std::string> BuildRun::envFor(const StageState& st) const {
  auto env = stringList(st.runConfig.value("Env", json(nullptr)));
  auto extra = st.args.filterAllowed(env);
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

Result<std::string> BuildRun::expand(const StageState& st, std::string_view word) const {
  return processWord(word, envFromList(envFor(st)), LexOptions{.escape = df_.escape});
}

Result<std::string> BuildRun::getImage(const std::string& name, const std::string& platform) {
  if (!opts_.pull) {
    auto r = b_.images_.resolve(name);
    if (r) return r->id;
    if (r.error().code != Code::NotFound) return std::unexpected(r.error());
    if (isValidDigest(name)) return std::unexpected(r.error());
  }
  TRY(b_.images_.pull(name, platform.empty() ? opts_.platform : platform, false, "", [](const json&) {}));
  TRY_ASSIGN(auto rec, b_.images_.resolve(name));
  return rec.id;
}

std::optional<std::string> BuildRun::stageImage(const StageState& st, size_t j) {
  std::lock_guard lk(stagesMu_);
  if (j >= st.index || !stageBuilt_[j]) return std::nullopt;
  return stageImages_[j];
}

// moby's stagesBuildResults.get: an earlier stage's name, then an index,
// else an image (pulled when missing). The stage graph made this stage wait
// for every stage it can name here; an earlier stage still not built is one
// the target does not need (only an ONBUILD trigger of a pulled base names
// it), and its name is taken as an image's, as before stages ran at once.
Result<std::string> BuildRun::stageOrImage(const StageState& st, const std::string& ref) {
  std::string low = toLower(ref);
  for (size_t j = 0; j < st.index; j++)
    if (!df_.stages[j].name.empty() && df_.stages[j].name == low)
      if (auto id = stageImage(st, j)) return *id;
  if (auto idx = parseNumber<int64_t>(ref)) {
    if (*idx == int64_t(st.index))
      return errorf(Code::InvalidArgument, "invalid from flag value {}: refers to current build stage", ref);
    if (*idx < 0 || *idx > int64_t(st.index))
      return errorf(Code::InvalidArgument, "invalid from flag value {}: index out of bounds", ref);
    if (auto id = stageImage(st, size_t(*idx))) return *id;
    return errorf(Code::InvalidArgument, "invalid from flag value {}: stage {} is not built for this target", ref,
                  *idx);
  }
  return getImage(ref, "");
}

// ---- cache and commit ----

Result<bool> BuildRun::probeCache(StageState& st, const json& probe) {
  if (opts_.noCache) return false;
  std::unique_lock lk(inflightMu_);
  auto sameKey = [&](const Inflight& e) {
    return !e.finished && e.parent == st.imageId && cacheConfigEqual(e.probe, probe);
  };
  while (std::any_of(inflight_.begin(), inflight_.end(), sameKey)) {
    TRY(checkGone());
    inflightCv_.wait_for(lk, std::chrono::milliseconds(100));
  }
  // Looked up with the lock held: a stage that misses is in flight before
  // another stage can miss the same key.
  TRY_ASSIGN(auto kids, b_.images_.children(st.imageId));
  const image::ImageRecord* best = nullptr;
  for (auto& k : kids) {
    if (!k.config.is_object() || !k.config.contains("container_config")) continue;
    if (!cacheConfigEqual(k.config["container_config"], probe)) continue;
    if (!opts_.cacheFrom.empty() && !inCacheFrom(k.id)) continue;
    if (!best || k.created > best->created) best = &k;
  }
  if (!best) {
    inflight_.push_back(Inflight{st.imageId, probe, false});
    st.inflight = inflight_.size() - 1;
    return false;
  }
  st.imageId = best->id;
  st.imageConfig = best->config;
  lk.unlock();
  say(st, " ---> Using cache\n");
  return true;
}

void BuildRun::finishInflight(StageState& st) {
  if (!st.inflight) return;
  {
    std::lock_guard lk(inflightMu_);
    inflight_[*st.inflight].finished = true;
  }
  st.inflight.reset();
  inflightCv_.notify_all();
}

bool BuildRun::inCacheFrom(const std::string& id) {
  std::lock_guard lk(cacheFromMu_);
  if (!cacheFromLoaded_) {
    cacheFromLoaded_ = true;
    for (auto& ref : opts_.cacheFrom) {
      auto rec = b_.images_.resolve(ref);
      if (!rec) continue;
      std::string cur = rec->id;
      for (int depth = 0; depth < 1000 && !cur.empty(); depth++) {
        if (!cacheFromIds_.insert(cur).second) break;
        auto d = b_.images_.inspect(cur);
        if (!d) break;
        cur = d->parent;
      }
    }
  }
  return cacheFromIds_.count(id) > 0;
}

json BuildRun::imageConfigFor(const StageState& st, const json& containerConfig, const std::string& containerId,
                              bool emptyLayer) const {
  json cfg = st.imageConfig.is_object() ? st.imageConfig : json::object();
  cfg.erase("rootfs");
  cfg.erase("parent");
  cfg.erase("comment");
  if (!cfg.contains("architecture")) cfg["architecture"] = "amd64";
  if (!cfg.contains("os")) cfg["os"] = "linux";
  std::string created = formatRfc3339Nano(nowNanos());
  json config = image::dockerConfigShape(st.runConfig);
  config["Image"] = st.imageId;
  json cc = image::dockerConfigShape(containerConfig);
  cc["Image"] = st.imageId;
  cfg["config"] = config;
  cfg["container_config"] = cc;
  if (containerId.empty()) {
    cfg.erase("container");
  } else {
    cfg["container"] = containerId;
  }
  cfg["created"] = created;
  if (st.maintainer.empty()) {
    cfg.erase("author");
  } else {
    cfg["author"] = st.maintainer;
  }
  json h = {{"created", created}, {"created_by", joinArgs(stringList(containerConfig.value("Cmd", json(nullptr))))}};
  if (!st.maintainer.empty()) h["author"] = st.maintainer;
  if (emptyLayer) h["empty_layer"] = true;
  if (!cfg.contains("history") || !cfg["history"].is_array()) cfg["history"] = json::array();
  cfg["history"].push_back(h);
  return cfg;
}

Result<> BuildRun::commit(StageState& st, const json& containerConfig, const std::string& containerId,
                          const std::function<Result<>(const image::ImageLayers::LayerSink&)>& writeLayer) {
  json cfg = imageConfigFor(st, containerConfig, containerId, !writeLayer);
  auto id = b_.images_.commitLayer(st.imageId, cfg, "", writeLayer);
  if (!id) {
    finishInflight(st);
    return std::unexpected(id.error());
  }
  st.imageId = *id;
  st.imageConfig = std::move(cfg);
  finishInflight(st);
  return {};
}

Result<> BuildRun::commitMeta(StageState& st, const json& probe) {
  TRY_ASSIGN(bool hit, probeCache(st, probe));
  if (hit) return {};
  return commit(st, probe, "", nullptr);
}

// ---- stages ----

Result<std::string> BuildRun::readDockerfile() {
  if (opts_.dockerfileText) return *opts_.dockerfileText;
  std::string name = opts_.dockerfile.empty() ? "Dockerfile" : opts_.dockerfile;
  auto text = readFile(opts_.contextDir + "/" + name);
  if (!text) {
    // The classic builder also accepts a lower-case dockerfile.
    if (opts_.dockerfile.empty())
      if (auto lower = readFile(opts_.contextDir + "/dockerfile")) return *lower;
    return errorf(Code::InvalidArgument, "Cannot locate specified Dockerfile: {}", name);
  }
  return *text;
}

Result<BuildResult> BuildRun::run() {
  TRY_ASSIGN(std::string text, readDockerfile());
  TRY_ASSIGN(df_, parseDockerfile(text, opts_.dockerfile.empty() ? "Dockerfile" : opts_.dockerfile));
  for (auto& w : df_.warnings) sayDirect("[WARNING]: " + w + "\n");

  // Meta args first (silently) so that FROM names can be expanded to find
  // which stages the target needs.
  for (auto& meta : df_.metaArgs)
    for (auto& a : meta.argDefs) {
      std::optional<std::string> v;
      if (a.value) {
        auto env = args_.allAllowed();
        std::vector<std::string> list;
        for (auto& [k, val] : env) list.push_back(k + "=" + val);
        TRY_ASSIGN(auto e, processWord(*a.value, envFromList(list), LexOptions{.escape = df_.escape}));
        v = e;
      }
      args_.addArg(a.key, v);
      args_.addMetaArg(a.key, v);
    }

  int target = int(df_.stages.size()) - 1;
  if (!opts_.target.empty()) {
    target = df_.stageIndex(opts_.target);
    if (target < 0) return errorf(Code::InvalidArgument, "failed to reach build target {} in Dockerfile", opts_.target);
  }
  TRY_ASSIGN(auto graph, stageGraph(size_t(target)));

  // opts.labels: a LABEL instruction appended to the target stage, as dockerd appends one.
  std::optional<Instruction> labelIns;
  if (!opts_.labels.empty()) {
    std::string line = "LABEL";
    for (auto& [k, v] : opts_.labels) line += " " + goQuote(k) + "=" + goQuote(v);
    TRY_ASSIGN(auto extra, parseDockerfile("FROM scratch\n" + line + "\n"));
    labelIns = extra.stages[0].commands[0];
  }

  total_ = df_.metaArgs.size();
  for (size_t i : graph.order()) total_ += 1 + df_.stages[i].commands.size();
  if (labelIns) total_++;

  ordered_.emplace(out_, graph.order().size());
  size_t step = 0;
  for (auto& meta : df_.metaArgs) {
    sayDirect(fmt::format("Step {}/{} : {}\n", ++step, total_, meta.original));
    TRY(checkGone());
  }

  TRY(runStages(graph, size_t(target), labelIns));
  sayDirect(unusedArgsWarning(args_.unused()));

  const std::string imageId = stageImages_[size_t(target)];
  if (opts_.quiet) {
    if (!ordered_->direct(imageId + "\n")) cancel_ = true;
  } else {
    sayDirect("Successfully built " + shortId(imageId) + "\n");
  }
  TRY(checkGone());
  for (auto& t : opts_.tags) {
    TRY_ASSIGN(auto tr, b_.images_.tag(imageId, t, ""));
    sayDirect("Successfully tagged " + tr.ref + "\n");
  }
  return BuildResult{imageId};
}

// The stages of `graph` on up to stageWorkers_ threads. Each stage starts
// once the stages it uses are built, on its own StageState and lane; the
// first step number of a stage is the one a sequential build gives it. A
// failure cancels every running stage (their RUN containers are killed and
// removed) and starts no more; the error returned is the first one in output
// order among the stages that failed on their own (not cancelled).
Result<> BuildRun::runStages(const StageGraph& graph, size_t target, const std::optional<Instruction>& labelIns) {
  const auto order = graph.order();
  const size_t n = df_.stages.size();
  stageImages_.assign(n, "");
  stageBuilt_.assign(n, false);
  std::vector<StageState> states(n);
  std::vector<std::optional<Result<>>> results(n);
  size_t step = df_.metaArgs.size();
  for (size_t lane = 0; lane < order.size(); lane++) {
    size_t i = order[lane];
    StageState& st = states[i];
    st.index = i;
    st.lane = lane;
    st.step = step;
    st.name = df_.stages[i].name;
    st.args = args_.cloneForStage();
    step += 1 + df_.stages[i].commands.size();
  }

  StageScheduler sched(graph, b_.stageWorkers_);
  std::condition_variable cv;
  std::vector<std::thread> threads(n);
  std::vector<bool> ended(n, false);
  std::unique_lock lk(stagesMu_);
  for (;;) {
    for (size_t i : sched.take()) {
      threads[i] = std::thread([&, i] {
        StageState& st = states[i];
        Result<> r = runStage(st, i == target ? labelIns : std::nullopt);
        if (!r) cancel_ = true;  // the others stop after their current step
        if (r) ordered_->close(st.lane);
        std::lock_guard g(stagesMu_);
        if (r) {
          stageImages_[i] = st.imageId;
          stageBuilt_[i] = true;
        }
        results[i] = std::move(r);
        ended[i] = true;
        cv.notify_all();
      });
    }
    if (sched.done()) break;
    cv.wait(lk, [&] {
      for (size_t i = 0; i < n; i++)
        if (ended[i] && threads[i].joinable()) return true;
      return false;
    });
    for (size_t i = 0; i < n; i++) {
      if (!ended[i] || !threads[i].joinable()) continue;
      lk.unlock();
      threads[i].join();
      lk.lock();
      sched.finish(i, bool(*results[i]));
    }
  }
  lk.unlock();

  for (size_t i : order) args_.mergeReferenced(states[i].args);

  // The error: the first stage in output order that failed on its own; a
  // stage cancelled because another failed (or the client left) reports
  // Cancelled, which only counts when nothing else failed.
  std::optional<size_t> failed, cancelledStage;
  for (size_t lane = 0; lane < order.size(); lane++) {
    size_t i = order[lane];
    if (!results[i] || *results[i]) continue;
    if (results[i]->error().code != Code::Cancelled) {
      if (!failed) failed = lane;
    } else if (!cancelledStage) {
      cancelledStage = lane;
    }
  }
  if (failed) {
    size_t i = order[*failed];
    ordered_->finish(*failed);
    if (states[i].runFailed) ordered_->runFailed(*states[i].runFailed);
    return std::unexpected(results[i]->error());
  }
  if (cancelledStage) {
    ordered_->finish(*cancelledStage);
    return std::unexpected(results[order[*cancelledStage]]->error());
  }
  for (size_t i : order)
    if (!stageBuilt_[i]) return errorf(Code::Internal, "build stage {} was never run", i);
  TRY(checkGone());
  return {};
}

// One stage: FROM, its instructions (and the label step on the target).
Result<> BuildRun::runStage(StageState& st, const std::optional<Instruction>& labelIns) {
  // A step that failed between its cache miss and its commit.
  ScopeExit finish([&] { finishInflight(st); });
  TRY(checkGone());
  const Stage& stage = df_.stages[st.index];
  printStep(st, stage.from.original);
  TRY(dispatchFrom(st, stage));
  say(st, " ---> " + shortId(st.imageId) + "\n");
  TRY(checkGone());
  for (auto& cmd : stage.commands) {
    printStep(st, cmd.original);
    TRY(dispatchStep(st, cmd));
    say(st, " ---> " + shortId(st.imageId) + "\n");
    TRY(checkGone());
  }
  if (labelIns) {
    printStep(st, labelIns->original);
    TRY(dispatchStep(st, *labelIns));
    say(st, " ---> " + shortId(st.imageId) + "\n");
  }
  if (st.imageId.empty()) return makeError(Code::InvalidArgument, "No image was generated. Is your Dockerfile empty?");
  if (!ordered_->aux(st.lane, json{{"ID", st.imageId}})) cancel_ = true;
  return checkGone();
}

void BuildRun::printStep(StageState& st, const std::string& original) {
  say(st, fmt::format("Step {}/{} : {}\n", ++st.step, total_, original));
}

// The graph over the Dockerfile's stages. FROM is expanded with the meta
// args; an image's ONBUILD triggers are known when it is local and no
// --pull will replace it.
Result<StageGraph> BuildRun::stageGraph(size_t target) {
  std::vector<std::string> metaEnv;
  for (auto& [k, v] : args_.allMeta()) metaEnv.push_back(k + "=" + v);
  TriggerLookup triggers = [this](const std::string& ref) -> std::optional<std::vector<std::string>> {
    if (opts_.pull) return std::nullopt;
    auto rec = b_.images_.resolve(ref);
    if (!rec) return std::nullopt;
    const json& cfg = rec->config;
    if (!cfg.is_object() || !cfg.contains("config") || !cfg["config"].is_object()) return std::vector<std::string>{};
    return stringList(cfg["config"].value("OnBuild", json(nullptr)));
  };
  return buildStageGraph(df_, target, metaEnv, triggers);
}

Result<> BuildRun::dispatchFrom(StageState& st, const Stage& stage) {
  std::vector<std::string> metaEnv;
  for (auto& [k, v] : args_.allMeta()) metaEnv.push_back(k + "=" + v);
  LexOptions lo{.escape = df_.escape};
  TRY_ASSIGN(std::string base, processWord(stage.baseName, envFromList(metaEnv), lo));
  std::string platform;
  if (!stage.platform.empty()) {
    TRY_ASSIGN(platform, processWord(stage.platform, envFromList(metaEnv), lo));
  }
  if (base.empty()) return makeError(Code::InvalidArgument, "base name (" + stage.baseName + ") should not be blank");
  std::string low = toLower(base);
  std::string id;
  bool found = false;
  for (size_t j = 0; j < st.index && !found; j++)
    if (!df_.stages[j].name.empty() && df_.stages[j].name == low) {
      auto built = stageImage(st, j);
      if (!built) return errorf(Code::Internal, "stage {} used by stage {} before it was built", j, st.index);
      id = *built;
      found = true;
    }
  if (!found && low != "scratch") {
    TRY_ASSIGN(id, getImage(base, platform));
  }
  st.imageId = id;
  st.imageConfig = json::object();
  st.runConfig = json::object();
  if (!id.empty()) {
    TRY_ASSIGN(auto rec, b_.images_.resolve(id));
    st.imageConfig = rec.config;
    if (rec.config.contains("config") && rec.config["config"].is_object()) st.runConfig = rec.config["config"];
  }
  auto triggers = stringList(st.runConfig.value("OnBuild", json(nullptr)));
  st.runConfig["OnBuild"] = nullptr;
  if (triggers.empty()) return {};
  say(st, fmt::format("# Executing {} build trigger{}\n", triggers.size(), triggers.size() > 1 ? "s" : ""));
  for (auto& t : triggers) {
    TRY_ASSIGN(auto parsed, parseDockerfile("FROM scratch\n" + t + "\n"));
    if (parsed.stages.size() != 1 || parsed.stages[0].commands.size() != 1)
      return makeError(Code::InvalidArgument, "onbuild trigger should be a single expression");
    TRY(dispatchStep(st, parsed.stages[0].commands[0]));
  }
  return {};
}

Result<> BuildRun::dispatchStep(StageState& st, const Instruction& ins) {
  json& rc = st.runConfig;
  switch (ins.kind) {
    case InstructionKind::Env: {
      std::string msg = "ENV";
      std::vector<std::pair<std::string, std::string>> kv;
      for (auto& p : ins.pairs) {
        TRY_ASSIGN(std::string k, expand(st, p.key));
        TRY_ASSIGN(std::string v, expand(st, p.value));
        kv.emplace_back(k, v);
      }
      for (auto& [k, v] : kv) {
        msg += " " + k + "=" + v;
        setEnv(rc, k, v);
      }
      return commitMeta(st, withCmdComment(rc, msg));
    }
    case InstructionKind::Label: {
      std::string msg = "LABEL";
      std::vector<std::pair<std::string, std::string>> kv;
      for (auto& p : ins.pairs) {
        TRY_ASSIGN(std::string k, expand(st, p.key));
        TRY_ASSIGN(std::string v, expand(st, p.value));
        kv.emplace_back(k, v);
      }
      if (!rc.contains("Labels") || !rc["Labels"].is_object()) rc["Labels"] = json::object();
      for (auto& [k, v] : kv) {
        msg += " " + k + "=" + v;
        rc["Labels"][k] = v;
      }
      return commitMeta(st, withCmdComment(rc, msg));
    }
    case InstructionKind::Maintainer:
      st.maintainer = ins.value;
      return commitMeta(st, withCmdComment(rc, "MAINTAINER " + ins.value));
    case InstructionKind::Expose: {
      std::vector<std::string> ports;
      auto env = envFromList(envFor(st));
      for (auto& p : ins.ports) {
        TRY_ASSIGN(auto ws, processWords(p, env, LexOptions{.escape = df_.escape}));
        ports.insert(ports.end(), ws.begin(), ws.end());
      }
      TRY_ASSIGN(auto keys, exposedPortKeys(ports));
      if (!rc.contains("ExposedPorts") || !rc["ExposedPorts"].is_object()) rc["ExposedPorts"] = json::object();
      for (auto& k : keys) rc["ExposedPorts"][k] = json::object();
      return commitMeta(st, withCmdComment(rc, "EXPOSE " + joinArgs(ports)));
    }
    case InstructionKind::User: {
      TRY_ASSIGN(std::string u, expand(st, ins.value));
      rc["User"] = u;
      return commitMeta(st, withCmdComment(rc, "USER " + u));
    }
    case InstructionKind::Volume: {
      std::vector<std::string> vols;
      for (auto& v : ins.volumes) {
        TRY_ASSIGN(std::string e, expand(st, v));
        if (trim(e).empty()) return makeError(Code::InvalidArgument, "VOLUME specified can not be an empty string");
        vols.push_back(e);
      }
      if (!rc.contains("Volumes") || !rc["Volumes"].is_object()) rc["Volumes"] = json::object();
      for (auto& v : vols) rc["Volumes"][v] = json::object();
      return commitMeta(st, withCmdComment(rc, "VOLUME " + goSlice(vols)));
    }
    case InstructionKind::StopSignal: {
      TRY_ASSIGN(std::string s, expand(st, ins.value));
      TRY(container::parseSignal(s));
      rc["StopSignal"] = s;
      return commitMeta(st, withCmdComment(rc, "STOPSIGNAL " + s));
    }
    case InstructionKind::Cmd: {
      auto cmd = resolveCmdLine(ins, rc);
      rc["Cmd"] = cmd;
      rc.erase("ArgsEscaped");
      TRY(commitMeta(st, withCmdComment(rc, "CMD " + goQuoteSlice(cmd))));
      if (!ins.cmdLine.empty()) st.cmdSet = true;
      return {};
    }
    case InstructionKind::Entrypoint: {
      auto cmd = resolveCmdLine(ins, rc);
      rc["Entrypoint"] = cmd;
      rc.erase("ArgsEscaped");
      if (!st.cmdSet) rc["Cmd"] = nullptr;
      return commitMeta(st, withCmdComment(rc, "ENTRYPOINT " + goQuoteSlice(cmd)));
    }
    case InstructionKind::Healthcheck: {
      if (!ins.health) return makeError(Code::InvalidArgument, "HEALTHCHECK: missing command");
      auto old = stringList(rc.contains("Healthcheck") && rc["Healthcheck"].is_object()
                                ? rc["Healthcheck"].value("Test", json(nullptr))
                                : json(nullptr));
      if (!old.empty() && old[0] != "NONE") say(st, "Note: overriding previous HEALTHCHECK: " + goSlice(old) + "\n");
      rc["Healthcheck"] = healthcheckJson(*ins.health);
      return commitMeta(st, withCmdComment(rc, healthcheckComment(*ins.health)));
    }
    case InstructionKind::Shell:
      rc["Shell"] = ins.cmdLine;
      return commitMeta(st, withCmdComment(rc, "SHELL " + goSlice(ins.cmdLine)));
    case InstructionKind::Onbuild: {
      if (!rc.contains("OnBuild") || !rc["OnBuild"].is_array()) rc["OnBuild"] = json::array();
      rc["OnBuild"].push_back(ins.expression);
      return commitMeta(st, withCmdComment(rc, "ONBUILD " + ins.expression));
    }
    case InstructionKind::Arg: {
      std::string msg = "ARG ";
      for (size_t i = 0; i < ins.argDefs.size(); i++) {
        auto& a = ins.argDefs[i];
        std::optional<std::string> v;
        if (a.value) {
          TRY_ASSIGN(v, expand(st, *a.value));
        }
        if (i) msg += " ";
        msg += a.key;
        if (v) msg += "=" + *v;
        st.args.addArg(a.key, v);
      }
      return commitMeta(st, withCmdComment(rc, msg));
    }
    case InstructionKind::Workdir: {
      TRY_ASSIGN(std::string w, expand(st, ins.value));
      if (w.empty()) return makeError(Code::InvalidArgument, "cannot normalize nothing");
      std::string wd = normalizeWorkdir(rc.value("WorkingDir", ""), w);
      rc["WorkingDir"] = wd;
      json probe = withCmdCommentString(rc, "WORKDIR " + wd);
      TRY_ASSIGN(bool hit, probeCache(st, probe));
      if (hit) return {};
      return dispatchWorkdirLayer(st, probe, wd);
    }
    case InstructionKind::Run:
      return dispatchRun(st, ins);
    case InstructionKind::Copy:
    case InstructionKind::Add:
      return dispatchCopy(st, ins);
    case InstructionKind::From:
      break;
  }
  return errorf(Code::InvalidArgument, "unknown instruction: {}", ins.keyword);
}

Result<std::unique_ptr<MountedRoot>> BuildRun::mountImage(const std::string& imageId) {
  std::vector<std::string> lowers;
  if (!imageId.empty()) {
    TRY_ASSIGN(lowers, b_.images_.layerDirs(imageId));
  }
  return MountedRoot::mount(lowers, b_.tmpDir());
}

Result<> BuildRun::dispatchWorkdirLayer(StageState& st, const json& probe, const std::string& wd) {
  TRY_ASSIGN(auto root, mountImage(st.imageId));
  TRY_ASSIGN(std::string resolved, container::resolveInRoot(root->fd(), wd, true));
  struct stat sb;
  if (::stat((root->path() + resolved).c_str(), &sb) == 0 && S_ISDIR(sb.st_mode)) return commit(st, probe, "", nullptr);
  std::string rel = resolved.substr(1);
  return commit(st, probe, "", [&](const image::ImageLayers::LayerSink& sink) -> Result<> {
    LayerTar tar(sink);
    TRY(addParents(tar, *root, rel, {}, true));
    return tar.finish();
  });
}

// Directory entries for every ancestor of rel (and rel itself when self):
// existing ones with their attributes (overlay shows the topmost layer's),
// new ones 0755 owned by owner.
Result<> BuildRun::addParents(LayerTar& tar, const MountedRoot& root, const std::string& rel, LayerTar::Owner owner,
                              bool self) {
  auto parts = split(rel, '/');
  std::string cur;
  size_t n = self ? parts.size() : (parts.empty() ? 0 : parts.size() - 1);
  int64_t now = nowNanos() / 1000000000;
  for (size_t i = 0; i < n; i++) {
    if (parts[i].empty()) continue;
    cur = cur.empty() ? parts[i] : cur + "/" + parts[i];
    if (tar.hasDir(cur)) continue;
    struct stat sb;
    if (::lstat((root.path() + "/" + cur).c_str(), &sb) == 0 && S_ISDIR(sb.st_mode)) {
      TRY(tar.dir(cur, sb.st_mode & 07777, {sb.st_uid, sb.st_gid}, sb.st_mtime));
    } else {
      TRY(tar.dir(cur, 0755, owner, now));
    }
  }
  return {};
}

}  // namespace berth::build
