#include "image/archive.h"

#include "common/json_limits.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "common/fd.h"
#include "common/sha256.h"
#include "common/util.h"
#include "image/body_source.h"
#include "image/reference.h"
#include "snapshot/snapshotter.h"

namespace berth::image::archive {

namespace {

using json = nlohmann::json;

constexpr const char* kManifestMediaType = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kIndexMediaType = "application/vnd.oci.image.index.v1+json";
constexpr const char* kConfigMediaType = "application/vnd.oci.image.config.v1+json";

std::string hexOf(const std::string& digest) { return digest.size() > 7 ? digest.substr(7) : digest; }

// ---- writing ----

struct Sink {
  StreamWriter* out;
  bool gone = false;
};

la_ssize_t sinkWrite(struct archive* a, void* ud, const void* buf, size_t n) {
  auto* s = static_cast<Sink*>(ud);
  if (!s->out->write(std::string_view(static_cast<const char*>(buf), n))) {
    s->gone = true;
    archive_set_error(a, EPIPE, "client went away");
    return -1;
  }
  return la_ssize_t(n);
}

class TarWriter {
 public:
  explicit TarWriter(StreamWriter& out) : sink_{&out} {
    a_ = archive_write_new();
    archive_write_set_format_pax_restricted(a_);
    archive_write_set_bytes_per_block(a_, 64 * 1024);
    archive_write_set_bytes_in_last_block(a_, 1);
  }
  ~TarWriter() { archive_write_free(a_); }
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  Result<> open() {
    if (archive_write_open(a_, &sink_, nullptr, sinkWrite, nullptr) != ARCHIVE_OK) return fail("open");
    return {};
  }
  Result<> dir(const std::string& name) { return header(name, AE_IFDIR, 0755, 0); }
  Result<> file(const std::string& name, std::string_view data) {
    TRY(header(name, AE_IFREG, 0644, int64_t(data.size())));
    if (!data.empty() && archive_write_data(a_, data.data(), data.size()) < 0) return fail(name);
    return {};
  }
  Result<> fileFrom(const std::string& name, const std::string& path, int64_t size) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return sysError(errno, "open {}", path);
    TRY(header(name, AE_IFREG, 0644, size));
    std::vector<char> buf(1 << 17);
    int64_t left = size;
    while (left > 0) {
      ssize_t n = ::read(fd.get(), buf.data(), std::min<int64_t>(left, int64_t(buf.size())));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sysError(errno, "read {}", path);
      if (n == 0) return errorf(Code::Internal, "{}: file shrank while saving", path);
      if (archive_write_data(a_, buf.data(), size_t(n)) < 0) return fail(name);
      left -= n;
    }
    return {};
  }
  Result<> close() {
    if (archive_write_close(a_) != ARCHIVE_OK) return fail("close");
    return {};
  }

 private:
  Result<> header(const std::string& name, unsigned type, int mode, int64_t size) {
    struct archive_entry* e = archive_entry_new();
    ScopeExit free_([&] { archive_entry_free(e); });
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode);
    archive_entry_set_size(e, type == AE_IFREG ? size : 0);
    archive_entry_set_mtime(e, 0, 0);
    if (archive_write_header(a_, e) != ARCHIVE_OK) return fail(name);
    return {};
  }
  std::unexpected<Error> fail(const std::string& what) {
    const char* s = archive_error_string(a_);
    return errorf(sink_.gone ? Code::Cancelled : Code::Internal, "write archive ({}): {}", what,
                  s ? s : "unknown error");
  }
  Sink sink_;
  struct archive* a_;
};

// ---- reading ----

Result<> writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sysError(errno, "write");
    data.remove_prefix(size_t(n));
  }
  return {};
}


// Joins a cleaned relative path under dir; InvalidArgument when it leaves.
Result<std::string> inside(const std::string& dir, std::string_view rel) {
  TRY_ASSIGN(std::string clean, snapshot::cleanEntryPath(rel));
  if (clean.empty()) return errorf(Code::InvalidArgument, "invalid path in archive: {:?}", std::string(rel));
  return dir + "/" + clean;
}

std::string parentOf(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? "" : p.substr(0, s);
}

Result<json> readJson(const std::string& path, const std::string& what) {
  auto text = readFile(path);
  if (!text) return errorf(Code::InvalidArgument, "invalid archive: {}: {}", what, text.error().message);
  // Archives come from clients (image load): depth-bounded parse.
  auto j = parseJsonBounded(*text);
  if (!j) return errorf(Code::InvalidArgument, "invalid archive: {}: {}", what, j.error().message);
  return j;
}

bool fileExists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// A blob of an OCI layout, verified against its digest.
Result<std::string> blobPath(const std::string& dir, const std::string& digest) {
  if (!isValidDigest(digest)) return errorf(Code::InvalidArgument, "invalid archive: bad digest {:?}", digest);
  std::string p = dir + "/blobs/sha256/" + hexOf(digest);
  if (!fileExists(p)) return errorf(Code::InvalidArgument, "invalid archive: missing blob {}", digest);
  return p;
}

Result<json> readBlobJson(const std::string& dir, const std::string& digest) {
  TRY_ASSIGN(std::string p, blobPath(dir, digest));
  TRY_ASSIGN(std::string text, readFile(p));
  if (sha256Digest(text) != digest)
    return errorf(Code::InvalidArgument, "invalid archive: digest mismatch for {}", digest);
  {
    auto j = parseJsonBounded(text);
    if (j) return j;
    return errorf(Code::InvalidArgument, "invalid archive: blob {}: {}", digest, j.error().message);
  }
}

std::string str(const json& j, const char* k) {
  return j.is_object() && j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : "";
}

Result<> fromManifest(const std::string& dir, const json& m, std::vector<std::string> tags,
                      std::vector<LoadImage>& out) {
  const json& cfg = m.contains("config") ? m["config"] : json();
  LoadImage img;
  img.configDigest = str(cfg, "digest");
  TRY_ASSIGN(img.configPath, blobPath(dir, img.configDigest));
  if (!m.contains("layers") || !m["layers"].is_array())
    return makeError(Code::InvalidArgument, "invalid archive: manifest without layers");
  for (auto& l : m["layers"]) {
    std::string d = str(l, "digest");
    TRY_ASSIGN(std::string p, blobPath(dir, d));
    img.layers.push_back({p, d});
  }
  img.repoTags = std::move(tags);
  out.push_back(std::move(img));
  return {};
}

Result<> fromIndex(const std::string& dir, const json& index, int depth, std::vector<LoadImage>& out) {
  if (depth > 4) return makeError(Code::InvalidArgument, "invalid archive: index nesting too deep");
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array())
    return makeError(Code::InvalidArgument, "invalid archive: index.json without manifests");
  for (auto& desc : index["manifests"]) {
    std::string mt = str(desc, "mediaType");
    std::string digest = str(desc, "digest");
    TRY_ASSIGN(json doc, readBlobJson(dir, digest));
    if (mt == kIndexMediaType || mt == "application/vnd.docker.distribution.manifest.list.v2+json" ||
        (mt.empty() && doc.contains("manifests"))) {
      // A multi-platform image: take linux/amd64, else the first entry.
      json sub = doc;
      if (sub.contains("manifests") && sub["manifests"].is_array() && sub["manifests"].size() > 1) {
        json pick = sub["manifests"][0];
        for (auto& d : sub["manifests"])
          if (d.contains("platform") && str(d["platform"], "os") == "linux" &&
              str(d["platform"], "architecture") == "amd64") {
            pick = d;
            break;
          }
        if (desc.contains("annotations")) pick["annotations"] = desc["annotations"];
        sub["manifests"] = json::array({pick});
      } else if (sub.contains("manifests") && sub["manifests"].is_array() && desc.contains("annotations") &&
                 !sub["manifests"].empty()) {
        sub["manifests"][0]["annotations"] = desc["annotations"];
      }
      TRY(fromIndex(dir, sub, depth + 1, out));
      continue;
    }
    std::vector<std::string> tags;
    if (desc.contains("annotations") && desc["annotations"].is_object()) {
      std::string name = str(desc["annotations"], "io.containerd.image.name");
      if (!name.empty()) {
        if (auto r = parseReference(name); r && !r->tag.empty()) tags.push_back(r->familiarString());
      }
    }
    TRY(fromManifest(dir, doc, std::move(tags), out));
  }
  return {};
}

}  // namespace

Result<> writeArchive(const std::vector<SaveImage>& images, StreamWriter& out) {
  TarWriter tw(out);
  TRY(tw.open());
  TRY(tw.dir("blobs/"));
  TRY(tw.dir("blobs/sha256/"));
  std::set<std::string> written;
  json index = {{"schemaVersion", 2}, {"mediaType", kIndexMediaType}, {"manifests", json::array()}};
  json manifests = json::array();
  json repositories = json::object();
  for (auto& img : images) {
    json m = {{"schemaVersion", 2}, {"mediaType", kManifestMediaType}};
    std::string cfgDigest = sha256Digest(img.configText);
    m["config"] = {{"mediaType", kConfigMediaType}, {"digest", cfgDigest}, {"size", int64_t(img.configText.size())}};
    json layers = json::array(), legacy = json::array();
    for (auto& l : img.layers) {
      if (written.insert(l.digest).second) TRY(tw.fileFrom("blobs/sha256/" + hexOf(l.digest), l.path, l.size));
      layers.push_back({{"mediaType", l.mediaType}, {"digest", l.digest}, {"size", l.size}});
      legacy.push_back("blobs/sha256/" + hexOf(l.digest));
    }
    m["layers"] = layers;
    if (written.insert(cfgDigest).second) TRY(tw.file("blobs/sha256/" + hexOf(cfgDigest), img.configText));
    std::string mText = m.dump();
    std::string mDigest = sha256Digest(mText);
    if (written.insert(mDigest).second) TRY(tw.file("blobs/sha256/" + hexOf(mDigest), mText));
    json desc = {{"mediaType", kManifestMediaType}, {"digest", mDigest}, {"size", int64_t(mText.size())}};
    if (img.repoTags.empty()) index["manifests"].push_back(desc);
    for (auto& t : img.repoTags) {
      auto r = parseReference(t);
      if (!r) continue;
      json d = desc;
      d["annotations"] = {{"io.containerd.image.name", r->string()}, {"org.opencontainers.image.ref.name", r->tag}};
      index["manifests"].push_back(d);
      if (!img.layers.empty()) repositories[r->familiarName()][r->tag] = hexOf(img.layers.back().digest);
    }
    manifests.push_back({{"Config", "blobs/sha256/" + hexOf(cfgDigest)},
                         {"RepoTags", img.repoTags.empty() ? json(nullptr) : json(img.repoTags)},
                         {"Layers", legacy}});
  }
  TRY(tw.file("index.json", index.dump()));
  TRY(tw.file("manifest.json", manifests.dump()));
  TRY(tw.file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  if (!repositories.empty()) TRY(tw.file("repositories", repositories.dump()));
  return tw.close();
}

Result<> extractArchive(BodyReader& body, const std::string& dir, const UnpackLimits& limits) {
  ExpansionGuard guard(limits, "image archive");
  TRY(guard.checkFree());
  BodyArchive reader(body, BodyArchive::Format::Tar);
  struct archive* a = reader.get();
  auto fail = [&](std::string_view what) { return reader.fail(what); };
  TRY(reader.open("invalid tar"));
  // Links are made after all files exist: name -> target, both under dir.
  std::vector<std::pair<std::string, std::string>> links;
  std::vector<char> buf(1 << 17);
  int count = 0;
  for (;;) {
    struct archive_entry* e;
    int rc = archive_read_next_header(a, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return fail("invalid tar");
    count++;
    const char* nameC = archive_entry_pathname(e);
    std::string name = nameC ? nameC : "";
    TRY_ASSIGN(std::string clean, snapshot::cleanEntryPath(name));
    if (clean.empty()) continue;  // "./"
    std::string path = dir + "/" + clean;
    if (const char* hl = archive_entry_hardlink(e)) {
      TRY_ASSIGN(std::string target, inside(dir, hl));
      links.emplace_back(path, target);
      continue;
    }
    switch (archive_entry_filetype(e)) {
      case AE_IFDIR:
        TRY(mkdirAll(path, 0755));
        break;
      case AE_IFLNK: {
        const char* t = archive_entry_symlink(e);
        std::string target = t ? t : "";
        if (target.empty() || target[0] == '/')
          return errorf(Code::InvalidArgument, "invalid tar: symlink {} points outside the archive", name);
        std::string base = parentOf(clean);
        TRY_ASSIGN(std::string resolved, inside(dir, base.empty() ? target : base + "/" + target));
        links.emplace_back(path, resolved);
        break;
      }
      case AE_IFREG: {
        TRY(mkdirAll(parentOf(path), 0755));
        UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
        if (!fd) return sysError(errno, "create {}", path);
        for (;;) {
          la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
          if (n < 0) return fail("invalid tar");
          if (n == 0) break;
          TRY(writeAll(fd.get(), std::string_view(buf.data(), size_t(n))));
          TRY(guard.check(uint64_t(archive_filter_bytes(a, -1)), uint64_t(archive_filter_bytes(a, 0)),
                          archive_filter_count(a) > 1));
        }
        break;
      }
      default:
        return errorf(Code::InvalidArgument, "invalid tar: unsupported entry type for {}", name);
    }
  }
  if (count == 0) return makeError(Code::InvalidArgument, "invalid tar: empty archive");
  // Resolve chains of links (a link to a link) a few rounds.
  for (int round = 0; round < 8 && !links.empty(); round++) {
    std::vector<std::pair<std::string, std::string>> rest;
    for (auto& [from, to] : links) {
      if (!fileExists(to)) {
        rest.emplace_back(from, to);
        continue;
      }
      TRY(mkdirAll(parentOf(from), 0755));
      (void)::unlink(from.c_str());
      if (::link(to.c_str(), from.c_str()) != 0) return sysError(errno, "link {}", from);
    }
    if (rest.size() == links.size()) break;
    links = std::move(rest);
  }
  return {};
}

Result<std::vector<LoadImage>> readLayout(const std::string& dir) {
  std::vector<LoadImage> out;
  if (fileExists(dir + "/manifest.json")) {
    TRY_ASSIGN(json m, readJson(dir + "/manifest.json", "manifest.json"));
    if (!m.is_array()) return makeError(Code::InvalidArgument, "invalid archive: manifest.json is not a list");
    for (auto& e : m) {
      LoadImage img;
      std::string cfg = str(e, "Config");
      TRY_ASSIGN(img.configPath, inside(dir, cfg));
      if (!fileExists(img.configPath))
        return errorf(Code::InvalidArgument, "invalid archive: missing config {}", cfg);
      // "blobs/sha256/<hex>" and "<hex>.json" name the config digest.
      std::string base = cfg.substr(cfg.rfind('/') == std::string::npos ? 0 : cfg.rfind('/') + 1);
      if (endsWith(base, ".json")) base = base.substr(0, base.size() - 5);
      if (base.size() == 64 && isHex(base)) img.configDigest = "sha256:" + base;
      if (e.contains("RepoTags") && e["RepoTags"].is_array())
        for (auto& t : e["RepoTags"])
          if (t.is_string()) img.repoTags.push_back(t.get<std::string>());
      if (!e.contains("Layers") || !e["Layers"].is_array())
        return makeError(Code::InvalidArgument, "invalid archive: manifest.json entry without Layers");
      for (auto& l : e["Layers"]) {
        if (!l.is_string()) return makeError(Code::InvalidArgument, "invalid archive: bad layer entry");
        std::string rel = l.get<std::string>();
        TRY_ASSIGN(std::string p, inside(dir, rel));
        if (!fileExists(p)) return errorf(Code::InvalidArgument, "invalid archive: missing layer {}", rel);
        std::string digest;
        if (startsWith(rel, "blobs/sha256/") && isValidDigest("sha256:" + rel.substr(13))) digest = "sha256:" + rel.substr(13);
        img.layers.push_back({p, digest});
      }
      out.push_back(std::move(img));
    }
    return out;
  }
  if (fileExists(dir + "/index.json")) {
    TRY_ASSIGN(json index, readJson(dir + "/index.json", "index.json"));
    TRY(fromIndex(dir, index, 0, out));
    return out;
  }
  return makeError(Code::InvalidArgument, "invalid archive: neither manifest.json nor index.json found");
}

}  // namespace berth::image::archive
