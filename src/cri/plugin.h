#pragma once
// The seam between berthd and the CRI front end (docs/cri.md "Loading").
//
// Everything with gRPC in it lives in berth-cri.so, a module berthd opens
// with dlopen on the first connection to the CRI socket, so an idle berthd
// never maps gRPC or protobuf. berthd passes a Host (its services, by
// reference) to berth_cri_create and then hands every accepted connection
// to Frontend::serveFd. berthd is linked with its symbols exported, so the
// module calls berth's own functions from berthd rather than carrying
// copies of them. No gRPC type crosses this header.

#include <cstdint>
#include <string>

#include "common/emit.h"
#include "cri/config.h"

namespace berth::container {
class Service;
}
namespace berth::image {
class ImageService;
}
namespace berth::network {
class Service;
}
namespace berth::volume {
class Service;
}

namespace berth::cri {

// What the CRI front end may use of berthd. The references outlive the
// Frontend (berthd shuts it down before it tears its services down).
struct Host {
  container::Service& containers;
  image::ImageService& images;  // Docker's names
  network::Service* networks = nullptr;
  volume::Service* volumes = nullptr;
  EmitFn emit;                  // berthd's event bus (Docker API events)
  Config config;
  std::string version;          // berth's version, for Version
  // The CRI's names: the k8s.io namespace view of `images`
  // (image/service.h). Null: the front end makes its own.
  image::ImageService* criImages = nullptr;
};

class Frontend {
 public:
  virtual ~Frontend() = default;
  // Serves gRPC on an accepted connection; takes ownership of fd.
  virtual void serveFd(int fd) = 0;
  // Stops serving (in-flight calls get a short grace) and releases what the
  // front end started (the streaming server, workers). Containers and pods
  // keep running.
  virtual void shutdown() = 0;
  // When the last call ended or began (unix nanos; 0 = none yet) and how
  // many run now: berthd's idle trimmer waits for both front ends to be idle.
  virtual int64_t lastActivity() const = 0;
  virtual int activeCalls() const = 0;
};

// The module's entry point, looked up with dlsym(kCreateSymbol). Returns
// null and sets *error when the front end cannot start.
using CreateFn = Frontend* (*)(const Host* host, std::string* error);
inline constexpr const char* kCreateSymbol = "berth_cri_create";

}  // namespace berth::cri
