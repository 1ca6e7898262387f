#pragma once
// Pull and push between the local image store and registries (the
// distribution side of the image service). Owned by the image service,
// which hands it the parts of its store; see service.cpp for the locking
// (writeMu serialises every store mutation).
//
// Thread safety: pull/push may run concurrently; a layer being fetched by
// one pull is awaited, not fetched again, by another.

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "registry/client.h"

namespace berth::store {
class Database;
}
namespace berth::content {
class Store;
}
namespace berth::snapshot {
class Snapshotter;
}

namespace berth::image {

struct StoreParts {
  store::Database& db;
  content::Store& content;
  snapshot::Snapshotter& snaps;
  std::mutex& writeMu;
};

// One JSON message of Docker's progress stream ({"status":..,"id":..,
// "progressDetail":..,"progress":..}). Called from several threads, never
// concurrently.
using ProgressFn = std::function<void(const nlohmann::json&)>;

class Distribution {
 public:
  explicit Distribution(StoreParts parts) : s_(parts) {}
  void configure(registry::RegistryConfig cfg) {
    std::lock_guard lk(mu_);
    cfg_ = std::move(cfg);
  }
  registry::RegistryConfig config() {
    std::lock_guard lk(mu_);
    return cfg_;
  }

  // Pulls ref ("busybox", "host:5000/a:tag", "a@sha256:..") for platform
  // ("" = the host's); registryAuth is the X-Registry-Auth header value.
  // Errors before any progress was emitted are the request's error
  // (NotFound for unknown repositories/manifests, Unavailable when the
  // registry is down, PermissionDenied for bad credentials); later errors
  // (a digest mismatch) are returned too and the caller streams them.
  // Nothing is referenced in the store unless every layer was verified.
  // The names it writes (tag, digest) go to namespace ns (image/service.h).
  Result<> pull(const std::string& ref, const std::string& ns, const std::string& platform,
                const std::string& registryAuth, const ProgressFn& progress);
  // Every tag of the repository (docker pull -a).
  Result<> pullAllTags(const std::string& repo, const std::string& ns, const std::string& platform,
                       const std::string& registryAuth, const ProgressFn& progress);
  // Pushes the local image tagged ref (tag "" = latest, a name of namespace
  // ns) to its registry.
  Result<> push(const std::string& ref, const std::string& ns, const std::string& registryAuth,
                const ProgressFn& progress);

 private:
  struct Endpoint {
    std::unique_ptr<registry::Client> client;
    bool mirror = false;
  };
  // Where to pull from, in order: a hosts.toml's mirrors and server
  // (those with the pull capability, and resolve when resolveTag), else
  // docker.io's registry-mirrors and the registry. InvalidArgument for a bad
  // hosts file.
  Result<std::vector<Endpoint>> endpoints(const std::string& domain, const registry::Credentials& creds,
                                          bool resolveTag);
  // Waits while another pull holds chainId, then holds it until release().
  // A pull claims its chain ids in sorted order, so two pulls never deadlock.
  void claim(const std::string& chainId);
  void release(const std::string& chainId);

  StoreParts s_;
  std::mutex mu_;
  registry::RegistryConfig cfg_;
  std::condition_variable inflightCv_;
  std::set<std::string> inflight_;
};

}  // namespace berth::image
