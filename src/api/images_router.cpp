#include "api/images_router.h"

#include <cctype>

#include "common/util.h"
#include "image/config.h"
#include "image/reference.h"

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

// GET /images/json, version-gated as dockerd: untagged images get
// "<none>:<none>" / "<none>@<none>" below 1.43 and empty arrays from 1.43;
// VirtualSize only below 1.44.
void listImages(image::ImageService& svc, Request& req, ResponseWriter& w) {
  auto filters = parseFilters(req.q("filters"));
  if (!filters) return w.error(filters.error());
  auto list = svc.list(req.qBool("all"), *filters);
  if (!list) return w.error(list.error());
  const bool useNone = req.versionBelow(143), withVirtualSize = req.versionBelow(144);
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
        {"SharedSize", -1},
        {"Size", s.size},
    };
    if (withVirtualSize) j["VirtualSize"] = s.size;
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
  auto d = svc.inspect(req.params[0]);
  if (!d) return w.error(d.error());
  const json& cfg = d->record.config;
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
  w.json(200, out);
}

void imageHistory(image::ImageService& svc, Request& req, ResponseWriter& w) {
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

void saveImages(image::ImageService& svc, const std::vector<std::string>& names, ResponseWriter& w) {
  if (names.empty()) return w.error(Error{Code::InvalidArgument, 0, "no image names given"});
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
void loadImages(image::ImageService& svc, const EmitFn& emit, Request& req, ResponseWriter& w) {
  bool quiet = req.qBool("quiet", true);
  std::unique_ptr<StreamWriter> out;
  auto progress = [&](const std::string& id, int64_t current, int64_t total) {
    if (quiet) return;
    if (!out) out = w.stream(200, "application/json");
    out->writeJsonLine(
        {{"status", "Loading layer"}, {"progressDetail", {{"current", current}, {"total", total}}}, {"id", id}});
  };
  auto loaded = svc.load(*req.body, progress);
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
  router.add("GET", "/images/get", [s](Request& req, ResponseWriter& w) { saveImages(*s, req.qAll("names"), w); });
  router.add("POST", "/images/load",
             [s, emit](Request& req, ResponseWriter& w) { loadImages(*s, emit, req, w); });
  router.add("GET", "/images/(.+)/get",
             [s](Request& req, ResponseWriter& w) { saveImages(*s, {req.params[0]}, w); });
  router.add("GET", "/images/(.+)/json", [s](Request& req, ResponseWriter& w) { inspectImage(*s, req, w); });
  router.add("POST", "/images/(.+)/push", [s, emit](Request& req, ResponseWriter& w) { pushImage(*s, emit, req, w); });
  router.add("GET", "/images/(.+)/history", [s](Request& req, ResponseWriter& w) { imageHistory(*s, req, w); });
  router.add("POST", "/images/(.+)/tag", [s, emit](Request& req, ResponseWriter& w) { tagImage(*s, emit, req, w); });
  router.add("DELETE", "/images/(.+)", [s, emit](Request& req, ResponseWriter& w) { removeImage(*s, emit, req, w); });
}

}  // namespace berth::api
