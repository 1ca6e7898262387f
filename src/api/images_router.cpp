#include "api/images_router.h"

#include <cctype>

#include "common/util.h"
#include "image/config.h"
#include "image/reference.h"
#include "registry/manifest.h"

namespace berth::api {

namespace {

json labelsAttrs(image::ImageService& svc, const std::string& id, const std::string& name) {
  json attrs = {{"name", name}};
  if (auto rec = svc.resolve(id)) {
    const json& c = rec->config;
    if (c.contains("config") && c["config"].is_object() && c["config"].contains("Labels") &&
        c["config"]["Labels"].is_object())
      for (auto& [k, v] : c["config"]["Labels"].items())
        if (v.is_string()) attrs[k] = v;
  }
  return attrs;
}

json stringsOrNull(const std::vector<std::string>& v) { return v.empty() ? json(nullptr) : json(v); }

// The `platform` query of the image routes (a JSON OCI platform), read from
// API minVersion on as dockerd's DecodePlatform reads it; nullopt when
// absent or the request's version is older. single: a repeated parameter is
// refused (load, save).
Result<std::optional<registry::Platform>> queryPlatform(const Request& req, int minVersion, bool single) {
  if (req.versionBelow(minVersion)) return std::optional<registry::Platform>();
  if (single && req.qAll("platform").size() > 1)
    return makeError(Code::InvalidArgument, "multiple platform parameters not supported");
  std::string text = req.q("platform");
  if (text.empty()) return std::optional<registry::Platform>();
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return makeError(Code::InvalidArgument, "failed to parse platform: " + text + " is not a JSON object");
  auto str = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string(); };
  registry::Platform p{str("os"), str("architecture"), str("variant")};
  bool optional = !p.variant.empty() || !str("os.version").empty() ||
                  (j.contains("os.features") && j["os.features"].is_array() && !j["os.features"].empty());
  if (p.os.empty() && p.architecture.empty() && optional)
    return makeError(Code::InvalidArgument, "optional platform fields provided, but OS and Architecture are missing");
  if (p.os.empty() || p.architecture.empty())
    return makeError(Code::InvalidArgument, "both OS and Architecture must be provided");
  return std::optional<registry::Platform>(registry::normalizePlatform(p));
}

registry::Platform platformOfConfig(const json& cfg) {
  auto str = [&](const char* k) { return cfg.contains(k) && cfg[k].is_string() ? cfg[k].get<std::string>() : std::string(); };
  return registry::normalizePlatform({str("os").empty() ? "linux" : str("os"), str("architecture"), str("variant")});
}

// dockerd's OnlyPlatformWithFallback: a config without a variant matches a
// wanted variant of its architecture.
bool imageMatchesPlatform(const registry::Platform& want, const json& cfg) {
  registry::Platform have = platformOfConfig(cfg);
  if (registry::platformMatches(want, have)) return true;
  return have.variant.empty() && registry::platformMatches({want.os, want.architecture, ""}, have);
}

// dockerd's refusal when an image exists but for another platform (404).
Error platformMismatch(const std::string& ref, const registry::Platform& want, const json& cfg) {
  std::string name = ref;
  if (auto r = image::parseReference(ref); r && r->string() == ref) name = r->familiarString();
  return Error{Code::NotFound, 0,
               fmt::format("image with reference {} was found but its platform ({}) does not match the specified "
                           "platform ({})",
                           name, platformOfConfig(cfg).string(), want.string())};
}

// An OCI descriptor of an image's manifest (API 1.48 Descriptor).
json descriptorJson(const image::ManifestInfo& m, bool withPlatform) {
  json d = {{"mediaType", m.mediaType}, {"digest", m.digest}, {"size", m.size}};
  if (withPlatform) {
    json p = {{"architecture", m.architecture}, {"os", m.os}};
    if (!m.variant.empty()) p["variant"] = m.variant;
    d["platform"] = p;
  }
  return d;
}

// API 1.47 Manifests: berth keeps one platform's manifest per image, so one
// entry of kind "image", always available.
json manifestsJson(const image::ManifestInfo& m, int64_t unpacked) {
  json platform = {{"architecture", m.architecture}, {"os", m.os}};
  if (!m.variant.empty()) platform["variant"] = m.variant;
  return json::array({{
      {"ID", m.digest},
      {"Descriptor", descriptorJson(m, true)},
      {"Available", true},
      {"Size", {{"Content", m.contentSize}, {"Total", m.contentSize + unpacked}}},
      {"Kind", "image"},
      {"ImageData", {{"Platform", platform}, {"Size", {{"Unpacked", unpacked}}}, {"Containers", m.containers}}},
  }});
}

// GET /images/json, version-gated as dockerd: untagged images get
// "<none>:<none>" / "<none>@<none>" below 1.43 and empty arrays from 1.43;
// VirtualSize only below 1.44; shared-size=1 (1.42+) fills SharedSize
// (else -1); Descriptor from 1.48; manifests=1 (1.47+) adds Manifests.
void listImages(image::ImageService& svc, Request& req, ResponseWriter& w) {
  auto filters = parseFilters(req.q("filters"));
  if (!filters) return w.error(filters.error());
  auto list = svc.list(req.qBool("all"), *filters);
  if (!list) return w.error(list.error());
  const bool useNone = req.versionBelow(143), withVirtualSize = req.versionBelow(144);
  const bool sharedSize = !req.versionBelow(142) && req.qBool("shared-size");
  const bool withDescriptor = !req.versionBelow(148), manifests = !req.versionBelow(147) && req.qBool("manifests");
  json out = json::array();
  for (auto& s : *list) {
    bool untagged = s.repoTags == std::vector<std::string>{"<none>:<none>"};
    json tags = untagged && !useNone ? json::array() : useNone ? stringsOrNull(s.repoTags) : json(s.repoTags);
    std::vector<std::string> digests = s.repoDigests;
    if (untagged && !useNone) digests.clear();
    json j = {
        {"Containers", -1},
        {"Created", s.created / 1000000000},
        {"Id", s.id},
        {"Labels", s.labels},
        {"ParentId", s.parentId},
        {"RepoDigests", useNone ? stringsOrNull(digests) : json(digests)},
        {"RepoTags", tags},
        {"SharedSize", sharedSize ? s.sharedSize : -1},
        {"Size", s.size},
    };
    if (withVirtualSize) j["VirtualSize"] = s.size;
    if (withDescriptor || manifests) {
      auto m = svc.manifestInfo(s.id);
      if (m && !m->digest.empty()) {
        if (withDescriptor) j["Descriptor"] = descriptorJson(*m, false);
        if (manifests) j["Manifests"] = manifestsJson(*m, s.size);
      }
    }
    out.push_back(std::move(j));
  }
  w.json(200, out);
}

json graphDriver(const image::ImageDetail& d) {
  json data = json::object();
  const auto& dirs = d.record.lowerDirs;  // topmost first, ".../<hex>/fs"
  if (!dirs.empty()) {
    std::string top = dirs[0].substr(0, dirs[0].size() - 3);
    data["UpperDir"] = dirs[0];
    data["MergedDir"] = top + "/merged";
    data["WorkDir"] = top + "/work";
    std::string lower;
    for (size_t i = 1; i < dirs.size(); i++) lower += (lower.empty() ? "" : ":") + dirs[i];
    if (!lower.empty()) data["LowerDir"] = lower;
  }
  return {{"Data", data}, {"Name", "overlay2"}};
}

// The image's config in the shape of API 1.50 on (dockerd's
// DockerOCIImageConfig): only the fields of an image config, empty ones
// omitted.
json imageConfigShape(const json& cfg) {
  json out = json::object();
  if (!cfg.is_object()) return out;
  static const char* kKeys[] = {"User",    "ExposedPorts", "Env",    "Entrypoint", "Cmd",         "Volumes", "WorkingDir",
                                "Labels",  "StopSignal",   "ArgsEscaped", "Healthcheck", "OnBuild", "Shell"};
  for (const char* k : kKeys) {
    auto it = cfg.find(k);
    if (it == cfg.end() || it->is_null()) continue;
    if ((it->is_string() || it->is_array() || it->is_object()) && it->empty()) continue;
    if (it->is_boolean() && !it->get<bool>()) continue;
    out[k] = *it;
  }
  return out;
}

// GET /images/{name}/json, version-gated as dockerd: VirtualSize below
// 1.44, Container and ContainerConfig below 1.45, the container-shaped
// Config (Hostname, Tty, Image, ...) below 1.50.
void inspectImage(image::ImageService& svc, Request& req, ResponseWriter& w) {
  bool manifests = req.has("manifests") && !req.versionBelow(148) && req.qBool("manifests");
  std::optional<registry::Platform> platform;
  if (req.has("platform") && !req.versionBelow(149)) {
    auto p = queryPlatform(req, 149, false);
    if (!p) return w.error(p.error());
    platform = *p;
  }
  if (manifests && platform)
    return w.error(Error{Code::InvalidArgument, 0, "conflicting options: manifests and platform options cannot both be set"});
  auto d = svc.inspect(req.params[0]);
  if (!d) return w.error(d.error());
  const json& cfg = d->record.config;
  if (platform && !imageMatchesPlatform(*platform, cfg))
    return w.error(platformMismatch(req.params[0], *platform, cfg));
  auto str = [&](const char* k) { return cfg.contains(k) && cfg[k].is_string() ? cfg[k].get<std::string>() : ""; };
  json out = {
      {"Id", d->record.id},
      {"RepoTags", d->record.repoTags},
      {"RepoDigests", d->repoDigests},
      {"Parent", d->parent},
      {"Comment", str("comment")},
      {"Created", cfg.contains("created") ? str("created") : formatRfc3339Nano(d->record.created)},
      {"DockerVersion", str("docker_version")},
      {"Author", str("author")},
      {"Architecture", str("architecture")},
      {"Os", str("os")},
      {"Size", d->record.size},
      {"GraphDriver", graphDriver(*d)},
      {"RootFS", {{"Type", "layers"}, {"Layers", d->diffIds}}},
      {"Metadata", {{"LastTagTime", formatRfc3339Nano(d->lastTagTime)}}},
  };
  if (req.versionBelow(150)) out["Config"] = image::dockerConfigShape(cfg.value("config", json()));
  else out["Config"] = imageConfigShape(cfg.value("config", json()));
  if (req.versionBelow(145)) {
    out["Container"] = str("container");
    out["ContainerConfig"] = image::dockerConfigShape(cfg.value("container_config", json()));
  }
  if (req.versionBelow(144)) out["VirtualSize"] = d->record.size;
  if (!str("variant").empty()) out["Variant"] = str("variant");
  if (!str("os.version").empty()) out["OsVersion"] = str("os.version");
  if (!req.versionBelow(148) || manifests) {
    auto m = svc.manifestInfo(d->record.id);
    if (m && !m->digest.empty()) {
      if (!req.versionBelow(148)) out["Descriptor"] = descriptorJson(*m, false);
      if (manifests) out["Manifests"] = manifestsJson(*m, d->record.size);
    }
  }
  w.json(200, out);
}

void imageHistory(image::ImageService& svc, Request& req, ResponseWriter& w) {
  auto platform = queryPlatform(req, 148, false);
  if (!platform) return w.error(platform.error());
  if (*platform) {
    auto rec = svc.resolve(req.params[0]);
    if (!rec) return w.error(rec.error());
    if (!imageMatchesPlatform(**platform, rec->config))
      return w.error(platformMismatch(req.params[0], **platform, rec->config));
  }
  auto h = svc.history(req.params[0]);
  if (!h) return w.error(h.error());
  json out = json::array();
  for (auto& it : *h) {
    out.push_back({
        {"Comment", it.comment},
        {"Created", it.created},
        {"CreatedBy", it.createdBy},
        {"Id", it.id},
        {"Size", it.size},
        {"Tags", stringsOrNull(it.tags)},
    });
  }
  w.json(200, out);
}

void tagImage(image::ImageService& svc, const EmitFn& emit, Request& req, ResponseWriter& w) {
  auto t = svc.tag(req.params[0], req.q("repo"), req.q("tag"));
  if (!t) return w.error(t.error());
  if (emit) emit("image", "tag", t->imageId, labelsAttrs(svc, t->imageId, t->ref));
  w.empty(201);
}

// Emits untag/delete events for rmi/prune records: untags belong to the
// image deleted after them; trailing untags to fallbackId.
void emitDeleteEvents(const EmitFn& emit, const std::vector<image::DeleteItem>& items,
                      const std::string& fallbackId) {
  if (!emit) return;
  size_t start = 0;
  for (size_t i = 0; i < items.size(); i++) {
    const auto& item = items[i];
    if (item.untagged.empty() && !item.layer) {
      for (size_t j = start; j < i; j++)
        if (!items[j].untagged.empty()) emit("image", "untag", item.deleted, {{"name", item.deleted}});
      emit("image", "delete", item.deleted, {{"name", item.deleted}});
      start = i + 1;
    }
  }
  for (size_t j = start; j < items.size(); j++)
    if (!items[j].untagged.empty()) emit("image", "untag", fallbackId, {{"name", fallbackId}});
}

json deleteRecords(const std::vector<image::DeleteItem>& items) {
  json out = json::array();
  for (auto& item : items) {
    if (!item.untagged.empty()) {
      out.push_back({{"Untagged", item.untagged}});
    } else {
      out.push_back({{"Deleted", item.deleted}});
    }
  }
  return out;
}

void removeImage(image::ImageService& svc, const EmitFn& emit, Request& req, ResponseWriter& w) {
  const std::string& name = req.params[0];
  std::string id;
  if (auto rec = svc.resolve(name)) id = rec->id;
  auto r = svc.remove(name, req.qBool("force"), !req.qBool("noprune"));
  if (!r) return w.error(r.error());
  emitDeleteEvents(emit, *r, id);
  w.json(200, deleteRecords(*r));
}

void pruneImages(image::ImageService& svc, const EmitFn& emit, Request& req, ResponseWriter& w) {
  auto filters = parseFilters(req.q("filters"));
  if (!filters) return w.error(filters.error());
  auto rep = svc.prune(*filters);
  if (!rep) return w.error(rep.error());
  emitDeleteEvents(emit, rep->deleted, "");
  json deleted = rep->deleted.empty() ? json(nullptr) : deleteRecords(rep->deleted);
  w.json(200, {{"ImagesDeleted", deleted}, {"SpaceReclaimed", rep->spaceReclaimed}});
}

// Docker's progress stream: the response starts with the first message, so
// an error before it (unknown manifest, registry down) is a plain HTTP
// error; one after it is an {"errorDetail"} line.
class ProgressStream {
 public:
  explicit ProgressStream(ResponseWriter& w) : w_(w) {}
  void operator()(const json& j) {
    if (!s_) s_ = w_.stream(200, "application/json");
    s_->writeJsonLine(j);
  }
  void finish(const Result<>& r) {
    if (r) {
      if (!s_) s_ = w_.stream(200, "application/json");
      return;
    }
    if (!s_) return w_.error(r.error());
    s_->writeJsonLine({{"errorDetail", {{"message", r.error().message}}}, {"error", r.error().message}});
  }

 private:
  ResponseWriter& w_;
  std::unique_ptr<StreamWriter> s_;
};

void pullImage(image::ImageService& svc, const EmitFn& emit, Request& req, ResponseWriter& w) {
  std::string from = req.q("fromImage"), tag = req.q("tag");
  auto ref = image::parseReference(from);
  if (!ref) return w.error(ref.error());
  bool allTags = false;
  if (!tag.empty()) {
    if (startsWith(tag, "sha256:")) {
      ref->digest = tag;
    } else if (image::isValidTag(tag)) {
      ref->tag = tag;
    } else {
      return w.error(Error{Code::InvalidArgument, 0, "invalid tag format"});
    }
  } else if (ref->nameOnly()) {
    allTags = true;  // the docker CLI sends no tag for pull -a
  }
  std::string name = ref->familiarString();
  ProgressStream out(w);
  auto r = svc.pull(name, req.q("platform"), allTags, req.header("x-registry-auth"), std::ref(out));
  if (r && emit) {
    auto ids = svc.resolve(allTags ? image::withDefaultTag(*ref).familiarString() : name);
    if (ids) emit("image", "pull", ids->id, labelsAttrs(svc, ids->id, name));
  }
  out.finish(r);
}

void pushImage(image::ImageService& svc, const EmitFn& emit, Request& req, ResponseWriter& w) {
  auto ref = image::parseReference(req.params[0]);
  if (!ref) return w.error(ref.error());
  std::string tag = req.q("tag");
  if (!tag.empty()) {
    if (!image::isValidTag(tag)) return w.error(Error{Code::InvalidArgument, 0, "invalid tag format"});
    ref->tag = tag;
  }
  std::string name = ref->familiarString();
  ProgressStream out(w);
  auto r = svc.push(name, req.header("x-registry-auth"), std::ref(out));
  if (r && emit) {
    if (auto rec = svc.resolve(image::withDefaultTag(*ref).familiarString()))
      emit("image", "push", rec->id, labelsAttrs(svc, rec->id, name));
  }
  out.finish(r);
}

void createImage(image::ImageService& svc, const EmitFn& emit, Request& req, ResponseWriter& w) {
  if (req.has("fromImage")) return pullImage(svc, emit, req, w);
  std::string src = req.q("fromSrc");
  if (src.empty()) return w.error(Error{Code::InvalidArgument, 0, "fromImage or fromSrc is required"});
  std::string repoTag;
  std::string repo = req.q("repo"), tag = req.q("tag");
  if (!repo.empty()) {
    auto ref = image::parseReference(repo);
    if (!ref) return w.error(ref.error());
    if (!tag.empty()) {
      if (!image::isValidTag(tag)) return w.error(Error{Code::InvalidArgument, 0, "invalid tag format"});
      ref->tag = tag;
    }
    repoTag = ref->familiarString();
  }
  // fromSrc=- is the request body; anything else is a URL the service fetches.
  image::ImportSource source = src == "-" ? image::ImportSource(*req.body) : image::ImportSource::fromUrl(src);
  auto id = svc.importImage(source, repoTag, req.qAll("changes"), req.q("message"));
  if (!id) return w.error(id.error());
  if (emit) {
    if (!repoTag.empty()) {
      auto familiar = image::parseReference(repoTag);
      emit("image", "tag", *id, labelsAttrs(svc, *id, image::withDefaultTag(*familiar).familiarString()));
    }
    emit("image", "import", *id, labelsAttrs(svc, *id, *id));
  }
  auto s = w.stream(200, "application/json");
  s->writeJsonLine({{"status", *id}});
}

// docker save; with a platform (1.48+) every image must be of it, else
// dockerd's "no suitable export target found for platform P" before the
// archive starts.
void saveImages(image::ImageService& svc, const std::vector<std::string>& names, Request& req, ResponseWriter& w) {
  auto platform = queryPlatform(req, 148, true);
  if (!platform) return w.error(platform.error());
  if (names.empty()) return w.error(Error{Code::InvalidArgument, 0, "no image names given"});
  if (*platform)
    for (auto& n : names) {
      auto rec = svc.resolve(n);
      if (!rec) return w.error(rec.error());
      if (!imageMatchesPlatform(**platform, rec->config))
        return w.error(Error{Code::Internal, 0, "no suitable export target found for platform " + (*platform)->string()});
    }
  std::unique_ptr<StreamWriter> out;
  auto r = svc.save(names, [&]() -> StreamWriter* {
    out = w.stream(200, "application/x-tar");
    return out.get();
  });
  // After the stream started, an error can only break the stream off.
  if (!r && !w.started()) w.error(r.error());
}

// POST /images/load as dockerd answers it: always 200 application/json once
// the query is read; a body that is not an image archive is an error
// message in the stream ({"errorDetail":{"message":M},"error":M}), which
// docker-py raises as ImageLoadError and the docker CLI prints (exit 1).
// quiet defaults to true when absent, as in dockerd.
// A platform (1.48+) loads only the images of that platform, as dockerd.
void loadImages(image::ImageService& svc, const EmitFn& emit, Request& req, ResponseWriter& w) {
  auto platform = queryPlatform(req, 148, true);
  if (!platform) return w.error(platform.error());
  image::ImageTransfer::KeepImageFn keep;
  if (*platform) keep = [want = **platform](const json& cfg) { return imageMatchesPlatform(want, cfg); };
  bool quiet = req.qBool("quiet", true);
  std::unique_ptr<StreamWriter> out;
  auto progress = [&](const std::string& id, int64_t current, int64_t total) {
    if (quiet) return;
    if (!out) out = w.stream(200, "application/json");
    out->writeJsonLine(
        {{"status", "Loading layer"}, {"progressDetail", {{"current", current}, {"total", total}}}, {"id", id}});
  };
  auto loaded = svc.load(*req.body, progress, keep);
  if (!loaded) {
    if (!out) out = w.stream(200, "application/json");
    const std::string& msg = loaded.error().message;
    out->writeJsonLine({{"errorDetail", {{"message", msg}}}, {"error", msg}});
    return;
  }
  if (!out) out = w.stream(200, "application/json");
  for (auto& img : *loaded) {
    if (emit) {
      for (auto& t : img.repoTags) emit("image", "tag", img.id, labelsAttrs(svc, img.id, t));
      emit("image", "load", img.id, labelsAttrs(svc, img.id, img.id));
    }
    if (img.repoTags.empty()) out->writeJsonLine({{"stream", "Loaded image ID: " + img.id + "\n"}});
    for (auto& t : img.repoTags) out->writeJsonLine({{"stream", "Loaded image: " + t + "\n"}});
  }
}

}  // namespace

void registerImageRoutes(Router& router, image::ImageService& svc, EmitFn emit) {
  auto* s = &svc;
  router.add("GET", "/images/json", [s](Request& req, ResponseWriter& w) { listImages(*s, req, w); });
  router.add("POST", "/images/prune", [s, emit](Request& req, ResponseWriter& w) { pruneImages(*s, emit, req, w); });
  router.add("POST", "/images/create", [s, emit](Request& req, ResponseWriter& w) { createImage(*s, emit, req, w); });
  router.add("GET", "/images/get", [s](Request& req, ResponseWriter& w) { saveImages(*s, req.qAll("names"), req, w); });
  router.add("POST", "/images/load",
             [s, emit](Request& req, ResponseWriter& w) { loadImages(*s, emit, req, w); });
  router.add("GET", "/images/(.+)/get",
             [s](Request& req, ResponseWriter& w) { saveImages(*s, {req.params[0]}, req, w); });
  router.add("GET", "/images/(.+)/json", [s](Request& req, ResponseWriter& w) { inspectImage(*s, req, w); });
  router.add("POST", "/images/(.+)/push", [s, emit](Request& req, ResponseWriter& w) { pushImage(*s, emit, req, w); });
  router.add("GET", "/images/(.+)/history", [s](Request& req, ResponseWriter& w) { imageHistory(*s, req, w); });
  router.add("POST", "/images/(.+)/tag", [s, emit](Request& req, ResponseWriter& w) { tagImage(*s, emit, req, w); });
  router.add("DELETE", "/images/(.+)", [s, emit](Request& req, ResponseWriter& w) { removeImage(*s, emit, req, w); });
}

}  // namespace berth::api
