#pragma once
// The image service: the local image store as the API and the container
// service see it. Implemented in src/image/ on src/content (blobs),
// src/snapshot (unpacked layers) and src/store (SQLite).
//
// Thread safety: every method may be called from any thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/http.h"
#include "common/result.h"

namespace berth::image {

using json = nlohmann::json;

// What a container needs to run an image.
struct ImageRecord {
  std::string id;                 // "sha256:<64hex>" = digest of the config blob
  json config;                    // the OCI/Docker image config document
  std::vector<std::string> repoTags;   // short form, "busybox:latest"
  std::vector<std::string> lowerDirs;  // snapshot dirs for overlay lowerdir, topmost first
  int64_t size = 0;               // sum of layer sizes (unpacked)
  int64_t created = 0;            // unix nanos from the config's "created"
};

// Who uses an image: answered by the container service so that rmi and prune
// can refuse (409) or skip. Keeps the image service free of containers.
struct ImageUser {
  std::string containerId;
  bool running = false;
};
using ImageUsersFn = std::function<std::vector<ImageUser>(const std::string& imageId)>;

class ImageService {
 public:
  virtual ~ImageService() = default;

  // Resolves a user's reference: "busybox", "busybox:latest",
  // "docker.io/library/busybox:latest", "sha256:<64hex>", a unique id prefix
  // (>= 1 hex char as Docker allows), or "name@sha256:...".
  // NotFound -> "No such image: <ref>".
  virtual Result<ImageRecord> resolve(const std::string& ref) = 0;

  // Imports a rootfs tarball (plain, gzip, bzip2, xz or zstd) as a
  // single-layer image. `changes` are Dockerfile instructions (CMD, ENV, ...)
  // as docker import -c sends them; repoTag may be empty (dangling).
  // Returns the new image id.
  virtual Result<std::string> importImage(api::BodyReader& tarball, const std::string& repoTag,
                                          const std::vector<std::string>& changes,
                                          const std::string& message) = 0;
};

// Registers the /images routes (list, inspect, tag, rm, import via
// /images/create?fromSrc=-, history, ...) on router. Defined in
// src/api/images_router.cpp. `emit` publishes an event (type, action, id, attrs).
using EmitFn = std::function<void(const std::string& type, const std::string& action,
                                  const std::string& id, const nlohmann::json& attributes)>;

}  // namespace berth::image
