// Push: the layers of a local image (bottom first) that the registry lacks
// (HEAD first; a cross-repository mount when the image came from another
// repository of the same registry), then its config, then the manifest.
// The manifest pulled with the image is pushed verbatim when every layer it
// names is the one stored; otherwise one is written from the layer rows.
#include <sys/stat.h>

#include <atomic>
#include <thread>

#include "common/sha256.h"
#include "common/util.h"
#include "content/store.h"
#include "image/distribution.h"
#include "image/reference.h"
#include "registry/manifest.h"
#include "store/database.h"

namespace berth::image {

using json = nlohmann::json;

namespace {

std::string shortHex(const std::string& digest) { return digest.size() > 19 ? digest.substr(7, 12) : digest; }

json statusMsg(const std::string& status, const std::string& id = "") {
  json j = {{"status", status}};
  if (!id.empty()) {
    j["progressDetail"] = json::object();
    j["id"] = id;
  }
  return j;
}

struct PushLayer {
  std::string blob, mediaType, diffId;
  int64_t size = 0;
};

}  // namespace

Result<> Distribution::push(const std::string& refText, const std::string& ns, const std::string& registryAuth,
                            const ProgressFn& progressIn) {
  TRY_ASSIGN(Reference ref, parseReference(refText));
  if (!ref.digest.empty()) return makeError(Code::InvalidArgument, "cannot push a digest reference");
  ref = withDefaultTag(ref);
  TRY_ASSIGN(registry::Credentials creds, registry::decodeRegistryAuth(registryAuth));
  std::mutex progressMu;
  auto progress = [&](const json& j) {
    std::lock_guard lk(progressMu);
    if (progressIn) progressIn(j);
  };

  // The image and its layers.
  std::string imageId, manifestDigest;
  {
    TRY_ASSIGN(auto st, s_.db.query("SELECT t.image_id, i.manifest_digest FROM tags t JOIN images i ON i.id = t.image_id "
                                    "WHERE t.ns = ? AND t.ref = ?",
                                    ns, ref.familiarString()));
    TRY_ASSIGN(bool row, st.step());
    if (!row) return errorf(Code::NotFound, "An image does not exist locally with the tag: {}", ref.familiarName());
    imageId = st.colText(0);
    manifestDigest = st.colText(1);
  }
  std::vector<PushLayer> layers;
  {
    TRY_ASSIGN(auto st, s_.db.query("SELECT l.blob_digest, l.media_type, l.diff_id FROM image_layers il JOIN layers l "
                                    "ON l.chain_id = il.chain_id WHERE il.image_id = ? ORDER BY il.idx",
                                    imageId));
    for (;;) {
      TRY_ASSIGN(bool row, st.step());
      if (!row) break;
      PushLayer l{st.colText(0), st.colText(1), st.colText(2), 0};
      if (l.blob.empty()) l.blob = l.diffId;
      if (l.mediaType.empty()) l.mediaType = registry::kOciLayer;
      auto sz = s_.content.size(l.blob);
      if (!sz) return errorf(Code::FailedPrecondition, "layer blob {} of image {} is not in the store", l.blob, imageId);
      l.size = *sz;
      layers.push_back(std::move(l));
    }
  }
  TRY_ASSIGN(std::string cfgText, s_.content.read(imageId));

  // Other repositories of the same registry that have these blobs (mount sources).
  std::vector<std::string> mountFrom;
  {
    TRY_ASSIGN(auto st, s_.db.query("SELECT ref FROM digests WHERE image_id = ? AND ns = ?", imageId, ns));
    for (;;) {
      TRY_ASSIGN(bool row, st.step());
      if (!row) break;
      auto r = parseReference(st.colText(0));
      if (r && r->domain == ref.domain && r->path != ref.path) mountFrom.push_back(r->path);
    }
  }

  auto cfg = config();
  registry::Client client(ref.domain, creds, registry::isInsecureRegistry(cfg, ref.domain));
  TRY(client.ping());
  progress(statusMsg("The push refers to repository [" + ref.name() + "]"));
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) progress(statusMsg("Preparing", shortHex(it->blob)));

  std::atomic<size_t> next{0};
  std::mutex errMu;
  std::optional<Error> firstErr;
  auto pushOne = [&](const PushLayer& l) -> Result<> {
    const std::string id = shortHex(l.blob);
    TRY_ASSIGN(bool has, client.hasBlob(ref.path, l.blob));
    if (has) {
      progress(statusMsg("Layer already exists", id));
      return {};
    }
    for (auto& from : mountFrom) {
      TRY_ASSIGN(bool mounted, client.mountBlob(ref.path, l.blob, from));
      if (mounted) {
        progress(statusMsg("Mounted from " + from, id));
        return {};
      }
    }
    TRY_ASSIGN(std::string path, s_.content.path(l.blob));
    int64_t lastSent = 0;
    TRY(client.pushBlobFile(ref.path, l.blob, path, [&](int64_t cur) {
      if (cur - lastSent < (512 << 10) && cur != l.size) return;
      lastSent = cur;
      progress({{"status", "Pushing"},
                {"progressDetail", {{"current", cur}, {"total", l.size}}},
                {"id", id}});
    }));
    progress(statusMsg("Pushed", id));
    return {};
  };
  auto worker = [&] {
    for (;;) {
      size_t k = next.fetch_add(1);
      if (k >= layers.size()) return;
      {
        std::lock_guard lk(errMu);
        if (firstErr) return;
      }
      auto r = pushOne(layers[k]);
      if (!r) {
        std::lock_guard lk(errMu);
        if (!firstErr) firstErr = r.error();
      }
    }
  };
  int parallel = std::max(1, cfg.maxConcurrentUploads);
  std::vector<std::thread> threads;
  for (int t = 1; t < std::min<int>(parallel, int(layers.size())); t++) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (firstErr) return std::unexpected(*firstErr);

  TRY_ASSIGN(bool hasCfg, client.hasBlob(ref.path, imageId));
  if (!hasCfg) TRY(client.pushBlobData(ref.path, imageId, cfgText));

  // The manifest: the stored one when it names exactly these blobs.
  std::string body, mediaType;
  if (!manifestDigest.empty()) {
    if (auto text = s_.content.read(manifestDigest)) {
      if (auto m = registry::parseManifest(*text); m && m->config.digest == imageId && m->layers.size() == layers.size()) {
        bool same = true;
        for (size_t i = 0; i < layers.size(); i++) same = same && m->layers[i].digest == layers[i].blob;
        if (same) {
          body = *text;
          mediaType = m->mediaType;
        }
      }
    }
  }
  if (body.empty()) {
    bool docker = true;
    for (auto& l : layers) docker = docker && l.mediaType == registry::kDockerLayerGzip;
    json jl = json::array();
    for (auto& l : layers) jl.push_back({{"mediaType", l.mediaType}, {"size", l.size}, {"digest", l.blob}});
    mediaType = docker ? registry::kDockerManifest : registry::kOciManifest;
    json m = {{"schemaVersion", 2},
              {"mediaType", mediaType},
              {"config",
               {{"mediaType", docker ? registry::kDockerConfig : "application/vnd.oci.image.config.v1+json"},
                {"size", int64_t(cfgText.size())},
                {"digest", imageId}}},
              {"layers", jl}};
    body = m.dump(3);
  }
  TRY_ASSIGN(std::string digest, client.putManifest(ref.path, ref.tag, mediaType, body));
  progress(statusMsg(fmt::format("{}: digest: {} size: {}", ref.tag, digest, body.size())));
  progress({{"progressDetail", json::object()},
            {"aux", {{"Tag", ref.tag}, {"Digest", digest}, {"Size", int64_t(body.size())}}}});
  // Remember the pushed digest (RepoDigests) and keep the manifest pushed.
  (void)s_.content.put(body, digest);
  Reference digestRef = ref;
  digestRef.tag.clear();
  digestRef.digest = digest;
  std::lock_guard lk(s_.writeMu);
  TRY(s_.db.run("INSERT INTO digests(ns, ref, image_id, created) VALUES(?4, ?1, ?2, ?3) "
                "ON CONFLICT(ns, ref) DO UPDATE SET image_id = ?2, created = ?3",
                digestRef.familiarString(), imageId, nowNanos(), ns));
  return {};
}

}  // namespace berth::image
