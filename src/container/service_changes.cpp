// diff, commit, export and system df (engine-api.md §6.3, §2.5): the
// container's upper dir read in user space (changes.h), never a mount.

#include <map>

#include "common/fd.h"
#include "common/util.h"
#include "container/namespaces.h"
#include "container/service_impl.h"
#include "image/config.h"

namespace berth::container {

using json = nlohmann::json;

namespace {

struct Snapshot {
  Container c;
  json attrs;
};

// A Config from the commit body over the container's: set keys win, like
// Docker's merge of the user config (zero values keep the container's).
void mergeConfig(json& into, const json& user) {
  if (!user.is_object()) return;
  for (auto& [k, v] : user.items()) {
    if (v.is_null() || (v.is_string() && v.get<std::string>().empty()) || (v.is_array() && v.empty()) ||
        (v.is_object() && v.empty()) || (v.is_boolean() && !v.get<bool>()) || (v.is_number() && v == 0))
      continue;
    into[k] = v;
  }
}

}  // namespace

Result<std::vector<Change>> ServiceImpl::changes(const std::string& ref) {
  std::string id, imageId;
  {
    std::lock_guard lk(mu_);
    TRY_ASSIGN(auto e, getLocked(ref));
    id = e->c.id;
    imageId = e->c.imageId;
  }
  TRY_ASSIGN(auto lowers, images_.layerDirs(imageId));
  return computeChanges(dirOf(id) + "/upper", lowers);
}

Result<std::string> ServiceImpl::commit(const CommitOptions& o) {
  // As dockerd: a running container is frozen while its layer is read
  // (pause/unpause events included) unless pause=false.
  bool paused = false;
  {
    std::lock_guard lk(mu_);
    TRY_ASSIGN(auto e, getLocked(o.container));
    paused = o.pause && e->c.state.status == State::Running;
  }
  if (paused) TRY(setPaused(o.container, true, true));
  ScopeExit thaw([&] {
    if (paused) (void)setPaused(o.container, false);
  });
  Snapshot s;
  {
    std::lock_guard lk(mu_);
    TRY_ASSIGN(auto e, getLocked(o.container));
    s.c = e->c;
    s.attrs = eventAttrs(*e);
  }
  const Container& c = s.c;
  if (o.repo.empty() && !o.tag.empty()) return makeError(Code::InvalidArgument, "invalid reference format");
  std::string repoTag = o.repo.empty() ? "" : o.tag.empty() ? o.repo : o.repo + ":" + o.tag;

  json newConfig = c.config;
  mergeConfig(newConfig, o.config);
  TRY_ASSIGN(newConfig, image::applyChanges(std::move(newConfig), o.changes));

  json cfg = json::object();
  if (auto base = images_.resolve(c.imageId)) cfg = base->config;
  if (!cfg.is_object()) cfg = json::object();
  cfg.erase("rootfs");
  if (!cfg.contains("architecture")) cfg["architecture"] = "amd64";
  if (!cfg.contains("os")) cfg["os"] = "linux";
  std::string created = formatRfc3339Nano(nowNanos());
  std::string createdBy = c.path;
  for (auto& a : c.args) createdBy += " " + a;
  cfg["created"] = created;
  cfg["config"] = newConfig;
  cfg["container"] = c.id;
  cfg["container_config"] = c.config;
  cfg["parent"] = c.imageId;
  cfg["comment"] = o.comment;
  if (o.author.empty()) {
    cfg.erase("author");
  } else {
    cfg["author"] = o.author;
  }
  json h = {{"created", created}, {"created_by", createdBy}};
  if (!o.author.empty()) h["author"] = o.author;
  if (!o.comment.empty()) h["comment"] = o.comment;
  if (!cfg.contains("history") || !cfg["history"].is_array()) cfg["history"] = json::array();
  cfg["history"].push_back(h);

  TRY_ASSIGN(auto lowers, images_.layerDirs(c.imageId));
  std::string upper = dirOf(c.id) + "/upper";
  TRY_ASSIGN(auto list, computeChanges(upper, lowers));
  TRY_ASSIGN(std::string imageId,
             images_.commitLayer(c.imageId, std::move(cfg), repoTag, [&](const image::ImageService::LayerSink& sink) {
               std::optional<Error> sinkErr;
               auto r = writeLayerTar(upper, list, [&](const void* d, size_t n) {
                 auto w = sink(d, n);
                 if (!w) sinkErr = w.error();
                 return bool(w);
               });
               if (!r && sinkErr) return Result<>(std::unexpected(*sinkErr));
               return r;
             }));
  json attrs = s.attrs;
  attrs["comment"] = o.comment;
  attrs["imageID"] = imageId;
  attrs["imageRef"] = repoTag;
  emit_("container", "commit", c.id, attrs);
  return imageId;
}

Result<> ServiceImpl::exportRootfs(const std::string& ref, const std::function<StreamWriter*()>& open) {
  std::string id, imageId;
  {
    std::lock_guard lk(mu_);
    TRY_ASSIGN(auto e, getLocked(ref));
    id = e->c.id;
    imageId = e->c.imageId;
  }
  TRY_ASSIGN(auto lowers, images_.layerDirs(imageId));
  StreamWriter* out = open();
  if (!out) return makeError(Code::Cancelled, "client went away");
  std::string chunk;
  chunk.reserve(1 << 17);
  auto r = writeMergedTar(dirOf(id) + "/upper", lowers, [&](const void* d, size_t n) {
    chunk.append(static_cast<const char*>(d), n);
    if (chunk.size() < (1 << 17)) return true;
    bool ok = out->write(chunk);
    chunk.clear();
    return ok;
  });
  if (r && !chunk.empty() && !out->write(chunk)) return makeError(Code::Cancelled, "client went away");
  return r;
}

Result<DiskUsage> ServiceImpl::diskUsage() {
  TRY_ASSIGN(int64_t layersSize, images_.layersSize());
  TRY_ASSIGN(auto imgs, images_.list(true, {}));
  DiskUsage du;
  du.layersSize = layersSize;
  std::map<std::string, int> users;
  {
    std::lock_guard lk(mu_);
    std::vector<std::shared_ptr<Entry>> entries;
    for (auto& [id, e] : byId_)
      if (!e->removed) entries.push_back(e);
    std::sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a->c.created > b->c.created; });
    for (auto& e : entries) {
      users[e->c.imageId]++;
      if (namespaceOf(e->c.config).empty()) du.containers.push_back(summaryOf(*e, true));
    }
  }
  for (auto& s : imgs) {
    int n = users.count(s.id) ? users[s.id] : 0;
    du.images.push_back({std::move(s), n});
  }
  du.volumes = volumesDiskUsage();
  return du;
}

}  // namespace berth::container
