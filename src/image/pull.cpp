// Pull: resolve (mirrors first for docker.io), select the platform, fetch
// the config, then every missing layer in parallel. Each layer is streamed
// in one pass: the registry's bytes go to the content store (hashed: the
// distribution digest), through zlib (hashed again: the diff id) and down a
// pipe into the unpacker, which writes a temp snapshot directory. Only when
// every digest checks out are the snapshots renamed into place and the rows
// written in one transaction, under the store's write lock.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "common/fd.h"
#include "common/sha256.h"
#include "common/util.h"
#include "content/store.h"
#include "image/distribution.h"
#include "image/reference.h"
#include "registry/hosts.h"
#include "registry/manifest.h"
#include "snapshot/snapshotter.h"
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

// go-units HumanSize (decimal, 3 significant digits), as Docker's bars use.
std::string humanSize(double n) {
  static const char* u[] = {"B", "kB", "MB", "GB", "TB"};
  int i = 0;
  while (n >= 1000 && i < 4) n /= 1000, i++;
  return fmt::format("{:.3g}{}", n, u[i]);
}

std::string progressBar(int64_t cur, int64_t total) {
  if (total <= 0) return fmt::format("{:>8}", humanSize(double(cur)));
  int pct = int(double(cur) / double(total) * 100) / 2;
  pct = std::clamp(pct, 0, 50);
  std::string bar = "[" + std::string(size_t(pct), '=') + ">" + std::string(size_t(50 - pct), ' ') + "] ";
  return bar + fmt::format("{:>8}/{}", humanSize(double(cur)), humanSize(double(total)));
}

json progressMsg(const std::string& status, const std::string& id, int64_t cur, int64_t total) {
  return {{"status", status},
          {"progressDetail", {{"current", cur}, {"total", total}}},
          {"progress", progressBar(cur, total)},
          {"id", id}};
}

int64_t parseCreatedNs(const json& cfg) {
  if (cfg.is_object() && cfg.contains("created") && cfg["created"].is_string())
    if (auto t = parseRfc3339(cfg["created"].get<std::string>())) return *t;
  return 0;
}

std::string labelsOf(const json& cfg) {
  if (cfg.is_object() && cfg.contains("config") && cfg["config"].is_object()) {
    const json& c = cfg["config"];
    if (c.contains("Labels") && c["Labels"].is_object() && !c["Labels"].empty()) return c["Labels"].dump();
  }
  return "";
}

Result<> writeAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return sysError(errno, "write layer to unpacker");
    }
    p += w;
    n -= size_t(w);
  }
  return {};
}

// Compressed bytes in, uncompressed bytes hashed and passed to the unpacker.
class LayerStream {
 public:
  explicit LayerStream(int out) : out_(out) {}
  ~LayerStream() {
    if (mode_ == Mode::Gzip) inflateEnd(&z_);
  }
  // Never fails for bad data: the download goes on so that the distribution
  // digest is checked first (a tampered blob is a digest error, not a gzip
  // one); finish() reports what went wrong. Fails only when the unpacker's
  // pipe breaks unexpectedly.
  Result<> feed(const char* data, size_t n) {
    if (bad_) return {};
    auto r = feedInner(data, n);
    if (!r && r.error().code == Code::InvalidArgument) {
      bad_ = r.error();
      return {};
    }
    return r;
  }
  // After the last byte: the diff id ("" when it cannot be known).
  Result<std::string> finish() {
    if (bad_) return std::unexpected(*bad_);
    if (mode_ == Mode::Gzip && !ended_) return makeError(Code::InvalidArgument, "gzip: unexpected EOF");
    if (mode_ == Mode::Opaque) return std::string();
    return "sha256:" + diff_.hex();
  }

 private:
  Result<> feedInner(const char* data, size_t n) {
    if (mode_ == Mode::Unknown) {
      // Decide from the first bytes (a 1-byte first chunk is treated as plain).
      if (n >= 2 && uint8_t(data[0]) == 0x1f && uint8_t(data[1]) == 0x8b) {
        mode_ = Mode::Gzip;
        if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) return makeError(Code::Internal, "inflateInit2 failed");
      } else if (n >= 4 && uint8_t(data[0]) == 0x28 && uint8_t(data[1]) == 0xb5 && uint8_t(data[2]) == 0x2f &&
                 uint8_t(data[3]) == 0xfd) {
        mode_ = Mode::Opaque;  // zstd: the unpacker decompresses, the diff id is not checked
      } else {
        mode_ = Mode::Plain;
      }
    }
    if (mode_ != Mode::Gzip) {
      if (mode_ == Mode::Plain) diff_.update(data, n);
      return emit(data, n);
    }
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    z_.avail_in = uInt(n);
    while (z_.avail_in > 0) {
      if (ended_) {
        // Concatenated gzip members (pigz, some registries' tools).
        if (inflateReset(&z_) != Z_OK) return makeError(Code::Internal, "inflateReset failed");
        ended_ = false;
      }
      z_.next_out = reinterpret_cast<Bytef*>(buf_);
      z_.avail_out = sizeof buf_;
      int rc = inflate(&z_, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
        return errorf(Code::InvalidArgument, "gzip: invalid layer data: {}", z_.msg ? z_.msg : "inflate error");
      size_t got = sizeof buf_ - z_.avail_out;
      if (got > 0) {
        diff_.update(buf_, got);
        TRY(emit(buf_, got));
      }
      if (rc == Z_STREAM_END) ended_ = true;
      if (rc == Z_BUF_ERROR && got == 0) break;
    }
    return {};
  }
  Result<> emit(const char* p, size_t n) {
    if (pipeGone_) return {};
    auto r = writeAll(out_, p, n);
    if (!r && r.error().err == EPIPE) {
      pipeGone_ = true;  // the unpacker stopped reading; its result tells why
      return {};
    }
    return r;
  }
  enum class Mode { Unknown, Gzip, Plain, Opaque };
  int out_;
  Mode mode_ = Mode::Unknown;
  z_stream z_{};
  bool ended_ = false;
  bool pipeGone_ = false;
  std::optional<Error> bad_;
  Sha256 diff_;
  char buf_[256 * 1024];
};

struct LayerJob {
  size_t index = 0;
  registry::Descriptor desc;
  std::string diffId, chainId, parentChain;
  bool present = false;  // row + snapshot already in the store
  // results
  std::string tmpDir;  // unpacked, not yet renamed
  int64_t size = 0;
  std::optional<Error> error;
};

std::string notFoundMessage(const Reference& r, const Error& e) {
  std::string text = e.message;
  if (startsWith(text, "name unknown")) return fmt::format("repository {} not found: {}", r.familiarName(), text);
  return fmt::format("manifest for {} not found: {}", r.familiarString(), text);
}

}  // namespace

Result<std::vector<Distribution::Endpoint>> Distribution::endpoints(const std::string& domain,
                                                                    const registry::Credentials& creds,
                                                                    bool resolveTag) {
  auto cfg = config();
  std::vector<Endpoint> out;
  // A hosts.toml for the registry decides alone: its mirrors in order, then
  // its server (docs/registry-hosts.md).
  TRY_ASSIGN(auto hosts, registry::loadHostsConfig(cfg.hostsDir, domain));
  if (hosts) {
    for (auto& h : hosts->hosts) {
      if (!h.pull || (resolveTag && !h.resolve)) continue;
      const std::string hp = h.hostPort();
      // The request's credentials go to the registry itself only, as
      // containerd's CRI sends them: a mirror on another host gets none.
      bool own = h.server || hp == domain || hp == registry::registryHost(domain);
      bool insecure = h.skipVerify || registry::isInsecureRegistry(cfg, hp);
      auto c = std::make_unique<registry::Client>(domain, own ? creds : registry::Credentials{}, insecure, h.base);
      c->setApiPath(h.apiPath);
      if (auto r = c->addCaFiles(h.caFiles); !r) return std::unexpected(r.error().wrap(hosts->file));
      out.push_back({std::move(c), !h.server});
    }
    if (out.empty())
      return errorf(Code::InvalidArgument, "registry hosts file {}: no host may {} images of {}", hosts->file,
                    resolveTag ? "resolve and pull" : "pull", domain);
    return out;
  }
  if (domain == "docker.io") {
    for (auto& m : cfg.mirrors) {
      std::string host = m.substr(m.find("://") == std::string::npos ? 0 : m.find("://") + 3);
      host = host.substr(0, host.find('/'));
      out.push_back({std::make_unique<registry::Client>(domain, registry::Credentials{},
                                                        registry::isInsecureRegistry(cfg, host), m),
                     true});
    }
  }
  out.push_back({std::make_unique<registry::Client>(domain, creds, registry::isInsecureRegistry(cfg, domain)), false});
  return out;
}

void Distribution::claim(const std::string& chainId) {
  std::unique_lock lk(mu_);
  inflightCv_.wait(lk, [&] { return !inflight_.count(chainId); });
  inflight_.insert(chainId);
}

void Distribution::release(const std::string& chainId) {
  {
    std::lock_guard lk(mu_);
    inflight_.erase(chainId);
  }
  inflightCv_.notify_all();
}

Result<> Distribution::pullAllTags(const std::string& repo, const std::string& ns, const std::string& platform,
                                   const std::string& registryAuth, const ProgressFn& progress) {
  TRY_ASSIGN(Reference r, parseReference(repo));
  if (!r.nameOnly()) return makeError(Code::InvalidArgument, "tag can't be used with --all-tags/-a");
  TRY_ASSIGN(registry::Credentials creds, registry::decodeRegistryAuth(registryAuth));
  TRY_ASSIGN(auto eps, endpoints(r.domain, creds, true));
  TRY_ASSIGN(std::vector<std::string> tags, eps.back().client->listTags(r.path));
  if (tags.empty()) return errorf(Code::NotFound, "repository {} has no tags", r.familiarName());
  for (auto& t : tags) {
    Reference one = r;
    one.tag = t;
    TRY(pull(one.familiarString(), ns, platform, registryAuth, progress));
  }
  return {};
}

Result<> Distribution::pull(const std::string& refText, const std::string& ns, const std::string& platformText,
                            const std::string& registryAuth, const ProgressFn& progressIn) {
  TRY_ASSIGN(Reference ref, parseReference(refText));
  ref = withDefaultTag(ref);
  TRY_ASSIGN(registry::Credentials creds, registry::decodeRegistryAuth(registryAuth));
  registry::Platform want = registry::hostPlatform();
  if (!platformText.empty()) {
    TRY_ASSIGN(want, registry::parsePlatform(platformText));
  }
  std::mutex progressMu;
  auto progress = [&](const json& j) {
    std::lock_guard lk(progressMu);
    if (progressIn) progressIn(j);
  };
  const std::string tagOrDigest = ref.digest.empty() ? ref.tag : ref.digest;

  // 1. resolve the reference on the first endpoint that has it.
  TRY_ASSIGN(auto eps, endpoints(ref.domain, creds, ref.digest.empty()));
  registry::Client* client = nullptr;
  registry::Client::FetchedManifest top;
  std::optional<Error> firstErr;
  for (auto& ep : eps) {
    auto m = ep.client->getManifest(ref.path, tagOrDigest);
    if (m) {
      client = ep.client.get();
      top = std::move(*m);
      break;
    }
    Error e = m.error();
    if (e.code == Code::NotFound) e.message = notFoundMessage(ref, e);
    firstErr = e;  // the last endpoint's error is the answer
    if (!ep.mirror) break;
  }
  if (!client) return std::unexpected(*firstErr);
  const std::string topDigest = top.digest;
  std::string mediaType = registry::detectMediaType(top.mediaType, top.body);
  registry::Client::FetchedManifest chosen = top;
  if (registry::isIndexMediaType(mediaType)) {
    TRY_ASSIGN(registry::Index idx, registry::parseIndex(top.body));
    TRY_ASSIGN(registry::Descriptor d, registry::selectPlatform(idx, want));
    TRY_ASSIGN(chosen, client->getManifest(ref.path, d.digest));
    mediaType = registry::detectMediaType(chosen.mediaType, chosen.body);
  }
  if (!registry::isManifestMediaType(mediaType))
    return errorf(Code::InvalidArgument, "unsupported manifest media type {:?} for {}", mediaType,
                  ref.familiarString());
  TRY_ASSIGN(registry::Manifest manifest, registry::parseManifest(chosen.body));

  progress(statusMsg("Pulling from " + ref.path, tagOrDigest));

  // 2. the config (image id = its digest).
  const std::string imageId = manifest.config.digest;
  std::string cfgText;
  if (auto have = s_.content.read(imageId)) {
    cfgText = std::move(*have);
  } else {
    TRY(client->getBlob(ref.path, imageId, [&](const char* d, size_t n) -> Result<> {
      if (cfgText.size() + n > (64u << 20)) return makeError(Code::InvalidArgument, "image config too large");
      cfgText.append(d, n);
      return {};
    }));
    if (sha256Digest(cfgText) != imageId)
      return errorf(Code::InvalidArgument, "image config verification failed for digest {}", imageId);
  }
  json cfg = json::parse(cfgText, nullptr, false);
  if (!cfg.is_object()) return errorf(Code::InvalidArgument, "invalid image config {}", imageId);
  if (!registry::platformMatches(want, registry::Platform{cfg.value("os", "linux"), cfg.value("architecture", ""),
                                                          cfg.value("variant", "")}) &&
      !platformText.empty())
    return errorf(Code::NotFound, "image with reference {} was found but does not match the specified platform: "
                                  "wanted {}, actual: {}/{}",
                  ref.familiarString(), want.string(), cfg.value("os", ""), cfg.value("architecture", ""));
  std::vector<std::string> diffIds;
  if (cfg.contains("rootfs") && cfg["rootfs"].is_object() && cfg["rootfs"].contains("diff_ids") &&
      cfg["rootfs"]["diff_ids"].is_array())
    for (auto& d : cfg["rootfs"]["diff_ids"])
      if (d.is_string()) diffIds.push_back(d.get<std::string>());
  if (diffIds.size() != manifest.layers.size())
    return errorf(Code::InvalidArgument, "invalid image {}: {} layers in the manifest, {} diff ids in the config",
                  imageId, manifest.layers.size(), diffIds.size());
  for (auto& d : diffIds)
    if (!isValidDigest(d)) return errorf(Code::InvalidArgument, "invalid diff id {:?} in image config", d);

  // 3. which layers are missing.
  std::vector<LayerJob> jobs(diffIds.size());
  for (size_t i = 0; i < jobs.size(); i++) {
    auto& j = jobs[i];
    j.index = i;
    j.desc = manifest.layers[i];
    j.diffId = diffIds[i];
    j.parentChain = i == 0 ? "" : jobs[i - 1].chainId;
    j.chainId = i == 0 ? j.diffId : sha256Digest(j.parentChain + " " + j.diffId);
  }
  // Claim every chain id (in order, so two pulls never deadlock), then look.
  std::vector<std::string> claimed;
  ScopeExit releaseAll([&] {
    for (auto& c : claimed) release(c);
  });
  {
    std::set<std::string> seen;
    for (auto& j : jobs)
      if (seen.insert(j.chainId).second) claimed.push_back(j.chainId);
    std::sort(claimed.begin(), claimed.end());
    for (auto& c : claimed) claim(c);
  }
  for (auto& j : jobs) {
    TRY_ASSIGN(auto st, s_.db.query("SELECT size FROM layers WHERE chain_id = ?", j.chainId));
    TRY_ASSIGN(bool row, st.step());
    if (row && s_.snaps.exists(j.chainId)) {
      j.present = true;
      j.size = st.colInt(0);
    }
  }
  for (auto& j : jobs)
    progress(statusMsg(j.present ? "Already exists" : "Pulling fs layer", shortHex(j.desc.digest)));

  // 4. fetch the missing ones, maxConcurrentDownloads at a time.
  ScopeExit dropTemps([&] {
    for (auto& j : jobs)
      if (!j.tmpDir.empty()) (void)removeAll(j.tmpDir);
  });
  std::vector<std::optional<content::Writer>> writers(jobs.size());
  auto fetchOne = [&](LayerJob& j) -> Result<> {
    const std::string id = shortHex(j.desc.digest);
    j.tmpDir = s_.snaps.root() + "/.tmp-" + randomHexId().substr(0, 16);
    if (::mkdir(j.tmpDir.c_str(), 0700) != 0) return sysError(errno, "mkdir {}", j.tmpDir);
    std::string fsDir = j.tmpDir + "/fs";
    if (::mkdir(fsDir.c_str(), 0755) != 0) return sysError(errno, "mkdir {}", fsDir);
    TRY_ASSIGN(content::Writer w, s_.content.ingest());
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return sysError(errno, "pipe");
    UniqueFd rd(p[0]), wr(p[1]);
    ::fcntl(wr.get(), F_SETPIPE_SZ, 1 << 20);
    Result<snapshot::UnpackStats> stats = makeError(Code::Internal, "unpack did not run");
    std::thread unpacker([&] {
      stats = snapshot::unpackLayer(rd.get(), fsDir);
      rd.reset();  // a writer still going gets EPIPE
    });
    LayerStream ls(wr.get());
    int64_t lastSent = 0;
    auto t0 = std::chrono::steady_clock::now();
    auto last = t0;
    auto got = client->getBlob(
        ref.path, j.desc.digest,
        [&](const char* d, size_t n) -> Result<> {
          TRY(w.write(d, n));
          return ls.feed(d, n);
        },
        [&](int64_t cur) {
          auto now = std::chrono::steady_clock::now();
          if (cur - lastSent >= (512 << 10) && now - last >= std::chrono::milliseconds(100)) {
            lastSent = cur;
            last = now;
            progress(progressMsg("Downloading", id, cur, j.desc.size));
          }
        });
    Result<std::string> diff = got ? ls.finish() : Result<std::string>(std::unexpected(got.error()));
    wr.reset();
    unpacker.join();
    if (!got) return std::unexpected(got.error());
    progress(statusMsg("Verifying Checksum", id));
    if (w.digest() != j.desc.digest || (j.desc.size > 0 && w.size() != j.desc.size))
      return errorf(Code::InvalidArgument, "filesystem layer verification failed for digest {}", j.desc.digest);
    progress(statusMsg("Download complete", id));
    if (!diff) return std::unexpected(diff.error());
    if (!stats) return std::unexpected(stats.error().wrap("failed to register layer"));
    if (!diff->empty() && *diff != j.diffId)
      return errorf(Code::InvalidArgument, "failed to register layer: layer {} diff id mismatch: expected {}, got {}",
                    j.desc.digest, j.diffId, *diff);
    progress(progressMsg("Extracting", id, w.size(), w.size()));
    j.size = stats->size;
    {
      UniqueFd fd(::open(fsDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!fd || ::syncfs(fd.get()) != 0) return sysError(errno, "sync {}", fsDir);
    }
    writers[j.index].emplace(std::move(w));
    return {};
  };

  std::vector<LayerJob*> todo;
  for (auto& j : jobs)
    if (!j.present) todo.push_back(&j);
  int parallel = std::max(1, config().maxConcurrentDownloads);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto worker = [&] {
    for (;;) {
      size_t k = next.fetch_add(1);
      if (k >= todo.size() || failed) return;
      auto r = fetchOne(*todo[k]);
      if (!r) {
        todo[k]->error = r.error();
        failed = true;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < std::min<int>(parallel, int(todo.size())); t++) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  for (auto* j : todo)
    if (j->error) return std::unexpected(*j->error);

  // 5. commit: blobs, snapshots, rows.
  for (auto& w : writers)
    if (w) TRY(w->commit(w->digest(), w->size()));
  TRY(s_.content.put(cfgText, imageId));
  TRY(s_.content.put(chosen.body, chosen.digest));
  if (chosen.digest != topDigest) TRY(s_.content.put(top.body, topDigest));
  bool upToDate = todo.empty();
  const std::string tagRef = ref.digest.empty() ? ref.familiarString() : "";
  Reference digestRef = ref;
  digestRef.tag.clear();
  digestRef.digest = topDigest;
  {
    std::lock_guard lk(s_.writeMu);
    for (auto& j : jobs) {
      if (j.tmpDir.empty()) continue;
      std::string final_ = s_.snaps.root() + "/" + j.chainId.substr(7);
      if (::rename(j.tmpDir.c_str(), final_.c_str()) != 0) {
        if (errno != EEXIST && errno != ENOTEMPTY) return sysError(errno, "rename {} to {}", j.tmpDir, final_);
      } else {
        j.tmpDir.clear();
      }
    }
    if (UniqueFd rfd(::open(s_.snaps.root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); rfd) ::fsync(rfd.get());
    if (upToDate) {
      // Up to date only when the tag (or digest) already named this image.
      std::string probe = tagRef.empty() ? digestRef.familiarString() : tagRef;
      const char* table = tagRef.empty() ? "digests" : "tags";
      TRY_ASSIGN(auto st, s_.db.query(fmt::format("SELECT image_id FROM {} WHERE ns = ? AND ref = ?", table), ns, probe));
      TRY_ASSIGN(bool row, st.step());
      upToDate = row && st.colText(0) == imageId;
    }
    int64_t now = nowNanos();
    int64_t total = 0;
    for (auto& j : jobs) total += j.size;
    TRY(s_.db.transaction([&]() -> Result<> {
      for (auto& j : jobs)
        TRY(s_.db.run("INSERT OR IGNORE INTO layers(chain_id, diff_id, parent, size, blob_digest, media_type, created) "
                      "VALUES(?, ?, ?, ?, ?, ?, ?)",
                      j.chainId, j.diffId, j.parentChain, j.size, j.desc.digest, j.desc.mediaType, now));
      TRY(s_.db.run("INSERT OR IGNORE INTO images(id, config, labels, created, size, parent, manifest_digest, "
                    "last_tag_time, added) VALUES(?, ?, ?, ?, ?, '', ?, 0, ?)",
                    imageId, cfgText, labelsOf(cfg), parseCreatedNs(cfg), total, chosen.digest, now));
      for (auto& j : jobs)
        TRY(s_.db.run("INSERT OR REPLACE INTO image_layers(image_id, idx, chain_id) VALUES(?, ?, ?)", imageId,
                      int64_t(j.index), j.chainId));
      if (!tagRef.empty()) {
        TRY(s_.db.run("INSERT INTO tags(ns, ref, image_id, created) VALUES(?4, ?1, ?2, ?3) "
                      "ON CONFLICT(ns, ref) DO UPDATE SET image_id = ?2, created = ?3",
                      tagRef, imageId, now, ns));
      }
      TRY(s_.db.run("INSERT INTO digests(ns, ref, image_id, created) VALUES(?4, ?1, ?2, ?3) "
                    "ON CONFLICT(ns, ref) DO UPDATE SET image_id = ?2, created = ?3",
                    digestRef.familiarString(), imageId, now, ns));
      return {};
    }));
  }
  for (auto& j : todo) progress(statusMsg("Pull complete", shortHex(j->desc.digest)));
  progress(statusMsg("Digest: " + topDigest));
  progress(statusMsg((upToDate ? "Status: Image is up to date for " : "Status: Downloaded newer image for ") +
                     ref.familiarString()));
  return {};
}

}  // namespace berth::image
