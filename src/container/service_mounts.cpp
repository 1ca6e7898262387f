// The container service's side of volumes and mounts: resolving a create
// request's mounts into mount points, preparing them before each start,
// anonymous volume removal, inspect's Mounts and system df's volumes.

#include <sys/stat.h>

#include "common/log.h"
#include "common/util.h"
#include "container/mounts.h"
#include "container/service_impl.h"
#include "volume/copyup.h"

namespace berth::container {

using json = nlohmann::json;

Result<json> ServiceImpl::resolveMounts(const json& hc, const json& configVolumes, const json& imageVolumes,
                                        std::vector<std::string>& createdVolumes) {
  std::vector<MountPoint> inherited;
  if (hc.contains("VolumesFrom") && hc["VolumesFrom"].is_array()) {
    for (auto& vf : hc["VolumesFrom"]) {
      if (!vf.is_string()) continue;
      TRY_ASSIGN(auto spec, parseVolumesFrom(vf.get<std::string>()));
      json points;
      {
        std::lock_guard lk(mu_);
        TRY_ASSIGN(auto other, getLocked(spec.first));
        points = other->c.mountPoints;
      }
      for (auto& pj : points) {
        MountPoint m = MountPoint::fromJson(pj);
        if (m.type == "tmpfs") continue;
        m.anonymous = false;  // the volume belongs to the other container
        if (spec.second == "ro") m.rw = false;
        else if (spec.second == "rw") m.rw = true;
        if (!spec.second.empty() && spec.second != "z" && spec.second != "Z") m.mode = spec.second;
        inherited.push_back(std::move(m));
      }
    }
  }
  TRY_ASSIGN(auto points, collectMounts(hc, configVolumes, imageVolumes, inherited));
  json out = json::array();
  for (auto& m : points) {
    if (m.type == "volume") {
      if (!volumes_) return makeError(Code::FailedPrecondition, "volumes are not available in this daemon");
      auto existing = m.name.empty() ? Result<volume::Volume>(std::unexpected(Error{})) : volumes_->get(m.name);
      volume::Volume v;
      if (existing) {
        v = *existing;
      } else {
        volume::CreateOptions o;
        o.name = m.name;
        o.labels = m.volumeLabels;
        o.options = m.volumeOptions;
        if (m.anonymous) o.labels[volume::kAnonymousLabel] = "";
        TRY_ASSIGN(v, volumes_->create(o));
        createdVolumes.push_back(v.name);
      }
      m.name = v.name;
      m.source = v.mountpoint;
      auto ms = volumes_->mountFor(v);
      m.runtimeType = ms.type;
      m.runtimeSource = ms.source;
      m.runtimeOptions = ms.options;
      if (!volume::Service::isPlainDirectory(v)) m.copyData = false;
    }
    out.push_back(m.toJson());
  }
  return out;
}

Result<> ServiceImpl::prepareMounts(const Container& c, const std::vector<std::string>& lowerDirs) {
  for (auto& pj : c.mountPoints) {
    MountPoint m = MountPoint::fromJson(pj);
    if (m.type == "bind" && m.createSource) {
      struct stat st;
      if (::stat(m.source.c_str(), &st) != 0) {
        if (auto r = mkdirAll(m.source, 0755); !r)
          return errorf(Code::InvalidArgument, "error while creating mount source path '{}': {}", m.source,
                        r.error().message);
      }
    } else if (m.type == "volume" && m.copyData && volumes_) {
      auto v = volumes_->get(m.name);
      if (!v) return std::unexpected(v.error());
      if (!volume::Service::isPlainDirectory(*v) || !volume::isEmptyDir(v->mountpoint)) continue;
      if (auto r = volume::copyImagePath(lowerDirs, m.destination, v->mountpoint); !r)
        return std::unexpected(r.error().wrap("copy image content to volume " + m.name));
    }
  }
  return {};
}

void ServiceImpl::removeAnonymousVolumes(const json& mountPoints) {
  if (!volumes_) return;
  for (auto& pj : mountPoints) {
    MountPoint m = MountPoint::fromJson(pj);
    if (m.type != "volume" || !m.anonymous) continue;
    auto r = volumes_->remove(m.name, true);
    if (!r) {
      if (r.error().code != Code::Conflict) log::warn("remove volume {}: {}", m.name, r.error().message);
      continue;
    }
    emit_("volume", "destroy", m.name, {{"driver", "local"}});
  }
}

std::vector<std::string> ServiceImpl::volumeUsers(const std::string& name) {
  std::lock_guard lk(mu_);
  std::vector<std::string> out;
  for (auto& [id, e] : byId_) {
    if (e->removed) continue;
    for (auto& pj : e->c.mountPoints)
      if (pj.value("Type", "") == "volume" && pj.value("Name", "") == name) {
        out.push_back(id);
        break;
      }
  }
  return out;
}

std::vector<MountPoint> ServiceImpl::listedMounts(const Container& c) const {
  std::vector<MountPoint> out;
  for (auto& pj : c.mountPoints) {
    MountPoint m = MountPoint::fromJson(pj);
    if (m.fromTmpfsFlag) continue;
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<VolumeUsage> ServiceImpl::volumesDiskUsage() {
  std::vector<VolumeUsage> out;
  if (!volumes_) return out;
  auto l = volumes_->list({});
  if (!l) return out;
  for (auto& v : *l) {
    int64_t size = volume::Service::isPlainDirectory(v) ? volume::directorySize(v.mountpoint) : -1;
    int refs = volumes_->refCount(v.name);
    out.push_back({std::move(v), refs, size});
  }
  return out;
}

}  // namespace berth::container
