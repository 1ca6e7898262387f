// makeBuilder: the classic builder on the container and image services.
#include "build/builder.h"

#include "container/service.h"
#include "image/service.h"

namespace berth::build {

namespace {

class BuilderImpl final : public Builder {
 public:
  BuilderImpl(container::Service& containers, image::ImageService& images, BuilderPaths paths)
      : containers_(containers), images_(images), paths_(std::move(paths)) {}

  Result<BuildResult> build(const BuildOptions&, BuildOutput&) override {
    return makeError(Code::Unavailable, "the builder is not implemented yet");
  }
  Result<CachePruneReport> prune(const CachePruneOptions&) override { return CachePruneReport{}; }
  CacheUsage usage() override { return CacheUsage{}; }

 private:
  container::Service& containers_;
  image::ImageService& images_;
  BuilderPaths paths_;
};

}  // namespace

std::unique_ptr<Builder> makeBuilder(container::Service& containers, image::ImageService& images,
                                     BuilderPaths paths) {
  return std::make_unique<BuilderImpl>(containers, images, std::move(paths));
}

}  // namespace berth::build
