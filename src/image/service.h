#pragma once
// The image service: the local image store as the API and the container
// service see it. Implemented in src/image/ on src/content (blobs),
// src/snapshot (unpacked layers) and src/store (SQLite).
//
// Thread safety: every method may be called from any thread.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/emit.h"
#include "common/filters.h"
#include "common/io.h"
#include "common/unpack_limits.h"
#include "common/result.h"

namespace berth::store {
class Database;
}
namespace berth::registry {
struct RegistryConfig;
}

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

// GET /images/json element (one per image).
struct ImageSummary {
  std::string id;
  std::string parentId;                  // "" when none
  std::vector<std::string> repoTags;     // familiar "name:tag", sorted
  std::vector<std::string> repoDigests;  // familiar "name@sha256:..."
  int64_t created = 0;                   // unix nanos
  int64_t size = 0;
  json labels;                           // object, or null when none
  // Unpacked bytes of the layers this image shares with another image
  // (dockerd's SharedSize: every layer, by chain id, that more than one
  // image references, counted over all images).
  int64_t sharedSize = 0;
};

// An image's manifest as API 1.47+ reports it (Descriptor, Manifests).
// digest empty: the image has no manifest blob (nothing to report).
struct ManifestInfo {
  std::string digest, mediaType;
  int64_t size = 0;         // bytes of the manifest blob
  int64_t contentSize = 0;  // manifest + config + layer blobs, as the manifest lists them
  std::string os, architecture, variant;  // from the image config
  std::vector<std::string> containers;    // ids of the containers that use the image
};
using ListFilters = std::map<std::string, std::vector<std::string>>;

// GET /images/{name}/json material.
struct ImageDetail {
  ImageRecord record;
  std::vector<std::string> repoDigests;
  std::string parent;                // "" when none
  std::vector<std::string> diffIds;  // RootFS.Layers
  std::vector<std::string> chainIds; // per layer, bottom first
  int64_t lastTagTime = 0;           // unix nanos, 0 = never tagged
  std::string manifestDigest;        // local OCI manifest blob, "" if none
};

struct HistoryItem {
  std::string id;  // image id, or "<missing>"
  int64_t created = 0;  // unix seconds
  std::string createdBy;
  std::string comment;
  int64_t size = 0;
  std::vector<std::string> tags;  // empty -> JSON null
};

struct TagResult {
  std::string imageId;
  std::string ref;  // familiar "name:tag"
};

// One DELETE /images record: exactly one of untagged / deleted is set.
struct DeleteItem {
  std::string untagged;
  std::string deleted;
  bool layer = false;  // deleted is a layer chain id, not an image
  int64_t size = 0;    // for a deleted layer: its unpacked size
};

struct PruneReport {
  std::vector<DeleteItem> deleted;
  int64_t spaceReclaimed = 0;  // sum of the deleted layers' sizes
};

// One image written by load: its id and the tags it got (familiar form).
struct LoadedImage {
  std::string id;
  std::vector<std::string> repoTags;
};
// Called after each layer of a load: short chain id, bytes read, layer size.
using LoadProgressFn = std::function<void(const std::string& id, int64_t current, int64_t total)>;
// Starts the response (200 application/x-tar) once every name resolved.
using OpenStreamFn = std::function<StreamWriter*()>;

// The rootfs tarball of an import: a stream the caller has (the request
// body), or an http(s) URL the service fetches (docker import URL; a URL
// without a scheme gets "http://").
struct ImportSource {
  ImportSource(BodyReader& body) : body(&body) {}  // NOLINT: implicit on purpose
  static ImportSource fromUrl(std::string url) { return ImportSource(std::move(url)); }

  BodyReader* body = nullptr;  // null when url is set
  std::string url;

 private:
  explicit ImportSource(std::string u) : url(std::move(u)) {}
};

// The image service in three roles; a caller takes the least it needs.
// Every method may be called from any thread.

// The local catalogue: what `docker image ls/inspect/history/tag/rm/prune` see.
class ImageCatalog {
 public:
  virtual ~ImageCatalog() = default;

  // Resolves a user's reference: "busybox", "busybox:latest",
  // "docker.io/library/busybox:latest", "sha256:<64hex>", a unique id prefix
  // (>= 1 hex char as Docker allows), or "name@sha256:...".
  // NotFound -> "No such image: <ref>".
  virtual Result<ImageRecord> resolve(const std::string& ref) = 0;

  // One element per image, newest first. filters (already decoded): keys
  // dangling, label, reference, before, since; others -> InvalidArgument
  // "Invalid filter 'x'". all=false hides untagged parents of other images.
  virtual Result<std::vector<ImageSummary>> list(bool all, const ListFilters& filters) = 0;
  virtual Result<ImageDetail> inspect(const std::string& ref) = 0;
  // The manifest of an image id (as list/inspect answer it). NotFound for
  // an unknown id; a digest-less ManifestInfo when it has no manifest.
  virtual Result<ManifestInfo> manifestInfo(const std::string& imageId) = 0;
  // Newest first, as GET /images/{name}/history answers.
  virtual Result<std::vector<HistoryItem>> history(const std::string& ref) = 0;
  // Adds repo[:tag] (normalised; empty tag = latest; a tag inside repo is
  // allowed) to the image ref resolves to, moving it from any other image.
  virtual Result<TagResult> tag(const std::string& ref, const std::string& repo, const std::string& tag) = 0;
  // docker rmi semantics (untag / delete, 409 conflicts with Docker's
  // messages, parents pruned unless !prune). Returns the records in order.
  virtual Result<std::vector<DeleteItem>> remove(const std::string& ref, bool force, bool prune) = 0;
  // docker image prune: filters dangling (default true: only untagged
  // images; false: every image no container uses), until, label, label!.
  virtual Result<PruneReport> prune(const ListFilters& filters) = 0;
  // The images whose parent is parentId ("" = images without a parent), in
  // no order: the build cache's candidates. Only id, config and created are
  // filled in.
  virtual Result<std::vector<ImageRecord>> children(const std::string& parentId) = 0;
};

// What the container service and the daemon need of the layer store.
class ImageLayers {
 public:
  virtual ~ImageLayers() = default;

  // Overlay lowerdirs (topmost first) of an image id, also after the image
  // was force-deleted while a row in containers still names it.
  virtual Result<std::vector<std::string>> layerDirs(const std::string& imageId) = 0;
  // docker commit: writeLayer produces an uncompressed layer tar through
  // its sink; it is stored like an imported layer on top of the layers of
  // parentId (the container's image; its layers exist even after rmi -f).
  // config is the new image config ("config", "history", "container", ...);
  // "rootfs" is filled in here, "parent" is parentId when that image still
  // exists. repoTag "" = dangling. Returns the new image id. A null
  // writeLayer adds no layer: the image has the parent's layers and the new
  // config (a build's metadata step, an empty layer in its history).
  using LayerSink = std::function<Result<>(const void* data, size_t n)>;
  virtual Result<std::string> commitLayer(const std::string& parentId, json config, const std::string& repoTag,
                                          const std::function<Result<>(const LayerSink&)>& writeLayer) = 0;
  // system df LayersSize: unpacked bytes of every layer, each counted once.
  virtual Result<int64_t> layersSize() = 0;
  // Drops layers no image and no container (containers.image_id) needs,
  // with their snapshots and blobs, and snapshot directories nothing
  // references. Call at startup and after removing a container.
  virtual Result<> garbageCollect() = 0;
};

// Images in and out: import, save/load archives, registries (pull.cpp, push.cpp).
class ImageTransfer {
 public:
  virtual ~ImageTransfer() = default;

  // Imports a rootfs tarball (plain, gzip, bzip2, xz or zstd) as a
  // single-layer image. `changes` are Dockerfile instructions (CMD, ENV, ...)
  // as docker import -c sends them; repoTag may be empty (dangling).
  // Returns the new image id. A URL source is fetched after repoTag and
  // changes were checked; its errors are dockerd's (image/url_source.h):
  // InvalidArgument for a scheme other than http/https, Internal
  // `Get "URL": ...` or "failed to GET URL with status 404 Not Found".
  virtual Result<std::string> importImage(ImportSource tarball, const std::string& repoTag,
                                          const std::vector<std::string>& changes,
                                          const std::string& message) = 0;

  // docker save: resolves every ref (NotFound "No such image: x" before
  // open is called; a name without tag saves all its tags), then writes
  // the archive (image/archive.h) to the stream open returns. An error
  // after open means the stream is broken off.
  virtual Result<> save(const std::vector<std::string>& refs, const OpenStreamFn& open) = 0;
  // docker load: unpacks the tar (docker-archive, Docker 25+ or OCI layout)
  // into a temp dir under content/ingest (removed on return), verifies
  // config and layer digests and diff ids, imports the layers and tags the
  // images. InvalidArgument for a malformed or hostile archive; nothing
  // of an image whose layers fail is referenced. keep (when set) is asked
  // with each image's config; an image it refuses is skipped (load
  // --platform, as dockerd skips the other platforms' images).
  using KeepImageFn = std::function<bool(const json& config)>;
  virtual Result<std::vector<LoadedImage>> load(BodyReader& tar, const LoadProgressFn& progress,
                                                const KeepImageFn& keep = {}) = 0;

  // One message of Docker's JSON progress stream; called from several
  // threads, never concurrently.
  using ProgressFn = std::function<void(const nlohmann::json&)>;
  // docker pull: ref "name[:tag|@digest]" (allTags: every tag of a name),
  // platform "os/arch[/variant]" or "" for the host's, registryAuth the
  // X-Registry-Auth header. NotFound / Unavailable / PermissionDenied /
  // InvalidArgument (digest mismatch) with Docker's messages.
  virtual Result<> pull(const std::string& ref, const std::string& platform, bool allTags,
                        const std::string& registryAuth, const ProgressFn& progress) = 0;
  // docker push of the local image tagged ref.
  virtual Result<> push(const std::string& ref, const std::string& registryAuth, const ProgressFn& progress) = 0;
  // daemon.json registry-mirrors, insecure-registries, max-concurrent-*.
  virtual void configureRegistries(const registry::RegistryConfig& cfg) = 0;
};

// Image names live in namespaces, as containerd keeps one per client: the
// default one ("") is Docker's (the Engine API), kCriNamespace the CRI's.
// A name (tag or digest) belongs to one namespace; image rows, layers and
// blobs are shared. An image belongs to the namespaces that name it, and one
// no namespace names (dangling) to the default one. Within a view:
//  - names resolve, list, tag, load, import and pull in its namespace only;
//  - a full image id resolves in the default namespace whoever names the
//    image (the container service and the builder run images by id), in
//    others only when the image belongs there;
//  - removing a name never deletes an image another namespace names;
//  - outside the default namespace removal follows containerd: a name is
//    only a name, removing it never conflicts with containers (their layers
//    stay while they exist), and a pull that moves a name drops the image
//    it left when nothing names that any more.
inline constexpr const char* kCriNamespace = "k8s.io";

class ImageService : public ImageCatalog, public ImageLayers, public ImageTransfer {
 public:
  // A view of the same store whose names live in namespace ns ("" =
  // Docker's). Shares everything with this service (locks, caches,
  // registry configuration); may be called on any view, and the view may
  // outlive it. Never fails.
  virtual std::unique_ptr<ImageService> inNamespace(const std::string& ns) = 0;
  // The namespace of this view's names ("" for Docker's).
  virtual const std::string& nameSpace() const = 0;
};

// Builds the image service on the shared database and
// <dataRoot>/content, <dataRoot>/snapshots (created if missing). users
// answers which containers use an image (may be empty: no users). The
// database must outlive the service. If the directories cannot be created,
// every method returns that error. limits bound import, load and every
// layer unpack (pull too): common/unpack_limits.h.
std::unique_ptr<ImageService> makeImageService(store::Database& db, const std::string& dataRoot,
                                               ImageUsersFn users, UnpackLimits limits = {});

// Registers the /images routes (list, inspect, tag, rm, import via
// /images/create?fromSrc=-, history, ...) on router. Defined in
// src/api/images_router.cpp. `emit` publishes an event (type, action, id, attrs).
}  // namespace berth::image
