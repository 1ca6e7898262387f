#pragma once
// The builder (issue 13): a Dockerfile and a context directory in, an image
// out, with the classic builder's output stream and cache.
//
// CONTRACT (session 4): declared by the lead; implemented on branch
// `build-engine` (src/build/builder*.cpp, unit tests); called by the
// /build router and context handling on branch `build-api` (api/, daemon/,
// cli/ `berth build`). Neither side changes these declarations without the
// other; additions are fine.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/filters.h"
#include "common/result.h"
#include "common/unpack_limits.h"

namespace berth::container {
class Service;
}
namespace berth::image {
class ImageService;
}

namespace berth::build {

// POST /build's query, decoded by api/ (names as dockerd's).
struct BuildOptions {
  std::string contextDir;  // an extracted context on local disk, owned by the caller
  std::string dockerfile;  // path relative to contextDir ("Dockerfile" by default); the API layer has
                           // already checked it stays inside contextDir
  std::optional<std::string> dockerfileText;  // when set, used instead of reading `dockerfile`
                                              // (remote= plain Dockerfile, `berth build -` of a Dockerfile)
  std::vector<std::string> tags;               // t= (validated references)
  bool quiet = false;                          // q
  bool noCache = false;                        // nocache
  bool pull = false;                           // pull
  bool rm = true;                              // rm: remove intermediate containers after a successful step
  bool forceRm = false;                        // forcerm: also after a failed one
  std::string target;                          // target stage
  std::map<std::string, std::optional<std::string>> buildArgs;  // buildargs (null = take from env: none here)
  std::map<std::string, std::string> labels;   // labels
  std::vector<std::string> cacheFrom;          // cachefrom images
  std::vector<std::string> extraHosts;         // extrahosts "name:ip"
  std::string networkMode;                     // networkmode ("default", "none", "host", a network)
  std::string platform;                        // platform ("" = the host's)
  int64_t shmSize = 0, memory = 0, memorySwap = 0, cpuShares = 0, cpuPeriod = 0, cpuQuota = 0;
  std::string cpusetCpus, cpusetMems;
  nlohmann::json ulimits = nlohmann::json::array();  // [{"Name":..,"Soft":..,"Hard":..}]
};

// Where the build's progress goes. The API layer turns these into the
// classic builder's JSON lines ({"stream":...}, {"aux":...}); `berth build`
// renders what it receives.
class BuildOutput {
 public:
  virtual ~BuildOutput() = default;
  // Text exactly as the classic builder prints it, newline included:
  // "Step 1/8 : FROM busybox\n", " ---> Using cache\n", RUN output as it comes.
  // Returns false when the client has gone away: the build stops, its RUN
  // container is killed and removed, nothing half-made is kept.
  virtual bool stream(std::string_view text) = 0;
  // {"ID":"sha256:..."} once the image exists (and other aux objects).
  virtual bool aux(const nlohmann::json& obj) = 0;
  // (addition, branch build-api) Called just before build() returns the
  // error of a RUN step whose command exited with a non-zero status: dockerd
  // puts that status in errorDetail.code and the docker CLI exits with it
  // ("The command '/bin/sh -c exit 3' returned a non-zero code: 3" -> 3).
  // Other errors carry no code (the CLI exits 1).
  virtual void runFailed(int exitStatus) {}
  // (addition, branch build-api) True once the client has gone away, for a
  // builder waiting without output (a silent RUN): the build stops as when
  // stream() returns false.
  virtual bool clientGone() { return false; }
};

struct BuildResult {
  std::string imageId;  // sha256:...
};

struct CachePruneOptions {
  bool all = false;
  Filters filters;          // until, id, type ... as dockerd's builder prune
  int64_t keepStorage = 0;
};
struct CachePruneReport {
  std::vector<std::string> cachesDeleted;
  uint64_t spaceReclaimed = 0;
};
struct CacheUsage {  // system df's Build Cache line, GET /system/df BuildCache
  nlohmann::json records = nlohmann::json::array();  // [{ID, Type, Size, InUse, Shared, CreatedAt, LastUsedAt, UsageCount, Description}]
  uint64_t size = 0, reclaimable = 0;
};

class Builder {
 public:
  virtual ~Builder() = default;
  // Runs the build. Errors are returned (not streamed): the API layer writes
  // them as {"errorDetail":{"code":N,"message":M},"error":M}. The message is
  // dockerd's ("The command '/bin/sh -c exit 3' returned a non-zero code: 3",
  // "COPY failed: file not found in build context or excluded by
  // .dockerignore: stat x: file does not exist", "dockerfile parse error on
  // line N: ...").
  virtual Result<BuildResult> build(const BuildOptions& opts, BuildOutput& out) = 0;
  // POST /build/prune and `builder prune`: RUN --mount=type=cache dirs and
  // other builder state (intermediate images are images: image prune).
  virtual Result<CachePruneReport> prune(const CachePruneOptions& opts) = 0;
  virtual CacheUsage usage() = 0;
};

// Where the builder keeps its own state (RUN --mount=type=cache dirs under
// <dataRoot>/build/cache/<id>). Every root path is an argument (STYLE.md 4).
struct BuilderPaths {
  std::string dataRoot;
  UnpackLimits limits;  // ADD of a local archive (common/unpack_limits.h)
};

// (addition, branch build-par) How the builder schedules a build's stages.
struct BuilderConfig {
  // How many independent stages of one build run at once: 0 = the default,
  // min(4, hardware threads) and at least 2; 1 = one after another, in file
  // order (berthd: BERTH_BUILD_PARALLEL=0). Image ids, cache keys and cache
  // hits do not depend on it.
  size_t stageWorkers = 0;
};

// BERTH_BUILD_PARALLEL's value to BuilderConfig::stageWorkers: unset or
// empty, "1", "true" -> 0 (parallel, the default); "0", "false" -> 1
// (sequential). Anything else: InvalidArgument
// `invalid BERTH_BUILD_PARALLEL value "x": want 1 or 0`.
Result<size_t> stageWorkersFromEnv(const char* value);

// The classic builder on berth's services: RUN steps are containers of
// `containers` (create, attach, start, wait, remove), every step commits an
// image through `images` (intermediate images are kept as dangling parents
// and serve as the cache). Both services must outlive the builder. Several
// builds may run at once (each on its own thread); within a build the stages
// that do not depend on each other run at once (docs/build.md, "Parallel
// stages").
std::unique_ptr<Builder> makeBuilder(container::Service& containers, image::ImageService& images,
                                     BuilderPaths paths, BuilderConfig config = {});

}  // namespace berth::build
