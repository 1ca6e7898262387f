// ImageService on SQLite (store), blobs (content) and snapshots (snapshot).
// Locking: writeMu_ serialises every mutation (import commit, tag, remove,
// garbage collection); reads take only the database lock. ImageUsersFn is
// called with writeMu_ held but never with the database lock held.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "common/sha256.h"
#include "common/until.h"
#include "common/util.h"
#include "content/store.h"
#include "image/archive.h"
#include "image/body_source.h"
#include "image/config.h"
#include "image/distribution.h"
#include "image/reference.h"
#include "image/service.h"
#include "image/url_source.h"
#include "registry/manifest.h"
#include "snapshot/snapshotter.h"
#include "store/database.h"

namespace berth::image {

namespace {

constexpr const char* kLayerMediaType = "application/vnd.oci.image.layer.v1.tar";
constexpr const char* kConfigMediaType = "application/vnd.oci.image.config.v1+json";
constexpr const char* kManifestMediaType = "application/vnd.oci.image.manifest.v1+json";

std::unexpected<Error> noSuchImage(const std::string& ref) {
  return makeError(Code::NotFound, "No such image: " + ref);
}

std::string shortId(const std::string& id) {
  std::string h = startsWith(id, "sha256:") ? id.substr(7) : id;
  return h.substr(0, 12);
}

// ---- streaming decompression of an import body ----


// Decompresses body (plain, gzip, bzip2, xz, zstd, ...) into w, bounded by
// limits (common/unpack_limits.h).
Result<> decompressInto(BodyReader& body, content::Writer& w, const UnpackLimits& limits) {
  ExpansionGuard guard(limits, "layer");
  TRY(guard.checkFree());
  BodyArchive reader(body, BodyArchive::Format::Raw);
  struct archive* a = reader.get();
  auto fail = [&](std::string_view what) { return reader.fail(what); };
  TRY(reader.open("invalid tarball"));
  struct archive_entry* e;
  int rc = archive_read_next_header(a, &e);
  if (rc == ARCHIVE_EOF) return makeError(Code::InvalidArgument, "invalid tarball: empty");
  if (rc < ARCHIVE_WARN) return fail("invalid tarball");
  std::vector<char> buf(1 << 17);
  const bool compressed = archive_filter_count(a) > 1;
  uint64_t out = 0;
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
    if (n < 0) return fail("invalid tarball");
    if (n == 0) break;
    out += uint64_t(n);
    TRY(guard.check(uint64_t(archive_filter_bytes(a, -1)), out, compressed));
    TRY(w.write(buf.data(), size_t(n)));
  }
  return {};
}

int64_t parseCreated(const json& cfg) {
  if (cfg.is_object() && cfg.contains("created") && cfg["created"].is_string()) {
    if (auto t = parseRfc3339(cfg["created"].get<std::string>())) return *t;
  }
  return 0;
}

std::string labelsText(const json& cfg) {
  if (cfg.is_object() && cfg.contains("config") && cfg["config"].is_object()) {
    const json& c = cfg["config"];
    if (c.contains("Labels") && c["Labels"].is_object() && !c["Labels"].empty()) return c["Labels"].dump();
  }
  return "";
}

struct RefEntry {
  std::string ref;  // familiar
  bool canonical;   // digest reference
  std::string name; // familiar name (repository)
};

struct Conflict {
  bool hard = false;
  bool used = false;
  std::string message;
};

enum ConflictMask : unsigned {
  kDependentChild = 1,
  kRunningContainer = 2,
  kActiveReference = 4,
  kStoppedContainer = 8,
  kHard = kDependentChild | kRunningContainer,
  kSoft = kActiveReference | kStoppedContainer,
};

bool isImageIdPrefix(const std::string& id, const std::string& ref) {
  if (startsWith(id, ref)) return true;
  auto c = id.find(':');
  return c != std::string::npos && startsWith(std::string_view(id).substr(c + 1), ref);
}

bool isSingleReference(const std::vector<RefEntry>& refs) {
  if (refs.size() <= 1) return refs.size() == 1;
  const RefEntry* single = nullptr;
  std::set<std::string> canonicalNames;
  for (auto& r : refs) {
    if (r.canonical) {
      canonicalNames.insert(r.name);
    } else if (!single) {
      single = &r;
    } else {
      return false;
    }
  }
  if (!single) single = &refs[0];
  return canonicalNames.size() == 1 && canonicalNames.count(single->name);
}

// What every namespace view of one store shares: the database, blobs,
// snapshots, the write lock, the config cache and the registry side.
struct Core {
  Core(store::Database& d, std::string dataRoot, ImageUsersFn u, UnpackLimits l)
      : db(d),
        root(std::move(dataRoot)),
        content(root + "/content"),
        snaps(root + "/snapshots", l),
        limits(std::move(l)),
        users(std::move(u)) {
    auto r = content.init();
    if (r) r = snaps.init();
    if (!r) initError = r.error();
    dist = std::make_unique<Distribution>(StoreParts{db, content, snaps, writeMu});
  }
  store::Database& db;
  std::string root;
  content::Store content;
  snapshot::Snapshotter snaps;
  UnpackLimits limits;
  ImageUsersFn users;
  std::optional<Error> initError;
  std::mutex writeMu;
  std::mutex cacheMu;
  std::unordered_map<std::string, std::shared_ptr<const json>> configs;
  std::unordered_map<std::string, ManifestInfo> manifests;
  std::unique_ptr<Distribution> dist;
};

class Service final : public ImageService {
 public:
  Service(std::shared_ptr<Core> core, std::string ns)
      : core_(std::move(core)),
        ns_(std::move(ns)),
        db_(core_->db),
        root_(core_->root),
        content_(core_->content),
        snaps_(core_->snaps),
        limits_(core_->limits),
        users_(core_->users),
        initError_(core_->initError),
        writeMu_(core_->writeMu),
        cacheMu_(core_->cacheMu),
        configs_(core_->configs),
        manifests_(core_->manifests),
        dist_(core_->dist) {}

  std::unique_ptr<ImageService> inNamespace(const std::string& ns) override {
    return std::make_unique<Service>(core_, ns);
  }
  const std::string& nameSpace() const override { return ns_; }

  Result<> pull(const std::string& ref, const std::string& platform, bool allTags, const std::string& registryAuth,
                const ProgressFn& progress) override;
  Result<> push(const std::string& ref, const std::string& registryAuth, const ProgressFn& progress) override {
    TRY(ready());
    return dist_->push(ref, ns_, registryAuth, progress);
  }
  void configureRegistries(const registry::RegistryConfig& cfg) override { dist_->configure(cfg); }

  Result<ImageRecord> resolve(const std::string& ref) override {
    TRY(ready());
    TRY_ASSIGN(std::string id, resolveId(ref));
    return loadRecord(id);
  }

  Result<std::string> importImage(ImportSource tarball, const std::string& repoTag,
                                  const std::vector<std::string>& changes, const std::string& message) override;
  Result<std::vector<ImageSummary>> list(bool all, const ListFilters& filters) override;
  Result<ImageDetail> inspect(const std::string& ref) override;
  Result<ManifestInfo> manifestInfo(const std::string& imageId) override;
  Result<std::vector<HistoryItem>> history(const std::string& ref) override;
  Result<TagResult> tag(const std::string& ref, const std::string& repo, const std::string& tag) override;
  Result<std::vector<DeleteItem>> remove(const std::string& ref, bool force, bool prune) override;
  Result<PruneReport> prune(const ListFilters& filters) override;
  Result<> save(const std::vector<std::string>& refs, const OpenStreamFn& open) override;
  Result<std::vector<LoadedImage>> load(BodyReader& tar, const LoadProgressFn& progress,
                                        const KeepImageFn& keep) override;
  Result<std::vector<std::string>> layerDirs(const std::string& imageId) override;
  Result<> garbageCollect() override;
  Result<std::string> commitLayer(const std::string& parentId, json config, const std::string& repoTag,
                                  const std::function<Result<>(const LayerSink&)>& writeLayer) override;
  Result<int64_t> layersSize() override;
  Result<std::vector<ImageRecord>> children(const std::string& parentId) override;

 private:
  // The layer fill() writes (uncompressed) on top of parentId's layers
  // ("" = none) + the image config cfg (rootfs filled in) + ref.
  Result<std::string> addLayerImage(const std::string& parentId, json cfg, const std::optional<Reference>& ref,
                                    const std::function<Result<>(content::Writer&)>& fill);
  // With writeMu_ held: makes sure snapshot chainId exists (unpacking the
  // uncompressed layer tar that w holds unless a row and the snapshot
  // already exist) and commits w as the blob of its own digest (the diff
  // id). Returns the unpacked size.
  Result<int64_t> storeLayerLocked(content::Writer& w, const std::string& chainId);
  Result<> ready() const {
    if (initError_) return std::unexpected(*initError_);
    return {};
  }
  Result<bool> imageExists(const std::string& id) { return hasRow("SELECT 1 FROM images WHERE id = ?", id); }
  // True when the query returns a row; the statement (and the database
  // lock) is released before returning.
  Result<bool> hasRow(std::string_view sql, const std::string& arg) {
    TRY_ASSIGN(auto s, db_.query(sql, arg));
    return s.step();
  }
  // The image has a name (tag or digest) in a namespace other than ns_.
  Result<bool> namedElsewhere(const std::string& id) {
    TRY_ASSIGN(auto s, db_.query("SELECT 1 FROM tags WHERE image_id = ?1 AND ns != ?2 UNION ALL "
                                 "SELECT 1 FROM digests WHERE image_id = ?1 AND ns != ?2 LIMIT 1",
                                 id, ns_));
    return s.step();
  }
  // An image belongs to the namespaces that name it; one no namespace
  // names (dangling) belongs to the default one, as Docker keeps those.
  Result<bool> visible(const std::string& id) {
    {
      TRY_ASSIGN(auto s, db_.query("SELECT 1 FROM tags WHERE image_id = ?1 AND ns = ?2 UNION ALL "
                                   "SELECT 1 FROM digests WHERE image_id = ?1 AND ns = ?2 LIMIT 1",
                                   id, ns_));
      TRY_ASSIGN(bool row, s.step());
      if (row) return true;
    }
    if (!ns_.empty()) return false;
    TRY_ASSIGN(bool elsewhere, namedElsewhere(id));
    return !elsewhere;
  }
  // containerd's semantics outside the default namespace: a name is only
  // a name, removing it never conflicts with containers (their layers stay
  // while they exist, see garbageCollect).
  bool lenient() const { return !ns_.empty(); }
  Result<std::string> resolveId(const std::string& ref);
  Result<std::shared_ptr<const json>> configOf(const std::string& id, const std::string& text);
  Result<ImageRecord> loadRecord(const std::string& id);
  Result<std::vector<RefEntry>> refsOf(const std::string& id);
  Result<std::vector<std::string>> chainIdsOf(const std::string& id);
  Result<> removeRef(const std::string& ref, bool canonical);
  Result<std::optional<Conflict>> checkConflict(const std::string& id, unsigned mask);
  Result<> deleteHelper(const std::string& id, std::vector<DeleteItem>& records, bool force, bool prune, bool quiet);
  struct OrphanLayer {
    std::string chainId, blob;
    int64_t size = 0;
  };
  // Deletes orphan layer rows in the current transaction.
  Result<std::vector<OrphanLayer>> collectOrphanLayers();
  void removeLayerFiles(const std::vector<OrphanLayer>& layers);
  Result<std::vector<DeleteItem>> removeLocked(const std::string& ref, bool force, bool prune);

  std::shared_ptr<Core> core_;
  const std::string ns_;  // the namespace of names this view reads and writes
  store::Database& db_;
  std::string& root_;
  content::Store& content_;
  snapshot::Snapshotter& snaps_;
  UnpackLimits& limits_;
  ImageUsersFn& users_;
  std::optional<Error>& initError_;
  std::mutex& writeMu_;
  std::mutex& cacheMu_;
  std::unordered_map<std::string, std::shared_ptr<const json>>& configs_;
  std::unordered_map<std::string, ManifestInfo>& manifests_;  // by manifest digest (content never changes)
  std::unique_ptr<Distribution>& dist_;
};

Result<> Service::pull(const std::string& ref, const std::string& platform, bool allTags,
                       const std::string& registryAuth, const ProgressFn& progress) {
  TRY(ready());
  if (allTags) return dist_->pullAllTags(ref, ns_, platform, registryAuth, progress);
  if (!lenient()) return dist_->pull(ref, ns_, platform, registryAuth, progress);
  // Outside the default namespace a pull that moves a name leaves no
  // dangling image behind (containerd has none): the image the name left
  // goes when nothing names it any more.
  std::string before;
  if (auto parsed = parseReference(ref); parsed && parsed->digest.empty()) {
    if (auto id = resolveId(withDefaultTag(*parsed).familiarString())) before = *id;
  }
  TRY(dist_->pull(ref, ns_, platform, registryAuth, progress));
  if (before.empty()) return {};
  std::lock_guard lk(writeMu_);
  TRY_ASSIGN(bool named, hasRow("SELECT 1 FROM tags WHERE image_id = ?1 UNION ALL "
                                "SELECT 1 FROM digests WHERE image_id = ?1 LIMIT 1",
                                before));
  if (named) return {};
  std::vector<DeleteItem> records;
  (void)deleteHelper(before, records, false, false, true);
  return {};
}

Result<std::string> Service::resolveId(const std::string& ref) {
  // A full id names the same image in the default namespace whoever named
  // it (the container service and the builder run images by id); in other
  // namespaces only the images visible there.
  if (isValidDigest(ref) || (ref.size() == 64 && isHex(ref))) {
    std::string id = isValidDigest(ref) ? ref : "sha256:" + ref;
    TRY_ASSIGN(bool ok, imageExists(id));
    if (ok && lenient()) {
      TRY_ASSIGN(ok, visible(id));
    }
    if (ok) return id;
    return noSuchImage(ref);
  }
  std::string display = ref;
  if (auto parsed = parseReference(ref)) {
    std::string key;
    bool canonical = !parsed->digest.empty();
    if (canonical) {
      key = parsed->familiarName() + "@" + parsed->digest;
    } else {
      key = withDefaultTag(*parsed).familiarString();
      display = key;
    }
    TRY_ASSIGN(auto s, db_.query(canonical ? "SELECT image_id FROM digests WHERE ns = ? AND ref = ?"
                                           : "SELECT image_id FROM tags WHERE ns = ? AND ref = ?",
                                 ns_, key));
    TRY_ASSIGN(bool row, s.step());
    if (row) return s.colText(0);
  }
  std::string hex = startsWith(ref, "sha256:") ? ref.substr(7) : ref;
  if (!hex.empty() && hex.size() < 64 && isHex(hex)) {
    std::vector<std::string> ids;
    {
      TRY_ASSIGN(auto s, db_.query("SELECT id FROM images WHERE id >= ? AND id < ?", "sha256:" + hex,
                                   "sha256:" + hex + "g"));
      for (;;) {
        TRY_ASSIGN(bool row, s.step());
        if (!row) break;
        ids.push_back(s.colText(0));
      }
    }
    std::vector<std::string> seen;
    for (auto& id : ids) {
      TRY_ASSIGN(bool v, visible(id));
      if (v) seen.push_back(id);
      if (seen.size() > 1) break;
    }
    if (seen.size() == 1) return seen[0];
  }
  return noSuchImage(display);
}

Result<std::shared_ptr<const json>> Service::configOf(const std::string& id, const std::string& text) {
  {
    std::lock_guard lk(cacheMu_);
    auto it = configs_.find(id);
    if (it != configs_.end()) return it->second;
  }
  std::shared_ptr<const json> cfg;
  try {
    cfg = std::make_shared<const json>(json::parse(text));
  } catch (const std::exception& e) {
    return errorf(Code::Internal, "image {}: corrupt config: {}", id, e.what());
  }
  std::lock_guard lk(cacheMu_);
  configs_.emplace(id, cfg);
  return cfg;
}

Result<ImageRecord> Service::loadRecord(const std::string& id) {
  ImageRecord rec;
  rec.id = id;
  std::string text;
  {
    TRY_ASSIGN(auto s, db_.query("SELECT config, created, size FROM images WHERE id = ?", id));
    TRY_ASSIGN(bool row, s.step());
    if (!row) return noSuchImage(id);
    text = s.colText(0);
    rec.created = s.colInt(1);
    rec.size = s.colInt(2);
  }
  TRY_ASSIGN(auto cfg, configOf(id, text));
  rec.config = *cfg;
  {
    TRY_ASSIGN(auto s, db_.query("SELECT ref FROM tags WHERE image_id = ? AND ns = ? ORDER BY ref", id, ns_));
    for (;;) {
      TRY_ASSIGN(bool row, s.step());
      if (!row) break;
      rec.repoTags.push_back(s.colText(0));
    }
  }
  TRY_ASSIGN(rec.lowerDirs, layerDirs(id));
  return rec;
}

Result<std::vector<std::string>> Service::chainIdsOf(const std::string& id) {
  std::vector<std::string> out;
  TRY_ASSIGN(auto s, db_.query("SELECT chain_id FROM image_layers WHERE image_id = ? ORDER BY idx", id));
  for (;;) {
    TRY_ASSIGN(bool row, s.step());
    if (!row) break;
    out.push_back(s.colText(0));
  }
  return out;
}

Result<std::vector<std::string>> Service::layerDirs(const std::string& imageId) {
  TRY(ready());
  TRY_ASSIGN(auto chains, chainIdsOf(imageId));
  std::vector<std::string> out;
  for (auto it = chains.rbegin(); it != chains.rend(); ++it) {
    TRY_ASSIGN(std::string d, snaps_.dir(*it));
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::vector<RefEntry>> Service::refsOf(const std::string& id) {
  std::vector<RefEntry> out;
  TRY_ASSIGN(auto s, db_.query("SELECT ref, 0 FROM tags WHERE image_id = ?1 AND ns = ?2 UNION ALL "
                               "SELECT ref, 1 FROM digests WHERE image_id = ?1 AND ns = ?2 ORDER BY 1",
                               id, ns_));
  for (;;) {
    TRY_ASSIGN(bool row, s.step());
    if (!row) break;
    RefEntry e{s.colText(0), s.colInt(1) != 0, ""};
    auto p = parseReference(e.ref);
    e.name = p ? p->familiarName() : e.ref;
    out.push_back(std::move(e));
  }
  return out;
}

// ---- import ----

Result<int64_t> Service::storeLayerLocked(content::Writer& w, const std::string& chainId) {
  const std::string diffId = w.digest();
  const int64_t tarSize = w.size();
  std::optional<int64_t> known;
  {
    TRY_ASSIGN(auto s, db_.query("SELECT size FROM layers WHERE chain_id = ?", chainId));
    TRY_ASSIGN(bool row, s.step());
    if (row) known = s.colInt(0);
  }
  int64_t layerSize = 0;
  if (known && snaps_.exists(chainId)) {
    layerSize = *known;
  } else {
    // A snapshot without a row is a leftover: unpack again to learn its size.
    if (snaps_.exists(chainId)) TRY(snaps_.remove(chainId));
    auto applied = snaps_.apply(chainId, w.tempPath());
    if (!applied) return std::unexpected(applied.error());
    layerSize = applied->stats.size;
  }
  TRY(w.commit(diffId, tarSize));
  return layerSize;
}

Result<std::string> Service::importImage(ImportSource source, const std::string& repoTag,
                                         const std::vector<std::string>& changes, const std::string& message) {
  TRY(ready());
  std::optional<Reference> ref;
  if (!repoTag.empty()) {
    TRY_ASSIGN(Reference r, parseReference(repoTag));
    if (!r.digest.empty()) return makeError(Code::InvalidArgument, "cannot import digest reference");
    ref = withDefaultTag(r);
  }
  TRY_ASSIGN(json containerConfig, applyChanges(json::object(), changes));
  std::unique_ptr<BodyReader> remote;
  if (!source.body) {
    TRY_ASSIGN(remote, openUrl(source.url));
  }
  BodyReader& tarball = source.body ? *source.body : *remote;
  // dockerd: "Imported from " + the source, "-" for a request body.
  std::string comment = message.empty() ? "Imported from " + (source.body ? std::string("-") : source.url) : message;
  std::string created = formatRfc3339Nano(nowNanos());
  json cfg = {
      {"architecture", "amd64"},
      {"os", "linux"},
      {"created", created},
      {"comment", comment},
      {"config", containerConfig},
      {"history", json::array({{{"created", created}, {"comment", comment}}})},
  };
  // Body -> uncompressed layer tar in content/ingest, hashed on the way (diff id).
  return addLayerImage("", std::move(cfg), ref, [&](content::Writer& w) { return decompressInto(tarball, w, limits_); });
}

Result<std::string> Service::commitLayer(const std::string& parentId, json config, const std::string& repoTag,
                                         const std::function<Result<>(const LayerSink&)>& writeLayer) {
  TRY(ready());
  std::optional<Reference> ref;
  if (!repoTag.empty()) {
    TRY_ASSIGN(Reference r, parseReference(repoTag));
    if (!r.digest.empty()) return makeError(Code::InvalidArgument, "refusing to create a tag with a digest reference");
    ref = withDefaultTag(r);
  }
  if (!writeLayer) return addLayerImage(parentId, std::move(config), ref, nullptr);
  return addLayerImage(parentId, std::move(config), ref, [&](content::Writer& w) {
    return writeLayer([&](const void* data, size_t n) { return w.write(data, n); });
  });
}

Result<std::vector<ImageRecord>> Service::children(const std::string& parentId) {
  TRY(ready());
  std::vector<std::pair<std::string, std::string>> rows;
  std::vector<int64_t> created;
  {
    TRY_ASSIGN(auto s, db_.query("SELECT id, config, created FROM images WHERE parent = ?", parentId));
    for (;;) {
      TRY_ASSIGN(bool row, s.step());
      if (!row) break;
      rows.emplace_back(s.colText(0), s.colText(1));
      created.push_back(s.colInt(2));
    }
  }
  std::vector<ImageRecord> out;
  for (size_t i = 0; i < rows.size(); i++) {
    TRY_ASSIGN(auto cfg, configOf(rows[i].first, rows[i].second));
    ImageRecord r;
    r.id = rows[i].first;
    r.config = *cfg;
    r.created = created[i];
    out.push_back(std::move(r));
  }
  return out;
}

Result<int64_t> Service::layersSize() {
  TRY(ready());
  TRY_ASSIGN(auto s, db_.prepare("SELECT COALESCE(SUM(size), 0) FROM layers"));
  TRY_ASSIGN(bool row, s.step());
  return row ? s.colInt(0) : int64_t(0);
}

// The one "add a layer + write an image" path of import and commit.
Result<std::string> Service::addLayerImage(const std::string& parentId, json cfg, const std::optional<Reference>& ref,
                                           const std::function<Result<>(content::Writer&)>& fill) {
  // No fill: a config-only image on the parent's layers (a build's metadata step).
  std::optional<content::Writer> writer;
  std::string diffId;
  int64_t tarSize = 0;
  if (fill) {
    TRY_ASSIGN(content::Writer w, content_.ingest());
    writer.emplace(std::move(w));
    TRY(fill(*writer));
    diffId = writer->digest();
    tarSize = writer->size();
  }

  std::lock_guard lk(writeMu_);
  // The parent's layers (bottom first), also when only a container still names it.
  struct ParentLayer {
    std::string chainId, diffId, blob, mediaType;
    int64_t size = 0;
  };
  std::vector<ParentLayer> parents;
  bool parentImage = false;
  if (!parentId.empty()) {
    TRY_ASSIGN(parentImage, imageExists(parentId));
    TRY_ASSIGN(auto s, db_.query("SELECT l.chain_id, l.diff_id, l.blob_digest, l.media_type, l.size FROM image_layers il "
                                 "JOIN layers l ON l.chain_id = il.chain_id WHERE il.image_id = ? ORDER BY il.idx",
                                 parentId));
    for (;;) {
      TRY_ASSIGN(bool row, s.step());
      if (!row) break;
      parents.push_back(ParentLayer{s.colText(0), s.colText(1), s.colText(2), s.colText(3), s.colInt(4)});
    }
  }
  const std::string chainId = !fill ? (parents.empty() ? "" : parents.back().chainId)
                             : parents.empty() ? diffId
                                               : sha256Digest(parents.back().chainId + " " + diffId);
  int64_t layerSize = 0;
  if (fill) {
    TRY_ASSIGN(layerSize, storeLayerLocked(*writer, chainId));
  }

  json diffIds = json::array();
  json manifestLayers = json::array();
  int64_t size = layerSize;
  for (auto& p : parents) {
    diffIds.push_back(p.diffId);
    auto blobSize = content_.size(p.blob);
    manifestLayers.push_back({{"mediaType", p.mediaType.empty() ? kLayerMediaType : p.mediaType},
                              {"digest", p.blob},
                              {"size", blobSize ? *blobSize : int64_t(0)}});
    size += p.size;
  }
  if (fill) {
    diffIds.push_back(diffId);
    manifestLayers.push_back({{"mediaType", kLayerMediaType}, {"digest", diffId}, {"size", tarSize}});
  }
  cfg["rootfs"] = {{"type", "layers"}, {"diff_ids", diffIds}};
  std::string cfgText = cfg.dump();
  TRY_ASSIGN(std::string imageId, content_.put(cfgText));
  json manifest = {
      {"schemaVersion", 2},
      {"mediaType", kManifestMediaType},
      {"config", {{"mediaType", kConfigMediaType}, {"digest", imageId}, {"size", int64_t(cfgText.size())}}},
      {"layers", manifestLayers},
  };
  TRY_ASSIGN(std::string manifestDigest, content_.put(manifest.dump()));

  int64_t now = nowNanos();
  const std::string parentChain = parents.empty() ? "" : parents.back().chainId;
  TRY(db_.transaction([&]() -> Result<> {
    if (fill) {
      TRY(db_.run("INSERT OR IGNORE INTO layers(chain_id, diff_id, parent, size, blob_digest, media_type, created) "
                "VALUES(?, ?, ?, ?, ?, ?, ?)",
                  chainId, diffId, parentChain, layerSize, diffId, kLayerMediaType, now));
    }
    TRY(db_.run("INSERT OR IGNORE INTO images(id, config, labels, created, size, parent, manifest_digest, "
                "last_tag_time, added) VALUES(?, ?, ?, ?, ?, ?, ?, 0, ?)",
                imageId, cfgText, labelsText(cfg), parseCreated(cfg), size, parentImage ? parentId : std::string(),
                manifestDigest, now));
    for (size_t i = 0; i < parents.size(); i++)
      TRY(db_.run("INSERT OR REPLACE INTO image_layers(image_id, idx, chain_id) VALUES(?, ?, ?)", imageId,
                  int64_t(i), parents[i].chainId));
    if (fill) {
      TRY(db_.run("INSERT OR REPLACE INTO image_layers(image_id, idx, chain_id) VALUES(?, ?, ?)", imageId,
                  int64_t(parents.size()), chainId));
    }
    if (ref) {
      TRY(db_.run("INSERT INTO tags(ns, ref, image_id, created) VALUES(?4, ?1, ?2, ?3) "
                  "ON CONFLICT(ns, ref) DO UPDATE SET image_id = ?2, created = ?3",
                  ref->familiarString(), imageId, now, ns_));
      TRY(db_.run("UPDATE images SET last_tag_time = ? WHERE id = ?", now, imageId));
    }
    return {};
  }));
  return imageId;
}

// ---- list / inspect / history ----

Result<std::vector<ImageSummary>> Service::list(bool all, const ListFilters& filters) {
  TRY(ready());
  for (auto& [k, v] : filters) {
    if (k != "dangling" && k != "label" && k != "reference" && k != "before" && k != "since" && k != "until")
      return errorf(Code::InvalidArgument, "Invalid filter '{}'", k);
  }
  // until= (dockerd 25+, every API version): images created before the time
  std::optional<int64_t> until;
  if (auto it = filters.find("until"); it != filters.end())
    for (auto& v : it->second) {
      TRY_ASSIGN(int64_t t, parseUntil(v, nowNanos()));
      until = until ? std::min(*until, t) : t;
    }
  bool danglingFilter = filters.count("dangling") > 0;
  bool danglingOnly = false;
  if (danglingFilter) {
    for (auto& v : filters.at("dangling")) {
      std::string l = toLower(v);
      if (l == "true" || l == "1") {
        danglingOnly = true;
      } else if (l != "false" && l != "0") {
        return errorf(Code::InvalidArgument, "Invalid filter 'dangling={}'", v);
      }
    }
  }
  std::optional<int64_t> before, since;
  for (const char* key : {"before", "since"}) {
    auto it = filters.find(key);
    if (it == filters.end()) continue;
    for (auto& v : it->second) {
      TRY_ASSIGN(std::string id, resolveId(v));
      TRY_ASSIGN(auto s, db_.query("SELECT created FROM images WHERE id = ?", id));
      TRY_ASSIGN(bool row, s.step());
      if (!row) return noSuchImage(v);
      int64_t c = s.colInt(0);
      auto& slot = std::string(key) == "before" ? before : since;
      slot = std::string(key) == "before" ? std::min(slot.value_or(c), c) : std::max(slot.value_or(c), c);
    }
  }
  std::vector<std::pair<std::string, std::string>> labelFilters;
  if (auto it = filters.find("label"); it != filters.end()) {
    for (auto& v : it->second) {
      auto eq = v.find('=');
      labelFilters.emplace_back(v.substr(0, eq), eq == std::string::npos ? std::string("\x01") : v.substr(eq + 1));
    }
  }
  const std::vector<std::string>* refPatterns = nullptr;
  if (auto it = filters.find("reference"); it != filters.end()) refPatterns = &it->second;

  struct Row {
    ImageSummary s;
    std::string labels;
  };
  std::vector<Row> rows;
  std::unordered_map<std::string, size_t> byId;
  std::unordered_set<std::string> parents;
  {
    TRY_ASSIGN(auto s, db_.prepare("SELECT id, labels, created, size, parent FROM images"));
    for (;;) {
      TRY_ASSIGN(bool row, s.step());
      if (!row) break;
      Row r;
      r.s.id = s.colText(0);
      r.labels = s.colText(1);
      r.s.created = s.colInt(2);
      r.s.size = s.colInt(3);
      r.s.parentId = s.colText(4);
      if (!r.s.parentId.empty()) parents.insert(r.s.parentId);
      byId[r.s.id] = rows.size();
      rows.push_back(std::move(r));
    }
  }
  std::unordered_map<std::string, std::vector<std::pair<std::string, bool>>> refs;
  std::unordered_set<std::string> namedElsewhere;  // images other namespaces name
  {
    TRY_ASSIGN(auto s, db_.prepare("SELECT ref, image_id, 0, ns FROM tags UNION ALL "
                                   "SELECT ref, image_id, 1, ns FROM digests ORDER BY 1"));
    for (;;) {
      TRY_ASSIGN(bool row, s.step());
      if (!row) break;
      if (s.colText(3) != ns_) {
        namedElsewhere.insert(s.colText(1));
        continue;
      }
      refs[s.colText(1)].emplace_back(s.colText(0), s.colInt(2) != 0);
    }
  }

  std::vector<ImageSummary> out;
  for (auto& r : rows) {
    // Only the images this namespace names, and in the default one those
    // no namespace names (visible()).
    if (!refs.count(r.s.id) && (lenient() || namedElsewhere.count(r.s.id))) continue;
    if (before && r.s.created >= *before) continue;
    if (since && r.s.created <= *since) continue;
    if (until && r.s.created >= *until) continue;
    json labels = nullptr;
    if (!r.labels.empty()) {
      try {
        labels = json::parse(r.labels);
      } catch (...) {
      }
    }
    if (!labelFilters.empty()) {
      bool ok = true;
      for (auto& [k, v] : labelFilters) {
        if (!labels.is_object() || !labels.contains(k)) {
          ok = false;
        } else if (v != "\x01" && !(labels[k].is_string() && labels[k].get<std::string>() == v)) {
          ok = false;
        }
      }
      if (!ok) continue;
    }
    for (auto& [ref, canonical] : refs[r.s.id]) {
      if (refPatterns) {
        bool found = false;
        for (auto& pat : *refPatterns) {
          if (globMatch(pat, ref)) {
            found = true;
          } else if (auto p = parseReference(ref); p && globMatch(pat, p->familiarName())) {
            found = true;
          }
          if (found) break;
        }
        if (!found) continue;
      }
      (canonical ? r.s.repoDigests : r.s.repoTags).push_back(ref);
    }
    if (r.s.repoTags.empty() && r.s.repoDigests.empty()) {
      if (all || !parents.count(r.s.id)) {
        if (danglingFilter && !danglingOnly) continue;
        if (refPatterns) continue;
        r.s.repoDigests = {"<none>@<none>"};
        r.s.repoTags = {"<none>:<none>"};
      } else {
        continue;
      }
    } else if (danglingOnly && !r.s.repoTags.empty()) {
      continue;
    }
    r.s.labels = std::move(labels);
    out.push_back(std::move(r.s));
  }
  {
    // Shared sizes over every image, not only the listed ones (as dockerd).
    std::unordered_map<std::string, int64_t> shared;
    TRY_ASSIGN(auto s, db_.prepare("SELECT il.image_id, SUM(l.size) FROM image_layers il "
                                   "JOIN layers l ON l.chain_id = il.chain_id WHERE il.chain_id IN "
                                   "(SELECT chain_id FROM image_layers GROUP BY chain_id HAVING COUNT(*) > 1) "
                                   "GROUP BY il.image_id"));
    for (;;) {
      TRY_ASSIGN(bool row, s.step());
      if (!row) break;
      shared[s.colText(0)] = s.colInt(1);
    }
    for (auto& img : out)
      if (auto it = shared.find(img.id); it != shared.end()) img.sharedSize = it->second;
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ImageSummary& a, const ImageSummary& b) { return a.created > b.created; });
  return out;
}

Result<ManifestInfo> Service::manifestInfo(const std::string& imageId) {
  TRY(ready());
  std::string digest;
  {
    TRY_ASSIGN(auto s, db_.query("SELECT manifest_digest FROM images WHERE id = ?", imageId));
    TRY_ASSIGN(bool row, s.step());
    if (!row) return noSuchImage(imageId);
    digest = s.colText(0);
  }
  ManifestInfo m;
  if (digest.empty()) return m;
  bool cached = false;
  {
    std::lock_guard lk(cacheMu_);
    if (auto it = manifests_.find(digest); it != manifests_.end()) {
      m = it->second;
      cached = true;
    }
  }
  if (!cached) {
    auto text = content_.read(digest);
    if (!text) return m;  // the blob is gone: report no manifest rather than fail a listing
    m.digest = digest;
    m.size = int64_t(text->size());
    m.contentSize = m.size;
    json j = json::parse(*text, nullptr, false);
    m.mediaType = registry::detectMediaType("", *text);
    if (m.mediaType.empty()) m.mediaType = registry::kOciManifest;
    if (j.is_object()) {
      auto blobSize = [](const json& d) {
        return d.is_object() && d.contains("size") && d["size"].is_number_integer() ? d["size"].get<int64_t>() : 0;
      };
      if (j.contains("config")) m.contentSize += blobSize(j["config"]);
      if (j.contains("layers") && j["layers"].is_array())
        for (auto& l : j["layers"]) m.contentSize += blobSize(l);
    }
    std::lock_guard lk(cacheMu_);
    manifests_.emplace(digest, m);
  }
  TRY_ASSIGN(ImageRecord rec, loadRecord(imageId));
  auto str = [&](const char* k) {
    return rec.config.contains(k) && rec.config[k].is_string() ? rec.config[k].get<std::string>() : std::string();
  };
  m.os = str("os");
  m.architecture = str("architecture");
  m.variant = str("variant");
  if (users_)
    for (auto& u : users_(imageId)) m.containers.push_back(u.containerId);
  return m;
}

Result<ImageDetail> Service::inspect(const std::string& ref) {
  TRY(ready());
  TRY_ASSIGN(std::string id, resolveId(ref));
  ImageDetail d;
  TRY_ASSIGN(d.record, loadRecord(id));
  {
    TRY_ASSIGN(auto s, db_.query("SELECT parent, last_tag_time, manifest_digest FROM images WHERE id = ?", id));
    TRY_ASSIGN(bool row, s.step());
    if (!row) return noSuchImage(ref);
    d.parent = s.colText(0);
    d.lastTagTime = s.colInt(1);
    d.manifestDigest = s.colText(2);
  }
  {
    TRY_ASSIGN(auto s, db_.query("SELECT ref FROM digests WHERE image_id = ? AND ns = ? ORDER BY ref", id, ns_));
    for (;;) {
      TRY_ASSIGN(bool row, s.step());
      if (!row) break;
      d.repoDigests.push_back(s.colText(0));
    }
  }
  const json& cfg = d.record.config;
  if (cfg.contains("rootfs") && cfg["rootfs"].contains("diff_ids") && cfg["rootfs"]["diff_ids"].is_array())
    for (auto& v : cfg["rootfs"]["diff_ids"])
      if (v.is_string()) d.diffIds.push_back(v.get<std::string>());
  TRY_ASSIGN(d.chainIds, chainIdsOf(id));
  return d;
}

Result<std::vector<HistoryItem>> Service::history(const std::string& ref) {
  TRY(ready());
  TRY_ASSIGN(std::string id, resolveId(ref));
  TRY_ASSIGN(ImageRecord rec, loadRecord(id));
  std::vector<int64_t> sizes;
  {
    TRY_ASSIGN(auto s, db_.query("SELECT l.size FROM image_layers il JOIN layers l ON l.chain_id = il.chain_id "
                                 "WHERE il.image_id = ? ORDER BY il.idx",
                                 id));
    for (;;) {
      TRY_ASSIGN(bool row, s.step());
      if (!row) break;
      sizes.push_back(s.colInt(0));
    }
  }
  std::vector<HistoryItem> out;
  size_t layer = 0;
  const json& cfg = rec.config;
  if (cfg.contains("history") && cfg["history"].is_array()) {
    for (auto& h : cfg["history"]) {
      HistoryItem it;
      it.id = "<missing>";
      if (auto t = parseRfc3339(h.value("created", ""))) it.created = *t / 1000000000;
      it.createdBy = h.value("created_by", "");
      it.comment = h.value("comment", "");
      if (!h.value("empty_layer", false)) {
        if (layer < sizes.size()) it.size = sizes[layer];
        layer++;
      }
      out.insert(out.begin(), std::move(it));
    }
  }
  // Fill ids and tags walking the parent chain.
  std::string cur = id;
  for (auto& it : out) {
    it.id = cur;
    {
      TRY_ASSIGN(auto s, db_.query("SELECT ref FROM tags WHERE image_id = ? AND ns = ? ORDER BY ref", cur, ns_));
      for (;;) {
        TRY_ASSIGN(bool row, s.step());
        if (!row) break;
        it.tags.push_back(s.colText(0));
      }
    }
    TRY_ASSIGN(auto s, db_.query("SELECT parent FROM images WHERE id = ?", cur));
    TRY_ASSIGN(bool row, s.step());
    if (!row || s.colText(0).empty()) break;
    cur = s.colText(0);
  }
  return out;
}

// ---- tag / remove ----

Result<TagResult> Service::tag(const std::string& ref, const std::string& repo, const std::string& tagName) {
  TRY(ready());
  TRY_ASSIGN(Reference r, parseReference(repo));
  if (!r.digest.empty()) return makeError(Code::InvalidArgument, "refusing to create a tag with a digest reference");
  if (!tagName.empty()) {
    if (!isValidTag(tagName)) return makeError(Code::InvalidArgument, "invalid tag format");
    r.tag = tagName;
  }
  r = withDefaultTag(r);
  std::lock_guard lk(writeMu_);
  TRY_ASSIGN(std::string id, resolveId(ref));
  std::string familiar = r.familiarString();
  int64_t now = nowNanos();
  TRY(db_.transaction([&]() -> Result<> {
    TRY(db_.run("INSERT INTO tags(ns, ref, image_id, created) VALUES(?4, ?1, ?2, ?3) "
                "ON CONFLICT(ns, ref) DO UPDATE SET image_id = ?2, created = ?3",
                familiar, id, now, ns_));
    return db_.run("UPDATE images SET last_tag_time = ? WHERE id = ?", now, id);
  }));
  return TagResult{id, familiar};
}

Result<> Service::removeRef(const std::string& ref, bool canonical) {
  return db_.run(canonical ? "DELETE FROM digests WHERE ns = ? AND ref = ?" : "DELETE FROM tags WHERE ns = ? AND ref = ?",
                 ns_, ref);
}

Result<std::optional<Conflict>> Service::checkConflict(const std::string& id, unsigned mask) {
  if (mask & kDependentChild) {
    TRY_ASSIGN(auto s, db_.query("SELECT 1 FROM images WHERE parent = ? LIMIT 1", id));
    TRY_ASSIGN(bool row, s.step());
    if (row) return Conflict{true, false, "image has dependent child images"};
  }
  std::vector<ImageUser> users;
  if ((mask & (kRunningContainer | kStoppedContainer)) && users_) users = users_(id);
  if (mask & kRunningContainer) {
    for (auto& u : users)
      if (u.running) return Conflict{true, true, "image is being used by running container " + shortId(u.containerId)};
  }
  if (mask & kActiveReference) {
    TRY_ASSIGN(auto refs, refsOf(id));
    if (!refs.empty()) return Conflict{false, false, "image is referenced in multiple repositories"};
  }
  if (mask & kStoppedContainer) {
    for (auto& u : users)
      if (!u.running) return Conflict{false, true, "image is being used by stopped container " + shortId(u.containerId)};
  }
  return std::optional<Conflict>{};
}

Result<std::vector<Service::OrphanLayer>> Service::collectOrphanLayers() {
  std::vector<OrphanLayer> out;
  {
    TRY_ASSIGN(auto s, db_.prepare("SELECT chain_id, blob_digest, size FROM layers WHERE chain_id NOT IN "
                                   "(SELECT chain_id FROM image_layers)"));
    for (;;) {
      TRY_ASSIGN(bool row, s.step());
      if (!row) break;
      out.push_back(OrphanLayer{s.colText(0), s.colText(1), s.colInt(2)});
    }
  }
  for (auto& l : out) TRY(db_.run("DELETE FROM layers WHERE chain_id = ?", l.chainId));
  return out;
}

void Service::removeLayerFiles(const std::vector<OrphanLayer>& layers) {
  for (auto& [chain, blob, size] : layers) {
    (void)snaps_.remove(chain);
    if (!blob.empty()) {
      // The blob may be shared with another layer row (same diff id, other chain).
      auto used = hasRow("SELECT 1 FROM layers WHERE blob_digest = ? LIMIT 1", blob);
      if (used && !*used) (void)content_.remove(blob);
    }
  }
}

Result<> Service::deleteHelper(const std::string& id, std::vector<DeleteItem>& records, bool force, bool prune,
                               bool quiet) {
  // While another namespace names the image, only this namespace's names
  // go; so does a lenient namespace's name of an image with children.
  TRY_ASSIGN(bool elsewhere, namedElsewhere(id));
  std::optional<Conflict> conflict;
  if (!elsewhere && lenient()) {
    TRY_ASSIGN(conflict, checkConflict(id, kDependentChild));
  }
  if (elsewhere || conflict) {
    TRY_ASSIGN(auto refs, refsOf(id));
    TRY(db_.transaction([&]() -> Result<> {
      for (auto& r : refs) TRY(removeRef(r.ref, r.canonical));
      return {};
    }));
    for (auto& r : refs) records.push_back(DeleteItem{r.ref, "", false});
    return {};
  }
  unsigned mask = kHard;
  if (!force) mask |= kSoft;
  if (lenient()) mask = 0;
  TRY_ASSIGN(conflict, checkConflict(id, mask));
  if (conflict) {
    if (quiet) {
      TRY_ASSIGN(auto refs, refsOf(id));
      TRY_ASSIGN(auto c, checkConflict(id, kDependentChild));
      bool dangling = refs.empty() && !c;
      if (!dangling || conflict->used) return {};
    }
    return errorf(Code::Conflict, "conflict: unable to delete {} ({}) - {}", shortId(id),
                  conflict->hard ? "cannot be forced" : "must be forced", conflict->message);
  }
  std::string parent, manifest;
  {
    TRY_ASSIGN(auto s, db_.query("SELECT parent, manifest_digest FROM images WHERE id = ?", id));
    TRY_ASSIGN(bool row, s.step());
    if (!row) return noSuchImage(id);
    parent = s.colText(0);
    manifest = s.colText(1);
  }
  bool inUse = users_ && !users_(id).empty();
  TRY_ASSIGN(auto refs, refsOf(id));
  std::vector<OrphanLayer> orphans;
  TRY(db_.transaction([&]() -> Result<> {
    for (auto& r : refs) TRY(removeRef(r.ref, r.canonical));
    TRY(db_.run("DELETE FROM images WHERE id = ?", id));
    if (!inUse)
      TRY(db_.run("DELETE FROM image_layers WHERE image_id = ?1 AND NOT EXISTS "
                  "(SELECT 1 FROM containers WHERE image_id = ?1)",
                  id));
    TRY_ASSIGN(orphans, collectOrphanLayers());
    return {};
  }));
  for (auto& r : refs) records.push_back(DeleteItem{r.ref, "", false});
  {
    std::lock_guard lk(cacheMu_);
    configs_.erase(id);
  }
  (void)content_.remove(id);
  if (isValidDigest(manifest)) (void)content_.remove(manifest);
  removeLayerFiles(orphans);
  records.push_back(DeleteItem{"", id, false});
  for (auto& l : orphans) records.push_back(DeleteItem{"", l.chainId, true, l.size});
  if (!prune || parent.empty()) return {};
  return deleteHelper(parent, records, false, true, true);
}

Result<std::vector<DeleteItem>> Service::remove(const std::string& ref, bool force, bool prune) {
  TRY(ready());
  std::lock_guard lk(writeMu_);
  return removeLocked(ref, force, prune);
}

Result<std::vector<DeleteItem>> Service::removeLocked(const std::string& ref, bool force, bool prune) {
  TRY_ASSIGN(std::string id, resolveId(ref));
  {
    // resolveId answers any full id in the default namespace; removing
    // takes only what this namespace sees.
    TRY_ASSIGN(bool v, visible(id));
    if (!v) return noSuchImage(ref);
  }
  std::vector<DeleteItem> records;
  TRY_ASSIGN(auto repoRefs, refsOf(id));
  bool removedRepositoryRef = false;
  if (!isImageIdPrefix(id, ref)) {
    TRY_ASSIGN(Reference parsed, parseReference(ref));
    if (!force && !lenient() && isSingleReference(repoRefs) && users_) {
      auto users = users_(id);
      if (!users.empty())
        return errorf(Code::Conflict,
                      "conflict: unable to remove repository reference \"{}\" (must force) - container {} is using "
                      "its referenced image {}",
                      ref, shortId(users[0].containerId), shortId(id));
    }
    bool canonical = !parsed.digest.empty();
    std::string key = canonical ? parsed.familiarName() + "@" + parsed.digest : withDefaultTag(parsed).familiarString();
    TRY(removeRef(key, canonical));
    records.push_back(DeleteItem{key, "", false});
    TRY_ASSIGN(repoRefs, refsOf(id));
    if (!canonical) {
      std::string name = parsed.familiarName();
      bool foundTag = false;
      for (auto& r : repoRefs)
        if (!r.canonical && r.name == name) foundTag = true;
      if (!foundTag) {
        std::vector<RefEntry> remaining;
        for (auto& r : repoRefs) {
          if (r.canonical && r.name == name) {
            TRY(removeRef(r.ref, true));
            records.push_back(DeleteItem{r.ref, "", false});
          } else {
            remaining.push_back(r);
          }
        }
        repoRefs = std::move(remaining);
      }
    }
    if (!repoRefs.empty()) return records;
    removedRepositoryRef = true;
  } else if (isSingleReference(repoRefs)) {
    unsigned mask = kHard;
    if (!force) mask |= kSoft & ~kActiveReference;
    if (lenient()) mask = 0;
    TRY_ASSIGN(auto conflict, checkConflict(id, mask));
    if (conflict)
      return errorf(Code::Conflict, "conflict: unable to delete {} ({}) - {}", shortId(id),
                    conflict->hard ? "cannot be forced" : "must be forced", conflict->message);
    for (auto& r : repoRefs) {
      TRY(removeRef(r.ref, r.canonical));
      records.push_back(DeleteItem{r.ref, "", false});
    }
  }
  TRY(deleteHelper(id, records, force, prune, removedRepositoryRef));
  return records;
}

bool labelsMatch(const json& labels, const std::string& f) {
  auto eq = f.find('=');
  std::string k = f.substr(0, eq);
  if (!labels.is_object() || !labels.contains(k)) return false;
  if (eq == std::string::npos) return true;
  return labels[k].is_string() && labels[k].get<std::string>() == f.substr(eq + 1);
}

Result<PruneReport> Service::prune(const ListFilters& filters) {
  TRY(ready());
  for (auto& [k, v] : filters)
    if (k != "dangling" && k != "until" && k != "label" && k != "label!")
      return errorf(Code::InvalidArgument, "Invalid filter '{}'", k);
  bool danglingOnly = true;
  if (auto it = filters.find("dangling"); it != filters.end()) {
    for (auto& v : it->second) {
      std::string l = toLower(v);
      if (l == "false" || l == "0") {
        danglingOnly = false;
      } else if (l != "true" && l != "1") {
        return errorf(Code::InvalidArgument, "Invalid filter 'dangling={}'", v);
      }
    }
  }
  std::optional<int64_t> until;
  if (auto it = filters.find("until"); it != filters.end())
    for (auto& v : it->second) {
      TRY_ASSIGN(int64_t t, parseUntil(v, nowNanos()));
      until = t;
    }
  std::lock_guard lk(writeMu_);
  struct Cand {
    std::string id, labels;
    int64_t created;
  };
  std::vector<Cand> cands;
  {
    // Heads only (no children): parents are pruned through their children.
    TRY_ASSIGN(auto s, db_.prepare("SELECT id, labels, created FROM images i WHERE NOT EXISTS "
                                   "(SELECT 1 FROM images c WHERE c.parent = i.id) ORDER BY created"));
    for (;;) {
      TRY_ASSIGN(bool row, s.step());
      if (!row) break;
      cands.push_back(Cand{s.colText(0), s.colText(1), s.colInt(2)});
    }
  }
  PruneReport rep;
  for (auto& c : cands) {
    if (until && c.created >= *until) continue;
    json labels = c.labels.empty() ? json() : json::parse(c.labels, nullptr, false);
    bool ok = true;
    if (auto it = filters.find("label"); it != filters.end())
      for (auto& f : it->second) ok = ok && labelsMatch(labels, f);
    if (auto it = filters.find("label!"); it != filters.end())
      for (auto& f : it->second) ok = ok && !labelsMatch(labels, f);
    if (!ok) continue;
    if (users_ && !users_(c.id).empty()) continue;
    TRY_ASSIGN(bool v, visible(c.id));
    if (!v) continue;
    TRY_ASSIGN(auto refs, refsOf(c.id));
    if (danglingOnly && !refs.empty()) continue;
    std::vector<DeleteItem> items;
    if (!refs.empty()) {
      for (auto& r : refs) {
        auto res = removeLocked(r.ref, false, true);
        if (res) items.insert(items.end(), res->begin(), res->end());
      }
    } else {
      auto res = removeLocked(c.id, false, true);
      if (res) items = std::move(*res);
    }
    for (auto& it : items) {
      if (it.layer) rep.spaceReclaimed += it.size;
      rep.deleted.push_back(std::move(it));
    }
  }
  return rep;
}

// ---- save / load ----

Result<> Service::save(const std::vector<std::string>& refs, const OpenStreamFn& open) {
  TRY(ready());
  std::vector<std::string> order;
  std::map<std::string, std::vector<std::string>> tagsOf;
  auto add = [&](const std::string& id, const std::string& tag) {
    if (!tagsOf.count(id)) order.push_back(id);
    auto& v = tagsOf[id];
    if (!tag.empty() && std::find(v.begin(), v.end(), tag) == v.end()) v.push_back(tag);
  };
  for (auto& ref : refs) {
    auto parsed = parseReference(ref);
    if (parsed && parsed->nameOnly() && !(ref.size() == 64 && isHex(ref))) {
      // A repository name saves every tag of it (moby's tarexport).
      std::string name = parsed->familiarName();
      bool any = false;
      TRY_ASSIGN(auto s, db_.query("SELECT ref, image_id FROM tags WHERE ns = ? ORDER BY ref", ns_));
      for (;;) {
        TRY_ASSIGN(bool row, s.step());
        if (!row) break;
        auto p = parseReference(s.colText(0));
        if (p && p->familiarName() == name) add(s.colText(1), s.colText(0)), any = true;
      }
      if (any) continue;
    }
    TRY_ASSIGN(std::string id, resolveId(ref));
    std::string tag;
    if (parsed && parsed->digest.empty() && !isImageIdPrefix(id, ref)) tag = withDefaultTag(*parsed).familiarString();
    add(id, tag);
  }
  std::vector<archive::SaveImage> images;
  for (auto& id : order) {
    archive::SaveImage img;
    img.repoTags = tagsOf[id];
    {
      TRY_ASSIGN(auto s, db_.query("SELECT config FROM images WHERE id = ?", id));
      TRY_ASSIGN(bool row, s.step());
      if (!row) return noSuchImage(id);
      img.configText = s.colText(0);
    }
    TRY_ASSIGN(auto s, db_.query("SELECT l.blob_digest, l.media_type FROM image_layers il "
                                 "JOIN layers l ON l.chain_id = il.chain_id WHERE il.image_id = ? ORDER BY il.idx",
                                 id));
    for (;;) {
      TRY_ASSIGN(bool row, s.step());
      if (!row) break;
      archive::SaveImage::Layer l;
      l.digest = s.colText(0);
      l.mediaType = s.colText(1).empty() ? kLayerMediaType : s.colText(1);
      TRY_ASSIGN(l.path, content_.path(l.digest));
      auto size = content_.size(l.digest);
      if (!size) return errorf(Code::Internal, "image {}: layer blob {} is missing", shortId(id), l.digest);
      l.size = *size;
      img.layers.push_back(std::move(l));
    }
    images.push_back(std::move(img));
  }
  StreamWriter* out = open();
  if (!out) return makeError(Code::Cancelled, "client went away");
  return archive::writeArchive(images, *out);
}

namespace {

// Reads a file, hashing the raw bytes (to check a blob digest).
class HashingFileReader : public BodyReader {
 public:
  explicit HashingFileReader(int fd) : fd_(fd) {}
  Result<size_t> read(char* buf, size_t n) override {
    for (;;) {
      ssize_t k = ::read(fd_, buf, n);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) return sysError(errno, "read layer");
      hash_.update(buf, size_t(k));
      size_ += k;
      return size_t(k);
    }
  }
  std::string digest() { return "sha256:" + hash_.hex(); }
  int64_t size() const { return size_; }

 private:
  int fd_;
  Sha256 hash_;
  int64_t size_ = 0;
};

}  // namespace

Result<std::vector<LoadedImage>> Service::load(BodyReader& tar, const LoadProgressFn& progress,
                                               const KeepImageFn& keep) {
  TRY(ready());
  std::string tmp = content_.ingestDir() + "/load-" + randomHexId().substr(0, 16);
  TRY(mkdirAll(tmp, 0700));
  ScopeExit cleanup([&] { (void)removeAll(tmp); });
  TRY(archive::extractArchive(tar, tmp, limits_));
  TRY_ASSIGN(auto images, archive::readLayout(tmp));
  if (images.empty()) return makeError(Code::InvalidArgument, "invalid archive: no images");
  std::vector<LoadedImage> out;
  for (auto& img : images) {
    TRY_ASSIGN(std::string cfgText, readFile(img.configPath));
    const std::string imageId = sha256Digest(cfgText);
    if (!img.configDigest.empty() && img.configDigest != imageId)
      return errorf(Code::InvalidArgument, "invalid archive: config digest mismatch: expected {}, got {}",
                    img.configDigest, imageId);
    json cfg;
    try {
      cfg = json::parse(cfgText);
    } catch (const std::exception& e) {
      return errorf(Code::InvalidArgument, "invalid archive: image config: {}", e.what());
    }
    if (keep && !keep(cfg)) continue;
    std::vector<std::string> diffIds;
    if (cfg.is_object() && cfg.contains("rootfs") && cfg["rootfs"].is_object() &&
        cfg["rootfs"].contains("diff_ids") && cfg["rootfs"]["diff_ids"].is_array())
      for (auto& d : cfg["rootfs"]["diff_ids"])
        if (d.is_string()) diffIds.push_back(d.get<std::string>());
    if (diffIds.size() != img.layers.size())
      return errorf(Code::InvalidArgument, "invalid manifest, layers length mismatch: expected {}, got {}",
                    diffIds.size(), img.layers.size());
    std::vector<Reference> tags;
    for (auto& t : img.repoTags) {
      TRY_ASSIGN(Reference r, parseReference(t));
      if (!r.digest.empty()) return errorf(Code::InvalidArgument, "invalid archive: digest reference {}", t);
      tags.push_back(withDefaultTag(r));
    }
    // Decompress every layer into an ingest file (diff id) before locking.
    std::vector<content::Writer> writers;
    std::vector<int64_t> fileSizes;
    for (size_t i = 0; i < img.layers.size(); i++) {
      auto& l = img.layers[i];
      UniqueFd fd(::open(l.path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd) return sysError(errno, "open {}", l.path);
      HashingFileReader reader(fd.get());
      TRY_ASSIGN(content::Writer w, content_.ingest());
      auto r = decompressInto(reader, w, limits_);
      if (!r) return std::unexpected(r.error().wrap("layer " + std::to_string(i)));
      if (!l.digest.empty() && reader.digest() != l.digest)
        return errorf(Code::InvalidArgument, "invalid archive: digest mismatch for layer {}: expected {}, got {}",
                      i, l.digest, reader.digest());
      if (w.digest() != diffIds[i])
        return errorf(Code::InvalidArgument, "invalid diffID for layer {}: expected \"{}\", got \"{}\"", i,
                      diffIds[i], w.digest());
      fileSizes.push_back(reader.size());
      writers.push_back(std::move(w));
    }
    std::lock_guard lk(writeMu_);
    struct Row {
      std::string chain, diff, parent;
      int64_t size, tarSize;
    };
    std::vector<Row> rows;
    std::string chain;
    int64_t total = 0;
    for (size_t i = 0; i < writers.size(); i++) {
      std::string diff = writers[i].digest();
      std::string parent = chain;
      chain = i == 0 ? diff : sha256Digest(chain + " " + diff);
      int64_t tarSize = writers[i].size();
      TRY_ASSIGN(int64_t size, storeLayerLocked(writers[i], chain));
      total += size;
      rows.push_back(Row{chain, diff, parent, size, tarSize});
      if (progress) progress(shortId(chain), fileSizes[i], fileSizes[i]);
    }
    TRY(content_.put(cfgText, imageId));
    json layersJson = json::array();
    for (auto& r : rows) layersJson.push_back({{"mediaType", kLayerMediaType}, {"digest", r.diff}, {"size", r.tarSize}});
    json manifest = {
        {"schemaVersion", 2},
        {"mediaType", kManifestMediaType},
        {"config", {{"mediaType", kConfigMediaType}, {"digest", imageId}, {"size", int64_t(cfgText.size())}}},
        {"layers", layersJson},
    };
    TRY_ASSIGN(std::string manifestDigest, content_.put(manifest.dump()));
    int64_t now = nowNanos();
    TRY(db_.transaction([&]() -> Result<> {
      for (auto& r : rows)
        TRY(db_.run("INSERT OR IGNORE INTO layers(chain_id, diff_id, parent, size, blob_digest, media_type, created) "
                    "VALUES(?, ?, ?, ?, ?, ?, ?)",
                    r.chain, r.diff, r.parent, r.size, r.diff, kLayerMediaType, now));
      TRY(db_.run("INSERT OR IGNORE INTO images(id, config, labels, created, size, parent, manifest_digest, "
                  "last_tag_time, added) VALUES(?, ?, ?, ?, ?, '', ?, 0, ?)",
                  imageId, cfgText, labelsText(cfg), parseCreated(cfg), total, manifestDigest, now));
      for (size_t i = 0; i < rows.size(); i++)
        TRY(db_.run("INSERT OR REPLACE INTO image_layers(image_id, idx, chain_id) VALUES(?, ?, ?)", imageId,
                    int64_t(i), rows[i].chain));
      for (auto& t : tags) {
        TRY(db_.run("INSERT INTO tags(ns, ref, image_id, created) VALUES(?4, ?1, ?2, ?3) "
                    "ON CONFLICT(ns, ref) DO UPDATE SET image_id = ?2, created = ?3",
                    t.familiarString(), imageId, now, ns_));
        TRY(db_.run("UPDATE images SET last_tag_time = ? WHERE id = ?", now, imageId));
      }
      return {};
    }));
    LoadedImage li{imageId, {}};
    for (auto& t : tags) li.repoTags.push_back(t.familiarString());
    out.push_back(std::move(li));
  }
  return out;
}

Result<> Service::garbageCollect() {
  TRY(ready());
  std::lock_guard lk(writeMu_);
  std::vector<OrphanLayer> orphans;
  TRY(db_.transaction([&]() -> Result<> {
    TRY(db_.exec("DELETE FROM image_layers WHERE image_id NOT IN (SELECT id FROM images) "
                 "AND image_id NOT IN (SELECT image_id FROM containers)"));
    TRY_ASSIGN(orphans, collectOrphanLayers());
    return {};
  }));
  removeLayerFiles(orphans);
  // Snapshot directories without a row (a crash between unpack and commit).
  std::vector<std::string> dirs;
  if (DIR* d = ::opendir(snaps_.root().c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n.size() == 64 && isHex(n)) dirs.push_back("sha256:" + n);
    }
    ::closedir(d);
  }
  for (auto& chain : dirs) {
    TRY_ASSIGN(bool known, hasRow("SELECT 1 FROM layers WHERE chain_id = ?", chain));
    if (!known) (void)snaps_.remove(chain);
  }
  return {};
}

}  // namespace

std::unique_ptr<ImageService> makeImageService(store::Database& db, const std::string& dataRoot, ImageUsersFn users,
                                               UnpackLimits limits) {
  return std::make_unique<Service>(std::make_shared<Core>(db, dataRoot, std::move(users), std::move(limits)), "");
}

}  // namespace berth::image
