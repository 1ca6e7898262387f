// images.cpp: the CRI ImageService (ListImages, ImageStatus, PullImage,
// RemoveImage, ImageFsInfo) on the image service's k8s.io namespace view
// (image/service.h), answering as containerd's CRI plugin does. The
// gRPC-free parts are in cri/image_core.h.

#include <chrono>

#include "cri/image_core.h"
#include "cri/services.h"
#include "cri/status.h"
#include "image/service.h"

namespace berth::cri {

// Called once by State's constructor (state.h): the k8s.io view berthd
// made (Host::criImages), or one made here from Docker's service.
void initImages(State& st) {
  if (st.host.criImages) {
    st.images = st.host.criImages;
    return;
  }
  st.imagesOwned = st.host.images.inNamespace(image::kCriNamespace);
  st.images = st.imagesOwned.get();
}

namespace {

int64_t nowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void fillImage(v1::Image* out, const CriImage& c) {
  out->set_id(c.id);
  for (auto& t : c.repoTags) out->add_repo_tags(t);
  for (auto& d : c.repoDigests) out->add_repo_digests(d);
  out->set_size(c.size);
  if (c.uid) out->mutable_uid()->set_value(*c.uid);
  out->set_username(c.username);
  out->mutable_spec()->set_image(c.id);
  out->set_pinned(false);
}

grpc::Status errorStatus(const std::string& what, const Error& e) {
  return grpc::Status(statusCode(e.code), what + ": " + e.message);
}

}  // namespace

grpc::Status ImageServiceImpl::ListImages(grpc::ServerContext*, const v1::ListImagesRequest* req,
                                          v1::ListImagesResponse* resp) {
  image::ImageService& images = *st_.images;
  // A filter names one image (a name or an id); containerd ignores it and
  // leaves filtering to the client, CRI-O answers the one image: both agree
  // on the result a client sees.
  const std::string& want = req->filter().image().image();
  if (!want.empty()) {
    auto d = images.inspect(want);
    if (!d) {
      if (d.error().code == Code::NotFound) return grpc::Status::OK;
      return errorStatus("list images", d.error());
    }
    fillImage(resp->add_images(), toCriImage(*d));
    return grpc::Status::OK;
  }
  auto list = images.list(false, {});
  if (!list) return errorStatus("list images", list.error());
  for (auto& s : *list) {
    auto d = images.inspect(s.id);
    if (!d) continue;  // removed meanwhile
    fillImage(resp->add_images(), toCriImage(*d));
  }
  return grpc::Status::OK;
}

grpc::Status ImageServiceImpl::ImageStatus(grpc::ServerContext*, const v1::ImageStatusRequest* req,
                                           v1::ImageStatusResponse* resp) {
  const std::string& ref = req->image().image();
  if (ref.empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "image spec: image is empty");
  auto d = st_.images->inspect(ref);
  if (!d) {
    // containerd: an image that is not there is an empty answer, not an error.
    if (d.error().code == Code::NotFound) return grpc::Status::OK;
    return errorStatus(fmt::format("can not resolve {:?} locally", ref), d.error());
  }
  fillImage(resp->mutable_image(), toCriImage(*d));
  if (req->verbose()) (*resp->mutable_info())["info"] = verboseInfo(*d);
  return grpc::Status::OK;
}

grpc::Status ImageServiceImpl::PullImage(grpc::ServerContext*, const v1::PullImageRequest* req,
                                         v1::PullImageResponse* resp) {
  const std::string& ref = req->image().image();
  if (ref.empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "image spec: image is empty");
  // sandbox_config is accepted: berth pulls for the host's platform and has
  // one runtime handler.
  const auto& a = req->auth();
  auto header = registryAuthHeader(Auth{a.username(), a.password(), a.auth(), a.server_address(),
                                        a.identity_token(), a.registry_token()});
  if (!header) return errorStatus(fmt::format("failed to pull image {:?}", ref), header.error());
  image::ImageService& images = *st_.images;
  if (auto r = images.pull(ref, "", false, *header, nullptr); !r)
    return errorStatus(fmt::format("failed to pull and unpack image {:?}", ref), r.error());
  auto rec = images.resolve(ref);
  if (!rec) return errorStatus(fmt::format("failed to pull image {:?}", ref), rec.error());
  // containerd answers the image id (the config digest) as the image ref.
  resp->set_image_ref(rec->id);
  return grpc::Status::OK;
}

grpc::Status ImageServiceImpl::RemoveImage(grpc::ServerContext*, const v1::RemoveImageRequest* req,
                                           v1::RemoveImageResponse*) {
  const std::string& ref = req->image().image();
  if (ref.empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "image spec: image is empty");
  image::ImageService& images = *st_.images;
  auto rec = images.resolve(ref);
  if (!rec) {
    // Idempotent, as containerd: removing what is not there succeeds.
    if (rec.error().code == Code::NotFound) return grpc::Status::OK;
    return errorStatus(fmt::format("can not resolve {:?} locally", ref), rec.error());
  }
  // Every name of the image in k8s.io goes (containerd removes all the
  // image's references); the content stays while Docker names it or a
  // container uses it.
  if (auto r = images.remove(rec->id, true, false); !r && r.error().code != Code::NotFound)
    return errorStatus(fmt::format("failed to delete image {:?}", ref), r.error());
  return grpc::Status::OK;
}

grpc::Status ImageServiceImpl::ImageFsInfo(grpc::ServerContext*, const v1::ImageFsInfoRequest*,
                                           v1::ImageFsInfoResponse* resp) {
  const std::string& root = st_.host.config.dataRoot;
  auto add = [&](v1::FilesystemUsage* fs, const std::string& dir) -> grpc::Status {
    auto u = dirUsage(dir);
    if (!u) return errorStatus("image filesystem usage", u.error());
    fs->set_timestamp(nowNanos());
    fs->mutable_fs_id()->set_mountpoint(dir);
    fs->mutable_used_bytes()->set_value(u->bytes);
    fs->mutable_inodes_used()->set_value(u->inodes);
    return grpc::Status::OK;
  };
  // The unpacked layers are the image filesystem (containerd reports its
  // snapshotter's); the containers' writable layers and logs are the
  // container filesystem.
  if (auto s = add(resp->add_image_filesystems(), root + "/snapshots"); !s.ok()) return s;
  return add(resp->add_container_filesystems(), root + "/containers");
}

}  // namespace berth::cri
