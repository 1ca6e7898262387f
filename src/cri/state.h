#pragma once
// What the gRPC handlers of every area share (services.h). Built once when
// the module starts, before the server takes calls; torn down at shutdown.
//
// Each area adds its own member here (a pointer to its gRPC-free object:
// the pod store, CNI, the streaming server, the image namespace view) and
// constructs it in its init function, defined in the area's file and
// called by the State's constructor in a fixed order (state.cpp).

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "cri/plugin.h"

namespace berth::image {
class ImageService;
}

namespace berth::cri {

class PodStore;
class Pods;
namespace cni {
class Cni;
}

struct State {
  explicit State(const Host& h);
  ~State();
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  Host host;

  // UpdateRuntimeConfig's pod CIDR (kubelet sends it; CNI configs may use it).
  std::mutex mu;
  std::string podCidr;

  // Pods (runtime_pods.cpp, initPods): the sandbox records, CNI and the
  // pod manager. podStore is also the SandboxLookup the container RPCs use.
  std::unique_ptr<PodStore> podStore;
  std::unique_ptr<cni::Cni> cni;
  std::unique_ptr<Pods> pods;

  // Run in reverse order by ~State (an area registers its teardown here).
  std::vector<std::function<void()>> onShutdown;

  // images.cpp: the image service's k8s.io namespace view every area uses
  // for the CRI's images (Host::criImages, or imagesOwned when berthd gave
  // none).
  image::ImageService* images = nullptr;
  std::shared_ptr<image::ImageService> imagesOwned;

  // Set when an area could not start (the module then refuses to load).
  std::string initError;
};

// Area init functions (each defined in its area's file; a failure is
// recorded in State::initError).
void initPods(State& st);
void initContainers(State& st);
void initStreams(State& st);
void initImages(State& st);

}  // namespace berth::cri
