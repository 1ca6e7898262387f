#pragma once
// The builder's implementation classes, shared by builder.cpp (stages,
// metadata steps, cache), build_run.cpp (RUN) and build_copy.cpp (COPY/ADD)
// and the cache mounts (cache_mounts.cpp). Not an interface: only src/build/
// includes it.

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "build/builder.h"
#include "build/copy.h"
#include "build/dispatch.h"
#include "build/dockerfile.h"
#include "image/service.h"

namespace berth::build {

class BuilderImpl final : public Builder {
 public:
  BuilderImpl(container::Service& containers, image::ImageService& images, BuilderPaths paths);

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
  std::mutex cacheMu_;
};

struct StageState {
  std::string name;
  std::string imageId;  // the current image ("" = scratch, nothing committed yet)
  json imageConfig;     // its whole config document
  json runConfig;       // its "config" with this stage's changes
  BuildArgs args;
  bool cmdSet = false;
  std::string maintainer;
};

// One build: the classic builder's dispatch over the stages.
class BuildRun {
 public:
  BuildRun(BuilderImpl& b, const BuildOptions& opts, BuildOutput& out);
  Result<BuildResult> run();

 private:
  bool say(std::string_view text);
  Result<> checkGone();
  void printStep(const std::string& original);
  Result<std::string> readDockerfile();
  Result<std::vector<bool>> neededStages(int target);
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

  Result<bool> probeCache(StageState& st, const json& probe);
  bool inCacheFrom(const std::string& id);
  json imageConfigFor(const StageState& st, const json& containerConfig, const std::string& containerId,
                      bool emptyLayer) const;
  Result<> commit(StageState& st, const json& containerConfig, const std::string& containerId,
                  const std::function<Result<>(const image::ImageLayers::LayerSink&)>& writeLayer);
  Result<> commitMeta(StageState& st, const json& probe);
  // Runs a created RUN container to its end, streaming its output.
  Result<int> runContainer(const std::string& id);
  void removeContainer(const std::string& id);

  BuilderImpl& b_;
  const BuildOptions& opts_;
  BuildOutput& out_;
  Dockerfile df_;
  BuildArgs args_;
  std::vector<std::string> stageImages_;
  size_t currentStage_ = 0;
  size_t step_ = 0, total_ = 0;
  std::atomic<bool> gone_{false};  // set by the RUN output thread too
  bool cacheFromLoaded_ = false;
  std::set<std::string> cacheFromIds_;
};

}  // namespace berth::build
