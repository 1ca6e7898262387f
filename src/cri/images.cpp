// images.cpp: the ListImages, ImageStatus, PullImage, RemoveImage, ImageFsInfo handlers (owner: branch cri-image).
// Skeleton: every handler answers UNIMPLEMENTED until its area lands.

#include "cri/services.h"
#include "cri/status.h"

namespace berth::cri {

// Called once by State's constructor (state.h).
void initImages(State& st) {}

grpc::Status ImageServiceImpl::ListImages(grpc::ServerContext* ctx, const v1::ListImagesRequest* req, v1::ListImagesResponse* resp) {
  return unimplemented("ListImages");
}

grpc::Status ImageServiceImpl::ImageStatus(grpc::ServerContext* ctx, const v1::ImageStatusRequest* req, v1::ImageStatusResponse* resp) {
  return unimplemented("ImageStatus");
}

grpc::Status ImageServiceImpl::PullImage(grpc::ServerContext* ctx, const v1::PullImageRequest* req, v1::PullImageResponse* resp) {
  return unimplemented("PullImage");
}

grpc::Status ImageServiceImpl::RemoveImage(grpc::ServerContext* ctx, const v1::RemoveImageRequest* req, v1::RemoveImageResponse* resp) {
  return unimplemented("RemoveImage");
}

grpc::Status ImageServiceImpl::ImageFsInfo(grpc::ServerContext* ctx, const v1::ImageFsInfoRequest* req, v1::ImageFsInfoResponse* resp) {
  return unimplemented("ImageFsInfo");
}

}  // namespace berth::cri
