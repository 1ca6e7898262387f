#pragma once
// Which stages of a Dockerfile a build needs, what each one waits for, and
// the order in which a bounded number of workers may run them. Pure: no
// images, containers or threads (the builder asks for an image's ONBUILD
// triggers through a callback). Not thread-safe; the builder guards a
// StageScheduler with its own mutex.
//
// A stage uses an earlier stage through `FROM <name>`, `COPY/ADD
// --from=<name|index>`, `RUN --mount=...,from=<name|index>`, and the same
// forms in the ONBUILD triggers its base runs. As in the classic builder a
// name only ever means an earlier stage (a later stage's name, like any
// unknown name, is an image reference), so a stage waits only for earlier
// stages and the graph has no cycles.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "build/dockerfile.h"
#include "common/result.h"

namespace berth::build {

struct StageGraph {
  std::vector<bool> needed;               // per stage: the target needs it (the target included)
  std::vector<std::vector<size_t>> deps;  // per needed stage: the earlier stages it waits for (sorted, unique)

  // The needed stages in file order: the order a sequential build runs them
  // in, and the order of their output.
  std::vector<size_t> order() const;
};

// The ONBUILD triggers of an image a stage starts FROM (by the reference
// written in the Dockerfile, meta args expanded), or nullopt when they are
// not known before the build runs (the image is missing locally, or --pull
// will fetch it again).
using TriggerLookup = std::function<std::optional<std::vector<std::string>>(const std::string& image)>;

// The stages `target` needs and their dependencies. `metaEnv` ("K=V") is
// what FROM is expanded with. A reference whose text holds a `$` (expanded
// only when the step runs) makes the stage depend on every earlier stage; a
// stage whose base image's triggers are unknown waits for every earlier
// needed stage (without making more stages needed).
//
// Errors (InvalidArgument), with the classic builder's texts:
//  - "invalid from flag value N: refers to current build stage" (an index
//    equal to the stage's own),
//  - "invalid from flag value N: index out of bounds" (a later or negative
//    index),
//  - "<name> stage name already used" (two stages up to the target with the
//    same name),
// and a trigger that does not parse (parseDockerfile's error).
Result<StageGraph> buildStageGraph(const Dockerfile& df, size_t target, const std::vector<std::string>& metaEnv,
                                   const TriggerLookup& triggersOf);

// Hands out the needed stages of a graph to at most `workers` workers:
// a stage is startable once every stage it waits for has finished; lower
// file positions first. After a failure nothing more starts.
class StageScheduler {
 public:
  StageScheduler(const StageGraph& graph, size_t workers);

  // The stages to start now (marked running), in file order.
  std::vector<size_t> take();
  // `stage` (running) ended; `ok` false stops every further start.
  void finish(size_t stage, bool ok);
  // Nothing runs and nothing more will start.
  bool done() const;
  size_t running() const { return running_; }

 private:
  enum class State { Skipped, Pending, Running, Done, Failed };
  const StageGraph& graph_;
  size_t workers_;
  size_t running_ = 0;
  bool stopped_ = false;
  std::vector<State> state_;
};

// The default number of stage workers: min(4, hardware threads), at least 2.
size_t defaultStageWorkers();

}  // namespace berth::build
