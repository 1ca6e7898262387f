#pragma once
// The builder's implementation classes, shared by builder.cpp (stages,
// metadata steps, cache), build_run.cpp (RUN) and build_copy.cpp (COPY/ADD)
// and the cache mounts (cache_mounts.cpp). Not an interface: only src/build/
// includes it.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "build/builder.h"
#include "build/copy.h"
#include "build/dispatch.h"
#include "build/dockerfile.h"
#include "build/ordered_output.h"
#include "build/stage_graph.h"
#include "image/service.h"

namespace berth::build {

// The 12-hex short form of an image or container id ("sha256:" dropped),
// as the classic builder prints it.
inline std::string shortId(std::string_view id) {
  if (id.starts_with("sha256:")) id.remove_prefix(7);
  return std::string(id.substr(0, 12));
}

// The words joined by one space: a command as the builder's messages and
// history show it.
inline std::string joinArgs(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); i++) {
    if (i) s += ' ';
    s += v[i];
  }
  return s;
}

class BuilderImpl final : public Builder {
 public:
  BuilderImpl(container::Service& containers, image::ImageService& images, BuilderPaths paths,
              BuilderConfig config);

  Result<BuildResult> build(const BuildOptions& opts, BuildOutput& out) override;
  Result<CachePruneReport> prune(const CachePruneOptions& opts) override;
  CacheUsage usage() override;

  // <dataRoot>/build/tmp: mount points and downloads, emptied at start.
  std::string tmpDir() const { return paths_.dataRoot + "/build/tmp"; }
  // <dataRoot>/build/cache: RUN --mount=type=cache directories.
  std::string cacheDir() const { return paths_.dataRoot + "/build/cache"; }
  // The directory of cache mount `id` (created with mode/uid/gid the first
  // time), its use recorded in <key>.json beside it.
  Result<std::string> cacheMount(const std::string& id, const MountSpec& spec, const std::string& description);

  container::Service& containers_;
  image::ImageService& images_;
  BuilderPaths paths_;
  size_t stageWorkers_;  // BuilderConfig::stageWorkers, 0 resolved
  std::mutex cacheMu_;
};

// One stage's runner state: its own current image, config, args and
// output lane. Only the thread running the stage touches it.
struct StageState {
  std::string name;
  size_t index = 0;     // the stage's position in the Dockerfile
  size_t lane = 0;      // its place in output order (OrderedOutput lane)
  size_t step = 0;      // the last "Step N/M" number it printed
  std::string imageId;  // the current image ("" = scratch, nothing committed yet)
  json imageConfig;     // its whole config document
  json runConfig;       // its "config" with this stage's changes
  BuildArgs args;
  bool cmdSet = false;
  std::string maintainer;
  std::optional<int> runFailed;  // the exit status of the RUN it failed on
  std::optional<size_t> inflight;  // its entry in BuildRun::inflight_ while a step it missed runs
};

// One build: the classic builder's dispatch over the stages. The stages the
// target needs run on up to BuilderImpl::stageWorkers_ threads as their
// dependencies are built (stage_graph.h), each on its own StageState and
// output lane (ordered_output.h). A stage that fails cancels the others.
class BuildRun {
 public:
  BuildRun(BuilderImpl& b, const BuildOptions& opts, BuildOutput& out);
  Result<BuildResult> run();

 private:
  // Text of a stage, in its lane; false once the build is cancelled.
  bool say(StageState& st, std::string_view text);
  // Text outside the stages (before they start, after they end).
  bool sayDirect(std::string_view text);
  Result<> checkGone();
  bool cancelled();
  void printStep(StageState& st, const std::string& original);
  Result<std::string> readDockerfile();
  Result<StageGraph> stageGraph(size_t target);
  Result<> runStages(const StageGraph& graph, size_t target, const std::optional<Instruction>& labelIns);
  Result<> runStage(StageState& st, const std::optional<Instruction>& labelIns);
  // The image of earlier stage j once built, else nullopt.
  std::optional<std::string> stageImage(const StageState& st, size_t j);
  std::vector<std::string> envFor(const StageState& st) const;
  Result<std::string> expand(const StageState& st, std::string_view word) const;
  Result<std::string> getImage(const std::string& name, const std::string& platform);
  Result<std::string> stageOrImage(const StageState& st, const std::string& ref);
  Result<std::unique_ptr<MountedRoot>> mountImage(const std::string& imageId);

  Result<> dispatchFrom(StageState& st, const Stage& stage);
  Result<> dispatchStep(StageState& st, const Instruction& ins);
  Result<> dispatchRun(StageState& st, const Instruction& ins);
  Result<> dispatchCopy(StageState& st, const Instruction& ins);
  Result<> dispatchWorkdirLayer(StageState& st, const json& probe, const std::string& wd);
  Result<> addParents(LayerTar& tar, const MountedRoot& root, const std::string& rel, LayerTar::Owner owner,
                      bool self);

  // The cache probe of a step. A miss registers the step as in flight until
  // its commit (or failure: finishInflight), and a stage whose step has the
  // same key as one in flight waits for that commit and takes it from the
  // cache, as a sequential build takes the earlier stage's image.
  Result<bool> probeCache(StageState& st, const json& probe);
  void finishInflight(StageState& st);
  bool inCacheFrom(const std::string& id);
  json imageConfigFor(const StageState& st, const json& containerConfig, const std::string& containerId,
                      bool emptyLayer) const;
  Result<> commit(StageState& st, const json& containerConfig, const std::string& containerId,
                  const std::function<Result<>(const image::ImageLayers::LayerSink&)>& writeLayer);
  Result<> commitMeta(StageState& st, const json& probe);
  // Runs a created RUN container to its end, streaming its output.
  Result<int> runContainer(StageState& st, const std::string& id);
  void removeContainer(StageState& st, const std::string& id);

  BuilderImpl& b_;
  const BuildOptions& opts_;
  BuildOutput& out_;
  std::optional<OrderedOutput> ordered_;  // once the stages are known
  Dockerfile df_;
  BuildArgs args_;       // read-only while stages run
  size_t total_ = 0;     // the M of "Step N/M"
  // Set when the client went away or a stage failed: every stage stops
  // after its current step, a running RUN container is killed and removed.
  std::atomic<bool> cancel_{false};

  std::mutex stagesMu_;  // guards the two below
  std::vector<std::string> stageImages_;  // per stage, once built
  std::vector<bool> stageBuilt_;

  // Steps that missed the cache and are running now: the parent image and
  // the probe config (the cache key). Guarded by inflightMu_; entries stay
  // (finished) until the build ends.
  struct Inflight {
    std::string parent;
    json probe;
    bool finished = false;
  };
  std::mutex inflightMu_;
  std::condition_variable inflightCv_;
  std::vector<Inflight> inflight_;

  std::mutex cacheFromMu_;  // guards the two below
  bool cacheFromLoaded_ = false;
  std::set<std::string> cacheFromIds_;
};

}  // namespace berth::build
