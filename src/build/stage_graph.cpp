// The stage graph and its scheduler (stage_graph.h).
#include "build/stage_graph.h"

#include <algorithm>
#include <thread>

#include "build/shell_lex.h"
#include "common/number.h"
#include "common/util.h"

namespace berth::build {

namespace {

// What a single stage refers to, before the graph is closed over.
struct Refs {
  std::vector<size_t> stages;  // earlier stages named or indexed
  bool allEarlier = false;     // a reference only known when the step runs
  bool waitAllNeeded = false;  // the base image's triggers are unknown
};

class GraphBuilder {
 public:
  GraphBuilder(const Dockerfile& df, const std::vector<std::string>& metaEnv, const TriggerLookup& triggersOf)
      : df_(df), metaEnv_(metaEnv), triggersOf_(triggersOf) {}

  Result<Refs> refsOf(size_t i) {
    Refs r;
    const Stage& stage = df_.stages[i];
    auto base = processWord(stage.baseName, envFromList(metaEnv_), LexOptions{.escape = df_.escape});
    std::string baseName = base ? *base : stage.baseName;
    std::optional<size_t> baseStage = earlierNamed(i, baseName);
    if (baseStage) r.stages.push_back(*baseStage);
    for (auto& c : stage.commands) TRY(refsOfInstruction(i, c, r));

    // The ONBUILD triggers the stage runs right after its FROM.
    std::vector<std::string> triggers;
    if (baseStage) {
      for (auto& c : df_.stages[*baseStage].commands)
        if (c.kind == InstructionKind::Onbuild) triggers.push_back(c.expression);
    } else if (toLower(baseName) != "scratch" && !baseName.empty()) {
      auto known = triggersOf_ ? triggersOf_(baseName) : std::optional<std::vector<std::string>>();
      if (!known) r.waitAllNeeded = true;
      else triggers = *known;
    }
    for (auto& t : triggers) {
      // A trigger that does not parse fails when the stage runs it, as today.
      auto parsed = parseDockerfile("FROM scratch\n" + t + "\n");
      if (!parsed || parsed->stages.size() != 1) continue;
      for (auto& c : parsed->stages[0].commands) TRY(refsOfInstruction(i, c, r));
    }
    return r;
  }

 private:
  // The earlier stage named `name` (case-insensitive), if any.
  std::optional<size_t> earlierNamed(size_t i, const std::string& name) const {
    std::string low = toLower(name);
    if (low.empty()) return std::nullopt;
    for (size_t j = 0; j < i; j++)
      if (df_.stages[j].name == low) return j;
    return std::nullopt;
  }

  // A --from value: an earlier stage's name, a stage index, or an image.
  Result<> refer(size_t i, const std::string& raw, Refs& r) {
    if (raw.find('$') != std::string::npos) {
      r.allEarlier = true;
      return {};
    }
    // Quotes are removed when the step expands the value.
    auto word = processWord(raw, emptyEnv(), LexOptions{.escape = df_.escape});
    std::string ref = word ? *word : raw;
    if (auto j = earlierNamed(i, ref)) {
      r.stages.push_back(*j);
      return {};
    }
    auto idx = parseNumber<int64_t>(ref);
    if (!idx) return {};  // an image
    if (*idx == int64_t(i))
      return errorf(Code::InvalidArgument, "invalid from flag value {}: refers to current build stage", ref);
    if (*idx < 0 || *idx > int64_t(i))
      return errorf(Code::InvalidArgument, "invalid from flag value {}: index out of bounds", ref);
    r.stages.push_back(size_t(*idx));
    return {};
  }

  Result<> refsOfInstruction(size_t i, const Instruction& c, Refs& r) {
    if (!c.from.empty()) TRY(refer(i, c.from, r));
    for (auto& m : c.mounts) {
      if (m.find('$') != std::string::npos) {
        if (m.find("from") != std::string::npos) r.allEarlier = true;
        continue;
      }
      auto spec = parseMount(m);
      if (!spec) continue;  // refused when the step runs
      if (!spec->from.empty()) TRY(refer(i, spec->from, r));
    }
    return {};
  }

  const Dockerfile& df_;
  const std::vector<std::string>& metaEnv_;
  const TriggerLookup& triggersOf_;
};

}  // namespace

std::vector<size_t> StageGraph::order() const {
  std::vector<size_t> out;
  for (size_t i = 0; i < needed.size(); i++)
    if (needed[i]) out.push_back(i);
  return out;
}

Result<StageGraph> buildStageGraph(const Dockerfile& df, size_t target, const std::vector<std::string>& metaEnv,
                                   const TriggerLookup& triggersOf) {
  const size_t n = df.stages.size();
  if (target >= n) return makeError(Code::InvalidArgument, "no build stage in current context");
  for (size_t i = 1; i <= target; i++)
    for (size_t j = 0; j < i; j++)
      if (!df.stages[i].name.empty() && df.stages[i].name == df.stages[j].name)
        return errorf(Code::InvalidArgument, "{} stage name already used", df.stages[i].name);

  GraphBuilder gb(df, metaEnv, triggersOf);
  std::vector<Refs> refs(n);
  std::vector<bool> computed(n, false);
  StageGraph g;
  g.needed.assign(n, false);
  g.deps.assign(n, {});
  std::vector<size_t> todo{target};
  while (!todo.empty()) {
    size_t i = todo.back();
    todo.pop_back();
    if (g.needed[i]) continue;
    g.needed[i] = true;
    TRY_ASSIGN(refs[i], gb.refsOf(i));
    computed[i] = true;
    if (refs[i].allEarlier)
      for (size_t j = 0; j < i; j++) refs[i].stages.push_back(j);
    for (size_t j : refs[i].stages) todo.push_back(j);
  }
  for (size_t i = 0; i < n; i++) {
    if (!g.needed[i]) continue;
    auto deps = refs[i].stages;
    if (refs[i].waitAllNeeded)
      for (size_t j = 0; j < i; j++)
        if (g.needed[j]) deps.push_back(j);
    std::sort(deps.begin(), deps.end());
    deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
    g.deps[i] = std::move(deps);
  }
  return g;
}

StageScheduler::StageScheduler(const StageGraph& graph, size_t workers)
    : graph_(graph), workers_(std::max<size_t>(1, workers)) {
  for (size_t i = 0; i < graph.needed.size(); i++) state_.push_back(graph.needed[i] ? State::Pending : State::Skipped);
}

std::vector<size_t> StageScheduler::take() {
  std::vector<size_t> out;
  if (stopped_) return out;
  for (size_t i = 0; i < state_.size() && running_ < workers_; i++) {
    if (state_[i] != State::Pending) continue;
    bool ready = std::all_of(graph_.deps[i].begin(), graph_.deps[i].end(),
                             [&](size_t j) { return state_[j] == State::Done; });
    if (!ready) continue;
    state_[i] = State::Running;
    running_++;
    out.push_back(i);
  }
  return out;
}

void StageScheduler::finish(size_t stage, bool ok) {
  if (stage >= state_.size() || state_[stage] != State::Running) return;
  state_[stage] = ok ? State::Done : State::Failed;
  running_--;
  if (!ok) stopped_ = true;
}

bool StageScheduler::done() const {
  if (running_ > 0) return false;
  if (stopped_) return true;
  // Nothing runs: done unless a pending stage could still start (a pending
  // stage whose dependencies can never finish cannot happen in a graph of
  // earlier-only dependencies, but must not hang the build either).
  for (size_t i = 0; i < state_.size(); i++) {
    if (state_[i] != State::Pending) continue;
    if (std::all_of(graph_.deps[i].begin(), graph_.deps[i].end(),
                    [&](size_t j) { return state_[j] == State::Done; }))
      return false;
  }
  return true;
}

size_t defaultStageWorkers() {
  size_t hw = std::thread::hardware_concurrency();
  return std::max<size_t>(2, std::min<size_t>(4, hw));
}

}  // namespace berth::build
